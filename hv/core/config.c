/* Boot configuration parser: every word is checked, unknown keys and bad values
 * are reported with the default kept, so a typo never stops the boot. */
#include "config.h"
#include "guest_abi.h"

static int hexval(char c);

void config_defaults(struct hv_config *c)
{
	memset(c, 0, sizeof(*c));
	c->console_baud = 115200;
	c->nvms = 2;
	c->vm_mode[0] = GUEST_MODE_WORK;
	c->vm_mode[1] = GUEST_MODE_WORK;
	c->vm_mem_kib = 4096;
	c->linux_mem_mib = 48; /* the tiny kernel runs at 16 MiB and needs ~12 MiB above it */
	c->hb_ms = 500;
	c->write_rate = 4000;
	c->wset_pages = 16;
	c->autostart = 1;
	c->dirty = DIRTY_NONE;
	c->slice_ms = 10;
	c->mig_port = 7001;
	c->downtime_ms = 300;
}

int config_parse_psk(const char *s, uint8_t *psk, uint32_t *len)
{
	size_t n = hv_strlen(s);
	uint8_t tmp[64];
	if (n % 2 || n < 32 || n > 128)
		return HV_EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);
		if (hi < 0 || lo < 0) {
			memset(tmp, 0, sizeof(tmp));
			return HV_EINVAL;
		}
		tmp[i] = (uint8_t)(hi << 4 | lo);
	}
	memcpy(psk, tmp, n / 2);
	memset(tmp, 0, sizeof(tmp));
	*len = (uint32_t)(n / 2);
	return HV_OK;
}

static int num(const char *v, uint64_t lo, uint64_t hi, uint32_t *out)
{
	uint64_t x;
	if (hv_parse_u64(v, &x) != HV_OK || x < lo || x > hi)
		return HV_EINVAL;
	*out = (uint32_t)x;
	return HV_OK;
}

static int parse_vms(struct hv_config *c, char *v)
{
	uint32_t modes[CONFIG_MAX_VMS];
	unsigned n = 0;
	if (!hv_strcmp(v, "none")) {
		c->nvms = 0;
		return HV_OK;
	}
	while (*v) {
		char *comma = v;
		while (*comma && *comma != ',')
			comma++;
		char saved = *comma;
		*comma = '\0';
		if (n == CONFIG_MAX_VMS)
			return HV_ERANGE;
		if (!hv_strcmp(v, "work"))
			modes[n++] = GUEST_MODE_WORK;
		else if (!hv_strcmp(v, "wset"))
			modes[n++] = GUEST_MODE_WSET;
		else if (!hv_strcmp(v, "eptfault"))
			modes[n++] = GUEST_MODE_EPT_FAULT;
		else if (!hv_strcmp(v, "triplefault"))
			modes[n++] = GUEST_MODE_TRIPLE_FAULT;
		else if (!hv_strcmp(v, "linux"))
			modes[n++] = GUEST_MODE_LINUX;
		else
			return HV_EINVAL;
		v = saved ? comma + 1 : comma;
	}
	if (!n)
		return HV_EINVAL;
	memcpy(c->vm_mode, modes, n * sizeof(modes[0]));
	c->nvms = n;
	return HV_OK;
}

