/* Turns the contents of \hv.cfg into the hypervisor's command line: pure C, unit-tested
 * on the host like elf_check.c and memmap.c. */
#ifndef HVLOADER_CFG_PARSE_H
#define HVLOADER_CFG_PARSE_H
#include <stdint.h>

/* The file is one line of "key=value key=value"; a final newline, CRLF and
 * blank lines after it are fine. Leading/trailing blanks are removed.
 * Writes a NUL-terminated string into out[0..outmax). Returns NULL or a reason
 * that reads well followed by *bad_value (a length, byte value or offset). */
const char *cfg_parse(const uint8_t *buf, uint64_t len, char *out, uint64_t outmax, uint64_t *bad_value);

/* Copies a parsed command line for printing with the value of every secret key
 * (psk=) replaced by "(hidden)"; out is always NUL-terminated (truncated if small). */
void cfg_redact(const char *in, char *out, uint64_t outmax);

#endif
