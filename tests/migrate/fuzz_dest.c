/* libFuzzer target for the migration destination's message handling (hv/migrate/
 * engine_dest.c) facing a hostile source that holds the PSK: the input is the source's
 * message stream (see fuzz_input.h). Invariants asserted inside: no page outside the
 * guest is ever written; the guest resumes only after its state was loaded, only once,
 * and then the migration is not reported failed; a failed migration leaves the guest's
 * memory and state zero. A crash, sanitizer report or hang is a finding too. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include "fuzz_input.h"
#include "place_walk.h"
#include "mig.h"
#include "mig_err.h"
#include "mig_proto.h"
#include <stdio.h>

#define MAX_PAGES 4096u /* the destination refuses bigger guests (prepare fails) */

struct guest {
	uint64_t npages;
	uint8_t *mem;
	uint8_t state[2048];
	int prepared, loaded, resumed, scrubbed;
};

static void die(const char *why)
{
	(void)why;
	__builtin_trap(); /* libFuzzer reports the input */
}

static int g_prepare(void *ctx, uint64_t npages, uint32_t page_size)
{
	struct guest *g = ctx;
	if (page_size != MIG_PAGE_SIZE || npages == 0 || npages > MAX_PAGES || g->prepared)
		return -1;
	g->mem = calloc(npages, MIG_PAGE_SIZE);
	g->npages = npages;
	g->prepared = 1;
	return 0;
}

static void *g_rw(void *ctx, uint64_t pfn)
{
	struct guest *g = ctx;
	if (!g->prepared || pfn >= g->npages)
		die("page outside the guest");
	if (g->resumed)
		die("page written after the resume");
	return g->mem + pfn * MIG_PAGE_SIZE;
}

static int g_load(void *ctx, const void *buf, size_t len)
{
	struct guest *g = ctx;
	if (!g->prepared || len > sizeof(g->state))
		return -1;
	memcpy(g->state, buf, len);
	g->loaded = 1;
	return 0;
}

static int g_resume(void *ctx)
{
	struct guest *g = ctx;
	if (!g->loaded || g->resumed)
		die("resume without a loaded state, or twice");
	g->resumed = 1;
	return 0;
}

static int g_scrub(void *ctx)
{
	struct guest *g = ctx;
	if (g->resumed)
		die("scrub of a guest that runs here");
	if (g->mem)
		memset(g->mem, 0, g->npages * MIG_PAGE_SIZE);
	memset(g->state, 0, sizeof(g->state));
	g->loaded = 0;
	g->scrubbed = 1;
	return 0;
}

struct link {
	struct fuzz_input in;
	int encrypted, fixup, placed;
	/* the engine's receive placement, walked as the channel walks it */
	uint8_t *(*where)(void *wctx, uint8_t type, const uint8_t *buf, size_t len, size_t off, size_t *n);
	void *wctx;
};

static void l_set_place(void *ctx, uint8_t *(*where)(void *, uint8_t, const uint8_t *, size_t, size_t, size_t *),
			void *wctx)
{
	struct link *l = ctx;
	l->where = where;
	l->wctx = wctx;
}

static int l_placed(void *ctx) { return ((struct link *)ctx)->placed; }

/* A peer that holds the PSK makes every check it can compute come out right: with fixup
 * on, a PAGES or STATE message gets the plaintext checksum its (mutated) contents need, so
 * the fuzzer reaches what lies behind the checksum. */
static void fix_sums(uint8_t type, uint8_t *buf, size_t len)
{
	if (type == MIG_MSG_PAGES && len >= MIG_PAGES_HDR) {
		struct mig_pages p;
		if (mig_dec_pages(buf, len, MIG_PFN_MASK, MIG_BATCH_MAX, &p) == MIG_OK)
			mig_enc_pages_hdr(buf, p.round, p.count,
					  mig_sum64(p.round, buf + MIG_PAGES_HDR, len - MIG_PAGES_HDR));
	} else if (type == MIG_MSG_STATE) {
		struct mig_state_hdr h;
		const uint8_t *blob;
		if (mig_dec_state(buf, len, &h, &blob) == MIG_OK) {
			h.sum = mig_sum64(h.pages_total, blob, h.len);
			mig_enc_state_hdr(buf, &h);
		}
	}
}

