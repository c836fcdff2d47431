/* Core-wide services of the freestanding hypervisor: logging to the console,
 * the page allocator, the boot configuration, time, and stopping the machine. */
#ifndef HV_HV_H
#define HV_HV_H
#include <stdint.h>
#include "hvlib.h"
#include "page_alloc.h"
#include "config.h"

extern struct page_alloc hv_pages;
extern struct hv_config hv_cfg;
extern int hv_emulator_exits;
extern uint64_t hv_tsc_khz;

static inline void *phys_to_virt(uint64_t p) { return (void *)(uintptr_t)p; }
static inline uint64_t virt_to_phys(const void *v) { return (uint64_t)(uintptr_t)v; }

/* A line-safe printf to the console: the caller writes whole lines. */
void hv_log(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* An event line, "[hv] " + the text + CR LF (host tools parse these; docs/console.md). */
void hv_event(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
extern const struct printer hv_console_printer;
void hv_halt_machine(int failed) __attribute__((noreturn));
void hv_panic(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
uint64_t hv_now_ms(void);
/* The `status` command's lines (hv/core/main.c). */
void hv_print_status(const struct printer *p);
/* Identity-maps device registers uncached (paging.c). */
int paging_map_mmio(uint64_t phys, uint64_t len);

/* Console I/O glue (hv/core/console_io.c). */
void console_io_init(void);
void console_poll(void);
void console_ready(void);
void console_guest_output(unsigned vm_id, char *buf, unsigned *len, char c);
/* Console input goes to vm_id's serial line until Ctrl-] (0x1d). */
void console_attach(unsigned vm_id);
/* One byte typed into a guest's serial line: 0, -1 when its receiver is full (try again),
 * HV_ENOENT when the VM cannot take input any more (the console detaches). */
int vm_serial_input(unsigned vm_id, uint8_t byte);
/* The next line typed is a secret: not echoed, handed to fn, then wiped. */
void console_read_secret(void (*fn)(const char *line));

#endif
