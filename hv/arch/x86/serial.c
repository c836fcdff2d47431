/* 16550 UART driver for the hypervisor's own console on COM1 (polled: the
 * hypervisor runs with interrupts off). */
#include <arch/serial.h>
#include <arch/cpu.h>

#define COM1	 0x3f8
#define THR	 0
#define RBR	 0
#define DLL	 0
#define IER	 1
#define DLM	 1
#define FCR	 2
#define LCR	 3
#define MCR	 4
#define LSR	 5
#define LSR_DR	 0x01
#define LSR_THRE 0x20

void serial_init(uint32_t baud)
{
	uint16_t div = (uint16_t)(115200 / (baud ? baud : 115200));
	outb(COM1 + IER, 0x00);
	outb(COM1 + LCR, 0x80);
	outb(COM1 + DLL, (uint8_t)div);
	outb(COM1 + DLM, (uint8_t)(div >> 8));
	outb(COM1 + LCR, 0x03); /* 8N1 */
	outb(COM1 + FCR, 0xc7); /* FIFO on, cleared, 14-byte threshold */
	outb(COM1 + MCR, 0x03); /* DTR, RTS */
}

void serial_putc(char c)
{
	/* Bounded wait: a missing UART must not hang the hypervisor forever. */
	for (unsigned spin = 0; spin < 1000000 && !(inb(COM1 + LSR) & LSR_THRE); spin++)
		cpu_relax();
	outb(COM1 + THR, (uint8_t)c);
}

void serial_write(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		serial_putc(s[i]);
}

int serial_getc(void)
{
	if (!(inb(COM1 + LSR) & LSR_DR))
		return -1;
	return inb(COM1 + RBR);
}
