/* The 16550A register model (see <arch/uart16550.h>): what a guest's serial driver reads
 * and writes, with none of the timing of a real line. */
#include <arch/uart16550.h>
#include "hvlib.h"

void uart16550_reset(struct uart16550 *u, void (*tx)(void *ctx, uint8_t byte), void *tx_ctx)
{
	memset(u, 0, sizeof(*u));
	u->dll = 1;
	u->lcr = 0x03; /* 8N1 */
	u->tx = tx;
	u->tx_ctx = tx_ctx;
}

/* The highest-priority pending source that is enabled: line status, received data,
 * THR empty, modem status (16550 priority order). */
static uint8_t pending(const struct uart16550 *u)
{
	if ((u->ier & UART_IER_RLSI) && u->lsr_err)
		return UART_IIR_RLSI;
	if ((u->ier & UART_IER_RDI) && u->rx_len)
		return UART_IIR_RDI;
	if ((u->ier & UART_IER_THRI) && u->thri_pending)
		return UART_IIR_THRI;
	return UART_IIR_NONE;
}

int uart16550_irq(const struct uart16550 *u) { return (u->mcr & UART_MCR_OUT2) && pending(u) != UART_IIR_NONE; }

static uint8_t rx_pop(struct uart16550 *u)
{
	if (!u->rx_len)
		return 0;
	uint8_t b = u->rx[u->rx_head];
	u->rx_head = (uint8_t)((u->rx_head + 1) % UART_RX_FIFO);
	u->rx_len--;
	return b;
}

int uart16550_receive(struct uart16550 *u, uint8_t byte)
{
	if (u->rx_len == UART_RX_FIFO) {
		u->lsr_err |= UART_LSR_OE;
		return -1;
	}
	u->rx[(u->rx_head + u->rx_len) % UART_RX_FIFO] = byte;
	u->rx_len++;
	return 0;
}

/* Modem status: in loopback the outputs come back (RTS->CTS, DTR->DSR, OUT1->RI,
 * OUT2->DCD); otherwise a terminal that is there (CTS, DSR, DCD). */
static uint8_t msr(const struct uart16550 *u)
{
	if (!(u->mcr & UART_MCR_LOOP))
		return 0xb0;
	return (uint8_t)(((u->mcr & UART_MCR_RTS) ? 0x10 : 0) | ((u->mcr & UART_MCR_DTR) ? 0x20 : 0) |
			 ((u->mcr & UART_MCR_OUT1) ? 0x40 : 0) | ((u->mcr & UART_MCR_OUT2) ? 0x80 : 0));
}

uint8_t uart16550_read(struct uart16550 *u, unsigned reg)
{
	int dlab = (u->lcr & UART_LCR_DLAB) != 0;
	switch (reg & 7) {
	case UART_RBR_THR: return dlab ? u->dll : rx_pop(u);
	case UART_IER: return dlab ? u->dlm : u->ier;
	case UART_IIR_FCR: {
		uint8_t id = pending(u);
		if (id == UART_IIR_THRI)
			u->thri_pending = 0; /* reading IIR with THR-empty as the source clears it */
		return (uint8_t)(id | ((u->fcr & UART_FCR_ENABLE) ? UART_IIR_FIFOS : 0));
	}
	case UART_LCR: return u->lcr;
	case UART_MCR: return u->mcr;
	case UART_LSR: {
		uint8_t v = (uint8_t)(UART_LSR_THRE | UART_LSR_TEMT | u->lsr_err | (u->rx_len ? UART_LSR_DR : 0));
		u->lsr_err = 0; /* error bits clear on read */
		return v;
	}
	case UART_MSR: return msr(u);
	default: return u->scr;
	}
}

void uart16550_write(struct uart16550 *u, unsigned reg, uint8_t val)
{
	int dlab = (u->lcr & UART_LCR_DLAB) != 0;
	switch (reg & 7) {
	case UART_RBR_THR:
		if (dlab) {
			u->dll = val;
		} else if (u->mcr & UART_MCR_LOOP) {
			uart16550_receive(u, val); /* loopback: what is sent comes back */
			u->thri_pending = 1;
		} else {
			if (u->tx)
				u->tx(u->tx_ctx, val);
			u->thri_pending = 1; /* sent at once: THR is empty again */
		}
		break;
	case UART_IER:
		if (dlab) {
			u->dlm = val;
		} else {
			/* Enabling THR-empty while THR is empty raises the interrupt at once. */
			if ((val & UART_IER_THRI) && !(u->ier & UART_IER_THRI))
				u->thri_pending = 1;
			u->ier = val & 0x0f;
		}
		break;
	case UART_IIR_FCR:
		u->fcr = val & UART_FCR_ENABLE;
		if (val & UART_FCR_CLEAR_RX)
			u->rx_head = u->rx_len = 0;
		break;
	case UART_LCR: u->lcr = val; break;
	case UART_MCR: u->mcr = val & 0x1f; break;
	case UART_SCR: u->scr = val; break;
	default: break; /* LSR and MSR are read-only */
	}
}
