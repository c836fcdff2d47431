/* The local APIC timer model (see lapic_timer.h); pure arithmetic, no hardware. */
#include <arch/lapic_timer.h>

void lapic_timer_reset(struct lapic_timer *t, uint32_t tsc_khz)
{
	t->lvt = LAPIC_LVT_MASKED;
	t->initial = 0;
	t->divide = 0;
	t->deadline = 0;
	t->period = 0;
	t->msr = 0;
	t->tsc_khz = tsc_khz;
}

unsigned lapic_timer_divisor(uint32_t divide)
{
	unsigned v = (divide & 3u) | ((divide & 8u) >> 1);
	return 1u << ((v + 1u) & 7u); /* 0..6: 2..128; 7: 1 */
}

/* Guest-TSC ticks of `count` timer ticks: 2^32 counts * 128 * a 5 GHz TSC stays below 2^63. */
static uint64_t to_tsc(const struct lapic_timer *t, uint64_t count)
{
	return count * lapic_timer_divisor(t->divide) * t->tsc_khz / LAPIC_TIMER_BASE_KHZ;
}

static void start_count(struct lapic_timer *t, uint64_t now)
{
	t->period = to_tsc(t, t->initial);
	if (!t->initial || !t->period) {
		t->deadline = 0;
		return;
	}
	t->deadline = now + t->period;
}

void lapic_timer_write_lvt(struct lapic_timer *t, uint32_t v, uint64_t now)
{
	uint32_t old_mode = LAPIC_TIMER_MODE(t->lvt);
	t->lvt = v & (0xffu | LAPIC_LVT_MASKED | (3u << 17));
	uint32_t mode = LAPIC_TIMER_MODE(t->lvt);
	if (mode == old_mode)
		return;
	/* A mode switch stops the timer (SDM 10.5.4.1): deadline mode clears the count, the
	 * count modes clear IA32_TSC_DEADLINE. */
	t->deadline = 0;
	t->period = 0;
	t->initial = 0;
	t->msr = 0;
	(void)now;
}

void lapic_timer_write_initial(struct lapic_timer *t, uint32_t v, uint64_t now)
{
	if (LAPIC_TIMER_MODE(t->lvt) == LAPIC_TIMER_DEADLINE)
		return; /* ignored in TSC-deadline mode */
	t->initial = v;
	start_count(t, now);
}

void lapic_timer_write_divide(struct lapic_timer *t, uint32_t v, uint64_t now)
{
	(void)now;
	/* Takes effect from the next count-down (the running one keeps its period). */
	t->divide = v & 0xbu;
}

void lapic_timer_write_deadline_msr(struct lapic_timer *t, uint64_t v)
{
	if (LAPIC_TIMER_MODE(t->lvt) != LAPIC_TIMER_DEADLINE)
		return; /* writes are ignored outside TSC-deadline mode */
	t->msr = v;
	t->deadline = v;
	t->period = 0;
}

uint64_t lapic_timer_read_deadline_msr(const struct lapic_timer *t)
{
	return LAPIC_TIMER_MODE(t->lvt) == LAPIC_TIMER_DEADLINE ? t->msr : 0;
}

uint32_t lapic_timer_current(const struct lapic_timer *t, uint64_t now)
{
	if (LAPIC_TIMER_MODE(t->lvt) == LAPIC_TIMER_DEADLINE || !t->deadline || !t->period)
		return 0;
	uint64_t left = t->deadline > now ? t->deadline - now : 0;
	uint64_t per_count = (uint64_t)lapic_timer_divisor(t->divide) * t->tsc_khz;
	uint64_t count = left * LAPIC_TIMER_BASE_KHZ / (per_count ? per_count : 1);
	return count > t->initial ? t->initial : (uint32_t)count;
}

uint64_t lapic_timer_next(const struct lapic_timer *t)
{
	/* A masked timer still counts (and re-arms), but wakes nobody. */
	return (t->lvt & LAPIC_LVT_MASKED) ? 0 : t->deadline;
}

int lapic_timer_expire(struct lapic_timer *t, uint64_t now)
{
	if (!t->deadline || now < t->deadline)
		return -1;
	switch (LAPIC_TIMER_MODE(t->lvt)) {
	case LAPIC_TIMER_PERIODIC:
		t->deadline += t->period;
		if (t->deadline <= now)
			t->deadline = now + t->period; /* missed periods: one interrupt, then on time */
		break;
	case LAPIC_TIMER_DEADLINE:
		t->deadline = 0;
		t->msr = 0; /* the MSR reads 0 once the timer fired */
		break;
	default: t->deadline = 0; break;
	}
	if (t->lvt & LAPIC_LVT_MASKED)
		return -1;
	unsigned vec = t->lvt & 0xffu;
	return vec >= 16 ? (int)vec : -1; /* vectors 0-15 are illegal: the APIC drops them */
}
