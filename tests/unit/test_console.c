/* Unit tests of the console: the line editor under typing, CRLF, overlong
 * lines and binary garbage, and the command interpreter against a mock hypervisor. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>
#include "console.h"
#include "net.h"

static char out[8192];
static size_t outlen;
static void cap(void *ctx, const char *s, size_t n)
{
	(void)ctx;
	assert_true(outlen + n < sizeof(out));
	memcpy(out + outlen, s, n);
	outlen += n;
	out[outlen] = 0;
}
static const struct printer P = { cap, 0 };

/* A mock hypervisor with VMs 1 (running) and 2 (paused). */
static const char *states[3] = { 0, "running", "paused" };
static int actions, dirties, tracks, statuses, poweroffs;
static enum vm_action last_action;
static enum dirty_method last_method;

static int m_info(void *ctx, unsigned i, struct vm_info *o)
{
	(void)ctx;
	if (i >= 2)
		return HV_ENOENT;
	o->id = i + 1;
	o->state = states[i + 1];
	o->mode = "work";
	o->track = "pml";
	o->mem_kib = 4096;
	o->exits = 7;
	return HV_OK;
}
static int m_action(void *ctx, unsigned id, enum vm_action a)
{
	(void)ctx;
	actions++;
	last_action = a;
	if (a == VM_RESUME && !strcmp(states[id], "running"))
		return HV_ESTATE;
	return HV_OK;
}
static int m_dirty(void *ctx, unsigned id, const struct printer *p)
{
	(void)ctx;
	dirties++;
	pr_printf(p, "dirty vm=%u method=pml count=2 pages=3,9\r\n", id);
	return HV_OK;
}
static int m_track(void *ctx, unsigned id, enum dirty_method m)
{
	(void)ctx;
	(void)id;
	tracks++;
	last_method = m;
	return HV_OK;
}
static int creates;
static unsigned created_mem;
static char created_cmdline[256];
static char created_kernel[32];
static int m_create(void *ctx, const char *mode, const struct vm_create_args *a)
{
	(void)ctx;
	if (strcmp(mode, "work") && strcmp(mode, "wset") && strcmp(mode, "linux"))
		return HV_EINVAL;
	creates++;
	created_mem = a->mem_mib;
	snprintf(created_cmdline, sizeof(created_cmdline), "%s", a->cmdline);
	snprintf(created_kernel, sizeof(created_kernel), "%s", a->kernel);
	return 3;
}
static unsigned attached_to;
static int m_console(void *ctx, unsigned id)
{
	(void)ctx;
	if (id != 1)
		return HV_ENOENT;
	attached_to = id;
	return HV_OK;
}
/* A net subsystem without a NIC; its error lines are the real ones (net/net_cmd.c). */
static int m_net_run(int argc, char **argv, const struct printer *p)
{
	if (argc < 2 || !strcmp(argv[1], "status")) {
		pr_printf(p, "net: down\r\n");
		return HV_OK;
	}
	if (!strcmp(argv[1], "up"))
		return argc == 3 ? HV_ENOENT : HV_EINVAL; /* as if no NIC were present */
	if (!strcmp(argv[1], "echo"))
		return HV_ESTATE;
	return HV_ENOENT;
}
static int m_net(void *ctx, int argc, char **argv, const struct printer *p)
{
	(void)ctx;
	return net_cmd_report(p, m_net_run(argc, argv, p), argc, argv);
}
static void m_status(void *ctx, const struct printer *p)
{
	(void)ctx;
	statuses++;
	pr_printf(p, "vmx: available\r\n");
}
static void m_poweroff(void *ctx)
{
	(void)ctx;
	poweroffs++;
}
static int stats;
static int m_stats(void *ctx, unsigned id, const struct printer *p)
{
	(void)ctx;
	stats++;
	pr_printf(p, "vm %u exits=7\r\nexit 30 io 5\r\n", id);
	return HV_OK;
}
static int moves;
static int m_move(void *ctx, unsigned id)
{
	(void)ctx;
	if (id == 1) /* "running": movable */
		return moves++, 3;
	return HV_ESTATE;
}
#define MOCK_OPS                                                                                                       \
	.vm_info = m_info, .vm_action = m_action, .vm_dirty = m_dirty, .vm_track = m_track, .vm_create = m_create,     \
	.vm_move = m_move, .status = m_status, .poweroff = m_poweroff, .net_command = m_net, .vm_stats = m_stats,      \
	.vm_console = m_console
static const struct console_ops ops = { MOCK_OPS };
static const char *no_vtx(void *ctx)
{
	(void)ctx;
	return "CPUID.1:ECX.VMX=0";
}
static const struct console_ops ops_novtx = { MOCK_OPS, .guests_unavailable = no_vtx };

static int reset(void **state)
{
	(void)state;
	outlen = 0;
	out[0] = 0;
	actions = dirties = tracks = statuses = poweroffs = creates = stats = 0;
	return 0;
}

