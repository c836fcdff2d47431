/* Line output on fd 1 (see out.h): one write() per line. */
#include "out.h"
#include "sys.h"

/* Longest line: ECHO with its 120-byte limit; anything longer is cut, the newline kept. */
#define OUT_MAX 256

static char buf[OUT_MAX];
static unsigned len;

void out_char(char c)
{
	if (len < OUT_MAX - 1)
		buf[len++] = c;
}

void out_str(const char *s)
{
	while (*s)
		out_char(*s++);
}

void out_dec(uint64_t v)
{
	char d[20];
	int n = 0;

	do
		d[n++] = (char)('0' + v % 10);
	while (v /= 10);
	while (n)
		out_char(d[--n]);
}

void out_hex(uint64_t v, unsigned width)
{
	int n = 16;

	if (!width)
		while (n > 1 && !(v >> (4 * (n - 1))))
			n--;
	else
		n = (int)(width < 16 ? width : 16);
	while (n--)
		out_char("0123456789abcdef"[(v >> (4 * n)) & 15]);
}

void out_end(void)
{
	unsigned off = 0;

	buf[len++] = '\n';
	/* A console may take a line in pieces; a closed or broken one loses it. */
	while (off < len) {
		long r = sys_write(1, buf + off, len - off);

		if (r == -EINTR || r == -EAGAIN)
			continue;
		if (r <= 0)
			break;
		off += (unsigned)r;
	}
	len = 0;
}
