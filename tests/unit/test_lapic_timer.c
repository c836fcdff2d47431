/* Unit tests of the local APIC timer model (hv/arch/x86/dev/lapic_timer.c): divide, modes, masking, TSC deadlines. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arch/lapic_timer.h>

#define TSC_KHZ 2000000u /* a 2 GHz guest TSC */
#define VEC	0xecu	 /* Linux's LOCAL_TIMER_VECTOR */

static uint32_t lvt(uint32_t mode, uint32_t vector) { return (mode << 17) | vector; }

/* Guest-TSC ticks of `count` timer ticks, computed without any chance of overflow. */
static uint64_t ticks(uint64_t count, unsigned divisor, uint32_t tsc_khz)
{
	unsigned __int128 t = (unsigned __int128)count * divisor * tsc_khz / LAPIC_TIMER_BASE_KHZ;
	return (uint64_t)t;
}

static void divide_configuration_decodes_all_eight_encodings_ignoring_bit_2(void **state)
{
	(void)state;
	static const struct {
		uint32_t enc;
		unsigned div;
	} table[] = {
		{ 0x0, 2 }, { 0x1, 4 }, { 0x2, 8 }, { 0x3, 16 }, { 0x8, 32 }, { 0x9, 64 }, { 0xa, 128 }, { 0xb, 1 },
	};
	for (unsigned i = 0; i < sizeof(table) / sizeof(table[0]); i++) {
		assert_int_equal(lapic_timer_divisor(table[i].enc), table[i].div);
		assert_int_equal(lapic_timer_divisor(table[i].enc | 0x4u), table[i].div); /* bit 2 is reserved */
		assert_int_equal(lapic_timer_divisor(table[i].enc | 0xfffffff4u), table[i].div);
	}
}

static void each_divide_setting_scales_the_one_shot_period(void **state)
{
	(void)state;
	static const uint32_t enc[] = { 0x0, 0x1, 0x2, 0x3, 0x8, 0x9, 0xa, 0xb, 0xf /* 0xb with bit 2 */ };
	static const unsigned div[] = { 2, 4, 8, 16, 32, 64, 128, 1, 1 };
	for (unsigned i = 0; i < sizeof(enc) / sizeof(enc[0]); i++) {
		struct lapic_timer t;
		lapic_timer_reset(&t, TSC_KHZ);
		lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC), 100);
		lapic_timer_write_divide(&t, enc[i], 100);
		lapic_timer_write_initial(&t, 1000, 100);
		assert_int_equal(lapic_timer_next(&t), 100 + ticks(1000, div[i], TSC_KHZ));
	}
}

static void divide_change_applies_from_the_next_count_down(void **state)
{
	(void)state;
	struct lapic_timer t;
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC), 0);
	lapic_timer_write_initial(&t, 1000, 0);
	uint64_t d = lapic_timer_next(&t);
	assert_int_equal(d, ticks(1000, 2, TSC_KHZ));
	lapic_timer_write_divide(&t, 0xb, 10); /* divide by 1 */
	assert_int_equal(lapic_timer_next(&t), d);
	lapic_timer_write_initial(&t, 1000, 10);
	assert_int_equal(lapic_timer_next(&t), 10 + ticks(1000, 1, TSC_KHZ));
}

static void reset_leaves_timer_masked_and_disarmed(void **state)
{
	(void)state;
	struct lapic_timer t;
	lapic_timer_reset(&t, TSC_KHZ);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_current(&t, 0), 0);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), 0);
	assert_int_equal(lapic_timer_expire(&t, UINT64_MAX), -1);
}

static void one_shot_fires_once_at_initial_times_divisor_then_disarms(void **state)
{
	(void)state;
	struct lapic_timer t;
	const uint64_t now = 123456789;
	const uint64_t due = now + 1000ull * 2 * TSC_KHZ / LAPIC_TIMER_BASE_KHZ;
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC), now);
	lapic_timer_write_initial(&t, 1000, now);
	assert_int_equal(lapic_timer_next(&t), due);
	assert_int_equal(lapic_timer_expire(&t, now), -1);
	assert_int_equal(lapic_timer_expire(&t, due - 1), -1);
	assert_int_equal(lapic_timer_next(&t), due); /* an early look changes nothing */
	assert_int_equal(lapic_timer_expire(&t, due), VEC);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_expire(&t, due), -1);
	assert_int_equal(lapic_timer_expire(&t, due + 100 * (due - now)), -1);
}

