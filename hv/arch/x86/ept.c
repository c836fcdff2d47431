/* EPT builder and walker: the guest-physical to host-physical map of one VM,
 * kept at 4 KiB granularity so dirty tracking is per page. */
#include "ept.h"
#include "hvlib.h"

#define ENTRIES	    512
#define TABLE_PERMS EPT_RWX /* non-leaf entries grant all; leaves restrict */

int ept_init(struct ept *e, uint64_t (*alloc_page)(void *), void (*free_page)(void *, uint64_t), void *ctx,
	     void *(*p2v)(uint64_t))
{
	memset(e, 0, sizeof(*e));
	e->alloc_page = alloc_page;
	e->free_page = free_page;
	e->ctx = ctx;
	e->p2v = p2v;
	e->pml4 = alloc_page(ctx);
	if (!e->pml4)
		return HV_ENOMEM;
	e->table_pages = 1;
	return HV_OK;
}

static unsigned idx(uint64_t gpa, int level) /* level 3 = PML4 ... 0 = PT */ { return (gpa >> (12 + 9 * level)) & 511; }

static uint64_t *walk(const struct ept *e, uint64_t gpa, int create, int *err)
{
	uint64_t *table = e->p2v(e->pml4);
	for (int level = 3; level > 0; level--) {
		uint64_t *ent = &table[idx(gpa, level)];
		if (!(*ent & EPT_RWX)) {
			if (!create)
				return 0;
			uint64_t page = ((struct ept *)e)->alloc_page(e->ctx);
			if (!page) {
				*err = HV_ENOMEM;
				return 0;
			}
			((struct ept *)e)->table_pages++;
			*ent = page | TABLE_PERMS;
		} else if (*ent & EPT_LARGE) {
			*err = HV_EEXIST;
			return 0;
		}
		table = e->p2v(*ent & EPT_ADDR_MASK);
	}
	return &table[idx(gpa, 0)];
}

int ept_map_page(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t perms)
{
	int err = HV_OK;
	if ((gpa | hpa) & (PAGE_SIZE - 1) || gpa >= EPT_MAX_GPA || (hpa & ~EPT_ADDR_MASK) || !(perms & EPT_RWX) ||
	    (perms & ~EPT_RWX) || ((perms & EPT_W) && !(perms & EPT_R)))
		return HV_EINVAL;
	uint64_t *leaf = walk(e, gpa, 1, &err);
	if (!leaf)
		return err;
	if (*leaf & EPT_RWX)
		return HV_EEXIST;
	*leaf = hpa | perms | EPT_MT_WB;
	return HV_OK;
}

uint64_t *ept_leaf(const struct ept *e, uint64_t gpa)
{
	int err = 0;
	if (gpa >= EPT_MAX_GPA)
		return 0;
	return walk(e, gpa, 0, &err);
}

int ept_translate(const struct ept *e, uint64_t gpa, uint64_t *hpa)
{
	uint64_t *leaf = ept_leaf(e, gpa);
	if (!leaf || !(*leaf & EPT_RWX))
		return HV_ENOENT;
	*hpa = (*leaf & EPT_ADDR_MASK) | (gpa & (PAGE_SIZE - 1));
	return HV_OK;
}

static void each(const struct ept *e, uint64_t table_phys, int level, uint64_t base,
		 void (*fn)(void *, uint64_t, uint64_t *), void *ctx)
{
	uint64_t *t = e->p2v(table_phys);
	for (unsigned i = 0; i < ENTRIES; i++) {
		if (!(t[i] & EPT_RWX))
			continue;
		uint64_t gpa = base + ((uint64_t)i << (12 + 9 * level));
		if (level == 0)
			fn(ctx, gpa, &t[i]);
		else if (!(t[i] & EPT_LARGE))
			each(e, t[i] & EPT_ADDR_MASK, level - 1, gpa, fn, ctx);
	}
}

void ept_for_each_leaf(const struct ept *e, void (*fn)(void *, uint64_t, uint64_t *), void *ctx)
{
	each(e, e->pml4, 3, 0, fn, ctx);
}

static void destroy(struct ept *e, uint64_t table_phys, int level)
{
	uint64_t *t = e->p2v(table_phys);
	if (level > 0)
		for (unsigned i = 0; i < ENTRIES; i++)
			if ((t[i] & EPT_RWX) && !(t[i] & EPT_LARGE))
				destroy(e, t[i] & EPT_ADDR_MASK, level - 1);
	e->free_page(e->ctx, table_phys);
}

void ept_destroy(struct ept *e)
{
	if (e->pml4)
		destroy(e, e->pml4, 3);
	e->pml4 = 0;
	e->table_pages = 0;
}

uint64_t ept_pointer(const struct ept *e) { return e->pml4 | (3ull << 3) | 6ull | (1ull << 6); }
