/* VM entry and exit: load the guest's general registers, VMLAUNCH/VMRESUME,
 * and on exit save them back and return to the C caller of vmx_enter. */
	.text
	.code64

/* int vmx_enter(struct vcpu_regs *regs, int launched): 0 after a VM exit,
 * 1 if the entry itself failed (VMfailValid/VMfailInvalid). */
	.global vmx_enter
vmx_enter:
	push %rbp
	push %rbx
	push %r12
	push %r13
	push %r14
	push %r15
	push %rdi                 /* regs pointer: vmx_exit_entry finds it at the top of the stack */
	mov $0x6c14, %rax         /* HOST_RSP */
	vmwrite %rsp, %rax
	jbe 2f
	test %esi, %esi           /* flags survive the movs below */
	mov 0x08(%rdi), %rcx
	mov 0x10(%rdi), %rdx
	mov 0x18(%rdi), %rbx
	mov 0x20(%rdi), %rbp
	mov 0x28(%rdi), %rsi
	mov 0x38(%rdi), %r8
	mov 0x40(%rdi), %r9
	mov 0x48(%rdi), %r10
	mov 0x50(%rdi), %r11
	mov 0x58(%rdi), %r12
	mov 0x60(%rdi), %r13
	mov 0x68(%rdi), %r14
	mov 0x70(%rdi), %r15
	mov 0x00(%rdi), %rax
	mov 0x30(%rdi), %rdi
	jnz 1f
	vmlaunch
	jmp 2f
1:	vmresume
2:	pop %rdi
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	mov $1, %eax
	ret

	.global vmx_exit_entry
vmx_exit_entry:
	push %rdi
	mov 8(%rsp), %rdi
	mov %rax, 0x00(%rdi)
	mov %rcx, 0x08(%rdi)
	mov %rdx, 0x10(%rdi)
	mov %rbx, 0x18(%rdi)
	mov %rbp, 0x20(%rdi)
	mov %rsi, 0x28(%rdi)
	mov %r8, 0x38(%rdi)
	mov %r9, 0x40(%rdi)
	mov %r10, 0x48(%rdi)
	mov %r11, 0x50(%rdi)
	mov %r12, 0x58(%rdi)
	mov %r13, 0x60(%rdi)
	mov %r14, 0x68(%rdi)
	mov %r15, 0x70(%rdi)
	pop %rax
	mov %rax, 0x30(%rdi)
	pop %rdi
	pop %r15
	pop %r14
	pop %r13
	pop %r12
	pop %rbx
	pop %rbp
	xor %eax, %eax
	ret
