/* Unit tests of the 8259A pair model (hv/arch/x86/dev/i8259.c): Linux's init and probe, priorities, EOI, cascade. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <arch/i8259.h>

#define M_CMD 0x20
#define M_IMR 0x21
#define S_CMD 0xa0
#define S_IMR 0xa1

/* Linux's init_8259A (arch/x86/kernel/i8259.c): mask all, ICW1-4 on each chip, then the
 * masks it keeps (here: the ones given). */
static void linux_init(struct i8259_pair *p, int auto_eoi, uint8_t master_mask, uint8_t slave_mask)
{
	i8259_write(p, M_IMR, 0xff);
	i8259_write(p, S_IMR, 0xff);
	i8259_write(p, M_CMD, 0x11);		       /* ICW1: edge, cascade, ICW4 follows */
	i8259_write(p, M_IMR, 0x30);		       /* ICW2: IR0-7 at 0x30 */
	i8259_write(p, M_IMR, 0x04);		       /* ICW3: slave on IR2 */
	i8259_write(p, M_IMR, auto_eoi ? 0x03 : 0x01); /* ICW4: 8086 mode */
	i8259_write(p, S_CMD, 0x11);
	i8259_write(p, S_IMR, 0x38); /* IR8-15 at 0x38 */
	i8259_write(p, S_IMR, 0x02); /* its cascade identity */
	i8259_write(p, S_IMR, 0x01);
	i8259_write(p, M_IMR, master_mask);
	i8259_write(p, S_IMR, slave_mask);
}

static uint8_t read_isr(struct i8259_pair *p, uint16_t cmd)
{
	i8259_write(p, cmd, 0x0b); /* OCW3: read ISR */
	return i8259_read(p, cmd);
}

static uint8_t read_irr(struct i8259_pair *p, uint16_t cmd)
{
	i8259_write(p, cmd, 0x0a); /* OCW3: read IRR */
	return i8259_read(p, cmd);
}

/* An edge: the line goes high and back low. */
static void pulse(struct i8259_pair *p, unsigned irq)
{
	i8259_set_irq(p, irq, 1);
	i8259_set_irq(p, irq, 0);
}

static void reset_masks_everything_and_raises_no_intr(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	assert_int_equal(i8259_read(&p, M_IMR), 0xff);
	assert_int_equal(i8259_read(&p, S_IMR), 0xff);
	assert_false(i8259_intr(&p));
	for (unsigned irq = 0; irq < 16; irq++)
		i8259_set_irq(&p, irq, 1);
	assert_false(i8259_intr(&p));
	assert_int_equal(read_isr(&p, M_CMD), 0);
	assert_int_equal(read_isr(&p, S_CMD), 0);
}

static void linux_probe_reads_back_the_master_mask(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	/* probe_8259A: slave all masked, a value to the master, read back */
	i8259_write(&p, S_IMR, 0xff);
	i8259_write(&p, M_IMR, 0xfb);
	assert_int_equal(i8259_read(&p, M_IMR), 0xfb);
	assert_int_equal(i8259_read(&p, S_IMR), 0xff);
	i8259_write(&p, M_IMR, 0x5a);
	assert_int_equal(i8259_read(&p, M_IMR), 0x5a);
	/* and again once initialized */
	linux_init(&p, 0, 0xfb, 0xff);
	i8259_write(&p, S_IMR, 0xff);
	i8259_write(&p, M_IMR, 0xa5);
	assert_int_equal(i8259_read(&p, M_IMR), 0xa5);
}

static void linux_init_sequence_sets_bases_and_leaves_the_masks(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0xeb, 0xef); /* IRQ 2 (cascade), 4 and 12 unmasked */
	/* the ICWs were consumed: the last data writes are the masks */
	assert_int_equal(i8259_read(&p, M_IMR), 0xeb);
	assert_int_equal(i8259_read(&p, S_IMR), 0xef);
	assert_false(i8259_intr(&p));
	pulse(&p, 4);
	assert_int_equal(i8259_ack(&p), 0x34);
	i8259_write(&p, M_CMD, 0x20);
	pulse(&p, 12);
	assert_int_equal(i8259_ack(&p), 0x3c);
}

