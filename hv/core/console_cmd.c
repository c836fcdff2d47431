/* Console command interpreter: parses one line, finds the command in a table of
 * {name, handler, usage}, and ends each reply with ok or one error line. Every handler
 * prints its own error line; the net and migrate subsystems print theirs. */
#include "console.h"

#define MAX_TOKENS 8

struct cmd_ctx {
	const struct console_ops *ops;
	const struct printer *out;
	int argc;
	char *argv[MAX_TOKENS];
};

int console_error(const struct printer *out, int err, const char *fmt, ...)
{
	char msg[192];
	va_list ap;
	va_start(ap, fmt);
	hv_vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	pr_printf(out, "error: %s\r\n", msg);
	return err;
}

static int fail(const struct printer *out, int err, const char *fmt, const char *a, const char *b)
{
	return console_error(out, err, fmt, a ? a : "", b ? b : "");
}

static int parse_id(struct cmd_ctx *c, const char *s, unsigned *id)
{
	uint64_t v;
	if (hv_parse_u64(s, &v) != HV_OK || v == 0 || v > 9999)
		return fail(c->out, HV_EINVAL, "bad vm id '%s' (expected a number such as 1)", s, 0);
	struct vm_info info;
	for (unsigned i = 0; c->ops->vm_info(c->ops->ctx, i, &info) == HV_OK; i++)
		if (info.id == v) {
			*id = (unsigned)v;
			return HV_OK;
		}
	return fail(c->out, HV_ENOENT, "no vm with id %s (see 'vm list')", s, 0);
}

static const char *state_of(struct cmd_ctx *c, unsigned id)
{
	struct vm_info info;
	for (unsigned i = 0; c->ops->vm_info(c->ops->ctx, i, &info) == HV_OK; i++)
		if (info.id == id)
			return info.state;
	return "?";
}

static int cmd_help(struct cmd_ctx *c)
{
	static const char *lines[] = {
		"help                  this list",
		"status                CPU features, dirty tracking, memory, clock",
		"vm list               the VMs and their states",
		"vm create MODE [mem=MiB] [cmdline=ARGS...]",
		"                      new VM: the test guest (work|wset|eptfault|triplefault) or linux",
		"                      (the boot modules' bzImage; ARGS: extra kernel arguments)",
		"vm start ID           boot a created or stopped VM",
		"vm pause ID           stop scheduling a running VM",
		"vm resume ID          continue a paused or parked VM",
		"vm stop ID            stop a VM and scrub its memory",
		"vm destroy ID         free a stopped or failed VM's memory and slot (scrubbed first)",
		"vm move ID            local migration: a new VM continues ID, ID is scrubbed",
		"vm dirty ID           pages written since the last call (and reset)",
		"vm track ID ad|pml    choose the dirty-tracking method",
		"vm stats ID           the VM's exit counts by reason, MSRs refused",
		"vm console ID         type into the guest's serial line (COM1) until Ctrl-]",
		"net status            the hypervisor's NIC, address and counters",
		"net up IP/LEN [GW]    configure the NIC when the boot configuration did not",
		"net echo IP BYTES     send BYTES to IP's echo service and verify the echo",
		"net hold [IP PORT N]  hold N idle TCP connections to IP:PORT (tests of the listeners' limits)",
		"migrate ID PEER[:PORT]  live-migrate VM ID to the hypervisor at PEER (address or name)",
		"migrate peer NAME A.B.C.D[:PORT]  name a peer",
		"migrate status        settings, the migration under way, counters",
		"migrate cancel        abandon the migration (before its commit)",
		"migrate resolve resume|scrub  end an in-doubt migration (after checking the destination)",
		"migrate info          the last completed migration's MIGSTAT line, each direction",
		"migrate test hostile-state  (tests) the next state sent is a hostile one: the peer must refuse it",
		"migrate psk           set the pre-shared key (typed as hex, not echoed)",
		"migrate set KEY VAL   key_id, mig_policy, mig_port, downtime_ms, outrun, bw_cap_kib",
		"debug scan HEX        find a byte string (given XOR 0x5a) in RAM outside live guests",
		"debug hide-pml        behave as a CPU without PML from now on (tests, method comparisons)",
		"poweroff              stop the machine",
	};
	for (unsigned i = 0; i < ARRAY_SIZE(lines); i++)
		pr_printf(c->out, "%s\r\n", lines[i]);
	return HV_OK;
}

