/* The management console: a line editor fed byte by byte from the serial
 * port, and the command interpreter. Both portable (hosted tests drive them). */
#ifndef HV_CONSOLE_H
#define HV_CONSOLE_H
#include <stdint.h>
#include "hvlib.h"
#include "dirty.h"

#define CONSOLE_LINE_MAX       255
/* A guest's console line is cut at this many characters (a 64-page WSET line is ~540). */
#define CONSOLE_GUEST_LINE_MAX 600

enum le_result {
	LE_NONE = 0,   /* byte consumed, line not finished */
	LE_LINE,       /* a complete line is in buf */
	LE_EMPTY,      /* an empty line was entered */
	LE_ERR_LONG,   /* line exceeded CONSOLE_LINE_MAX; discarded */
	LE_ERR_BINARY, /* line held non-printable bytes; discarded */
	LE_CANCEL,     /* ^C or ^U: line discarded */
};

struct line_editor {
	char buf[CONSOLE_LINE_MAX + 1];
	unsigned len;
	int overflow, binary;
	char last;
};

void le_init(struct line_editor *le);
/* Feeds one byte; echo (may be NULL) receives what a terminal should show. */
enum le_result le_feed(struct line_editor *le, uint8_t c, const struct printer *echo);

enum vm_action { VM_START, VM_PAUSE, VM_RESUME, VM_STOP, VM_DESTROY };

struct vm_info {
	unsigned id;
	const char *state, *mode, *track;
	uint64_t mem_kib, exits;
};

/* `vm create MODE [mem=MiB] [kernel=NAME] [initrd=NAME|none] [cmdline=ARGS...]`. */
struct vm_create_args {
	unsigned mem_mib;    /* 0: the mode's default */
	const char *kernel;  /* boot module with the bzImage (linux only; "" = "linux") */
	const char *initrd;  /* boot module with the initrd ("" = "initrd", "none") */
	const char *cmdline; /* extra kernel arguments (linux only), or "" */
};

/* What the interpreter needs from the rest of the hypervisor. */
struct console_ops {
	void *ctx;
	int (*vm_info)(void *ctx, unsigned index, struct vm_info *out); /* HV_ENOENT past the end */
	int (*vm_action)(void *ctx, unsigned id, enum vm_action a);
	int (*vm_dirty)(void *ctx, unsigned id, const struct printer *p);
	int (*vm_track)(void *ctx, unsigned id, enum dirty_method m);
	/* `vm stats ID`: prints the VM's counters (exits by reason). */
	int (*vm_stats)(void *ctx, unsigned id, const struct printer *p);
	/* Creates a VM running the test guest in mode (a name such as "work");
	 * returns its id (> 0) or an error. */
	int (*vm_create)(void *ctx, const char *mode, const struct vm_create_args *a);
	/* Local migration: a new VM takes over id's memory and vCPU state, id is
	 * scrubbed. Returns the new id (> 0) or an error. */
	int (*vm_move)(void *ctx, unsigned id);
	void (*status)(void *ctx, const struct printer *p);
	void (*poweroff)(void *ctx);
	/* Why no guest can run here (no VT-x), or NULL: VM commands then fail
	 * with that reason instead of a confusing "no such vm". */
	const char *(*guests_unavailable)(void *ctx);
	/* `net ...`: argv[0] is "net". Prints its reply lines and, when it fails, its own
	 * error line (console_error); returns HV_OK or the error. */
	int (*net_command)(void *ctx, int argc, char **argv, const struct printer *out);
	/* `migrate ...`, same conventions. */
	int (*mig_command)(void *ctx, int argc, char **argv, const struct printer *out);
	/* `debug scan HEX`: HV_EINVAL for a bad pattern. */
	int (*debug_scan)(void *ctx, const char *hex, const struct printer *out);
	/* `vm console ID`: from now on console input goes to the guest's serial line until
	 * Ctrl-] (console_attach). HV_ENOENT, or HV_ESTATE when the VM cannot take input. */
	int (*vm_console)(void *ctx, unsigned id);
	/* `debug hide-pml`: from now on the CPU is treated as one without PML. */
	int (*debug_hide_pml)(void *ctx);
};

/* Prints "error: " + the message as the reply's final line; returns err. Subsystems
 * (net, migrate) use it for their own errors. */
int console_error(const struct printer *out, int err, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Runs one command line: prints its reply lines and a final "ok" or
 * "error: ..." line. Returns HV_OK or the error. */
int console_execute(const struct console_ops *ops, const char *line, const struct printer *out);

#endif
