/* Guest port I/O dispatch: which emulated device answers which port range. */
#include <arch/pio.h>
#include "guest_abi.h"
#include "hvlib.h"

static const struct pio_device devices[] = {
	{ "uart16550", GUEST_UART_BASE, 8, uart16550_io },
};

void pio_access(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val)
{
	for (unsigned i = 0; i < ARRAY_SIZE(devices); i++)
		if (port >= devices[i].base && port - devices[i].base < devices[i].len) {
			devices[i].handler(vm, port, in, size, val);
			return;
		}
	if (in)
		*val = 0xffffffffu; /* no device: the bus floats high */
}
