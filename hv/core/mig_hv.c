/* The hypervisor's side of a live migration: the portable engine (hv/migrate)
 * bound to a real VM (memory, dirty log, vCPU state), to the secure channel
 * over a TCP stream, and to the console; stepped from the scheduler loop. */
#include "hv.h"
#include "vm.h"
#include "mig_hv.h"
#include "vcpu_state.h"
#include "../arch/x86/cpu.h"
#include "../arch/x86/fpu.h"
#include "../../net/include/net.h"
#include "../../net/include/tcp_stream.h"
#include "../migrate/mig.h"
#include "../migrate/mig_link_hvc.h"
#include "../migrate/mig_throttle.h"
#include "hvc_channel.h"
#include "selftest.h"

#define MIG_BATCH 8u /* pages per message (33 KiB): fits the shallow stream queue several times */

struct mig_bufset {
	uint64_t phys;
	uint64_t pages;
	uint8_t *msg, *state, *ctl, *txbuf, *ks_tx, *ks_rx;
	uint64_t *bitmap;
	size_t msg_len, txbuf_len, ks_len;
};

/* Keystream computed ahead for this many full-size frames per direction. */
#define KS_FRAMES 4

struct mig_side {
	int active, connected;
	struct vm *vm;
	struct tcp_stream *ts;
	struct tcp_stream own_ts;   /* outgoing connections live here */
	struct hvc_channel ch;
	struct mig_hvc hvc;
	struct mig_link link;
	struct mig_bufset bufs;
	uint64_t t0_ms, last_report_ms;
	uint32_t last_round;
	enum vm_state before;       /* the VM's state when the migration started */
	int handshake_done;         /* the channel got established at some point */
};

static struct mig_side out_side, in_side;
static struct mig_source src;
static struct mig_dest dst;
static struct mig_guard guard;
static int listening;
static int crypto_broken; /* the boot self-test failed: nothing may use the channel */

static uint64_t now_ns(void *ctx)
{
	(void)ctx;
	uint64_t t = rdtsc();
	return t / hv_tsc_khz * 1000000ull + (t % hv_tsc_khz) * 1000000ull / hv_tsc_khz;
}
static const struct mig_clock clock = { 0, now_ns };

/* ---- buffers: from the page allocator, zeroed before they go back ---- */

static int bufs_alloc(struct mig_bufset *b, uint64_t npages)
{
	size_t msg = MIG_MSG_BUF_SIZE(MIG_BATCH);
	size_t tx = msg + HVC_FRAME_OVERHEAD;
	size_t bitmap = MIG_BITMAP_WORDS(npages) * 8;
	size_t ks = KS_FRAMES * ALIGN_UP(msg + 16 + 64, 64);
	size_t total = ALIGN_UP(msg, 64) + ALIGN_UP(tx, 64) + MIG_STATE_MAX + 256 + ALIGN_UP(bitmap, 64) + 2 * ks;
	b->pages = ALIGN_UP(total, PAGE_SIZE) / PAGE_SIZE;
	b->phys = page_alloc_contig(&hv_pages, b->pages, 1);
	if (!b->phys)
		return HV_ENOMEM;
	uint8_t *p = phys_to_virt(b->phys);
	b->msg = p;
	b->msg_len = msg;
	p += ALIGN_UP(msg, 64);
	b->txbuf = p;
	b->txbuf_len = tx;
	p += ALIGN_UP(tx, 64);
	b->state = p;
	p += MIG_STATE_MAX;
	b->ctl = p;
	p += 256;
	b->ks_tx = p;
	p += ks;
	b->ks_rx = p;
	p += ks;
	b->ks_len = ks;
	b->bitmap = (uint64_t *)p;
	return HV_OK;
}

static void bufs_free(struct mig_bufset *b)
{
	if (!b->phys)
		return;
	/* These held guest pages and keys in clear: nothing of them may linger. */
	memset(phys_to_virt(b->phys), 0, b->pages * PAGE_SIZE);
	page_free_contig(&hv_pages, b->phys, b->pages);
	memset(b, 0, sizeof(*b));
}

static void fill_buffers(struct mig_buffers *mb, const struct mig_bufset *b)
{
	mb->bitmap = b->bitmap;
	mb->msg = b->msg;
	mb->msg_len = b->msg_len;
	mb->state = b->state;
	mb->state_len = MIG_STATE_MAX;
	mb->ctl = b->ctl;
	mb->ctl_len = 256;
}

