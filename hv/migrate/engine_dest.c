/* Destination side: receive pages and state, run the guest only on COMMIT, and scrub
 * everything received on any failure before that. */
#include "mig_engine.h"
#include "hvlib.h"
#include "page_stream.h"

static const char *const dst_names[MIG_DST_NSTATES] = {
	"init",	       "handshake", "wait-announce", "accept", "receive", "ready",
	"wait-commit", "resume",    "confirm",	     "done",   "failed",
};

const char *mig_dst_state_name(enum mig_dst_state s) { return (unsigned)s < MIG_DST_NSTATES ? dst_names[s] : "?"; }

enum mig_dst_state mig_dest_state(const struct mig_dest *d) { return d->st; }

/* The link's placement (mig_link.set_place) for a message being received: a PAGES
 * message's header and entries stay in the message buffer; once they are in, each data
 * page is written (decrypted, or hashed while copied) straight into its guest page, and
 * on_pages copies only what was not. Reads bytes not yet authenticated: everything is
 * bounded here (count, pfn < npages, the page exists), anything odd keeps the rest of the
 * message in the buffer, for on_pages to judge; a frame that then fails its tag fails the
 * migration, and the guest, with whatever went into it, is scrubbed. */
static uint8_t *place_pages(void *ctx, uint8_t type, const uint8_t *buf, size_t len, size_t off, size_t *n)
{
	struct mig_dest *d = ctx;
	*n = len - off; /* by default, all the rest in the buffer */
	if (d->st != MIG_DST_RECEIVE || !d->prepared)
		return NULL;
	if (off == 0) {
		d->place_done = d->place_ent = 0;
		/* the checksum (plaintext link) is computed over the message buffer */
		if (type == MIG_MSG_PAGES && !d->csum && len > MIG_PAGES_HDR)
			*n = MIG_PAGES_HDR;
		return NULL;
	}
	uint32_t count = mig_get_be32(buf + 4);
	size_t ents = MIG_PAGES_HDR + 8u * (size_t)count;
	if (count == 0 || count > d->batch || ents % 16 || ents > len || (len - ents) % MIG_PAGE_SIZE)
		return NULL;
	if (off == MIG_PAGES_HDR) {
		*n = ents - off;
		return NULL;
	}
	if (off != ents + (size_t)d->place_done * MIG_PAGE_SIZE)
		return NULL;
	while (d->place_ent < count) {
		uint64_t e = mig_get_be64(buf + MIG_PAGES_HDR + 8u * d->place_ent++);
		if (e & MIG_PFN_ZERO)
			continue;
		if ((e & ~MIG_PFN_MASK) || e >= d->npages)
			return NULL;
		uint8_t *pg = d->g.page_rw(d->g.ctx, e);
		if (!pg)
			return NULL;
		d->place_done++;
		*n = MIG_PAGE_SIZE;
		return pg;
	}
	return NULL;
}

int mig_dest_init(struct mig_dest *d, const struct mig_config *cfg, const struct mig_guest_ops *g,
		  const struct mig_link *l, const struct mig_clock *c, const struct mig_buffers *b)
{
	if (!d || !cfg || !g || !l || !c || !b || !c->now_ns || !l->writable || !l->send || !l->recv)
		return MIG_E_INVAL;
	if (!g->prepare || !g->page_rw || !g->load_state || !g->resume || !g->scrub)
		return MIG_E_INVAL;
	uint32_t batch = cfg->batch_pages ? cfg->batch_pages : MIG_BATCH_DEFAULT;
	if (batch > MIG_BATCH_MAX)
		return MIG_E_INVAL;
	if (!b->msg || b->msg_len < MIG_MSG_BUF_SIZE(batch) || !b->ctl || b->ctl_len < MIG_CTL_MAX)
		return MIG_E_BUFFER;
	memset(d, 0, sizeof(*d));
	d->cfg = *cfg;
	if (!d->cfg.stall_timeout_ns)
		d->cfg.stall_timeout_ns = MIG_DEFAULT_STALL_NS;
	d->g = *g;
	d->link = *l;
	d->clk = *c;
	d->b = *b;
	d->batch = batch;
	d->stats.role = 1;
	d->st = MIG_DST_HANDSHAKE;
	d->t_start = d->t_last_io = mig_now(c);
	if (l->set_place && l->placed)
		l->set_place(l->ctx, place_pages, d);
	return MIG_OK;
}

