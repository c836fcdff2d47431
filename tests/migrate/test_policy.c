/* Unit tests of the convergence policy and of the thrashing defences (token bucket,
 * backoff, retries, one migration per guest). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "mig.h"
#include "mig_guard.h"

#define MS  1000000ull
#define SEC 1000000000ull

static void test_defaults_and_predict(void **st)
{
	(void)st;
	struct mig_policy p;
	struct mig_policy_cfg c = { 0 };
	mig_policy_init(&p, &c);
	assert_int_equal(p.cfg.downtime_target_ns, 300 * MS);
	p.bw_Bps = 100000000; /* 100 MB/s */
	/* 1000 pages = 4.104 MB + 16 KiB state + 64 = 41.2 ms, + 2 ms fixed + 2 x 1 ms RTT */
	uint64_t d = mig_policy_predict(&p, 1000, 0, 1 * MS);
	assert_in_range(d, 45 * MS, 46 * MS);
	/* queued bytes count like pages */
	assert_in_range(mig_policy_predict(&p, 0, 10000000, 0), 102 * MS, 103 * MS);
	/* huge guests do not overflow */
	assert_true(mig_policy_predict(&p, 1ull << 28, 0, 0) > 10000 * SEC);
}

static void test_converges(void **st)
{
	(void)st;
	struct mig_policy p;
	struct mig_policy_cfg c = { .downtime_target_ns = 300 * MS };
	mig_policy_init(&p, &c);
	/* 1 GiB in 1 s at 1 GB/s, 10000 pages dirtied: ~43 ms predicted, within target, but a
	 * 41 ms round would leave ~410 pages (~4 ms): worth one more round. */
	struct mig_round_sample s = { 1 * SEC, 1000000000, 262144, 10000, 0, 100000 };
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_CONTINUE);
	assert_true(p.predicted_ns < 300 * MS);
	assert_int_equal(p.bw_Bps, 1000000000);
	assert_int_equal(p.dirty_pps, 10000);
	assert_int_equal(p.refine_rounds, 1);
	/* That round: 41 ms, 410 pages dirtied: ~4 ms predicted; the next would leave ~2.4 ms
	 * (fixed costs dominate): stop. */
	s = (struct mig_round_sample){ 41 * MS, 41000000, 10000, 410, 0, 100000 };
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_STOP);
	assert_true(p.predicted_ns < 5 * MS);
}

static void test_continue_then_stop(void **st)
{
	(void)st;
	struct mig_policy p;
	struct mig_policy_cfg c = { .downtime_target_ns = 100 * MS };
	mig_policy_init(&p, &c);
	/* 100 MB/s, 20000 pages dirty (82 MB -> 820 ms): continue */
	struct mig_round_sample s = { 10 * SEC, 1000000000, 244000, 20000, 0, 0 };
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_CONTINUE);
	assert_int_equal(p.refine_rounds, 0);
	/* 1000 pages in 80 ms (12500 pages/s): ~43 ms predicted; a 41 ms round would leave
	 * ~515 pages (~23 ms), not half: stop now. */
	s = (struct mig_round_sample){ 80 * MS, 8000000, 1950, 1000, 0, 0 };
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_STOP);
	assert_true(p.predicted_ns > 40 * MS && p.predicted_ns < 100 * MS);
}

/* Rounds that keep halving a within-target downtime are bounded. */
static void test_refine_bounded(void **st)
{
	(void)st;
	struct mig_policy p;
	struct mig_policy_cfg c = { .downtime_target_ns = 300 * MS, .fixed_ns = 1000, .refine_min_ns = 1 };
	mig_policy_init(&p, &c);
	struct mig_round_sample s = { 1 * SEC, 1000000000, 262144, 20000, 0, 0 };
	unsigned cont = 0;
	enum mig_decision d;
	while ((d = mig_policy_round(&p, &s)) == MIG_DEC_CONTINUE && cont < 100) {
		cont++;
		/* each round takes the predicted time and the guest dirties at 20000 pages/s */
		uint64_t dur = p.predicted_ns;
		s = (struct mig_round_sample){ dur,	  s.dirtied * 4104ull,
					       s.dirtied, 20000ull * dur / SEC ? 20000ull * dur / SEC : 1,
					       0,	  0 };
	}
	assert_int_equal(d, MIG_DEC_STOP);
	assert_int_equal(cont, MIG_REFINE_ROUNDS_MAX);
}