/* ---- the byte stream under the channel ---- */

/* The bandwidth cap: a token bucket in front of the stream. The engine only
 * sends what writable() allows, so a cap shows up to it as a slower link,
 * and its bandwidth estimate and predictions follow. */
static struct {
	uint64_t tokens, last_ns;
} bucket;

static uint64_t bucket_room(void)
{
	if (!hv_cfg.bw_cap_kib)
		return ~0ull;
	uint64_t now = now_ns(0), rate = (uint64_t)hv_cfg.bw_cap_kib * 1024;
	/* Enough depth for the largest frame, or the engine would wait forever. */
	uint64_t depth = MIG_MSG_BUF_SIZE(MIG_BATCH) + HVC_FRAME_OVERHEAD + rate / 10;
	if (bucket.last_ns)
		bucket.tokens += (now - bucket.last_ns) / 1000 * rate / 1000000;
	bucket.last_ns = now;
	if (bucket.tokens > depth)
		bucket.tokens = depth;
	return bucket.tokens;
}

static size_t bytes_writable(void *ctx)
{
	size_t w = tcp_stream_writable(ctx);
	uint64_t room = bucket_room();
	return room < w ? (size_t)room : w;
}
static size_t bytes_pending(void *ctx) { return tcp_stream_unsent(ctx); }
static int bytes_send(void *ctx, const void *buf, size_t len)
{
	if (tcp_stream_send(ctx, buf, len))
		return -1;
	if (hv_cfg.bw_cap_kib)
		bucket.tokens = bucket.tokens > len ? bucket.tokens - len : 0;
	return 0;
}
static long bytes_recv(void *ctx, void *buf, size_t len)
{
	long n = tcp_stream_recv(ctx, buf, len);
	return n == TCP_STREAM_EOF ? HVC_RECV_EOF : n < 0 ? -2 : n;
}

static long bytes_peek(void *ctx, const void **p, size_t len)
{
	long n = tcp_stream_peek(ctx, p, len);
	return n == TCP_STREAM_EOF ? HVC_RECV_EOF : n < 0 ? -2 : n;
}
static void bytes_consume(void *ctx, size_t n) { tcp_stream_consume(ctx, n); }

static uint64_t hvc_now(void *ctx) { return now_ns(ctx); }

static int psk_lookup(void *ctx, uint32_t key_id, uint8_t *psk, size_t *len)
{
	(void)ctx;
	if (!hv_cfg.psk_len || key_id != hv_cfg.key_id)
		return -1;
	memcpy(psk, hv_cfg.psk, hv_cfg.psk_len);
	*len = hv_cfg.psk_len;
	return 0;
}

static int channel_setup(struct mig_side *m, enum hvc_role role)
{
	m->hvc.bytes.ctx = m->ts;
	m->hvc.bytes.writable = bytes_writable;
	m->hvc.bytes.pending = bytes_pending;
	m->hvc.bytes.send = bytes_send;
	m->hvc.bytes.recv = bytes_recv;
	/* the channel decrypts straight from the stream's receive ring: no copy first */
	m->hvc.bytes.peek = bytes_peek;
	m->hvc.bytes.consume = bytes_consume;
	struct hvc_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.role = role;
	cfg.policy = (enum hvc_policy)hv_cfg.mig_policy;
	cfg.key_id = hv_cfg.key_id;
	cfg.psk = hv_cfg.psk;
	cfg.psk_len = hv_cfg.psk_len;
	if (role == HVC_ROLE_SERVER)
		cfg.psk_lookup = psk_lookup;
	cfg.transport = mig_hvc_transport(&m->hvc);
	cfg.clock.now_ns = hvc_now;
	cfg.entropy = hvc_entropy_x86;
	cfg.gcm_path = HVC_GCM_AUTO;
	cfg.rx_max = (uint32_t)m->bufs.msg_len;
	cfg.tx_buf = m->bufs.txbuf;
	cfg.tx_buf_len = m->bufs.txbuf_len;
	/* The pipelined keystream: filled while the link is the bottleneck, so
	 * sending and receiving a frame is only XOR, GHASH and the tag. */
	cfg.ks_tx_mem = m->bufs.ks_tx;
	cfg.ks_tx_len = m->bufs.ks_len;
	cfg.ks_rx_mem = m->bufs.ks_rx;
	cfg.ks_rx_len = m->bufs.ks_len;
	int err = hvc_channel_init(&m->ch, &cfg);
	memset(&cfg, 0, sizeof(cfg));
	if (err)
		return err;
	mig_hvc_link(&m->hvc, &m->ch, m->bufs.txbuf_len, &m->link);
	return HV_OK;
}