static size_t l_writable(void *ctx)
{
	(void)ctx;
	return 1u << 20;
}

static int l_send(void *ctx, uint8_t type, const void *buf, size_t len)
{
	(void)ctx, (void)type, (void)buf, (void)len;
	return MIG_OK;
}

static int l_recv(void *ctx, uint8_t *type, void *buf, size_t cap, size_t *len)
{
	struct link *l = ctx;
	const uint8_t *p;
	size_t n;
	int r = fuzz_input_next(&l->in, type, &p, &n);
	if (r)
		return MIG_E_PEER_CLOSED; /* the stream ends: a truncation */
	if (n > cap)
		return MIG_E_BAD_LENGTH;
	l->placed = 0;
	if (l->where) {
		/* Hostile bytes through the placement: the engine's answers must keep the
		 * channel's rules whatever the message says (a placed region inside the guest
		 * is checked by ASan). */
		uint64_t placed = 0;
		if (place_walk(l->where, l->wctx, *type, buf, p, n, &placed) < 0)
			die("the placement broke the channel's rules");
		l->placed = 1;
	} else {
		memcpy(buf, p, n);
	}
	*len = n;
	if (l->fixup)
		fix_sums(*type, buf, n);
	return MIG_OK;
}

static int l_encrypted(void *ctx)
{
	struct link *l = ctx;
	return l->encrypted;
}

static uint64_t clock_ns;
static uint64_t now_ns(void *ctx)
{
	(void)ctx;
	return clock_ns;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t msg[MIG_MSG_BUF_SIZE(8)], ctl[MIG_CTL_MAX];
	struct link l;
	if (fuzz_input_init(&l.in, data, size, &l.encrypted, &l.fixup))
		return 0;
	struct guest g = { 0 };
	struct mig_guest_ops ops = { .ctx = &g,
				     .prepare = g_prepare,
				     .page_rw = g_rw,
				     .load_state = g_load,
				     .resume = g_resume,
				     .scrub = g_scrub };
	l.where = NULL;
	l.wctx = NULL;
	l.placed = 0;
	struct mig_link ml = { .ctx = &l,
			       .writable = l_writable,
			       .send = l_send,
			       .recv = l_recv,
			       .encrypted = l_encrypted,
			       .set_place = l_set_place,
			       .placed = l_placed };
	struct mig_clock c = { 0, now_ns };
	struct mig_buffers b = { NULL, msg, sizeof(msg), NULL, 0, ctl, sizeof(ctl) };
	struct mig_config cfg = { .batch_pages = 8, .stall_timeout_ns = 1000000000ull };
	struct mig_dest d;
	clock_ns = 1000;
	if (mig_dest_init(&d, &cfg, &ops, &ml, &c, &b) != MIG_OK)
		die("init");
	int r = MIG_AGAIN;
	for (unsigned i = 0; i < 100000 && (r == MIG_AGAIN || r == MIG_BLOCKED); i++) {
		r = mig_dest_step(&d);
		clock_ns += 1000000;
	}
	if (getenv("FUZZ_DEST_TRACE")) /* which end each input reached */
		fprintf(stderr, "fuzz_dest: %zu bytes -> %s (%d), resumed %d\n", size,
			r == MIG_DONE ? "done" : mig_strerror(r), r, g.resumed);
	if (r == MIG_AGAIN || r == MIG_BLOCKED)
		die("no end after the input ran out");
	if (g.resumed && r != MIG_DONE)
		die("a failure reported after the guest resumed here");
	if (r == MIG_DONE && !g.resumed)
		die("done without a resume");
	if (r < 0 && g.prepared) {
		if (!g.scrubbed)
			die("failed without a scrub");
		for (uint64_t i = 0; i < g.npages * MIG_PAGE_SIZE; i++)
			if (g.mem[i])
				die("a failed migration left guest memory");
		for (size_t i = 0; i < sizeof(g.state); i++)
			if (g.state[i])
				die("a failed migration left guest state");
	}
	free(g.mem);
	return 0;
}