static void irq4_edge_is_acked_as_0x34_and_put_in_service(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0xef, 0xff);
	i8259_set_irq(&p, 4, 1);
	assert_true(i8259_intr(&p));
	assert_int_equal(read_irr(&p, M_CMD), 0x10);
	assert_int_equal(i8259_ack(&p), 0x34);
	assert_int_equal(read_isr(&p, M_CMD), 0x10);
	assert_int_equal(read_irr(&p, M_CMD), 0x00);
	assert_false(i8259_intr(&p));
	/* a read of the data port is still the mask */
	assert_int_equal(i8259_read(&p, M_IMR), 0xef);
}

static void lower_priority_waits_while_higher_preempts(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0x00, 0xff);
	pulse(&p, 4);
	assert_int_equal(i8259_ack(&p), 0x34);
	pulse(&p, 6); /* lower priority than the one in service */
	assert_false(i8259_intr(&p));
	assert_int_equal(read_irr(&p, M_CMD), 0x40);
	pulse(&p, 1); /* higher: preempts */
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x31);
	assert_int_equal(read_isr(&p, M_CMD), 0x12);
	assert_false(i8259_intr(&p));
	i8259_write(&p, M_CMD, 0x20); /* ends IRQ 1; IRQ 4 still in service blocks IRQ 6 */
	assert_false(i8259_intr(&p));
	i8259_write(&p, M_CMD, 0x20);
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x36);
}

static void non_specific_eoi_clears_the_highest_priority_in_service(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0x00, 0xff);
	pulse(&p, 5);
	assert_int_equal(i8259_ack(&p), 0x35);
	pulse(&p, 3);
	assert_int_equal(i8259_ack(&p), 0x33);
	pulse(&p, 0);
	assert_int_equal(i8259_ack(&p), 0x30);
	assert_int_equal(read_isr(&p, M_CMD), 0x29);
	i8259_write(&p, M_CMD, 0x20);
	assert_int_equal(read_isr(&p, M_CMD), 0x28);
	i8259_write(&p, M_CMD, 0x20);
	assert_int_equal(read_isr(&p, M_CMD), 0x20);
	i8259_write(&p, M_CMD, 0x20);
	assert_int_equal(read_isr(&p, M_CMD), 0x00);
	i8259_write(&p, M_CMD, 0x20); /* nothing in service: no effect */
	assert_int_equal(read_isr(&p, M_CMD), 0x00);
}

static void specific_eoi_clears_the_named_level(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0x00, 0xff);
	pulse(&p, 4);
	assert_int_equal(i8259_ack(&p), 0x34);
	pulse(&p, 1);
	assert_int_equal(i8259_ack(&p), 0x31);
	i8259_write(&p, M_CMD, 0x64); /* specific EOI, level 4: not the highest */
	assert_int_equal(read_isr(&p, M_CMD), 0x02);
	i8259_write(&p, M_CMD, 0x66); /* level 6 is not in service: no effect */
	assert_int_equal(read_isr(&p, M_CMD), 0x02);
	i8259_write(&p, M_CMD, 0x61);
	assert_int_equal(read_isr(&p, M_CMD), 0x00);
}

static void level_held_high_does_not_rerequest_until_it_drops_and_rises(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0xef, 0xff);
	i8259_set_irq(&p, 4, 1);
	assert_int_equal(i8259_ack(&p), 0x34);
	i8259_write(&p, M_CMD, 0x20);
	i8259_set_irq(&p, 4, 1); /* still high */
	assert_false(i8259_intr(&p));
	assert_int_equal(read_irr(&p, M_CMD), 0);
	i8259_set_irq(&p, 4, 0);
	assert_false(i8259_intr(&p));
	i8259_set_irq(&p, 4, 1); /* a new rising edge */
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x34);
}

/* Linux's mask_and_ack_8259A: mask the line, check ISR is clear, specific EOIs (the slave's
 * level, then the master's IR2), and unmask once handled. */
