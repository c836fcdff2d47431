/* Multiboot2 entry of the crypto known-answer kernel: 32-bit protected mode to long mode
 * on identity-mapped 2 MiB pages (first 1 GiB), FPU/SSE/XSAVE enabled, then kat_main. */
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
	.align 8
gdt:
	.quad 0
	.quad 0x00AF9A000000FFFF   /* 0x08: 64-bit code */
	.quad 0x00CF92000000FFFF   /* 0x10: data */
gdt_end:
gdt_ptr:
	.short gdt_end - gdt - 1
	.long gdt
	.long 0

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
	/* PML4[0] -> PDPT[0] -> PD: 512 x 2 MiB */
	mov $pdpt, %eax
	or $3, %eax
	mov %eax, pml4
	mov $pd, %eax
	or $3, %eax
	mov %eax, pdpt
	mov $pd, %edi
	mov $0x83, %eax
	mov $512, %ecx
1:	mov %eax, (%edi)
	movl $0, 4(%edi)
	add $0x200000, %eax
	add $8, %edi
	loop 1b
	mov $pml4, %eax
	mov %eax, %cr3
	mov %cr4, %eax
	or $0x20, %eax                 /* PAE */
	mov %eax, %cr4
	mov $0xC0000080, %ecx          /* EFER.LME */
	rdmsr
	or $0x100, %eax
	wrmsr
	mov %cr0, %eax
	or $0x80000001, %eax           /* PG | PE */
	mov %eax, %cr0
	lgdt gdt_ptr
	ljmp $0x08, $entry64

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