/* Every reply ends with exactly one final line, ok or error. */
static void assert_final(const char *want_prefix)
{
	assert_true(outlen >= 2 && out[outlen - 1] == '\n');
	char *last = out + outlen - 2;
	while (last > out && last[-1] != '\n')
		last--;
	assert_int_equal(strncmp(last, want_prefix, strlen(want_prefix)), 0);
	int finals = 0;
	for (char *l = out; l < out + outlen; l = strchr(l, '\n') + 1)
		finals += !strncmp(l, "ok\r", 3) || !strncmp(l, "error:", 6);
	assert_int_equal(finals, 1);
}

static void exec_ok(const char *line)
{
	outlen = 0;
	assert_int_equal(console_execute(&ops, line, &P), HV_OK);
	assert_final("ok\r\n");
}
static void exec_err(const char *line, const char *needle)
{
	outlen = 0;
	int before = actions + dirties + tracks + poweroffs;
	assert_int_not_equal(console_execute(&ops, line, &P), HV_OK);
	assert_final("error: ");
	assert_non_null(strstr(out, needle));
	/* A rejected command changes nothing. */
	if (strncmp(needle, "cannot", 6)) /* state errors reach the hv, which refuses */
		assert_int_equal(actions + dirties + tracks + poweroffs, before);
}

static void commands(void **state)
{
	(void)state;
	exec_ok("help");
	assert_non_null(strstr(out, "vm dirty ID"));
	exec_ok("status");
	assert_int_equal(statuses, 1);
	exec_ok("vm list");
	assert_non_null(strstr(out, "vm 1 state=running mode=work mem=4096KiB track=pml exits=7\r\n"));
	assert_non_null(strstr(out, "vm 2 state=paused"));
	exec_ok("  vm   pause   1  ");
	assert_int_equal(last_action, VM_PAUSE);
	exec_ok("vm resume 2");
	assert_int_equal(last_action, VM_RESUME);
	exec_ok("vm start 0x2");
	exec_ok("vm stop 1");
	assert_int_equal(last_action, VM_STOP);
	exec_ok("vm destroy 1");
	assert_int_equal(last_action, VM_DESTROY);
	exec_ok("vm dirty 2");
	assert_non_null(strstr(out, "dirty vm=2 method=pml count=2 pages=3,9\r\nok\r\n"));
	exec_ok("vm track 1 ad");
	assert_int_equal(last_method, DIRTY_AD);
	exec_ok("vm track 1 pml");
	assert_int_equal(last_method, DIRTY_PML);
	exec_ok("vm move 1");
	assert_non_null(strstr(out, "moved vm 1 to vm 3\r\nok\r\n"));
	assert_int_equal(moves, 1);
	exec_ok("vm create wset");
	assert_non_null(strstr(out, "created vm 3\r\nok\r\n"));
	assert_int_equal(creates, 1);
	assert_int_equal(created_mem, 0);
	assert_string_equal(created_cmdline, "");
	/* Everything after cmdline= is the kernel's, spaces included. */
	exec_ok("vm create linux mem=64 cmdline=rdinit=/none panic=-1 quiet");
	assert_int_equal(creates, 2);
	assert_int_equal(created_mem, 64);
	assert_string_equal(created_cmdline, "rdinit=/none panic=-1 quiet");
	exec_ok("vm console 1");
	assert_non_null(strstr(out, "attached to vm 1's serial line"));
	assert_int_equal(attached_to, 1);
	exec_err("vm console 9", "no vm with id 9");
	exec_err("vm console", "usage: vm console ID");
	exec_ok("vm create linux kernel=linux-bad");
	assert_string_equal(created_kernel, "linux-bad");
	assert_string_equal(created_cmdline, "");
	exec_ok("vm stats 2");
	assert_non_null(strstr(out, "vm 2 exits=7\r\nexit 30 io 5\r\nok\r\n"));
	assert_int_equal(stats, 1);
	exec_ok("net");
	assert_non_null(strstr(out, "net: down\r\nok\r\n"));
	exec_ok("net status");
	outlen = 0;
	assert_int_equal(console_execute(&ops, "poweroff", &P), HV_OK);
	assert_int_equal(poweroffs, 1);
}