static int cmd_vm(struct cmd_ctx *c)
{
	static const struct {
		const char *name;
		enum vm_action a;
	} actions[] = {
		{ "start", VM_START }, { "pause", VM_PAUSE },	  { "resume", VM_RESUME },
		{ "stop", VM_STOP },   { "destroy", VM_DESTROY },
	};
	if (c->argc < 2)
		return fail(c->out, HV_EINVAL,
			    "usage: vm list|create|start|pause|resume|stop|destroy|move|dirty|track|stats ...", 0, 0);
	const char *sub = c->argv[1];
	if (!hv_strcmp(sub, "list")) {
		if (c->argc != 2)
			return fail(c->out, HV_EINVAL, "usage: vm list", 0, 0);
		struct vm_info info;
		for (unsigned i = 0; c->ops->vm_info(c->ops->ctx, i, &info) == HV_OK; i++)
			pr_printf(c->out, "vm %u state=%s mode=%s mem=%luKiB track=%s exits=%lu\r\n", info.id,
				  info.state, info.mode, (unsigned long)info.mem_kib, info.track,
				  (unsigned long)info.exits);
		return HV_OK;
	}
	unsigned id;
	int err;
	if (!hv_strcmp(sub, "create")) {
		static const char usage[] = "usage: vm create work|wset|eptfault|triplefault|linux [mem=MiB] "
					    "[kernel=MODULE] [initrd=MODULE|none] [cmdline=ARGS...]";
		if (c->argc < 3)
			return fail(c->out, HV_EINVAL, usage, 0, 0);
		static char cmdline[256];
		cmdline[0] = 0;
		struct vm_create_args args = { 0, "", "", cmdline };
		for (int a = 3; a < c->argc; a++) {
			const char *w = c->argv[a];
			if (!hv_strncmp(w, "mem=", 4)) {
				uint64_t v;
				if (hv_parse_u64(w + 4, &v) != HV_OK || v < 1 || v > 65536)
					return fail(c->out, HV_EINVAL, "bad mem=%s (MiB, 1..65536)", w + 4, 0);
				args.mem_mib = (unsigned)v;
			} else if (!hv_strncmp(w, "kernel=", 7)) {
				args.kernel = w + 7;
			} else if (!hv_strncmp(w, "initrd=", 7)) {
				args.initrd = w + 7;
			} else if (!hv_strncmp(w, "cmdline=", 8)) {
				/* The rest of the line: the kernel's arguments, spaces and all. */
				size_t n = 0;
				for (int b = a; b < c->argc; b++) {
					const char *s = b == a ? w + 8 : c->argv[b];
					size_t l = hv_strlen(s);
					if (n + l + 2 > sizeof(cmdline))
						return fail(c->out, HV_ERANGE, "cmdline longer than %s bytes", "255",
							    0);
					if (n)
						cmdline[n++] = ' ';
					memcpy(cmdline + n, s, l);
					n += l;
				}
				cmdline[n] = 0;
				break;
			} else {
				return fail(c->out, HV_EINVAL, "unknown option '%s' (%s)", w, usage + 7);
			}
		}
		const char *why = c->ops->guests_unavailable ? c->ops->guests_unavailable(c->ops->ctx) : 0;
		if (why)
			return fail(c->out, HV_ENOTSUP, "guests cannot run here: %s", why, 0);
		err = c->ops->vm_create(c->ops->ctx, c->argv[2], &args);
		if (err == HV_EINVAL)
			return fail(c->out, err,
				    "unknown guest mode '%s' (work, wset, eptfault, triplefault, linux; kernel=, "
				    "initrd= and cmdline= only for linux)",
				    c->argv[2], 0);
		if (err < 0)
			return fail(c->out, err, "create failed: %s%s", hv_strerror(err), 0);
		pr_printf(c->out, "created vm %d\r\n", err);
		return HV_OK;
	}
	const char *why = c->ops->guests_unavailable ? c->ops->guests_unavailable(c->ops->ctx) : 0;
	if (why)
		return fail(c->out, HV_ENOTSUP, "guests cannot run here: %s", why, 0);
	for (unsigned i = 0; i < ARRAY_SIZE(actions); i++) {
		if (hv_strcmp(sub, actions[i].name))
			continue;
		if (c->argc != 3)
			return fail(c->out, HV_EINVAL, "usage: vm %s ID", sub, 0);
		if ((err = parse_id(c, c->argv[2], &id)) != HV_OK)
			return err;
		err = c->ops->vm_action(c->ops->ctx, id, actions[i].a);
		if (err == HV_ESTATE)
			return fail(c->out, err, "cannot %s vm in state %s", sub, state_of(c, id));
		if (err == HV_EBUSY)
			return fail(c->out, err, "cannot %s vm: a migration of it is under way", sub, 0);
		if (err != HV_OK)
			return fail(c->out, err, "%s failed: %s", sub, hv_strerror(err));
		return HV_OK;
	}
	if (!hv_strcmp(sub, "move")) {
		if (c->argc != 3)
			return fail(c->out, HV_EINVAL, "usage: vm move ID", 0, 0);
		if ((err = parse_id(c, c->argv[2], &id)) != HV_OK)
			return err;
		err = c->ops->vm_move(c->ops->ctx, id);
		if (err == HV_ESTATE)
			return fail(c->out, err, "cannot move vm in state %s", state_of(c, id), 0);
		if (err < 0)
			return fail(c->out, err, "move failed: %s%s", hv_strerror(err), 0);
		pr_printf(c->out, "moved vm %u to vm %d\r\n", id, err);
		return HV_OK;
	}
	if (!hv_strcmp(sub, "dirty")) {
		if (c->argc != 3)
			return fail(c->out, HV_EINVAL, "usage: vm dirty ID", 0, 0);
		if ((err = parse_id(c, c->argv[2], &id)) != HV_OK)
			return err;
		err = c->ops->vm_dirty(c->ops->ctx, id, c->out);
		if (err != HV_OK)
			return fail(c->out, err, "dirty failed: %s%s", hv_strerror(err), 0);
		return HV_OK;
	}
	if (!hv_strcmp(sub, "console")) {
		if (c->argc != 3)
			return fail(c->out, HV_EINVAL, "usage: vm console ID", 0, 0);
		if ((err = parse_id(c, c->argv[2], &id)) != HV_OK)
			return err;
		if (!c->ops->vm_console)
			return fail(c->out, HV_ENOTSUP, "no guest serial lines in this build", 0, 0);
		err = c->ops->vm_console(c->ops->ctx, id);
		if (err != HV_OK)
			return fail(c->out, err, "cannot attach to vm in state %s", state_of(c, id), 0);
		pr_printf(c->out,
			  "attached to vm %u's serial line: what you type goes to the guest; Ctrl-] detaches\r\n", id);
		return HV_OK;
	}
	if (!hv_strcmp(sub, "stats")) {
		if (c->argc != 3)
			return fail(c->out, HV_EINVAL, "usage: vm stats ID", 0, 0);
		if ((err = parse_id(c, c->argv[2], &id)) != HV_OK)
			return err;
		if (!c->ops->vm_stats)
			return fail(c->out, HV_ENOTSUP, "no statistics in this build", 0, 0);
		err = c->ops->vm_stats(c->ops->ctx, id, c->out);
		if (err != HV_OK)
			return fail(c->out, err, "stats failed: %s%s", hv_strerror(err), 0);
		return HV_OK;
	}
	if (!hv_strcmp(sub, "track")) {
		if (c->argc != 4)
			return fail(c->out, HV_EINVAL, "usage: vm track ID ad|pml", 0, 0);
		if ((err = parse_id(c, c->argv[2], &id)) != HV_OK)
			return err;
		enum dirty_method m;
		if (!hv_strcmp(c->argv[3], "ad"))
			m = DIRTY_AD;
		else if (!hv_strcmp(c->argv[3], "pml"))
			m = DIRTY_PML;
		else
			return fail(c->out, HV_EINVAL, "unknown tracking method '%s' (ad or pml)", c->argv[3], 0);
		err = c->ops->vm_track(c->ops->ctx, id, m);
		if (err != HV_OK)
			return fail(c->out, err, "track %s: %s", c->argv[3], hv_strerror(err));
		return HV_OK;
	}
	return fail(c->out, HV_EINVAL, "unknown vm subcommand '%s' (try 'help')", sub, 0);
}

