/* In-process fakes for the engine tests: a guest whose "vCPU" writes pages when ticked,
 * a message link with a byte budget per tick and injectable faults, a manual clock. */
#ifndef MIG_TEST_FAKES_H
#define MIG_TEST_FAKES_H
#include <stddef.h>
#include <stdint.h>
#include "mig.h"

struct fake_guest {
	uint64_t npages;
	uint8_t *mem;
	uint64_t *dirty;
	uint8_t state[512];
	size_t state_len;
	int paused, running, prepared, scrubbed, resumed, loaded;
	unsigned throttle;
	uint64_t writes_per_tick, seq, rng;
	uint8_t *snap; /* memory at the moment of pause (source) */
	int fail_pause, fail_save, fail_resume, fail_load, fail_prepare, scrub_leaves_junk;
	int resume_calls;
};

void fg_init(struct fake_guest *g, uint64_t npages, int source, uint64_t seed);
void fg_free(struct fake_guest *g);
void fg_tick(struct fake_guest *g);
int fg_all_zero(const struct fake_guest *g);
struct mig_guest_ops fg_ops(struct fake_guest *g);

struct ml_queue {
	uint8_t *buf;
	size_t cap, head, tail; /* records: type(1) len(4) payload */
	long credit;
};

enum ml_fault { ML_NONE = 0, ML_CUT, ML_STALL, ML_KILL, ML_CORRUPT };

struct mem_link {
	struct ml_queue q[2]; /* q[0]: source -> dest, q[1]: dest -> source */
	long bw_per_tick;
	int cut, closed[2], stalled[2];
	int corrupt_next[2]; /* flip a byte in the next message sent by side i */
	uint64_t sent_msgs[2];
	/* as an encrypted channel: encrypted() says 1 (no checksum) and the source may gather
	 * a message's pages (sendv); the receiver's placement is walked either way (as the
	 * channel's over a lending transport) */
	int enc;
	uint64_t gathered_msgs, placed_bytes;
};
struct ml_end {
	struct mem_link *l;
	int side;
	/* the receiver's placement, walked like the channel does (hvc_channel_set_place) */
	uint8_t *(*where)(void *wctx, uint8_t type, const uint8_t *buf, size_t len, size_t off, size_t *n);
	void *wctx;
	int placed;
}; /* side 0 source, 1 dest */

void ml_init(struct mem_link *l, size_t cap, long bw_per_tick);
void ml_free(struct mem_link *l);
void ml_tick(struct mem_link *l);
struct mig_link ml_link(struct ml_end *e);

struct fake_clock {
	uint64_t now;
};
struct mig_clock fc_clock(struct fake_clock *c);
#endif
