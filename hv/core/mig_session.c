/* The hypervisor's migration sessions: an outgoing one started by the `migrate` command,
 * an incoming one admitted by the listener, each stepped from the scheduler loop; the
 * boot self-test of the channel's crypto; the progress and end-of-migration reports. */
#include "arch.h"
#include "hv.h"
#include "mig_hv.h"
#include "mig_service.h"
#include "net.h"
#include "selftest.h"
#include "x25519.h"

static struct mig_service svc;

struct mig_service *mig_service(void) { return &svc; }

static uint64_t random_id(void)
{
	uint64_t v = 0;
	if (arch_entropy(0, &v, sizeof(v)) != HVC_OK)
		v = arch_cycles() ^ 0x9e3779b97f4a7c15ull; /* unique per attempt, if not secret */
	return v;
}

/* Bytes moved through the stream and its rings: a step that changed none did no work. */
static uint64_t stream_work(const struct tcp_stream *ts)
{
	return ts->bytes_in + ts->bytes_out + ts->tx_len + ts->rx_len;
}

/* ---- outgoing ---- */

/* One line per pre-copy round for programs (hvctl --json, progress displays): what the
 * round sent and what the engine now expects. */
static void report_round(struct mig_service *s, uint32_t k)
{
	const struct mig_source *src = &s->out.eng;
	const struct mig_side *m = &s->out.side;
	const struct mig_round_rec *rr = &src->stats.r[k];
	hv_event("MIGROUND id=%llx role=src vm=%u round=%u pages=%llu bytes=%llu zero=%llu dirtied=%llu round_ms=%llu "
		 "bw_Bps=%llu dirty_pps=%llu predicted_ms=%llu target_ms=%llu remaining_pages=%llu total_pages=%llu "
		 "sent_bytes=%llu throttle_pct=%u elapsed_ms=%llu",
		 (unsigned long long)src->stats.mig_id, m->vm->id, k, (unsigned long long)rr->pages,
		 (unsigned long long)rr->bytes, (unsigned long long)rr->zero, (unsigned long long)rr->dirtied,
		 (unsigned long long)(rr->ns / 1000000u), (unsigned long long)src->pol.bw_Bps,
		 (unsigned long long)src->pol.dirty_pps, (unsigned long long)(src->pol.predicted_ns / 1000000u),
		 (unsigned long long)(src->pol.cfg.downtime_target_ns / 1000000u), (unsigned long long)src->left,
		 (unsigned long long)m->vm->mem_pages, (unsigned long long)src->stats.bytes, src->pol.throttle_pct,
		 (unsigned long long)(hv_now_ms() - m->t0_ms));
}

int mig_session_start_out(struct mig_service *s, struct vm *vm, uint32_t ip, uint16_t port, const struct printer *p)
{
	uint64_t wait = 0;
	int g = mig_guard_may_connect(&s->guard, ip, 0, mig_now_ns(), &wait);
	if (g == MIG_E_BACKOFF) {
		pr_printf(p, "peer is in backoff after failed handshakes: retry in %lu ms\r\n",
			  (unsigned long)(wait / 1000000));
		return hv_err_from_mig(g);
	}
	if ((g = mig_guard_begin(&s->guard, vm->id)) != MIG_OK)
		return hv_err_from_mig(g);
	struct mig_side *m = &s->out.side;
	memset(m, 0, sizeof(*m));
	m->vm = vm;
	m->ts = &m->own_ts;
	m->before = vm->state;
	m->t0_ms = hv_now_ms();
	mig_bucket_reset(&m->bucket);
	int err = mig_bufs_alloc(&m->bufs, &hv_pages, vm->mem_pages);
	if (!err)
		err = tcp_stream_connect(m->ts, ip, port);
	if (err) {
		mig_guard_end(&s->guard, vm->id, MIG_E_TRANSPORT);
		mig_bufs_free(&m->bufs, &hv_pages);
		memset(m, 0, sizeof(*m));
		return err;
	}
	vm->migrating = 1;
	m->active = 1;
	hv_event("migrate: vm %u to %u.%u.%u.%u:%u: connecting", vm->id, ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255,
		 ip & 255, port);
	return HV_OK;
}