static void linux_mask_and_ack_with_specific_eois_ends_slave_and_master_irqs(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0xeb, 0xef); /* IRQ 2, 4 and 12 unmasked */
	pulse(&p, 12);
	assert_int_equal(i8259_ack(&p), 0x3c);
	i8259_write(&p, S_IMR, 0xff);
	assert_int_equal(read_isr(&p, S_CMD) & 0x10, 0x10); /* a real IRQ, not spurious */
	i8259_write(&p, S_CMD, 0x0a);
	i8259_write(&p, S_CMD, 0x60 + 4);
	i8259_write(&p, M_CMD, 0x60 + 2);
	assert_int_equal(read_isr(&p, S_CMD), 0);
	assert_int_equal(read_isr(&p, M_CMD), 0);
	pulse(&p, 12); /* again while masked: kept */
	assert_false(i8259_intr(&p));
	i8259_write(&p, S_IMR, 0xef);
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x3c);
	i8259_write(&p, S_CMD, 0x64);
	i8259_write(&p, M_CMD, 0x62);
	/* COM1 the same way on the master */
	pulse(&p, 4);
	assert_int_equal(i8259_ack(&p), 0x34);
	i8259_write(&p, M_IMR, 0xfb);
	i8259_write(&p, M_CMD, 0x60 + 4);
	assert_int_equal(read_isr(&p, M_CMD), 0);
	i8259_write(&p, M_IMR, 0xeb);
	assert_false(i8259_intr(&p));
}

static void masked_request_is_kept_in_irr_and_delivered_when_unmasked(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0xff, 0xff);
	pulse(&p, 4);
	assert_false(i8259_intr(&p));
	assert_int_equal(read_irr(&p, M_CMD), 0x10);
	i8259_write(&p, M_IMR, 0xef);
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x34);
	/* a pending request masked again is hidden, and still kept */
	pulse(&p, 4);
	i8259_write(&p, M_CMD, 0x20);
	i8259_write(&p, M_IMR, 0xff);
	assert_false(i8259_intr(&p));
	i8259_write(&p, M_IMR, 0xef);
	assert_true(i8259_intr(&p));
}

static void slave_irq12_cascades_through_ir2_and_acks_as_slave_vector(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0xfb, 0xef); /* cascade and IRQ 12 unmasked */
	assert_false(i8259_intr(&p));
	i8259_set_irq(&p, 12, 1);
	assert_true(i8259_intr(&p));
	assert_int_equal(read_irr(&p, S_CMD), 0x10);
	assert_int_equal(read_irr(&p, M_CMD), 0x04);
	assert_int_equal(i8259_ack(&p), 0x3c);
	assert_int_equal(read_isr(&p, S_CMD), 0x10);
	assert_int_equal(read_isr(&p, M_CMD), 0x04);
	assert_int_equal(read_irr(&p, S_CMD), 0);
	assert_int_equal(read_irr(&p, M_CMD), 0);
	assert_false(i8259_intr(&p));
	/* IRQ 13 (lower on the slave) waits for both EOIs */
	i8259_set_irq(&p, 12, 0);
	i8259_write(&p, S_IMR, 0xcf);
	pulse(&p, 13);
	assert_false(i8259_intr(&p));
	i8259_write(&p, S_CMD, 0x20); /* Linux: the slave first, then the master */
	assert_int_equal(read_isr(&p, S_CMD), 0);
	assert_false(i8259_intr(&p)); /* the master's IR2 is still in service */
	i8259_write(&p, M_CMD, 0x20);
	assert_int_equal(read_isr(&p, M_CMD), 0);
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x3d);
	i8259_write(&p, S_CMD, 0x20);
	i8259_write(&p, M_CMD, 0x20);
	assert_int_equal(read_isr(&p, S_CMD), 0);
	assert_int_equal(read_isr(&p, M_CMD), 0);
	assert_false(i8259_intr(&p));
}

static void masked_slave_request_is_delivered_when_unmasked(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0xfb, 0xff);
	pulse(&p, 12);
	assert_false(i8259_intr(&p));
	assert_int_equal(read_irr(&p, S_CMD), 0x10);
	i8259_write(&p, S_IMR, 0xef);
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x3c);
	/* and with the master's IR2 masked instead */
	i8259_write(&p, S_CMD, 0x20);
	i8259_write(&p, M_CMD, 0x20);
	i8259_write(&p, M_IMR, 0xff);
	pulse(&p, 12);
	assert_false(i8259_intr(&p));
	i8259_write(&p, M_IMR, 0xfb);
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x3c);
}