/* A round that would halve a downtime already tiny against the target is not worth its
 * cost in total time: it must save at least 1 % of the target (3 ms of 300) by default. */
static void test_refine_needs_real_gain(void **st)
{
	(void)st;
	struct mig_policy p;
	struct mig_policy_cfg c = { .downtime_target_ns = 300 * MS, .fixed_ns = 100000 };
	mig_policy_init(&p, &c);
	assert_int_equal(p.cfg.refine_min_ns, 3 * MS);
	/* 1 GB/s, 600 pages dirtied in 1 s: ~2.6 ms predicted; the next round would leave
	 * about 2 pages (~0.1 ms): half, but saving 2.5 ms only. */
	struct mig_round_sample s = { 1 * SEC, 1000000000, 262144, 600, 0, 0 };
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_STOP);
	assert_int_equal(p.refine_rounds, 0);
	/* the same with 2000 pages (~8.4 ms -> ~0.1 ms, saves 8 ms): one more round */
	mig_policy_init(&p, &c);
	s.dirtied = 2000;
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_CONTINUE);
	assert_int_equal(p.refine_rounds, 1);
}

static void test_outrun_throttle_steps(void **st)
{
	(void)st;
	struct mig_policy p;
	struct mig_policy_cfg c = {
		.downtime_target_ns = 10 * MS, .throttle_step_pct = 30, .throttle_max_pct = 80, .max_rounds = 10
	};
	mig_policy_init(&p, &c);
	/* Dirty rate equals bandwidth: outrun. */
	struct mig_round_sample s = { 1 * SEC, 41040000, 10000, 10000, 0, 0 };
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_CONTINUE); /* first outrun round */
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_THROTTLE);
	assert_int_equal(p.throttle_pct, 30);
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_THROTTLE);
	assert_int_equal(p.throttle_pct, 60);
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_THROTTLE);
	assert_int_equal(p.throttle_pct, 80); /* capped */
	for (int i = 0; i < 5; i++)
		assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_CONTINUE);
	/* Round limit while throttling: stop anyway (reported as forced). */
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_FORCE_STOP);
}

static void test_outrun_abort(void **st)
{
	(void)st;
	struct mig_policy p;
	struct mig_policy_cfg c = { .downtime_target_ns = 10 * MS, .outrun_abort = 1 };
	mig_policy_init(&p, &c);
	struct mig_round_sample s = { 1 * SEC, 41040000, 10000, 12000, 0, 0 };
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_CONTINUE);
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_ABORT);
	/* A transient burst resets the streak. */
	mig_policy_init(&p, &c);
	struct mig_round_sample calm = { 1 * SEC, 41040000, 10000, 3000, 0, 0 };
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_CONTINUE);
	assert_int_equal(mig_policy_round(&p, &calm), MIG_DEC_CONTINUE);
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_CONTINUE);
	assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_ABORT);
}

static void test_slow_convergence(void **st)
{
	(void)st;
	struct mig_policy p;
	struct mig_policy_cfg c = { .downtime_target_ns = 10 * MS };
	mig_policy_init(&p, &c);
	/* 100 MB/s; the set to send shrinks by only 10 % a round (dirty rate 60 % of the
	 * link by bytes, but a slow geometric series): throttle after two such rounds. */
	uint64_t dirtied = 20000;
	enum mig_decision d[4];
	for (int i = 0; i < 4; i++) {
		struct mig_round_sample s = { 1 * SEC, 100000000, 24000, dirtied, 0, 0 };
		d[i] = mig_policy_round(&p, &s);
		dirtied = dirtied * 9 / 10;
	}
	assert_int_equal(d[0], MIG_DEC_CONTINUE);
	assert_int_equal(d[1], MIG_DEC_CONTINUE);
	assert_int_equal(d[2], MIG_DEC_THROTTLE);
	/* Fast shrinking is left alone. */
	mig_policy_init(&p, &c);
	dirtied = 20000;
	for (int i = 0; i < 4; i++) {
		struct mig_round_sample s = { 1 * SEC, 100000000, 24000, dirtied, 0, 0 };
		assert_int_equal(mig_policy_round(&p, &s), MIG_DEC_CONTINUE);
		dirtied /= 2;
	}
}

