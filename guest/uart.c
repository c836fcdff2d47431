/* Polled output on the virtual 16550 at COM1. */
#include "uart.h"
#include "x86.h"
#include "guest_abi.h"

#define UART_THR (GUEST_UART_BASE + 0)
#define UART_LSR (GUEST_UART_BASE + 5)
#define LSR_THRE 0x20

static void put_char(char c)
{
	/* The virtual UART always reads empty, but a real 16550 would not. */
	while (!(inb(UART_LSR) & LSR_THRE))
		;
	outb(UART_THR, (uint8_t)c);
}

void put_str(const char *s)
{
	while (*s)
		put_char(*s++);
}

void put_dec(uint64_t v)
{
	char buf[21];
	int i = sizeof(buf) - 1;
	uint32_t r;

	buf[i] = 0;
	do {
		v = div64_32(v, 10, &r);
		buf[--i] = (char)('0' + r);
	} while (v);
	put_str(&buf[i]);
}

void put_hex(uint32_t v, int width)
{
	char buf[9];
	int i = 8;

	buf[8] = 0;
	do {
		buf[--i] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v || 8 - i < width);
	put_str(&buf[i]);
}
