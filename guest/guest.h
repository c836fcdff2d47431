/* What the guest's parts share: its memory layout, the parameters it was
 * started with, and the ways it stops. */
#ifndef GUEST_GUEST_H
#define GUEST_GUEST_H
#include <stdint.h>
#include "guest_abi.h"

/* Guest physical layout (paging is off, so these are also our addresses):
 *   0x01000          struct guest_params (written by the hypervisor)
 *   0x0c000-0x10000  stack (start.S)
 *   0x10000-0x18000  this binary and its bss (guest.ld asserts it)
 *   0x1e000          canary page (WORK mode), rewritten at every heartbeat
 *   0x20000-0xa0000  gen[]: one uint32 generation per data page
 *   0x100000-        data pages */
#define CANARY_GPA     0x1e000u
#define GEN_GPA	       0x20000u
#define GEN_END	       0xa0000u
#define DATA_GPA       0x100000u
#define DATA_PFN       (DATA_GPA >> 12)
#define DATA_MAX_PAGES ((GEN_END - GEN_GPA) / 4u)

enum guest_fail_code {
	FAIL_MEMCHECK = 1,
	FAIL_BAD_PARAMS = 2,
	FAIL_SURVIVED_FAULT = 3, /* a fault mode went on running: the hv did not stop it */
};

extern struct guest_params params; /* a copy, taken at start */
extern uint32_t data_pages;	   /* pages in the data region */

void guest_main(void) __attribute__((noreturn));
void work_run(void) __attribute__((noreturn));
void wset_run(void) __attribute__((noreturn));
void memcheck_fail(uint32_t gpa, uint32_t word, uint32_t want, uint32_t got) __attribute__((noreturn));
void guest_fail(uint32_t code) __attribute__((noreturn));
void put_start_line(const char *mode);

/* wset_window.S */
void wset_window(const uint32_t *pfns, uint32_t n, uint32_t value);

#endif