static void finish_stats(struct mig_dest *d, int result)
{
	d->stats.result = result;
	d->stats.total_ns = mig_now(&d->clk) - d->t_start;
	d->stats.encrypted = d->link.encrypted ? d->link.encrypted(d->link.ctx) : 0;
}

/* Nothing received may outlive a failed migration (smash-and-grab, bait-and-switch):
 * the scrub callback zeroes RAM and state and checks it reads back zero. */
static int fail(struct mig_dest *d, int err, int detail)
{
	if (d->st == MIG_DST_FAILED || d->st == MIG_DST_DONE)
		return d->err;
	if (d->st == MIG_DST_CONFIRM) {
		/* The guest already runs here; the source resolves its in-doubt copy. */
		d->st = MIG_DST_DONE;
		d->stats.detail = err;
		finish_stats(d, MIG_DONE);
		return MIG_DONE;
	}
	d->stats.fail_state = mig_dst_state_name(d->st);
	d->err = err;
	d->detail = detail;
	d->stats.detail = detail;
	/* Nothing more goes into the guest about to be scrubbed (and freed), not even the
	 * rest of a frame whose placement began. */
	if (d->link.set_place)
		d->link.set_place(d->link.ctx, NULL, NULL);
	if (!mig_err_is_link(err) && err != MIG_E_PEER_ABORT && d->st > MIG_DST_WAIT_ANNOUNCE) {
		struct mig_abort a = { d->stats.mig_id, err };
		int n = mig_enc_abort(d->b.ctl, d->b.ctl_len, &a);
		if (n > 0 && mig_link_room(&d->link) >= (size_t)n)
			(void)d->link.send(d->link.ctx, MIG_MSG_ABORT, d->b.ctl, (size_t)n);
	}
	if (d->prepared && d->g.scrub(d->g.ctx) != MIG_OK) {
		d->err = MIG_E_SCRUB;
		d->detail = err;
		d->stats.detail = err;
	}
	d->prepared = 0;
	d->st = MIG_DST_FAILED;
	finish_stats(d, d->err);
	return d->err;
}

static int stall(struct mig_dest *d, uint64_t now)
{
	if (now - d->t_last_io > d->cfg.stall_timeout_ns)
		return fail(d, MIG_E_TIMEOUT, 0);
	return MIG_BLOCKED;
}

/* Control replies are queued in ctl and sent when the link has room; until then nothing
 * more is read, so the source cannot run ahead of what we acknowledge. */
static int queue_reply(struct mig_dest *d, uint8_t type, int n)
{
	d->pending_type = type;
	d->pending_len = (size_t)n;
	return MIG_AGAIN;
}

static int flush_reply(struct mig_dest *d, uint64_t now)
{
	if (!d->pending_len)
		return MIG_OK;
	if (mig_link_room(&d->link) < d->pending_len)
		return stall(d, now);
	int r = d->link.send(d->link.ctx, d->pending_type, d->b.ctl, d->pending_len);
	if (r < 0)
		return fail(d, mig_link_err(r), mig_link_detail(&d->link));
	d->pending_len = 0;
	d->t_last_io = now;
	return MIG_OK;
}

static int progress(struct mig_dest *d)
{
	struct mig_progress p = { d->round, d->applied_pages };
	d->msgs_since_ack = 0;
	return queue_reply(d, MIG_MSG_PROGRESS, mig_enc_progress(d->b.ctl, d->b.ctl_len, &p));
}

