/* The guest's 16550 UART, transmit side only: bytes written to THR become the guest's
 * console line; LSR always says the transmitter is empty, so polled output never waits. */
#include <arch/pio.h>
#include "guest_abi.h"
#include "hv.h"
#include "vm.h"

enum { UART_THR = 0, UART_LSR = 5, UART_MSR = 6 };
#define LSR_THR_EMPTY	0x20
#define LSR_TX_IDLE	0x40
#define MSR_CTS_DSR_DCD 0xb0

void uart16550_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val)
{
	(void)size;
	unsigned reg = port - GUEST_UART_BASE;
	if (in) {
		*val = reg == UART_LSR ? LSR_THR_EMPTY | LSR_TX_IDLE : reg == UART_MSR ? MSR_CTS_DSR_DCD : 0;
		return;
	}
	if (reg == UART_THR)
		console_guest_output(vm->id, vm->out, &vm->outlen, (char)*val);
}
