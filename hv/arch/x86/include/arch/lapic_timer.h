/* The local APIC timer as a pure model (unit-tested hosted): one-shot, periodic and
 * TSC-deadline modes, the divide configuration, and every deadline kept in guest-TSC
 * ticks, so the run loop only compares it with the guest's TSC (host TSC + offset). */
#ifndef HV_X86_LAPIC_TIMER_H
#define HV_X86_LAPIC_TIMER_H
#include <stdint.h>

#define LAPIC_LVT_MASKED      (1u << 16)
#define LAPIC_TIMER_MODE(lvt) (((lvt) >> 17) & 3u)
#define LAPIC_TIMER_ONESHOT   0u
#define LAPIC_TIMER_PERIODIC  1u
#define LAPIC_TIMER_DEADLINE  2u
/* The timer's base clock that CPUID leaf 15h announces (a 1 MHz "crystal"). */
#define LAPIC_TIMER_BASE_KHZ  1000u

struct lapic_timer {
	uint32_t lvt;	   /* LVT timer: vector 7:0, mask 16, mode 18:17 */
	uint32_t initial;  /* initial-count register */
	uint32_t divide;   /* divide-configuration register (bits 0, 1, 3) */
	uint64_t deadline; /* guest TSC at which it next fires; 0: not armed */
	uint64_t period;   /* guest-TSC ticks of one count-down (one-shot/periodic) */
	uint64_t msr;	   /* IA32_TSC_DEADLINE as the guest wrote it (deadline mode) */
	uint32_t tsc_khz;  /* the guest's TSC rate */
};

void lapic_timer_reset(struct lapic_timer *t, uint32_t tsc_khz);
/* The guest wrote a register (now: the guest's TSC). */
void lapic_timer_write_lvt(struct lapic_timer *t, uint32_t v, uint64_t now);
void lapic_timer_write_initial(struct lapic_timer *t, uint32_t v, uint64_t now);
void lapic_timer_write_divide(struct lapic_timer *t, uint32_t v, uint64_t now);
void lapic_timer_write_deadline_msr(struct lapic_timer *t, uint64_t v);
uint64_t lapic_timer_read_deadline_msr(const struct lapic_timer *t);
/* The current-count register. */
uint32_t lapic_timer_current(const struct lapic_timer *t, uint64_t now);
/* Divide-by value of the divide-configuration register (1..128). */
unsigned lapic_timer_divisor(uint32_t divide);
/* When the guest must next be woken for this timer (guest TSC), 0 if never. */
uint64_t lapic_timer_next(const struct lapic_timer *t);
/* At guest TSC now: the vector to raise if the timer fired (then re-armed or disarmed),
 * or -1. A periodic timer that missed many periods fires once, not in a burst. */
int lapic_timer_expire(struct lapic_timer *t, uint64_t now);

#endif