static void one_shot_fires_when_polled_late(void **state)
{
	(void)state;
	struct lapic_timer t;
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC), 0);
	lapic_timer_write_initial(&t, 10, 0);
	uint64_t due = lapic_timer_next(&t);
	assert_int_equal(lapic_timer_expire(&t, due * 1000), VEC);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_expire(&t, due * 2000), -1);
}

static void one_shot_current_count_decreases_and_is_zero_after_expiry(void **state)
{
	(void)state;
	struct lapic_timer t;
	const uint64_t now = 5000;
	const uint64_t period = ticks(1000, 2, TSC_KHZ);
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC), now);
	lapic_timer_write_initial(&t, 1000, now);
	assert_int_equal(lapic_timer_current(&t, now), 1000);
	assert_int_equal(lapic_timer_current(&t, now + period / 4), 750);
	assert_int_equal(lapic_timer_current(&t, now + period / 2), 500);
	uint32_t prev = 1000;
	for (uint64_t x = now; x <= now + period; x += period / 64) {
		uint32_t c = lapic_timer_current(&t, x);
		assert_true(c <= prev);
		prev = c;
	}
	assert_int_equal(lapic_timer_current(&t, now + period), 0);
	assert_int_equal(lapic_timer_expire(&t, now + period), VEC);
	assert_int_equal(lapic_timer_current(&t, now + period), 0);
	assert_int_equal(lapic_timer_current(&t, now), 0); /* disarmed: no count, whenever read */
}

static void initial_count_zero_stops_the_timer(void **state)
{
	(void)state;
	struct lapic_timer t;
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_PERIODIC, VEC), 0);
	lapic_timer_write_initial(&t, 1000, 0);
	assert_int_not_equal(lapic_timer_next(&t), 0);
	lapic_timer_write_initial(&t, 0, 10);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_current(&t, 10), 0);
	assert_int_equal(lapic_timer_expire(&t, UINT64_MAX), -1);
}

static void rewriting_initial_count_restarts_the_count_down(void **state)
{
	(void)state;
	struct lapic_timer t;
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC), 0);
	lapic_timer_write_initial(&t, 1000, 0);
	lapic_timer_write_initial(&t, 1000, 7777);
	assert_int_equal(lapic_timer_next(&t), 7777 + ticks(1000, 2, TSC_KHZ));
	assert_int_equal(lapic_timer_current(&t, 7777), 1000);
}

static void periodic_rearms_by_exactly_one_period_without_drift(void **state)
{
	(void)state;
	struct lapic_timer t;
	const uint64_t start = 1000;
	const uint64_t period = ticks(5000, 16, TSC_KHZ);
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_PERIODIC, VEC), start);
	lapic_timer_write_divide(&t, 0x3, start);
	lapic_timer_write_initial(&t, 5000, start);
	for (uint64_t k = 1; k <= 10; k++) {
		uint64_t due = start + k * period;
		assert_int_equal(lapic_timer_next(&t), due);
		assert_int_equal(lapic_timer_expire(&t, due - 1), -1);
		/* polled a little late (under one period): the next deadline stays on the grid */
		assert_int_equal(lapic_timer_expire(&t, due + (k % 3) * (period / 3)), VEC);
	}
	assert_int_equal(lapic_timer_next(&t), start + 11 * period);
	/* the current count restarts from the initial count each period */
	assert_int_equal(lapic_timer_current(&t, start + 10 * period + period / 2), 2500);
}

