/* In-process tests of the two engines wired by a memory link (no sockets): a clean
 * migration, faults injected at every protocol step, guest-side failures, outrun policy. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "fake_guest.h"
#include "mig_proto.h"

struct rig {
	struct fake_guest sg, dg;
	struct mem_link l;
	struct ml_end es, ed;
	struct fake_clock clk;
	struct mig_source src;
	struct mig_dest dst;
	uint64_t *bitmap;
	uint8_t *smsg, *dmsg, sstate[MIG_STATE_MAX], sctl[64], dctl[64];
	int rs, rd, src_dead, dst_dead, both_ran, fired;
	uint8_t state_at_pause[512];
};

struct trigger {
	int side, state;
	enum ml_fault fault;
};

static void rig_init(struct rig *r, uint64_t npages, uint64_t wpt, long bw, const struct mig_policy_cfg *pc)
{
	memset(r, 0, sizeof(*r));
	fg_init(&r->sg, npages, 1, 42);
	fg_init(&r->dg, npages, 0, 7);
	r->sg.writes_per_tick = wpt;
	ml_init(&r->l, 4u << 20, bw);
	r->es = (struct ml_end){ .l = &r->l, .side = 0 };
	r->ed = (struct ml_end){ .l = &r->l, .side = 1 };
	r->clk.now = 1000;
	r->bitmap = calloc(MIG_BITMAP_WORDS(npages), 8);
	r->smsg = malloc(MIG_MSG_BUF_SIZE(MIG_BATCH_DEFAULT));
	r->dmsg = malloc(MIG_MSG_BUF_SIZE(MIG_BATCH_DEFAULT));
	struct mig_config cfg = { .mig_id = 0x1122334455667788ull,
				  .guest_id = 3,
				  .stall_timeout_ns = 50ull * 1000000ull };
	if (pc)
		cfg.policy = *pc;
	else
		cfg.policy.downtime_target_ns = 20ull * 1000000ull;
	struct mig_guest_ops so = fg_ops(&r->sg), dops = fg_ops(&r->dg);
	struct mig_link sl = ml_link(&r->es), dl = ml_link(&r->ed);
	struct mig_clock c = fc_clock(&r->clk);
	struct mig_buffers sb = { r->bitmap,	  r->smsg,	     MIG_MSG_BUF_SIZE(MIG_BATCH_DEFAULT),
				  r->sstate,	  sizeof(r->sstate), r->sctl,
				  sizeof(r->sctl) };
	struct mig_buffers db = {
		NULL, r->dmsg, MIG_MSG_BUF_SIZE(MIG_BATCH_DEFAULT), NULL, 0, r->dctl, sizeof(r->dctl)
	};
	assert_int_equal(mig_source_init(&r->src, &cfg, &so, &sl, &c, &sb), MIG_OK);
	struct mig_config dcfg = cfg;
	dcfg.mig_id = 0;
	assert_int_equal(mig_dest_init(&r->dst, &dcfg, &dops, &dl, &c, &db), MIG_OK);
}

static void rig_free(struct rig *r)
{
	fg_free(&r->sg);
	fg_free(&r->dg);
	ml_free(&r->l);
	free(r->bitmap);
	free(r->smsg);
	free(r->dmsg);
}

static int src_final(int st) { return st == MIG_SRC_DONE || st == MIG_SRC_FAILED || st == MIG_SRC_IN_DOUBT; }
static int dst_final(int st) { return st == MIG_DST_DONE || st == MIG_DST_FAILED; }

static void apply(struct rig *r, const struct trigger *t)
{
	switch (t->fault) {
	case ML_CUT: r->l.cut = 1; break;
	case ML_KILL:
		r->l.closed[t->side] = 1;
		if (t->side)
			r->dst_dead = 1;
		else
			r->src_dead = 1;
		break;
	case ML_STALL:
		r->l.stalled[t->side] = 1;
		if (t->side)
			r->dst_dead = 1;
		else
			r->src_dead = 1;
		break;
	case ML_CORRUPT: r->l.corrupt_next[t->side] = 1; break;
	case ML_NONE: break;
	}
}

static void rig_run(struct rig *r, const struct trigger *t)
{
	for (long i = 0; i < 400000; i++) {
		if (!r->src_dead)
			r->rs = mig_source_step(&r->src);
		if (t && !r->fired && t->side == 0 && (int)r->src.st == t->state) {
			r->fired = 1;
			apply(r, t);
		}
		if (!r->dst_dead)
			r->rd = mig_dest_step(&r->dst);
		if (t && !r->fired && t->side == 1 && (int)r->dst.st == t->state) {
			r->fired = 1;
			apply(r, t);
		}
		/* Never two runnable copies. */
		int src_runs = !r->src_dead && r->sg.running && !r->sg.paused;
		int dst_runs = r->dg.running && r->dg.resumed;
		if (src_runs && dst_runs)
			r->both_ran = 1;
		if ((r->src_dead || src_final(r->src.st)) && (r->dst_dead || dst_final(r->dst.st)))
			break;
		r->clk.now += 1000000;
		ml_tick(&r->l);
		if (!r->src_dead)
			fg_tick(&r->sg);
	}
}

