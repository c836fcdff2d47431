/* migsim: the migration engine of hv/migrate with a simulated guest, as source or
 * destination over TCP and the secure channel. For tests, benchmarks, and research
 * without VT-x. Usage: migsim --help. */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include "hvc_channel.h"
#include "mig.h"
#include "mig_link_hvc.h"
#include "mig_guard.h"
#include "simguest.h"
#include "simnet.h"
#include "ks_worker.h"

struct opts {
	int src;
	const char *addr, *bind_addr;
	int port;
	uint64_t mem_mib, dirty_mibps, downtime_ms, bw_mbps, stall_ms, run_after_ms, warmup_ms;
	uint64_t guest_id, backoff_ms, refill_ms, fixed_us;
	uint32_t batch, max_rounds, burst, retries, serve, ks_frames, ks_thread;
	enum hvc_policy policy;
	int outrun_abort, verify, cpu;
	const char *fault_mode, *fault_state;
	uint8_t psk[HVC_PSK_MAX];
	size_t psk_len;
};

static uint64_t mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double thread_cpu_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double process_cpu_s(void)
{
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_stime.tv_sec +
	       ((double)ru.ru_utime.tv_usec + (double)ru.ru_stime.tv_usec) / 1e6;
}

/* Busy time of one core (user, nice, system, irq, softirq: everything that ran there, the
 * kernel's threads included) from /proc/stat, in its 1/CLK_TCK ticks; -1 when unknown. */
static double core_busy_s(int cpu)
{
	if (cpu < 0)
		return -1;
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	char line[512], name[16];
	snprintf(name, sizeof(name), "cpu%d ", cpu);
	double r = -1;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long v[7] = { 0 };
		if (strncmp(line, name, strlen(name)) ||
		    sscanf(line + strlen(name), "%llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4],
			   &v[5], &v[6]) != 7)
			continue;
		r = (double)(v[0] + v[1] + v[2] + v[5] + v[6]) / (double)sysconf(_SC_CLK_TCK);
		break;
	}
	fclose(f);
	return r;
}

static void sleep_ms(uint64_t ms)
{
	struct timespec ts = { (time_t)(ms / 1000), (long)(ms % 1000) * 1000000L };
	while (nanosleep(&ts, &ts) && errno == EINTR)
		;
}

static uint64_t clk_now(void *ctx)
{
	(void)ctx;
	return mono_ns();
}

static void usage(void)
{
	fprintf(stderr, "usage: migsim --role src|dst --addr A --port P [options]\n"
			"  --mem-mib N         guest RAM (default 256)\n"
			"  --dirty-mibps R     vCPU write rate, MiB/s of distinct pages (default 64)\n"
			"  --downtime-ms T     downtime target (default 300)\n"
			"  --bw-mbps B         cap the link at B MB/s (default: none)\n"
			"  --psk-file F        PSK as hex (else env MIGSIM_PSK); never printed\n"
			"  --policy P          required|opportunistic|disabled (default required)\n"
			"  --outrun O          throttle|abort: guest dirtying faster than the link\n"
			"  --max-rounds N      pre-copy round limit (default 30)\n"
			"  --stall-ms S        peer stall timeout (default 10000)\n"
			"  --verify            hash memory at stop (src) / at arrival (dst), pattern check\n"
			"  --run-after-ms M    dst: run the guest this long after arrival, check it lives\n"
			"  --warmup-ms W       src: run the guest before migrating (default 200)\n"
			"  --fault MODE@STATE  cut|kill|corrupt|stall when the engine reaches STATE\n"
			"  --serve N           dst: accept up to N connections (hostile-peer tests)\n"
			"  --bind A            src: local address to connect from\n"
			"  --retries N         src: attempts after the first (default 3)\n"
			"  --backoff-ms B      first backoff after a failed handshake (default 1000)\n"
			"  --rate-burst N --rate-refill-ms M   dst: per-peer request token bucket\n"
			"  --batch N           pages per message (default 64)\n"
			"  --ks-frames N       keystream ring: frames of keystream made ahead while waiting\n"
			"                      on the socket (default 8, 0 = inline only)\n"
			"  --fixed-us N        src: the downtime prediction's fixed part (pause, state,\n"
			"                      resume); default: measured on the simulated guest at start\n"
			"  --ks-thread 0|1     make that keystream on a second thread instead (default 0: on\n"
			"                      the 2-core test machine it saved the sender ~9 %% CPU and no\n"
			"                      time); its CPU counts as the engine's\n"
			"  --cpu N             run on core N only (all threads: engine, vCPU writer, keystream);\n"
			"                      the final line then gives that core's busy time (core_busy_s)\n");
	exit(2);
}

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static int parse_psk(const char *hex, struct opts *o)
{
	size_t n = 0;
	for (const char *p = hex; *p && *p != '\n' && *p != '\r';) {
		int h = hexval(p[0]), l = p[1] ? hexval(p[1]) : -1;
		if (h < 0 || l < 0 || n >= sizeof(o->psk))
			return -1;
		o->psk[n++] = (uint8_t)(h << 4 | l);
		p += 2;
	}
	o->psk_len = n;
	return n >= HVC_PSK_MIN ? 0 : -1;
}

