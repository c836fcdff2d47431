/* \hv.cfg -> cmdline: one printable ASCII line, checked strictly so that a typo in the
 * file shows up as a loader error instead of a silently ignored setting. */
#include "cfg_parse.h"

static int blank(uint8_t c) { return c == ' ' || c == '\t'; }

const char *cfg_parse(const uint8_t *buf, uint64_t len, char *out, uint64_t outmax, uint64_t *bad_value)
{
	uint64_t start = 0, end, i, n;

	*bad_value = 0;
	if (outmax == 0)
		return "no room for the command line";
	out[0] = 0;
	/* A UTF-8 byte order mark, as some editors write, is not part of the line. */
	if (len >= 3 && buf[0] == 0xef && buf[1] == 0xbb && buf[2] == 0xbf)
		start = 3;
	for (end = start; end < len && buf[end] != '\n' && buf[end] != '\r'; end++)
		;
	/* Whatever follows the first line must be blank. */
	for (i = end; i < len; i++) {
		if (buf[i] != '\n' && buf[i] != '\r' && !blank(buf[i])) {
			*bad_value = i;
			return "it has more than one line; the second starts at byte";
		}
	}
	while (start < end && blank(buf[start]))
		start++;
	while (end > start && blank(buf[end - 1]))
		end--;
	n = end - start;
	if (n > outmax - 1) {
		*bad_value = n;
		return "the line is longer than the command line allows; its length is";
	}
	for (i = 0; i < n; i++) {
		uint8_t c = buf[start + i];
		if (c == '\t')
			c = ' ';
		if (c < 0x20 || c > 0x7e) {
			*bad_value = c;
			return "it contains a byte that is not printable ASCII:";
		}
		out[i] = (char)c;
	}
	out[n] = 0;
	return 0;
}

void cfg_redact(const char *in, char *out, uint64_t outmax)
{
	static const char hidden[] = "(hidden)";
	uint64_t o = 0;
	int start = 1, skip = 0;

	if (!outmax)
		return;
	for (; *in && o + 1 < outmax; in++) {
		if (*in == ' ') {
			start = 1;
			skip = 0;
		} else if (start) {
			start = 0;
			if (in[0] == 'p' && in[1] == 's' && in[2] == 'k' && in[3] == '=') {
				for (int i = 0; i < 4 && o + 1 < outmax; i++)
					out[o++] = in[i];
				for (int i = 0; hidden[i] && o + 1 < outmax; i++)
					out[o++] = hidden[i];
				in += 3;
				skip = 1;
				continue;
			}
		}
		if (!skip)
			out[o++] = *in;
	}
	out[o] = 0;
}