static void check_equal_to_snapshot(struct rig *r)
{
	assert_memory_equal(r->dg.mem, r->sg.snap, r->sg.npages * MIG_PAGE_SIZE);
}

/* A whole migration of a guest that keeps writing; enc: over a link that says it is
 * encrypted, gathers and places (as the channel does). */
static void clean_migration(int enc)
{
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 4096, 20, 256 * 1024, NULL);
	r->l.enc = enc;
	r->sg.state_len = 300;
	rig_run(r, NULL);
	char line0[MIG_STATS_LINE_MAX];
	mig_stats_format(&r->src.stats, line0, sizeof(line0));
	print_message("%s\n", line0);
	assert_int_equal(r->rs, MIG_DONE);
	assert_int_equal(r->rd, MIG_DONE);
	assert_false(r->both_ran);
	check_equal_to_snapshot(r);
	assert_true(r->dg.loaded);
	assert_int_equal(r->dg.state_len, 300);
	assert_true(r->dg.resumed && r->dg.running);
	assert_true(r->sg.scrubbed);
	assert_true(fg_all_zero(&r->sg));
	assert_true(r->src.stats.rounds >= 2);
	assert_true(r->src.stats.zero_pages >= 500);
	assert_int_equal(r->src.stats.pages, r->dst.stats.pages);
	assert_non_null(strstr(line0, "result=done"));
	assert_non_null(strstr(line0, "role=src"));
	if (enc) {
		/* every PAGES message gathered, most data straight into the guest */
		assert_true(r->l.gathered_msgs > 0);
		assert_true(r->l.placed_bytes >= (r->src.stats.pages - r->src.stats.zero_pages) * MIG_PAGE_SIZE / 2);
		print_message("gathered %llu messages, placed %llu KiB\n", (unsigned long long)r->l.gathered_msgs,
			      (unsigned long long)(r->l.placed_bytes >> 10));
	} else {
		assert_int_equal(r->l.gathered_msgs, 0);
		assert_int_equal(r->l.placed_bytes, 0); /* the checksum needs the buffer */
	}
	rig_free(r);
	free(r);
}

static void test_clean_migration(void **st)
{
	(void)st;
	clean_migration(0);
}

/* The source's PAGES leave without a staging copy while its guest keeps writing, the
 * destination's data pages go straight into its guest, and the result is the same. */
static void test_gathered_and_placed_migration(void **st)
{
	(void)st;
	clean_migration(1);
}

/* One PAGES message from a peer (that holds the keys) straight to a destination in
 * RECEIVE: entries as given, data pages filled with their index + 1. */
static int evil_pages(struct rig *r, const uint64_t *ent, uint32_t count)
{
	static uint8_t msg[MIG_PAGES_HDR + 8 * 8 + 8 * MIG_PAGE_SIZE];
	struct mig_link evil = ml_link(&r->es);
	size_t len = MIG_PAGES_HDR + 8u * count;
	for (uint32_t i = 0; i < count; i++) {
		mig_put_be64(msg + MIG_PAGES_HDR + 8u * i, ent[i]);
		if (!(ent[i] & MIG_PFN_ZERO)) {
			memset(msg + len, (int)(i + 1), MIG_PAGE_SIZE);
			len += MIG_PAGE_SIZE;
		}
	}
	mig_enc_pages_hdr(msg, r->dst.round, count, 0);
	assert_int_equal(evil.send(evil.ctx, MIG_MSG_PAGES, msg, len), MIG_OK);
	for (int k = 0; k < 4; k++) {
		mig_dest_step(&r->dst);
		ml_tick(&r->l);
	}
	return r->dst.st == MIG_DST_FAILED ? r->dst.err : MIG_OK;
}

static int page_is(const struct rig *r, uint64_t pfn, int byte)
{
	const uint8_t *p = r->dg.mem + pfn * MIG_PAGE_SIZE;
	for (size_t i = 0; i < MIG_PAGE_SIZE; i++)
		if (p[i] != (uint8_t)byte)
			return 0;
	return 1;
}

/* The destination's placement reads a PAGES message before its tag is checked: whatever
 * the message says, it writes only the guest's own pages, the message is applied as it
 * would be without placement, and a bad one still fails the migration and is scrubbed. */