/* The end of one side: its MIGSTAT line (kept for `migrate info`) and a prose summary. */
static void report_end(struct mig_stats *st, const struct mig_side *m, const char *role, int r, char *line)
{
	st->busy_cycles = m->busy_cycles;
	st->wire_bytes = m->ts ? (st->role ? m->ts->bytes_in : m->ts->bytes_out) : 0;
	mig_stats_format(st, line, MIG_STATS_LINE_MAX);
	hv_event("%s", line);
	if (r == MIG_DONE)
		hv_event("migrate: %s done: downtime %lu ms (predicted %lu ms), total %lu ms, %lu rounds, "
			 "%lu pages (%lu zero), encryption %s",
			 role, (unsigned long)(st->downtime_ns / 1000000), (unsigned long)(st->predicted_ns / 1000000),
			 (unsigned long)(st->total_ns / 1000000), (unsigned long)st->rounds, (unsigned long)st->pages,
			 (unsigned long)st->zero_pages, st->encrypted ? "on" : "off");
	else if (r == MIG_E_IN_DOUBT) /* the detail is the engine's own cause, not the channel's */
		hv_event("migrate: %s FAILED: %s (cause: %s)", role, mig_strerror(r), mig_strerror(st->detail));
	else if (r == MIG_E_PEER_ABORT)
		hv_event("migrate: %s FAILED: %s (peer's reason: %s)", role, mig_strerror(r), mig_strerror(st->detail));
	else if (st->detail < 0)
		hv_event("migrate: %s FAILED: %s (channel: %s)", role, mig_strerror(r), hvc_strerror(st->detail));
	else
		hv_event("migrate: %s FAILED: %s (detail %d)", role, mig_strerror(r), st->detail);
}

/* The connection is up: the channel over it and the source engine over the channel. */
static int out_connected(struct mig_service *s)
{
	struct mig_side *m = &s->out.side;
	if (m->ts->state != TS_OPEN || mig_stream_setup(m, HVC_ROLE_CLIENT)) {
		hv_event("migrate: vm %u: connection to the peer failed (lwIP error %d); the guest "
			 "keeps running here",
			 m->vm->id, m->ts->lwip_err);
		mig_guard_end(&s->guard, m->vm->id, MIG_E_TRANSPORT);
		mig_side_end(m);
		return HV_EHW;
	}
	struct mig_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.mig_id = random_id();
	cfg.guest_id = m->vm->id;
	arch_vm_profile(m->vm, &cfg.cpuid_id, &cfg.tsc_khz);
	cfg.guest_apic = m->vm->has_lapic;
	cfg.batch_pages = MIG_BATCH;
	cfg.policy.downtime_target_ns = (uint64_t)hv_cfg.downtime_ms * 1000000ull;
	cfg.policy.outrun_abort = hv_cfg.outrun_abort;
	cfg.policy.state_bytes = arch_vm_state_size();
	struct mig_guest_ops g;
	mig_guest_source_ops(&s->out, &g);
	struct mig_buffers mb;
	mig_bufs_engine_view(&m->bufs, &mb);
	if (mig_source_init(&s->out.eng, &cfg, &g, &m->link, &mig_hv_clock, &mb) != MIG_OK) {
		hv_event("migrate: vm %u: engine set-up failed", m->vm->id);
		mig_guard_end(&s->guard, m->vm->id, MIG_E_INVAL);
		mig_side_end(m);
		return HV_EINVAL;
	}
	m->connected = 1;
	return HV_OK;
}

