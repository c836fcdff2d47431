/* Multiboot2 entry for GRUB/BIOS boots: header, then 32-bit protected mode to
 * long mode on temporary identity page tables (0-4 GiB), then hv_main_multiboot2. */
#include "baremetal/longmode.inc"
#define MB2_MAGIC 0xE85250D6
#define MB2_ARCH_I386 0

	.section .boot.header, "a"
	.align 8
mb2_header:
	.long MB2_MAGIC
	.long MB2_ARCH_I386
	.long mb2_header_end - mb2_header
	.long 0x100000000 - (MB2_MAGIC + MB2_ARCH_I386 + (mb2_header_end - mb2_header))
	.align 8
	.short 0, 0            /* end tag */
	.long 8
mb2_header_end:

	/* For the UEFI loader: struct hv_image_header (hv/include/boot_info.h). */
	.align 8
	.global hv_image_header
hv_image_header:
	.long 0x4d495648
	.long 1
	.quad hv_entry64
	.quad __image_start
	.quad __image_end

	LM_GDT boot_gdt

	.section .boot.text, "ax"
	.code32
	.global mb2_entry32
mb2_entry32:
	cli
	cld
	mov %eax, %ebp               /* multiboot2 magic */
	/* %ebx = multiboot2 info; rep stos does not touch it */
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	shr $2, %ecx
	xor %eax, %eax
	rep stosl
	mov $boot_stack_top, %esp

	/* temporary identity map of 0-4 GiB (hv/arch/x86/paging.c builds the real one) */
	LM_IDENTITY_MAP boot_pml4, boot_pdpt, boot_pd, 4
	LM_ENTER boot_pml4, boot_gdt_ptr, mb2_long

	.code64
mb2_long:
	mov $LM_SEL_DATA, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	xor %eax, %eax
	mov %ax, %fs
	mov %ax, %gs
	mov $boot_stack_top, %rsp
	mov %ebp, %edi
	mov %ebx, %esi
	call hv_main_multiboot2
3:	cli
	hlt
	jmp 3b

	.section .bss
	.align 4096
boot_pml4:	.skip 4096
boot_pdpt:	.skip 4096
boot_pd:	.skip 4096 * 4
	.global boot_stack_top
boot_stack:	.skip 65536
boot_stack_top:
