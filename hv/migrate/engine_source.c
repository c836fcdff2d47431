/* Source side of a live migration: pre-copy rounds, stop-and-copy, COMMIT, scrub. */
#include "mig_engine.h"
#include "hvlib.h"

static const char *const src_names[MIG_SRC_NSTATES] = {
	"init",	 "handshake",  "announce", "wait-accept",  "precopy", "round-end", "stop",   "final",
	"state", "wait-ready", "commit",   "wait-confirm", "scrub",   "done",	   "failed", "in-doubt",
};

const char *mig_src_state_name(enum mig_src_state s) { return (unsigned)s < MIG_SRC_NSTATES ? src_names[s] : "?"; }

enum mig_src_state mig_source_state(const struct mig_source *s) { return s->st; }

int mig_source_init(struct mig_source *s, const struct mig_config *cfg, const struct mig_guest_ops *g,
		    const struct mig_link *l, const struct mig_clock *c, const struct mig_buffers *b)
{
	if (!s || !cfg || !g || !l || !c || !b || !c->now_ns || !l->writable || !l->send || !l->recv)
		return MIG_E_INVAL;
	if (!g->npages || !g->page_ro || !g->dirty_collect || !g->pause || !g->resume || !g->save_state || !g->scrub ||
	    (g->npages & ~MIG_PFN_MASK))
		return MIG_E_INVAL;
	uint32_t batch = cfg->batch_pages ? cfg->batch_pages : MIG_BATCH_DEFAULT;
	if (batch > MIG_BATCH_MAX)
		return MIG_E_INVAL;
	if (!b->bitmap || !b->msg || b->msg_len < MIG_MSG_BUF_SIZE(batch) || !b->state ||
	    b->state_len < MIG_STATE_MAX || !b->ctl || b->ctl_len < MIG_CTL_MAX)
		return MIG_E_BUFFER;
	memset(s, 0, sizeof(*s));
	s->cfg = *cfg;
	if (!s->cfg.stall_timeout_ns)
		s->cfg.stall_timeout_ns = MIG_DEFAULT_STALL_NS;
	s->g = *g;
	s->link = *l;
	s->clk = *c;
	s->b = *b;
	s->batch = batch;
	mig_policy_init(&s->pol, &cfg->policy);
	s->stats.mig_id = cfg->mig_id;
	s->stats.role = 0;
	s->stats.target_ns = s->pol.cfg.downtime_target_ns;
	s->st = MIG_SRC_HANDSHAKE;
	s->t_start = s->t_last_io = mig_now(c);
	return MIG_OK;
}

static void finish_stats(struct mig_source *s, int result)
{
	uint64_t now = mig_now(&s->clk);
	s->stats.result = result;
	s->stats.total_ns = now - s->t_start;
	s->stats.dirty_pps = s->pol.dirty_pps;
	s->stats.bw_Bps = s->pol.bw_Bps;
	s->stats.throttle_pct = s->throttle_pct;
	s->stats.forced_stop = s->forced_stop;
	s->stats.encrypted = s->link.encrypted ? s->link.encrypted(s->link.ctx) : 0;
}

/* Before COMMIT is sent the guest is ours: tell the peer (if the link still works), give
 * the vCPU its full share back and let it run. */
static int fail(struct mig_source *s, int err, int detail)
{
	if (s->st == MIG_SRC_FAILED || s->st == MIG_SRC_IN_DOUBT || s->st == MIG_SRC_DONE)
		return s->err;
	if (!s->stats.fail_state)
		s->stats.fail_state = mig_src_state_name(s->st);
	s->err = err;
	s->detail = detail;
	s->stats.detail = detail;
	if (s->st >= MIG_SRC_WAIT_CONFIRM) {
		/* COMMIT may have arrived: the destination may be running the guest. Running it
		 * here too would make two live copies, so it stays paused until resolved. */
		s->st = MIG_SRC_IN_DOUBT;
		s->err = MIG_E_IN_DOUBT;
		s->detail = err;
		s->stats.detail = err;
		finish_stats(s, MIG_E_IN_DOUBT);
		return MIG_E_IN_DOUBT;
	}
	if (!mig_err_is_link(err) && err != MIG_E_PEER_ABORT && s->st > MIG_SRC_ANNOUNCE) {
		struct mig_abort a = { s->cfg.mig_id, err };
		int n = mig_enc_abort(s->b.ctl, s->b.ctl_len, &a);
		if (n > 0 && mig_link_room(&s->link) >= (size_t)n)
			(void)s->link.send(s->link.ctx, MIG_MSG_ABORT, s->b.ctl, (size_t)n);
	}
	if (s->throttle_pct && s->g.throttle)
		(void)s->g.throttle(s->g.ctx, 0);
	s->throttle_pct = 0;
	int rr = MIG_OK;
	if (s->paused) {
		rr = s->g.resume(s->g.ctx);
		s->paused = 0;
	}
	s->st = MIG_SRC_FAILED;
	finish_stats(s, err);
	/* A guest we cannot restart is worse than the original failure: report that. */
	if (rr != MIG_OK) {
		s->err = MIG_E_RESUME;
		s->detail = err;
		s->stats.result = MIG_E_RESUME;
		s->stats.detail = err;
	}
	return s->err;
}

static int stall(struct mig_source *s, uint64_t now)
{
	if (now - s->t_last_io > s->cfg.stall_timeout_ns)
		return fail(s, MIG_E_TIMEOUT, 0);
	return MIG_BLOCKED;
}

/* What a send on the link returned: a failure processed by fail(), or progress. */
static int sent(struct mig_source *s, int r, uint64_t now)
{
	if (r < 0)
		return fail(s, mig_link_err(r), mig_link_detail(&s->link));
	s->t_last_io = now;
	return MIG_OK;
}

static int send_msg(struct mig_source *s, uint8_t type, const void *buf, size_t len, uint64_t now)
{
	return sent(s, s->link.send(s->link.ctx, type, buf, len), now);
}

/* Non-blocking check for a message from the destination. Returns MIG_AGAIN (nothing),
 * MIG_OK with a message in ctl, or a failure already processed by fail(). */
static int poll_ctl(struct mig_source *s, uint8_t *type, size_t *len, uint64_t now)
{
	int r = s->link.recv(s->link.ctx, type, s->b.ctl, s->b.ctl_len, len);
	if (r == MIG_AGAIN)
		return MIG_AGAIN;
	if (r < 0)
		return fail(s, mig_link_err(r), mig_link_detail(&s->link));
	s->t_last_io = now;
	if (*type == MIG_MSG_ABORT) {
		struct mig_abort a;
		int d = mig_dec_abort(s->b.ctl, *len, &a);
		if (d < 0)
			return fail(s, d, 0);
		if (a.mig_id != s->cfg.mig_id)
			return fail(s, MIG_E_BAD_ID, 0);
		if (s->st == MIG_SRC_WAIT_CONFIRM) {
			/* The destination scrubbed before saying so: the guest is only here. */
			s->st = MIG_SRC_STOP; /* any pre-COMMIT state: fail() resumes */
			s->stats.fail_state = "wait-confirm";
		}
		return fail(s, MIG_E_PEER_ABORT, a.reason);
	}
	if (*type == MIG_MSG_PROGRESS) {
		struct mig_progress p;
		int d = mig_dec_progress(s->b.ctl, *len, &p);
		if (d < 0)
			return fail(s, d, 0);
		if (p.applied > s->sent_pages)
			return fail(s, MIG_E_COUNT, 0);
		s->acked_pages = p.applied;
		/* The ANNOUNCE/ACCEPT exchange includes the destination's memory
		 * set-up, so it overstates the round trip; the smallest sample is
		 * the link's own (queueing only ever adds to it). */
		for (unsigned i = 0; i < 16; i++)
			if (s->rtt_mark_ns[i] && s->rtt_mark_pages[i] == p.applied) {
				uint64_t sample = mig_now(&s->clk) - s->rtt_mark_ns[i];
				if (sample < s->rtt_ns)
					s->rtt_ns = sample;
			}
		return MIG_AGAIN; /* consumed */
	}
	if (*type < MIG_MSG_ANNOUNCE || *type > MIG_MSG_ABORT)
		return fail(s, MIG_E_BAD_TYPE, *type);
	return MIG_OK;
}

static void start_round(struct mig_source *s, uint64_t now)
{
	s->cursor = 0;
	s->round_start_ns = now;
	s->round_pages = s->round_bytes = s->round_zero = 0;
	s->round_pending0 = mig_link_pending(&s->link);
}

/* Takes up to n pages from the bitmap, from the cursor on. */
static uint32_t pick(struct mig_source *s, uint32_t n)
{
	uint32_t k = 0;
	uint64_t words = MIG_BITMAP_WORDS(s->g.npages);
	uint64_t w = s->cursor / 64;
	while (k < n && w < words) {
		uint64_t bits = s->b.bitmap[w];
		if (s->cursor % 64)
			bits &= ~0ull << (s->cursor % 64);
		if (!bits) {
			w++;
			s->cursor = w * 64;
			continue;
		}
		unsigned bit = (unsigned)__builtin_ctzll(bits);
		uint64_t pfn = w * 64 + bit;
		s->b.bitmap[w] &= ~(1ull << bit);
		s->cursor = pfn + 1;
		s->ent_pfn[k++] = pfn;
	}
	return k;
}

/* Bytes queued below us delay the stop-and-copy by queued/bandwidth, so once the
 * bandwidth is known keep at most a quarter of the downtime target in flight. */
static int inflight_full(struct mig_source *s, uint64_t now)
{
	if (!s->pol.bw_Bps || !s->link.pending)
		return 0;
	uint64_t pend = mig_link_pending(&s->link);
	uint64_t cap = s->pol.bw_Bps / 1000u * (s->pol.cfg.downtime_target_ns / 4000000u);
	if (cap < 2 * MIG_PAGES_MSG_MAX(s->batch))
		cap = 2 * MIG_PAGES_MSG_MAX(s->batch);
	if (pend <= cap)
		return 0;
	if (pend < s->last_pending)
		s->t_last_io = now; /* draining: the peer is alive */
	s->last_pending = pend;
	return 1;
}

static int send_batch(struct mig_source *s, int final, uint64_t now)
{
	if (inflight_full(s, now))
		return stall(s, now);
	size_t room = mig_link_room(&s->link);
	uint64_t want = s->left < MIG_BATCH_MIN_SEND ? s->left : MIG_BATCH_MIN_SEND;
	if (want > s->batch)
		want = s->batch;
	uint64_t fit = room > MIG_PAGES_HDR ? (room - MIG_PAGES_HDR) / (8u + MIG_PAGE_SIZE) : 0;
	if (fit < want)
		return stall(s, now);
	uint32_t n = (uint32_t)(fit < s->batch ? fit : s->batch);
	/* An even count ends the entries on a 16-byte block, where the destination can
	 * start writing pages straight into its guest (mig_dest's placement). */
	if (n > 1)
		n &= ~1u;
	uint32_t k = pick(s, n);
	if (!k) { /* bitmap and count disagree: trust the bitmap */
		s->left = 0;
		return MIG_AGAIN;
	}
	uint8_t *ent = s->b.msg + MIG_PAGES_HDR;
	uint8_t *data = ent + 8u * k;
	uint32_t ndata = 0, nzero = 0;
	/* Encrypted, over a link that gathers: the cipher reads each page once, where it
	 * lies in the guest, and no copy is made. A page the guest writes meanwhile is
	 * sent as the cipher read it (the tag covers what was sent) and is dirty again, so
	 * the next round sends it anew; likewise a page found zero and then written. */
	int enc = s->link.encrypted && s->link.encrypted(s->link.ctx), gather = enc && s->link.sendv;
	for (uint32_t i = 0; i < k; i++) {
		const void *pg = s->g.page_ro(s->g.ctx, s->ent_pfn[i]);
		int zero;
		if (gather) {
			zero = mig_page_is_zero(pg);
			if (!zero)
				s->ent_pg[ndata] = pg;
		} else {
			/* Copied first, then the copy tested (in L1): the guest's page is read
			 * once, by the copy's streaming loads, and what is sent is one snapshot
			 * of the page even while the guest writes it (a zero page's copy is
			 * overwritten next). */
			uint8_t *slot = data + (size_t)ndata * MIG_PAGE_SIZE;
			memcpy(slot, pg, MIG_PAGE_SIZE);
			zero = mig_page_is_zero(slot);
		}
		if (zero) {
			mig_put_be64(ent + 8u * i, s->ent_pfn[i] | MIG_PFN_ZERO);
			nzero++;
		} else {
			mig_put_be64(ent + 8u * i, s->ent_pfn[i]);
			ndata++;
		}
	}
	size_t len = MIG_PAGES_HDR + 8u * k + (size_t)ndata * MIG_PAGE_SIZE;
	uint64_t sum = 0;
	if (!enc)
		sum = mig_sum64(s->round, s->b.msg + MIG_PAGES_HDR, len - MIG_PAGES_HDR);
	mig_enc_pages_hdr(s->b.msg, s->round, k, sum);
	int r;
	if (gather)
		r = sent(s,
			 s->link.sendv(s->link.ctx, MIG_MSG_PAGES, s->b.msg, MIG_PAGES_HDR + 8u * k, s->ent_pg, ndata),
			 now);
	else
		r = send_msg(s, MIG_MSG_PAGES, s->b.msg, len, now);
	if (r < 0)
		return r;
	s->left = s->left > k ? s->left - k : 0;
	s->sent_pages += k;
	s->rtt_mark_pages[s->rtt_mark_next % 16] = s->sent_pages;
	s->rtt_mark_ns[s->rtt_mark_next % 16] = now;
	s->rtt_mark_next++;
	s->round_pages += k;
	s->round_zero += nzero;
	s->round_bytes += len;
	s->stats.pages += k;
	s->stats.zero_pages += nzero;
	s->stats.bytes += len;
	if (final)
		s->stats.final_pages += k;
	return MIG_AGAIN;
}

static void record_round(struct mig_source *s, uint64_t dirtied, uint64_t now)
{
	if (s->stats.rounds < MIG_STATS_ROUNDS) {
		struct mig_round_rec *r = &s->stats.r[s->stats.rounds];
		r->pages = s->round_pages;
		r->bytes = s->round_bytes;
		r->zero = s->round_zero;
		r->dirtied = dirtied;
		r->ns = now - s->round_start_ns;
	}
	s->stats.rounds++;
}

static int round_end(struct mig_source *s, uint64_t now)
{
	if (mig_link_room(&s->link) < MIG_ROUND_END_LEN)
		return stall(s, now);
	uint64_t dirtied = s->g.dirty_collect(s->g.ctx, s->b.bitmap);
	struct mig_round_end re = { s->round, s->round_pages, dirtied };
	int n = mig_enc_round_end(s->b.ctl, s->b.ctl_len, &re);
	/* The destination answers ROUND_END with a PROGRESS for all pages so
	 * far: sent on an idle link, that is a clean round-trip sample. "Idle"
	 * allows less than a page in flight: a TCP receiver delays its ACK of a
	 * lone small segment, so the queue is rarely exactly empty. */
	int idle = mig_link_pending(&s->link) < MIG_PAGE_SIZE;
	int r = send_msg(s, MIG_MSG_ROUND_END, s->b.ctl, (size_t)n, now);
	if (r < 0)
		return r;
	if (idle) {
		s->rtt_mark_pages[s->rtt_mark_next % 16] = s->sent_pages;
		s->rtt_mark_ns[s->rtt_mark_next % 16] = now;
		s->rtt_mark_next++;
	}
	record_round(s, dirtied, now);
	/* Bytes still queued locally have not crossed the link: count what drained. */
	uint64_t pend = mig_link_pending(&s->link);
	uint64_t drained = s->round_bytes + s->round_pending0;
	drained = drained > pend ? drained - pend : 0;
	struct mig_round_sample smp = {
		.dur_ns = now - s->round_start_ns,
		.bytes = drained,
		.pages = s->round_pages,
		.dirtied = dirtied,
		.pending = pend,
		.rtt_ns = s->rtt_ns,
	};
	enum mig_decision d = mig_policy_round(&s->pol, &smp);
	s->stats.predicted_ns = s->pol.predicted_ns;
	s->left = dirtied;
	s->round++;
	start_round(s, now);
	switch (d) {
	case MIG_DEC_STOP: s->st = MIG_SRC_STOP; break;
	case MIG_DEC_FORCE_STOP:
		s->forced_stop = 1;
		s->st = MIG_SRC_STOP;
		break;
	case MIG_DEC_ABORT: return fail(s, MIG_E_NOT_CONVERGING, (int)s->pol.rounds);
	case MIG_DEC_THROTTLE:
		if (s->g.throttle && s->g.throttle(s->g.ctx, s->pol.throttle_pct) == MIG_OK)
			s->throttle_pct = s->pol.throttle_pct;
		s->st = MIG_SRC_PRECOPY;
		break;
	case MIG_DEC_CONTINUE: s->st = MIG_SRC_PRECOPY; break;
	}
	return MIG_AGAIN;
}

static int do_stop(struct mig_source *s, uint64_t now)
{
	if (!s->drained) {
		/* The guest still runs while the destination catches up: what the kernel's
		 * buffers and the peer's backlog hold would otherwise drain inside the stop,
		 * where the prediction (pages left / bandwidth) does not count it. PROGRESS
		 * answers every ROUND_END, so acked == sent means the pipe is empty. Pages the
		 * guest writes meanwhile are collected after the pause (FINAL, second pass).
		 * Bounded by the downtime target: a slow peer costs at most that, once. */
		uint8_t type = 0;
		size_t len = 0;
		int r = poll_ctl(s, &type, &len, now);
		if (r < 0)
			return r;
		if (r == MIG_OK)
			return fail(s, MIG_E_UNEXPECTED, type);
		if (!s->drain_started) {
			s->drain_started = 1;
			s->drain_t0 = now;
		}
		if (s->acked_pages < s->sent_pages && now - s->drain_t0 < s->pol.cfg.downtime_target_ns)
			return stall(s, now);
		s->drained = 1;
		s->stats.drain_ns = now - s->drain_t0;
		if (s->stats.drain_ns) {
			/* The wait emptied the pipe and let the guest dirty more: the prediction
			 * of the round end no longer describes this stop, so make it again. */
			uint64_t extra = s->pol.dirty_pps * (s->stats.drain_ns / 1000u) / 1000000u;
			uint64_t pages = s->left + extra;
			if (pages > s->g.npages)
				pages = s->g.npages;
			s->pol.predicted_ns = mig_policy_predict(&s->pol, pages, mig_link_pending(&s->link), s->rtt_ns);
			s->stats.predicted_ns = s->pol.predicted_ns;
		}
	}
	if (mig_link_room(&s->link) < MIG_ID_MSG_LEN)
		return stall(s, now);
	if (!s->stop_prepared && s->link.prepare_stop) {
		/* the dirty set, its entries, the state and the small messages around them */
		uint64_t bytes = s->left * MIG_WIRE_PAGE_BYTES + MIG_STATE_MAX + 256;
		int n = s->link.prepare_stop(s->link.ctx, bytes);
		s->stats.stop_prepared = n > 0 ? (uint32_t)n : 0;
	}
	s->stop_prepared = 1;
	if (s->g.pause(s->g.ctx) != MIG_OK)
		return fail(s, MIG_E_PAUSE, 0);
	s->paused = 1;
	s->t_pause = mig_now(&s->clk);
	int n = mig_enc_id(s->b.ctl, s->b.ctl_len, s->cfg.mig_id);
	int r = send_msg(s, MIG_MSG_STOP, s->b.ctl, (size_t)n, now);
	if (r < 0)
		return r;
	/* The bitmap still holds what the last round dirtied; what was written between that
	 * collection and the pause is collected once that set is sent (FINAL, second pass). */
	s->final_pass = 1;
	s->st = MIG_SRC_FINAL;
	s->cursor = 0;
	return MIG_AGAIN;
}

static int do_state(struct mig_source *s, uint64_t now)
{
	size_t len = 0;
	if (s->g.save_state(s->g.ctx, s->b.state, MIG_STATE_MAX, &len) != MIG_OK)
		return fail(s, MIG_E_SAVE_STATE, 0);
	if (len > MIG_STATE_MAX)
		return fail(s, MIG_E_STATE_TOO_BIG, 0);
	if (mig_link_room(&s->link) < MIG_STATE_HDR + len)
		return stall(s, now);
	struct mig_state_hdr h = { s->cfg.mig_id, (uint32_t)len, s->sent_pages, 0 };
	if (!(s->link.encrypted && s->link.encrypted(s->link.ctx)))
		h.sum = mig_sum64(s->sent_pages, s->b.state, len);
	mig_enc_state_hdr(s->b.msg, &h);
	memcpy(s->b.msg + MIG_STATE_HDR, s->b.state, len);
	int r = send_msg(s, MIG_MSG_STATE, s->b.msg, MIG_STATE_HDR + len, now);
	if (r < 0)
		return r;
	s->stats.state_bytes = len;
	s->stats.dt_copy_ns = now - s->t_pause;
	s->st = MIG_SRC_WAIT_READY;
	return MIG_AGAIN;
}

static int step(struct mig_source *s)
{
	uint64_t now = mig_now(&s->clk);
	uint8_t type = 0;
	size_t len = 0;
	int r;
	switch (s->st) {
	case MIG_SRC_INIT:
	case MIG_SRC_HANDSHAKE:
		if (s->link.handshake) {
			r = s->link.handshake(s->link.ctx);
			if (r == MIG_AGAIN || r == MIG_BLOCKED)
				return stall(s, now);
			if (r < 0)
				return fail(s, r == MIG_E_TIMEOUT ? MIG_E_TIMEOUT : MIG_E_HANDSHAKE,
					    mig_link_detail(&s->link));
		}
		s->t_last_io = now;
		s->st = MIG_SRC_ANNOUNCE;
		return MIG_AGAIN;
	case MIG_SRC_ANNOUNCE: {
		if (mig_link_room(&s->link) < MIG_ANNOUNCE_LEN)
			return stall(s, now);
		struct mig_announce a = {
			.flags = ((s->link.encrypted && s->link.encrypted(s->link.ctx)) ? 0 : MIG_ANN_F_CHECKSUM) |
				 (s->cfg.guest_apic ? MIG_ANN_F_APIC : 0),
			.mig_id = s->cfg.mig_id,
			.guest_id = s->cfg.guest_id,
			.npages = s->g.npages,
			.page_size = MIG_PAGE_SIZE,
			.state_max = MIG_STATE_MAX,
			.batch_max = s->batch,
			.cpuid_id = s->cfg.cpuid_id,
			.tsc_khz = s->cfg.tsc_khz,
		};
		int n = mig_enc_announce(s->b.ctl, s->b.ctl_len, &a);
		if ((r = send_msg(s, MIG_MSG_ANNOUNCE, s->b.ctl, (size_t)n, now)) < 0)
			return r;
		s->t_announce = now;
		s->st = MIG_SRC_WAIT_ACCEPT;
		return MIG_AGAIN;
	}
	case MIG_SRC_WAIT_ACCEPT: {
		r = poll_ctl(s, &type, &len, now);
		if (r == MIG_AGAIN)
			return stall(s, now);
		if (r < 0)
			return r;
		if (type != MIG_MSG_ACCEPT)
			return fail(s, MIG_E_UNEXPECTED, type);
		struct mig_accept acc;
		if ((r = mig_dec_accept(s->b.ctl, len, &acc)) < 0)
			return fail(s, r, 0);
		if (acc.mig_id != s->cfg.mig_id)
			return fail(s, MIG_E_BAD_ID, 0);
		if (acc.batch_max < s->batch)
			s->batch = acc.batch_max;
		s->rtt_ns = now - s->t_announce;
		/* Restart tracking now: every write from here on shows up in a later round. */
		(void)s->g.dirty_collect(s->g.ctx, s->b.bitmap);
		uint64_t words = MIG_BITMAP_WORDS(s->g.npages);
		for (uint64_t i = 0; i < words; i++)
			s->b.bitmap[i] = ~0ull;
		if (s->g.npages % 64)
			s->b.bitmap[words - 1] = (1ull << (s->g.npages % 64)) - 1;
		s->left = s->g.npages;
		s->round = 0;
		start_round(s, now);
		s->st = MIG_SRC_PRECOPY;
		return MIG_AGAIN;
	}
	case MIG_SRC_PRECOPY:
	case MIG_SRC_FINAL: {
		r = poll_ctl(s, &type, &len, now);
		if (r < 0)
			return r;
		if (r == MIG_OK)
			return fail(s, MIG_E_UNEXPECTED, type);
		if (s->left)
			return send_batch(s, s->st == MIG_SRC_FINAL, now);
		if (s->st == MIG_SRC_PRECOPY) {
			s->st = MIG_SRC_ROUND_END;
			return MIG_AGAIN;
		}
		if (s->final_pass == 2) { /* second pass done */
			s->st = MIG_SRC_STATE;
			return MIG_AGAIN;
		}
		/* Guest paused: this collection is complete, nothing can be written after it. */
		s->left = s->g.dirty_collect(s->g.ctx, s->b.bitmap);
		s->cursor = 0;
		s->final_pass = 2;
		return MIG_AGAIN;
	}
	case MIG_SRC_ROUND_END: return round_end(s, now);
	case MIG_SRC_STOP: return do_stop(s, now);
	case MIG_SRC_STATE: return do_state(s, now);
	case MIG_SRC_WAIT_READY: {
		r = poll_ctl(s, &type, &len, now);
		if (r == MIG_AGAIN)
			return stall(s, now);
		if (r < 0)
			return r;
		if (type != MIG_MSG_READY)
			return fail(s, MIG_E_UNEXPECTED, type);
		struct mig_ready rd;
		if ((r = mig_dec_ready(s->b.ctl, len, &rd)) < 0)
			return fail(s, r, 0);
		if (rd.mig_id != s->cfg.mig_id)
			return fail(s, MIG_E_BAD_ID, 0);
		if (rd.applied != s->sent_pages)
			return fail(s, MIG_E_COUNT, 0);
		s->stats.dt_ready_ns = now - s->t_pause - s->stats.dt_copy_ns;
		s->st = MIG_SRC_COMMIT;
		return MIG_AGAIN;
	}
	case MIG_SRC_COMMIT: {
		if (mig_link_room(&s->link) < MIG_ID_MSG_LEN)
			return stall(s, now);
		int n = mig_enc_id(s->b.ctl, s->b.ctl_len, s->cfg.mig_id);
		/* From the moment the send is attempted the destination may own the guest. */
		s->st = MIG_SRC_WAIT_CONFIRM;
		if ((r = send_msg(s, MIG_MSG_COMMIT, s->b.ctl, (size_t)n, now)) < 0)
			return r;
		return MIG_AGAIN;
	}
	case MIG_SRC_WAIT_CONFIRM: {
		r = poll_ctl(s, &type, &len, now);
		if (r == MIG_AGAIN)
			return stall(s, now);
		if (r < 0)
			return r;
		uint64_t id;
		if (type != MIG_MSG_CONFIRM)
			return fail(s, MIG_E_UNEXPECTED, type);
		if ((r = mig_dec_id(s->b.ctl, len, &id)) < 0)
			return fail(s, r, 0);
		if (id != s->cfg.mig_id)
			return fail(s, MIG_E_BAD_ID, 0);
		s->stats.downtime_ns = now - s->t_pause;
		s->stats.dt_confirm_ns = s->stats.downtime_ns - s->stats.dt_copy_ns - s->stats.dt_ready_ns;
		s->st = MIG_SRC_SCRUB;
		return MIG_AGAIN;
	}
	case MIG_SRC_SCRUB: {
		int sr = s->g.scrub(s->g.ctx);
		s->paused = 0;
		s->st = MIG_SRC_DONE;
		finish_stats(s, sr == MIG_OK ? MIG_DONE : MIG_E_SCRUB);
		if (sr != MIG_OK) {
			s->err = MIG_E_SCRUB;
			return MIG_E_SCRUB;
		}
		return MIG_DONE;
	}
	case MIG_SRC_DONE: return s->err ? s->err : MIG_DONE;
	case MIG_SRC_FAILED:
	case MIG_SRC_IN_DOUBT:
	case MIG_SRC_NSTATES: break;
	}
	return s->err ? s->err : MIG_E_STATE;
}

