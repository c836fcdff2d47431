/* Tests of the engine's link over the secure channel (hv/migrate/mig_link_hvc.c) with a
 * real channel pair: what reaches the engine when someone on the path rewrites the one
 * header field decided before the tag, the payload length (issue 13, finding 9). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>
#include "mem_transport.h"
#include "mig_err.h"
#include "mig_link_hvc.h"

#define RX_MAX	(64u * 1024)
#define ENG_CAP 4096u /* a receive buffer smaller than rx_max: the source's reply buffer */

static uint32_t new_length;
/* On the path: the next application frame client -> server gets another length. */
static void rewrite_length(void *ctx, struct mem_link *l, int dir, const uint8_t *buf, size_t len, struct mem_pipe *out)
{
	(void)ctx, (void)l;
	uint8_t tmp[RX_MAX + 64];
	memcpy(tmp, buf, len);
	if (dir == 0 && new_length && len >= HVC_HDR_LEN && tmp[1] >= HVC_FT_APP_MIN) {
		tmp[4] = (uint8_t)(new_length >> 24);
		tmp[5] = (uint8_t)(new_length >> 16);
		tmp[6] = (uint8_t)(new_length >> 8);
		tmp[7] = (uint8_t)new_length;
		new_length = 0;
	}
	mem_pipe_push(out, tmp, len);
}

struct pair {
	struct mem_link link;
	struct mem_end ce, se;
	struct hvc_channel c, s;
	struct fake_clock clk;
	uint8_t ctx[RX_MAX + 64], stx[RX_MAX + 64];
};

static void pair_up(struct pair *p, enum hvc_policy policy)
{
	static const uint8_t psk[32] = "link test pre-shared key 32 byte";
	memset(p, 0, sizeof(*p));
	mem_link_init(&p->link, 1u << 20);
	p->link.mitm = rewrite_length;
	p->ce = (struct mem_end){ &p->link, 0 };
	p->se = (struct mem_end){ &p->link, 1 };
	p->clk = (struct fake_clock){ 0, 1000 };
	struct hvc_config c = { 0 }, s;
	c.key_id = 1;
	c.psk = psk;
	c.psk_len = 32;
	c.policy = policy;
	c.clock = (struct hvc_clock){ &p->clk, fake_clock_now };
	c.entropy = det_entropy;
	c.rx_max = RX_MAX;
	s = c;
	c.role = HVC_ROLE_CLIENT;
	c.transport = mem_transport(&p->ce);
	c.tx_buf = p->ctx;
	c.tx_buf_len = sizeof(p->ctx);
	s.role = HVC_ROLE_SERVER;
	s.transport = mem_transport(&p->se);
	s.tx_buf = p->stx;
	s.tx_buf_len = sizeof(p->stx);
	assert_int_equal(hvc_channel_init(&p->c, &c), HVC_OK);
	assert_int_equal(hvc_channel_init(&p->s, &s), HVC_OK);
	int rc = HVC_AGAIN, rs = HVC_AGAIN;
	for (int i = 0; i < 100 && (rc != HVC_OK || rs != HVC_OK); i++) {
		if (rc != HVC_OK)
			rc = hvc_channel_handshake_step(&p->c);
		if (rs != HVC_OK)
			rs = hvc_channel_handshake_step(&p->s);
		assert_true(rc >= 0 && rs >= 0);
	}
	assert_int_equal(rc, HVC_OK);
	assert_int_equal(rs, HVC_OK);
}

static int recv_rewritten(enum hvc_policy policy, uint32_t length)
{
	struct pair *p = calloc(1, sizeof(*p));
	pair_up(p, policy);
	struct mig_hvc h;
	struct mig_link l;
	memset(&h, 0, sizeof(h));
	mig_hvc_link(&h, &p->s, sizeof(p->stx), &l);
	uint8_t msg[100] = { 1, 2, 3 };
	new_length = length;
	assert_int_equal(hvc_channel_send(&p->c, HVC_FT_APP_MIN, msg, sizeof(msg)), HVC_OK);
	uint8_t buf[ENG_CAP], type;
	size_t len;
	int r = MIG_AGAIN;
	for (int i = 0; i < 10 && r == MIG_AGAIN; i++)
		r = l.recv(l.ctx, &type, buf, sizeof(buf), &len);
	hvc_channel_destroy(&p->c);
	hvc_channel_destroy(&p->s);
	mem_link_free(&p->link);
	free(p);
	return r;
}

/* A length between the engine's buffer and rx_max is only known to be wrong after the
 * tag, which never comes: the frame is rejected as the channel's, never reported as the
 * peer's bad message (an ABORT that would blame an honest peer for an attacker's edit). */
static void rewritten_length_is_the_channels_failure(void **state)
{
	(void)state;
	static const enum hvc_policy policies[] = { HVC_POLICY_REQUIRED, HVC_POLICY_DISABLED };
	static const uint32_t lengths[] = { ENG_CAP + 1, RX_MAX, RX_MAX + 1, 0x7fffffffu };
	for (unsigned i = 0; i < 2; i++)
		for (unsigned k = 0; k < 4; k++) {
			int r = recv_rewritten(policies[i], lengths[k]);
			if (r != MIG_E_CHANNEL)
				fail_msg("policy %d, length %u: got %s, want channel-rejected-frame", policies[i],
					 lengths[k], mig_strerror(r));
		}
	/* Untouched, the message arrives. */
	assert_int_equal(recv_rewritten(HVC_POLICY_REQUIRED, 0), MIG_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rewritten_length_is_the_channels_failure),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
