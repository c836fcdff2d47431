/* The `net` command's error lines: what each failure of a net subcommand means to the
 * operator. Portable (no lwIP), so the console's unit tests print the real texts. */
#include "console.h"
#include "net.h"

int net_cmd_report(const struct printer *out, int err, int argc, char **argv)
{
	int up_cmd = argc > 1 && !hv_strcmp(argv[1], "up");
	switch (err) {
	case HV_OK: return HV_OK;
	case HV_EINVAL:
		return console_error(
			out, err,
			"usage: net status | net up IP/LEN [GW] | net echo IP BYTES (BYTES 1..1073741824) | "
			"net hold [IP PORT N] (N 1..4 idle connections, for tests)");
	case HV_ENOENT:
		if (up_cmd)
			return console_error(out, err, "no e1000 NIC found on the PCI bus");
		return console_error(out, err, "unknown net subcommand '%s' (try 'help')", argc > 1 ? argv[1] : "");
	case HV_ESTATE: return console_error(out, err, "the network is down (boot with ip=ADDR/LEN and an e1000 NIC)");
	case HV_EEXIST: return console_error(out, err, "already %s", up_cmd ? "up" : "running an echo test");
	default: return console_error(out, err, "net: %s", hv_strerror(err));
	}
}