static int on_announce(struct mig_dest *d, size_t len)
{
	struct mig_announce a;
	int r = mig_dec_announce(d->b.msg, len, &a);
	if (r < 0)
		return fail(d, r, 0);
	d->stats.mig_id = a.mig_id;
	d->st = MIG_DST_ACCEPT; /* from here on a refusal is reported to the source */
	if (d->cfg.guest_id && a.guest_id != d->cfg.guest_id)
		return fail(d, MIG_E_WRONG_GUEST, 0);
	/* The checksum flag must match the channel: a plaintext link without it could
	 * smuggle flipped bits in unnoticed. */
	int enc = d->link.encrypted ? d->link.encrypted(d->link.ctx) : 0;
	if (!enc && !(a.flags & MIG_ANN_F_CHECKSUM))
		return fail(d, MIG_E_BAD_FIELD, 0);
	d->stats.encrypted = enc;
	d->cfg.mig_id = a.mig_id;
	d->npages = a.npages;
	d->csum = (a.flags & MIG_ANN_F_CHECKSUM) != 0;
	if (a.batch_max < d->batch)
		d->batch = a.batch_max;
	if (d->g.check_profile && d->g.check_profile(d->g.ctx, a.cpuid_id, a.tsc_khz, a.flags) != MIG_OK)
		return fail(d, MIG_E_PROFILE, 0); /* before any RAM: the guest stays on the source */
	d->prepared = 1;			  /* whatever prepare managed to set up gets scrubbed on failure */
	if (d->g.prepare(d->g.ctx, a.npages, a.page_size) != MIG_OK)
		return fail(d, MIG_E_PREPARE, 0);
	struct mig_accept acc = { a.mig_id, d->batch };
	d->st = MIG_DST_RECEIVE;
	return queue_reply(d, MIG_MSG_ACCEPT, mig_enc_accept(d->b.ctl, d->b.ctl_len, &acc));
}

static int on_pages(struct mig_dest *d, size_t len)
{
	struct mig_pages p;
	int r = mig_dec_pages(d->b.msg, len, d->npages, d->batch, &p);
	if (r < 0)
		return fail(d, r, 0);
	if (p.round != d->round)
		return fail(d, MIG_E_BAD_FIELD, (int)p.round);
	if (d->csum && mig_sum64(p.round, p.entries, len - MIG_PAGES_HDR) != p.sum)
		return fail(d, MIG_E_CHECKSUM, 0);
	if (!d->csum && p.sum)
		return fail(d, MIG_E_BAD_FIELD, 0);
	/* A source sends each page at most once a round, and after STOP at most twice (the
	 * last round's dirty set, then what was written until the pause): a peer that keeps
	 * sending would hold this side (and its one incoming slot) forever. */
	uint64_t limit = d->have_stop ? 2 * d->npages : d->npages;
	if (p.count > limit - d->round_pages || p.count > MIG_DEST_MAX_COPIES * d->npages - d->total_pages)
		return fail(d, MIG_E_LIMIT, (int)d->round);
	d->round_pages += p.count;
	d->total_pages += p.count;
	/* Data pages the link placed in the guest as they arrived are there already; the
	 * others are copied, then zero pages are cleared (the same order either way, so a
	 * page named twice ends the same). Streaming stores: the paused guest reads these
	 * pages long after, and an ordinary store would first read every line it
	 * overwrites. */
	uint32_t placed = d->link.placed && d->link.placed(d->link.ctx) ? d->place_done : 0;
	const uint8_t *src = p.data + (size_t)placed * MIG_PAGE_SIZE;
	for (uint32_t i = 0, data = 0; i < p.count; i++) {
		uint64_t e = mig_get_be64(p.entries + 8u * i);
		if (e & MIG_PFN_ZERO)
			continue;
		if (data++ < placed)
			continue;
		void *pg = d->g.page_rw(d->g.ctx, e & MIG_PFN_MASK);
		if (!pg) {
			page_stream_fence();
			return fail(d, MIG_E_PREPARE, 0);
		}
		page_copy_stream(pg, src);
		src += MIG_PAGE_SIZE;
	}
	for (uint32_t i = 0; i < p.count; i++) {
		uint64_t e = mig_get_be64(p.entries + 8u * i);
		if (!(e & MIG_PFN_ZERO))
			continue;
		void *pg = d->g.page_rw(d->g.ctx, e & MIG_PFN_MASK);
		if (!pg) {
			page_stream_fence();
			return fail(d, MIG_E_PREPARE, 0);
		}
		page_zero_stream(pg);
		d->stats.zero_pages++;
	}
	page_stream_fence();
	d->applied_pages += p.count;
	d->stats.pages += p.count;
	d->stats.bytes += len;
	if (d->have_stop)
		d->stats.final_pages += p.count;
	if (d->stats.rounds < MIG_STATS_ROUNDS && !d->have_stop) {
		d->stats.r[d->round < MIG_STATS_ROUNDS ? d->round : MIG_STATS_ROUNDS - 1].pages += p.count;
		d->stats.r[d->round < MIG_STATS_ROUNDS ? d->round : MIG_STATS_ROUNDS - 1].bytes += len;
	}
	if (++d->msgs_since_ack >= MIG_PROGRESS_EVERY)
		return progress(d);
	return MIG_AGAIN;
}

