/* Keystream ring: variable-sized entries allocated FIFO in a circular byte buffer. */
#include "keystream_ring.h"
#include "frame.h"
#include "hvc_err.h"
#include "mem_secure.h"

void hvc_ks_ring_init(struct hvc_ks_ring *r, uint8_t *mem, size_t cap)
{
	hvc_zero(r, sizeof(*r));
	/* Entries start 64-byte aligned so the XOR/GHASH loops run on aligned keystream. */
	size_t adj = (64 - ((uintptr_t)mem & 63)) & 63;
	if (!mem || cap <= adj)
		return;
	r->mem = mem + adj;
	r->cap = (cap - adj) & ~(size_t)63;
}

static void scrub_outside(struct hvc_ks_ring *r, size_t off, size_t len);

static struct hvc_ks_entry *nth(struct hvc_ks_ring *r, unsigned i)
{
	return &r->e[(r->first + i) % HVC_KS_MAX_ENTRIES];
}

/* Where a new entry of need bytes goes: an offset, or SIZE_MAX when there is no room. */
static size_t place(struct hvc_ks_ring *r, size_t need)
{
	if (r->count == HVC_KS_MAX_ENTRIES || need > r->cap)
		return SIZE_MAX;
	if (r->count == 0)
		return 0;
	struct hvc_ks_entry *old = nth(r, 0), *nw = nth(r, r->count - 1);
	size_t wr = nw->off + nw->size;
	if (nw->off >= old->off) { /* used region is [old, wr) */
		if (r->cap - wr >= need)
			return wr;
		return old->off >= need ? 0 : SIZE_MAX;
	}
	return old->off - wr >= need ? wr : SIZE_MAX; /* wrapped: used [old, cap) and [0, wr) */
}

int hvc_ks_ring_reserve(struct hvc_ks_ring *r, uint32_t epoch, uint64_t seq, size_t len, uint8_t **mem)
{
	size_t need = (HVC_TAG_LEN + len + 63) & ~(size_t)63, off;

	if (!r->mem)
		return HVC_AGAIN;
	if (r->count) {
		struct hvc_ks_entry *nw = nth(r, r->count - 1);
		if (nw->seq >= seq && nw->epoch == epoch) {
			hvc_ks_ring_scrub(r);
			return HVC_E_INVAL;
		}
	}
	off = place(r, need);
	if (off == SIZE_MAX) {
		hvc_ks_ring_scrub(r);
		return HVC_AGAIN;
	}
	/* Used keystream where the new entry goes is overwritten by its keystream, in a
	 * moment (fill) or by the thread that makes it (reserve); the rest is zeroed now. */
	scrub_outside(r, off, HVC_TAG_LEN + len);
	struct hvc_ks_entry *e = nth(r, r->count);
	e->seq = seq;
	e->epoch = epoch;
	e->off = off;
	e->len = len;
	e->size = need;
	e->pending = 1;
	r->count++;
	*mem = r->mem + off;
	return HVC_OK;
}

int hvc_ks_ring_complete(struct hvc_ks_ring *r, uint32_t epoch, uint64_t seq)
{
	for (unsigned i = 0; i < r->count; i++) {
		struct hvc_ks_entry *e = nth(r, i);
		if (e->pending && e->epoch == epoch && e->seq == seq) {
			e->pending = 0;
			return HVC_OK;
		}
	}
	return HVC_E_STATE;
}

int hvc_ks_ring_fill(struct hvc_ks_ring *r, const struct hvc_gcm_key *key, const uint8_t salt[12], uint32_t epoch,
		     uint64_t seq, size_t len)
{
	uint8_t nonce[12], *mem;
	int rc = hvc_ks_ring_reserve(r, epoch, seq, len, &mem);
	if (rc != HVC_OK)
		return rc;
	hvc_frame_nonce(salt, seq, nonce);
	/* Counter 1 is the tag mask, counters 2.. the data keystream: one contiguous run. */
	hvc_gcm_keystream(key, nonce, 1, mem, HVC_TAG_LEN + len);
	nth(r, r->count - 1)->pending = 0;
	return HVC_OK;
}

void hvc_ks_ring_scrub(struct hvc_ks_ring *r)
{
	for (unsigned i = 0; i < r->ndirty; i++)
		hvc_zero_stream(r->mem + r->dirty[i].off, r->dirty[i].size);
	r->ndirty = 0;
}