static void parse(int argc, char **argv, struct opts *o)
{
	memset(o, 0, sizeof(*o));
	o->addr = "127.0.0.1";
	o->port = 7700;
	o->mem_mib = 256;
	o->dirty_mibps = 64;
	o->downtime_ms = 300;
	o->stall_ms = 10000;
	o->warmup_ms = 200;
	o->retries = 3;
	o->ks_frames = 8;
	o->backoff_ms = 1000;
	o->guest_id = 1;
	o->policy = HVC_POLICY_REQUIRED;
	o->cpu = -1;
	const char *psk_file = NULL;
	int role = -1;
	static const struct option lo[] = {
		{ "role", 1, 0, 'r' },	      { "addr", 1, 0, 'a' },
		{ "port", 1, 0, 'p' },	      { "mem-mib", 1, 0, 'm' },
		{ "dirty-mibps", 1, 0, 'd' }, { "downtime-ms", 1, 0, 't' },
		{ "bw-mbps", 1, 0, 'b' },     { "psk-file", 1, 0, 'k' },
		{ "policy", 1, 0, 'P' },      { "outrun", 1, 0, 'o' },
		{ "max-rounds", 1, 0, 'R' },  { "stall-ms", 1, 0, 's' },
		{ "verify", 0, 0, 'v' },      { "run-after-ms", 1, 0, 'A' },
		{ "warmup-ms", 1, 0, 'w' },   { "fault", 1, 0, 'f' },
		{ "serve", 1, 0, 'S' },	      { "bind", 1, 0, 'B' },
		{ "retries", 1, 0, 'T' },     { "backoff-ms", 1, 0, 'O' },
		{ "rate-burst", 1, 0, 'u' },  { "rate-refill-ms", 1, 0, 'F' },
		{ "batch", 1, 0, 'n' },	      { "ks-frames", 1, 0, 'K' },
		{ "ks-thread", 1, 0, 'W' },   { "fixed-us", 1, 0, 'X' },
		{ "guest-id", 1, 0, 'g' },    { "cpu", 1, 0, 'C' },
		{ "help", 0, 0, 'h' },	      { 0, 0, 0, 0 },
	};
	int c;
	while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
		switch (c) {
		case 'r': role = !strcmp(optarg, "src") ? 1 : !strcmp(optarg, "dst") ? 0 : -1; break;
		case 'a': o->addr = optarg; break;
		case 'p': o->port = atoi(optarg); break;
		case 'm': o->mem_mib = strtoull(optarg, NULL, 0); break;
		case 'd': o->dirty_mibps = strtoull(optarg, NULL, 0); break;
		case 't': o->downtime_ms = strtoull(optarg, NULL, 0); break;
		case 'b': o->bw_mbps = strtoull(optarg, NULL, 0); break;
		case 'k': psk_file = optarg; break;
		case 'P':
			if (!strcmp(optarg, "required"))
				o->policy = HVC_POLICY_REQUIRED;
			else if (!strcmp(optarg, "opportunistic"))
				o->policy = HVC_POLICY_OPPORTUNISTIC;
			else if (!strcmp(optarg, "disabled"))
				o->policy = HVC_POLICY_DISABLED;
			else
				usage();
			break;
		case 'o': o->outrun_abort = !strcmp(optarg, "abort"); break;
		case 'R': o->max_rounds = (uint32_t)atoi(optarg); break;
		case 's': o->stall_ms = strtoull(optarg, NULL, 0); break;
		case 'v': o->verify = 1; break;
		case 'A': o->run_after_ms = strtoull(optarg, NULL, 0); break;
		case 'w': o->warmup_ms = strtoull(optarg, NULL, 0); break;
		case 'f': {
			char *at = strchr(optarg, '@');
			if (!at)
				usage();
			*at = 0;
			o->fault_mode = optarg;
			o->fault_state = at + 1;
			break;
		}
		case 'S': o->serve = (uint32_t)atoi(optarg); break;
		case 'B': o->bind_addr = optarg; break;
		case 'T': o->retries = (uint32_t)atoi(optarg); break;
		case 'O': o->backoff_ms = strtoull(optarg, NULL, 0); break;
		case 'u': o->burst = (uint32_t)atoi(optarg); break;
		case 'F': o->refill_ms = strtoull(optarg, NULL, 0); break;
		case 'n': o->batch = (uint32_t)atoi(optarg); break;
		case 'K': o->ks_frames = (uint32_t)atoi(optarg); break;
		case 'W': o->ks_thread = (uint32_t)atoi(optarg); break;
		case 'X': o->fixed_us = strtoull(optarg, NULL, 0); break;
		case 'g': o->guest_id = strtoull(optarg, NULL, 0); break;
		case 'C': o->cpu = atoi(optarg); break;
		default: usage();
		}
	}
	if (role < 0)
		usage();
	o->src = role;
	const char *hex = NULL;
	static char line[300];
	if (psk_file) {
		FILE *f = fopen(psk_file, "r");
		if (!f || !fgets(line, sizeof(line), f)) {
			fprintf(stderr, "migsim: cannot read PSK file\n");
			exit(2);
		}
		fclose(f);
		hex = line;
	} else {
		hex = getenv("MIGSIM_PSK");
	}
	if (!hex || parse_psk(hex, o) < 0) {
		fprintf(stderr, "migsim: PSK missing or not 16..64 bytes of hex (--psk-file or MIGSIM_PSK)\n");
		exit(2);
	}
}

/* One connection's channel, link and transport. */
struct conn {
	struct simnet net;
	struct hvc_channel ch;
	struct mig_hvc hvc;
	struct mig_link link;
	uint8_t *txbuf, *ks_tx, *ks_rx;
	size_t txlen, kslen;
	struct ks_worker ksw;
	int src;
};

static int conn_open(struct conn *c, const struct opts *o, int fd, int client, uint32_t batch)
{
	memset(c, 0, sizeof(*c));
	if (simnet_init(&c->net, fd, 2u << 20, o->bw_mbps * 1000000ull) < 0)
		return -1;
	c->txlen = HVC_FRAME_OVERHEAD + MIG_MSG_BUF_SIZE(batch);
	c->txbuf = malloc(c->txlen);
	/* one ring entry = tag mask + a whole message's keystream, 64-byte aligned */
	c->kslen = (size_t)o->ks_frames * ((MIG_MSG_BUF_SIZE(batch) + 16 + 127) & ~(size_t)63);
	if (c->kslen) {
		c->ks_tx = aligned_alloc(64, c->kslen);
		c->ks_rx = aligned_alloc(64, c->kslen);
	}
	c->hvc.bytes = simnet_bytes(&c->net);
	struct hvc_config hc = {
		.role = client ? HVC_ROLE_CLIENT : HVC_ROLE_SERVER,
		.policy = o->policy,
		.key_id = 1,
		.psk = o->psk,
		.psk_len = o->psk_len,
		.transport = mig_hvc_transport(&c->hvc),
		.clock = { NULL, clk_now },
		.stall_timeout_ns = o->stall_ms * 1000000ull,
		.entropy = hvc_entropy_hosted,
		.gcm_path = HVC_GCM_AUTO,
		/* What we accept is what our message buffer holds: the limit we announce. */
		.rx_max = (uint32_t)MIG_MSG_BUF_SIZE(batch),
		.tx_buf = c->txbuf,
		.tx_buf_len = c->txlen,
		.ks_tx_mem = c->ks_tx,
		.ks_tx_len = c->ks_tx ? c->kslen : 0,
		.ks_rx_mem = c->ks_rx,
		.ks_rx_len = c->ks_rx ? c->kslen : 0,
	};
	int r = hvc_channel_init(&c->ch, &hc);
	if (r != HVC_OK) {
		fprintf(stderr, "migsim: channel init failed: %s\n", hvc_strerror(r));
		return -1;
	}
	mig_hvc_link(&c->hvc, &c->ch, c->txlen, &c->link);
	c->src = client;
	if (c->kslen && o->ks_thread && ks_worker_start(&c->ksw) < 0) {
		fprintf(stderr, "migsim: cannot start the keystream thread\n");
		return -1;
	}
	return 0;
}

/* Every keystream job back, the thread gone; returns its CPU seconds. */
static double conn_worker_finish(struct conn *c)
{
	if (!c->ksw.started)
		return c->ksw.cpu_s;
	ks_worker_drain(&c->ksw, &c->ch);
	ks_worker_stop(&c->ksw);
	return c->ksw.cpu_s;
}

static void conn_close(struct conn *c)
{
	conn_worker_finish(c);
	hvc_channel_destroy(&c->ch);
	simnet_free(&c->net);
	free(c->txbuf);
	free(c->ks_tx);
	free(c->ks_rx);
}

/* Whether the socket has what wait_io would wait for (a capped link's tokens come back
 * with time, not with an event, so only input counts there). */
static int io_ready(struct conn *c)
{
	struct pollfd p = { c->net.fd, POLLIN, 0 };
	if (c->net.fd < 0)
		return 1;
	if (simnet_want_write(&c->net) && !c->net.bw_Bps)
		p.events |= POLLOUT;
	return poll(&p, 1, 0) > 0;
}

/* Waiting on the socket is the time to make keystream for the next frames (source: what
 * it will send, destination: what it will receive), as the hypervisor does: a frame's at a
 * time, until the socket is ready, so that a reply (READY in the stop-and-copy) never
 * waits for the whole ring (4 MiB of keystream: ~0.3 ms here). */
static void prefill(struct conn *c, int src)
{
	if (c->ksw.started) /* the keystream thread makes it; this one only hands out jobs */
		return;
	if (!c->kslen || c->ch.state != HVC_ST_ESTABLISHED || hvc_channel_mode(&c->ch) != HVC_MODE_ENCRYPTED)
		return;
	if (!hvc_channel_prefill_useful(&c->ch, !src))
		return;
	size_t n = c->txlen - HVC_FRAME_OVERHEAD;
	while (!io_ready(c) && hvc_channel_prefill_frames(&c->ch, src ? n : 0, src ? 0 : n, 1) > 0)
		;
}

/* Every turn of the engine loop: made keystream goes back to the channel, new jobs out. */
static void pump_keystream(struct conn *c)
{
	size_t n = c->txlen - HVC_FRAME_OVERHEAD;
	ks_worker_pump(&c->ksw, &c->ch, c->src ? n : 0, c->src ? 0 : n);
}

static struct simguest G;
static struct opts O;
static int src_hashed;
static uint64_t src_hash, src_edge, src_cursor;
static int src_pattern_ok;
static int (*real_scrub)(void *);
static double src_scrub_cpu_s; /* the scrub's own CPU: reported apart from the transfer's */
/* Turns of the source's engine loop: about one per frame, and one per wait; a loop that
 * spins instead of waiting (as a capped link once did, polling for a writable socket
 * while its bucket was in debt) shows here as thousands per frame. */
static uint64_t src_loops;

/* Source: memory is frozen from the pause on; hash it before the scrub erases it. */
static int scrub_with_hash(void *ctx)
{
	if (O.verify && !src_hashed) {
		uint64_t bad = 0;
		src_hash = sg_hash(&G);
		src_pattern_ok = sg_pattern_check(&G, &src_edge, &bad) == 0;
		src_cursor = G.cursor;
		src_hashed = 1;
	}
	double c0 = thread_cpu_s();
	int r = real_scrub(ctx);
	src_scrub_cpu_s += thread_cpu_s() - c0;
	return r;
}

static int fault_due(const struct opts *o, const char *state, int *fired)
{
	return o->fault_mode && !*fired && !strcmp(state, o->fault_state);
}

static void apply_fault(struct conn *c, const struct opts *o, int *fired, int *stalled)
{
	*fired = 1;
	fprintf(stdout, "MIGSIM fault=%s at=%s\n", o->fault_mode, o->fault_state);
	fflush(stdout);
	if (!strcmp(o->fault_mode, "cut"))
		simnet_cut(&c->net);
	else if (!strcmp(o->fault_mode, "kill"))
		raise(SIGKILL);
	else if (!strcmp(o->fault_mode, "corrupt"))
		c->net.corrupt_next = 1;
	else if (!strcmp(o->fault_mode, "stall"))
		*stalled = 1;
}

/* A stalled peer stops all work; it gives up after well over the other side's timeout so
 * test runs end by themselves. */
static void stalled_wait(void)
{
	uint64_t until = mono_ns() + (2 * O.stall_ms + 500) * 1000000ull;
	while (mono_ns() < until)
		sleep_ms(50);
	printf("MIGSIM stalled-exit\n");
	fflush(stdout);
	_exit(3);
}