static void side_end(struct mig_side *m)
{
	hvc_channel_destroy(&m->ch);
	if (m->ts)
		tcp_stream_close(m->ts, 1);
	bufs_free(&m->bufs);
	if (m->vm)
		m->vm->migrating = 0;
	memset(m, 0, sizeof(*m));
}

/* ---- guest operations over a VM ---- */

static const void *g_page_ro(void *ctx, uint64_t pfn)
{
	struct vm *vm = ctx;
	return pfn < vm->mem_pages ? phys_to_virt(vm->page_hpa[pfn]) : 0;
}

static void *g_page_rw(void *ctx, uint64_t pfn)
{
	struct vm **slot = ctx, *vm = *slot;
	return vm && pfn < vm->mem_pages ? phys_to_virt(vm->page_hpa[pfn]) : 0;
}

static uint64_t g_dirty(void *ctx, uint64_t *out)
{
	struct vm *vm = ctx;
	if (vm->dirty.method == DIRTY_PML)
		dirty_pml_drain(&vm->dirty, vmx_pml_index_reset(vm));
	return dirty_collect(&vm->dirty, out);
}

static int g_pause(void *ctx)
{
	struct vm *vm = ctx;
	/* One CPU: the VM is not executing while we run, so stopping its
	 * scheduling is enough for "no further writes". */
	if (vm->state == VMS_RUNNING || vm->state == VMS_PARKED)
		vm->state = VMS_PAUSED;
	return vm->state == VMS_PAUSED ? MIG_OK : MIG_E_PAUSE;
}

static int g_resume_src(void *ctx)
{
	struct vm *vm = ctx;
	if (vm->state != VMS_PAUSED)
		return MIG_E_RESUME;
	vm->state = out_side.before;
	vm->throttle_pct = 0;
	return MIG_OK;
}

static int g_throttle(void *ctx, unsigned pct)
{
	struct vm *vm = ctx;
	vm->throttle_pct = pct > 95 ? 95 : pct;
	hv_log("[hv] migrate: vm %u throttled to %u%% of its time slices\r\n", vm->id, 100 - vm->throttle_pct);
	return MIG_OK;
}

static int g_save(void *ctx, void *buf, size_t cap, size_t *len)
{
	struct vm *vm = ctx;
	if (cap < sizeof(struct vcpu_state))
		return MIG_E_STATE_TOO_BIG;
	if (vcpu_state_save(vm, buf))
		return MIG_E_SAVE_STATE;
	*len = sizeof(struct vcpu_state);
	return MIG_OK;
}

static int g_scrub_src(void *ctx)
{
	struct vm *vm = ctx;
	vm->state = VMS_STOPPED;
	int err = vm_scrub(vm);
	hv_log("[hv] migrate: vm %u migrated away; memory and state scrubbed%s\r\n", vm->id,
	       err ? " FAILED" : " and verified");
	return err ? MIG_E_SCRUB : MIG_OK;
}

/* Destination: ctx points at in_side.vm, filled by prepare. */
static int g_prepare(void *ctx, uint64_t npages, uint32_t page_size)
{
	struct vm **slot = ctx;
	if (page_size != PAGE_SIZE || npages == 0 || npages > (1ull << 20))
		return MIG_E_BAD_GEOMETRY;
	int err = vm_create_sized(1 /* GUEST_MODE_WORK until the state says */, npages);
	if (err)
		return MIG_E_PREPARE;
	*slot = &hv_vms[hv_nvms - 1];
	(*slot)->state = VMS_INCOMING;
	(*slot)->migrating = 1;
	hv_log("[hv] migrate: incoming guest of %lu KiB from %u.%u.%u.%u becomes vm %u\r\n",
	       (unsigned long)(npages * 4), in_side.ts->peer_ip >> 24, (in_side.ts->peer_ip >> 16) & 255,
	       (in_side.ts->peer_ip >> 8) & 255, in_side.ts->peer_ip & 255, (*slot)->id);
	return MIG_OK;
}

