/* Line output on fd 1: each line is assembled, then written whole, so lines never interleave. */
#ifndef HBINIT_OUT_H
#define HBINIT_OUT_H
#include <stdint.h>

void out_str(const char *s);
void out_char(char c);
void out_dec(uint64_t v);
/* Lower-case hex, zero-padded to width digits (0: as few as needed). */
void out_hex(uint64_t v, unsigned width);
/* Ends the line and writes it. */
void out_end(void);

#endif
