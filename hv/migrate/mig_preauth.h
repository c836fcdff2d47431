/* Pre-authentication slots of the migration listener: connections that have not yet
 * proved the PSK wait here, each for a bounded time, one per address, the oldest evicted
 * for a newcomer, so unauthenticated hosts cannot hold the one incoming migration. */
#ifndef HV_MIG_PREAUTH_H
#define HV_MIG_PREAUTH_H
#include <stddef.h>
#include <stdint.h>

#define MIG_PREAUTH_SLOTS     3
/* A handshake is two round trips and two X25519 operations: milliseconds on a LAN (and
 * under Bochs); a peer that needs longer is not one we wait for. */
#define MIG_PREAUTH_BUDGET_NS (3000ull * 1000000ull)

struct mig_preauth_counters {
	uint64_t placed, evicted, replaced, expired, authenticated, failed;
};

struct mig_preauth {
	struct {
		uint64_t peer, t0;
		int used;
	} slot[MIG_PREAUTH_SLOTS];
	uint64_t budget_ns; /* 0: MIG_PREAUTH_BUDGET_NS */
	struct mig_preauth_counters c;
};

void mig_preauth_init(struct mig_preauth *t, uint64_t budget_ns);
/* A new connection from peer: the slot it gets. *evicted is the slot's previous holder
 * to drop first (-1: none): the same peer's older attempt, else a free slot, else the
 * oldest attempt. */
int mig_preauth_place(struct mig_preauth *t, uint64_t peer, uint64_t now_ns, int *evicted);
/* The slot's time is up (its connection is to be dropped). */
int mig_preauth_expired(const struct mig_preauth *t, int i, uint64_t now_ns);
/* The slot is free again: authenticated (ok = 1, moved on) or dropped (ok = 0). */
void mig_preauth_release(struct mig_preauth *t, int i, int ok);
/* Slots in use. */
unsigned mig_preauth_used(const struct mig_preauth *t);
int mig_preauth_format(const struct mig_preauth *t, char *buf, size_t len);
#endif
