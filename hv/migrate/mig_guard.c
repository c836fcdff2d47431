/* Per-peer token buckets and backoff, per-guest exclusivity. All decisions are by the
 * caller's clock so the same code runs in the hypervisor and in tests with a fake clock. */
#include "mig_guard.h"
#include "mig_err.h"
#include "hvlib.h"

void mig_guard_init(struct mig_guard *g, const struct mig_guard_cfg *cfg)
{
	memset(g, 0, sizeof(*g));
	g->cfg = *cfg;
	if (!g->cfg.burst)
		g->cfg.burst = 3;
	if (!g->cfg.refill_ns)
		g->cfg.refill_ns = 10ull * 1000000000ull;
	if (!g->cfg.backoff_base_ns)
		g->cfg.backoff_base_ns = 1000000000ull;
	if (!g->cfg.backoff_max_ns)
		g->cfg.backoff_max_ns = 300ull * 1000000000ull;
}

/* Finds or makes the slot for peer. A full table evicts the least recently seen peer
 * that is not backing off, so a flood of fresh addresses cannot wipe out a penalty. */
static struct mig_peer_slot *slot(struct mig_guard *g, uint64_t peer, uint64_t now)
{
	struct mig_peer_slot *victim = NULL;
	for (unsigned i = 0; i < MIG_GUARD_PEERS; i++) {
		struct mig_peer_slot *s = &g->peers[i];
		if (s->used && s->peer == peer)
			return s;
	}
	for (unsigned i = 0; i < MIG_GUARD_PEERS; i++) {
		struct mig_peer_slot *s = &g->peers[i];
		if (!s->used) {
			victim = s;
			break;
		}
		if (s->backoff_until > now)
			continue;
		if (!victim || s->last_seen < victim->last_seen)
			victim = s;
	}
	if (!victim)
		return NULL;
	memset(victim, 0, sizeof(*victim));
	victim->used = 1;
	victim->peer = peer;
	victim->tokens = g->cfg.burst;
	victim->last_refill = now;
	victim->last_seen = now;
	return victim;
}

static void refill(const struct mig_guard *g, struct mig_peer_slot *s, uint64_t now)
{
	if (now <= s->last_refill)
		return;
	uint64_t n = (now - s->last_refill) / g->cfg.refill_ns;
	if (!n)
		return;
	s->last_refill += n * g->cfg.refill_ns;
	if (n >= g->cfg.burst || s->tokens + n >= g->cfg.burst) {
		s->tokens = g->cfg.burst;
		s->last_refill = now;
	} else {
		s->tokens += (uint32_t)n;
	}
}

int mig_guard_admit(struct mig_guard *g, uint64_t peer, uint64_t now)
{
	g->c.requests++;
	struct mig_peer_slot *s = slot(g, peer, now);
	if (!s) {
		g->c.table_full++;
		return MIG_E_PEER_TABLE;
	}
	s->last_seen = now;
	if (s->backoff_until > now) {
		g->c.backoff_refused++;
		return MIG_E_BACKOFF;
	}
	refill(g, s, now);
	if (!s->tokens) {
		g->c.rate_limited++;
		return MIG_E_RATE_LIMITED;
	}
	s->tokens--;
	g->c.admitted++;
	return MIG_OK;
}

void mig_guard_handshake(struct mig_guard *g, uint64_t peer, int ok, uint64_t now)
{
	struct mig_peer_slot *s = slot(g, peer, now);
	if (ok) {
		g->c.hs_ok++;
		if (s)
			s->fails = 0;
		return;
	}
	g->c.hs_failed++;
	if (!s)
		return;
	uint64_t b = g->cfg.backoff_base_ns;
	for (uint32_t i = 0; i < s->fails && b < g->cfg.backoff_max_ns; i++)
		b *= 2;
	if (b > g->cfg.backoff_max_ns)
		b = g->cfg.backoff_max_ns;
	if (s->fails < 64)
		s->fails++;
	s->backoff_until = now + b;
}

int mig_guard_may_connect(struct mig_guard *g, uint64_t peer, uint32_t attempt, uint64_t now, uint64_t *wait_ns)
{
	*wait_ns = 0;
	if (attempt > g->cfg.max_retries) {
		g->c.retries_exhausted++;
		return MIG_E_RETRIES;
	}
	struct mig_peer_slot *s = slot(g, peer, now);
	if (s && s->backoff_until > now) {
		*wait_ns = s->backoff_until - now;
		return MIG_E_BACKOFF;
	}
	if (attempt)
		g->c.retries++;
	return MIG_OK;
}

int mig_guard_begin(struct mig_guard *g, uint64_t guest_id)
{
	int freeslot = -1;
	for (int i = 0; i < MIG_GUARD_GUESTS; i++) {
		if (g->busy_used[i] && g->busy[i] == guest_id) {
			g->c.busy_refused++;
			return MIG_E_BUSY;
		}
		if (!g->busy_used[i] && freeslot < 0)
			freeslot = i;
	}
	if (freeslot < 0) {
		g->c.table_full++;
		return MIG_E_PEER_TABLE;
	}
	g->busy_used[freeslot] = 1;
	g->busy[freeslot] = guest_id;
	g->c.started++;
	return MIG_OK;
}

void mig_guard_end(struct mig_guard *g, uint64_t guest_id, int result)
{
	for (int i = 0; i < MIG_GUARD_GUESTS; i++) {
		if (g->busy_used[i] && g->busy[i] == guest_id) {
			g->busy_used[i] = 0;
			break;
		}
	}
	if (result == MIG_DONE || result == MIG_OK)
		g->c.completed++;
	else
		g->c.failed++;
	if (result == MIG_E_TIMEOUT)
		g->c.stalled++;
	if (result == MIG_E_NOT_CONVERGING)
		g->c.aborted_outrun++;
	if (result == MIG_E_IN_DOUBT)
		g->c.in_doubt++;
}

int mig_guard_format(const struct mig_guard *g, char *buf, size_t len)
{
	const struct mig_guard_counters *c = &g->c;
	return hv_snprintf(
		buf, len,
		"MIGGUARD requests=%llu admitted=%llu rate_limited=%llu backoff_refused=%llu "
		"busy_refused=%llu table_full=%llu hs_ok=%llu hs_failed=%llu retries=%llu "
		"retries_exhausted=%llu started=%llu completed=%llu failed=%llu stalled=%llu "
		"aborted_outrun=%llu in_doubt=%llu",
		(unsigned long long)c->requests, (unsigned long long)c->admitted, (unsigned long long)c->rate_limited,
		(unsigned long long)c->backoff_refused, (unsigned long long)c->busy_refused,
		(unsigned long long)c->table_full, (unsigned long long)c->hs_ok, (unsigned long long)c->hs_failed,
		(unsigned long long)c->retries, (unsigned long long)c->retries_exhausted,
		(unsigned long long)c->started, (unsigned long long)c->completed, (unsigned long long)c->failed,
		(unsigned long long)c->stalled, (unsigned long long)c->aborted_outrun, (unsigned long long)c->in_doubt);
}