static void wait_io(struct conn *c, int listen_fd)
{
	struct pollfd p[2] = { { c->net.fd, POLLIN, 0 }, { listen_fd, POLLIN, 0 } };
	/* With a bandwidth cap the bucket refills with time, not with an event: wake when
	 * its debt is paid (or, with bytes queued, soon). A socket that could take more
	 * says nothing then: waiting for POLLOUT in debt would return at once, a spin. */
	int to = simnet_wait_ms(&c->net);
	if (simnet_want_write(&c->net) && !to)
		p[0].events |= POLLOUT;
	/* In debt with input already waiting that the engine left unread (it reads nothing
	 * while it waits for room, e.g. to send ROUND_END): POLLIN would return at once, a
	 * spin; the debt's end is what it waits for. */
	if (to && io_ready(c))
		p[0].events &= (short)~POLLIN;
	if (!to)
		to = (c->net.bw_Bps && simnet_want_write(&c->net)) ? 1 : 5;
	if (c->net.fd < 0)
		p[0].fd = -1;
	poll(p, listen_fd >= 0 ? 2 : 1, to);
}

/* After one engine step, for either side: fire the fault due in this state, sit out a
 * stall; 1 when the run is over (done or failed), else 0. */
static int after_step(struct conn *c, const struct opts *o, const char *state, int *fired, int *stalled, int r)
{
	if (fault_due(o, state, fired))
		apply_fault(c, o, fired, stalled);
	if (*stalled)
		stalled_wait();
	return r == MIG_DONE || r < 0;
}

static void print_stats(const struct mig_stats *st)
{
	char line[MIG_STATS_LINE_MAX];
	mig_stats_format(st, line, sizeof(line));
	printf("%s\n", line);
}

static void print_guard(const struct mig_guard *g)
{
	char line[600];
	mig_guard_format(g, line, sizeof(line));
	printf("%s\n", line);
}

static int guest_alive(void)
{
	uint64_t w0 = atomic_load(&G.writes);
	sleep_ms(150);
	return atomic_load(&G.writes) > w0;
}

/* The fixed part of the downtime prediction (pause, state save and load, resume; the
 * round trips are measured by the engine) for this guest: the hypervisor's default of
 * 2 ms is for a vCPU under VT-x, the simulator pauses a thread. Worst of a few tries,
 * counted for both sides. */
static uint64_t calibrate_fixed_ns(const struct mig_guest_ops *ops, uint8_t *state, size_t cap)
{
	uint64_t worst = 0;
	for (int i = 0; i < 5; i++) {
		size_t len;
		uint64_t t0 = mono_ns();
		if (ops->pause(ops->ctx) < 0 || ops->save_state(ops->ctx, state, cap, &len) < 0 ||
		    ops->resume(ops->ctx) < 0)
			return 0; /* the engine's default then */
		uint64_t d = mono_ns() - t0;
		if (d > worst)
			worst = d;
	}
	memset(state, 0, cap);
	return 2 * worst;
}

