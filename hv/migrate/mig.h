/* Public API of the live-migration engine: step-based, non-blocking pre-copy with a
 * two-phase handoff. Same code in the hypervisor (freestanding) and in tools/migsim. */
#ifndef HV_MIG_H
#define HV_MIG_H
#include <stddef.h>
#include <stdint.h>
#include "mig_err.h"
#include "mig_policy.h"
#include "mig_stats.h"

#define MIG_PAGE_SIZE		 4096u
#define MIG_STATE_MAX		 (16u * 1024u) /* opaque vCPU + device state blob */
#define MIG_BATCH_MAX		 256u	       /* pages per PAGES message, hard limit */
#define MIG_BATCH_DEFAULT	 64u
#define MIG_BATCH_MIN_SEND	 8u /* a smaller batch is sent only when the round ends */
#define MIG_PAGES_HDR		 16u
#define MIG_STATE_HDR		 32u
#define MIG_PAGES_MSG_MAX(batch) (MIG_PAGES_HDR + (size_t)(batch) * (8u + MIG_PAGE_SIZE))
#define MIG_STATE_MSG_MAX	 (MIG_STATE_HDR + MIG_STATE_MAX)
/* Both engines need one message buffer of this size (tx on the source, rx on the dest). */
#define MIG_MSG_BUF_SIZE(batch)                                                                                        \
	(MIG_PAGES_MSG_MAX(batch) > MIG_STATE_MSG_MAX ? MIG_PAGES_MSG_MAX(batch) : MIG_STATE_MSG_MAX)
#define MIG_BITMAP_WORDS(npages) (((npages) + 63u) / 64u)
#define MIG_DEFAULT_STALL_NS	 (10ull * 1000000000ull)
#define MIG_PROGRESS_EVERY	 8u    /* dest acknowledges every this many PAGES messages */
#define MIG_DEST_MAX_ROUNDS	 1000u /* dest gives up on a source that never stops */
/* ... and on one that sends the guest's memory more often than this in all: a source's
 * own round limit (30 by default) plus the final round's two copies stay well under it,
 * and it bounds the bytes a peer can make us take for a guest of the announced size. */
#define MIG_DEST_MAX_COPIES	 64u

/* What the engine needs from the hypervisor (or the simulator) about one guest.
 * Callbacks return MIG_OK or a negative value; the engine maps failures to its own codes. */
struct mig_guest_ops {
	void *ctx;
	uint64_t npages; /* guest RAM pages, GPA 0 .. npages * 4 KiB */
	/* source */
	const void *(*page_ro)(void *ctx, uint64_t pfn);
	/* Overwrites out (MIG_BITMAP_WORDS(npages) words) with the pages written since the
	 * previous call and restarts tracking (dirty.h: dirty_collect). Returns the count. */
	uint64_t (*dirty_collect)(void *ctx, uint64_t *out);
	int (*pause)(void *ctx);		  /* returns once the vCPU cannot run (no further writes) */
	int (*resume)(void *ctx);		  /* source: after a failure before COMMIT; dest: on COMMIT */
	int (*throttle)(void *ctx, unsigned pct); /* share of the vCPU's time slices withheld */
	int (*save_state)(void *ctx, void *buf, size_t cap, size_t *len);
	/* destination */
	int (*prepare)(void *ctx, uint64_t npages, uint32_t page_size); /* zeroed RAM ready */
	/* May this side run a guest that saw CPUID profile cpuid_id and was told a TSC rate
	 * of tsc_khz (0: no such dependency)? MIG_OK, or MIG_E_PROFILE. NULL: any. */
	int (*check_profile)(void *ctx, uint32_t cpuid_id, uint32_t tsc_khz, uint32_t ann_flags);
	void *(*page_rw)(void *ctx, uint64_t pfn);
	int (*load_state)(void *ctx, const void *buf, size_t len);
	/* both: zero all guest RAM and state, then check every byte reads back zero */
	int (*scrub)(void *ctx);
};

struct mig_clock {
	void *ctx;
	uint64_t (*now_ns)(void *ctx); /* monotonic */
};

/* A message link: typed messages over the secure channel (mig_link_hvc.h) or, in tests,
 * anything else. Never blocks. */
