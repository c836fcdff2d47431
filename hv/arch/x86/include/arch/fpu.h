/* Lazy switching of the x87/SSE register state between guests and the host
 * (whose crypto code uses vector registers): saved only when someone else
 * needs the registers. */
#ifndef HV_X86_FPU_H
#define HV_X86_FPU_H
struct vm;
#include <stdint.h>
extern uint64_t hv_xcr0; /* 0 when the CPU has no XSAVE */
void fpu_init(void);
void fpu_vm_reset(struct vm *vm); /* power-on x87/SSE state */
void fpu_load_for(struct vm *vm); /* before entering vm */
void fpu_host_begin(void);	  /* before host code uses vector registers */
void fpu_sync(struct vm *vm);	  /* make vm->fxsave current (state capture) */
void fpu_forget(struct vm *vm);	  /* vm's registers are dead (stop, scrub) */
#endif
