/* A 16550A UART register model (pure state machine, unit-tested hosted): the register
 * file with DLAB, a 16-byte receive FIFO, the FIFO bits Linux's 8250 driver probes for,
 * loopback, and the interrupt identification and line the guest's IRQ 4 follows.
 * Transmission is instant: a THR write hands the byte to tx() and THR is empty again. */
#ifndef HV_X86_UART16550_H
#define HV_X86_UART16550_H
#include <stdint.h>

#define UART_RX_FIFO 16u

enum uart_reg {
	UART_RBR_THR = 0,
	UART_IER = 1,
	UART_IIR_FCR = 2,
	UART_LCR = 3,
	UART_MCR = 4,
	UART_LSR = 5,
	UART_MSR = 6,
	UART_SCR = 7
};

#define UART_LCR_DLAB	  0x80u
#define UART_IER_RDI	  0x01u /* received data available */
#define UART_IER_THRI	  0x02u /* transmitter holding register empty */
#define UART_IER_RLSI	  0x04u /* receiver line status */
#define UART_IER_MSI	  0x08u /* modem status */
#define UART_IIR_NONE	  0x01u
#define UART_IIR_MSI	  0x00u
#define UART_IIR_THRI	  0x02u
#define UART_IIR_RDI	  0x04u
#define UART_IIR_RLSI	  0x06u
#define UART_IIR_FIFOS	  0xc0u /* FIFOs enabled (16550A) */
#define UART_FCR_ENABLE	  0x01u
#define UART_FCR_CLEAR_RX 0x02u
#define UART_LSR_DR	  0x01u
#define UART_LSR_OE	  0x02u
#define UART_LSR_THRE	  0x20u
#define UART_LSR_TEMT	  0x40u
#define UART_MCR_DTR	  0x01u
#define UART_MCR_RTS	  0x02u
#define UART_MCR_OUT1	  0x04u
#define UART_MCR_OUT2	  0x08u /* on PCs it gates the interrupt line */
#define UART_MCR_LOOP	  0x10u

struct uart16550 {
	uint8_t ier, lcr, mcr, scr, fcr, dll, dlm, lsr_err;
	uint8_t rx[UART_RX_FIFO];
	uint8_t rx_head, rx_len;
	uint8_t thri_pending; /* THR-empty interrupt: set when THR empties, cleared by IIR read or a THR write */
	void (*tx)(void *ctx, uint8_t byte);
	void *tx_ctx;
};

/* Power-on state (8N1 at 115200 baud programmed: divisor 1). */
void uart16550_reset(struct uart16550 *u, void (*tx)(void *ctx, uint8_t byte), void *tx_ctx);
uint8_t uart16550_read(struct uart16550 *u, unsigned reg);
void uart16550_write(struct uart16550 *u, unsigned reg, uint8_t val);
/* A byte arriving on the line (console input); 0, or -1 when the FIFO overflowed (the byte
 * is dropped and the overrun bit set, as the hardware does). */
int uart16550_receive(struct uart16550 *u, uint8_t byte);
/* The interrupt line: a source is pending and enabled, and OUT2 is set. */
int uart16550_irq(const struct uart16550 *u);

#endif