static void test_placement_hostile_pages(void **st)
{
	(void)st;
	for (int place = 0; place < 2; place++) {
		struct rig *r = calloc(1, sizeof(*r));
		rig_init(r, 64, 0, 1 << 20, NULL);
		r->l.enc = 1;
		if (!place)
			r->ed.where = NULL; /* the same messages, copied as without a channel's placement */
		for (int i = 0; i < 100000 && r->dst.st != MIG_DST_RECEIVE; i++) {
			mig_source_step(&r->src);
			mig_dest_step(&r->dst);
			r->clk.now += 1000000;
			ml_tick(&r->l);
		}
		assert_int_equal(r->dst.st, MIG_DST_RECEIVE);
		uint64_t placed0 = r->l.placed_bytes;
		/* an odd count: the entries end mid-block, nothing placed, all applied */
		const uint64_t odd[] = { 1, 2, 3 | MIG_PFN_ZERO };
		assert_int_equal(evil_pages(r, odd, 3), MIG_OK);
		assert_true(page_is(r, 1, 1) && page_is(r, 2, 2) && page_is(r, 3, 0));
		assert_int_equal(r->l.placed_bytes, placed0);
		/* an even count: placed (when the link places) */
		const uint64_t even[] = { 4, 10 | MIG_PFN_ZERO, 5, 6 };
		assert_int_equal(evil_pages(r, even, 4), MIG_OK);
		assert_true(page_is(r, 4, 1) && page_is(r, 5, 3) && page_is(r, 6, 4) && page_is(r, 10, 0));
		assert_int_equal(r->l.placed_bytes, placed0 + (place ? 3u * MIG_PAGE_SIZE : 0));
		/* a page named twice: the data entries in order, then the ZERO ones, either way */
		const uint64_t twice[] = { 7, 7 | MIG_PFN_ZERO, 8 | MIG_PFN_ZERO, 8, 9, 9 };
		assert_int_equal(evil_pages(r, twice, 6), MIG_OK);
		assert_true(page_is(r, 7, 0) && page_is(r, 8, 0) && page_is(r, 9, 6));
		/* a page past the guest after placed ones: refused, and all of it scrubbed */
		const uint64_t bad[] = { 11, 64 };
		assert_int_equal(evil_pages(r, bad, 2), MIG_E_BAD_PFN);
		assert_true(fg_all_zero(&r->dg));
		assert_null(r->ed.where); /* withdrawn before the scrub: nothing more goes in */
		rig_free(r);
		free(r);
	}
}

/* The link is asked to prepare the stop-and-copy (the channel makes its keystream) once,
 * while the guest still runs, with at least the bytes of the dirty set. */
static struct rig *prep_rig;
static int prep_calls, prep_paused_at_call;
static uint64_t prep_bytes;

static int prep_stop(void *ctx, uint64_t bytes)
{
	(void)ctx;
	prep_calls++;
	prep_paused_at_call = prep_rig->sg.paused;
	prep_bytes = bytes;
	return 5;
}

static void test_prepare_stop_before_pause(void **st)
{
	(void)st;
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 4096, 20, 256 * 1024, NULL);
	prep_rig = r;
	prep_calls = prep_paused_at_call = 0;
	r->src.link.prepare_stop = prep_stop;
	rig_run(r, NULL);
	assert_int_equal(r->rs, MIG_DONE);
	assert_int_equal(prep_calls, 1);
	assert_false(prep_paused_at_call);
	assert_true(r->src.stats.final_pages > 0);
	assert_true(prep_bytes >= r->src.stats.r[r->src.stats.rounds - 1].dirtied * MIG_WIRE_PAGE_BYTES);
	assert_int_equal(r->src.stats.stop_prepared, 5);
	char line[MIG_STATS_LINE_MAX];
	mig_stats_format(&r->src.stats, line, sizeof(line));
	assert_non_null(strstr(line, " stop_prepared=5 "));
	rig_free(r);
	free(r);
}

/* Before pausing, the source waits (guest running) until the destination has applied
 * every page sent: a backlog in the pipe would otherwise drain inside the stop. With the
 * destination frozen, the wait ends at the downtime target and the guest is paused anyway;
 * the migration then completes and is byte-exact. */
static uint64_t predicted_at_round_end;

static void run_with_frozen_dest(struct rig *r, long freeze_ticks, uint64_t *acked_at_pause, uint64_t *sent_at_pause)
{
	long frozen = -1;
	int was_paused = 0;
	predicted_at_round_end = 0;
	for (long i = 0; i < 400000; i++) {
		r->rs = mig_source_step(&r->src);
		if (!predicted_at_round_end && r->src.st == MIG_SRC_STOP)
			predicted_at_round_end = r->src.stats.predicted_ns;
		if (!was_paused && r->sg.paused) {
			was_paused = 1;
			*acked_at_pause = r->src.acked_pages;
			*sent_at_pause = r->src.sent_pages;
		}
		if (frozen < 0 && r->src.st == MIG_SRC_STOP && freeze_ticks)
			frozen = 0;
		if (frozen >= 0 && frozen < freeze_ticks)
			frozen++;
		else
			r->rd = mig_dest_step(&r->dst);
		if (r->sg.running && !r->sg.paused && r->dg.running && r->dg.resumed)
			r->both_ran = 1;
		if (src_final(r->src.st) && dst_final(r->dst.st))
			break;
		r->clk.now += 1000000;
		ml_tick(&r->l);
		fg_tick(&r->sg);
	}
}