/* Zeroes used keystream except [off, off+len), which a fill has just overwritten with
 * new keystream: zeroing it first would cost a second pass over memory (and evict the
 * lines the fill then has to bring back), and the old keystream is gone either way. */
static void scrub_outside(struct hvc_ks_ring *r, size_t off, size_t len)
{
	size_t end = off + len;
	for (unsigned i = 0; i < r->ndirty; i++) {
		size_t a = r->dirty[i].off, b = a + r->dirty[i].size;
		if (b <= off || a >= end) {
			hvc_zero_stream(r->mem + a, b - a);
			continue;
		}
		if (a < off)
			hvc_zero_stream(r->mem + a, off - a);
		if (b > end)
			hvc_zero_stream(r->mem + end, b - end);
	}
	r->ndirty = 0;
}

void hvc_ks_ring_pop(struct hvc_ks_ring *r)
{
	if (!r->count || nth(r, 0)->pending)
		return;
	struct hvc_ks_entry *e = nth(r, 0);
	if (r->ndirty == HVC_KS_MAX_ENTRIES)
		hvc_ks_ring_scrub(r);
	r->dirty[r->ndirty].off = e->off;
	r->dirty[r->ndirty].size = e->size;
	r->ndirty++;
	r->first = (r->first + 1) % HVC_KS_MAX_ENTRIES;
	r->count--;
}

const uint8_t *hvc_ks_ring_peek(struct hvc_ks_ring *r, uint32_t epoch, uint64_t seq, size_t len)
{
	while (r->count) {
		struct hvc_ks_entry *e = nth(r, 0);
		if (e->pending)
			return NULL; /* not made yet; its memory is in use until completed */
		if (e->epoch == epoch && e->seq == seq) {
			if (e->len >= len)
				return r->mem + e->off;
			hvc_ks_ring_pop(r); /* too short for this frame: it can never be used */
			return NULL;
		}
		if (e->epoch == epoch && e->seq > seq)
			return NULL;
		hvc_ks_ring_pop(r); /* stale: older seq or older epoch */
	}
	return NULL;
}

uint64_t hvc_ks_ring_next_seq(const struct hvc_ks_ring *r, uint32_t epoch, uint64_t from)
{
	if (!r->count)
		return from;
	const struct hvc_ks_entry *nw = &r->e[(r->first + r->count - 1) % HVC_KS_MAX_ENTRIES];
	if (nw->epoch != epoch || nw->seq + 1 < from)
		return from;
	return nw->seq + 1;
}

unsigned hvc_ks_ring_count(const struct hvc_ks_ring *r) { return r->count; }

unsigned hvc_ks_ring_ready(const struct hvc_ks_ring *r)
{
	unsigned n = 0;
	for (unsigned i = 0; i < r->count; i++)
		n += !r->e[(r->first + i) % HVC_KS_MAX_ENTRIES].pending;
	return n;
}

size_t hvc_ks_ring_bytes(const struct hvc_ks_ring *r)
{
	size_t n = 0;
	for (unsigned i = 0; i < r->count; i++)
		n += r->e[(r->first + i) % HVC_KS_MAX_ENTRIES].len;
	return n;
}

void hvc_ks_ring_drop_stale(struct hvc_ks_ring *r, uint32_t epoch, uint64_t seq)
{
	while (r->count) {
		struct hvc_ks_entry *e = nth(r, 0);
		if (e->pending || (e->epoch == epoch && e->seq >= seq))
			return;
		hvc_ks_ring_pop(r);
	}
}

void hvc_ks_ring_wipe(struct hvc_ks_ring *r)
{
	size_t from = 0;
	while (r->mem && from < r->cap) {
		/* the lowest pending entry at or above from, if any */
		size_t lo = r->cap, hi = r->cap;
		for (unsigned i = 0; i < r->count; i++) {
			struct hvc_ks_entry *e = nth(r, i);
			if (e->pending && e->off >= from && e->off < lo) {
				lo = e->off;
				hi = e->off + e->size;
			}
		}
		hvc_zero(r->mem + from, lo - from);
		from = hi;
	}
	r->first = 0;
	r->count = 0;
	r->ndirty = 0;
}
