/* Bounded FIFO of precomputed GCM keystream for upcoming sequence numbers, so that
 * sending/receiving a frame whose keystream is ready is only XOR + GHASH + tag. */
#ifndef HVC_KEYSTREAM_RING_H
#define HVC_KEYSTREAM_RING_H
#include <stddef.h>
#include <stdint.h>
#include "gcm_dispatch.h"

#define HVC_KS_MAX_ENTRIES 8

struct hvc_ks_entry {
	uint64_t seq;
	uint32_t epoch;
	size_t off;  /* into mem, 64-byte aligned */
	size_t len;  /* data keystream bytes; the 16-byte tag mask E(J0) comes first */
	size_t size; /* bytes reserved */
	int pending; /* reserved, its keystream still being made by another thread */
};

struct hvc_ks_ring {
	uint8_t *mem;
	size_t cap;
	struct hvc_ks_entry e[HVC_KS_MAX_ENTRIES];
	unsigned first, count;
	/* used keystream not yet zeroed: scrubbed off the critical path (next fill/scrub) */
	struct {
		size_t off, size;
	} dirty[HVC_KS_MAX_ENTRIES];
	unsigned ndirty;
};

void hvc_ks_ring_init(struct hvc_ks_ring *r, uint8_t *mem, size_t cap);
/* Computes E(J0) || keystream(len) for (epoch, seq) under key/salt at the tail.
 * HVC_AGAIN when there is no room (entries or bytes). Sequence numbers must increase.
 * Afterwards no used keystream is left: the new entry overwrote it or it was zeroed. */
int hvc_ks_ring_fill(struct hvc_ks_ring *r, const struct hvc_gcm_key *key, const uint8_t salt[12], uint32_t epoch,
		     uint64_t seq, size_t len);
/* Like fill, but leaves the keystream to be made elsewhere (another thread) into *mem,
 * 16 + len bytes; the entry is unusable until hvc_ks_ring_complete. */
int hvc_ks_ring_reserve(struct hvc_ks_ring *r, uint32_t epoch, uint64_t seq, size_t len, uint8_t **mem);
/* Marks a reserved entry's keystream as made. HVC_E_STATE when the ring no longer holds
 * it (wiped meanwhile): the caller must then zero what was written. */
int hvc_ks_ring_complete(struct hvc_ks_ring *r, uint32_t epoch, uint64_t seq);
/* Drops entries older than (epoch, seq), but never one still pending; returns the keystream (mask first) for exactly
 * that frame when it holds at least len bytes, else NULL (dropping a too-short entry). */
const uint8_t *hvc_ks_ring_peek(struct hvc_ks_ring *r, uint32_t epoch, uint64_t seq, size_t len);
/* Frees the oldest entry (after peek succeeded and its keystream was used). Its bytes
 * are zeroed by the next hvc_ks_ring_scrub/fill, not here on the critical path. */
void hvc_ks_ring_pop(struct hvc_ks_ring *r);
/* Drops the ready entries at the head older than (epoch, seq): keystream a job made
 * after its frame had gone without it. Their bytes are zeroed by the next scrub/fill. */
void hvc_ks_ring_drop_stale(struct hvc_ks_ring *r, uint32_t epoch, uint64_t seq);
/* Zeroes the keystream of entries already used or dropped. */
void hvc_ks_ring_scrub(struct hvc_ks_ring *r);
/* Sequence number after the newest entry of this epoch, or from when there is none. */
uint64_t hvc_ks_ring_next_seq(const struct hvc_ks_ring *r, uint32_t epoch, uint64_t from);
unsigned hvc_ks_ring_count(const struct hvc_ks_ring *r);
/* Entries whose keystream is made (not pending). */
unsigned hvc_ks_ring_ready(const struct hvc_ks_ring *r);
/* Keystream bytes held for frames not yet sent or received. */
size_t hvc_ks_ring_bytes(const struct hvc_ks_ring *r);
/* Zeroes all keystream and forgets every entry (rekey, error, teardown). The bytes of
 * pending entries are left to whoever returns their job (another thread may still be
 * writing them): hvc_channel_ks_job_done zeroes them. */
void hvc_ks_ring_wipe(struct hvc_ks_ring *r);
#endif
