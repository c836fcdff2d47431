/* Boot configuration: "key=value" words from the GRUB command line or the
 * ESP's hv.cfg. Parsing is portable; bad words are reported, not fatal. */
#ifndef HV_CONFIG_H
#define HV_CONFIG_H
#include <stdint.h>
#include "hvlib.h"
#include "dirty.h"

#define CONFIG_MAX_VMS	 8
#define CONFIG_MAX_PEERS 8
/* The longest boot word (psk= and 128 hex digits is the longest legal one). */
#define CONFIG_WORD_MAX	 191

struct hv_config {
	uint32_t console_baud;
	int exit_on_panic; /* emulator test runs: panic exits the emulator */
	unsigned nvms;
	uint32_t vm_mode[CONFIG_MAX_VMS]; /* enum guest_mode */
	uint32_t vm_mem_kib;
	uint32_t linux_mem_mib; /* RAM of a Linux guest (vms=linux, vm create linux) */
	uint32_t tsc_khz;	/* 0: calibrate; else the TSC rate to assume (a board whose PIT lies) */
	uint32_t hb_ms;
	uint32_t write_rate; /* guest pages rewritten per second */
	uint32_t wset_pages;
	int autostart;
	enum dirty_method dirty; /* DIRTY_NONE = choose by CPU */
	uint32_t slice_ms;
	/* Network of the hypervisor itself (migration traffic), static. */
	uint32_t ip, gw;   /* IPv4 addresses, host byte order; 0 = none */
	uint8_t ip_prefix; /* netmask length */
	uint8_t mac[6];
	int has_mac; /* else the NIC's EEPROM address */
	/* Migration. The PSK is a secret: never printed, never echoed. */
	uint8_t psk[64];
	uint32_t psk_len; /* 0 = no PSK: no migration in or out */
	uint32_t key_id;
	uint32_t mig_policy; /* 0 required, 1 opportunistic, 2 disabled (hvc_policy) */
	uint32_t mig_port;
	uint32_t downtime_ms;
	uint32_t outrun_abort; /* guest outruns the link: 0 throttle it, 1 abort */
	uint32_t bw_cap_kib;   /* migration bandwidth cap in KiB/s, 0 = none */
	/* Named migration peers: `migrate ID NAME` instead of an address. */
	struct hv_peer {
		char name[16];
		uint32_t ip;
		uint16_t port;
	} peers[CONFIG_MAX_PEERS];
	unsigned npeers;
};

/* "NAME@A.B.C.D[:PORT]" (NAME: 1-15 letters, digits, '-' or '_'); adds or
 * replaces the peer of that name. HV_ERANGE when the table is full. */
int config_add_peer(struct hv_config *c, const char *spec, uint32_t default_port);
/* The peer called name, or NULL. */
const struct hv_peer *config_find_peer(const struct hv_config *c, const char *name);

/* Hex string (even length, 32..128 digits) into a PSK; HV_EINVAL otherwise. */
int config_parse_psk(const char *s, uint8_t *psk, uint32_t *len);

/* "a.b.c.d" or "a.b.c.d/len" (allow_prefix) into host byte order. */
int config_parse_ipv4(const char *s, uint32_t *ip, uint8_t *prefix, int allow_prefix);
int config_parse_mac(const char *s, uint8_t mac[6]);

void config_defaults(struct hv_config *c);
/* Returns the number of problems found; each is described through warn. */
int config_parse(struct hv_config *c, const char *cmdline, const struct printer *warn);

#endif
