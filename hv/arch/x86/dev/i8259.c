/* The 8259A pair (see i8259.h): a state machine over the ports, no hardware. */
#include <arch/i8259.h>

#define ICW1_INIT   0x10u
#define ICW1_ICW4   0x01u
#define ICW1_SINGLE 0x02u
#define ICW4_AEOI   0x02u
#define OCW_IS_OCW3 0x08u
#define OCW3_RR	    0x02u
#define OCW3_RIS    0x01u
#define OCW2_EOI    0x20u
#define OCW2_SL	    0x40u
#define CASCADE_IRQ 2u

static void chip_reset(struct i8259 *c)
{
	c->irr = c->isr = c->line = 0;
	c->imr = 0xff; /* all masked until the guest programs it */
	c->base = 0;
	c->init = 0;
	c->need_icw4 = c->single = c->auto_eoi = c->read_isr = 0;
	c->elcr = 0;
}

void i8259_reset(struct i8259_pair *p)
{
	chip_reset(&p->chip[0]);
	chip_reset(&p->chip[1]);
}

/* Highest-priority (lowest-numbered) bit of m, or 8. */
static unsigned lowest(uint8_t m)
{
	for (unsigned i = 0; i < 8; i++)
		if (m & (1u << i))
			return i;
	return 8;
}

/* The IR a chip would present: a request above every one in service, or 8. */
static unsigned pending(const struct i8259 *c)
{
	unsigned req = lowest((uint8_t)(c->irr & ~c->imr));
	return req < lowest(c->isr) ? req : 8;
}

static void chip_set(struct i8259 *c, unsigned ir, int level)
{
	uint8_t m = (uint8_t)(1u << ir);
	if (level) {
		if (!(c->line & m))
			c->irr |= m;
		c->line |= m;
	} else {
		c->line &= (uint8_t)~m;
	}
}

/* The slave's INTR is the master's IR2 input. */
static void cascade(struct i8259_pair *p) { chip_set(&p->chip[0], CASCADE_IRQ, pending(&p->chip[1]) < 8); }

void i8259_set_irq(struct i8259_pair *p, unsigned irq, int level)
{
	if (irq >= 16 || irq == CASCADE_IRQ)
		return;
	if (irq < 8) {
		chip_set(&p->chip[0], irq, level);
	} else {
		chip_set(&p->chip[1], irq - 8, level);
		cascade(p);
	}
}

int i8259_intr(const struct i8259_pair *p) { return pending(&p->chip[0]) < 8; }

static uint8_t chip_ack(struct i8259 *c, unsigned ir)
{
	uint8_t m = (uint8_t)(1u << ir);
	c->irr &= (uint8_t)~m;
	if (!c->auto_eoi)
		c->isr |= m;
	return (uint8_t)(c->base + ir);
}

uint8_t i8259_ack(struct i8259_pair *p)
{
	struct i8259 *m = &p->chip[0], *s = &p->chip[1];
	unsigned ir = pending(m);
	if (ir == 8)
		return (uint8_t)(m->base + 7); /* spurious: IR7, nothing put in service */
	if (ir != CASCADE_IRQ || m->single)
		return chip_ack(m, ir);
	unsigned sir = pending(s);
	chip_ack(m, CASCADE_IRQ);
	/* The master's IR2 request was the edge; the slave's level decides the next one. */
	m->line &= (uint8_t) ~(1u << CASCADE_IRQ);
	uint8_t vec = sir == 8 ? (uint8_t)(s->base + 7) : chip_ack(s, sir);
	cascade(p);
	return vec;
}

static void eoi(struct i8259 *c, uint8_t v)
{
	if (v & OCW2_SL)
		c->isr &= (uint8_t) ~(1u << (v & 7u)); /* specific */
	else
		c->isr &= (uint8_t)(c->isr - 1u); /* non-specific: the highest in service (lowest bit) */
}

static void chip_write(struct i8259 *c, int data, uint8_t v)
{
	if (!data) {
		if (v & ICW1_INIT) {
			c->init = 2;
			c->need_icw4 = (v & ICW1_ICW4) != 0;
			c->single = (v & ICW1_SINGLE) != 0;
			c->imr = 0;
			c->isr = 0;
			c->irr = 0;
			c->line = 0;
			c->auto_eoi = 0;
			c->read_isr = 0;
		} else if (v & OCW_IS_OCW3) {
			if (v & OCW3_RR)
				c->read_isr = (v & OCW3_RIS) != 0;
		} else if (v & OCW2_EOI) {
			eoi(c, v);
		}
		return;
	}
	switch (c->init) {
	case 2:
		c->base = v & 0xf8u;
		c->init = c->single ? (c->need_icw4 ? 4 : 0) : 3;
		return;
	case 3:
		c->init = c->need_icw4 ? 4 : 0; /* ICW3: the cascade wiring is fixed here */
		return;
	case 4:
		c->auto_eoi = (v & ICW4_AEOI) != 0;
		c->init = 0;
		return;
	default: c->imr = v;
	}
}

void i8259_write(struct i8259_pair *p, uint16_t port, uint8_t v)
{
	switch (port) {
	case 0x20:
	case 0x21: chip_write(&p->chip[0], port & 1, v); break;
	case 0xa0:
	case 0xa1: chip_write(&p->chip[1], port & 1, v); break;
	case 0x4d0: p->chip[0].elcr = v & 0xf8u; return; /* IRQ 0-2 are always edge */
	case 0x4d1: p->chip[1].elcr = v & 0xdeu; return; /* IRQ 8 and 13 likewise */
	default: return;
	}
	cascade(p);
}

uint8_t i8259_read(struct i8259_pair *p, uint16_t port)
{
	struct i8259 *c;
	switch (port) {
	case 0x20:
	case 0x21: c = &p->chip[0]; break;
	case 0xa0:
	case 0xa1: c = &p->chip[1]; break;
	case 0x4d0: return p->chip[0].elcr;
	case 0x4d1: return p->chip[1].elcr;
	default: return 0xff;
	}
	if (port & 1)
		return c->imr;
	return c->read_isr ? c->isr : c->irr;
}
