/* Process entry: the kernel leaves argc, argv[], NULL, envp[], NULL at %rsp; hb_main gets that pointer. */
	.text
	.globl	_start
	.type	_start, @function
_start:
	xorl	%ebp, %ebp		/* outermost frame, for debuggers */
	movq	%rsp, %rdi
	andq	$-16, %rsp		/* the ABI's alignment at a call */
	call	hb_main
	hlt				/* hb_main never returns; a fault here is loud */
	.size	_start, . - _start
	.section .note.GNU-stack, "", @progbits
