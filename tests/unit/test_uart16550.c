/* Unit tests of the 16550A register model (hv/arch/x86/dev/uart16550.c): what Linux's
 * 8250 driver probes (registers that hold what is written, FIFO bits in IIR, scratch,
 * loopback), transmission, the receive FIFO, and the interrupt identification and line. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <string.h>
#include <cmocka.h>
#include <arch/uart16550.h>

static uint8_t sent[64];
static unsigned nsent;
static void tx(void *ctx, uint8_t b)
{
	(void)ctx;
	sent[nsent++ % sizeof(sent)] = b;
}

static void registers_hold_what_is_written(void **state)
{
	(void)state;
	struct uart16550 u;
	uart16550_reset(&u, tx, 0);
	uart16550_write(&u, UART_IER, 0x0f);
	assert_int_equal(uart16550_read(&u, UART_IER), 0x0f);
	uart16550_write(&u, UART_IER, 0xff); /* the upper nibble does not exist */
	assert_int_equal(uart16550_read(&u, UART_IER), 0x0f);
	uart16550_write(&u, UART_SCR, 0x5a);
	assert_int_equal(uart16550_read(&u, UART_SCR), 0x5a);
	uart16550_write(&u, UART_MCR, 0x1f);
	assert_int_equal(uart16550_read(&u, UART_MCR), 0x1f);
	/* DLAB: the divisor latch in place of RBR/THR and IER */
	uart16550_write(&u, UART_LCR, 0x83);
	uart16550_write(&u, UART_RBR_THR, 0x0c);
	uart16550_write(&u, UART_IER, 0x01);
	assert_int_equal(uart16550_read(&u, UART_RBR_THR), 0x0c);
	assert_int_equal(uart16550_read(&u, UART_IER), 0x01);
	assert_int_equal(nsent, 0); /* a divisor write is not a byte sent */
	uart16550_write(&u, UART_LCR, 0x03);
	assert_int_equal(uart16550_read(&u, UART_LCR), 0x03);
	assert_int_equal(uart16550_read(&u, UART_IER), 0x0f);
	/* FIFOs: IIR bits 7:6 set once FCR enables them (a 16550A, not a 16450) */
	assert_int_equal(uart16550_read(&u, UART_IIR_FCR) & UART_IIR_FIFOS, 0);
	uart16550_write(&u, UART_IIR_FCR, 0x07);
	assert_int_equal(uart16550_read(&u, UART_IIR_FCR) & UART_IIR_FIFOS, UART_IIR_FIFOS);
}

static void transmit_and_loopback(void **state)
{
	(void)state;
	struct uart16550 u;
	nsent = 0;
	uart16550_reset(&u, tx, 0);
	assert_int_equal(uart16550_read(&u, UART_LSR) & 0x60, 0x60); /* THR empty, idle */
	uart16550_write(&u, UART_RBR_THR, 'H');
	uart16550_write(&u, UART_RBR_THR, 'i');
	assert_int_equal(nsent, 2);
	assert_memory_equal(sent, "Hi", 2);
	assert_int_equal(uart16550_read(&u, UART_MSR), 0xb0); /* CTS, DSR, DCD: a terminal is there */
	/* loopback, as the 8250 driver tests it: outputs come back on MSR, bytes on RBR */
	uart16550_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT2 | UART_MCR_RTS);
	assert_int_equal(uart16550_read(&u, UART_MSR) & 0xf0, 0x90);
	uart16550_write(&u, UART_MCR, UART_MCR_LOOP | UART_MCR_OUT1 | UART_MCR_DTR);
	assert_int_equal(uart16550_read(&u, UART_MSR) & 0xf0, 0x60);
	uart16550_write(&u, UART_RBR_THR, 0xa5);
	assert_int_equal(nsent, 2); /* not on the line */
	assert_true(uart16550_read(&u, UART_LSR) & UART_LSR_DR);
	assert_int_equal(uart16550_read(&u, UART_RBR_THR), 0xa5);
	assert_false(uart16550_read(&u, UART_LSR) & UART_LSR_DR);
}