static void step_out(struct mig_service *s)
{
	struct mig_side *m = &s->out.side;
	struct mig_source *src = &s->out.eng;
	if (!m->connected) {
		if (m->ts->state == TS_CONNECTING || out_connected(s))
			return;
	}
	int r = MIG_AGAIN;
	uint64_t c0 = arch_cycles(), w0 = stream_work(m->ts);
	enum mig_src_state st0 = mig_source_state(src);
	for (unsigned i = 0; i < 16 && r == MIG_AGAIN; i++) {
		r = mig_source_step(src);
		if (m->ch.state == HVC_ST_ESTABLISHED)
			m->handshake_done = 1;
	}
	tcp_stream_poll(m->ts);
	if (stream_work(m->ts) != w0 || mig_source_state(src) != st0)
		m->busy_cycles += arch_cycles() - c0; /* a pass that only found the link full is waiting */
	/* Waiting on the link: the time to compute keystream for the next frames, one
	 * frame's per call so that the NIC is polled in between: the whole ring at once
	 * would hold up whatever arrived meanwhile (in the stop-and-copy, the downtime). */
	if (r == MIG_BLOCKED && m->ch.state == HVC_ST_ESTABLISHED && hvc_channel_mode(&m->ch) == HVC_MODE_ENCRYPTED &&
	    hvc_channel_prefill_useful(&m->ch, 0)) {
		uint64_t c1 = arch_cycles();
		if (hvc_channel_prefill_frames(&m->ch, m->bufs.msg_len, 0, 1))
			m->busy_cycles += arch_cycles() - c1;
	}
	if (src->round > m->last_round && src->round - 1 < MIG_STATS_ROUNDS)
		report_round(s, src->round - 1);
	if (src->round != m->last_round || hv_now_ms() - m->last_report_ms >= 1000) {
		m->last_round = src->round;
		m->last_report_ms = hv_now_ms();
		hv_event("migrate: vm %u round %u: %lu pages left, dirty %lu pages/s, bandwidth %lu KiB/s, "
			 "predicted downtime %lu ms, rtt %lu ms, queued %lu KiB, state %s",
			 m->vm->id, src->round, (unsigned long)src->left, (unsigned long)src->pol.dirty_pps,
			 (unsigned long)(src->pol.bw_Bps / 1024), (unsigned long)(src->pol.predicted_ns / 1000000),
			 (unsigned long)(src->rtt_ns / 1000000), (unsigned long)(tcp_stream_unsent(m->ts) / 1024),
			 mig_src_state_name(mig_source_state(src)));
	}
	if (r == MIG_AGAIN || r == MIG_BLOCKED)
		return;
	mig_guard_handshake(&s->guard, m->ts->peer_ip, m->handshake_done, mig_now_ns());
	report_end(&src->stats, m, "source", r, s->last_stat[0]);
	if (r != MIG_DONE && mig_source_state(src) == MIG_SRC_IN_DOUBT) {
		/* Nothing more will pass on this link: whatever resolves the doubt is the
		 * operator's, so the session keys go now, not at 'migrate resolve'. */
		hvc_channel_destroy(&m->ch);
		if (m->ts)
			tcp_stream_close(m->ts, 1);
		m->ts = 0;
		hv_event("migrate: vm %u is IN DOUBT: commit sent, no confirmation; it stays paused here "
			 "(session keys wiped, connection closed). Check the destination, then "
			 "'migrate resolve resume|scrub'",
			 m->vm->id);
	} else if (r != MIG_DONE)
		hv_event("migrate: vm %u keeps running here (state %s)", m->vm->id, vm_state_name(m->vm->state));
	mig_guard_end(&s->guard, m->vm->id, r);
	if (mig_source_state(src) != MIG_SRC_IN_DOUBT)
		mig_side_end(m);
}

/* ---- incoming ---- */

static int refuse_incoming(uint32_t ip, const char *why)
{
	hv_event("migrate: incoming connection from %u.%u.%u.%u refused: %s", ip >> 24, (ip >> 16) & 255,
		 (ip >> 8) & 255, ip & 255, why);
	return 1;
}

