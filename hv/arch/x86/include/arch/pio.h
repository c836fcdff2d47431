/* Guest port I/O: the table of emulated devices by port range (hv/arch/x86/dev/pio.c).
 * A new port-I/O device model adds one entry there; unclaimed ports float. */
#ifndef HV_X86_PIO_H
#define HV_X86_PIO_H
#include <stdint.h>

struct vm;

/* One access of size 1, 2 or 4 bytes. in: fill *val; out: *val holds the data. */
typedef void (*pio_handler_fn)(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val);

struct pio_device {
	const char *name;
	uint16_t base, len;
	pio_handler_fn handler;
};

/* Dispatches one guest access; a port no device claims reads as all ones (the bus
 * floats high) and ignores writes. */
void pio_access(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val);

/* The devices (hv/arch/x86/dev/). */
void uart16550_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val);
void pic_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val);
void pit_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val);
void cmos_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val);
void post_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val);
void reset_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val);
/* COM1 back to its power-on state, wired to the VM's console line. */
void com1_reset(struct vm *vm);

#endif
