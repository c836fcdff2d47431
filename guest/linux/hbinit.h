/* State shared by hbinit's entry and set-up (hbinit.c) and its work loop (loop.c). */
#ifndef HBINIT_H
#define HBINIT_H
#include <stdint.h>
#include "params.h"

/* The pfn the test guest gives data page 0 (GPA 0x100000): pages carry the same pattern,
 * so guest/model.py's sums hold unchanged although these pages are virtual memory. */
#define DATA_PFN 0x100u

extern struct hb_params params;
extern uint32_t *data;	 /* params.pages pages, mmap'd */
extern uint32_t *gen_of; /* generation of each data page */

/* The end of the road: exit with code, or as PID 1 (whose exit panics the kernel) sleep. */
__attribute__((noreturn)) void hb_stop(int code);
void canary_store(void);
uint64_t now_ns(void);
/* t0: CLOCK_MONOTONIC ns when the GUEST start line went out (HB t_us counts from it). */
__attribute__((noreturn)) void work_loop(uint64_t t0);
__attribute__((noreturn)) void hb_main(long *sp);

#endif
