/* The fuzz targets' input format: a source's message stream. Byte 0: flags (bit 0: the
 * channel is encrypted; bit 1: the target recomputes the plaintext checksums, as a peer
 * holding the PSK would). Then messages: type (1 byte), length (2 bytes, little endian),
 * payload; a short last message is cut to what is there. fuzz_seeds writes real
 * migrations in this format. */
#ifndef FUZZ_INPUT_H
#define FUZZ_INPUT_H
#include <stddef.h>
#include <stdint.h>

struct fuzz_input {
	const uint8_t *p, *end;
};

static inline int fuzz_input_init(struct fuzz_input *in, const uint8_t *data, size_t size, int *encrypted, int *fixup)
{
	if (size < 1)
		return -1;
	*encrypted = data[0] & 1;
	*fixup = (data[0] >> 1) & 1;
	in->p = data + 1;
	in->end = data + size;
	return 0;
}

/* 0 with the next message, -1 at the end. */
static inline int fuzz_input_next(struct fuzz_input *in, uint8_t *type, const uint8_t **payload, size_t *len)
{
	if (in->end - in->p < 3)
		return -1;
	*type = in->p[0];
	size_t n = (size_t)in->p[1] | (size_t)in->p[2] << 8;
	in->p += 3;
	if (n > (size_t)(in->end - in->p))
		n = (size_t)(in->end - in->p);
	*payload = in->p;
	*len = n;
	in->p += n;
	return 0;
}

#endif