static int run_source(void)
{
	struct mig_guard guard;
	struct mig_guard_cfg gc = { .max_retries = O.retries, .backoff_base_ns = O.backoff_ms * 1000000ull };
	mig_guard_init(&guard, &gc);
	uint32_t batch = O.batch ? O.batch : MIG_BATCH_DEFAULT;
	sg_start(&G);
	sleep_ms(O.warmup_ms);
	struct mig_guest_ops ops = sg_ops(&G);
	real_scrub = ops.scrub;
	ops.scrub = scrub_with_hash;
	uint64_t *bitmap = calloc(MIG_BITMAP_WORDS(G.npages), 8);
	uint8_t *msg = malloc(MIG_MSG_BUF_SIZE(batch));
	static uint8_t state[MIG_STATE_MAX], ctl[64];
	struct mig_buffers b = { bitmap, msg, MIG_MSG_BUF_SIZE(batch), state, sizeof(state), ctl, sizeof(ctl) };
	uint64_t fixed_ns = O.fixed_us ? O.fixed_us * 1000ull : calibrate_fixed_ns(&ops, state, sizeof(state));
	struct mig_clock clk = { NULL, clk_now };
	uint64_t peer = inet_addr(O.addr);
	static struct mig_source S;
	int r = MIG_E_TRANSPORT;
	struct conn c;
	int have_conn = 0, fired = 0, stalled = 0;
	double cpu0 = thread_cpu_s(), pcpu0 = process_cpu_s(), gcpu0 = sg_writer_cpu_s(&G);
	double core0 = core_busy_s(O.cpu);
	uint64_t t0 = mono_ns();
	for (uint32_t attempt = 0;; attempt++) {
		uint64_t wait;
		int g = mig_guard_may_connect(&guard, peer, attempt, mono_ns(), &wait);
		if (g == MIG_E_BACKOFF) {
			sleep_ms(wait / 1000000ull + 1);
			g = mig_guard_may_connect(&guard, peer, attempt, mono_ns(), &wait);
		}
		if (g != MIG_OK) {
			if (!attempt)
				r = g; /* otherwise keep the last attempt's own failure */
			break;
		}
		int fd = tcp_connect(O.addr, O.port, O.bind_addr);
		if (fd < 0) {
			mig_guard_handshake(&guard, peer, 0, mono_ns());
			r = MIG_E_TRANSPORT;
			continue;
		}
		if (have_conn)
			conn_close(&c);
		if (conn_open(&c, &O, fd, 1, batch) < 0)
			return 2;
		have_conn = 1;
		uint64_t id;
		hvc_entropy_hosted(NULL, &id, sizeof(id));
		struct mig_config cfg = {
			.mig_id = id,
			.guest_id = O.guest_id,
			.stall_timeout_ns = O.stall_ms * 1000000ull,
			.batch_pages = batch,
			.policy = { .downtime_target_ns = O.downtime_ms * 1000000ull,
				    .max_rounds = O.max_rounds,
				    .fixed_ns = fixed_ns,
				    .outrun_abort = (uint32_t)O.outrun_abort },
		};
		if ((r = mig_source_init(&S, &cfg, &ops, &c.link, &clk, &b)) != MIG_OK)
			break;
		for (;;) {
			pump_keystream(&c);
			src_loops++;
			if (!stalled)
				r = mig_source_step(&S);
			if (after_step(&c, &O, mig_src_state_name(S.st), &fired, &stalled, r))
				break;
			if (r == MIG_BLOCKED) {
				prefill(&c, 1);
				wait_io(&c, -1);
			}
		}
		/* Only a failed handshake is retried: later failures are reported, not repeated. */
		if (r == MIG_E_HANDSHAKE ||
		    (r == MIG_E_TRANSPORT && S.stats.fail_state && !strcmp(S.stats.fail_state, "handshake"))) {
			mig_guard_handshake(&guard, peer, 0, mono_ns());
			continue;
		}
		mig_guard_handshake(&guard, peer, 1, mono_ns());
		break;
	}
	double kscpu = have_conn ? conn_worker_finish(&c) : 0;
	double cpu = thread_cpu_s() - cpu0 + kscpu, pcpu = process_cpu_s() - pcpu0;
	/* the simulated guest's writer: the guest's work, not the migration's */
	double gcpu = sg_writer_cpu_s(&G) - gcpu0;
	double core1 = core_busy_s(O.cpu), core = core0 < 0 || core1 < 0 ? -1 : core1 - core0;
	/* frames sent, and how many had their keystream made ahead (the pipelined case) */
	uint64_t ks_frames = 0, ks_ready = 0;
	if (have_conn)
		hvc_channel_ks_stats(&c.ch, 0, &ks_frames, &ks_ready);
	double wall = (double)(mono_ns() - t0) / 1e9;
	print_stats(&S.stats);
	print_guard(&guard);
	const char *guest = "?";
	if (S.st == MIG_SRC_DONE)
		guest = G.scrub_verified ? "moved-scrubbed" : "moved-scrub-failed";
	else if (S.st == MIG_SRC_IN_DOUBT)
		guest = G.pause_req ? "paused-in-doubt" : "RUNNING-IN-DOUBT";
	else
		guest = guest_alive() ? "running" : "NOT-RUNNING";
	printf("MIGSIM role=src result=%s state=%s fail_state=%s detail=%d detail_name=%s enc=%d guest=%s "
	       "hash=%016llx pattern=%s edge=%llu cursor=%llu cpu_engine_s=%.3f cpu_ks_thread_s=%.3f "
	       "cpu_process_s=%.3f wall_s=%.3f "
	       "bytes_out=%llu ks_ready=%llu/%llu cpu_guest_s=%.3f core_busy_s=%.3f cpu_pin=%d cpu_scrub_s=%.3f "
	       "loops=%llu\n",
	       mig_strerror(r < 0 ? r : MIG_DONE), mig_src_state_name(S.st),
	       S.stats.fail_state ? S.stats.fail_state : "-", S.detail,
	       S.detail < 0 && (S.err == MIG_E_PEER_ABORT || S.err == MIG_E_IN_DOUBT) ? mig_strerror(S.detail)
	       : S.detail < 0							      ? hvc_strerror(S.detail)
										      : "-",
	       S.stats.encrypted, guest, (unsigned long long)src_hash,
	       !O.verify	? "skipped"
	       : src_pattern_ok ? "ok"
				: "BAD",
	       (unsigned long long)src_edge, (unsigned long long)src_cursor, cpu, kscpu, pcpu, wall,
	       have_conn ? (unsigned long long)c.net.bytes_out : 0ull, (unsigned long long)ks_ready,
	       (unsigned long long)ks_frames, gcpu, core, O.cpu, src_scrub_cpu_s, (unsigned long long)src_loops);
	fflush(stdout);
	if (have_conn)
		conn_close(&c);
	free(bitmap);
	free(msg);
	return r == MIG_DONE ? 0 : 1;
}