static int g_load(void *ctx, const void *buf, size_t len)
{
	struct vm **slot = ctx, *vm = *slot;
	const struct vcpu_state *s = buf;
	if (!vm || len != sizeof(struct vcpu_state))
		return MIG_E_LOAD_STATE;
	/* The guest's clock skips the time it was stopped, as seen from here. */
	uint64_t stopped_ns = dst.have_stop ? now_ns(0) - dst.t_stop : 0;
	uint64_t extra = stopped_ns / 1000000ull * hv_tsc_khz + (stopped_ns % 1000000ull) * hv_tsc_khz / 1000000ull;
	if (vmx_set_pml(vm, s->dirty_method == DIRTY_PML))
		return MIG_E_LOAD_STATE;
	if (vcpu_state_load(vm, s, extra))
		return MIG_E_LOAD_STATE;
	vm->dirty.method = (enum dirty_method)s->dirty_method;
	dirty_set_method(&vm->dirty, vm->dirty.method);
	return MIG_OK;
}

static int g_resume_dst(void *ctx)
{
	struct vm **slot = ctx, *vm = *slot;
	if (!vm || vm->state != VMS_INCOMING)
		return MIG_E_RESUME;
	vm->state = VMS_RUNNING;
	vm->migrating = 0;
	hv_log("[hv] migrate: commit received; vm %u runs here now\r\n", vm->id);
	return MIG_OK;
}

static int g_scrub_dst(void *ctx)
{
	struct vm **slot = ctx, *vm = *slot;
	if (!vm)
		return MIG_OK; /* nothing received yet */
	vm->state = VMS_STOPPED;
	vm->migrating = 0;
	int err = vm_scrub(vm);
	hv_log("[hv] migrate: incoming vm %u scrubbed%s\r\n", vm->id, err ? " FAILED" : " and verified");
	return err ? MIG_E_SCRUB : MIG_OK;
}

/* ---- outgoing ---- */

static int parse_peer(const char *s, uint32_t *ip, uint16_t *port)
{
	const struct hv_peer *named = config_find_peer(&hv_cfg, s);
	if (named) {
		*ip = named->ip;
		*port = named->port;
		return HV_OK;
	}
	char host[32];
	size_t n = 0;
	while (s[n] && s[n] != ':' && n < sizeof(host) - 1) {
		host[n] = s[n];
		n++;
	}
	host[n] = '\0';
	*port = (uint16_t)hv_cfg.mig_port;
	if (s[n] == ':') {
		uint64_t p;
		if (hv_parse_u64(s + n + 1, &p) || p == 0 || p > 65535)
			return HV_EINVAL;
		*port = (uint16_t)p;
	} else if (s[n]) {
		return HV_EINVAL;
	}
	return config_parse_ipv4(host, ip, 0, 0);
}

static uint64_t random_id(void)
{
	uint64_t v = 0;
	if (hvc_entropy_x86(0, &v, sizeof(v)) != HVC_OK)
		v = rdtsc() ^ 0x9e3779b97f4a7c15ull; /* unique per attempt, if not secret */
	return v;
}

static int start_out(struct vm *vm, uint32_t ip, uint16_t port, const struct printer *p)
{
	uint64_t wait = 0;
	int g = mig_guard_may_connect(&guard, ip, 0, now_ns(0), &wait);
	if (g == MIG_E_BACKOFF) {
		pr_printf(p, "peer is in backoff after failed handshakes: retry in %lu ms\r\n",
			  (unsigned long)(wait / 1000000));
		return HV_ESTATE;
	}
	if (mig_guard_begin(&guard, vm->id) != MIG_OK)
		return HV_EEXIST;
	struct mig_side *m = &out_side;
	memset(m, 0, sizeof(*m));
	m->vm = vm;
	m->ts = &m->own_ts;
	m->before = vm->state;
	m->t0_ms = hv_now_ms();
	bucket.tokens = 0;
	bucket.last_ns = 0;
	int err = bufs_alloc(&m->bufs, vm->mem_pages);
	if (!err)
		err = tcp_stream_connect(m->ts, ip, port);
	if (err) {
		mig_guard_end(&guard, vm->id, MIG_E_TRANSPORT);
		bufs_free(&m->bufs);
		memset(m, 0, sizeof(*m));
		return err;
	}
	vm->migrating = 1;
	m->active = 1;
	hv_log("[hv] migrate: vm %u to %u.%u.%u.%u:%u: connecting\r\n", vm->id, ip >> 24, (ip >> 16) & 255,
	       (ip >> 8) & 255, ip & 255, port);
	return HV_OK;
}

