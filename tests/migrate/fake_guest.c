/* Fakes for the in-process engine tests (see fake_guest.h). */
#include "fake_guest.h"
#include "place_walk.h"
#include <stdlib.h>
#include <string.h>

static uint64_t rnd(uint64_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 7;
	*s ^= *s << 17;
	return *s;
}

void fg_init(struct fake_guest *g, uint64_t npages, int source, uint64_t seed)
{
	memset(g, 0, sizeof(*g));
	g->npages = npages;
	g->mem = calloc(npages, MIG_PAGE_SIZE);
	g->dirty = calloc(MIG_BITMAP_WORDS(npages), 8);
	g->snap = calloc(npages, MIG_PAGE_SIZE);
	g->rng = seed | 1;
	if (source) {
		/* Three quarters of the pages hold data, the rest stay zero (markers on the wire). */
		for (uint64_t p = 0; p < npages * 3 / 4; p++)
			for (unsigned i = 0; i < MIG_PAGE_SIZE; i += 8) {
				uint64_t v = rnd(&g->rng);
				memcpy(g->mem + p * MIG_PAGE_SIZE + i, &v, 8);
			}
		g->running = 1;
		g->state_len = sizeof(g->state);
		for (size_t i = 0; i < g->state_len; i++)
			g->state[i] = (uint8_t)(i * 7 + 1);
	}
}

void fg_free(struct fake_guest *g)
{
	free(g->mem);
	free(g->dirty);
	free(g->snap);
}

void fg_tick(struct fake_guest *g)
{
	if (!g->running || g->paused)
		return;
	uint64_t n = g->writes_per_tick * (100 - g->throttle) / 100;
	for (uint64_t i = 0; i < n; i++) {
		uint64_t pfn = rnd(&g->rng) % g->npages;
		g->seq++;
		memcpy(g->mem + pfn * MIG_PAGE_SIZE + (g->seq % 512) * 8, &g->seq, 8);
		g->dirty[pfn / 64] |= 1ull << (pfn % 64);
	}
	g->state[0]++; /* registers change while running */
}

int fg_all_zero(const struct fake_guest *g)
{
	for (uint64_t i = 0; i < g->npages * MIG_PAGE_SIZE; i++)
		if (g->mem[i])
			return 0;
	for (size_t i = 0; i < sizeof(g->state); i++)
		if (g->state[i])
			return 0;
	return 1;
}

static const void *f_ro(void *ctx, uint64_t pfn)
{
	struct fake_guest *g = ctx;
	return g->mem + pfn * MIG_PAGE_SIZE;
}

static void *f_rw(void *ctx, uint64_t pfn)
{
	struct fake_guest *g = ctx;
	return pfn < g->npages ? g->mem + pfn * MIG_PAGE_SIZE : NULL;
}

static uint64_t f_collect(void *ctx, uint64_t *out)
{
	struct fake_guest *g = ctx;
	uint64_t n = 0;
	for (uint64_t i = 0; i < MIG_BITMAP_WORDS(g->npages); i++) {
		out[i] = g->dirty[i];
		g->dirty[i] = 0;
		n += (uint64_t)__builtin_popcountll(out[i]);
	}
	return n;
}

static int f_pause(void *ctx)
{
	struct fake_guest *g = ctx;
	if (g->fail_pause)
		return -1;
	g->paused = 1;
	memcpy(g->snap, g->mem, g->npages * MIG_PAGE_SIZE);
	return 0;
}

static int f_resume(void *ctx)
{
	struct fake_guest *g = ctx;
	g->resume_calls++;
	if (g->fail_resume)
		return -1;
	g->paused = 0;
	g->running = 1;
	g->resumed = 1;
	return 0;
}

static int f_throttle(void *ctx, unsigned pct)
{
	((struct fake_guest *)ctx)->throttle = pct;
	return 0;
}

