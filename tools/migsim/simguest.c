/* The simulated guest (see simguest.h). The writer marks a page dirty after writing it,
 * like the CPU sets the EPT D flag as part of the write: a collection that misses the
 * mark still sees it next time, so no write is ever lost. */
#define _GNU_SOURCE
#include "simguest.h"
#include "mig_proto.h"
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define STATE_MAGIC 0x4d475354ull

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void fill_page(uint8_t *p, uint64_t pfn)
{
	uint64_t *w = (uint64_t *)p;
	w[0] = 0;
	w[1] = pfn;
	for (unsigned i = 2; i < MIG_PAGE_SIZE / 8; i++)
		w[i] = (pfn * 0x9e3779b97f4a7c15ull) ^ i;
}

int sg_init(struct simguest *g, uint64_t mem_bytes, uint64_t rate_pps, int source)
{
	memset(g, 0, sizeof(*g));
	g->npages = mem_bytes / MIG_PAGE_SIZE;
	g->mem = mmap(NULL, g->npages * MIG_PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (g->mem == MAP_FAILED)
		return -1;
	/* Guest RAM on huge pages where the host allows, as hypervisors back it; then map it
	 * all now (MAP_POPULATE's job, after the advice). */
	(void)madvise(g->mem, g->npages * MIG_PAGE_SIZE, MADV_HUGEPAGE);
	(void)madvise(g->mem, g->npages * MIG_PAGE_SIZE, MADV_POPULATE_WRITE);
	g->dirty = calloc(MIG_BITMAP_WORDS(g->npages), sizeof(uint64_t));
	if (!g->dirty)
		return -1;
	g->rate_pps = rate_pps;
	/* Seven eighths carry data; the last eighth stays zero. */
	g->data_pages = g->npages - g->npages / 8;
	g->hot_pages = g->data_pages;
	if (source)
		for (uint64_t p = 0; p < g->data_pages; p++)
			fill_page(g->mem + p * MIG_PAGE_SIZE, p);
	else
		for (uint64_t p = 0; p < g->npages; p++)
			((volatile uint8_t *)g->mem)[p * MIG_PAGE_SIZE] = 0;
	for (size_t i = 0; i < sizeof(g->state_fill); i++)
		g->state_fill[i] = (uint8_t)(i * 13 + 5);
	return 0;
}

static void *writer(void *arg)
{
	struct simguest *g = arg;
	uint64_t t0 = now_ns(), done = 0;
	while (!atomic_load(&g->quit)) {
		if (atomic_load(&g->pause_req)) {
			atomic_store(&g->parked, 1);
			while (atomic_load(&g->pause_req) && !atomic_load(&g->quit)) {
				struct timespec ts = { 0, 50000 };
				nanosleep(&ts, NULL);
			}
			atomic_store(&g->parked, 0);
			t0 = now_ns();
			done = 0;
			continue;
		}
		unsigned thr = atomic_load(&g->throttle);
		uint64_t rate = g->rate_pps * (100 - thr) / 100;
		/* Pace: pages owed by now at the current rate. */
		uint64_t el = now_ns() - t0;
		uint64_t owed = rate ? (uint64_t)((unsigned __int128)el * rate / 1000000000ull) : 0;
		if (done >= owed) {
			struct timespec ts = { 0, 200000 };
			nanosleep(&ts, NULL);
			if (el > 1000000000ull) { /* re-base once a second so rate changes apply */
				t0 = now_ns();
				done = 0;
			}
			continue;
		}
		for (int k = 0; k < 64 && done < owed; k++, done++) {
			uint64_t p = g->cursor;
			uint64_t *w = (uint64_t *)(g->mem + p * MIG_PAGE_SIZE);
			w[0] = g->sweep + 1;
			atomic_fetch_or_explicit(&g->dirty[p / 64], 1ull << (p % 64), memory_order_release);
			atomic_fetch_add_explicit(&g->writes, 1, memory_order_relaxed);
			if (++g->cursor == g->hot_pages) {
				g->cursor = 0;
				g->sweep++;
			}
			if (atomic_load_explicit(&g->pause_req, memory_order_relaxed))
				break;
		}
	}
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	g->writer_cpu_last = (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	atomic_store(&g->parked, 1);
	return NULL;
}

double sg_writer_cpu_s(const struct simguest *g)
{
	double s = g->writer_cpu_done;
	clockid_t cid;
	struct timespec ts;
	if (g->have_thread && pthread_getcpuclockid(g->thr, &cid) == 0 && clock_gettime(cid, &ts) == 0)
		s += (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
	return s;
}

void sg_start(struct simguest *g)
{
	atomic_store(&g->started, 1);
	if (g->have_thread) {
		atomic_store(&g->pause_req, 0);
		return;
	}
	if (pthread_create(&g->thr, NULL, writer, g) == 0)
		g->have_thread = 1;
}

void sg_stop_thread(struct simguest *g)
{
	if (!g->have_thread)
		return;
	atomic_store(&g->quit, 1);
	pthread_join(g->thr, NULL);
	g->writer_cpu_done += g->writer_cpu_last;
	g->have_thread = 0;
	atomic_store(&g->quit, 0);
}

void sg_free(struct simguest *g)
{
	sg_stop_thread(g);
	munmap(g->mem, g->npages * MIG_PAGE_SIZE);
	free(g->dirty);
}

int sg_pause(struct simguest *g)
{
	atomic_store(&g->pause_req, 1);
	if (!g->have_thread)
		return 0;
	while (!atomic_load(&g->parked)) {
		struct timespec ts = { 0, 20000 };
		nanosleep(&ts, NULL);
	}
	return 0;
}

int sg_resume(struct simguest *g)
{
	if (g->defer_start) /* the simulator checks memory first, then starts the vCPU */
		return 0;
	sg_start(g);
	return 0;
}

uint64_t sg_hash(const struct simguest *g) { return mig_sum64(0, g->mem, g->npages * MIG_PAGE_SIZE); }

int sg_pattern_check(const struct simguest *g, uint64_t *edge, uint64_t *bad_pfn)
{
	*edge = g->npages;
	for (uint64_t p = 0; p < g->hot_pages; p++) {
		const uint64_t *w = (const uint64_t *)(g->mem + p * MIG_PAGE_SIZE);
		if (w[1] != p) {
			*bad_pfn = p;
			return -1;
		}
		if (!p)
			continue;
		uint64_t prev = *(const uint64_t *)(g->mem + (p - 1) * MIG_PAGE_SIZE);
		if (w[0] == prev)
			continue;
		if (w[0] + 1 == prev && *edge == g->npages) {
			*edge = p;
			continue;
		}
		*bad_pfn = p;
		return -1;
	}
	/* Beyond the data region nothing was ever written. */
	for (uint64_t p = g->hot_pages; p < g->npages; p++) {
		const uint64_t *w = (const uint64_t *)(g->mem + p * MIG_PAGE_SIZE);
		for (unsigned i = 0; i < MIG_PAGE_SIZE / 8; i++)
			if (w[i]) {
				*bad_pfn = p;
				return -1;
			}
	}
	return 0;
}

/* --- engine callbacks --- */

static const void *o_ro(void *ctx, uint64_t pfn)
{
	struct simguest *g = ctx;
	return g->mem + pfn * MIG_PAGE_SIZE;
}

static void *o_rw(void *ctx, uint64_t pfn)
{
	struct simguest *g = ctx;
	return pfn < g->npages ? g->mem + pfn * MIG_PAGE_SIZE : NULL;
}

static uint64_t o_collect(void *ctx, uint64_t *out)
{
	struct simguest *g = ctx;
	uint64_t n = 0;
	for (uint64_t i = 0; i < MIG_BITMAP_WORDS(g->npages); i++) {
		out[i] = atomic_exchange_explicit(&g->dirty[i], 0, memory_order_acquire);
		n += (uint64_t)__builtin_popcountll(out[i]);
	}
	return n;
}

static int o_pause(void *ctx) { return sg_pause(ctx); }
static int o_resume(void *ctx) { return sg_resume(ctx); }

static int o_throttle(void *ctx, unsigned pct)
{
	struct simguest *g = ctx;
	atomic_store(&g->throttle, pct > 99 ? 99 : pct);
	return 0;
}

/* State blob: magic, vCPU position, then the stand-in register file. */
static int o_save(void *ctx, void *buf, size_t cap, size_t *len)
{
	struct simguest *g = ctx;
	size_t n = 32 + sizeof(g->state_fill);
	if (cap < n)
		return -1;
	uint8_t *b = buf;
	mig_put_be64(b, STATE_MAGIC);
	mig_put_be64(b + 8, g->cursor);
	mig_put_be64(b + 16, g->sweep);
	mig_put_be64(b + 24, g->hot_pages);
	memcpy(b + 32, g->state_fill, sizeof(g->state_fill));
	*len = n;
	return 0;
}

static int o_load(void *ctx, const void *buf, size_t len)
{
	struct simguest *g = ctx;
	const uint8_t *b = buf;
	if (len != 32 + sizeof(g->state_fill) || mig_get_be64(b) != STATE_MAGIC)
		return -1;
	uint64_t cur = mig_get_be64(b + 8), hot = mig_get_be64(b + 24);
	if (hot > g->npages || cur >= hot)
		return -1;
	g->cursor = cur;
	g->sweep = mig_get_be64(b + 16);
	g->hot_pages = hot;
	memcpy(g->state_fill, b + 32, sizeof(g->state_fill));
	g->loaded = 1;
	return 0;
}

static int o_prepare(void *ctx, uint64_t npages, uint32_t page_size)
{
	struct simguest *g = ctx;
	return (npages == g->npages && page_size == MIG_PAGE_SIZE) ? 0 : -1;
}

static int o_scrub(void *ctx)
{
	struct simguest *g = ctx;
	sg_stop_thread(g);
	/* Page by page, each read back while it is still in the cache, as the hypervisor's
	 * vm_scrub does: a scrub is only trusted once checked, and a second pass over all of
	 * RAM would cost the migration a whole extra read of the guest. */
	for (uint64_t p = 0; p < g->npages; p++) {
		uint64_t *w = (uint64_t *)(g->mem + p * MIG_PAGE_SIZE);
		memset(w, 0, MIG_PAGE_SIZE);
		uint64_t acc = 0;
		for (unsigned i = 0; i < MIG_PAGE_SIZE / 8; i++)
			acc |= ((volatile uint64_t *)w)[i];
		if (acc)
			return -1;
	}
	memset(g->state_fill, 0, sizeof(g->state_fill));
	g->cursor = g->sweep = 0;
	for (uint64_t i = 0; i < MIG_BITMAP_WORDS(g->npages); i++)
		atomic_store(&g->dirty[i], 0);
	for (size_t i = 0; i < sizeof(g->state_fill); i++)
		if (g->state_fill[i])
			return -1;
	g->scrub_verified = 1;
	return 0;
}

struct mig_guest_ops sg_ops(struct simguest *g)
{
	struct mig_guest_ops o = {
		.ctx = g,
		.npages = g->npages,
		.page_ro = o_ro,
		.dirty_collect = o_collect,
		.pause = o_pause,
		.resume = o_resume,
		.throttle = o_throttle,
		.save_state = o_save,
		.prepare = o_prepare,
		.page_rw = o_rw,
		.load_state = o_load,
		.scrub = o_scrub,
	};
	return o;
}