static void bad_commands(void **state)
{
	(void)state;
	exec_err("frobnicate", "unknown command 'frobnicate'");
	exec_err("vm", "usage: vm");
	exec_err("vm list extra", "usage: vm list");
	exec_err("vm pause", "usage: vm pause ID");
	exec_err("vm pause 99", "no vm with id 99");
	exec_err("vm pause 0", "bad vm id '0'");
	exec_err("vm pause x", "bad vm id 'x'");
	exec_err("vm pause -1", "bad vm id");
	exec_err("vm pause 1 2", "usage");
	exec_err("vm stats", "usage: vm stats ID");
	exec_err("vm stats 99", "no vm with id 99");
	exec_err("debug scan", "usage: debug scan HEX");
	exec_err("poweroff now", "usage: poweroff");
	assert_int_equal(stats, 0);
	exec_err("vm pause 99999999999999999999999", "bad vm id");
	exec_err("vm explode 1", "unknown vm subcommand");
	exec_err("vm track 1 magic", "unknown tracking method 'magic'");
	exec_err("vm track 1", "usage");
	exec_err("net up 1.2.3.4/24", "no e1000 NIC found");
	exec_err("net up", "usage: net status");
	exec_err("net echo 1.2.3.4 5", "the network is down");
	exec_err("net frob", "unknown net subcommand 'frob'");
	exec_err("vm move", "usage: vm move ID");
	exec_err("vm move 2", "cannot move vm in state paused");
	exec_err("vm move 9", "no vm with id 9");
	exec_err("vm create", "usage: vm create");
	exec_err("vm create rocket", "unknown guest mode 'rocket'");
	exec_err("vm create linux mem=0", "bad mem=0");
	exec_err("vm create linux mem=lots", "bad mem=lots");
	exec_err("vm create linux size=4", "unknown option 'size=4'");
	assert_int_equal(creates, 0);
	exec_err("vm dirty", "usage");
	exec_err("status now", "usage: status");
	exec_err("poweroff please", "usage: poweroff");
	exec_err("a b c d e f g h i", "too many words");
	exec_err("", "empty command");
	exec_err("vm\x01list", "non-printable");
	char longline[400];
	memset(longline, 'x', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = 0;
	exec_err(longline, "longer than 255");
	/* A state error names the state and is still exactly one error line. */
	exec_err("vm resume 1", "cannot resume vm in state running");
	assert_int_equal(poweroffs, 0);
}

static void no_vtx_refuses_vm_commands(void **state)
{
	(void)state;
	const char *cmds[] = { "vm start 1", "vm pause 1",    "vm resume 1",   "vm stop 1",
			       "vm dirty 1", "vm track 1 ad", "vm create work" };
	for (unsigned i = 0; i < 7; i++) {
		outlen = 0;
		assert_int_equal(console_execute(&ops_novtx, cmds[i], &P), HV_ENOTSUP);
		assert_final("error: ");
		assert_non_null(strstr(out, "guests cannot run here: CPUID.1:ECX.VMX=0"));
	}
	assert_int_equal(actions + dirties + tracks + creates, 0);
	outlen = 0;
	assert_int_equal(console_execute(&ops_novtx, "status", &P), HV_OK);
}

static enum le_result feed(struct line_editor *le, const char *s, size_t n)
{
	enum le_result r = LE_NONE;
	for (size_t i = 0; i < n; i++) {
		enum le_result x = le_feed(le, (uint8_t)s[i], &P);
		if (x != LE_NONE)
			r = x;
	}
	return r;
}

static void line_editor(void **state)
{
	(void)state;
	struct line_editor le;
	le_init(&le);
	assert_int_equal(feed(&le, "vm list\r", 8), LE_LINE);
	assert_string_equal(le.buf, "vm list");
	le.len = 0;
	/* CRLF is one line end, not an empty line after it. */
	assert_int_equal(le_feed(&le, '\n', &P), LE_NONE);
	assert_int_equal(feed(&le, "\n", 1), LE_EMPTY);
	assert_int_equal(feed(&le, "statux\bs\n", 9), LE_LINE);
	assert_string_equal(le.buf, "status");
	le.len = 0;
	/* Overlong: reported at the line end, then the editor works again. */
	char big[600];
	memset(big, 'a', sizeof(big));
	assert_int_equal(feed(&le, big, sizeof(big)), LE_NONE);
	assert_true(le.len <= CONSOLE_LINE_MAX);
	assert_int_equal(feed(&le, "\r", 1), LE_ERR_LONG);
	assert_int_equal(feed(&le, "help\r", 5), LE_LINE);
	le.len = 0;
	/* Binary garbage with a line end: one error, then normal service. */
	const char garbage[] = { 'v', (char)0xff, 0, 0x1b, '[', 'A', (char)0x80, '\n' };
	assert_int_equal(feed(&le, garbage, sizeof(garbage)), LE_ERR_BINARY);
	assert_int_equal(feed(&le, "vm list\n", 8), LE_LINE);
	le.len = 0;
	/* ^C discards the line. */
	assert_int_equal(feed(&le, "vm stop 1\x03", 10), LE_CANCEL);
	assert_int_equal(feed(&le, "\r", 1), LE_EMPTY);
	/* Random bytes never overflow the buffer or produce an over-long line. */
	srand(1);
	for (int i = 0; i < 200000; i++) {
		uint8_t c = (uint8_t)rand();
		enum le_result r = le_feed(&le, c, 0);
		assert_true(le.len <= CONSOLE_LINE_MAX);
		if (r == LE_LINE) {
			assert_true(strlen(le.buf) <= CONSOLE_LINE_MAX);
			for (char *p = le.buf; *p; p++)
				assert_true(*p >= 0x20 && *p <= 0x7e);
			outlen = 0;
			console_execute(&ops, le.buf, &P); /* whatever it is, it must answer */
			assert_true(strstr(out, "ok\r\n") || strstr(out, "error: "));
			le.len = 0;
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(commands, reset),
		cmocka_unit_test_setup(bad_commands, reset),
		cmocka_unit_test_setup(line_editor, reset),
		cmocka_unit_test_setup(no_vtx_refuses_vm_commands, reset),
	};
	return cmocka_run_group_tests(tests, 0, 0);
}
