/* Boot module checks and the table entry: no UEFI calls, so the host tests run them. */
#include "bootmod.h"

const char *bootmod_check_size(uint64_t size)
{
	/* An empty kernel cannot boot; an empty initrd is the same as none. */
	if (size == 0)
		return "the file is empty:";
	if (size > BOOTMOD_MAX_BYTES)
		return "the file is larger than 256 MiB:";
	return 0;
}

const char *bootmod_add(struct hv_boot_info *bi, const char *name, uint64_t base, uint64_t len)
{
	struct hv_boot_module *m;
	uint32_t n;

	if (bi->nmodules >= HV_BOOT_MAX_MODULES)
		return "no free entry in the boot info's module table";
	for (n = 0; name[n]; n++)
		if (n + 1 >= HV_BOOT_MODULE_NAME)
			return "the module name is too long";
	if (n == 0)
		return "the module name is empty";
	m = &bi->modules[bi->nmodules];
	m->base = base;
	m->len = len;
	for (n = 0; name[n]; n++)
		m->name[n] = name[n];
	/* The rest of the name is zeroed: the whole entry is defined, whatever was there. */
	for (; n < HV_BOOT_MODULE_NAME; n++)
		m->name[n] = 0;
	bi->nmodules++;
	return 0;
}
