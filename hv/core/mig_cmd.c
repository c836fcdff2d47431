/* The `migrate` console command: start a migration, show and change its settings, cancel
 * it, resolve an in-doubt one. Prints its own error lines, each naming the cause. */
#include "console.h"
#include "hv.h"
#include "mig_hv.h"
#include "guest_abi.h"
#include "mig_service.h"
#include "net.h"

#define MIGRATE_USAGE                                                                                                  \
	"usage: migrate ID PEER[:PORT] | status | info | cancel | resolve resume|scrub | psk | "                       \
	"set key_id|mig_policy|mig_port|downtime_ms|outrun|bw_cap_kib VALUE | peer NAME ADDR[:PORT] | "                \
	"test hostile-state"

static int parse_peer(const char *s, uint32_t *ip, uint16_t *port)
{
	const struct hv_peer *named = config_find_peer(&hv_cfg, s);
	if (named) {
		*ip = named->ip;
		*port = named->port;
		return HV_OK;
	}
	char host[32];
	size_t n = 0;
	while (s[n] && s[n] != ':' && n < sizeof(host) - 1) {
		host[n] = s[n];
		n++;
	}
	host[n] = '\0';
	*port = (uint16_t)hv_cfg.mig_port;
	if (s[n] == ':') {
		uint64_t p;
		if (hv_parse_u64(s + n + 1, &p) || p == 0 || p > 65535)
			return HV_EINVAL;
		*port = (uint16_t)p;
	} else if (s[n]) {
		return HV_EINVAL;
	}
	return config_parse_ipv4(host, ip, 0, 0);
}

static void psk_entered(const char *line)
{
	uint8_t psk[64];
	uint32_t len = 0;
	/* The secret line gets a reply like any command: lines, then ok/error. */
	if (config_parse_psk(line, psk, &len)) {
		console_error(&hv_console_printer, HV_EINVAL,
			      "the PSK must be 32 to 128 hex digits (16 to 64 bytes); unchanged");
	} else {
		memcpy(hv_cfg.psk, psk, len);
		memset(hv_cfg.psk + len, 0, sizeof(hv_cfg.psk) - len);
		hv_cfg.psk_len = len;
		pr_printf(&hv_console_printer, "PSK set (%u bytes)\r\nok\r\n", len);
	}
	memset(psk, 0, sizeof(psk));
}

static int busy(struct mig_service *s) { return s->out.side.active || s->in.side.active; }

/* `migrate peer NAME ADDR`, `migrate psk`, `migrate set KEY VALUE`: settings that the
 * boot configuration also takes. */
static int settings(struct mig_service *s, int argc, char **argv, const struct printer *p)
{
	if (argc == 4 && !hv_strcmp(argv[1], "peer")) {
		char spec[64];
		hv_snprintf(spec, sizeof(spec), "%s@%s", argv[2], argv[3]);
		int err = config_add_peer(&hv_cfg, spec, hv_cfg.mig_port);
		if (err == HV_ERANGE)
			return console_error(p, err, "the peer table is full (8 names)");
		return err ? console_error(p, HV_EINVAL, MIGRATE_USAGE) : HV_OK;
	}
	if (argc == 2 && !hv_strcmp(argv[1], "psk")) {
		if (busy(s))
			return console_error(p, HV_EBUSY, "the PSK cannot change while a migration is under way");
		pr_printf(p, "type the PSK as hex on the next line (it is not echoed)\r\n");
		console_read_secret(psk_entered);
		return HV_OK;
	}
	if (argc != 4)
		return console_error(p, HV_EINVAL, MIGRATE_USAGE);
	/* As QEMU's migrate_set_parameter: the downtime target, the outrun behaviour and the
	 * bandwidth cap apply to a migration under way at its next decision; what the
	 * handshake agreed (key id, policy) or the bound listener (port) cannot change. */
	int live = !hv_strcmp(argv[2], "downtime_ms") || !hv_strcmp(argv[2], "outrun") ||
		   !hv_strcmp(argv[2], "bw_cap_kib");
	if (busy(s) && !live)
		return console_error(
			p, HV_EBUSY,
			"%s cannot change while a migration is under way (%s); live: downtime_ms, "
			"outrun, bw_cap_kib",
			argv[2], !hv_strcmp(argv[2], "mig_port") ? "the listener is bound" : "the handshake agreed it");
	static const char *const keys[] = { "key_id", "mig_policy", "mig_port", "downtime_ms", "outrun", "bw_cap_kib" };
	for (unsigned i = 0; i < ARRAY_SIZE(keys); i++)
		if (!hv_strcmp(argv[2], keys[i])) {
			char word[96];
			hv_snprintf(word, sizeof(word), "%s=%s", argv[2], argv[3]);
			struct hv_config c = hv_cfg;
			int bad = config_parse(&c, word, p);
			if (bad)
				return console_error(p, HV_EINVAL, "bad value for %s: '%s'", argv[2], argv[3]);
			if (c.mig_port != hv_cfg.mig_port && s->listening)
				return console_error(p, HV_ESTATE,
						     "the listener is bound: a port change needs a restart");
			hv_cfg = c;
			memset(&c, 0, sizeof(c));
			if (live && s->out.side.active && s->out.side.connected) {
				int r = mig_source_set_policy(&s->out.eng, (uint64_t)hv_cfg.downtime_ms * 1000000ull,
							      (int)hv_cfg.outrun_abort);
				pr_printf(p, "%s=%s: %s\r\n", argv[2], argv[3],
					  !hv_strcmp(argv[2], "bw_cap_kib") ? "applies to the migration under way now"
					  : r == MIG_OK
						  ? "applies to the migration under way at its next decision"
						  : "the stop was already decided: applies to the next migration");
				hv_event("migrate: vm %u: %s set to %s during the migration", s->out.side.vm->id,
					 argv[2], argv[3]);
			}
			return HV_OK;
		}
	return console_error(p, HV_EINVAL, MIGRATE_USAGE);
}

