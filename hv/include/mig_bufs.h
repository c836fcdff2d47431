/* The buffers of one side of a migration, carved from one contiguous allocation: message,
 * transmit frame, state, control, keystream rings and the dirty bitmap. They hold guest
 * pages and keys in clear, so they are zeroed before they go back to the allocator. */
#ifndef HV_MIG_BUFS_H
#define HV_MIG_BUFS_H
#include <stddef.h>
#include <stdint.h>
#include "page_alloc.h"

/* Pages per message (33 KiB): fits the shallow TCP stream queue several times. */
#define MIG_BATCH     8u
/* Keystream computed ahead for this many full-size frames per direction. */
#define MIG_KS_FRAMES 4u
#define MIG_CTL_LEN   256u

struct mig_bufset {
	uint64_t phys;
	uint64_t pages;
	uint8_t *msg, *state, *ctl, *txbuf, *ks_tx, *ks_rx;
	uint64_t *bitmap;
	size_t msg_len, txbuf_len, ks_len;
};

/* Pages needed for a guest of npages (0: a destination, which keeps no bitmap). */
uint64_t mig_bufs_pages(uint64_t npages);
/* Lays the buffers out over mem (mig_bufs_pages(npages) pages, 64-byte aligned). */
void mig_bufs_carve(struct mig_bufset *b, void *mem, uint64_t npages);
int mig_bufs_alloc(struct mig_bufset *b, struct page_alloc *pa, uint64_t npages);
struct mig_buffers;
/* The engine's view of the set (struct mig_buffers, hv/migrate/mig.h). */
void mig_bufs_engine_view(const struct mig_bufset *b, struct mig_buffers *mb);
/* Zeroes everything, returns the pages, clears b; a no-op on an empty set. */
void mig_bufs_free(struct mig_bufset *b, struct page_alloc *pa);

#endif
