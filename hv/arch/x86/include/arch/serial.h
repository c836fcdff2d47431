/* The hypervisor's COM1 console port. */
#ifndef HV_X86_SERIAL_H
#define HV_X86_SERIAL_H
#include <stddef.h>
#include <stdint.h>
void serial_init(uint32_t baud);
void serial_putc(char c);
void serial_write(const char *s, size_t n);
int serial_getc(void); /* -1 when no byte is waiting */
#endif