static int cmd_status(struct cmd_ctx *c)
{
	c->ops->status(c->ops->ctx, c->out);
	return HV_OK;
}

/* net and migrate: the subsystem prints its reply and, on failure, its error line. */
static int cmd_net(struct cmd_ctx *c)
{
	if (!c->ops->net_command)
		return fail(c->out, HV_ENOTSUP, "no network in this build", 0, 0);
	return c->ops->net_command(c->ops->ctx, c->argc, c->argv, c->out);
}

static int cmd_migrate(struct cmd_ctx *c)
{
	if (!c->ops->mig_command)
		return fail(c->out, HV_ENOTSUP, "no migration in this build", 0, 0);
	return c->ops->mig_command(c->ops->ctx, c->argc, c->argv, c->out);
}

#define DEBUG_USAGE "usage: debug scan HEX (the pattern XOR 0x5a, 4 to 64 bytes) | debug hide-pml"

static int cmd_debug(struct cmd_ctx *c)
{
	if (c->argc == 2 && !hv_strcmp(c->argv[1], "hide-pml") && c->ops->debug_hide_pml) {
		int err = c->ops->debug_hide_pml(c->ops->ctx);
		return err ? fail(c->out, err, "hide-pml: %s%s", hv_strerror(err), 0) : HV_OK;
	}
	if (c->argc != 3 || hv_strcmp(c->argv[1], "scan") || !c->ops->debug_scan)
		return fail(c->out, HV_EINVAL, DEBUG_USAGE, 0, 0);
	int err = c->ops->debug_scan(c->ops->ctx, c->argv[2], c->out);
	if (err)
		return fail(c->out, err, DEBUG_USAGE, 0, 0);
	return HV_OK;
}

