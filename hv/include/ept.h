/* Extended page tables: 4-level, write-back, accessed/dirty flags enabled.
 * Portable over an allocator callback and p2v so hosted tests build real tables. */
#ifndef HV_EPT_H
#define HV_EPT_H
#include <stdint.h>

#define EPT_R	      (1ull << 0)
#define EPT_W	      (1ull << 1)
#define EPT_X	      (1ull << 2)
#define EPT_RWX	      (EPT_R | EPT_W | EPT_X)
#define EPT_MT_WB     (6ull << 3)
#define EPT_LARGE     (1ull << 7)
#define EPT_A	      (1ull << 8)
#define EPT_D	      (1ull << 9)
#define EPT_ADDR_MASK 0x000ffffffffff000ull
#define EPT_MAX_GPA   (1ull << 48)

struct ept {
	uint64_t pml4;			   /* physical address of the root table */
	uint64_t table_pages;		   /* pages used by tables (not guest memory) */
	uint64_t (*alloc_page)(void *ctx); /* zeroed page, 0 on failure */
	void (*free_page)(void *ctx, uint64_t phys);
	void *ctx;
	void *(*p2v)(uint64_t phys);
};

int ept_init(struct ept *e, uint64_t (*alloc_page)(void *), void (*free_page)(void *, uint64_t), void *ctx,
	     void *(*p2v)(uint64_t));
/* Maps one 4 KiB guest page; refuses to remap a present page (HV_EEXIST). */
int ept_map_page(struct ept *e, uint64_t gpa, uint64_t hpa, uint64_t perms);
/* The leaf entry for gpa, or NULL if no table covers it. */
uint64_t *ept_leaf(const struct ept *e, uint64_t gpa);
int ept_translate(const struct ept *e, uint64_t gpa, uint64_t *hpa);
/* Calls fn for every present 4 KiB leaf in ascending GPA order. */
void ept_for_each_leaf(const struct ept *e, void (*fn)(void *ctx, uint64_t gpa, uint64_t *entry), void *ctx);
/* Frees the tables (not the guest pages they map). */
void ept_destroy(struct ept *e);
/* EPTP value: WB, 4-level walk, A/D flags enabled. */
uint64_t ept_pointer(const struct ept *e);

#endif
