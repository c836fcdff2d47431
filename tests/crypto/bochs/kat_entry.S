/* Multiboot2 entry of the crypto known-answer kernel: 32-bit protected mode to long mode
 * on identity-mapped 2 MiB pages (first 1 GiB), FPU/SSE/XSAVE enabled, then kat_main. */
#include "baremetal/longmode.inc"
#define MB2_MAGIC 0xE85250D6

	.section .mb2, "a"
	.align 8
mb2_header:
	.long MB2_MAGIC
	.long 0
	.long mb2_header_end - mb2_header
	.long 0x100000000 - (MB2_MAGIC + (mb2_header_end - mb2_header))
	.short 0, 0
	.long 8
mb2_header_end:

	.section .data
	LM_GDT gdt

	.section .text
	.code32
	.global kat_entry32
kat_entry32:
	cli
	cld
	mov $__bss_start, %edi
	mov $__bss_end, %ecx
	sub %edi, %ecx
	xor %eax, %eax
	rep stosb
	mov $stack_top, %esp
	LM_IDENTITY_MAP pml4, pdpt, pd, 1
	LM_ENTER pml4, gdt_ptr, entry64

	.code64
entry64:
	mov $0x10, %ax
	mov %ax, %ds
	mov %ax, %es
	mov %ax, %ss
	mov %ax, %fs
	mov %ax, %gs
	mov $stack_top, %rsp
	mov %cr0, %rax
	and $~0x4, %rax                /* EM off */
	or $0x2, %rax                  /* MP on */
	and $~0x8, %rax                /* TS off */
	mov %rax, %cr0
	mov %cr4, %rax
	or $0x40600, %rax              /* OSFXSR | OSXMMEXCPT | OSXSAVE */
	mov %rax, %cr4
	fninit
	call kat_main
	/* leave Bochs: the magic breakpoint (with the rc file's "quit"), else a triple fault */
	xchg %bx, %bx
	lidt null_idt
	int3
2:	hlt
	jmp 2b

	.section .data
null_idt:
	.short 0
	.quad 0

	.section .bss
	.align 4096
pml4:	.skip 4096
pdpt:	.skip 4096
pd:	.skip 4096
	.align 64
stack:	.skip 256 * 1024
stack_top:
