/* The admission guard against thrashing: one migration per guest, a token bucket per peer for
 * incoming requests, exponential backoff after failed handshakes, bounded retries. */
#ifndef HV_MIG_GUARD_H
#define HV_MIG_GUARD_H
#include <stddef.h>
#include <stdint.h>

#define MIG_GUARD_PEERS	 32
#define MIG_GUARD_GUESTS 16

struct mig_guard_cfg {
	uint32_t burst;		  /* requests a peer may make at once; 0: 3 */
	uint64_t refill_ns;	  /* one more request allowed per this interval; 0: 10 s */
	uint64_t backoff_base_ns; /* after the first failed handshake; 0: 1 s */
	uint64_t backoff_max_ns;  /* doubling stops here; 0: 5 min */
	uint32_t max_retries;	  /* outgoing attempts after the first (0: none) */
};

struct mig_guard_counters {
	uint64_t requests, admitted, rate_limited, backoff_refused, busy_refused, table_full;
	uint64_t hs_ok, hs_failed, retries, retries_exhausted;
	uint64_t started, completed, failed, stalled, aborted_outrun, in_doubt;
};

struct mig_peer_slot {
	uint64_t peer; /* address (IPv4 in the low 32 bits) or any stable id */
	uint64_t last_refill, backoff_until, last_seen;
	uint32_t tokens, fails;
	int used;
};

struct mig_guard {
	struct mig_guard_cfg cfg;
	struct mig_peer_slot peers[MIG_GUARD_PEERS];
	uint64_t busy[MIG_GUARD_GUESTS]; /* guest ids with a migration under way */
	int busy_used[MIG_GUARD_GUESTS];
	struct mig_guard_counters c;
};

void mig_guard_init(struct mig_guard *g, const struct mig_guard_cfg *cfg);
/* Incoming connection from peer: MIG_OK, MIG_E_BACKOFF, MIG_E_RATE_LIMITED, MIG_E_PEER_TABLE. */
int mig_guard_admit(struct mig_guard *g, uint64_t peer, uint64_t now_ns);
/* Handshake outcome with peer (either direction): failures double the backoff. */
void mig_guard_handshake(struct mig_guard *g, uint64_t peer, int ok, uint64_t now_ns);
/* Outgoing: may we (re)try peer now? attempt counts from 0. MIG_OK, MIG_E_BACKOFF with
 * *wait_ns set, or MIG_E_RETRIES. */
int mig_guard_may_connect(struct mig_guard *g, uint64_t peer, uint32_t attempt, uint64_t now_ns, uint64_t *wait_ns);
/* One migration per guest: MIG_OK or MIG_E_BUSY (also MIG_E_PEER_TABLE when full). */
int mig_guard_begin(struct mig_guard *g, uint64_t guest_id);
/* Ends it and counts the outcome (MIG_DONE or a MIG_E_* code). */
void mig_guard_end(struct mig_guard *g, uint64_t guest_id, int result);
int mig_guard_format(const struct mig_guard *g, char *buf, size_t len);
#endif