static void report_end(const struct mig_stats *st, const char *role, int r)
{
	static char line[MIG_STATS_LINE_MAX];
	mig_stats_format(st, line, sizeof(line));
	hv_log("[hv] %s\r\n", line);
	if (r == MIG_DONE)
		hv_log("[hv] migrate: %s done: downtime %lu ms (predicted %lu ms), total %lu ms, %lu rounds, "
		       "%lu pages (%lu zero), encryption %s\r\n", role,
		       (unsigned long)(st->downtime_ns / 1000000), (unsigned long)(st->predicted_ns / 1000000),
		       (unsigned long)(st->total_ns / 1000000), (unsigned long)st->rounds,
		       (unsigned long)st->pages, (unsigned long)st->zero_pages, st->encrypted ? "on" : "off");
	else if (r == MIG_E_PEER_ABORT)
		hv_log("[hv] migrate: %s FAILED: %s (peer's reason: %s)\r\n", role, mig_strerror(r), mig_strerror(st->detail));
	else if (st->detail < 0)
		hv_log("[hv] migrate: %s FAILED: %s (channel: %s)\r\n", role, mig_strerror(r), hvc_strerror(st->detail));
	else
		hv_log("[hv] migrate: %s FAILED: %s (detail %d)\r\n", role, mig_strerror(r), st->detail);
}

static void step_out(void)
{
	struct mig_side *m = &out_side;
	if (!m->connected) {
		if (m->ts->state == TS_CONNECTING)
			return;
		if (m->ts->state != TS_OPEN || channel_setup(m, HVC_ROLE_CLIENT)) {
			hv_log("[hv] migrate: vm %u: connection to the peer failed (lwIP error %d); the guest "
			       "keeps running here\r\n", m->vm->id, m->ts->lwip_err);
			mig_guard_end(&guard, m->vm->id, MIG_E_TRANSPORT);
			side_end(m);
			return;
		}
		struct mig_config cfg;
		memset(&cfg, 0, sizeof(cfg));
		cfg.mig_id = random_id();
		cfg.guest_id = m->vm->id;
		cfg.batch_pages = MIG_BATCH;
		cfg.policy.downtime_target_ns = (uint64_t)hv_cfg.downtime_ms * 1000000ull;
		cfg.policy.outrun_abort = hv_cfg.outrun_abort;
		cfg.policy.state_bytes = sizeof(struct vcpu_state);
		struct mig_guest_ops g;
		memset(&g, 0, sizeof(g));
		g.ctx = m->vm;
		g.npages = m->vm->mem_pages;
		g.page_ro = g_page_ro;
		g.dirty_collect = g_dirty;
		g.pause = g_pause;
		g.resume = g_resume_src;
		g.throttle = g_throttle;
		g.save_state = g_save;
		g.scrub = g_scrub_src;
		struct mig_buffers mb;
		fill_buffers(&mb, &m->bufs);
		if (mig_source_init(&src, &cfg, &g, &m->link, &clock, &mb) != MIG_OK) {
			hv_log("[hv] migrate: vm %u: engine set-up failed\r\n", m->vm->id);
			mig_guard_end(&guard, m->vm->id, MIG_E_INVAL);
			side_end(m);
			return;
		}
		m->connected = 1;
	}
	int r = MIG_AGAIN;
	for (unsigned i = 0; i < 16 && r == MIG_AGAIN; i++) {
		r = mig_source_step(&src);
		if (m->ch.state == HVC_ST_ESTABLISHED)
			m->handshake_done = 1;
	}
	tcp_stream_poll(m->ts);
	/* Waiting on the link: the time to compute keystream for the next frames, one
	 * frame's per call so that the NIC is polled in between: the whole ring at once
	 * would hold up whatever arrived meanwhile (in the stop-and-copy, the downtime). */
	if (r == MIG_BLOCKED && m->ch.state == HVC_ST_ESTABLISHED && hvc_channel_mode(&m->ch) == HVC_MODE_ENCRYPTED)
		hvc_channel_prefill_frames(&m->ch, m->bufs.msg_len, 0, 1);
	if (src.round != m->last_round || hv_now_ms() - m->last_report_ms >= 1000) {
		m->last_round = src.round;
		m->last_report_ms = hv_now_ms();
		hv_log("[hv] migrate: vm %u round %u: %lu pages left, dirty %lu pages/s, bandwidth %lu KiB/s, "
		       "predicted downtime %lu ms, rtt %lu ms, queued %lu KiB, state %s\r\n", m->vm->id, src.round,
		       (unsigned long)src.left, (unsigned long)src.pol.dirty_pps, (unsigned long)(src.pol.bw_Bps / 1024),
		       (unsigned long)(src.pol.predicted_ns / 1000000), (unsigned long)(src.rtt_ns / 1000000),
		       (unsigned long)(tcp_stream_unsent(m->ts) / 1024), mig_src_state_name(mig_source_state(&src)));
	}
	if (r == MIG_AGAIN || r == MIG_BLOCKED)
		return;
	uint32_t peer = m->ts->peer_ip;
	mig_guard_handshake(&guard, peer, m->handshake_done, now_ns(0));
	report_end(&src.stats, "source", r);
	if (r != MIG_DONE && mig_source_state(&src) == MIG_SRC_IN_DOUBT)
		hv_log("[hv] migrate: vm %u is IN DOUBT: commit sent, no confirmation; it stays paused here. "
		       "Check the destination, then 'migrate resolve resume|scrub'\r\n", m->vm->id);
	else if (r != MIG_DONE)
		hv_log("[hv] migrate: vm %u keeps running here (state %s)\r\n", m->vm->id, vm_state_name(m->vm->state));
	mig_guard_end(&guard, m->vm->id, r);
	if (mig_source_state(&src) != MIG_SRC_IN_DOUBT)
		side_end(m);
}

