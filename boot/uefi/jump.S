/* Hand-off trampoline from the UEFI loader to the hypervisor's entry64: loads the loader's
 * GDT, page tables and an empty IDT, a fresh stack, then jumps with RDI = boot info. */

/* void hv_jump(u64 entry, u64 boot_info, u64 stack_top, u64 cr3,
 *              const struct gdt_ptr *gdtr, const struct gdt_ptr *idtr)
 * System V ABI: rdi, rsi, rdx, rcx, r8, r9. Never returns. */
	.text
	.globl	hv_jump
	.type	hv_jump, @function
hv_jump:
	cli
	cld
	/* The new tables identity-map this code too (it is below 4 GiB). */
	mov	%rcx, %cr3
	lgdt	(%r8)
	lidt	(%r9)
	/* Reload CS with the new GDT's code selector via a far return. */
	pushq	$0x08
	leaq	1f(%rip), %rax
	pushq	%rax
	lretq
1:	movl	$0x10, %eax
	movl	%eax, %ds
	movl	%eax, %es
	movl	%eax, %ss
	movl	%eax, %fs
	movl	%eax, %gs
	/* Fresh 16-byte aligned stack; a zero "return address" makes RSP look
	 * as right after a call (RSP+8 aligned), as the ABI expects at entry. */
	movq	%rdx, %rsp
	andq	$-16, %rsp
	pushq	$0
	xorl	%ebp, %ebp
	movq	%rdi, %rax
	movq	%rsi, %rdi
	jmp	*%rax
	.size	hv_jump, . - hv_jump

	.section .note.GNU-stack, "", @progbits
