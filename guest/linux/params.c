/* Parameter parsing (params.h): strict, so a typo on the command line is refused, not guessed. */
#include "params.h"

enum num_fmt { DEC, DEC_OR_0X, HEX };

/* The whole value must be digits (after an optional 0x for DEC_OR_0X and HEX) and fit max. */
static int parse_num(const char *s, enum num_fmt fmt, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	unsigned base = fmt == HEX ? 16 : 10;

	if (fmt != DEC && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		s += 2;
		base = 16;
	}
	if (!*s)
		return -1;
	for (; *s; s++) {
		unsigned d;

		if (*s >= '0' && *s <= '9')
			d = (unsigned)(*s - '0');
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = (unsigned)(*s - 'a' + 10);
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = (unsigned)(*s - 'A' + 10);
		else
			return -1;
		if (v > (max - d) / base)
			return -1;
		v = v * base + d;
	}
	*out = v;
	return 0;
}

/* If word is "key=...", the text after '=', else NULL. */
static const char *value_of(const char *word, const char *key)
{
	while (*key)
		if (*word++ != *key++)
			return 0;
	return *word == '=' ? word + 1 : 0;
}

static int streq(const char *a, const char *b)
{
	while (*a && *a == *b)
		a++, b++;
	return *a == *b;
}

static int num32(const char *v, uint32_t *out)
{
	uint64_t x;

	if (parse_num(v, DEC, 0xffffffffu, &x))
		return -1;
	*out = (uint32_t)x;
	return 0;
}

int params_parse(struct hb_params *p, char *const *envp)
{
	static const char *const keys32[] = { "vm", "hb_ms", "write_rate", "pages", "hb_max", "corrupt_after" };
	uint32_t *const dst32[] = { &p->vm, &p->hb_ms, &p->write_rate, &p->pages, &p->hb_max, &p->corrupt_after };
	int have_seed = 0, have_addr = 0;

	*p = (struct hb_params){ .vm = 1, .hb_ms = 250, .write_rate = 40, .pages = 1024, .memdev = "/dev/mem" };
	/* Later words win, as they would for the kernel's own parameters. */
	for (; *envp; envp++) {
		const char *w = *envp, *v;
		uint64_t x;
		int known = 0;

		for (unsigned i = 0; i < sizeof(keys32) / sizeof(keys32[0]); i++)
			if ((v = value_of(w, keys32[i]))) {
				if (num32(v, dst32[i]))
					return -1;
				known = 1;
			}
		if (known)
			continue;
		if ((v = value_of(w, "seed"))) {
			if (parse_num(v, DEC_OR_0X, 0xffffffffu, &x))
				return -1;
			p->seed = (uint32_t)x;
			have_seed = 1;
		} else if ((v = value_of(w, "addr"))) {
			if (parse_num(v, HEX, 0x000fffffffffffffull, &x))
				return -1;
			p->addr = x;
			have_addr = 1;
		} else if ((v = value_of(w, "mode"))) {
			if (streq(v, "work"))
				p->mode = MODE_WORK;
			else if (streq(v, "memtouch"))
				p->mode = MODE_MEMTOUCH;
			else
				return -1;
		} else if ((v = value_of(w, "memdev"))) {
			if (!*v)
				return -1;
			p->memdev = v;
		}
		/* Anything else (HOME=, TERM= from the kernel, the hypervisor's own words) is not ours. */
	}
	if (!p->pages || p->pages > PAGES_MAX)
		return -1;
	if (p->mode == MODE_MEMTOUCH && !have_addr)
		return -1;
	if (!have_seed)
		p->seed = 0x9e3779b9u * p->vm; /* hv/core/vm.c, guest/model.py seed_of() */
	return 0;
}