/* ---- incoming ---- */

static int on_incoming(void *ctx, struct tcp_stream *s)
{
	(void)ctx;
	uint32_t ip = s->peer_ip;
	int g = mig_guard_admit(&guard, ip, now_ns(0));
	if (g != MIG_OK || in_side.active || !hv_cfg.psk_len || crypto_broken) {
		hv_log("[hv] migrate: incoming connection from %u.%u.%u.%u refused: %s\r\n", ip >> 24,
		       (ip >> 16) & 255, (ip >> 8) & 255, ip & 255,
		       g != MIG_OK ? mig_strerror(g) : in_side.active ? "a migration is already coming in"
								   : "no PSK configured");
		return 1;
	}
	struct mig_side *m = &in_side;
	memset(m, 0, sizeof(*m));
	m->ts = s;
	m->t0_ms = hv_now_ms();
	/* Sized for the largest guest we accept; the bitmap is the source's only. */
	if (bufs_alloc(&m->bufs, 0) || channel_setup(m, HVC_ROLE_SERVER)) {
		bufs_free(&m->bufs);
		memset(m, 0, sizeof(*m));
		return 1;
	}
	struct mig_config cfg;
	memset(&cfg, 0, sizeof(cfg));
	cfg.batch_pages = MIG_BATCH;
	struct mig_guest_ops g2;
	memset(&g2, 0, sizeof(g2));
	g2.ctx = &m->vm;
	g2.prepare = g_prepare;
	g2.page_rw = g_page_rw;
	g2.load_state = g_load;
	g2.resume = g_resume_dst;
	g2.scrub = g_scrub_dst;
	struct mig_buffers mb;
	fill_buffers(&mb, &m->bufs);
	if (mig_dest_init(&dst, &cfg, &g2, &m->link, &clock, &mb) != MIG_OK) {
		hvc_channel_destroy(&m->ch);
		bufs_free(&m->bufs);
		memset(m, 0, sizeof(*m));
		return 1;
	}
	m->active = m->connected = 1;
	hv_log("[hv] migrate: incoming migration from %u.%u.%u.%u\r\n", ip >> 24, (ip >> 16) & 255,
	       (ip >> 8) & 255, ip & 255);
	return 0;
}

static void step_in(void)
{
	struct mig_side *m = &in_side;
	int r = MIG_AGAIN;
	for (unsigned i = 0; i < 16 && r == MIG_AGAIN; i++) {
		r = mig_dest_step(&dst);
		if (m->ch.state == HVC_ST_ESTABLISHED)
			m->handshake_done = 1;
	}
	tcp_stream_poll(m->ts);
	if (r == MIG_BLOCKED && m->ch.state == HVC_ST_ESTABLISHED && hvc_channel_mode(&m->ch) == HVC_MODE_ENCRYPTED)
		hvc_channel_prefill_frames(&m->ch, 0, m->bufs.msg_len, 1); /* as the source */
	if (r == MIG_AGAIN || r == MIG_BLOCKED)
		return;
	mig_guard_handshake(&guard, m->ts->peer_ip, m->handshake_done, now_ns(0));
	report_end(&dst.stats, "destination", r);
	/* The stream is done either way; the VM (if it runs) stays. */
	if (m->vm && r != MIG_DONE)
		m->vm->migrating = 0;
	m->vm = 0;
	side_end(m);
}