static void test_stop_waits_for_destination(void **st)
{
	(void)st;
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 4096, 20, 256 * 1024, NULL);
	uint64_t acked = 0, sent = 0;
	run_with_frozen_dest(r, 0, &acked, &sent);
	assert_int_equal(r->rs, MIG_DONE);
	assert_int_equal(r->rd, MIG_DONE);
	assert_true(sent > 0);
	assert_int_equal(acked, sent); /* nothing in flight at the pause */
	assert_true(r->src.stats.drain_ns < 20ull * 1000000ull);
	check_equal_to_snapshot(r);
	rig_free(r);
	free(r);
}

static void test_stop_wait_bounded_by_target(void **st)
{
	(void)st;
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 4096, 20, 256 * 1024, NULL); /* target 20 ms; stall timeout 50 ms */
	uint64_t acked = 0, sent = 0;
	run_with_frozen_dest(r, 30, &acked, &sent);
	assert_int_equal(r->rs, MIG_DONE);
	assert_int_equal(r->rd, MIG_DONE);
	assert_false(r->both_ran);
	assert_true(acked < sent); /* paused with the destination still behind */
	assert_true(r->src.stats.drain_ns >= 20ull * 1000000ull);
	assert_true(r->src.stats.drain_ns <= 22ull * 1000000ull);
	/* predicted again at the pause: the guest dirtied more during the wait and nothing
	 * drained, so the stop now carries more than the round end predicted */
	assert_true(predicted_at_round_end > 0);
	assert_true(r->src.stats.predicted_ns > predicted_at_round_end);
	check_equal_to_snapshot(r);
	char line[MIG_STATS_LINE_MAX];
	mig_stats_format(&r->src.stats, line, sizeof(line));
	char want[48];
	snprintf(want, sizeof(want), " drain_us=%llu ", (unsigned long long)(r->src.stats.drain_ns / 1000u));
	assert_non_null(strstr(line, want));
	rig_free(r);
	free(r);
}

static int in(int v, const int *set, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (set[i] == v)
			return 1;
	return 0;
}

static const int link_errs[] = { MIG_E_TRANSPORT, MIG_E_PEER_CLOSED };
static const int corrupt_errs[] = { MIG_E_CHECKSUM,   MIG_E_BAD_ID,	  MIG_E_BAD_FIELD,  MIG_E_BAD_MAGIC,
				    MIG_E_PEER_ABORT, MIG_E_LIMIT,	  MIG_E_BAD_LENGTH, MIG_E_COUNT,
				    MIG_E_BAD_PFN,    MIG_E_BAD_GEOMETRY, MIG_E_UNEXPECTED, MIG_E_BAD_TYPE };

/* The outcome rules of docs/migration.md, checked after every injected fault. */
static void check_outcome(struct rig *r, const struct trigger *t, int *fails_seen)
{
	assert_false(r->both_ran);
	int dst_has_guest = r->dg.resumed && r->dg.running;
	if (!r->dst_dead && !dst_has_guest) {
		assert_int_equal(r->dst.st, MIG_DST_FAILED);
		if (r->dg.prepared || r->dst.stats.pages) {
			assert_true(r->dg.scrubbed);
			assert_true(fg_all_zero(&r->dg));
		}
	}
	if (!r->src_dead) {
		if (r->src.st == MIG_SRC_FAILED) {
			assert_true(r->sg.running && !r->sg.paused);
			assert_int_equal(r->sg.throttle, 0);
			assert_false(dst_has_guest);
			uint64_t before = r->sg.seq;
			r->sg.writes_per_tick = r->sg.writes_per_tick ? r->sg.writes_per_tick : 1;
			fg_tick(&r->sg);
			assert_true(r->sg.seq > before); /* still alive */
		} else if (r->src.st == MIG_SRC_IN_DOUBT) {
			assert_true(r->sg.paused);
			assert_int_equal(r->src.err, MIG_E_IN_DOUBT);
		} else {
			assert_int_equal(r->src.st, MIG_SRC_DONE);
			assert_true(dst_has_guest || r->dst_dead);
			assert_true(fg_all_zero(&r->sg));
		}
	}
	if (!r->fired)
		return;
	(*fails_seen)++;
	int se = r->src.st == MIG_SRC_IN_DOUBT ? r->src.detail : r->src.err;
	int de = r->dst.err;
	switch (t->fault) {
	case ML_CUT:
		if (!r->src_dead && r->src.st != MIG_SRC_DONE)
			assert_true(in(se, link_errs, 2));
		if (!dst_has_guest)
			assert_true(in(de, link_errs, 2));
		break;
	case ML_KILL:
		if (t->side == 1 && r->src.st != MIG_SRC_DONE)
			assert_true(in(se, link_errs, 2));
		if (t->side == 0 && !dst_has_guest)
			assert_true(in(de, link_errs, 2));
		break;
	case ML_STALL:
		if (t->side == 1 && r->src.st != MIG_SRC_DONE)
			assert_int_equal(se, MIG_E_TIMEOUT);
		if (t->side == 0 && !dst_has_guest)
			assert_int_equal(de, MIG_E_TIMEOUT);
		break;
	case ML_CORRUPT:
		if (r->src.st != MIG_SRC_DONE && !dst_has_guest)
			assert_true(in(se, corrupt_errs, sizeof(corrupt_errs) / sizeof(int)) ||
				    in(de, corrupt_errs, sizeof(corrupt_errs) / sizeof(int)));
		break;
	case ML_NONE: break;
	}
}

static void fault_matrix(enum ml_fault f)
{
	int fired = 0, runs = 0;
	for (int side = 0; side < 2; side++) {
		int nst = side ? MIG_DST_DONE : MIG_SRC_DONE;
		for (int s = 1; s < nst; s++) {
			struct trigger t = { side, s, f };
			struct rig *r = calloc(1, sizeof(*r));
			rig_init(r, 2048, 20, 128 * 1024, NULL);
			rig_run(r, &t);
			check_outcome(r, &t, &fired);
			runs++;
			if (r->fired && getenv("MIG_TEST_VERBOSE"))
				print_message("  %s %-13s -> src %-12s %-20s dst %-8s %s\n", side ? "dst" : "src",
					      side ? mig_dst_state_name(s) : mig_src_state_name(s),
					      mig_src_state_name(r->src.st),
					      mig_strerror(r->src.st == MIG_SRC_IN_DOUBT ? r->src.detail : r->src.err),
					      mig_dst_state_name(r->dst.st), mig_strerror(r->dst.err));
			rig_free(r);
			free(r);
		}
	}
	/* Every state an engine rests in between two steps was hit. */
	assert_true(fired >= 15);
	print_message("  %s: %d of %d injection points reached, outcome rules hold (MIG_TEST_VERBOSE=1 lists them)\n",
		      f == ML_CUT     ? "cut"
		      : f == ML_KILL  ? "kill"
		      : f == ML_STALL ? "stall"
				      : "corrupt",
		      fired, runs);
}

static void test_fault_cut(void **st)
{
	(void)st;
	fault_matrix(ML_CUT);
}
static void test_fault_kill(void **st)
{
	(void)st;
	fault_matrix(ML_KILL);
}
static void test_fault_stall(void **st)
{
	(void)st;
	fault_matrix(ML_STALL);
}
static void test_fault_corrupt(void **st)
{
	(void)st;
	fault_matrix(ML_CORRUPT);
}

static void guest_fault(int which, int want_src, int want_dst)
{
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 1024, 10, 128 * 1024, NULL);
	switch (which) {
	case 0: r->sg.fail_pause = 1; break;
	case 1: r->sg.fail_save = 1; break;
	case 2: r->dg.fail_prepare = 1; break;
	case 3: r->dg.fail_load = 1; break;
	case 4: r->dg.fail_resume = 1; break;
	case 5: r->sg.state_len = MIG_STATE_MAX + 1; break;
	}
	if (which == 5) { /* the fake can only hold 512 bytes: save it through a bigger fake */
		r->sg.state_len = sizeof(r->sg.state);
		r->sg.fail_save = 0;
	}
	rig_run(r, NULL);
	int f = 0;
	check_outcome(r, &(struct trigger){ 0, 0, ML_NONE }, &f);
	assert_int_equal(r->src.st, MIG_SRC_FAILED);
	assert_int_equal(r->src.err, want_src);
	assert_int_equal(r->dst.err, want_dst);
	rig_free(r);
	free(r);
}

static void test_guest_faults(void **st)
{
	(void)st;
	guest_fault(0, MIG_E_PAUSE, MIG_E_PEER_ABORT);
	guest_fault(1, MIG_E_SAVE_STATE, MIG_E_PEER_ABORT);
	guest_fault(2, MIG_E_PEER_ABORT, MIG_E_PREPARE);
	guest_fault(3, MIG_E_PEER_ABORT, MIG_E_LOAD_STATE);
	/* Resume failing after COMMIT: the destination scrubs and says so, the source resumes. */
	guest_fault(4, MIG_E_PEER_ABORT, MIG_E_RESUME);
}

static void test_dest_scrub_failure_reported(void **st)
{
	(void)st;
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 1024, 10, 128 * 1024, NULL);
	r->dg.fail_load = 1;
	r->dg.scrub_leaves_junk = 1;
	rig_run(r, NULL);
	assert_int_equal(r->dst.err, MIG_E_SCRUB);
	assert_int_equal(r->dst.detail, MIG_E_LOAD_STATE);
	rig_free(r);
	free(r);
}

static void test_outrun_abort(void **st)
{
	(void)st;
	struct mig_policy_cfg pc = { .downtime_target_ns = 20000000ull, .outrun_abort = 1 };
	struct rig *r = calloc(1, sizeof(*r));
	/* 200 pages per ms dirtied (800 MB/s) against 64 KiB per ms (64 MB/s). */
	rig_init(r, 2048, 200, 64 * 1024, &pc);
	rig_run(r, NULL);
	char line0[MIG_STATS_LINE_MAX];
	mig_stats_format(&r->src.stats, line0, sizeof(line0));
	print_message("%s\n", line0);
	assert_int_equal(r->src.err, MIG_E_NOT_CONVERGING);
	assert_int_equal(r->src.st, MIG_SRC_FAILED);
	assert_true(r->sg.running && !r->sg.paused);
	assert_int_equal(r->dst.err, MIG_E_PEER_ABORT);
	assert_int_equal(r->dst.detail, MIG_E_NOT_CONVERGING);
	assert_true(fg_all_zero(&r->dg));
	assert_true(r->src.stats.rounds <= 4);
	rig_free(r);
	free(r);
}

static void test_outrun_throttle(void **st)
{
	(void)st;
	struct mig_policy_cfg pc = { .downtime_target_ns = 20000000ull };
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 2048, 200, 64 * 1024, &pc);
	rig_run(r, NULL);
	char line0[MIG_STATS_LINE_MAX];
	mig_stats_format(&r->src.stats, line0, sizeof(line0));
	print_message("%s\n", line0);
	assert_int_equal(r->rs, MIG_DONE);
	assert_int_equal(r->rd, MIG_DONE);
	check_equal_to_snapshot(r);
	assert_true(r->src.stats.throttle_pct > 0);
	assert_true(r->src.stats.rounds < 30);
	assert_int_equal(r->src.stats.forced_stop, 0);
	rig_free(r);
	free(r);
}

/* Live parameters (migrate set during a migration): the same guest that outruns the link
 * and is aborted at a 20 ms target (test_outrun_abort) completes when, after its first
 * round, the target is raised to 10 s, or the outrun behaviour switched to throttling;
 * once the guest is paused the stop was decided and a change is refused. */
static void live_change(uint64_t target_ns, int outrun_abort)
{
	struct mig_policy_cfg pc = { .downtime_target_ns = 20000000ull, .outrun_abort = 1 };
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 2048, 200, 64 * 1024, &pc);
	for (long i = 0; i < 400000 && r->src.round < 1; i++) {
		mig_source_step(&r->src);
		mig_dest_step(&r->dst);
		r->clk.now += 1000000;
		ml_tick(&r->l);
		fg_tick(&r->sg);
	}
	assert_int_equal(r->src.round, 1);
	assert_int_equal(mig_source_set_policy(&r->src, target_ns, outrun_abort), MIG_OK);
	rig_run(r, NULL);
	assert_int_equal(r->rs, MIG_DONE);
	assert_int_equal(r->rd, MIG_DONE);
	check_equal_to_snapshot(r);
	if (target_ns)
		assert_int_equal(r->src.stats.target_ns, target_ns);
	assert_int_equal(mig_source_set_policy(&r->src, 1, -1), MIG_E_STATE);
	rig_free(r);
	free(r);
}

static void test_live_downtime_target(void **st)
{
	(void)st;
	live_change(10000000000ull, -1);
}

static void test_live_outrun(void **st)
{
	(void)st;
	live_change(0, 0);
}

static void test_cancel(void **st)
{
	(void)st;
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 1024, 10, 16 * 1024, NULL);
	for (int i = 0; i < 20; i++) {
		mig_source_step(&r->src);
		mig_dest_step(&r->dst);
		r->clk.now += 1000000;
		ml_tick(&r->l);
	}
	assert_int_equal(mig_source_cancel(&r->src), MIG_OK);
	assert_int_equal(r->src.st, MIG_SRC_FAILED);
	assert_int_equal(r->src.err, MIG_E_CANCELLED);
	rig_run(r, NULL);
	assert_int_equal(r->dst.err, MIG_E_PEER_ABORT);
	assert_int_equal(r->dst.detail, MIG_E_CANCELLED);
	assert_true(fg_all_zero(&r->dg));
	rig_free(r);
	free(r);
}

static void test_in_doubt_resolve(void **st)
{
	(void)st;
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 1024, 10, 128 * 1024, NULL);
	struct trigger t = { 0, MIG_SRC_WAIT_CONFIRM, ML_CUT };
	rig_run(r, &t);
	assert_int_equal(r->src.st, MIG_SRC_IN_DOUBT);
	assert_true(r->sg.paused);
	assert_false(r->dg.resumed); /* the cut came before COMMIT was delivered */
	assert_true(fg_all_zero(&r->dg));
	/* The operator learns the destination holds nothing and resumes here. */
	assert_int_equal(mig_source_resolve(&r->src, 1), MIG_OK);
	assert_false(r->sg.paused);
	assert_int_equal(mig_source_resolve(&r->src, 1), MIG_E_STATE);
	rig_free(r);
	free(r);
}

