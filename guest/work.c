/* WORK mode: patterned data pages rewritten at a paced rate, verified in a
 * cycle, and a heartbeat with a checksum a migration test can compare. */
#include "guest.h"
#include "pattern.h"
#include "uart.h"
#include "x86.h"

/* Bounds on the work between two clock reads, so heartbeats stay punctual;
 * a backlog past BACKLOG_MAX (say, after a long pause) is forgiven, not
 * caught up in a burst. */
#define WRITE_BURST  16u
#define VERIFY_CHUNK 8u
#define BACKLOG_MAX  (4u * WRITE_BURST)

static uint32_t *const gen = (uint32_t *)GEN_GPA;

static uint32_t lcg;	     /* page-choice state, starts at params.seed */
static uint64_t writes;	     /* page rewrites so far */
static uint32_t sum;	     /* sum_update() over every rewrite, in order */
static uint32_t verify_next; /* next page index the verifier looks at */
static uint64_t passes;	     /* completed verify passes */

static uint32_t *page_ptr(uint32_t idx) { return (uint32_t *)(DATA_GPA + idx * PAGE_SIZE); }

static void rewrite_one(void)
{
	uint32_t idx = pick(lcg_next(&lcg), data_pages);
	uint32_t g = ++gen[idx];

	pat_fill(page_ptr(idx), DATA_PFN + idx, g);
	sum = sum_update(sum, DATA_PFN + idx, g);
	writes++;
}

static void verify_chunk(void)
{
	for (uint32_t n = 0; n < VERIFY_CHUNK; n++) {
		uint32_t idx = verify_next, want, got;
		int bad = pat_check(page_ptr(idx), DATA_PFN + idx, gen[idx], &want, &got);

		if (bad >= 0)
			memcheck_fail(DATA_GPA + idx * PAGE_SIZE, (uint32_t)bad, want, got);
		if (++verify_next == data_pages) {
			verify_next = 0;
			put_str("MEMCHECK ok pass=");
			put_dec(++passes);
			put_str(" pages=");
			put_dec(data_pages);
			put_str("\n");
		}
	}
}

/* Rewritten at every heartbeat so the canary page is dirty again in every
 * pre-copy round (a test looks for it on the wire). */
static void canary_store(void)
{
	volatile uint8_t *c = (volatile uint8_t *)CANARY_GPA;

	for (uint32_t i = 0; i < params.canary_len; i++) {
		c[i] = params.canary[i];
		c[2048 + i] = params.canary[i];
	}
}

static void heartbeat(uint32_t seq, uint64_t now, uint64_t t0)
{
	canary_store();
	put_str("HB vm=");
	put_dec(params.vm_id);
	put_str(" seq=");
	put_dec(seq);
	put_str(" t_us=");
	put_dec(div64_32((now - t0) * 1000u, params.tsc_khz, 0));
	put_str(" writes=");
	put_dec(writes);
	put_str(" sum=");
	put_hex(sum, 8);
	put_str("\n");
}

void work_run(void)
{
	uint64_t t0, next_hb, hb_cycles = (uint64_t)params.hb_ms * params.tsc_khz;
	uint64_t credited = 0; /* rewrites the clock has asked for so far */
	uint32_t seq = 0;

	/* Do not trust RAM to start zeroed: gen[] and the pages must agree. */
	for (uint32_t i = 0; i < data_pages; i++) {
		gen[i] = 0;
		pat_fill(page_ptr(i), DATA_PFN + i, 0);
	}
	lcg = params.seed;
	canary_store();
	put_start_line("work");

	t0 = rdtsc();
	next_hb = t0 + hb_cycles;
	for (;;) {
		uint64_t now = rdtsc();

		if (params.write_pages_per_s) {
			/* tsc_khz * 1000 ticks per second; split to stay in 64 bits. */
			uint64_t due =
				div64_32(div64_32((now - t0) * params.write_pages_per_s, params.tsc_khz, 0), 1000, 0);

			if (due - credited > BACKLOG_MAX)
				credited = due - BACKLOG_MAX;
			for (uint32_t n = 0; n < WRITE_BURST && credited < due; n++, credited++)
				rewrite_one();
		}
		verify_chunk();

		now = rdtsc();
		if (params.hb_ms && now >= next_hb) {
			heartbeat(++seq, now, t0);
			/* One line per interval, never a burst of catch-up lines. */
			next_hb += hb_cycles;
			if (next_hb <= now)
				next_hb = now + hb_cycles;
		}
	}
}
