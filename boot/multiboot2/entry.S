/* Multiboot2 entry for GRUB/BIOS boots: header, then 32-bit protected mode to
 * long mode on temporary identity page tables (0-4 GiB), then hv_main_multiboot2. */
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

	.align 8
boot_gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF   /* 0x08: 64-bit code */
	.quad 0x00CF92000000FFFF   /* 0x10: data */
boot_gdt_end:
boot_gdt_ptr:
	.short boot_gdt_end - boot_gdt - 1
	.long boot_gdt

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

	/* PML4[0] -> PDPT; PDPT[0..3] -> PD0..3; each PD maps 1 GiB in 2 MiB pages */
	mov $boot_pdpt, %eax
	or $3, %eax
	mov %eax, boot_pml4
	mov $boot_pd, %eax
	or $3, %eax
	mov $boot_pdpt, %edi
	mov $4, %ecx
1:	mov %eax, (%edi)
	add $4096, %eax
	add $8, %edi
	loop 1b
	mov $boot_pd, %edi
	mov $0x83, %eax              /* present, writable, 2 MiB page */
	xor %edx, %edx
	mov $2048, %ecx
2:	mov %eax, (%edi)
	mov %edx, 4(%edi)
	add $0x200000, %eax
	adc $0, %edx
	add $8, %edi
	loop 2b

	mov $boot_pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax               /* PAE */
	mov %eax, %cr4
	mov $0xC0000080, %ecx        /* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax         /* PG | PE */
	mov %eax, %cr0
	lgdt boot_gdt_ptr
	ljmp $0x08, $mb2_long

	.code64
mb2_long:
	mov $0x10, %ax
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
