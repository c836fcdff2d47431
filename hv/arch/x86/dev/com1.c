/* The guest's COM1: the 16550 model wired to the VM's console line (each byte the guest
 * transmits goes to console_guest_output). */
#include <arch/pio.h>
#include <arch/uart16550.h>
#include <arch/vplat.h>
#include "guest_abi.h"
#include "hv.h"
#include "vm.h"

static void tx(void *ctx, uint8_t byte)
{
	struct vm *vm = ctx;
	console_guest_output(vm->id, vm->out, &vm->outlen, (char)byte);
}

void com1_reset(struct vm *vm) { uart16550_reset(&vm->arch.com1, tx, vm); }

void uart16550_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val)
{
	(void)size; /* byte registers: a wider access reaches the first only */
	unsigned reg = port - GUEST_UART_BASE;
	if (!vm->arch.com1.tx)
		com1_reset(vm); /* a VM made before its first access, or after a state load */
	if (in)
		*val = uart16550_read(&vm->arch.com1, reg);
	else
		uart16550_write(&vm->arch.com1, reg, (uint8_t)*val);
	pic_update_com1(vm); /* an access can raise or drop the interrupt (IIR read, IER, THR) */
}

int arch_vm_serial_input(struct vm *vm, uint8_t byte)
{
	if (!vm->arch.com1.tx)
		com1_reset(vm);
	if (vm->arch.com1.rx_len >= UART_RX_FIFO)
		return -1; /* the guest has not read what came before: no overrun by us */
	uart16550_receive(&vm->arch.com1, byte);
	pic_update_com1(vm);
	return 0;
}