static int status(struct mig_service *s, const struct printer *p)
{
	char buf[512];
	pr_printf(p,
		  "migrate: psk=%s key_id=%u policy=%s port=%u downtime_target=%u ms outrun=%s "
		  "bw_cap=%u KiB/s%s\r\n",
		  hv_cfg.psk_len ? "set" : "none", hv_cfg.key_id,
		  hv_cfg.mig_policy == 0   ? "required"
		  : hv_cfg.mig_policy == 1 ? "opportunistic"
					   : "disabled",
		  hv_cfg.mig_port, hv_cfg.downtime_ms, hv_cfg.outrun_abort ? "abort" : "throttle", hv_cfg.bw_cap_kib,
		  hv_cfg.bw_cap_kib ? "" : " (none)");
	mig_session_print(s, p);
	for (unsigned i = 0; i < hv_cfg.npeers; i++) {
		uint32_t ip = hv_cfg.peers[i].ip;
		pr_printf(p, "peer: %s %u.%u.%u.%u:%u\r\n", hv_cfg.peers[i].name, ip >> 24, (ip >> 16) & 255,
			  (ip >> 8) & 255, ip & 255, hv_cfg.peers[i].port);
	}
	mig_guard_format(&s->guard, buf, sizeof(buf));
	pr_printf(p, "counters: %s\r\n", buf);
	return HV_OK;
}

static int start(struct mig_service *s, int argc, char **argv, const struct printer *p)
{
	uint64_t id;
	uint32_t ip;
	uint16_t port;
	if (argc != 3 || hv_parse_u64(argv[1], &id) || parse_peer(argv[2], &ip, &port))
		return console_error(p, HV_EINVAL, MIGRATE_USAGE);
	struct vm *vm = vm_by_id((unsigned)id);
	if (!vm)
		return console_error(p, HV_ENOENT, "no vm with id %s", argv[1]);
	if (!net_is_up())
		return console_error(p, HV_ENOTSUP, "migration needs the network up (boot with ip=... or 'net up')");
	if (s->crypto_broken)
		return console_error(p, HV_ENOTSUP,
				     "the channel's AES-GCM is unavailable on this CPU (see the [hv] "
				     "crypto line at boot)");
	if (!hv_cfg.psk_len)
		return console_error(p, HV_ENOTSUP,
				     "migration needs a PSK, whatever the encryption policy: the handshake "
				     "always proves it (boot with psk=... or 'migrate psk')");
	if (s->out.side.active)
		return console_error(p, HV_EEXIST, "a migration of this hypervisor's guests is already under way");
	if (vm->state != VMS_RUNNING && vm->state != VMS_PARKED && vm->state != VMS_PAUSED)
		return console_error(p, HV_ESTATE, "vm %s cannot be migrated in state %s", argv[1],
				     vm_state_name(vm->state));
	int err = mig_session_start_out(s, vm, ip, port, p);
	if (err)
		return console_error(p, err, "migrate: %s", hv_strerror(err));
	return HV_OK;
}

int mig_hv_command(int argc, char **argv, const struct printer *p)
{
	struct mig_service *s = mig_service();
	const char *sub = argc >= 2 ? argv[1] : "";
	if (!hv_strcmp(sub, "psk") || !hv_strcmp(sub, "set") || !hv_strcmp(sub, "peer"))
		return settings(s, argc, argv, p);
	if (!hv_strcmp(sub, "status"))
		return status(s, p);
	if (argc == 2 && !hv_strcmp(sub, "cancel")) {
		int err = mig_session_cancel(s);
		if (err == HV_ENOENT)
			return console_error(p, err, "no migration under way");
		if (err == HV_ESTATE)
			return console_error(p, err, "too late to cancel: the commit was sent");
		return err;
	}
	if (argc == 2 && !hv_strcmp(sub, "info")) {
		/* The last completed migration of each direction (as `virsh domjobinfo
		 * --completed`), kept until the next one ends. */
		static const char *const names[2] = { "source: ", "destination: " };
		for (int i = 0; i < 2; i++) {
			/* written as is: pr_printf's buffer is shorter than a MIGSTAT line */
			const char *line = s->last_stat[i][0] ? s->last_stat[i] : "none";
			p->write(p->ctx, names[i], hv_strlen(names[i]));
			p->write(p->ctx, line, hv_strlen(line));
			p->write(p->ctx, "\r\n", 2);
		}
		return HV_OK;
	}
	if (argc == 3 && !hv_strcmp(sub, "test") && !hv_strcmp(argv[2], "hostile-state")) {
		s->test_hostile_state = 1; /* what a peer holding the PSK could send (tests) */
		pr_printf(p, "the next outgoing state will be a hostile one\r\n");
		return HV_OK;
	}
	if (argc == 3 && !hv_strcmp(sub, "resolve")) {
		int resume = !hv_strcmp(argv[2], "resume");
		if (!resume && hv_strcmp(argv[2], "scrub"))
			return console_error(p, HV_EINVAL, MIGRATE_USAGE);
		int err = mig_session_resolve(s, resume);
		if (err == HV_ENOENT)
			return console_error(p, err, "no migration in doubt");
		if (err)
			return console_error(p, err, "resolve: %s", hv_strerror(err));
		return HV_OK;
	}
	return start(s, argc, argv, p);
}
