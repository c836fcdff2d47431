/* Entry of the test guest: the hypervisor jumps here (GPA 0x10000) in flat
 * 32-bit protected mode with no stack; set one up, zero .bss, run the guest. */
#include "abi_asm.h"

#define STACK_TOP 0x10000	/* stack is 0xc000..0x10000, below the image */

	.section .text.start, "ax"
	.globl _start
_start:
	movl $STACK_TOP, %esp
	cld
	/* RAM is zeroed by the hypervisor, but a reloaded or restarted guest
	 * must not depend on that. */
	movl $__bss_start, %edi
	movl $__bss_end, %ecx
	subl %edi, %ecx
	xorl %eax, %eax
	rep stosb
	call guest_main
	/* guest_main does not return; if it did, say so rather than run off. */
	movl $ASM_HC_DONE, %eax
	movl $1, %ebx
	vmcall
1:	hlt
	jmp 1b

	.section .note.GNU-stack, "", @progbits
