/* Console output on the virtual 16550: the hypervisor turns each line into
 * "[vmN] line", so callers print bare text and end lines with '\n'. */
#ifndef GUEST_UART_H
#define GUEST_UART_H
#include <stdint.h>

void put_str(const char *s);
void put_dec(uint64_t v);
void put_hex(uint32_t v, int width); /* lower case, no "0x"; zero-padded to width */

#endif
