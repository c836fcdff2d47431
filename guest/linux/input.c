/* Console input (input.h): lines from fd 0 come back as ECHO lines, so a test sees input arrive. */
#include "input.h"
#include "out.h"
#include "sys.h"

/* Bytes of a line that are kept; the rest of an overlong line is dropped. */
#define LINE_MAX 120

static char line[LINE_MAX];
static unsigned line_len;
static int ended;

int input_fd(void) { return ended ? -1 : 0; }

static void echo_line(void)
{
	out_str("ECHO ");
	for (unsigned i = 0; i < line_len; i++)
		out_char(line[i]);
	out_end();
	line_len = 0;
}

void input_ready(void)
{
	char buf[256];
	long n = sys_read(0, buf, sizeof(buf));

	if (n == -EINTR || n == -EAGAIN)
		return;
	if (n <= 0) {
		/* End of input (or no fd 0 at all): a last unterminated line still counts. */
		if (line_len)
			echo_line();
		ended = 1;
		return;
	}
	for (long i = 0; i < n; i++) {
		char c = buf[i];

		if (c == '\n')
			echo_line();
		else if (c == '\r')
			continue; /* CRLF from a serial terminal: the line ends at the LF */
		else if (line_len < LINE_MAX)
			line[line_len++] = c >= 0x20 && c < 0x7f ? c : '?';
	}
}

void input_quiet_tty(void)
{
	struct k_termios t;

	/* Not a tty (a pipe in the hosted test): nothing to do. Keep ICANON: the kernel
	 * still edits the line, we only stop it echoing keystrokes between our lines. */
	if (sys_ioctl(0, TCGETS, (long)&t))
		return;
	t.c_lflag &= ~(uint32_t)(TC_ECHO | TC_ECHONL);
	sys_ioctl(0, TCSETS, (long)&t);
}