static void test_wrong_guest(void **st)
{
	(void)st;
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 256, 1, 128 * 1024, NULL);
	r->dst.cfg.guest_id = 4; /* this destination expects another guest */
	rig_run(r, NULL);
	assert_int_equal(r->dst.err, MIG_E_WRONG_GUEST);
	assert_int_equal(r->src.err, MIG_E_PEER_ABORT);
	assert_int_equal(r->src.detail, MIG_E_WRONG_GUEST);
	assert_true(r->sg.running && !r->sg.paused);
	rig_free(r);
	free(r);
}

/* The destination's CPU and clock: a guest that saw this CPUID profile and TSC rate runs
 * only where both are the same (the rate within 0.05 %); this one cannot virtualize a
 * local APIC. */
static int check_profile_here(void *ctx, uint32_t cpuid_id, uint32_t tsc_khz, uint32_t ann_flags)
{
	(void)ctx;
	if (ann_flags & MIG_ANN_F_APIC)
		return MIG_E_PROFILE;
	if (!cpuid_id && !tsc_khz)
		return MIG_OK;
	uint32_t d = tsc_khz > 50000 ? tsc_khz - 50000 : 50000 - tsc_khz;
	return cpuid_id == 0xc0ffee && (uint64_t)d * 2000 <= 50000 ? MIG_OK : MIG_E_PROFILE;
}

static void profile_case(uint32_t cpuid_id, uint32_t tsc_khz, int want)
{
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 256, 1, 128 * 1024, NULL);
	r->src.cfg.guest_apic = cpuid_id == 0xa91c; /* a guest with a local APIC */
	r->src.cfg.cpuid_id = cpuid_id;
	r->src.cfg.tsc_khz = tsc_khz;
	r->dst.g.check_profile = check_profile_here;
	rig_run(r, NULL);
	if (want == MIG_OK) {
		assert_int_equal(r->src.st, MIG_SRC_DONE);
	} else {
		/* Refused at ANNOUNCE: nothing prepared, the guest never stopped on the source. */
		assert_int_equal(r->dst.err, MIG_E_PROFILE);
		assert_int_equal(r->src.err, MIG_E_PEER_ABORT);
		assert_int_equal(r->src.detail, MIG_E_PROFILE);
		assert_true(r->sg.running && !r->sg.paused);
		assert_false(r->dg.prepared);
	}
	rig_free(r);
	free(r);
}

static void test_profile_mismatch_refused_before_accept(void **st)
{
	(void)st;
	profile_case(0, 0, MIG_OK);		       /* a guest that depends on neither */
	profile_case(0xc0ffee, 50010, MIG_OK);	       /* the same CPU, the rate within 0.05 % */
	profile_case(0xc0ffee, 51000, MIG_E_PROFILE);  /* another TSC rate */
	profile_case(0xbadcafe, 50000, MIG_E_PROFILE); /* another CPUID profile */
	profile_case(0xa91c, 0, MIG_E_PROFILE);	       /* a local APIC this host cannot virtualize */
}

/* Issue 13, finding 5: a source that holds the PSK and keeps sending PAGES inside one
 * round, or after STOP, resets the stall timer with every message; the destination must
 * end it (MIG_E_LIMIT) and scrub, not hold its memory and incoming slot forever. */
/* mode 0: within one round; 1: after STOP; 2: round after round, each within its bound,
 * until the whole exceeds MIG_DEST_MAX_COPIES times the guest. */