static int on_state(struct mig_dest *d, size_t len)
{
	struct mig_state_hdr h;
	const uint8_t *blob;
	int r = mig_dec_state(d->b.msg, len, &h, &blob);
	if (r < 0)
		return fail(d, r, 0);
	if (h.mig_id != d->cfg.mig_id)
		return fail(d, MIG_E_BAD_ID, 0);
	if (d->csum && mig_sum64(h.pages_total, blob, h.len) != h.sum)
		return fail(d, MIG_E_CHECKSUM, 0);
	/* Every page transfer the source made must have arrived and been applied. */
	if (h.pages_total != d->applied_pages)
		return fail(d, MIG_E_COUNT, 0);
	if (d->g.load_state(d->g.ctx, blob, h.len) != MIG_OK)
		return fail(d, MIG_E_LOAD_STATE, 0);
	d->stats.state_bytes = h.len;
	struct mig_ready rd = { d->cfg.mig_id, d->applied_pages };
	d->st = MIG_DST_WAIT_COMMIT;
	return queue_reply(d, MIG_MSG_READY, mig_enc_ready(d->b.ctl, d->b.ctl_len, &rd));
}

static int on_message(struct mig_dest *d, uint8_t type, size_t len, uint64_t now)
{
	int r;
	uint64_t id;
	if (type == MIG_MSG_ABORT) {
		struct mig_abort a;
		if ((r = mig_dec_abort(d->b.msg, len, &a)) < 0)
			return fail(d, r, 0);
		if (d->st != MIG_DST_WAIT_ANNOUNCE && a.mig_id != d->cfg.mig_id)
			return fail(d, MIG_E_BAD_ID, 0);
		return fail(d, MIG_E_PEER_ABORT, a.reason);
	}
	if (type < MIG_MSG_ANNOUNCE || type > MIG_MSG_ABORT)
		return fail(d, MIG_E_BAD_TYPE, type);
	switch (d->st) {
	case MIG_DST_WAIT_ANNOUNCE:
		if (type != MIG_MSG_ANNOUNCE)
			break;
		return on_announce(d, len);
	case MIG_DST_RECEIVE:
		if (type == MIG_MSG_PAGES)
			return on_pages(d, len);
		if (type == MIG_MSG_ROUND_END && !d->have_stop) {
			struct mig_round_end re;
			if ((r = mig_dec_round_end(d->b.msg, len, &re)) < 0)
				return fail(d, r, 0);
			if (re.round != d->round)
				return fail(d, MIG_E_BAD_FIELD, (int)re.round);
			/* A source that never stops would hold this side's memory and CPU forever. */
			if (re.round + 1 >= MIG_DEST_MAX_ROUNDS)
				return fail(d, MIG_E_LIMIT, (int)re.round);
			if (d->stats.rounds < MIG_STATS_ROUNDS)
				d->stats.r[d->stats.rounds].dirtied = re.dirty;
			d->stats.rounds++;
			d->round++;
			d->round_pages = 0;
			return progress(d);
		}
		if (type == MIG_MSG_STOP && !d->have_stop) {
			if ((r = mig_dec_id(d->b.msg, len, &id)) < 0)
				return fail(d, r, 0);
			if (id != d->cfg.mig_id)
				return fail(d, MIG_E_BAD_ID, 0);
			d->have_stop = 1;
			d->t_stop = now;
			return MIG_AGAIN;
		}
		if (type == MIG_MSG_STATE && d->have_stop)
			return on_state(d, len);
		break;
	case MIG_DST_WAIT_COMMIT:
		if (type != MIG_MSG_COMMIT)
			break;
		if ((r = mig_dec_id(d->b.msg, len, &id)) < 0)
			return fail(d, r, 0);
		if (id != d->cfg.mig_id)
			return fail(d, MIG_E_BAD_ID, 0);
		d->st = MIG_DST_RESUME;
		return MIG_AGAIN;
	default: break;
	}
	return fail(d, MIG_E_UNEXPECTED, type);
}