/* ---- entry points ---- */

void mig_hv_init(void)
{
	struct mig_guard_cfg gc;
	memset(&gc, 0, sizeof(gc));
	mig_guard_init(&guard, &gc);
	/* Known answers through every AES-GCM path this CPU runs, before any
	 * guest byte is trusted to them. */
	unsigned ran = 0, skipped = 0;
	fpu_host_begin();
	int err = hvc_crypto_selftest(&ran, &skipped);
	if (err) {
		crypto_broken = 1;
		hv_log("[hv] crypto: SELF-TEST FAILED (%s): migration disabled\r\n", hvc_strerror(err));
		return;
	}
	if (!ran) {
		crypto_broken = 1;
		hv_log("[hv] crypto: no AES-GCM implementation runs on this CPU (it needs AES-NI and "
		       "PCLMULQDQ): migration disabled\r\n");
		return;
	}
	char paths[64] = "";
	size_t n = 0;
	for (unsigned p = 0; p < 8; p++)
		if (ran & (1u << p))
			n += (size_t)hv_snprintf(paths + n, sizeof(paths) - n, "%s%s", n ? "," : "",
						 hvc_gcm_path_name((enum hvc_gcm_path)p));
	hv_log("[hv] crypto: AES-256-GCM self-test passed on %s\r\n", paths);
}

void mig_hv_poll(void)
{
	if (!listening && net_is_up() && hv_cfg.psk_len) {
		if (tcp_stream_listen((uint16_t)hv_cfg.mig_port, on_incoming, 0) == HV_OK)
			hv_log("[hv] migrate: listening on port %u\r\n", hv_cfg.mig_port);
		listening = 1;
	}
	if (!out_side.active && !in_side.active)
		return;
	fpu_host_begin(); /* the channel's crypto uses vector registers */
	if (out_side.active && !(out_side.connected && mig_source_state(&src) == MIG_SRC_IN_DOUBT))
		step_out();
	if (in_side.active)
		step_in();
}

static void psk_entered(const char *line)
{
	uint8_t psk[64];
	uint32_t len = 0;
	/* The secret line gets a reply like any command: lines, then ok/error. */
	if (config_parse_psk(line, psk, &len)) {
		pr_printf(&hv_console_printer, "error: the PSK must be 32 to 128 hex digits (16 to 64 bytes); unchanged\r\n");
	} else {
		memcpy(hv_cfg.psk, psk, len);
		memset(hv_cfg.psk + len, 0, sizeof(hv_cfg.psk) - len);
		hv_cfg.psk_len = len;
		pr_printf(&hv_console_printer, "PSK set (%u bytes)\r\nok\r\n", len);
	}
	memset(psk, 0, sizeof(psk));
}

/* `migrate set KEY VALUE` and `migrate psk`: settings that the boot
 * configuration also takes. */
static int settings(int argc, char **argv, const struct printer *p)
{
	if (argc == 4 && !hv_strcmp(argv[1], "peer")) {
		char spec[64];
		hv_snprintf(spec, sizeof(spec), "%s@%s", argv[2], argv[3]);
		int err = config_add_peer(&hv_cfg, spec, hv_cfg.mig_port);
		return err == HV_ERANGE ? HV_ERANGE : err ? HV_EINVAL : HV_OK;
	}
	if (argc == 2 && !hv_strcmp(argv[1], "psk")) {
		if (out_side.active || in_side.active)
			return HV_EBUSY;
		pr_printf(p, "type the PSK as hex on the next line (it is not echoed)\r\n");
		console_read_secret(psk_entered);
		return HV_OK;
	}
	if (argc != 4)
		return HV_EINVAL;
	if (out_side.active || in_side.active)
		return HV_EBUSY;
	static const char *const keys[] = { "key_id", "mig_policy", "mig_port", "downtime_ms", "outrun", "bw_cap_kib" };
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		if (!hv_strcmp(argv[2], keys[i])) {
			char word[96];
			hv_snprintf(word, sizeof(word), "%s=%s", argv[2], argv[3]);
			struct hv_config c = hv_cfg;
			int bad = config_parse(&c, word, p);
			if (bad)
				return HV_EINVAL;
			if (c.mig_port != hv_cfg.mig_port && listening)
				return HV_ESTATE; /* the listener is bound: a port change needs a restart */
			hv_cfg = c;
			memset(&c, 0, sizeof(c));
			return HV_OK;
		}
	return HV_EINVAL;
}

