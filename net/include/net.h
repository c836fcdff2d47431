/* The hypervisor's own network: one e1000 NIC, lwIP (raw API, polled), a
 * static address from the boot configuration, and the console's `net` commands. */
#ifndef HV_NET_H
#define HV_NET_H
#include "hvlib.h"

/* Brings up the NIC and lwIP when the configuration gives an address. */
int net_init(void);
/* Receives pending frames and runs lwIP's timers; cheap when idle. */
/* Returns the frames received (work done: the migration counts that time as busy). */
unsigned net_poll(void);
int net_is_up(void);
/* `net ...` console subcommands; prints reply lines, returns HV_OK or an error
 * whose message was already printed as the final error line. */
int net_command(int argc, char **argv, const struct printer *out);
/* Prints the error line for a net subcommand's result (net_cmd.c); returns err. */
int net_cmd_report(const struct printer *out, int err, int argc, char **argv);

#define NET_ECHO_PORT 7000
#endif
