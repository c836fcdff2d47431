/* Per-migration statistics, and their one-line machine-readable form (MIGSTAT ...). */
#ifndef HV_MIG_STATS_H
#define HV_MIG_STATS_H
#include <stddef.h>
#include <stdint.h>

#define MIG_STATS_ROUNDS   32 /* rounds recorded individually; later ones only in totals */
#define MIG_STATS_LINE_MAX 1664

struct mig_round_rec {
	uint64_t pages, bytes, zero, dirtied, ns;
};

struct mig_stats {
	uint64_t mig_id;
	int role;   /* 0 source, 1 destination */
	int result; /* MIG_DONE or the MIG_E_* that ended it */
	int detail; /* lower-layer code (channel error, peer's ABORT reason) */
	int encrypted;
	uint32_t rounds;
	struct mig_round_rec r[MIG_STATS_ROUNDS];
	uint64_t pages, zero_pages, bytes; /* page transfers, zero markers, wire payload bytes */
	uint64_t final_pages;		   /* sent while paused */
	uint64_t state_bytes;
	uint64_t dirty_pps, bw_Bps; /* last estimates */
	uint64_t total_ns, predicted_ns, downtime_ns, target_ns;
	/* where the downtime went: pause -> STATE handed to the link, -> READY, -> CONFIRM */
	uint64_t dt_copy_ns, dt_ready_ns, dt_confirm_ns;
	uint64_t drain_ns; /* before the pause: waiting for the destination to apply all sent */
	unsigned throttle_pct;
	int forced_stop;	/* stopped at the round limit over target */
	uint32_t stop_prepared; /* frames with keystream ready at the pause */
	const char *fail_state;
	/* the hypervisor's own cost (0 where not measured, e.g. migsim): cycles its migration
	 * path was busy (engine, channel, TCP stream, NIC driver; waiting not counted) and
	 * the TCP payload bytes it sent (source) or received (destination) */
	uint64_t busy_cycles, wire_bytes;
};

/* Formats "MIGSTAT k=v ..." (no newline). Returns the length hv_snprintf would write. */
int mig_stats_format(const struct mig_stats *st, char *buf, size_t len);
#endif