static void periodic_after_a_long_stall_fires_once_then_is_on_time(void **state)
{
	(void)state;
	struct lapic_timer t;
	const uint64_t period = ticks(1000, 2, TSC_KHZ);
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_PERIODIC, VEC), 0);
	lapic_timer_write_initial(&t, 1000, 0);
	const uint64_t late = 1000 * period + 17; /* ~1000 periods missed */
	assert_int_equal(lapic_timer_expire(&t, late), VEC);
	assert_int_equal(lapic_timer_expire(&t, late), -1); /* no burst */
	assert_int_equal(lapic_timer_next(&t), late + period);
	assert_int_equal(lapic_timer_expire(&t, late + period - 1), -1);
	assert_int_equal(lapic_timer_expire(&t, late + period), VEC);
	assert_int_equal(lapic_timer_next(&t), late + 2 * period);
}

static void deadline_msr_arms_at_absolute_tsc_reads_back_until_fired(void **state)
{
	(void)state;
	struct lapic_timer t;
	const uint64_t d = 0x123456789abcull;
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, VEC), 1000);
	assert_int_equal(lapic_timer_next(&t), 0);
	lapic_timer_write_deadline_msr(&t, d);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), d);
	assert_int_equal(lapic_timer_next(&t), d);
	assert_int_equal(lapic_timer_current(&t, 1000), 0); /* no count in deadline mode */
	assert_int_equal(lapic_timer_expire(&t, d - 1), -1);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), d);
	assert_int_equal(lapic_timer_expire(&t, d), VEC);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), 0);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_expire(&t, d + 1), -1);
	/* a deadline already past fires at the next look */
	lapic_timer_write_deadline_msr(&t, 5);
	assert_int_equal(lapic_timer_expire(&t, d), VEC);
}

static void deadline_msr_write_of_zero_disarms(void **state)
{
	(void)state;
	struct lapic_timer t;
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, VEC), 0);
	lapic_timer_write_deadline_msr(&t, 1000000);
	lapic_timer_write_deadline_msr(&t, 0);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), 0);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_expire(&t, UINT64_MAX), -1);
}

static void deadline_msr_writes_are_ignored_outside_deadline_mode(void **state)
{
	(void)state;
	struct lapic_timer t;
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC), 0);
	lapic_timer_write_deadline_msr(&t, 500);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), 0);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_expire(&t, 1000), -1);
	/* nor do they disturb a running count */
	lapic_timer_write_initial(&t, 1000, 0);
	uint64_t due = lapic_timer_next(&t);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_PERIODIC, VEC), 0);
	lapic_timer_write_initial(&t, 1000, 0);
	lapic_timer_write_deadline_msr(&t, 500);
	assert_int_equal(lapic_timer_next(&t), due);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), 0);
	/* nor is the value remembered for a later switch to deadline mode */
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, VEC), 0);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), 0);
	assert_int_equal(lapic_timer_next(&t), 0);
}

static void initial_count_writes_are_ignored_in_deadline_mode(void **state)
{
	(void)state;
	struct lapic_timer t;
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, VEC), 0);
	lapic_timer_write_initial(&t, 1000, 0);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_current(&t, 0), 0);
	lapic_timer_write_deadline_msr(&t, 99999);
	lapic_timer_write_initial(&t, 1, 0);
	assert_int_equal(lapic_timer_next(&t), 99999);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), 99999);
	assert_int_equal(lapic_timer_current(&t, 0), 0);
}

static void mode_switch_clears_the_other_modes_state(void **state)
{
	(void)state;
	struct lapic_timer t;
	lapic_timer_reset(&t, TSC_KHZ);
	/* count mode to deadline mode: the count stops */
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC), 0);
	lapic_timer_write_initial(&t, 1000, 0);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, VEC), 10);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_current(&t, 10), 0);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), 0);
	assert_int_equal(lapic_timer_expire(&t, UINT64_MAX), -1);
	/* deadline mode to a count mode: IA32_TSC_DEADLINE is cleared and disarmed */
	lapic_timer_write_deadline_msr(&t, 50000);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_PERIODIC, VEC), 20);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_current(&t, 20), 0);
	assert_int_equal(lapic_timer_expire(&t, UINT64_MAX), -1);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, VEC), 30);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), 0);
	assert_int_equal(lapic_timer_next(&t), 0);
}