int mig_source_step(struct mig_source *s) { return step(s); }

int mig_source_cancel(struct mig_source *s)
{
	if (s->st >= MIG_SRC_WAIT_CONFIRM)
		return MIG_E_STATE;
	fail(s, MIG_E_CANCELLED, 0);
	return MIG_OK;
}

int mig_source_set_policy(struct mig_source *s, uint64_t downtime_target_ns, int outrun_abort)
{
	if (s->paused || s->st == MIG_SRC_DONE || s->st == MIG_SRC_FAILED || s->st == MIG_SRC_IN_DOUBT)
		return MIG_E_STATE;
	mig_policy_set(&s->pol, downtime_target_ns, outrun_abort);
	if (downtime_target_ns)
		s->stats.target_ns = downtime_target_ns;
	return MIG_OK;
}

int mig_source_resolve(struct mig_source *s, int resume_here)
{
	if (s->st != MIG_SRC_IN_DOUBT)
		return MIG_E_STATE;
	if (resume_here) {
		s->st = MIG_SRC_FAILED;
		s->paused = 0;
		if (s->throttle_pct && s->g.throttle)
			(void)s->g.throttle(s->g.ctx, 0);
		s->throttle_pct = 0;
		return s->g.resume(s->g.ctx) == MIG_OK ? MIG_OK : MIG_E_RESUME;
	}
	s->st = MIG_SRC_DONE;
	s->paused = 0;
	return s->g.scrub(s->g.ctx) == MIG_OK ? MIG_OK : MIG_E_SCRUB;
}