static void ip_str(uint32_t ip, char *buf, size_t len)
{
	hv_snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static void drop_pre(struct mig_service *s, int i, int failed_handshake, const char *why)
{
	struct mig_side *q = &s->pre[i];
	char a[16];
	ip_str(q->ts ? q->ts->peer_ip : 0, a, sizeof(a));
	if (why)
		hv_event("migrate: incoming connection from %s dropped before authentication: %s", a, why);
	if (failed_handshake && q->ts)
		mig_guard_handshake(&s->guard, q->ts->peer_ip, 0, mig_now_ns());
	mig_preauth_release(&s->preauth, i, 0);
	mig_side_end(q);
}

/* A new connection waits in a pre-authentication slot: one per address, a bounded time,
 * the oldest making room for a newcomer. Only a peer that proved the PSK reaches the
 * incoming migration and its buffers (promote). */
static int on_incoming(void *ctx, struct tcp_stream *ts)
{
	struct mig_service *s = ctx;
	uint32_t ip = ts->peer_ip;
	int g = mig_guard_admit(&s->guard, ip, mig_now_ns());
	if (g != MIG_OK)
		return refuse_incoming(ip, mig_strerror(g));
	if (!hv_cfg.psk_len || s->crypto_broken)
		return refuse_incoming(ip, "no PSK configured");
	int ev;
	int i = mig_preauth_place(&s->preauth, ip, mig_now_ns(), &ev);
	if (ev >= 0) {
		struct mig_side *old = &s->pre[ev];
		char a[16];
		ip_str(old->ts ? old->ts->peer_ip : 0, a, sizeof(a));
		hv_event("migrate: incoming connection from %s dropped before authentication: %s", a,
			 old->ts && old->ts->peer_ip == ip ? "replaced by a newer one from the same address"
							   : "evicted (all pre-authentication slots busy)");
		mig_side_end(old);
	}
	struct mig_side *q = &s->pre[i];
	memset(q, 0, sizeof(*q));
	q->ts = ts;
	q->t0_ms = hv_now_ms();
	/* The hello announces the receive limit the migration's buffers will have. */
	q->bufs.txbuf = s->pre_txbuf[i];
	q->bufs.txbuf_len = sizeof(s->pre_txbuf[i]);
	q->bufs.msg_len = MIG_MSG_BUF_SIZE(MIG_BATCH);
	if (mig_stream_setup(q, HVC_ROLE_SERVER)) {
		mig_preauth_release(&s->preauth, i, 0);
		memset(q, 0, sizeof(*q));
		return 1;
	}
	q->active = 1;
	return 0;
}

/* The peer in slot i proved the PSK: it becomes the incoming migration, if none is. */
static void promote(struct mig_service *s, int i)
{
	struct mig_side *q = &s->pre[i], *m = &s->in.side;
	uint32_t ip = q->ts->peer_ip;
	char a[16];
	ip_str(ip, a, sizeof(a));
	mig_guard_handshake(&s->guard, ip, 1, mig_now_ns());
	if (m->active) {
		s->in_busy_refused++;
		hv_event("migrate: incoming connection from %s dropped after authentication: a migration is "
			 "already coming in",
			 a);
		mig_preauth_release(&s->preauth, i, 1);
		mig_side_end(q);
		return;
	}
	memset(m, 0, sizeof(*m));
	m->ts = q->ts;
	m->t0_ms = q->t0_ms;
	/* Sized for the largest guest we accept; the bitmap is the source's only. */
	if (mig_bufs_alloc(&m->bufs, &hv_pages, 0) || mig_stream_adopt(m, &q->ch)) {
		mig_bufs_free(&m->bufs, &hv_pages);
		memset(m, 0, sizeof(*m));
		drop_pre(s, i, 0, "no memory for the migration's buffers");
		return;
	}
	q->ts = 0; /* the stream is m's now */
	mig_preauth_release(&s->preauth, i, 1);
	mig_side_end(q);
	struct mig_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.batch_pages = MIG_BATCH;
	struct mig_guest_ops g2;
	mig_guest_dest_ops(&s->in, &g2);
	struct mig_buffers mb;
	mig_bufs_engine_view(&m->bufs, &mb);
	if (mig_dest_init(&s->in.eng, &cfg, &g2, &m->link, &mig_hv_clock, &mb) != MIG_OK) {
		hv_event("migrate: incoming migration from %s dropped: engine set-up failed", a);
		mig_side_end(m);
		return;
	}
	m->active = m->connected = m->handshake_done = 1;
	hv_event("migrate: incoming migration from %s (authenticated)", a);
}

static void step_pre(struct mig_service *s, int i)
{
	struct mig_side *q = &s->pre[i];
	if (mig_preauth_expired(&s->preauth, i, mig_now_ns())) {
		s->preauth.c.expired++;
		drop_pre(s, i, 1, "handshake not finished in time");
		return;
	}
	int r = hvc_channel_handshake_step(&q->ch);
	tcp_stream_poll(q->ts);
	if (r == HVC_AGAIN)
		return;
	if (r != HVC_OK) {
		char why[96];
		hv_snprintf(why, sizeof(why), "handshake failed: %s", hvc_strerror(r));
		drop_pre(s, i, 1, why);
		return;
	}
	promote(s, i);
}

static void step_in(struct mig_service *s)
{
	struct mig_side *m = &s->in.side;
	int r = MIG_AGAIN;
	uint64_t c0 = arch_cycles(), w0 = stream_work(m->ts);
	enum mig_dst_state st0 = mig_dest_state(&s->in.eng);
	for (unsigned i = 0; i < 16 && r == MIG_AGAIN; i++) {
		r = mig_dest_step(&s->in.eng);
		if (m->ch.state == HVC_ST_ESTABLISHED)
			m->handshake_done = 1;
	}
	tcp_stream_poll(m->ts);
	if (stream_work(m->ts) != w0 || mig_dest_state(&s->in.eng) != st0)
		m->busy_cycles += arch_cycles() - c0;
	if (r == MIG_BLOCKED && m->ch.state == HVC_ST_ESTABLISHED && hvc_channel_mode(&m->ch) == HVC_MODE_ENCRYPTED &&
	    hvc_channel_prefill_useful(&m->ch, 1)) {
		uint64_t c1 = arch_cycles();
		if (hvc_channel_prefill_frames(&m->ch, 0, m->bufs.msg_len, 1)) /* as the source */
			m->busy_cycles += arch_cycles() - c1;
	}
	if (r == MIG_AGAIN || r == MIG_BLOCKED)
		return;
	report_end(&s->in.eng.stats, m, "destination", r, s->last_stat[1]);
	/* The stream is done either way; the VM (if it runs) stays. */
	if (m->vm && r != MIG_DONE)
		m->vm->migrating = 0;
	m->vm = 0;
	mig_side_end(m);
}

/* ---- what the command asks of the sessions ---- */

int mig_session_cancel(struct mig_service *s)
{
	struct mig_side *out = &s->out.side;
	if (!out->active && !s->in.side.active)
		return HV_ENOENT;
	if (out->active && out->connected && mig_source_cancel(&s->out.eng) != MIG_OK)
		return HV_ESTATE; /* past COMMIT: cancelling could leave two copies */
	if (out->active && !out->connected) {
		mig_guard_end(&s->guard, out->vm->id, MIG_E_CANCELLED);
		mig_side_end(out);
	}
	if (s->in.side.active)
		mig_dest_cancel(&s->in.eng);
	return HV_OK;
}

int mig_session_resolve(struct mig_service *s, int resume)
{
	if (!s->out.side.active || mig_source_state(&s->out.eng) != MIG_SRC_IN_DOUBT)
		return HV_ENOENT;
	int r = mig_source_resolve(&s->out.eng, resume);
	mig_side_end(&s->out.side);
	return r == MIG_OK ? HV_OK : hv_err_from_mig(r);
}

void mig_session_print(struct mig_service *s, const struct printer *p)
{
	if (s->out.side.active)
		pr_printf(p, "outgoing: vm %u %s round %u pages_left %lu keys=%s\r\n", s->out.side.vm->id,
			  s->out.side.connected ? mig_src_state_name(mig_source_state(&s->out.eng)) : "connecting",
			  s->out.eng.round, (unsigned long)s->out.eng.left,
			  hvc_channel_holds_keys(&s->out.side.ch) ? "held" : "none");
	if (s->in.side.active)
		pr_printf(p, "incoming: %s vm %u\r\n", mig_dst_state_name(mig_dest_state(&s->in.eng)),
			  s->in.side.vm ? s->in.side.vm->id : 0);
	char line[192];
	mig_preauth_format(&s->preauth, line, sizeof(line));
	pr_printf(p, "%s busy_refused=%lu\r\n", line, (unsigned long)s->in_busy_refused);
}

/* ---- entry points ---- */

/* What forward secrecy adds to each side of a handshake: one key pair and one shared
 * secret. Measured at boot, where it also proves the code runs on this CPU. */
static void x25519_cost(void)
{
	uint8_t a[32], pa[32], b[32], pb[32], s1[32], s2[32];
	uint64_t t0 = arch_cycles();
	int rc = hvc_x25519_keypair(arch_entropy, 0, a, pa);
	if (rc == HVC_OK)
		rc = hvc_x25519_shared(a, pa, s1); /* a valid point: never low order */
	uint64_t t1 = arch_cycles();
	if (rc == HVC_OK)
		rc = hvc_x25519_keypair(arch_entropy, 0, b, pb);
	if (rc == HVC_OK)
		rc = hvc_x25519_shared(b, pa, s1);
	if (rc == HVC_OK)
		rc = hvc_x25519_shared(a, pb, s2);
	int agree = rc == HVC_OK && memcmp(s1, s2, 32) == 0;
	memset(a, 0, 32);
	memset(b, 0, 32);
	memset(s1, 0, 32);
	memset(s2, 0, 32);
	if (!agree) {
		svc.crypto_broken = 1;
		hv_event("crypto: X25519 SELF-TEST FAILED (%s): migration disabled",
			 rc ? hvc_strerror(rc) : "shared secrets differ");
		return;
	}
	hv_event("crypto: X25519 ok: key pair + shared secret %lu us (%lu cycles) per handshake side",
		 (unsigned long)(hv_tsc_khz ? (t1 - t0) * 1000 / hv_tsc_khz : 0), (unsigned long)(t1 - t0));
}

void mig_hv_init(void)
{
	struct mig_guard_cfg gc;
	memset(&gc, 0, sizeof(gc));
	mig_guard_init(&svc.guard, &gc);
	mig_preauth_init(&svc.preauth, 0);
	/* Known answers through every AES-GCM path this CPU runs, before any
	 * guest byte is trusted to them. */
	unsigned ran = 0, skipped = 0;
	arch_host_vector_begin();
	int err = hvc_crypto_selftest(&ran, &skipped);
	if (err) {
		svc.crypto_broken = 1;
		hv_event("crypto: SELF-TEST FAILED (%s): migration disabled", hvc_strerror(err));
		return;
	}
	if (!ran) {
		svc.crypto_broken = 1;
		hv_event("crypto: no AES-GCM implementation runs on this CPU (it needs AES-NI and "
			 "PCLMULQDQ): migration disabled");
		return;
	}
	char paths[64] = "";
	size_t n = 0;
	for (unsigned p = 0; p < 8; p++)
		if (ran & (1u << p))
			n += (size_t)hv_snprintf(paths + n, sizeof(paths) - n, "%s%s", n ? "," : "",
						 hvc_gcm_path_name((enum hvc_gcm_path)p));
	hv_event("crypto: AES-256-GCM self-test passed on %s", paths);
	x25519_cost();
}

void mig_hv_account_net(uint64_t cycles)
{
	struct mig_side *o = &svc.out.side, *i = &svc.in.side;
	int out = o->active && o->connected, in = i->active;
	if (out && in) {
		o->busy_cycles += cycles / 2;
		i->busy_cycles += cycles - cycles / 2;
	} else if (out) {
		o->busy_cycles += cycles;
	} else if (in) {
		i->busy_cycles += cycles;
	}
}

void mig_hv_poll(void)
{
	struct mig_service *s = &svc;
	if (!s->listening && net_is_up() && hv_cfg.psk_len) {
		if (tcp_stream_listen((uint16_t)hv_cfg.mig_port, on_incoming, s) == HV_OK)
			hv_event("migrate: listening on port %u", hv_cfg.mig_port);
		s->listening = 1;
	}
	unsigned pre = mig_preauth_used(&s->preauth);
	if (!s->out.side.active && !s->in.side.active && !pre)
		return;
	arch_host_vector_begin(); /* the channel's crypto uses vector registers */
	for (int i = 0; pre && i < MIG_PREAUTH_SLOTS; i++)
		if (s->pre[i].active)
			step_pre(s, i);
	if (s->out.side.active && !(s->out.side.connected && mig_source_state(&s->out.eng) == MIG_SRC_IN_DOUBT))
		step_out(s);
	if (s->in.side.active)
		step_in(s);
}
