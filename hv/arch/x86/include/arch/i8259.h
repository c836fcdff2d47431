/* A pair of 8259A interrupt controllers (master at 0x20, slave at 0xa0 cascaded on IRQ 2)
 * as a pure model (unit-tested hosted): the initialization sequence, masks, edge-triggered
 * requests, fixed priority, non-specific and specific EOI, auto-EOI, IRR/ISR reads and the
 * INTA cycle that turns the highest request into a vector. Linux probes it and then routes
 * legacy IRQs (COM1 on IRQ 4) through it to the local APIC's LINT0 (ExtINT). */
#ifndef HV_X86_I8259_H
#define HV_X86_I8259_H
#include <stdint.h>

struct i8259 {
	uint8_t irr, isr, imr;
	uint8_t line;	   /* input levels last seen (edge detection) */
	uint8_t base;	   /* ICW2: vector of IR0 */
	uint8_t init;	   /* next ICW expected: 0 none (operational), 2, 3, 4 */
	uint8_t need_icw4; /* ICW1 said an ICW4 follows */
	uint8_t single;	   /* ICW1: no cascade */
	uint8_t auto_eoi;  /* ICW4 */
	uint8_t read_isr;  /* OCW3: a read of the command port returns ISR, else IRR */
	uint8_t elcr;	   /* edge/level control (0x4d0/0x4d1): kept, not acted on */
};

struct i8259_pair {
	struct i8259 chip[2]; /* 0 master, 1 slave */
};

void i8259_reset(struct i8259_pair *p);
/* An IRQ line (0-15) at a level; a rising edge requests the interrupt. */
void i8259_set_irq(struct i8259_pair *p, unsigned irq, int level);
/* Port access: 0x20/0x21 master, 0xa0/0xa1 slave, 0x4d0/0x4d1 ELCR. */
uint8_t i8259_read(struct i8259_pair *p, uint16_t port);
void i8259_write(struct i8259_pair *p, uint16_t port, uint8_t v);
/* The INTR line to the CPU: an unmasked request not blocked by one in service. */
int i8259_intr(const struct i8259_pair *p);
/* The INTA cycle: the vector of the highest request, now in service (a spurious IR7/IR15
 * vector when none is pending any more). */
uint8_t i8259_ack(struct i8259_pair *p);

#endif
