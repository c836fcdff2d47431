/* Layout, allocation and wiping of a migration side's buffers (see mig_bufs.h). */
#include "mig_bufs.h"
#include "hvc_channel.h"
#include "hvlib.h"
#include "mig.h"

struct layout {
	size_t msg, tx, bitmap, ks, total;
};

static struct layout layout_of(uint64_t npages)
{
	struct layout l;
	l.msg = MIG_MSG_BUF_SIZE(MIG_BATCH);
	l.tx = l.msg + HVC_FRAME_OVERHEAD;
	l.bitmap = MIG_BITMAP_WORDS(npages) * 8;
	l.ks = MIG_KS_FRAMES * ALIGN_UP(l.msg + 16 + 64, 64);
	l.total = ALIGN_UP(l.msg, 64) + ALIGN_UP(l.tx, 64) + MIG_STATE_MAX + MIG_CTL_LEN + ALIGN_UP(l.bitmap, 64) +
		  2 * l.ks;
	return l;
}

uint64_t mig_bufs_pages(uint64_t npages) { return ALIGN_UP(layout_of(npages).total, PAGE_SIZE) / PAGE_SIZE; }

void mig_bufs_carve(struct mig_bufset *b, void *mem, uint64_t npages)
{
	struct layout l = layout_of(npages);
	uint8_t *p = mem;
	b->pages = mig_bufs_pages(npages);
	b->msg = p;
	b->msg_len = l.msg;
	p += ALIGN_UP(l.msg, 64);
	b->txbuf = p;
	b->txbuf_len = l.tx;
	p += ALIGN_UP(l.tx, 64);
	b->state = p;
	p += MIG_STATE_MAX;
	b->ctl = p;
	p += MIG_CTL_LEN;
	b->ks_tx = p;
	p += l.ks;
	b->ks_rx = p;
	p += l.ks;
	b->ks_len = l.ks;
	b->bitmap = (uint64_t *)p;
}

int mig_bufs_alloc(struct mig_bufset *b, struct page_alloc *pa, uint64_t npages)
{
	uint64_t pages = mig_bufs_pages(npages);
	uint64_t phys = page_alloc_contig(pa, pages, 1);
	if (!phys)
		return HV_ENOMEM;
	mig_bufs_carve(b, pa->p2v(phys), npages);
	b->phys = phys;
	return HV_OK;
}

void mig_bufs_engine_view(const struct mig_bufset *b, struct mig_buffers *mb)
{
	mb->bitmap = b->bitmap;
	mb->msg = b->msg;
	mb->msg_len = b->msg_len;
	mb->state = b->state;
	mb->state_len = MIG_STATE_MAX;
	mb->ctl = b->ctl;
	mb->ctl_len = MIG_CTL_LEN;
}

void mig_bufs_free(struct mig_bufset *b, struct page_alloc *pa)
{
	if (!b->phys)
		return;
	memset(pa->p2v(b->phys), 0, b->pages * PAGE_SIZE);
	page_free_contig(pa, b->phys, b->pages);
	memset(b, 0, sizeof(*b));
}
