/* The guest's 8259 pair on its ports (the model is i8259.c) and the one line wired to it:
 * COM1's interrupt on IRQ 4. */
#include <arch/i8259.h>
#include <arch/pio.h>
#include <arch/vplat.h>
#include "vm.h"

#define COM1_IRQ 4u

void pic_io(struct vm *vm, uint16_t port, int in, unsigned size, uint32_t *val)
{
	(void)size;
	if (in)
		*val = i8259_read(&vm->arch.pic, port);
	else
		i8259_write(&vm->arch.pic, port, (uint8_t)*val);
}

void pic_update_com1(struct vm *vm) { i8259_set_irq(&vm->arch.pic, COM1_IRQ, uart16550_irq(&vm->arch.com1)); }