int mig_hv_command(int argc, char **argv, const struct printer *p)
{
	if (argc >= 2 && (!hv_strcmp(argv[1], "psk") || !hv_strcmp(argv[1], "set") || !hv_strcmp(argv[1], "peer")))
		return settings(argc, argv, p);
	if (argc >= 2 && !hv_strcmp(argv[1], "status")) {
		char buf[512];
		pr_printf(p, "migrate: psk=%s key_id=%u policy=%s port=%u downtime_target=%u ms outrun=%s "
			  "bw_cap=%u KiB/s%s\r\n", hv_cfg.psk_len ? "set" : "none", hv_cfg.key_id,
			  hv_cfg.mig_policy == 0 ? "required" : hv_cfg.mig_policy == 1 ? "opportunistic" : "disabled",
			  hv_cfg.mig_port, hv_cfg.downtime_ms, hv_cfg.outrun_abort ? "abort" : "throttle",
			  hv_cfg.bw_cap_kib, hv_cfg.bw_cap_kib ? "" : " (none)");
		if (out_side.active)
			pr_printf(p, "outgoing: vm %u %s round %u pages_left %lu\r\n", out_side.vm->id,
				  out_side.connected ? mig_src_state_name(mig_source_state(&src)) : "connecting",
				  src.round, (unsigned long)src.left);
		if (in_side.active)
			pr_printf(p, "incoming: %s vm %u\r\n", mig_dst_state_name(mig_dest_state(&dst)),
				  in_side.vm ? in_side.vm->id : 0);
		for (unsigned i = 0; i < hv_cfg.npeers; i++) {
			uint32_t ip = hv_cfg.peers[i].ip;
			pr_printf(p, "peer: %s %u.%u.%u.%u:%u\r\n", hv_cfg.peers[i].name, ip >> 24, (ip >> 16) & 255,
				  (ip >> 8) & 255, ip & 255, hv_cfg.peers[i].port);
		}
		mig_guard_format(&guard, buf, sizeof(buf));
		pr_printf(p, "counters: %s\r\n", buf);
		return HV_OK;
	}
	if (argc == 2 && !hv_strcmp(argv[1], "cancel")) {
		if (!out_side.active && !in_side.active)
			return HV_ENOENT;
		if (out_side.active && out_side.connected && mig_source_cancel(&src) != MIG_OK)
			return HV_ESTATE; /* past COMMIT: cancelling could leave two copies */
		if (out_side.active && !out_side.connected) {
			mig_guard_end(&guard, out_side.vm->id, MIG_E_CANCELLED);
			side_end(&out_side);
		}
		if (in_side.active)
			mig_dest_cancel(&dst);
		return HV_OK;
	}
	if (argc == 3 && !hv_strcmp(argv[1], "resolve")) {
		if (!out_side.active || mig_source_state(&src) != MIG_SRC_IN_DOUBT)
			return HV_ENOENT;
		int resume = !hv_strcmp(argv[2], "resume");
		if (!resume && hv_strcmp(argv[2], "scrub"))
			return HV_EINVAL;
		int r = mig_source_resolve(&src, resume);
		side_end(&out_side);
		return r == MIG_OK ? HV_OK : HV_EHW;
	}
	if (argc != 3)
		return HV_EINVAL;
	uint64_t id;
	uint32_t ip;
	uint16_t port;
	if (hv_parse_u64(argv[1], &id) || parse_peer(argv[2], &ip, &port))
		return HV_EINVAL;
	struct vm *vm = vm_by_id((unsigned)id);
	if (!vm)
		return HV_ENOENT;
	if (!net_is_up())
		return HV_ENOTSUP;
	if (crypto_broken) {
		pr_printf(p, "the channel's AES-GCM is unavailable on this CPU (see the [hv] crypto line at boot)\r\n");
		return HV_ENOTSUP;
	}
	if (!hv_cfg.psk_len && hv_cfg.mig_policy != 2)
		return HV_ENOTSUP;
	if (out_side.active)
		return HV_EEXIST;
	if (vm->state != VMS_RUNNING && vm->state != VMS_PARKED && vm->state != VMS_PAUSED)
		return HV_ESTATE;
	return start_out(vm, ip, port, p);
}
