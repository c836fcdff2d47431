/* Interrupt/exception entry stubs: push a uniform frame (vector, error code,
 * all registers) and call exception_handler. */
	.text
	.code64
	.altmacro

.macro ISR vec
	.align 16
isr_\vec:
	.if (\vec == 8 || (\vec >= 10 && \vec <= 14) || \vec == 17 || \vec == 21 || \vec == 29 || \vec == 30)
	.else
	pushq $0
	.endif
	pushq $\vec
	jmp isr_common
.endm

isr_common:
	pushq %rax
	pushq %rbx
	pushq %rcx
	pushq %rdx
	pushq %rsi
	pushq %rdi
	pushq %rbp
	pushq %r8
	pushq %r9
	pushq %r10
	pushq %r11
	pushq %r12
	pushq %r13
	pushq %r14
	pushq %r15
	mov %rsp, %rdi
	mov %rsp, %rbx
	and $-16, %rsp
	call exception_handler
	mov %rbx, %rsp
	popq %r15
	popq %r14
	popq %r13
	popq %r12
	popq %r11
	popq %r10
	popq %r9
	popq %r8
	popq %rbp
	popq %rdi
	popq %rsi
	popq %rdx
	popq %rcx
	popq %rbx
	popq %rax
	add $16, %rsp
	iretq

	.set i, 0
	.rept 256
	ISR %i
	.set i, i + 1
	.endr

	.section .rodata
	.align 8
	.global isr_table
isr_table:
.macro ISRADDR vec
	.quad isr_\vec
.endm
	.set i, 0
	.rept 256
	ISRADDR %i
	.set i, i + 1
	.endr