struct mig_link {
	void *ctx;
	int (*handshake)(void *ctx);   /* MIG_OK when established, MIG_AGAIN, <0; NULL: none */
	size_t (*writable)(void *ctx); /* largest payload send() accepts now without blocking */
	size_t (*pending)(void *ctx);  /* bytes queued, not yet on the wire (NULL: 0) */
	int (*send)(void *ctx, uint8_t type, const void *buf, size_t len);
	/* MIG_OK with one message, MIG_AGAIN when none is complete, <0 on failure. Called with
	 * the same buffer until it returns something other than MIG_AGAIN. */
	int (*recv)(void *ctx, uint8_t *type, void *buf, size_t cap, size_t *len);
	int (*encrypted)(void *ctx); /* 1 when the channel negotiated encryption */
	int (*detail)(void *ctx);    /* lower layer's code for the last failure, or 0 */
	/* Called once, just before the guest is paused for the stop-and-copy, with the bytes
	 * that will follow: work that can be done now instead of in the downtime (the
	 * channel makes keystream for the frames to come). Returns how many frames are
	 * ready for it (made now or earlier). NULL: nothing to prepare. */
	int (*prepare_stop)(void *ctx, uint64_t bytes);
	/* Optional (NULL: the engine stages pages in its message buffer): send() of head
	 * followed by npages pages of MIG_PAGE_SIZE bytes read from where they lie, once. */
	int (*sendv)(void *ctx, uint8_t type, const void *head, size_t head_len, const void *const *pages,
		     unsigned npages);
	/* Optional, destination: where the plaintext of a message being received may be
	 * written instead of the receive buffer (the engine puts PAGES data straight into
	 * the guest's pages), and whether the message recv() just returned was placed so.
	 * See hvc_channel_set_place. */
	void (*set_place)(void *ctx,
			  uint8_t *(*where)(void *wctx, uint8_t type, const uint8_t *buf, size_t len, size_t off,
					    size_t *n),
			  void *wctx);
	int (*placed)(void *ctx);
};

enum mig_outrun { MIG_OUTRUN_THROTTLE = 0, MIG_OUTRUN_ABORT = 1 };

struct mig_config {
	uint64_t mig_id; /* chosen by the source; echoed in every control message */
	uint64_t guest_id;
	/* source: what its guest depends on (announced; 0: nothing) */
	uint32_t cpuid_id, tsc_khz;
	int guest_apic;		   /* source: the guest has a local APIC (MIG_ANN_F_APIC) */
	uint64_t stall_timeout_ns; /* 0: MIG_DEFAULT_STALL_NS */
	uint32_t batch_pages;	   /* 0: MIG_BATCH_DEFAULT; at most MIG_BATCH_MAX */
	struct mig_policy_cfg policy;
};

/* Caller-provided memory: nothing is allocated by the engine. */
struct mig_buffers {
	uint64_t *bitmap; /* source: MIG_BITMAP_WORDS(npages) words */
	uint8_t *msg;	  /* MIG_MSG_BUF_SIZE(batch) bytes (source tx, dest rx) */
	size_t msg_len;
	uint8_t *state; /* MIG_STATE_MAX bytes */
	size_t state_len;
	uint8_t *ctl; /* dest: >= 64 bytes for control replies; source: rx of replies */
	size_t ctl_len;
};

enum mig_src_state {
	MIG_SRC_INIT = 0,
	MIG_SRC_HANDSHAKE,
	MIG_SRC_ANNOUNCE,
	MIG_SRC_WAIT_ACCEPT,
	MIG_SRC_PRECOPY,
	MIG_SRC_ROUND_END,
	MIG_SRC_STOP,
	MIG_SRC_FINAL,
	MIG_SRC_STATE,
	MIG_SRC_WAIT_READY,
	MIG_SRC_COMMIT,
	MIG_SRC_WAIT_CONFIRM,
	MIG_SRC_SCRUB,
	MIG_SRC_DONE,
	MIG_SRC_FAILED,	  /* guest runs on the source again */
	MIG_SRC_IN_DOUBT, /* COMMIT sent, no confirmation: guest paused here, see docs */
	MIG_SRC_NSTATES
};

enum mig_dst_state {
	MIG_DST_INIT = 0,
	MIG_DST_HANDSHAKE,
	MIG_DST_WAIT_ANNOUNCE,
	MIG_DST_ACCEPT,
	MIG_DST_RECEIVE,
	MIG_DST_READY,
	MIG_DST_WAIT_COMMIT,
	MIG_DST_RESUME,
	MIG_DST_CONFIRM,
	MIG_DST_DONE,
	MIG_DST_FAILED, /* everything received scrubbed */
	MIG_DST_NSTATES
};

