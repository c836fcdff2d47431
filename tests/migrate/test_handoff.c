/* An on-path attacker against whole migrations (both engines over a real channel pair):
 * forged ABORT/CONFIRM, a page altered with its checksum recomputed, a dropped frame, in
 * plaintext and encrypted mode. Plaintext must end like encrypted: never two runnable
 * copies, never a lost guest, never a wrong page (issue 13, finding 3). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
/* Both helpers name a struct mem_link and a struct fake_clock of their own. */
#define mem_link   ml_mem_link
#define fake_clock ml_fake_clock
#include "fake_guest.h"
#undef mem_link
#undef fake_clock
#include "mem_transport.h"
#include "mig_err.h"
#include "mig_link_hvc.h"
#include "mig_proto.h"

#define NPAGES 32
#define TXBUF  (MIG_MSG_BUF_SIZE(MIG_BATCH_DEFAULT) + HVC_FRAME_OVERHEAD)

enum attack { A_NONE, A_FORGE_ABORT, A_FORGE_CONFIRM, A_ALTER_PAGE, A_DROP_PAGES };

/* The attacker reassembles each direction's byte stream into frames from their clear
 * headers (it knows the format, not the keys) and forwards, drops or replaces them. */
struct attacker {
	enum attack what;
	int done;
	uint8_t *acc[2];
	size_t acc_len[2];
	uint64_t mig_id;
	uint64_t dst_seq; /* sequence number the destination's next frame will carry */
};

static size_t frame_len(const uint8_t *h)
{
	size_t len = ((size_t)h[4] << 24) | ((size_t)h[5] << 16) | ((size_t)h[6] << 8) | h[7];
	int tagged = h[1] >= HVC_FT_REKEY && (h[0] >= 2 || (h[3] & HVC_FLAG_ENCRYPTED));
	return HVC_HDR_LEN + len + (tagged ? HVC_TAG_LEN : 0);
}

static uint64_t seq_of(const uint8_t *h)
{
	uint64_t s = 0;
	for (int i = 8; i < 16; i++)
		s = s << 8 | h[i];
	return s;
}

/* A frame the attacker makes up: a plausible header and payload and, where the format
 * wants one, a tag it cannot compute. */
