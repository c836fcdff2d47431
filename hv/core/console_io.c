/* Console plumbing on the serial port: echo and the prompt, guest lines with
 * their [vmN] prefix, event lines that never split a reply or a typed command. */
#include "console.h"
#include "hv.h"
#include "vm.h"
#include "arch.h"

static struct line_editor editor;
static int at_line_start = 1;
static int prompt_shown;
static int prompt_pending; /* prompt owed, printed with the first typed byte */
static void (*secret_fn)(const char *line);
/* `vm console ID`: the guest whose serial line gets what is typed (0: none), and typed
 * bytes its receiver could not take yet. */
static unsigned attached;
static uint8_t pending[64];
static unsigned npending;
#define DETACH_KEY 0x1d /* Ctrl-], as telnet and virsh console */

void console_read_secret(void (*fn)(const char *line)) { secret_fn = fn; }

static void raw(const char *s, size_t n)
{
	if (!n)
		return;
	arch_console_write(s, n);
	at_line_start = s[n - 1] == '\n';
}

static void raw_write(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	raw(s, n);
}
const struct printer hv_console_printer = { raw_write, 0 };

static void show_prompt(void)
{
	/* While a secret is typed, what was typed so far is never re-printed. */
	if (secret_fn) {
		raw("secret> ", 8);
	} else {
		raw("hv> ", 4);
		raw(editor.buf, editor.len);
	}
	prompt_shown = 1;
}

/* An asynchronous line: put it on a line of its own, then restore the prompt
 * and whatever the user had typed so far. */
static void async_line(const char *s, size_t n)
{
	if (!at_line_start)
		raw("\r\n", 2);
	raw(s, n);
	if (attached) {
		/* The guest's lines are the conversation now: no prompt between them. */
	} else if (prompt_shown && editor.len) {
		show_prompt(); /* give back what the user had typed */
	} else if (prompt_shown) {
		/* Owe the prompt until the next keystroke instead of repeating a
		 * bare "hv> " between every two guest lines. */
		prompt_shown = 0;
		prompt_pending = 1;
	}
}

void hv_log(const char *fmt, ...)
{
	char buf[512];
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(buf) - 1)
		n = sizeof(buf) - 1;
	async_line(buf, (size_t)n);
}

void hv_event(const char *fmt, ...)
{
	/* One line: the prefix host tools look for, the text (cut to fit), CR LF. */
	static const char prefix[] = "[hv] ";
	/* Room for the longest machine line (MIGSTAT with its per-round lists): a line cut
	 * short loses the fields at its end. Static: events never nest. */
	static char buf[1792];
	size_t p = sizeof(prefix) - 1;
	memcpy(buf, prefix, p);
	va_list ap;
	va_start(ap, fmt);
	int n = hv_vsnprintf(buf + p, sizeof(buf) - p - 2, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	p += (size_t)n < sizeof(buf) - p - 3 ? (size_t)n : sizeof(buf) - p - 3;
	buf[p++] = '\r';
	buf[p++] = '\n';
	async_line(buf, p);
}

void hv_panic(const char *fmt, ...)
{
	char buf[256];
	va_list ap;
	va_start(ap, fmt);
	hv_vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	hv_event("PANIC: %s", buf);
	hv_halt_machine(1);
}

void console_guest_output(unsigned vm_id, char *buf, unsigned *len, char c)
{
	/* Guest bytes are untrusted: only printable ones reach our console. The held line
	 * may come from a migration's state: never trust its length either. */
	if (*len > CONSOLE_GUEST_LINE_MAX)
		*len = CONSOLE_GUEST_LINE_MAX;
	if (c == '\r')
		return;
	if (c != '\n' && *len < CONSOLE_GUEST_LINE_MAX) {
		buf[(*len)++] = (c >= 0x20 && c <= 0x7e) ? c : '.';
		return;
	}
	char line[24 + CONSOLE_GUEST_LINE_MAX + 2];
	int n = hv_snprintf(line, 24, "[vm%u] ", vm_id);
	if (n < 0 || n > 23)
		n = 23;
	for (unsigned i = 0; i < *len; i++)
		line[n++] = (buf[i] >= 0x20 && buf[i] <= 0x7e) ? buf[i] : '.';
	line[n++] = '\r';
	line[n++] = '\n';
	async_line(line, (size_t)n);
	*len = 0;
	if (c != '\n')
		buf[(*len)++] = (c >= 0x20 && c <= 0x7e) ? c : '.';
}

void console_io_init(void) { le_init(&editor); }

void console_ready(void)
{
	hv_event("console ready");
	show_prompt();
}

void console_attach(unsigned vm_id)
{
	attached = vm_id;
	npending = 0;
}

static void detach(const char *why)
{
	hv_event("console detached from vm %u%s", attached, why);
	attached = 0;
	npending = 0;
	show_prompt();
}

/* Attached: bytes go to the guest (which echoes them if it wants to), Ctrl-] ends it. */
static void poll_attached(void)
{
	int c;
	while (npending < sizeof(pending) && (c = arch_console_getc()) >= 0) {
		if (c == DETACH_KEY) {
			detach("");
			return;
		}
		pending[npending++] = (uint8_t)c;
	}
	unsigned sent = 0;
	while (sent < npending) {
		int r = vm_serial_input(attached, pending[sent]);
		if (r == HV_ENOENT) {
			detach(": the guest is gone");
			return;
		}
		if (r < 0)
			break; /* its receiver is full: the rest waits */
		sent++;
	}
	memmove(pending, pending + sent, npending - sent);
	npending -= sent;
}

void console_poll(void)
{
	static const struct printer echo = { raw_write, 0 };
	int c;
	if (attached) {
		poll_attached();
		return;
	}
	/* Bounded: a flood of input cannot starve the guests. */
	for (unsigned budget = 0; budget < 64 && (c = arch_console_getc()) >= 0; budget++) {
		if (prompt_pending) {
			prompt_pending = 0;
			show_prompt();
		}
		/* A secret is never echoed, not even as asterisks that give its length. */
		enum le_result r = le_feed(&editor, (uint8_t)c, secret_fn ? 0 : &echo);
		if (r == LE_NONE)
			continue;
		prompt_shown = 0;
		if (secret_fn) {
			void (*fn)(const char *) = secret_fn;
			secret_fn = 0;
			raw("\r\n", 2);
			fn(r == LE_LINE ? editor.buf : "");
			memset(editor.buf, 0, sizeof(editor.buf));
			editor.len = 0;
		} else if (r == LE_LINE) {
			console_execute(&hv_console_ops, editor.buf, &hv_console_printer);
			editor.len = 0;
			if (attached)
				return; /* no prompt: what is typed now is the guest's */
		} else if (r == LE_ERR_LONG) {
			raw("error: line longer than 255 characters\r\n", 40);
		} else if (r == LE_ERR_BINARY) {
			raw("error: non-printable byte in command\r\n", 38);
		}
		show_prompt();
	}
}
