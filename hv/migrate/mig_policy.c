/* Convergence decision. Integer-only (the hypervisor has no FPU context for us) and
 * free of 128-bit division (no libgcc in the freestanding build). */
#include "mig_policy.h"

void mig_policy_init(struct mig_policy *p, const struct mig_policy_cfg *cfg)
{
	struct mig_policy_cfg c = *cfg;
	if (!c.downtime_target_ns)
		c.downtime_target_ns = MIG_DOWNTIME_DEFAULT_NS;
	if (!c.max_rounds)
		c.max_rounds = 30;
	if (!c.outrun_ratio_pct)
		c.outrun_ratio_pct = 90;
	if (!c.outrun_rounds)
		c.outrun_rounds = 2;
	if (!c.throttle_step_pct)
		c.throttle_step_pct = 20;
	if (!c.throttle_max_pct || c.throttle_max_pct > 99)
		c.throttle_max_pct = 95;
	if (!c.fixed_ns)
		c.fixed_ns = 2000000ull;
	if (!c.state_bytes)
		c.state_bytes = 16384;
	if (!c.refine_min_ns)
		c.refine_min_ns = c.downtime_target_ns / 100u;
	p->cfg = c;
	p->bw_Bps = 0;
	p->dirty_pps = 0;
	p->predicted_ns = 0;
	p->prev_predicted_ns = 0;
	p->rounds = 0;
	p->streak = 0;
	p->throttle_pct = 0;
	p->refine_rounds = 0;
}

void mig_policy_set(struct mig_policy *p, uint64_t downtime_target_ns, int outrun_abort)
{
	if (downtime_target_ns) {
		/* the refinement threshold follows the target unless it was set on its own */
		if (p->cfg.refine_min_ns == p->cfg.downtime_target_ns / 100u)
			p->cfg.refine_min_ns = downtime_target_ns / 100u;
		p->cfg.downtime_target_ns = downtime_target_ns;
	}
	if (outrun_abort >= 0)
		p->cfg.outrun_abort = (uint32_t)outrun_abort;
}

/* bytes per second from bytes over ns, microsecond resolution: no overflow below 16 TB. */
static uint64_t rate(uint64_t amount, uint64_t ns)
{
	uint64_t us = ns / 1000u;
	if (!us)
		us = 1;
	return amount * 1000000u / us;
}

uint64_t mig_policy_predict(const struct mig_policy *p, uint64_t pages, uint64_t pending, uint64_t rtt_ns)
{
	uint64_t bytes = pages * MIG_WIRE_PAGE_BYTES + pending + p->cfg.state_bytes + 64u;
	uint64_t bw = p->bw_Bps ? p->bw_Bps : 1;
	/* Two round trips after the data: STATE -> READY and COMMIT -> CONFIRM. */
	return bytes * 1000000u / bw * 1000u + 2 * rtt_ns + p->cfg.fixed_ns;
}

enum mig_decision mig_policy_round(struct mig_policy *p, const struct mig_round_sample *s)
{
	uint64_t bw = rate(s->bytes, s->dur_ns);
	/* Small rounds measure mostly buffering, so they move the estimate less; a
	 * round that sent almost nothing measures nothing at all (the link was
	 * idle, not slow) and must not drag the estimate toward zero. */
	if (!p->bw_Bps)
		p->bw_Bps = bw;
	else if (s->bytes < 16u * MIG_WIRE_PAGE_BYTES)
		; /* keep the estimate */
	else if (s->bytes < (4u << 20))
		p->bw_Bps = (3 * p->bw_Bps + bw) / 4;
	else
		p->bw_Bps = (p->bw_Bps + bw) / 2;
	if (!p->bw_Bps)
		p->bw_Bps = 1;
	p->dirty_pps = rate(s->dirtied, s->dur_ns);
	p->rounds++;
	p->prev_predicted_ns = p->predicted_ns;
	p->predicted_ns = mig_policy_predict(p, s->dirtied, s->pending, s->rtt_ns);
	if (p->predicted_ns <= p->cfg.downtime_target_ns) {
		/* Within target. One more round still pays when it would at least halve the
		 * downtime: it resends the dirty set (taking about the predicted data time)
		 * while the guest dirties at its measured rate, bounded by the set it just
		 * dirtied in a longer round. Stopping at the first prediction under the
		 * target (as QEMU does) leaves a downtime near the target for a busy guest. */
		uint64_t fixed = 2 * s->rtt_ns + p->cfg.fixed_ns;
		uint64_t t_next = p->predicted_ns > fixed ? p->predicted_ns - fixed : 0;
		uint64_t next_pages = p->dirty_pps * (t_next / 1000u) / 1000000u;
		if (next_pages > s->dirtied)
			next_pages = s->dirtied;
		uint64_t next = mig_policy_predict(p, next_pages, 0, s->rtt_ns);
		/* ...and saves more than a sliver of the target: a round costs total time, and
		 * a millisecond of a 300 ms budget is not worth it. */
		if (p->refine_rounds < MIG_REFINE_ROUNDS_MAX && p->rounds < p->cfg.max_rounds &&
		    2 * next <= p->predicted_ns && p->predicted_ns - next >= p->cfg.refine_min_ns) {
			p->refine_rounds++;
			return MIG_DEC_CONTINUE;
		}
		return MIG_DEC_STOP;
	}
	if (p->rounds >= p->cfg.max_rounds)
		return p->cfg.outrun_abort ? MIG_DEC_ABORT : MIG_DEC_FORCE_STOP;
	uint64_t dirty_Bps = p->dirty_pps * MIG_WIRE_PAGE_BYTES;
	/* Outrun: the guest dirties nearly as fast as the link drains, or a round leaves
	 * nearly as much to send as it sent (the working set is not shrinking). */
	/* Slow convergence is as bad as none: the rounds needed grow as 1/log(1/ratio). */
	int slow = p->prev_predicted_ns && p->predicted_ns / 3u > p->prev_predicted_ns / 4u;
	if (dirty_Bps / 100u * 100u >= p->bw_Bps / 100u * p->cfg.outrun_ratio_pct ||
	    s->dirtied * 100u >= s->pages * p->cfg.outrun_ratio_pct || slow)
		p->streak++;
	else
		p->streak = 0;
	if (p->streak < p->cfg.outrun_rounds)
		return MIG_DEC_CONTINUE;
	if (p->cfg.outrun_abort)
		return MIG_DEC_ABORT;
	if (p->throttle_pct >= p->cfg.throttle_max_pct)
		return MIG_DEC_CONTINUE; /* already at the maximum: the round limit bounds us */
	p->throttle_pct += p->cfg.throttle_step_pct;
	if (p->throttle_pct > p->cfg.throttle_max_pct)
		p->throttle_pct = p->cfg.throttle_max_pct;
	/* Let the new share show in one round's measurement before judging again. */
	p->streak = p->cfg.outrun_rounds - 1;
	return MIG_DEC_THROTTLE;
}

const char *mig_decision_name(enum mig_decision d)
{
	switch (d) {
	case MIG_DEC_CONTINUE: return "continue";
	case MIG_DEC_STOP: return "stop";
	case MIG_DEC_THROTTLE: return "throttle";
	case MIG_DEC_ABORT: return "abort";
	case MIG_DEC_FORCE_STOP: return "force-stop";
	}
	return "?";
}
