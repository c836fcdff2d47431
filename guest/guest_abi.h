/* The contract between the hypervisor and its test guests: where the guest is
 * loaded, the parameter block it reads at start, and the hypercalls it makes. */
#ifndef GUEST_ABI_H
#define GUEST_ABI_H
#include <stdint.h>

/* Guest starts in 32-bit protected mode, flat 4 GiB code/data segments,
 * paging off, interrupts off, at GUEST_LOAD_GPA. ESP is undefined (the
 * guest sets its own). Guest RAM is GPA 0 .. params.mem_size-1. */
#define GUEST_PARAMS_GPA   0x1000u
#define GUEST_LOAD_GPA	   0x10000u
#define GUEST_PARAMS_MAGIC 0x50545347u /* "GSTP" */

enum guest_mode {
	GUEST_MODE_WORK = 1,	     /* pattern fill, writes at a rate, verify, heartbeat */
	GUEST_MODE_WSET = 2,	     /* announced write sets, parked between rounds */
	GUEST_MODE_EPT_FAULT = 3,    /* reads just past its RAM: the hv must stop only this guest */
	GUEST_MODE_TRIPLE_FAULT = 4, /* executes UD2 with no IDT: a triple fault, likewise */
	GUEST_MODE_LINUX = 5,	     /* not this guest: a Linux bzImage from the boot modules */
};

struct guest_params {
	uint32_t magic; /* GUEST_PARAMS_MAGIC */
	uint32_t vm_id;
	uint32_t mem_size;	    /* bytes of guest RAM */
	uint32_t mode;		    /* enum guest_mode */
	uint32_t tsc_khz;	    /* guest-visible TSC rate, for guest time */
	uint32_t hb_ms;		    /* heartbeat interval in guest milliseconds */
	uint32_t write_pages_per_s; /* WORK: pages rewritten per second of guest time (0 = none) */
	uint32_t data_pages;	    /* pages of patterned data (0 = as many as fit) */
	uint32_t seed;
	uint32_t wset_pages; /* WSET: pages written per round */
	uint32_t canary_len; /* secret canary bytes in canary[] (0 = none) */
	uint8_t canary[64];  /* the guest copies this into its memory and keeps it */
};

/* Hypercalls: VMCALL with EAX = number, EBX/ECX = arguments; EAX = result. */
enum guest_hypercall {
	HC_PARK = 1, /* stop running until the console resumes this VM */
	HC_FAIL = 2, /* the guest detected an error (EBX = code); the hv reports it */
	HC_DONE = 3, /* the guest has finished (EBX = exit code); the hv stops it */
};

/* Virtual 16550 at COM1 (0x3f8..0x3ff): THR writes are the guest's console;
 * LSR (0x3fd) reads 0x60 (transmitter empty); other reads return 0. */
#define GUEST_UART_BASE 0x3f8u

#endif