static void receive_fifo(void **state)
{
	(void)state;
	struct uart16550 u;
	uart16550_reset(&u, tx, 0);
	for (unsigned i = 0; i < UART_RX_FIFO; i++)
		assert_int_equal(uart16550_receive(&u, (uint8_t)('a' + i)), 0);
	assert_int_equal(uart16550_receive(&u, 'X'), -1); /* overrun: dropped, flagged */
	uint8_t lsr = uart16550_read(&u, UART_LSR);
	assert_true(lsr & UART_LSR_OE);
	assert_false(uart16550_read(&u, UART_LSR) & UART_LSR_OE); /* cleared by the read */
	for (unsigned i = 0; i < UART_RX_FIFO; i++)
		assert_int_equal(uart16550_read(&u, UART_RBR_THR), 'a' + i);
	assert_int_equal(uart16550_read(&u, UART_LSR) & UART_LSR_DR, 0);
	assert_int_equal(uart16550_receive(&u, 'z'), 0);
	uart16550_write(&u, UART_IIR_FCR, UART_FCR_ENABLE | UART_FCR_CLEAR_RX);
	assert_int_equal(uart16550_read(&u, UART_LSR) & UART_LSR_DR, 0);
}

static void interrupts(void **state)
{
	(void)state;
	struct uart16550 u;
	uart16550_reset(&u, tx, 0);
	assert_int_equal(uart16550_read(&u, UART_IIR_FCR) & 0x0f, UART_IIR_NONE);
	/* THR empty: raised when enabled, cleared by reading IIR, raised again by each byte sent */
	uart16550_write(&u, UART_IER, UART_IER_THRI);
	assert_false(uart16550_irq(&u)); /* OUT2 gates the line on a PC */
	uart16550_write(&u, UART_MCR, UART_MCR_OUT2);
	assert_true(uart16550_irq(&u));
	assert_int_equal(uart16550_read(&u, UART_IIR_FCR) & 0x0f, UART_IIR_THRI);
	assert_false(uart16550_irq(&u));
	assert_int_equal(uart16550_read(&u, UART_IIR_FCR) & 0x0f, UART_IIR_NONE);
	uart16550_write(&u, UART_RBR_THR, 'x');
	assert_true(uart16550_irq(&u));
	/* received data outranks THR empty, and stays until the FIFO is read */
	uart16550_write(&u, UART_IER, UART_IER_THRI | UART_IER_RDI);
	uart16550_receive(&u, 'k');
	assert_int_equal(uart16550_read(&u, UART_IIR_FCR) & 0x0f, UART_IIR_RDI);
	assert_int_equal(uart16550_read(&u, UART_IIR_FCR) & 0x0f, UART_IIR_RDI);
	assert_int_equal(uart16550_read(&u, UART_RBR_THR), 'k');
	assert_int_equal(uart16550_read(&u, UART_IIR_FCR) & 0x0f, UART_IIR_THRI);
	/* line status outranks both */
	uart16550_write(&u, UART_IER, UART_IER_RLSI | UART_IER_RDI);
	for (unsigned i = 0; i <= UART_RX_FIFO; i++)
		uart16550_receive(&u, 'o');
	assert_int_equal(uart16550_read(&u, UART_IIR_FCR) & 0x0f, UART_IIR_RLSI);
	uart16550_read(&u, UART_LSR);
	assert_int_equal(uart16550_read(&u, UART_IIR_FCR) & 0x0f, UART_IIR_RDI);
	/* disabled sources raise nothing */
	uart16550_write(&u, UART_IER, 0);
	assert_false(uart16550_irq(&u));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(registers_hold_what_is_written),
		cmocka_unit_test(transmit_and_loopback),
		cmocka_unit_test(receive_fifo),
		cmocka_unit_test(interrupts),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
