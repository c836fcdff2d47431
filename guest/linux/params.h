/* hbinit's parameters: key=value words of the kernel command line, which reach init as envp. */
#ifndef HBINIT_PARAMS_H
#define HBINIT_PARAMS_H
#include <stdint.h>

enum hb_mode { MODE_WORK, MODE_MEMTOUCH };

/* The test guest's limit (guest/README.md): 512 MiB of data pages. */
#define PAGES_MAX 131072u

struct hb_params {
	uint32_t vm;		/* vm=: the id printed in GUEST start and HB */
	uint32_t hb_ms;		/* hb_ms=: heartbeat interval, 0 = none */
	uint32_t write_rate;	/* write_rate=: page rewrites per second */
	uint32_t pages;		/* pages=: data pages */
	uint32_t seed;		/* seed=: page-choice LCG seed, default model.seed_of(vm) */
	uint32_t hb_max;	/* hb_max=: exit 0 after this many heartbeats (hosted test), 0 = never */
	uint32_t corrupt_after; /* corrupt_after=: test hook, damage a page after heartbeat N */
	enum hb_mode mode;	/* mode=work|memtouch */
	uint64_t addr;		/* addr=: memtouch's guest-physical address (hex) */
	const char *memdev;	/* memdev=: test hook, the device memtouch maps (default /dev/mem) */
};

/* Fills *p from envp; 0, or -1 for a bad value (the caller prints GUEST bad params). */
int params_parse(struct hb_params *p, char *const *envp);

#endif
