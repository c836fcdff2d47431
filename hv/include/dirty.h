/* Dirty-page tracking: "return, and reset, the set of guest pages written
 * since the last call", by EPT A/D scan or by the page-modification log. */
#ifndef HV_DIRTY_H
#define HV_DIRTY_H
#include <stdint.h>
#include "ept.h"

enum dirty_method { DIRTY_NONE = 0, DIRTY_AD = 1, DIRTY_PML = 2 };
const char *dirty_method_name(enum dirty_method m);

#define PML_ENTRIES 512

struct dirty_tracker {
	enum dirty_method method;
	struct ept *ept;
	uint64_t npages;	  /* guest pages tracked: GPA 0 .. npages*4K */
	uint64_t *accum;	  /* PML: pages logged so far in this interval */
	uint64_t *pml_log;	  /* PML: the 4 KiB log page the CPU writes */
	uint64_t stray;		  /* PML entries outside guest RAM (counted, ignored) */
	void (*flush)(void *ctx); /* INVEPT for this EPT: A/D state may be cached */
	void *flush_ctx;
};

static inline uint64_t dirty_bitmap_words(uint64_t npages) { return (npages + 63) / 64; }

/* A/D scan: every leaf with D set goes into out (bitmap), then A and D are
 * cleared. Returns the number of dirty pages. The caller flushes. */
uint64_t dirty_ad_scan(struct ept *e, uint64_t *out, uint64_t npages);
/* Clears D (and A) on the pages set in bits, so the next write is logged again. */
void dirty_clear_pages(struct ept *e, const uint64_t *bits, uint64_t npages);
/* PML: moves the valid log entries (index+1 .. 511, or all 512 when the index
 * has wrapped) into accum. Returns entries consumed; the caller sets index 511. */
unsigned dirty_pml_drain(struct dirty_tracker *t, uint16_t index);

/* The interface the console and the migration engine use. For PML the caller
 * drains the log first (dirty_pml_drain) with the current index. out gets the
 * set; the return value is its size. Tracking restarts from empty. */
uint64_t dirty_collect(struct dirty_tracker *t, uint64_t *out);
/* Switches method; the interval restarts (all D bits cleared). */
void dirty_set_method(struct dirty_tracker *t, enum dirty_method m);

#endif
