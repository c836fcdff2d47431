/* Console line editor: turns a byte stream (a person typing, a script, or
 * garbage) into bounded, printable command lines; never blocks, never overflows. */
#include "console.h"

void le_init(struct line_editor *le) { memset(le, 0, sizeof(*le)); }

static void echo_str(const struct printer *echo, const char *s, size_t n)
{
	if (echo)
		echo->write(echo->ctx, s, n);
}

static enum le_result finish(struct line_editor *le)
{
	enum le_result r;
	if (le->overflow)
		r = LE_ERR_LONG;
	else if (le->binary)
		r = LE_ERR_BINARY;
	else if (le->len == 0)
		r = LE_EMPTY;
	else
		r = LE_LINE;
	le->buf[le->len] = '\0';
	if (r != LE_LINE)
		le->len = 0;
	le->overflow = le->binary = 0;
	return r;
}

enum le_result le_feed(struct line_editor *le, uint8_t c, const struct printer *echo)
{
	char prev = le->last;
	le->last = (char)c;
	if (c == '\n' && prev == '\r')
		return LE_NONE; /* CRLF: the CR already ended the line */
	if (c == '\r' || c == '\n') {
		echo_str(echo, "\r\n", 2);
		return finish(le);
	}
	if (c == 0x03 || c == 0x15) { /* ^C, ^U */
		le->len = 0;
		le->overflow = le->binary = 0;
		echo_str(echo, "^C\r\n", 4);
		return LE_CANCEL;
	}
	if (c == 0x08 || c == 0x7f) {
		if (le->len && !le->overflow && !le->binary) {
			le->len--;
			echo_str(echo, "\b \b", 3);
		}
		return LE_NONE;
	}
	if (c == '\t')
		c = ' ';
	if (c < 0x20 || c > 0x7e) {
		le->binary = 1;
		return LE_NONE;
	}
	if (le->len >= CONSOLE_LINE_MAX) {
		le->overflow = 1;
		return LE_NONE;
	}
	le->buf[le->len++] = (char)c;
	if (!le->binary)
		echo_str(echo, (const char *)&c, 1);
	return LE_NONE;
}
