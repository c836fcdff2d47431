/* The channel's receive placement (hvc_channel_set_place) as the test links walk it: a
 * message delivered region by region where the engine's where() says, with the channel's
 * rules checked. */
#ifndef MIG_TEST_PLACE_WALK_H
#define MIG_TEST_PLACE_WALK_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef uint8_t *(*place_walk_fn)(void *wctx, uint8_t type, const uint8_t *buf, size_t len, size_t off, size_t *n);

/* Copies the n bytes at src into buf, or where the placement puts each region (buf there
 * gets junk, as the channel's ciphertext); *placed counts the bytes placed. -1 when
 * where() broke the rules (a region empty, past the end, or not ending on a 16-byte block
 * before the end). */
static inline int place_walk(place_walk_fn where, void *wctx, uint8_t type, uint8_t *buf, const uint8_t *src, size_t n,
			     uint64_t *placed)
{
	for (size_t off = 0, m; off < n; off += m) {
		m = 0;
		uint8_t *out = where(wctx, type, buf, n, off, &m);
		if (!m || m > n - off || ((off + m) % 16 && off + m != n))
			return -1;
		if (out) {
			memcpy(out, src + off, m);
			memset(buf + off, 0xee, m);
			*placed += m;
		} else {
			memcpy(buf + off, src + off, m);
		}
	}
	return 0;
}
#endif