static void flood_pages(int mode)
{
	int after_stop = mode == 1;
	const uint64_t npages = 64;
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, npages, 0, 1 << 20, NULL);
	for (int i = 0; i < 100000 && r->dst.st != MIG_DST_RECEIVE; i++) {
		mig_source_step(&r->src);
		mig_dest_step(&r->dst);
		r->clk.now += 1000000;
		ml_tick(&r->l);
	}
	assert_int_equal(r->dst.st, MIG_DST_RECEIVE);
	/* From here on the source is the attacker's: the real engine is not stepped again. */
	struct mig_link evil = ml_link(&r->es);
	uint8_t msg[MIG_PAGES_HDR + 8];
	if (after_stop) {
		int n = mig_enc_id(msg, sizeof(msg), r->dst.cfg.mig_id);
		assert_int_equal(evil.send(evil.ctx, MIG_MSG_STOP, msg, (size_t)n), MIG_OK);
	}
	uint64_t sent = 0, max = mode == 2 ? (MIG_DEST_MAX_COPIES + 4) * npages : 4 * npages;
	uint32_t round = r->dst.round; /* the attacker's count: the destination lags behind */
	for (; sent < max && r->dst.st != MIG_DST_FAILED; sent++) {
		if (mode == 2 && sent && sent % npages == 0) {
			struct mig_round_end re = { round++, npages, npages };
			uint8_t rm[64];
			int n = mig_enc_round_end(rm, sizeof(rm), &re);
			while (evil.writable(evil.ctx) < (size_t)n + 8 && r->dst.st != MIG_DST_FAILED) {
				mig_dest_step(&r->dst);
				ml_tick(&r->l);
			}
			assert_int_equal(evil.send(evil.ctx, MIG_MSG_ROUND_END, rm, (size_t)n), MIG_OK);
		}
		mig_put_be64(msg + MIG_PAGES_HDR, (sent % npages) | MIG_PFN_ZERO);
		uint64_t sum = r->dst.csum ? mig_sum64(round, msg + MIG_PAGES_HDR, 8) : 0;
		mig_enc_pages_hdr(msg, round, 1, sum);
		while (evil.writable(evil.ctx) < sizeof(msg) && r->dst.st != MIG_DST_FAILED) {
			mig_dest_step(&r->dst);
			ml_tick(&r->l);
		}
		assert_int_equal(evil.send(evil.ctx, MIG_MSG_PAGES, msg, sizeof(msg)), MIG_OK);
		for (int k = 0; k < 4; k++) {
			mig_dest_step(&r->dst);
			r->clk.now += 1000; /* well inside the stall timeout: each message is progress */
			ml_tick(&r->l);
		}
	}
	assert_int_equal(r->dst.st, MIG_DST_FAILED);
	assert_int_equal(r->dst.err, MIG_E_LIMIT);
	if (mode == 2) {
		assert_true(sent <= MIG_DEST_MAX_COPIES * npages + 1);
		assert_true(r->dst.round < MIG_DEST_MAX_ROUNDS); /* the total, not the round limit */
	} else {
		assert_true(sent <= (after_stop ? 2 : 1) * npages + 1);
	}
	assert_true(fg_all_zero(&r->dg)); /* the partial copy is scrubbed */
	rig_free(r);
	free(r);
}

static void test_page_flood_in_round(void **st)
{
	(void)st;
	flood_pages(0);
}

static void test_page_flood_after_stop(void **st)
{
	(void)st;
	flood_pages(1);
}

static void test_page_flood_across_rounds(void **st)
{
	(void)st;
	flood_pages(2);
}

static void test_bad_init(void **st)
{
	(void)st;
	struct rig *r = calloc(1, sizeof(*r));
	rig_init(r, 64, 0, 1024, NULL);
	struct mig_config cfg = { .batch_pages = MIG_BATCH_MAX + 1 };
	struct mig_guest_ops o = fg_ops(&r->sg);
	struct mig_link l = ml_link(&r->es);
	struct mig_clock c = fc_clock(&r->clk);
	struct mig_buffers b = { r->bitmap, r->smsg, 10, r->sstate, sizeof(r->sstate), r->sctl, 64 };
	assert_int_equal(mig_source_init(&r->src, &cfg, &o, &l, &c, &b), MIG_E_INVAL);
	cfg.batch_pages = 0;
	assert_int_equal(mig_source_init(&r->src, &cfg, &o, &l, &c, &b), MIG_E_BUFFER);
	o.pause = NULL;
	assert_int_equal(mig_source_init(&r->src, &cfg, &o, &l, &c, &b), MIG_E_INVAL);
	rig_free(r);
	free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_clean_migration),
		cmocka_unit_test(test_gathered_and_placed_migration),
		cmocka_unit_test(test_placement_hostile_pages),
		cmocka_unit_test(test_prepare_stop_before_pause),
		cmocka_unit_test(test_stop_waits_for_destination),
		cmocka_unit_test(test_stop_wait_bounded_by_target),
		cmocka_unit_test(test_fault_cut),
		cmocka_unit_test(test_fault_kill),
		cmocka_unit_test(test_fault_stall),
		cmocka_unit_test(test_fault_corrupt),
		cmocka_unit_test(test_guest_faults),
		cmocka_unit_test(test_dest_scrub_failure_reported),
		cmocka_unit_test(test_outrun_abort),
		cmocka_unit_test(test_outrun_throttle),
		cmocka_unit_test(test_cancel),
		cmocka_unit_test(test_in_doubt_resolve),
		cmocka_unit_test(test_wrong_guest),
		cmocka_unit_test(test_profile_mismatch_refused_before_accept),
		cmocka_unit_test(test_page_flood_in_round),
		cmocka_unit_test(test_page_flood_after_stop),
		cmocka_unit_test(test_page_flood_across_rounds),
		cmocka_unit_test(test_live_downtime_target),
		cmocka_unit_test(test_live_outrun),
		cmocka_unit_test(test_bad_init),
	};
	return cmocka_run_group_tests_name("migrate engine (in-process)", tests, NULL, NULL);
}