static void forge(struct mem_pipe *out, const uint8_t *like, uint8_t type, const uint8_t *payload, size_t len,
		  uint64_t seq)
{
	uint8_t f[HVC_HDR_LEN + 64 + HVC_TAG_LEN];
	memcpy(f, like, HVC_HDR_LEN);
	f[1] = type;
	f[4] = f[5] = f[6] = 0;
	f[7] = (uint8_t)len;
	for (int i = 0; i < 8; i++)
		f[8 + i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(f + HVC_HDR_LEN, payload, len);
	memset(f + HVC_HDR_LEN + len, 0xa5, HVC_TAG_LEN);
	mem_pipe_push(out, f, frame_len(f));
}

static void on_frame(struct attacker *a, struct mem_link *l, int dir, uint8_t *f, size_t n, struct mem_pipe *out)
{
	uint8_t type = f[1];
	uint8_t *p = f + HVC_HDR_LEN;
	if (dir == 1)
		a->dst_seq = seq_of(f) + 1;
	if (type == MIG_MSG_ANNOUNCE && dir == 0)
		a->mig_id = mig_get_be64(p + 8); /* in the clear in plaintext mode */
	if (!a->done && a->what == A_FORGE_ABORT && dir == 1 && type == MIG_MSG_CONFIRM) {
		/* the destination runs the guest; tell the source it refused */
		uint8_t ab[MIG_ABORT_LEN];
		struct mig_abort m = { a->mig_id, MIG_E_RESUME };
		mig_enc_abort(ab, sizeof(ab), &m);
		forge(out, f, MIG_MSG_ABORT, ab, sizeof(ab), seq_of(f));
		a->done = 1;
		return;
	}
	if (!a->done && a->what == A_FORGE_CONFIRM && dir == 0 && type == MIG_MSG_COMMIT) {
		/* the destination never commits; tell the source it did */
		uint8_t id[8];
		mig_put_be64(id, a->mig_id);
		forge(&l->p[1], f, MIG_MSG_CONFIRM, id, sizeof(id), a->dst_seq);
		a->done = 1;
		return;
	}
	if (!a->done && a->what == A_ALTER_PAGE && dir == 0 && type == MIG_MSG_PAGES && !(f[3] & HVC_FLAG_ENCRYPTED)) {
		uint32_t len = (uint32_t)(n - HVC_HDR_LEN - (f[0] >= 2 ? HVC_TAG_LEN : 0));
		uint32_t count = mig_get_be32(p + 4);
		if (len > MIG_PAGES_HDR + 8 * count) {
			p[len - 1] ^= 0x01; /* the last byte of the last page sent */
			mig_put_be64(p + 8, mig_sum64(mig_get_be32(p), p + MIG_PAGES_HDR, len - MIG_PAGES_HDR));
			a->done = 1;
		}
	} else if (!a->done && a->what == A_ALTER_PAGE && dir == 0 && type == MIG_MSG_PAGES) {
		f[HVC_HDR_LEN + n / 2 - 8] ^= 0x01; /* ciphertext: nothing to recompute */
		a->done = 1;
	}
	if (!a->done && a->what == A_DROP_PAGES && dir == 0 && type == MIG_MSG_PAGES) {
		a->done = 1;
		return;
	}
	mem_pipe_push(out, f, n);
}

static void mitm(void *ctx, struct mem_link *l, int dir, const uint8_t *buf, size_t len, struct mem_pipe *out)
{
	struct attacker *a = ctx;
	memcpy(a->acc[dir] + a->acc_len[dir], buf, len);
	a->acc_len[dir] += len;
	for (;;) {
		if (a->acc_len[dir] < HVC_HDR_LEN)
			return;
		size_t n = frame_len(a->acc[dir]);
		if (a->acc_len[dir] < n)
			return;
		on_frame(a, l, dir, a->acc[dir], n, out);
		memmove(a->acc[dir], a->acc[dir] + n, a->acc_len[dir] - n);
		a->acc_len[dir] -= n;
	}
}

/* The byte stream under each channel: one end of the in-memory link. */
static size_t b_writable(void *ctx)
{
	struct mem_end *e = ctx;
	struct mem_pipe *p = &e->link->p[e->dir];
	return p->cap - mem_pipe_len(p) > 4096 ? p->cap - mem_pipe_len(p) - 4096 : 0;
}
static int b_send(void *ctx, const void *buf, size_t len) { return mem_send(ctx, buf, len); }
static long b_recv(void *ctx, void *buf, size_t len) { return mem_recv(ctx, buf, len); }

struct rig {
	struct fake_guest sg, dg;
	struct mem_link link;
	struct mem_end ce, se;
	struct attacker atk;
	struct fake_clock cclk;
	struct ml_fake_clock eclk;
	struct hvc_channel c, s;
	struct mig_hvc hc, hs;
	struct mig_source src;
	struct mig_dest dst;
	uint8_t ctx[TXBUF], stx[TXBUF];
	uint64_t *bitmap;
	uint8_t *smsg, *dmsg, sstate[MIG_STATE_MAX], sctl[64], dctl[64];
	int rs, rd, both_ran;
};

static void channel_cfg(struct rig *r, struct hvc_config *c, enum hvc_policy policy, enum hvc_role role)
{
	static const uint8_t psk[32] = "handoff test pre-shared key 32 b";
	memset(c, 0, sizeof(*c));
	c->role = role;
	c->policy = policy;
	c->key_id = 1;
	c->psk = psk;
	c->psk_len = sizeof(psk);
	c->clock = (struct hvc_clock){ &r->cclk, fake_clock_now };
	c->entropy = det_entropy;
	c->rx_max = (uint32_t)(TXBUF - HVC_FRAME_OVERHEAD);
	c->tx_buf = role == HVC_ROLE_CLIENT ? r->ctx : r->stx;
	c->tx_buf_len = TXBUF;
}

static struct rig *rig_new(enum hvc_policy policy, enum attack what)
{
	struct rig *r = calloc(1, sizeof(*r));
	fg_init(&r->sg, NPAGES, 1, 42);
	fg_init(&r->dg, NPAGES, 0, 7);
	r->sg.writes_per_tick = 2;
	mem_link_init(&r->link, 4u << 20);
	r->atk.what = what;
	r->atk.acc[0] = malloc(4u << 20);
	r->atk.acc[1] = malloc(4u << 20);
	r->link.mitm = mitm;
	r->link.mitm_ctx = &r->atk;
	r->ce = (struct mem_end){ &r->link, 0 };
	r->se = (struct mem_end){ &r->link, 1 };
	r->cclk = (struct fake_clock){ 0, 1000 };
	r->eclk.now = 1000;
	struct hvc_config cc, sc;
	r->hc.bytes = (struct mig_bytes){ &r->ce, b_writable, NULL, b_send, b_recv, NULL, NULL, NULL };
	r->hs.bytes = (struct mig_bytes){ &r->se, b_writable, NULL, b_send, b_recv, NULL, NULL, NULL };
	channel_cfg(r, &cc, policy, HVC_ROLE_CLIENT);
	channel_cfg(r, &sc, policy, HVC_ROLE_SERVER);
	cc.transport = mig_hvc_transport(&r->hc);
	sc.transport = mig_hvc_transport(&r->hs);
	assert_int_equal(hvc_channel_init(&r->c, &cc), HVC_OK);
	assert_int_equal(hvc_channel_init(&r->s, &sc), HVC_OK);
	struct mig_link sl, dl;
	mig_hvc_link(&r->hc, &r->c, TXBUF, &sl);
	mig_hvc_link(&r->hs, &r->s, TXBUF, &dl);

	r->bitmap = calloc(MIG_BITMAP_WORDS(NPAGES), 8);
	r->smsg = malloc(MIG_MSG_BUF_SIZE(MIG_BATCH_DEFAULT));
	r->dmsg = malloc(MIG_MSG_BUF_SIZE(MIG_BATCH_DEFAULT));
	struct mig_config cfg = { .mig_id = 0x1122334455667788ull,
				  .guest_id = 3,
				  .stall_timeout_ns = 50ull * 1000000ull };
	cfg.policy.downtime_target_ns = 20ull * 1000000ull;
	struct mig_guest_ops so = fg_ops(&r->sg), dops = fg_ops(&r->dg);
	struct mig_clock clk = fc_clock(&r->eclk);
	struct mig_buffers sb = { r->bitmap,	  r->smsg,	     MIG_MSG_BUF_SIZE(MIG_BATCH_DEFAULT),
				  r->sstate,	  sizeof(r->sstate), r->sctl,
				  sizeof(r->sctl) };
	struct mig_buffers db = {
		NULL, r->dmsg, MIG_MSG_BUF_SIZE(MIG_BATCH_DEFAULT), NULL, 0, r->dctl, sizeof(r->dctl)
	};
	assert_int_equal(mig_source_init(&r->src, &cfg, &so, &sl, &clk, &sb), MIG_OK);
	cfg.mig_id = 0;
	assert_int_equal(mig_dest_init(&r->dst, &cfg, &dops, &dl, &clk, &db), MIG_OK);
	return r;
}

static void rig_free(struct rig *r)
{
	hvc_channel_destroy(&r->c);
	hvc_channel_destroy(&r->s);
	mem_link_free(&r->link);
	fg_free(&r->sg);
	fg_free(&r->dg);
	free(r->atk.acc[0]);
	free(r->atk.acc[1]);
	free(r->bitmap);
	free(r->smsg);
	free(r->dmsg);
	free(r);
}

static int src_final(int st) { return st == MIG_SRC_DONE || st == MIG_SRC_FAILED || st == MIG_SRC_IN_DOUBT; }
static int dst_final(int st) { return st == MIG_DST_DONE || st == MIG_DST_FAILED; }

static void rig_run(struct rig *r)
{
	for (long i = 0; i < 200000; i++) {
		r->rs = mig_source_step(&r->src);
		r->rd = mig_dest_step(&r->dst);
		if (r->sg.running && !r->sg.paused && r->dg.running && r->dg.resumed)
			r->both_ran = 1;
		if (src_final(r->src.st) && dst_final(r->dst.st))
			break;
		r->eclk.now += 1000000;
		fg_tick(&r->sg);
	}
}

static const char *pol_name(enum hvc_policy p) { return p == HVC_POLICY_DISABLED ? "plaintext" : "encrypted"; }

/* The rules of docs/migration.md, whatever the attacker did. */
static void check_outcome(struct rig *r, enum hvc_policy pol, const char *what)
{
	int dst_has = r->dst.st == MIG_DST_DONE;
	int src_runs = r->sg.running && !r->sg.paused;
	int src_kept = src_runs || r->src.st == MIG_SRC_IN_DOUBT; /* paused, memory intact */
	if (getenv("HANDOFF_DEBUG"))
		fprintf(stderr, "%s, %s: src st %d rs %s (detail %d), dst st %d rd %s, fired %d\n", pol_name(pol), what,
			r->src.st, mig_strerror(r->rs), r->src.stats.detail, r->dst.st, mig_strerror(r->rd),
			r->atk.done);
	if (!src_final(r->src.st) || !dst_final(r->dst.st))
		fail_msg("%s, %s: did not end (src %d, dst %d)", pol_name(pol), what, r->src.st, r->dst.st);
	if (r->both_ran)
		fail_msg("%s, %s: two runnable copies (source %s, destination done)", pol_name(pol), what,
			 mig_strerror(r->rs));
	if (!dst_has && !src_kept)
		fail_msg("%s, %s: guest lost (source %s, destination %s)", pol_name(pol), what, mig_strerror(r->rs),
			 mig_strerror(r->rd));
	if (dst_has && memcmp(r->dg.mem, r->sg.snap, NPAGES * MIG_PAGE_SIZE) != 0)
		fail_msg("%s, %s: the destination runs a guest that differs from the source's", pol_name(pol), what);
	if (!dst_has && !fg_all_zero(&r->dg))
		fail_msg("%s, %s: a failed destination kept guest data", pol_name(pol), what);
}

static void run_attack(enum attack what, const char *name, int must_fire)
{
	static const enum hvc_policy pols[] = { HVC_POLICY_DISABLED, HVC_POLICY_REQUIRED };
	for (unsigned i = 0; i < 2; i++) {
		struct rig *r = rig_new(pols[i], what);
		rig_run(r);
		if (must_fire && !r->atk.done)
			fail_msg("%s, %s: the attack never found its frame", pol_name(pols[i]), name);
		check_outcome(r, pols[i], name);
		/* a tampered migration never completes */
		if (what != A_NONE && r->dst.st == MIG_DST_DONE && r->src.st == MIG_SRC_DONE &&
		    (what == A_ALTER_PAGE || what == A_DROP_PAGES))
			fail_msg("%s, %s: completed despite tampering", pol_name(pols[i]), name);
		rig_free(r);
	}
}

static void untouched_migration_completes(void **st)
{
	(void)st;
	static const enum hvc_policy pols[] = { HVC_POLICY_DISABLED, HVC_POLICY_REQUIRED };
	for (unsigned i = 0; i < 2; i++) {
		struct rig *r = rig_new(pols[i], A_NONE);
		rig_run(r);
		assert_int_equal(r->src.st, MIG_SRC_DONE);
		assert_int_equal(r->dst.st, MIG_DST_DONE);
		check_outcome(r, pols[i], "no attack");
		rig_free(r);
	}
}

/* CONFIRM dropped, ABORT forged in its place: the bait-and-switch of finding 3. */
static void forged_abort_after_confirm(void **st)
{
	(void)st;
	run_attack(A_FORGE_ABORT, "forged ABORT for a dropped CONFIRM", 1);
}

/* COMMIT dropped, CONFIRM forged: the source would scrub a guest nobody runs. */
static void forged_confirm_for_dropped_commit(void **st)
{
	(void)st;
	run_attack(A_FORGE_CONFIRM, "forged CONFIRM for a dropped COMMIT", 1);
}

static void altered_page_with_its_checksum(void **st)
{
	(void)st;
	run_attack(A_ALTER_PAGE, "a page bit flipped, checksum recomputed", 1);
}

static void dropped_pages_frame(void **st)
{
	(void)st;
	run_attack(A_DROP_PAGES, "a PAGES frame dropped", 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(untouched_migration_completes),
		cmocka_unit_test(forged_abort_after_confirm),
		cmocka_unit_test(forged_confirm_for_dropped_commit),
		cmocka_unit_test(altered_page_with_its_checksum),
		cmocka_unit_test(dropped_pages_frame),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