static int f_save(void *ctx, void *buf, size_t cap, size_t *len)
{
	struct fake_guest *g = ctx;
	if (g->fail_save || cap < g->state_len)
		return -1;
	memcpy(buf, g->state, g->state_len);
	*len = g->state_len;
	return 0;
}

static int f_prepare(void *ctx, uint64_t npages, uint32_t page_size)
{
	struct fake_guest *g = ctx;
	if (g->fail_prepare || npages != g->npages || page_size != MIG_PAGE_SIZE)
		return -1;
	g->prepared = 1;
	return 0;
}

static int f_load(void *ctx, const void *buf, size_t len)
{
	struct fake_guest *g = ctx;
	if (g->fail_load || len > sizeof(g->state))
		return -1;
	memcpy(g->state, buf, len);
	g->state_len = len;
	g->loaded = 1;
	return 0;
}

static int f_scrub(void *ctx)
{
	struct fake_guest *g = ctx;
	g->running = 0;
	memset(g->mem, 0, g->npages * MIG_PAGE_SIZE);
	memset(g->state, 0, sizeof(g->state));
	if (g->scrub_leaves_junk)
		g->mem[5] = 1;
	g->scrubbed = 1;
	return fg_all_zero(g) ? 0 : -1;
}

struct mig_guest_ops fg_ops(struct fake_guest *g)
{
	struct mig_guest_ops o = {
		.ctx = g,
		.npages = g->npages,
		.page_ro = f_ro,
		.dirty_collect = f_collect,
		.pause = f_pause,
		.resume = f_resume,
		.throttle = f_throttle,
		.save_state = f_save,
		.prepare = f_prepare,
		.page_rw = f_rw,
		.load_state = f_load,
		.scrub = f_scrub,
	};
	return o;
}

void ml_init(struct mem_link *l, size_t cap, long bw)
{
	memset(l, 0, sizeof(*l));
	for (int i = 0; i < 2; i++) {
		l->q[i].buf = malloc(cap);
		l->q[i].cap = cap;
	}
	l->bw_per_tick = bw;
}

void ml_free(struct mem_link *l)
{
	free(l->q[0].buf);
	free(l->q[1].buf);
}

void ml_tick(struct mem_link *l)
{
	for (int i = 0; i < 2; i++) {
		l->q[i].credit += l->bw_per_tick;
		if (l->q[i].credit > l->bw_per_tick)
			l->q[i].credit = l->bw_per_tick;
	}
}

static void compact(struct ml_queue *q)
{
	if (q->head == 0)
		return;
	memmove(q->buf, q->buf + q->head, q->tail - q->head);
	q->tail -= q->head;
	q->head = 0;
}

static size_t l_writable(void *ctx)
{
	struct ml_end *e = ctx;
	struct mem_link *l = e->l;
	if (l->cut || l->stalled[e->side] || l->stalled[!e->side])
		return l->cut ? 1u << 30 : 0;
	struct ml_queue *q = &l->q[e->side];
	compact(q);
	size_t free_ = q->cap - q->tail;
	return free_ > 5 ? free_ - 5 : 0;
}

static size_t l_pending(void *ctx)
{
	struct ml_end *e = ctx;
	struct ml_queue *q = &e->l->q[e->side];
	return q->tail - q->head;
}

static int l_send(void *ctx, uint8_t type, const void *buf, size_t len)
{
	struct ml_end *e = ctx;
	struct mem_link *l = e->l;
	if (l->cut || l->closed[!e->side])
		return MIG_E_TRANSPORT;
	struct ml_queue *q = &l->q[e->side];
	compact(q);
	if (q->cap - q->tail < len + 5)
		return MIG_E_TRANSPORT; /* the engine must have checked writable() */
	uint8_t *p = q->buf + q->tail;
	p[0] = type;
	memcpy(p + 1, &(uint32_t){ (uint32_t)len }, 4);
	memcpy(p + 5, buf, len);
	if (l->corrupt_next[e->side] && len) {
		/* Data of a PAGES message, otherwise the first byte (the migration id). */
		size_t off = (type == 0x42 && len > 16 + 8 + 100) ? len - 100 : 0;
		p[5 + off] ^= 0x5a;
		l->corrupt_next[e->side] = 0;
	}
	q->tail += len + 5;
	l->sent_msgs[e->side]++;
	return MIG_OK;
}

