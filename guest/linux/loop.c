/* The WORK loop on Linux: guest/work.c's rewrites, checks and heartbeats, paced by sleeping
 * in ppoll() (never spinning) so the guest idles between events as a Linux guest should. */
#include "hbinit.h"
#include "input.h"
#include "out.h"
#include "pattern.h"
#include "sys.h"

#define NS_PER_S     1000000000ull
/* Rewrites come in batches at most this often: fewer wake-ups at high rates. */
#define TICK_NS	     20000000ull
/* Bounds on the work between two clock reads, so heartbeats stay punctual; a backlog past
 * BACKLOG_MAX (say, after the guest was paused) is forgiven, not caught up in a burst. */
#define WRITE_BURST  64u
#define BACKLOG_MAX  (4u * WRITE_BURST)
#define VERIFY_CHUNK 8u
/* corrupt_after's damage: a word guest/model.py would call a pattern word, one bit off. */
#define CORRUPT_WORD 7u
#define CORRUPT_BIT  0x100u

static uint32_t lcg;	     /* page-choice state, starts at params.seed */
static uint64_t writes;	     /* page rewrites so far */
static uint32_t sum;	     /* sum_update() over every rewrite, in order */
static uint32_t verify_next; /* next page index the verifier looks at */
static uint64_t passes;	     /* completed verify passes */

static uint32_t *page_ptr(uint32_t idx) { return data + (uint64_t)idx * PAGE_WORDS; }

static void rewrite_one(void)
{
	uint32_t idx = pick(lcg_next(&lcg), params.pages);
	uint32_t g = ++gen_of[idx];

	pat_fill(page_ptr(idx), DATA_PFN + idx, g);
	sum = sum_update(sum, DATA_PFN + idx, g);
	writes++;
}

/* page= is the address the page has in the test guest ((DATA_PFN + idx) * 4096), the pfn
 * its word 0 holds: this process does not know the guest-physical one. */
static __attribute__((noreturn)) void memcheck_fail(uint32_t idx, uint32_t word, uint32_t want, uint32_t got)
{
	out_str("MEMCHECK FAIL page=0x");
	out_hex((uint64_t)(DATA_PFN + idx) * PAGE_SIZE, 0);
	out_str(" word=");
	out_dec(word);
	out_str(" want=0x");
	out_hex(want, 8);
	out_str(" got=0x");
	out_hex(got, 8);
	out_end();
	hb_stop(1);
}

static void verify_chunk(void)
{
	uint32_t chunk = params.pages < VERIFY_CHUNK ? params.pages : VERIFY_CHUNK;

	for (uint32_t n = 0; n < chunk; n++) {
		uint32_t idx = verify_next, want, got;
		int bad = pat_check(page_ptr(idx), DATA_PFN + idx, gen_of[idx], &want, &got);

		if (bad >= 0)
			memcheck_fail(idx, (uint32_t)bad, want, got);
		if (++verify_next == params.pages) {
			verify_next = 0;
			out_str("MEMCHECK ok pass=");
			out_dec(++passes);
			out_str(" pages=");
			out_dec(params.pages);
			out_end();
		}
	}
}

/* Test hook (corrupt_after=N): damage the page the verifier reads next, so the check right
 * after must catch it before a rewrite could repair it. The real guest never sets it. */
static void corrupt(void) { page_ptr(verify_next)[CORRUPT_WORD] ^= CORRUPT_BIT; }

static void heartbeat(uint32_t seq, uint64_t el_ns)
{
	canary_store();
	out_str("HB vm=");
	out_dec(params.vm);
	out_str(" seq=");
	out_dec(seq);
	out_str(" t_us=");
	out_dec(el_ns / 1000);
	out_str(" writes=");
	out_dec(writes);
	out_str(" sum=");
	out_hex(sum, 8);
	out_end();
}

/* Rewrites due el ns after t0: floor(el * rate / 1e9), split so it cannot overflow. */
static uint64_t writes_due(uint64_t el, uint32_t rate)
{
	return el / NS_PER_S * rate + el % NS_PER_S * rate / NS_PER_S;
}

/* When writes_due() reaches k: its inverse, rounded up. */
static uint64_t write_time(uint64_t k, uint32_t rate)
{
	return k / rate * NS_PER_S + (k % rate * NS_PER_S + rate - 1) / rate;
}

/* Sleeps timeout ns (UINT64_MAX: until there is input) or until console input arrives. */
static void wait_event(uint64_t timeout)
{
	struct k_pollfd pfd = { .fd = input_fd(), .events = POLLIN };
	struct k_timespec ts = { .tv_sec = (long)(timeout / NS_PER_S), .tv_nsec = (long)(timeout % NS_PER_S) };

	if (sys_ppoll(&pfd, 1, timeout == UINT64_MAX ? 0 : &ts) > 0 && pfd.revents)
		input_ready();
}

void work_loop(uint64_t t0)
{
	const uint32_t rate = params.write_rate;
	const uint64_t hb_ns = (uint64_t)params.hb_ms * 1000000u;
	uint64_t next_hb = hb_ns, credited = 0; /* credited: rewrites the clock has asked for */
	uint32_t seq = 0;

	lcg = params.seed;
	for (;;) {
		uint64_t el = now_ns() - t0, next = UINT64_MAX;
		int backlog = 0;

		if (rate) {
			uint64_t due = writes_due(el, rate);

			if (due - credited > BACKLOG_MAX)
				credited = due - BACKLOG_MAX;
			for (uint32_t n = 0; n < WRITE_BURST && credited < due; n++, credited++)
				rewrite_one();
			backlog = credited < due;
		}
		el = now_ns() - t0;
		if (hb_ns && el >= next_hb) {
			heartbeat(++seq, el);
			/* One line per interval, never a burst of catch-up lines. */
			next_hb += hb_ns;
			if (next_hb <= el)
				next_hb = el + hb_ns;
			if (seq == params.corrupt_after)
				corrupt();
			if (seq == params.hb_max)
				hb_stop(0);
		}
		verify_chunk();

		el = now_ns() - t0;
		if (hb_ns)
			next = next_hb;
		if (rate) {
			uint64_t w = write_time(credited + 1, rate);

			if (w < el + TICK_NS)
				w = el + TICK_NS;
			if (w < next)
				next = w;
		}
		if (backlog || next <= el)
			next = el; /* work left now: look again without sleeping */
		wait_event(next == UINT64_MAX ? UINT64_MAX : next - el);
	}
}
