/* hbinit: the tiny Linux guest's /init. It runs the test guest's WORK workload as a Linux
 * process and prints the same lines (guest/README.md), so host tools apply unchanged. */
#include "hbinit.h"
#include "input.h"
#include "out.h"
#include "pattern.h"
#include "sys.h"

struct hb_params params;
uint32_t *data, *gen_of;

static int is_init;
static volatile uint8_t *canary_page;
static char canary[32];
static unsigned canary_len;

void hb_stop(int code)
{
	if (!is_init)
		sys_exit_group(code);
	/* Nothing to poll, no timeout: the CPU idles for good. */
	for (;;)
		sys_ppoll(0, 0, 0);
}

uint64_t now_ns(void)
{
	struct k_timespec ts;

	sys_clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void *map_anon(uint64_t len)
{
	long r = sys_mmap(len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);

	return sys_failed(r) ? 0 : (void *)r;
}

/* The secret a migration test looks for on the wire, made from the seed as guest/main.c
 * does: "HVCANARY-" + 16 hex digits + "-SECRET" (guest/model.py canary()). */
static void canary_make(uint32_t seed)
{
	static const char hex[] = "0123456789abcdef";
	static const char pre[] = "HVCANARY-", post[] = "-SECRET";
	uint32_t h[2];

	h[0] = pat_hash(seed, 0xc0ffee11u);
	h[1] = pat_hash(h[0], 0x05ec12e7u);
	for (unsigned i = 0; pre[i]; i++)
		canary[canary_len++] = pre[i];
	for (unsigned w = 0; w < 2; w++)
		for (int s = 28; s >= 0; s -= 4)
			canary[canary_len++] = hex[(h[w] >> s) & 15];
	for (unsigned i = 0; post[i]; i++)
		canary[canary_len++] = post[i];
}

/* Rewritten at every heartbeat so its page is dirty in every pre-copy round; two copies
 * as in the test guest (+0 and +0x800). */
void canary_store(void)
{
	for (unsigned i = 0; i < canary_len; i++) {
		canary_page[i] = (uint8_t)canary[i];
		canary_page[0x800 + i] = (uint8_t)canary[i];
	}
}

static __attribute__((noreturn)) void bad_params(void)
{
	out_str("GUEST bad params");
	out_end();
	hb_stop(2);
}

static void memtouch_failed(long err)
{
	out_str("MEMTOUCH failed errno=");
	out_dec((uint64_t)-err);
	out_end();
}

/* The containment check: touch a guest-physical address the hypervisor gave this guest no
 * memory at; the hypervisor should stop the guest at the read. */
static void memtouch(uint64_t addr)
{
	volatile uint32_t *w;
	uint32_t v;
	long fd, m;

	out_str("MEMTOUCH addr=0x");
	out_hex(addr, 0);
	out_end();
	/* tcdrain: the line must be out of the UART before the access ends the guest. */
	sys_ioctl(1, TCSBRK, 1);
	fd = sys_openat(params.memdev, O_RDWR | O_SYNC);
	if (sys_failed(fd)) {
		memtouch_failed(fd);
		return;
	}
	m = sys_mmap(4096, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, addr & ~0xfffull);
	sys_close((int)fd);
	if (sys_failed(m)) {
		memtouch_failed(m);
		return;
	}
	w = (volatile uint32_t *)(m + (long)(addr & 0xffc));
	v = *w;
	*w = v; /* the value read: if the hypervisor lets it through, change nothing */
	out_str("MEMTOUCH survived read=0x");
	out_hex(v, 8);
	out_end();
}

void hb_main(long *sp)
{
	char **envp = (char **)(sp + 1 + sp[0] + 1); /* past argc, argv[] and its NULL */
	uint64_t t0;

	is_init = sys_getpid() == 1;
	if (is_init)
		input_quiet_tty();
	if (params_parse(&params, envp))
		bad_params();
	/* Populated now: the pages' cost is paid before the start line, and a guest short of
	 * memory fails in set-up (mmap refused: bad params), not in the middle of a run. */
	data = map_anon((uint64_t)params.pages * PAGE_SIZE);
	gen_of = map_anon(((uint64_t)params.pages * 4 + PAGE_SIZE - 1) & ~(uint64_t)(PAGE_SIZE - 1));
	canary_page = map_anon(PAGE_SIZE);
	if (!data || !gen_of || !canary_page)
		bad_params();
	for (uint32_t i = 0; i < params.pages; i++)
		pat_fill(data + (uint64_t)i * PAGE_WORDS, DATA_PFN + i, 0); /* gen_of[] is zero from mmap */
	canary_make(params.seed);
	canary_store();

	out_str("GUEST start vm=");
	out_dec(params.vm);
	out_str(params.mode == MODE_MEMTOUCH ? " mode=memtouch" : " mode=work");
	out_str(" mem=");
	out_dec((uint64_t)params.pages * PAGE_SIZE / 1024);
	out_str("KiB pages=");
	out_dec(params.pages);
	out_str(" tsc_khz=0"); /* the kernel keeps time here; the field stays for the parsers */
	out_end();
	t0 = now_ns();

	if (params.mode == MODE_MEMTOUCH)
		memtouch(params.addr);
	work_loop(t0);
}
