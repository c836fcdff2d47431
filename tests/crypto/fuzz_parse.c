/* libFuzzer target for frame and handshake parsing. The input picks a scenario and is
 * XORed over (or replaces) the bytes a real peer sends: server and client handshake
 * states, an established encrypted channel, and a plaintext-mode channel. Any crash,
 * sanitizer report, hang, or an accepted frame that was modified is a finding. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hvc_channel.h"
#include "mem_secure.h"
#include "mem_transport.h"

#define BUFSZ (64 * 1024)

static uint64_t ent_state;

struct fz {
	struct mem_link link;
	struct mem_end ce, se;
	struct hvc_channel c, s;
	uint8_t ctx[BUFSZ], stx[BUFSZ], rbuf[BUFSZ], ks[8192];
	struct fake_clock clk;
};
static struct fz *F;
static const uint8_t PSK[32] = "fuzzing pre-shared key 32 bytes";

static void setup(enum hvc_policy pc, enum hvc_policy ps)
{
	struct hvc_config c = { 0 }, s;
	mem_link_free(&F->link);
	mem_link_init(&F->link, 4096);
	F->ce = (struct mem_end){ &F->link, 0 };
	F->se = (struct mem_end){ &F->link, 1 };
	F->clk = (struct fake_clock){ 0, 1000000000ull };
	c.key_id = 1;
	c.psk = PSK;
	c.psk_len = 32;
	c.clock = (struct hvc_clock){ &F->clk, fake_clock_now };
	c.stall_timeout_ns = 3000000000ull;
	c.entropy = det_entropy;
	c.entropy_ctx = &ent_state;
	c.rx_max = BUFSZ - HVC_FRAME_OVERHEAD;
	s = c;
	c.role = HVC_ROLE_CLIENT;
	c.policy = pc;
	c.transport = mem_transport(&F->ce);
	c.tx_buf = F->ctx;
	c.tx_buf_len = BUFSZ;
	s.role = HVC_ROLE_SERVER;
	s.policy = ps;
	s.transport = mem_transport(&F->se);
	s.tx_buf = F->stx;
	s.tx_buf_len = BUFSZ;
	ent_state = 42;
	if (hvc_channel_init(&F->c, &c) != HVC_OK || hvc_channel_init(&F->s, &s) != HVC_OK)
		abort();
}

/* Moves what is queued in pipe dir through f: XOR with data (cycled), then, if the
 * input is longer than the traffic, the rest appended. */
static size_t mangle(int dir, const uint8_t *d, size_t n)
{
	struct mem_pipe *p = &F->link.p[dir];
	size_t len = mem_pipe_len(p);
	uint8_t *tmp = malloc(len + n + 1);
	mem_pipe_pull(p, tmp, len);
	for (size_t i = 0; i < len && i < n; i++)
		tmp[i] ^= d[i];
	if (n > len) {
		memcpy(tmp + len, d + len, n - len);
		len = n;
	}
	size_t genuine = mem_pipe_len(p);
	mem_pipe_push(p, tmp, len);
	free(tmp);
	p->eof = 1;
	return genuine;
}

/* Did the input change any of the first n genuine bytes? */
static int touched(const uint8_t *d, size_t size, size_t n)
{
	int t = 0;
	for (size_t j = 0; j < size && j < n; j++)
		t |= d[j];
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!F) {
		F = calloc(1, sizeof(*F));
		mem_link_init(&F->link, 4096);
	}
	if (size < 2)
		return 0;
	uint8_t mode = data[0] % 4, arg = data[1];
	data += 2;
	size -= 2;
	int rc = HVC_OK, i;
	size_t genuine;
	uint8_t type;
	size_t len;

	switch (mode) {
	case 0: /* server parses a (mangled) client hello, then finished */
		setup(HVC_POLICY_REQUIRED, (enum hvc_policy)(arg % 3));
		rc = hvc_channel_handshake_step(&F->c); /* client hello queued */
		rc = hvc_channel_handshake_step(&F->s);
		if (rc == HVC_AGAIN) { /* let the genuine client answer, then mangle that too */
			hvc_channel_handshake_step(&F->c);
		}
		genuine = mangle(0, data, size);
		for (i = 0; i < 100 && (rc = hvc_channel_handshake_step(&F->s)) == HVC_AGAIN; i++)
			;
		if (i == 100)
			abort(); /* must end: EOF or timeout */
		if (rc == HVC_OK && touched(data, size, genuine))
			abort(); /* a modified FINISH_C authenticated */
		break;
	case 1: /* client parses a (mangled) server hello + finished */
		setup((enum hvc_policy)(arg % 3), HVC_POLICY_OPPORTUNISTIC);
		hvc_channel_handshake_step(&F->c);
		hvc_channel_handshake_step(&F->s);
		genuine = mangle(1, data, size);
		for (i = 0; i < 100 && (rc = hvc_channel_handshake_step(&F->c)) == HVC_AGAIN; i++)
			;
		if (i == 100)
			abort();
		(void)genuine;
		break;
	case 2:	  /* established, encrypted: arg = number/size of genuine frames, then mangled */
	case 3: { /* same in plaintext mode */
		enum hvc_policy pol = mode == 2 ? HVC_POLICY_REQUIRED : HVC_POLICY_DISABLED;
		setup(pol, mode == 2 ? HVC_POLICY_REQUIRED : HVC_POLICY_OPPORTUNISTIC);
		for (i = 0; i < 8; i++) {
			hvc_channel_handshake_step(&F->c);
			hvc_channel_handshake_step(&F->s);
		}
		if (F->c.state != HVC_ST_ESTABLISHED || F->s.state != HVC_ST_ESTABLISHED)
			abort();
		int nframes = arg % 4;
		for (i = 0; i < nframes; i++) {
			size_t n = (size_t)(arg >> 2) * 13 + (size_t)i;
			memset(F->rbuf, i, n);
			if (hvc_channel_send(&F->c, (uint8_t)(0x40 + i), F->rbuf, n) != HVC_OK)
				abort();
		}
		if (arg & 0x80)
			hvc_channel_close(&F->c);
		genuine = mangle(0, data, size);
		int ok_frames = 0;
		if (arg & 0x40) { /* receive through keystream prefilled in the ring */
			F->s.rx.ring.mem = NULL;
			hvc_ks_ring_init(&F->s.rx.ring, F->ks, sizeof(F->ks));
			hvc_channel_prefill(&F->s, 0, (size_t)(arg >> 2) * 13 + 1);
		}
		for (i = 0; i < 200; i++) {
			rc = hvc_channel_recv(&F->s, &type, F->rbuf, sizeof(F->rbuf), &len);
			if (rc == HVC_OK) {
				ok_frames++;
				continue;
			}
			if (rc != HVC_AGAIN)
				break;
		}
		if (i == 200)
			abort();
		/* encrypted: genuine frames with any modified byte are never all accepted */
		if (mode == 2 && ok_frames >= nframes && touched(data, size, genuine) && (nframes || (arg & 0x80)) &&
		    rc == HVC_E_PEER_CLOSED)
			abort();
		break;
	}
	}
	hvc_channel_destroy(&F->c);
	hvc_channel_destroy(&F->s);
	return 0;
}