static void lvt_write_in_the_same_mode_keeps_the_timer_armed(void **state)
{
	(void)state;
	struct lapic_timer t;
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, VEC), 0);
	lapic_timer_write_deadline_msr(&t, 4242);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, 0x40) | LAPIC_LVT_MASKED, 1);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, 0x41), 2);
	assert_int_equal(lapic_timer_next(&t), 4242);
	assert_int_equal(lapic_timer_read_deadline_msr(&t), 4242);
	assert_int_equal(lapic_timer_expire(&t, 4242), 0x41);
}

static void masked_timer_wakes_nobody_and_raises_nothing_but_keeps_rearming(void **state)
{
	(void)state;
	struct lapic_timer t;
	const uint64_t period = ticks(1000, 2, TSC_KHZ);
	lapic_timer_reset(&t, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_PERIODIC, VEC) | LAPIC_LVT_MASKED, 0);
	lapic_timer_write_initial(&t, 1000, 0);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_current(&t, period / 2), 500); /* it still counts */
	assert_int_equal(lapic_timer_expire(&t, period), -1);
	assert_int_equal(lapic_timer_expire(&t, 2 * period), -1);
	/* unmasked: it has gone on re-arming by whole periods */
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_PERIODIC, VEC), 2 * period);
	assert_int_equal(lapic_timer_next(&t), 3 * period);
	assert_int_equal(lapic_timer_expire(&t, 3 * period), VEC);
	/* a masked one-shot is spent by its expiry */
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC) | LAPIC_LVT_MASKED, 0);
	lapic_timer_write_initial(&t, 1000, 0);
	assert_int_equal(lapic_timer_expire(&t, period), -1);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC), period);
	assert_int_equal(lapic_timer_next(&t), 0);
	assert_int_equal(lapic_timer_expire(&t, 10 * period), -1);
}

static void vectors_below_16_are_dropped(void **state)
{
	(void)state;
	for (uint32_t v = 0; v < 20; v++) {
		struct lapic_timer t;
		lapic_timer_reset(&t, TSC_KHZ);
		lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, v), 0);
		lapic_timer_write_deadline_msr(&t, 100);
		assert_int_equal(lapic_timer_expire(&t, 100), v < 16 ? -1 : (int)v);
		assert_int_equal(lapic_timer_next(&t), 0); /* fired (disarmed) either way */
	}
}

/* The run loop's conversion (lapic.c): guest TSC = host TSC + offset, host deadline =
 * guest deadline - offset, both mod 2^64. */
static uint64_t guest_of(uint64_t host, uint64_t offset) { return host + offset; }
static uint64_t host_of(uint64_t guest, uint64_t offset) { return guest - offset; }

static void host_deadline_is_guest_deadline_minus_offset_mod_2_64(void **state)
{
	(void)state;
	struct lapic_timer t;
	const uint64_t offset = UINT64_MAX - 999; /* 2^64 - 1000: the host is 1000 ticks ahead */
	lapic_timer_reset(&t, TSC_KHZ);

	/* host TSC 500: guest TSC 2^64 - 500; the guest arms a deadline 400 ticks on */
	uint64_t host = 500, gnow = guest_of(host, offset);
	assert_true(gnow == UINT64_MAX - 499);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_DEADLINE, VEC), gnow);
	lapic_timer_write_deadline_msr(&t, gnow + 400);
	uint64_t hd = host_of(lapic_timer_next(&t), offset);
	assert_true(hd == 900);
	assert_int_equal(lapic_timer_expire(&t, guest_of(hd - 1, offset)), -1);
	assert_int_equal(lapic_timer_expire(&t, guest_of(hd, offset)), VEC);

	/* host TSC 1500: host + offset wraps to guest TSC 500; a one-shot count from there */
	host = 1500;
	gnow = guest_of(host, offset);
	assert_true(gnow == 500);
	const uint64_t period = ticks(1000, 2, TSC_KHZ);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_ONESHOT, VEC), gnow);
	lapic_timer_write_initial(&t, 1000, gnow);
	assert_int_equal(lapic_timer_next(&t), 500 + period);
	hd = host_of(lapic_timer_next(&t), offset);
	assert_true(hd == host + period);
	assert_int_equal(lapic_timer_expire(&t, guest_of(hd - 1, offset)), -1);
	assert_int_equal(lapic_timer_expire(&t, guest_of(hd, offset)), VEC);

	/* host TSC near 2^64, guest TSC small (offset 1000 the other way) */
	const uint64_t back = 1000;
	host = UINT64_MAX - 100;
	gnow = guest_of(host, back);
	assert_true(gnow == 899);
	lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_PERIODIC, VEC), gnow);
	lapic_timer_write_initial(&t, 1000, gnow);
	hd = host_of(lapic_timer_next(&t), back);
	assert_true(hd == host + period); /* wrapped past 2^64 on the host side */
	assert_true(hd < host);
	assert_int_equal(lapic_timer_expire(&t, guest_of(hd, back)), VEC);
	assert_true(host_of(lapic_timer_next(&t), back) == hd + period);
}

