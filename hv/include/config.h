/* Boot configuration: "key=value" words from the GRUB command line or the
 * ESP's hv.cfg. Parsing is portable; bad words are reported, not fatal. */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H
#include <stdint.h>
#include "hvlib.h"
#include "dirty.h"

#define CONFIG_MAX_VMS 8

struct hv_config {
	uint32_t console_baud;
	int exit_on_panic;        /* emulator test runs: panic exits the emulator */
	unsigned nvms;
	uint32_t vm_mode[CONFIG_MAX_VMS]; /* enum guest_mode */
	uint32_t vm_mem_kib;
	uint32_t hb_ms;
	uint32_t write_rate;      /* pages per ms */
	uint32_t wset_pages;
	int autostart;
	enum dirty_method dirty;  /* DIRTY_NONE = choose by CPU */
	uint32_t slice_ms;
};

void config_defaults(struct hv_config *c);
/* Returns the number of problems found; each is described through warn. */
int config_parse(struct hv_config *c, const char *cmdline, const struct printer *warn);

#endif