static int l_recv(void *ctx, uint8_t *type, void *buf, size_t cap, size_t *len)
{
	struct ml_end *e = ctx;
	struct mem_link *l = e->l;
	if (l->cut)
		return MIG_E_TRANSPORT;
	if (l->stalled[e->side] || l->stalled[!e->side])
		return MIG_AGAIN;
	struct ml_queue *q = &l->q[!e->side];
	if (q->head == q->tail)
		return l->closed[!e->side] ? MIG_E_PEER_CLOSED : MIG_AGAIN;
	if (q->credit < 0)
		return MIG_AGAIN;
	uint8_t *p = q->buf + q->head;
	uint32_t n;
	memcpy(&n, p + 1, 4);
	if (n > cap)
		return MIG_E_BAD_LENGTH;
	*type = p[0];
	e->placed = 0;
	if (e->where) {
		if (place_walk(e->where, e->wctx, p[0], buf, p + 5, n, &l->placed_bytes) < 0)
			return MIG_E_CHANNEL;
		e->placed = 1;
	} else {
		memcpy(buf, p + 5, n);
	}
	*len = n;
	q->head += n + 5;
	q->credit -= (long)n + 5;
	return MIG_OK;
}

static int l_enc(void *ctx) { return ((struct ml_end *)ctx)->l->enc; }

/* A gathered message (head, then pages from the guest) queued as one record. */
static int l_sendv(void *ctx, uint8_t type, const void *head, size_t head_len, const void *const *pages,
		   unsigned npages)
{
	struct ml_end *e = ctx;
	struct mem_link *l = e->l;
	if (!l->enc)
		return MIG_E_STATE; /* the engine gathers only over an encrypted link */
	size_t len = head_len + (size_t)npages * MIG_PAGE_SIZE;
	struct ml_queue *q = &l->q[e->side];
	compact(q);
	if (l->cut || l->closed[!e->side] || q->cap - q->tail < len + 5)
		return MIG_E_TRANSPORT;
	uint8_t *p = q->buf + q->tail;
	p[0] = type;
	memcpy(p + 1, &(uint32_t){ (uint32_t)len }, 4);
	memcpy(p + 5, head, head_len);
	for (unsigned i = 0; i < npages; i++)
		memcpy(p + 5 + head_len + (size_t)i * MIG_PAGE_SIZE, pages[i], MIG_PAGE_SIZE);
	q->tail += len + 5;
	l->sent_msgs[e->side]++;
	l->gathered_msgs++;
	return MIG_OK;
}

static void l_set_place(void *ctx, uint8_t *(*where)(void *, uint8_t, const uint8_t *, size_t, size_t, size_t *),
			void *wctx)
{
	struct ml_end *e = ctx;
	e->where = where;
	e->wctx = wctx;
}

static int l_placed(void *ctx) { return ((struct ml_end *)ctx)->placed; }

struct mig_link ml_link(struct ml_end *e)
{
	struct mig_link k = { .ctx = e,
			      .handshake = NULL,
			      .writable = l_writable,
			      .pending = l_pending,
			      .send = l_send,
			      .recv = l_recv,
			      .encrypted = l_enc,
			      .detail = NULL,
			      .sendv = l_sendv,
			      .set_place = l_set_place,
			      .placed = l_placed };
	return k;
}

static uint64_t c_now(void *ctx) { return ((struct fake_clock *)ctx)->now; }

struct mig_clock fc_clock(struct fake_clock *c)
{
	struct mig_clock k = { c, c_now };
	return k;
}
