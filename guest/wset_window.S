/* wset_window(pfns, n, value): park, store value at (pfns[i] << 12) + 8 for
 * each i, park again. Between the two VMCALLs the only memory writes are those
 * stores (no stack use), so the window's dirty set is exactly the pfns. */
#include "abi_asm.h"

	.text
	.globl wset_window
	.type wset_window, @function
wset_window:
	/* Callee-saved registers go on the stack now, before the window opens. */
	pushl %ebx
	pushl %esi
	pushl %edi
	movl $ASM_HC_PARK, %eax
	xorl %ebx, %ebx
	vmcall
	/* Arguments are read (not written) after the park: no register but EAX
	 * is promised to survive a hypercall that waits for the console. */
	movl 16(%esp), %esi		/* pfns */
	movl 20(%esp), %ecx		/* n */
	movl 24(%esp), %edx		/* value */
	testl %ecx, %ecx
	jz 2f
1:	movl (%esi), %edi
	shll $12, %edi
	movl %edx, 8(%edi)		/* the only store in the window */
	addl $4, %esi
	decl %ecx
	jnz 1b
2:	movl $ASM_HC_PARK, %eax
	xorl %ebx, %ebx
	vmcall
	popl %edi
	popl %esi
	popl %ebx
	ret
	.size wset_window, . - wset_window

	.section .note.GNU-stack, "", @progbits