static void test_zero_duration(void **st)
{
	(void)st;
	struct mig_policy p;
	struct mig_policy_cfg c = { 0 };
	mig_policy_init(&p, &c);
	struct mig_round_sample s = { 0, 0, 0, 0, 0, 0 };
	enum mig_decision d = mig_policy_round(&p, &s);
	assert_true(d == MIG_DEC_STOP || d == MIG_DEC_CONTINUE);
	assert_true(p.bw_Bps >= 1);
}

static void test_token_bucket(void **st)
{
	(void)st;
	struct mig_guard g;
	struct mig_guard_cfg c = { .burst = 2, .refill_ns = 10 * SEC };
	mig_guard_init(&g, &c);
	uint64_t t = 100 * SEC;
	assert_int_equal(mig_guard_admit(&g, 1, t), MIG_OK);
	assert_int_equal(mig_guard_admit(&g, 1, t), MIG_OK);
	assert_int_equal(mig_guard_admit(&g, 1, t), MIG_E_RATE_LIMITED);
	assert_int_equal(mig_guard_admit(&g, 2, t), MIG_OK); /* other peers unaffected */
	assert_int_equal(mig_guard_admit(&g, 1, t + 9 * SEC), MIG_E_RATE_LIMITED);
	assert_int_equal(mig_guard_admit(&g, 1, t + 10 * SEC), MIG_OK);
	assert_int_equal(mig_guard_admit(&g, 1, t + 10 * SEC), MIG_E_RATE_LIMITED);
	/* a long quiet period refills only up to the burst */
	assert_int_equal(mig_guard_admit(&g, 1, t + 1000 * SEC), MIG_OK);
	assert_int_equal(mig_guard_admit(&g, 1, t + 1000 * SEC), MIG_OK);
	assert_int_equal(mig_guard_admit(&g, 1, t + 1000 * SEC), MIG_E_RATE_LIMITED);
	assert_int_equal(g.c.rate_limited, 4);
	assert_int_equal(g.c.admitted, 6);
	char line[512];
	mig_guard_format(&g, line, sizeof(line));
	assert_non_null(strstr(line, "rate_limited=4"));
}

static void test_backoff(void **st)
{
	(void)st;
	struct mig_guard g;
	struct mig_guard_cfg c = { .burst = 100, .backoff_base_ns = 1 * SEC, .backoff_max_ns = 8 * SEC };
	mig_guard_init(&g, &c);
	uint64_t t = 0;
	uint64_t expect[] = { 1, 2, 4, 8, 8, 8 };
	for (int i = 0; i < 6; i++) {
		assert_int_equal(mig_guard_admit(&g, 7, t), MIG_OK);
		mig_guard_handshake(&g, 7, 0, t);
		assert_int_equal(mig_guard_admit(&g, 7, t + expect[i] * SEC - 1), MIG_E_BACKOFF);
		t += expect[i] * SEC;
	}
	assert_int_equal(g.c.hs_failed, 6);
	assert_int_equal(g.c.backoff_refused, 6);
	/* success resets the doubling */
	assert_int_equal(mig_guard_admit(&g, 7, t), MIG_OK);
	mig_guard_handshake(&g, 7, 1, t);
	mig_guard_handshake(&g, 7, 0, t);
	assert_int_equal(mig_guard_admit(&g, 7, t + 1 * SEC), MIG_OK);
}