static void auto_eoi_leaves_isr_clear(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 1, 0x00, 0xff);
	pulse(&p, 4);
	assert_int_equal(i8259_ack(&p), 0x34);
	assert_int_equal(read_isr(&p, M_CMD), 0);
	pulse(&p, 6); /* nothing in service blocks it */
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x36);
	assert_int_equal(read_isr(&p, M_CMD), 0);
}

static void auto_eoi_on_both_chips_delivers_back_to_back_slave_requests(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 1, 0xfb, 0xcf);
	i8259_write(&p, S_CMD, 0x11); /* the slave again, in auto-EOI too */
	i8259_write(&p, S_IMR, 0x38);
	i8259_write(&p, S_IMR, 0x02);
	i8259_write(&p, S_IMR, 0x03);
	i8259_write(&p, S_IMR, 0xcf);
	pulse(&p, 12);
	pulse(&p, 13);
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x3c);
	/* IRQ 13 is still pending on the slave: a new request on the master's IR2 */
	assert_true(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x3d);
	assert_false(i8259_intr(&p));
	assert_int_equal(read_isr(&p, M_CMD), 0);
	assert_int_equal(read_isr(&p, S_CMD), 0);
}

static void spurious_ack_returns_base_plus_7(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	linux_init(&p, 0, 0x00, 0x00);
	assert_false(i8259_intr(&p));
	assert_int_equal(i8259_ack(&p), 0x37);
	assert_int_equal(read_isr(&p, M_CMD), 0); /* nothing put in service */
	assert_int_equal(read_isr(&p, S_CMD), 0);
	/* a masked request is not pending either */
	i8259_write(&p, M_IMR, 0xff);
	pulse(&p, 3);
	assert_int_equal(i8259_ack(&p), 0x37);
	assert_int_equal(read_isr(&p, M_CMD), 0);
}

static void elcr_keeps_only_its_writable_bits(void **state)
{
	(void)state;
	struct i8259_pair p;
	i8259_reset(&p);
	assert_int_equal(i8259_read(&p, 0x4d0), 0);
	assert_int_equal(i8259_read(&p, 0x4d1), 0);
	i8259_write(&p, 0x4d0, 0xff);
	i8259_write(&p, 0x4d1, 0xff);
	assert_int_equal(i8259_read(&p, 0x4d0), 0xf8); /* IRQ 0-2 are edge only */
	assert_int_equal(i8259_read(&p, 0x4d1), 0xde); /* IRQ 8 and 13 likewise */
	i8259_write(&p, 0x4d0, 0x20);
	assert_int_equal(i8259_read(&p, 0x4d0), 0x20);
	i8259_write(&p, 0x4d1, 0x00);
	assert_int_equal(i8259_read(&p, 0x4d1), 0x00);
	/* the masks are untouched */
	assert_int_equal(i8259_read(&p, M_IMR), 0xff);
	assert_int_equal(i8259_read(&p, S_IMR), 0xff);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(reset_masks_everything_and_raises_no_intr),
		cmocka_unit_test(linux_probe_reads_back_the_master_mask),
		cmocka_unit_test(linux_init_sequence_sets_bases_and_leaves_the_masks),
		cmocka_unit_test(irq4_edge_is_acked_as_0x34_and_put_in_service),
		cmocka_unit_test(lower_priority_waits_while_higher_preempts),
		cmocka_unit_test(non_specific_eoi_clears_the_highest_priority_in_service),
		cmocka_unit_test(specific_eoi_clears_the_named_level),
		cmocka_unit_test(level_held_high_does_not_rerequest_until_it_drops_and_rises),
		cmocka_unit_test(linux_mask_and_ack_with_specific_eois_ends_slave_and_master_irqs),
		cmocka_unit_test(masked_request_is_kept_in_irr_and_delivered_when_unmasked),
		cmocka_unit_test(slave_irq12_cascades_through_ir2_and_acks_as_slave_vector),
		cmocka_unit_test(masked_slave_request_is_delivered_when_unmasked),
		cmocka_unit_test(auto_eoi_leaves_isr_clear),
		cmocka_unit_test(auto_eoi_on_both_chips_delivers_back_to_back_slave_requests),
		cmocka_unit_test(spurious_ack_returns_base_plus_7),
		cmocka_unit_test(elcr_keeps_only_its_writable_bits),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