static int cmd_poweroff(struct cmd_ctx *c)
{
	pr_printf(c->out, "ok\r\n");
	c->ops->poweroff(c->ops->ctx);
	return HV_OK;
}

/* argc: the exact word count a command takes (0: any; the handler checks). */
static const struct command {
	const char *name;
	int (*run)(struct cmd_ctx *c);
	int argc;
	const char *usage;
	int replied; /* the handler writes its own final line */
} commands[] = {
	{ "help", cmd_help, 0, "help", 0 },
	{ "status", cmd_status, 1, "status", 0 },
	{ "vm", cmd_vm, 0, "vm ...", 0 },
	{ "net", cmd_net, 0, "net ...", 0 },
	{ "migrate", cmd_migrate, 0, "migrate ...", 0 },
	{ "debug", cmd_debug, 0, DEBUG_USAGE, 0 },
	{ "poweroff", cmd_poweroff, 1, "poweroff", 1 },
};

int console_execute(const struct console_ops *ops, const char *line, const struct printer *out)
{
	char buf[CONSOLE_LINE_MAX + 1];
	struct cmd_ctx c = { ops, out, 0, { 0 } };
	size_t n = hv_strlen(line);

	if (n > CONSOLE_LINE_MAX)
		return fail(out, HV_ERANGE, "line longer than 255 characters", 0, 0);
	memcpy(buf, line, n + 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] < 0x20 || (unsigned char)buf[i] > 0x7e)
			return fail(out, HV_EINVAL, "non-printable byte in command", 0, 0);
	for (char *p = buf; *p;) {
		while (*p == ' ')
			*p++ = '\0';
		if (!*p)
			break;
		if (c.argc == MAX_TOKENS)
			return fail(out, HV_EINVAL, "too many words in command", 0, 0);
		c.argv[c.argc++] = p;
		while (*p && *p != ' ')
			p++;
	}
	if (c.argc == 0)
		return fail(out, HV_EINVAL, "empty command", 0, 0);

	for (unsigned i = 0; i < ARRAY_SIZE(commands); i++) {
		const struct command *cmd = &commands[i];
		if (hv_strcmp(c.argv[0], cmd->name))
			continue;
		if (cmd->argc && c.argc != cmd->argc)
			return fail(out, HV_EINVAL, "usage: %s", cmd->usage, 0);
		int err = cmd->run(&c);
		if (err == HV_OK && !cmd->replied)
			pr_printf(out, "ok\r\n");
		return err;
	}
	char shown[40];
	hv_snprintf(shown, sizeof(shown), "%s", c.argv[0]);
	return fail(out, HV_EINVAL, "unknown command '%s' (try 'help')", shown, 0);
}
