/* `debug scan HEX`: searches all RAM for a byte string (a test's secret
 * canary) and reports where it lies outside live guests. The pattern comes
 * XOR-masked with 0x5a and is compared masked, so the scanner never holds the
 * plaintext itself (it would otherwise find its own argument). */
#include "hv.h"
#include "vm.h"
#include "debug_scan.h"

#define MASK	  0x5a
#define MAX_PAT	  64
#define MAX_SHOWN 8

static int live(const struct vm *vm)
{
	return vm->state == VMS_RUNNING || vm->state == VMS_PAUSED || vm->state == VMS_PARKED ||
	       vm->state == VMS_INCOMING;
}

/* Which VM's memory (if any) frame pfn is, and whether that VM is live. */
static const struct vm *owner(uint64_t pfn, int *is_live)
{
	for_each_vm (vm) {
		for (uint64_t i = 0; i < vm->mem_pages; i++)
			if ((vm->page_hpa[i] >> PAGE_SHIFT) == pfn) {
				*is_live = live(vm);
				return vm;
			}
	}
	*is_live = 0;
	return 0;
}

static int hexval(char c)
{
	return c >= '0' && c <= '9'   ? c - '0'
	       : c >= 'a' && c <= 'f' ? c - 'a' + 10
	       : c >= 'A' && c <= 'F' ? c - 'A' + 10
				      : -1;
}

int debug_scan(const char *hex, const struct printer *p)
{
	uint8_t pat[MAX_PAT];
	size_t n = hv_strlen(hex);
	if (n < 8 || n % 2 || n / 2 > MAX_PAT)
		return HV_EINVAL;
	for (size_t i = 0; i < n / 2; i++) {
		int hi = hexval(hex[2 * i]), lo = hexval(hex[2 * i + 1]);
		if (hi < 0 || lo < 0)
			return HV_EINVAL;
		pat[i] = (uint8_t)(hi << 4 | lo); /* still masked */
	}
	size_t len = n / 2;
	/* The first byte, unmasked, in every lane: a word without it in any lane
	 * cannot start a match. One byte of the secret is all this reveals. */
	const uint64_t bcast = (uint64_t)(uint8_t)(pat[0] ^ MASK) * 0x0101010101010101ull;
	uint64_t found = 0, in_guests = 0, scanned = 0;
	/* Every page of every RAM range, the hypervisor's own image included. */
	extern const struct hv_boot_info *hv_boot;
	for (uint32_t r = 0; r < hv_boot->nranges; r++) {
		const struct hv_mem_range *rg = &hv_boot->ranges[r];
		if (rg->type != HV_MEM_AVAILABLE)
			continue;
		uint64_t start = ALIGN_UP(rg->base, PAGE_SIZE), end = ALIGN_DOWN(rg->base + rg->len, PAGE_SIZE);
		if (start < (1ull << 20))
			start = 1ull << 20; /* below 1 MiB: firmware areas we never use */
		for (uint64_t pa = start; pa + len <= end; pa += PAGE_SIZE) {
			const uint8_t *b = phys_to_virt(pa);
			scanned++;
			/* A match may straddle into the next page only within this range. */
			uint64_t lim = PAGE_SIZE;
			if (pa + PAGE_SIZE + len > end)
				lim = end - pa - len + 1;
			for (uint64_t i = 0; i < lim; i++) {
				/* Eight bytes at a time until one of them could start a match. */
				if (!(i & 7) && i + 8 <= lim) {
					uint64_t x = *(const uint64_t *)(b + i) ^ bcast;
					if (!((x - 0x0101010101010101ull) & ~x & 0x8080808080808080ull)) {
						i += 7;
						continue;
					}
				}
				if ((uint8_t)(b[i] ^ MASK) != pat[0])
					continue;
				size_t k = 1;
				while (k < len && (uint8_t)(b[i + k] ^ MASK) == pat[k])
					k++;
				if (k < len)
					continue;
				int is_live;
				const struct vm *v = owner((pa + i) >> PAGE_SHIFT, &is_live);
				if (is_live) {
					in_guests++;
					continue;
				}
				if (found < MAX_SHOWN && v)
					pr_printf(p, "scan: found at 0x%lx (memory of vm %u, %s)\r\n",
						  (unsigned long)(pa + i), v->id, vm_state_name(v->state));
				else if (found < MAX_SHOWN)
					pr_printf(p, "scan: found at 0x%lx (%s)\r\n", (unsigned long)(pa + i),
						  page_is_allocated(&hv_pages, pa) ? "hypervisor memory"
										   : "free memory");
				found++;
			}
		}
	}
	memset(pat, 0, sizeof(pat));
	pr_printf(p, "scan: %lu pages scanned, %lu matches outside live guests, %lu inside live guests\r\n",
		  (unsigned long)scanned, (unsigned long)found, (unsigned long)in_guests);
	return HV_OK;
}
