/* Test guest entry: take the parameters, check them, run the chosen mode.
 * Shared reporting (start line, MEMCHECK FAIL, HC_FAIL) lives here too. */
#include "guest.h"
#include "uart.h"
#include "x86.h"
#include "abi_asm.h"
#include "pattern.h"

_Static_assert(ASM_HC_PARK == HC_PARK && ASM_HC_DONE == HC_DONE, "abi_asm.h disagrees with guest_abi.h");
_Static_assert(sizeof(struct guest_params) % 4 == 0, "params are copied by words");

struct guest_params params;
uint32_t data_pages;

/* Not inlined: one VMCALL site for all failures (guest/kvm_run.c traps each site). */
__attribute__((noinline)) void guest_fail(uint32_t code)
{
	vmcall(HC_FAIL, code, 0);
	halt_forever(); /* in case the hypervisor resumes us anyway */
}

void memcheck_fail(uint32_t gpa, uint32_t word, uint32_t want, uint32_t got)
{
	put_str("MEMCHECK FAIL page=0x");
	put_hex(gpa, 0);
	put_str(" word=");
	put_dec(word);
	put_str(" want=0x");
	put_hex(want, 8);
	put_str(" got=0x");
	put_hex(got, 8);
	put_str("\n");
	guest_fail(FAIL_MEMCHECK);
}

void put_start_line(const char *mode)
{
	put_str("GUEST start vm=");
	put_dec(params.vm_id);
	put_str(" mode=");
	put_str(mode);
	put_str(" mem=");
	put_dec(params.mem_size / 1024);
	put_str("KiB pages=");
	put_dec(data_pages);
	if (params.mode == GUEST_MODE_WSET) {
		put_str(" wset_pages=");
		put_dec(params.wset_pages);
	}
	put_str(" tsc_khz=");
	put_dec(params.tsc_khz);
	put_str("\n");
}

/* The secret a migration test looks for: made here, from the seed, so it
 * exists only in guest memory (the hypervisor never handles it as such).
 * "HVCANARY-" + 16 hex digits + "-SECRET"; guest/model.py: canary(seed). */
static void canary_make(void)
{
	static const char hex[] = "0123456789abcdef";
	static const char pre[] = "HVCANARY-", post[] = "-SECRET";
	uint32_t h[2];
	uint32_t n = 0;
	h[0] = pat_hash(params.seed, 0xc0ffee11u);
	h[1] = pat_hash(h[0], 0x05ec12e7u);
	for (uint32_t i = 0; pre[i]; i++)
		params.canary[n++] = (uint8_t)pre[i];
	for (uint32_t w = 0; w < 2; w++)
		for (int s = 28; s >= 0; s -= 4)
			params.canary[n++] = (uint8_t)hex[(h[w] >> s) & 15];
	for (uint32_t i = 0; post[i]; i++)
		params.canary[n++] = (uint8_t)post[i];
	params.canary_len = n;
}

static void __attribute__((noreturn)) bad_params(void)
{
	put_str("GUEST bad params\n");
	guest_fail(FAIL_BAD_PARAMS);
}

void guest_main(void)
{
	/* Word by word through volatile: no memcpy here, and the hypervisor
	 * wrote this block behind the compiler's back. */
	const volatile uint32_t *src = (const volatile uint32_t *)GUEST_PARAMS_GPA;
	uint32_t *dst = (uint32_t *)&params;
	uint32_t avail;

	for (uint32_t i = 0; i < sizeof(params) / 4; i++)
		dst[i] = src[i];
	if (params.magic != GUEST_PARAMS_MAGIC)
		bad_params();

	avail = params.mem_size > DATA_GPA ? (params.mem_size - DATA_GPA) / PAGE_SIZE : 0;
	if (avail > DATA_MAX_PAGES)
		avail = DATA_MAX_PAGES;
	data_pages = params.data_pages && params.data_pages <= avail ? params.data_pages : avail;
	if (params.canary_len > sizeof(params.canary))
		params.canary_len = sizeof(params.canary);
	if (!params.canary_len)
		canary_make();
	if (!data_pages)
		bad_params();

	switch (params.mode) {
	case GUEST_MODE_WORK:
		if (!params.tsc_khz)
			bad_params();
		work_run();
	case GUEST_MODE_WSET:
		if (params.wset_pages > WSET_MAX || params.wset_pages > data_pages)
			bad_params();
		wset_run();
	case GUEST_MODE_EPT_FAULT:
		put_start_line("eptfault");
		/* Past the end of RAM: no EPT entry, so an EPT violation exit. */
		(void)*(volatile uint32_t *)(uintptr_t)(params.mem_size + 0x100);
		guest_fail(FAIL_SURVIVED_FAULT);
	case GUEST_MODE_TRIPLE_FAULT:
		put_start_line("triplefault");
		/* IDTR limit is 0: #UD cannot be delivered, nor #DF: triple fault. */
		__asm__ volatile("ud2");
		guest_fail(FAIL_SURVIVED_FAULT);
	default: bad_params();
	}
}
