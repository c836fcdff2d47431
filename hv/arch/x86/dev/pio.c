/* Guest port I/O dispatch: which emulated device answers which port range. */
#include <arch/pio.h>
#include "guest_abi.h"
#include "hvlib.h"

static const struct pio_device devices[] = {
	{ "uart16550", GUEST_UART_BASE, 8, uart16550_io },
	{ "8259-master", 0x20, 2, pic_io },
	{ "8259-slave", 0xa0, 2, pic_io },
	{ "8259-elcr", 0x4d0, 2, pic_io },
	{ "pit", 0x40, 4, pit_io },
	{ "pit-gate", 0x61, 1, pit_io },
	{ "cmos", 0x70, 2, cmos_io },
	{ "post", 0x80, 1, post_io },
	{ "kbd-reset", 0x64, 1, reset_io },
	{ "reset", 0xcf9, 1, reset_io },
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