static int mem_all_zero(void)
{
	const uint64_t *w = (const uint64_t *)G.mem;
	for (uint64_t i = 0; i < G.npages * MIG_PAGE_SIZE / 8; i++)
		if (w[i])
			return 0;
	return 1;
}

static uint32_t peer_of(int fd)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	if (getpeername(fd, (struct sockaddr *)&sa, &sl) < 0)
		return 0;
	return sa.sin_addr.s_addr;
}

static int run_dest(void)
{
	struct mig_guard guard;
	struct mig_guard_cfg gc = { .burst = O.burst,
				    .refill_ns = O.refill_ms * 1000000ull,
				    .backoff_base_ns = O.backoff_ms * 1000000ull };
	mig_guard_init(&guard, &gc);
	int lfd = tcp_listen(O.addr, O.port);
	if (lfd < 0) {
		fprintf(stderr, "migsim: cannot listen on %s:%d: %s\n", O.addr, O.port, strerror(errno));
		return 2;
	}
	printf("MIGSIM listening\n");
	fflush(stdout);
	uint32_t batch = O.batch ? O.batch : MIG_BATCH_DEFAULT;
	G.defer_start = 1;
	struct mig_guest_ops ops = sg_ops(&G);
	uint8_t *msg = malloc(MIG_MSG_BUF_SIZE(batch));
	static uint8_t ctl[64];
	struct mig_buffers b = { NULL, msg, MIG_MSG_BUF_SIZE(batch), NULL, 0, ctl, sizeof(ctl) };
	struct mig_clock clk = { NULL, clk_now };
	static struct mig_dest D;
	uint32_t conns = 0, serve = O.serve ? O.serve : 1;
	int r = MIG_E_TRANSPORT, fired = 0, stalled = 0, done = 0;
	double cpu0 = thread_cpu_s(), kscpu = 0;
	uint64_t ks_frames = 0, ks_ready = 0; /* frames received; how many had keystream made ahead */
	uint64_t t0 = 0;
	double core0 = -1; /* the core's busy time from the first connection on */
	while (!done && conns < serve) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0)
			continue;
		if (!conns)
			core0 = core_busy_s(O.cpu);
		conns++;
		uint32_t peer = peer_of(fd);
		int a = mig_guard_admit(&guard, peer, mono_ns());
		if (a != MIG_OK) {
			close(fd); /* refused before any crypto work is spent on it */
			continue;
		}
		if (mig_guard_begin(&guard, O.guest_id) != MIG_OK) {
			close(fd);
			continue;
		}
		struct conn c;
		if (conn_open(&c, &O, fd, 0, batch) < 0)
			return 2;
		struct mig_config cfg = { .guest_id = O.guest_id,
					  .stall_timeout_ns = O.stall_ms * 1000000ull,
					  .batch_pages = batch };
		if ((r = mig_dest_init(&D, &cfg, &ops, &c.link, &clk, &b)) != MIG_OK)
			return 2;
		t0 = mono_ns();
		int hs_counted = 0;
		for (;;) {
			pump_keystream(&c);
			if (!stalled)
				r = mig_dest_step(&D);
			if (!hs_counted && D.st > MIG_DST_HANDSHAKE && D.st != MIG_DST_FAILED) {
				mig_guard_handshake(&guard, peer, 1, mono_ns());
				hs_counted = 1;
			}
			if (after_step(&c, &O, mig_dst_state_name(D.st), &fired, &stalled, r))
				break;
			if (r == MIG_BLOCKED) {
				prefill(&c, 0);
				wait_io(&c, lfd);
				/* A second request for the same guest while this one runs. */
				struct pollfd lp = { lfd, POLLIN, 0 };
				if (poll(&lp, 1, 0) == 1) {
					int fd2 = accept(lfd, NULL, NULL);
					if (fd2 >= 0) {
						conns++;
						if (mig_guard_admit(&guard, peer_of(fd2), mono_ns()) == MIG_OK)
							(void)mig_guard_begin(&guard, O.guest_id);
						close(fd2);
					}
				}
			}
		}
		if (!hs_counted && D.stats.fail_state && !strcmp(D.stats.fail_state, "handshake"))
			mig_guard_handshake(&guard, peer, 0, mono_ns());
		mig_guard_end(&guard, O.guest_id, r);
		print_stats(&D.stats);
		kscpu += conn_worker_finish(&c);
		hvc_channel_ks_stats(&c.ch, 1, &ks_frames, &ks_ready);
		conn_close(&c);
		if (r == MIG_DONE)
			done = 1;
		else
			printf("MIGSIM role=dst attempt_failed=%s fail_state=%s detail=%d detail_name=%s mem=%s "
			       "scrub=%s\n",
			       mig_strerror(r), D.stats.fail_state ? D.stats.fail_state : "-", D.detail,
			       D.detail < 0 && D.err == MIG_E_PEER_ABORT ? mig_strerror(D.detail)
			       : D.detail < 0				 ? hvc_strerror(D.detail)
									 : "-",
			       mem_all_zero() ? "zero" : "NONZERO", G.scrub_verified ? "verified" : "not-needed");
		fflush(stdout);
	}
	double cpu = thread_cpu_s() - cpu0 + kscpu;
	double core1 = core_busy_s(O.cpu), core = core0 < 0 || core1 < 0 ? -1 : core1 - core0;
	print_guard(&guard);
	uint64_t hash = 0, edge = 0, bad = 0;
	int pat = -1, alive = -1, pat2 = -1, cursor_ok = -1, frozen = -1;
	if (done && O.verify) {
		hash = sg_hash(&G);
		pat = sg_pattern_check(&G, &edge, &bad) == 0;
		/* The vCPU state says where the writer stopped; memory must agree. */
		cursor_ok = (G.cursor == 0 && edge == G.npages) || edge == G.cursor;
	}
	if (done) {
		G.defer_start = 0;
		sg_start(&G);
		if (O.run_after_ms) {
			uint64_t w0 = atomic_load(&G.writes);
			sleep_ms(O.run_after_ms);
			alive = atomic_load(&G.writes) > w0;
			sg_pause(&G);
			uint64_t e2;
			pat2 = sg_pattern_check(&G, &e2, &bad) == 0;
			/* Paused means paused: memory must not change any more. */
			uint64_t h1 = sg_hash(&G);
			sleep_ms(50);
			frozen = sg_hash(&G) == h1;
		}
	}
	printf("MIGSIM role=dst result=%s enc=%d hash=%016llx pattern=%s cursor_matches=%d alive_after=%d "
	       "pattern_after=%d frozen_when_paused=%d mem=%s cpu_engine_s=%.3f cpu_ks_thread_s=%.3f "
	       "wall_s=%.3f connections=%u ks_ready=%llu/%llu core_busy_s=%.3f cpu_pin=%d\n",
	       done ? "done" : mig_strerror(r), D.stats.encrypted, (unsigned long long)hash,
	       pat < 0 ? "skipped"
	       : pat   ? "ok"
		       : "BAD",
	       cursor_ok, alive, pat2, frozen,
	       done		? "guest"
	       : mem_all_zero() ? "zero"
				: "NONZERO",
	       cpu, kscpu, t0 ? (double)(mono_ns() - t0) / 1e9 : 0.0, conns, (unsigned long long)ks_ready,
	       (unsigned long long)ks_frames, core, O.cpu);
	fflush(stdout);
	close(lfd);
	free(msg);
	return done ? 0 : 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	signal(SIGPIPE, SIG_IGN);
	parse(argc, argv, &O);
	if (O.cpu >= 0) {
		/* before the guest RAM is touched and before any thread: they all inherit it */
		cpu_set_t set;
		CPU_ZERO(&set);
		CPU_SET(O.cpu, &set);
		if (O.cpu >= CPU_SETSIZE || sched_setaffinity(0, sizeof(set), &set) < 0) {
			fprintf(stderr, "migsim: cannot pin to CPU %d: %s\n", O.cpu, strerror(errno));
			return 2;
		}
	}
	if (sg_init(&G, O.mem_mib << 20, O.dirty_mibps * 256, O.src) < 0) {
		fprintf(stderr, "migsim: cannot allocate %llu MiB\n", (unsigned long long)O.mem_mib);
		return 2;
	}
	int rc = O.src ? run_source() : run_dest();
	sg_stop_thread(&G);
	return rc;
}
