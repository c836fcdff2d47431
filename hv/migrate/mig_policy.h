/* Convergence policy: from measured bandwidth and dirty rate, predict the stop-and-copy
 * downtime and decide after each pre-copy round: go on, stop, throttle or abort. */
#ifndef HV_MIG_POLICY_H
#define HV_MIG_POLICY_H
#include <stdint.h>

#define MIG_DOWNTIME_DEFAULT_NS (300ull * 1000000ull)
#define MIG_WIRE_PAGE_BYTES	(4096u + 8u) /* a data page and its entry */

struct mig_policy_cfg {
	uint64_t downtime_target_ns; /* 0: 300 ms */
	uint32_t max_rounds;	     /* 0: 30; then abort, or stop anyway when throttling */
	uint32_t outrun_abort;	     /* 0: throttle the vCPU; 1: abort, guest stays here */
	uint32_t outrun_ratio_pct;   /* dirty rate >= this % of bandwidth = outrun; 0: 90.
	                              * A round that cuts the predicted downtime by less than
	                              * a quarter counts as an outrun too. */
	uint32_t outrun_rounds;	     /* consecutive outrun rounds before acting; 0: 2 */
	uint32_t throttle_step_pct;  /* 0: 20 */
	uint32_t throttle_max_pct;   /* 0: 95 */
	uint64_t fixed_ns;	     /* pause + state save/load + scheduling; 0: 2 ms */
	uint64_t refine_min_ns;	     /* a round within target must save at least this much
	                              * downtime; 0: 1 % of the target */
	uint32_t state_bytes;	     /* expected state size; 0: 16 KiB */
};

struct mig_round_sample {
	uint64_t dur_ns;  /* round start to round end */
	uint64_t bytes;	  /* bytes that left the link's queue in this round */
	uint64_t pages;	  /* pages sent in this round */
	uint64_t dirtied; /* pages dirtied during the round (to send next) */
	uint64_t pending; /* bytes still queued in the link at round end */
	uint64_t rtt_ns;  /* measured request/reply time on this link */
};

enum mig_decision {
	MIG_DEC_CONTINUE = 0,
	MIG_DEC_STOP = 1,	/* predicted downtime within target, and another round
	                         * would not halve it */
	MIG_DEC_THROTTLE = 2,	/* continue, with the vCPU throttled harder */
	MIG_DEC_ABORT = 3,	/* not converging; guest stays on the source */
	MIG_DEC_FORCE_STOP = 4, /* round limit while throttling: stop anyway, over target */
};

struct mig_policy {
	struct mig_policy_cfg cfg; /* defaults resolved */
	uint64_t bw_Bps;	   /* bandwidth estimate, bytes per second */
	uint64_t dirty_pps;	   /* last round's dirty rate, pages per second */
	uint64_t predicted_ns;	   /* prediction made at the last decision */
	uint64_t prev_predicted_ns;
	uint32_t rounds, streak;
	unsigned throttle_pct;
	uint32_t refine_rounds; /* rounds run after a prediction was already within target */
};

/* At most this many extra rounds to shrink a downtime already within target. */
#define MIG_REFINE_ROUNDS_MAX 4

void mig_policy_init(struct mig_policy *p, const struct mig_policy_cfg *cfg);
/* A new downtime target (0: keep) and outrun behaviour (<0: keep) for the decisions to
 * come, as QEMU's migrate_set_parameter: what was measured so far stays. */
void mig_policy_set(struct mig_policy *p, uint64_t downtime_target_ns, int outrun_abort);
/* Downtime for sending pages dirty pages plus pending queued bytes and the state. */
uint64_t mig_policy_predict(const struct mig_policy *p, uint64_t pages, uint64_t pending, uint64_t rtt_ns);
enum mig_decision mig_policy_round(struct mig_policy *p, const struct mig_round_sample *s);
const char *mig_decision_name(enum mig_decision d);
#endif