int config_parse_ipv4(const char *s, uint32_t *ip, uint8_t *prefix, int allow_prefix)
{
	uint32_t v = 0;
	for (int part = 0; part < 4; part++) {
		unsigned n = 0, digits = 0;
		while (*s >= '0' && *s <= '9') {
			n = n * 10 + (unsigned)(*s++ - '0');
			if (++digits > 3 || n > 255)
				return HV_EINVAL;
		}
		if (!digits)
			return HV_EINVAL;
		v = (v << 8) | n;
		if (part < 3 && *s++ != '.')
			return HV_EINVAL;
	}
	uint64_t len = 32;
	if (*s == '/') {
		if (!allow_prefix || hv_parse_u64(s + 1, &len) || len < 1 || len > 32)
			return HV_EINVAL;
	} else if (*s) {
		return HV_EINVAL;
	}
	*ip = v;
	if (prefix)
		*prefix = (uint8_t)len;
	return HV_OK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int config_parse_mac(const char *s, uint8_t mac[6])
{
	uint8_t m[6];
	for (int i = 0; i < 6; i++) {
		int hi = hexval(s[0]), lo = hi < 0 ? -1 : hexval(s[1]);
		if (lo < 0)
			return HV_EINVAL;
		m[i] = (uint8_t)(hi << 4 | lo);
		s += 2;
		if (i < 5 && *s++ != ':')
			return HV_EINVAL;
	}
	if (*s || (m[0] & 1)) /* a multicast address cannot be a NIC's */
		return HV_EINVAL;
	memcpy(mac, m, 6);
	return HV_OK;
}

const struct hv_peer *config_find_peer(const struct hv_config *c, const char *name)
{
	for (unsigned i = 0; i < c->npeers; i++)
		if (!hv_strcmp(c->peers[i].name, name))
			return &c->peers[i];
	return 0;
}

int config_add_peer(struct hv_config *c, const char *spec, uint32_t default_port)
{
	struct hv_peer p;
	char addr[24];
	size_t n = 0, k = 0;
	memset(&p, 0, sizeof(p));
	for (; spec[n] && spec[n] != '@'; n++) {
		char ch = spec[n];
		int ok = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
			 ch == '-' || ch == '_';
		if (!ok || n >= sizeof(p.name) - 1)
			return HV_EINVAL;
		p.name[n] = ch;
	}
	if (!n || spec[n] != '@')
		return HV_EINVAL;
	/* A name that reads as an address would make `migrate ID X` ambiguous. */
	if (p.name[0] >= '0' && p.name[0] <= '9')
		return HV_EINVAL;
	const char *a = spec + n + 1;
	for (; a[k] && a[k] != ':'; k++) {
		if (k >= sizeof(addr) - 1)
			return HV_EINVAL;
		addr[k] = a[k];
	}
	addr[k] = '\0';
	if (config_parse_ipv4(addr, &p.ip, 0, 0) || !p.ip)
		return HV_EINVAL;
	p.port = (uint16_t)default_port;
	if (a[k] == ':') {
		uint64_t port;
		if (hv_parse_u64(a + k + 1, &port) || port == 0 || port > 65535)
			return HV_EINVAL;
		p.port = (uint16_t)port;
	}
	for (unsigned i = 0; i < c->npeers; i++)
		if (!hv_strcmp(c->peers[i].name, p.name)) {
			c->peers[i] = p;
			return HV_OK;
		}
	if (c->npeers == CONFIG_MAX_PEERS)
		return HV_ERANGE;
	c->peers[c->npeers++] = p;
	return HV_OK;
}

static int apply(struct hv_config *c, const char *key, char *val)
{
	uint32_t u;
	if (!hv_strcmp(key, "console")) {
		if (num(val, 300, 115200, &u) || 115200 % u)
			return HV_EINVAL;
		c->console_baud = u;
	} else if (!hv_strcmp(key, "exit_on_panic")) {
		if (num(val, 0, 1, &u))
			return HV_EINVAL;
		c->exit_on_panic = (int)u;
	} else if (!hv_strcmp(key, "vms")) {
		return parse_vms(c, val);
	} else if (!hv_strcmp(key, "vm_mem_kib")) {
		if (num(val, 2048, 1024 * 1024, &u) || u % 4)
			return HV_EINVAL;
		c->vm_mem_kib = u;
	} else if (!hv_strcmp(key, "tsc_khz")) {
		if (num(val, 1000, 100000000, &u))
			return HV_EINVAL;
		c->tsc_khz = u;
	} else if (!hv_strcmp(key, "linux_mem_mib")) {
		if (num(val, 32, 4096, &u))
			return HV_EINVAL;
		c->linux_mem_mib = u;
	} else if (!hv_strcmp(key, "hb_ms")) {
		if (num(val, 10, 60000, &u))
			return HV_EINVAL;
		c->hb_ms = u;
	} else if (!hv_strcmp(key, "write_rate")) {
		if (num(val, 0, 10000000, &u))
			return HV_EINVAL;
		c->write_rate = u;
	} else if (!hv_strcmp(key, "wset_pages")) {
		if (num(val, 1, 64, &u))
			return HV_EINVAL;
		c->wset_pages = u;
	} else if (!hv_strcmp(key, "autostart")) {
		if (num(val, 0, 1, &u))
			return HV_EINVAL;
		c->autostart = (int)u;
	} else if (!hv_strcmp(key, "dirty")) {
		if (!hv_strcmp(val, "auto"))
			c->dirty = DIRTY_NONE;
		else if (!hv_strcmp(val, "ad"))
			c->dirty = DIRTY_AD;
		else if (!hv_strcmp(val, "pml"))
			c->dirty = DIRTY_PML;
		else
			return HV_EINVAL;
	} else if (!hv_strcmp(key, "ip")) {
		uint32_t ip;
		uint8_t len;
		if (config_parse_ipv4(val, &ip, &len, 1) || !ip)
			return HV_EINVAL;
		c->ip = ip;
		c->ip_prefix = len == 32 ? 24 : len;
	} else if (!hv_strcmp(key, "gw")) {
		uint32_t ip;
		if (config_parse_ipv4(val, &ip, 0, 0))
			return HV_EINVAL;
		c->gw = ip;
	} else if (!hv_strcmp(key, "mac")) {
		if (config_parse_mac(val, c->mac))
			return HV_EINVAL;
		c->has_mac = 1;
	} else if (!hv_strcmp(key, "psk")) {
		return config_parse_psk(val, c->psk, &c->psk_len);
	} else if (!hv_strcmp(key, "key_id")) {
		if (num(val, 0, 0xffffffffu, &u))
			return HV_EINVAL;
		c->key_id = u;
	} else if (!hv_strcmp(key, "mig_policy")) {
		if (!hv_strcmp(val, "required"))
			c->mig_policy = 0;
		else if (!hv_strcmp(val, "opportunistic"))
			c->mig_policy = 1;
		else if (!hv_strcmp(val, "disabled"))
			c->mig_policy = 2;
		else
			return HV_EINVAL;
	} else if (!hv_strcmp(key, "mig_port")) {
		if (num(val, 1, 65535, &u))
			return HV_EINVAL;
		c->mig_port = u;
	} else if (!hv_strcmp(key, "downtime_ms")) {
		if (num(val, 1, 60000, &u))
			return HV_EINVAL;
		c->downtime_ms = u;
	} else if (!hv_strcmp(key, "peer")) {
		return config_add_peer(c, val, c->mig_port);
	} else if (!hv_strcmp(key, "bw_cap_kib")) {
		if (num(val, 0, 100u * 1024 * 1024, &u))
			return HV_EINVAL;
		c->bw_cap_kib = u;
	} else if (!hv_strcmp(key, "outrun")) {
		if (!hv_strcmp(val, "throttle"))
			c->outrun_abort = 0;
		else if (!hv_strcmp(val, "abort"))
			c->outrun_abort = 1;
		else
			return HV_EINVAL;
	} else if (!hv_strcmp(key, "slice_ms")) {
		if (num(val, 1, 1000, &u))
			return HV_EINVAL;
		c->slice_ms = u;
	} else {
		return HV_ENOENT;
	}
	return HV_OK;
}

int config_parse(struct hv_config *c, const char *cmdline, const struct printer *warn)
{
	/* Room for the longest legal word, psk= with 128 hex digits (a 64-byte key). */
	char word[CONFIG_WORD_MAX + 1];
	int problems = 0;
	const char *p = cmdline;
	while (p && *p) {
		while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
			p++;
		if (!*p)
			break;
		size_t n = 0;
		int too_long = 0;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
			if (n < sizeof(word) - 1)
				word[n++] = *p;
			else
				too_long = 1;
			p++;
		}
		word[n] = '\0';
		if (too_long) {
			/* Only the key is shown: the value may be a secret (a PSK). */
			size_t k = 0;
			while (k < n && k < 24 && word[k] != '=')
				k++;
			word[k < n && word[k] == '=' ? k : 0] = '\0';
			pr_printf(warn, "[hv] config: word too long (over %u characters), ignored: %s%s\r\n",
				  CONFIG_WORD_MAX, word[0] ? word : "(not key=value)", word[0] ? "=..." : "");
			memset(word, 0, sizeof(word));
			problems++;
			continue;
		}
		char *eq = word;
		while (*eq && *eq != '=')
			eq++;
		if (!*eq) {
			/* GRUB passes the kernel path as the first word: not an error. */
			if (word[0] != '/')
				pr_printf(warn, "[hv] config: '%s' is not key=value, ignored\r\n", word), problems++;
			continue;
		}
		*eq = '\0';
		int err = apply(c, word, eq + 1);
		if (err == HV_ENOENT) {
			pr_printf(warn, "[hv] config: unknown key '%s', ignored\r\n", word);
			problems++;
		} else if (err != HV_OK) {
			/* A secret is never repeated back, even when malformed. */
			const char *shown = !hv_strcmp(word, "psk") ? "(hidden)" : eq + 1;
			pr_printf(warn, "[hv] config: bad value '%s' for '%s', default kept\r\n", shown, word);
			problems++;
		}
		memset(word, 0, sizeof(word)); /* may have held the PSK */
	}
	return problems;
}