static void test_retries(void **st)
{
	(void)st;
	struct mig_guard g;
	struct mig_guard_cfg c = { .max_retries = 2, .backoff_base_ns = 1 * SEC };
	mig_guard_init(&g, &c);
	uint64_t w;
	assert_int_equal(mig_guard_may_connect(&g, 5, 0, 0, &w), MIG_OK);
	mig_guard_handshake(&g, 5, 0, 0);
	assert_int_equal(mig_guard_may_connect(&g, 5, 1, 0, &w), MIG_E_BACKOFF);
	assert_int_equal(w, 1 * SEC);
	assert_int_equal(mig_guard_may_connect(&g, 5, 1, 1 * SEC, &w), MIG_OK);
	assert_int_equal(mig_guard_may_connect(&g, 5, 2, 1 * SEC, &w), MIG_OK);
	assert_int_equal(mig_guard_may_connect(&g, 5, 3, 1 * SEC, &w), MIG_E_RETRIES);
	assert_int_equal(g.c.retries, 2);
	assert_int_equal(g.c.retries_exhausted, 1);
}

static void test_one_per_guest(void **st)
{
	(void)st;
	struct mig_guard g;
	struct mig_guard_cfg c = { 0 };
	mig_guard_init(&g, &c);
	assert_int_equal(mig_guard_begin(&g, 3), MIG_OK);
	assert_int_equal(mig_guard_begin(&g, 3), MIG_E_BUSY);
	assert_int_equal(mig_guard_begin(&g, 4), MIG_OK);
	mig_guard_end(&g, 3, MIG_E_TIMEOUT);
	assert_int_equal(mig_guard_begin(&g, 3), MIG_OK);
	mig_guard_end(&g, 3, MIG_DONE);
	mig_guard_end(&g, 4, MIG_E_NOT_CONVERGING);
	assert_int_equal(g.c.busy_refused, 1);
	assert_int_equal(g.c.stalled, 1);
	assert_int_equal(g.c.completed, 1);
	assert_int_equal(g.c.aborted_outrun, 1);
	for (uint64_t i = 0; i < MIG_GUARD_GUESTS; i++)
		assert_int_equal(mig_guard_begin(&g, 100 + i), MIG_OK);
	assert_int_equal(mig_guard_begin(&g, 999), MIG_E_PEER_TABLE);
}

static void test_peer_table_eviction(void **st)
{
	(void)st;
	struct mig_guard g;
	struct mig_guard_cfg c = { .burst = 1, .backoff_base_ns = 100 * SEC };
	mig_guard_init(&g, &c);
	/* A penalised peer survives a flood of fresh addresses. */
	assert_int_equal(mig_guard_admit(&g, 1, 0), MIG_OK);
	mig_guard_handshake(&g, 1, 0, 0);
	for (uint64_t i = 0; i < 10 * MIG_GUARD_PEERS; i++)
		(void)mig_guard_admit(&g, 1000 + i, i + 1);
	assert_int_equal(mig_guard_admit(&g, 1, 50 * SEC), MIG_E_BACKOFF);
	/* When every slot backs off, new peers are refused. */
	for (uint64_t i = 0; i < MIG_GUARD_PEERS; i++) {
		(void)mig_guard_admit(&g, 5000 + i, 60 * SEC);
		mig_guard_handshake(&g, 5000 + i, 0, 60 * SEC);
	}
	assert_int_equal(mig_guard_admit(&g, 9999, 61 * SEC), MIG_E_PEER_TABLE);
	assert_true(g.c.table_full >= 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_predict),
		cmocka_unit_test(test_converges),
		cmocka_unit_test(test_continue_then_stop),
		cmocka_unit_test(test_refine_bounded),
		cmocka_unit_test(test_refine_needs_real_gain),
		cmocka_unit_test(test_outrun_throttle_steps),
		cmocka_unit_test(test_outrun_abort),
		cmocka_unit_test(test_slow_convergence),
		cmocka_unit_test(test_zero_duration),
		cmocka_unit_test(test_token_bucket),
		cmocka_unit_test(test_backoff),
		cmocka_unit_test(test_retries),
		cmocka_unit_test(test_one_per_guest),
		cmocka_unit_test(test_peer_table_eviction),
	};
	return cmocka_run_group_tests_name("migrate policy and throttle", tests, NULL, NULL);
}