/* Caller-allocated (static in the hypervisor); fields are private. */
struct mig_source {
	enum mig_src_state st;
	struct mig_config cfg;
	struct mig_guest_ops g;
	struct mig_link link;
	struct mig_clock clk;
	struct mig_buffers b;
	struct mig_policy pol;
	struct mig_stats stats;
	uint32_t batch;
	uint32_t round;
	uint64_t cursor; /* next pfn to look at in this round */
	uint64_t left;	 /* pages still set in the bitmap */
	uint64_t round_start_ns, round_pages, round_bytes, round_zero, round_pending0;
	uint64_t sent_pages; /* page transfers, all rounds */
	uint64_t last_pending;
	uint64_t acked_pages;
	uint64_t t_start, t_pause, t_last_io, t_announce;
	uint64_t rtt_ns; /* smallest request/reply time seen on this link */
	/* When each recent PAGES message left: a PROGRESS acknowledging exactly
	 * that many pages gives another round-trip sample. */
	uint64_t rtt_mark_pages[16], rtt_mark_ns[16];
	unsigned rtt_mark_next;
	unsigned throttle_pct;
	int paused, forced_stop, final_pass, err, detail, stop_prepared;
	int drain_started, drained; /* waiting for the destination to catch up before the pause */
	uint64_t drain_t0;
	uint8_t ent_zero[MIG_BATCH_MAX];
	uint64_t ent_pfn[MIG_BATCH_MAX];
	const void *ent_pg[MIG_BATCH_MAX]; /* a gathered message's data pages, in the guest */
};

struct mig_dest {
	enum mig_dst_state st;
	struct mig_config cfg;
	struct mig_guest_ops g;
	struct mig_link link;
	struct mig_clock clk;
	struct mig_buffers b;
	struct mig_stats stats;
	uint64_t npages;
	uint32_t batch, round, msgs_since_ack;
	uint64_t applied_pages;
	uint64_t round_pages; /* page transfers in this round (bounded: see on_pages) */
	uint64_t total_pages; /* ... and in the whole migration */
	uint64_t t_start, t_stop, t_last_io;
	int prepared, err, detail, have_stop, csum;
	uint8_t pending_type; /* control reply waiting for room */
	size_t pending_len;
	/* the PAGES message being received: data pages written straight into the guest by
	 * the link's placement so far (the first place_done of them), and where the search
	 * for the next data entry goes on */
	uint32_t place_done, place_ent;
};

/* Source: cfg->mig_id should be unpredictable and unique per attempt. */
int mig_source_init(struct mig_source *s, const struct mig_config *cfg, const struct mig_guest_ops *g,
		    const struct mig_link *l, const struct mig_clock *c, const struct mig_buffers *b);
/* One bounded unit of work. MIG_AGAIN: made progress, call soon; MIG_BLOCKED: waiting on the
 * link or the peer; MIG_DONE: guest now runs on the destination and is scrubbed here;
 * <0: failed (see mig_source_state: FAILED = guest runs here, IN_DOUBT = paused here). */
int mig_source_step(struct mig_source *s);
/* Local cancel (operator): only before COMMIT; the guest keeps running here. */
int mig_source_cancel(struct mig_source *s);
/* Live parameters: a new downtime target (ns, 0: keep) and outrun behaviour (<0: keep),
 * applied at the next decision (round end). MIG_E_STATE once the guest is paused: the
 * stop was decided. */
int mig_source_set_policy(struct mig_source *s, uint64_t downtime_target_ns, int outrun_abort);
/* After IN_DOUBT, the operator (who has asked the destination) decides: resume here
 * (destination confirmed it holds nothing) or scrub here (destination runs the guest). */
int mig_source_resolve(struct mig_source *s, int resume_here);
enum mig_src_state mig_source_state(const struct mig_source *s);

int mig_dest_init(struct mig_dest *d, const struct mig_config *cfg, const struct mig_guest_ops *g,
		  const struct mig_link *l, const struct mig_clock *c, const struct mig_buffers *b);
/* MIG_DONE: the guest runs here. <0: failed and scrubbed (or MIG_E_SCRUB if that failed). */
int mig_dest_step(struct mig_dest *d);
int mig_dest_cancel(struct mig_dest *d);
enum mig_dst_state mig_dest_state(const struct mig_dest *d);

const char *mig_src_state_name(enum mig_src_state s);
const char *mig_dst_state_name(enum mig_dst_state s);
#endif
