/* From 32-bit protected mode to long mode, for the Multiboot2 entries of the hypervisor
 * (boot/multiboot2/entry.S) and the crypto known-answer kernel (tests/crypto/bochs):
 * GNU as macros, included from .S files. */
#ifndef BAREMETAL_LONGMODE_H
#define BAREMETAL_LONGMODE_H

#define LM_SEL_CODE 0x08
#define LM_SEL_DATA 0x10

/* A GDT with a 64-bit code segment (LM_SEL_CODE) and a data segment (LM_SEL_DATA), and
 * the pointer lgdt takes (6 bytes, padded). */
.macro LM_GDT name.align 8
\name :.quad 0.quad 0x00AF9A000000FFFF.quad 0x00CF92000000FFFF
\name\() _end :
\name\() _ptr :.short \name\() _end - \name -
	1.long \name.long 0
		.endm

		/* Identity map of the first \gib GiB in 2 MiB pages: PML4[0] -> pdpt, pdpt[i] -> the i-th
 * 4 KiB page of pd (pd holds \gib pages). Clobbers eax, ecx, edx, edi. */
		.macro LM_IDENTITY_MAP pml4,
	pdpt, pd, gib mov $\pdpt, % eax or $3, % eax mov % eax, \pml4 mov $\pd, % eax or $3, % eax mov $\pdpt,
	% edi mov $\gib, % ecx 101 : mov % eax, (% edi) add $4096, % eax add $8, % edi loop 101b mov $\pd,
	% edi mov $0x83, % eax /* present, writable, 2 MiB page */
				 xor % edx,
	% edx mov $(512 * \gib), % ecx 102 : mov % eax, (% edi) mov % edx, 4(% edi) add $0x200000, % eax adc $0,
	% edx add $8,
	% edi loop 102b.endm

			/* CR3 = pml4, PAE, EFER.LME, then paging on, the GDT loaded and a far jump to \target
 * (64-bit code). Clobbers eax, ecx, edx. */
			.macro LM_ENTER pml4,
	gdt_ptr, target mov $\pml4, % eax mov % eax, % cr3 mov % cr4, % eax or $0x20, %
											      eax /* PAE */
											      mov
											      % eax,
	% cr4 mov $0xC0000080, % ecx /* EFER.LME */
					       rdmsr
				       or $0x100,
	% eax wrmsr mov % cr0, % eax or $0x80000001, %
							     eax /* PG | PE */
							     mov
							     % eax,
	% cr0 lgdt \gdt_ptr ljmp $LM_SEL_CODE, $\target.endm

#endif