int mig_dest_step(struct mig_dest *d)
{
	uint64_t now = mig_now(&d->clk);
	uint8_t type = 0;
	size_t len = 0;
	int r;
	switch (d->st) {
	case MIG_DST_DONE: return MIG_DONE;
	case MIG_DST_FAILED: return d->err;
	case MIG_DST_INIT:
	case MIG_DST_HANDSHAKE:
		if (d->link.handshake) {
			r = d->link.handshake(d->link.ctx);
			if (r == MIG_AGAIN || r == MIG_BLOCKED)
				return stall(d, now);
			if (r < 0)
				return fail(d, r == MIG_E_TIMEOUT ? MIG_E_TIMEOUT : MIG_E_HANDSHAKE,
					    mig_link_detail(&d->link));
		}
		d->t_last_io = now;
		d->st = MIG_DST_WAIT_ANNOUNCE;
		return MIG_AGAIN;
	case MIG_DST_RESUME: {
		/* COMMIT received: the source has given the guest up, it is ours to run. */
		if (d->g.resume(d->g.ctx) != MIG_OK) {
			d->st = MIG_DST_READY; /* not running: scrub and tell the source */
			return fail(d, MIG_E_RESUME, 0);
		}
		d->stats.downtime_ns = d->have_stop ? now - d->t_stop : 0;
		d->prepared = 0;
		int n = mig_enc_id(d->b.ctl, d->b.ctl_len, d->cfg.mig_id);
		d->st = MIG_DST_CONFIRM;
		return queue_reply(d, MIG_MSG_CONFIRM, n);
	}
	default: break;
	}
	if (d->pending_len) {
		r = flush_reply(d, now);
		if (r != MIG_OK)
			return r;
		if (d->st == MIG_DST_CONFIRM) {
			d->st = MIG_DST_DONE;
			finish_stats(d, MIG_DONE);
			return MIG_DONE;
		}
		return MIG_AGAIN;
	}
	if (d->st == MIG_DST_CONFIRM) { /* reply already gone */
		d->st = MIG_DST_DONE;
		finish_stats(d, MIG_DONE);
		return MIG_DONE;
	}
	r = d->link.recv(d->link.ctx, &type, d->b.msg, d->b.msg_len, &len);
	if (r == MIG_AGAIN)
		return stall(d, now);
	if (r < 0)
		return fail(d, mig_link_err(r), mig_link_detail(&d->link));
	d->t_last_io = now;
	return on_message(d, type, len, now);
}

int mig_dest_cancel(struct mig_dest *d)
{
	if (d->st >= MIG_DST_RESUME)
		return MIG_E_STATE;
	fail(d, MIG_E_CANCELLED, 0);
	return MIG_OK;
}
