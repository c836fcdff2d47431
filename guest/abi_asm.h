/* The guest_abi.h numbers the .S files need (guest_abi.h itself is C only);
 * main.c asserts at compile time that they agree with guest_abi.h. */
#ifndef GUEST_ABI_ASM_H
#define GUEST_ABI_ASM_H
#define ASM_HC_PARK 1
#define ASM_HC_DONE 3
#endif