static void large_counts_and_rates_do_not_overflow(void **state)
{
	(void)state;
	static const uint32_t khz[] = { 5000000, 4999999, 3000001, 1 };
	for (unsigned i = 0; i < sizeof(khz) / sizeof(khz[0]); i++) {
		struct lapic_timer t;
		const uint64_t now = 1000000;
		const uint64_t period = ticks(0xffffffffu, 128, khz[i]);
		lapic_timer_reset(&t, khz[i]);
		lapic_timer_write_lvt(&t, lvt(LAPIC_TIMER_PERIODIC, VEC), now);
		lapic_timer_write_divide(&t, 0xa, now); /* divide by 128 */
		lapic_timer_write_initial(&t, 0xffffffffu, now);
		assert_true(lapic_timer_next(&t) == now + period);
		/* the current count, against a 128-bit computation */
		for (unsigned k = 0; k <= 8; k++) {
			uint64_t left = period - period / 8 * k;
			unsigned __int128 want = (unsigned __int128)left * LAPIC_TIMER_BASE_KHZ / (128ull * khz[i]);
			if (want > 0xffffffffu)
				want = 0xffffffffu;
			assert_true(lapic_timer_current(&t, now + period - left) == (uint32_t)want);
		}
		assert_int_equal(lapic_timer_expire(&t, now + period), VEC);
		assert_true(lapic_timer_next(&t) == now + 2 * period);
	}
	/* the biggest one at 5 GHz, exactly: 2^32 - 1 counts * 128 * 5000 ticks */
	assert_true(ticks(0xffffffffu, 128, 5000000) == 0xffffffffull * 640000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(divide_configuration_decodes_all_eight_encodings_ignoring_bit_2),
		cmocka_unit_test(each_divide_setting_scales_the_one_shot_period),
		cmocka_unit_test(divide_change_applies_from_the_next_count_down),
		cmocka_unit_test(reset_leaves_timer_masked_and_disarmed),
		cmocka_unit_test(one_shot_fires_once_at_initial_times_divisor_then_disarms),
		cmocka_unit_test(one_shot_fires_when_polled_late),
		cmocka_unit_test(one_shot_current_count_decreases_and_is_zero_after_expiry),
		cmocka_unit_test(initial_count_zero_stops_the_timer),
		cmocka_unit_test(rewriting_initial_count_restarts_the_count_down),
		cmocka_unit_test(periodic_rearms_by_exactly_one_period_without_drift),
		cmocka_unit_test(periodic_after_a_long_stall_fires_once_then_is_on_time),
		cmocka_unit_test(deadline_msr_arms_at_absolute_tsc_reads_back_until_fired),
		cmocka_unit_test(deadline_msr_write_of_zero_disarms),
		cmocka_unit_test(deadline_msr_writes_are_ignored_outside_deadline_mode),
		cmocka_unit_test(initial_count_writes_are_ignored_in_deadline_mode),
		cmocka_unit_test(mode_switch_clears_the_other_modes_state),
		cmocka_unit_test(lvt_write_in_the_same_mode_keeps_the_timer_armed),
		cmocka_unit_test(masked_timer_wakes_nobody_and_raises_nothing_but_keeps_rearming),
		cmocka_unit_test(vectors_below_16_are_dropped),
		cmocka_unit_test(host_deadline_is_guest_deadline_minus_offset_mod_2_64),
		cmocka_unit_test(large_counts_and_rates_do_not_overflow),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
