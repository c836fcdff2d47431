/* WSET mode: rounds of announced write sets, each written inside a window
 * bracketed by two HC_PARKs, so a test can compare the hypervisor's dirty
 * set for the window with the announced one. */
#include "guest.h"
#include "pattern.h"
#include "uart.h"

static uint32_t set[WSET_MAX];

void wset_run(void)
{
	uint32_t n = params.wset_pages;

	put_start_line("wset");
	for (uint32_t k = 1;; k++) {
		wset_make(params.seed, k, DATA_PFN, data_pages, n, set);
		put_str("WSET k=");
		put_dec(k);
		put_str(" pages=");
		for (uint32_t i = 0; i < n; i++) {
			if (i)
				put_str(",");
			put_dec(set[i]);
		}
		put_str("\n");

		wset_window(set, n, k);

		put_str("WSET-DONE k=");
		put_dec(k);
		put_str("\n");
		for (uint32_t i = 0; i < n; i++) {
			uint32_t got = *(volatile uint32_t *)(set[i] * PAGE_SIZE + 8);

			if (got != k)
				memcheck_fail(set[i] * PAGE_SIZE, 2, k, got);
		}
	}
}
