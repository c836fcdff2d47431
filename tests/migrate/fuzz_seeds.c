/* Writes the fuzz targets' seed corpus: the source's message streams of real migrations
 * (the engine against the engine over the in-memory link, tests/migrate/fake_guest.c),
 * in the format of fuzz_input.h, one file per guest size and write rate. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "fake_guest.h"
#include "mig.h"

struct recorder {
	struct mig_link inner;
	FILE *out;
};

static size_t r_writable(void *ctx)
{
	return ((struct recorder *)ctx)->inner.writable(((struct recorder *)ctx)->inner.ctx);
}
static size_t r_pending(void *ctx)
{
	struct recorder *r = ctx;
	return r->inner.pending ? r->inner.pending(r->inner.ctx) : 0;
}
static int r_enc(void *ctx)
{
	struct recorder *r = ctx;
	return r->inner.encrypted(r->inner.ctx);
}
static int r_recv(void *ctx, uint8_t *type, void *buf, size_t cap, size_t *len)
{
	struct recorder *r = ctx;
	return r->inner.recv(r->inner.ctx, type, buf, cap, len);
}
static int r_send(void *ctx, uint8_t type, const void *buf, size_t len)
{
	struct recorder *r = ctx;
	int e = r->inner.send(r->inner.ctx, type, buf, len);
	if (e == MIG_OK && len <= 0xffff) {
		uint8_t h[3] = { type, (uint8_t)len, (uint8_t)(len >> 8) };
		fwrite(h, 1, 3, r->out);
		fwrite(buf, 1, len, r->out);
	}
	return e;
}

static int one(const char *dir, uint64_t npages, uint64_t writes, int flags)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/seed-%lu-%lu-%d", dir, (unsigned long)npages, (unsigned long)writes, flags);
	struct recorder rec = { .out = fopen(path, "wb") };
	if (!rec.out)
		return -1;
	fputc(flags, rec.out); /* plaintext: checksums on (recomputed or not); encrypted: none */
	struct fake_guest sg, dg;
	struct mem_link l;
	struct fake_clock clk = { 1000 };
	fg_init(&sg, npages, 1, 42);
	fg_init(&dg, npages, 0, 7);
	sg.writes_per_tick = writes;
	sg.state_len = 300;
	ml_init(&l, 4u << 20, 1 << 20);
	l.enc = flags & 1; /* an encrypted channel: no checksums; the destination places */
	struct ml_end es = { .l = &l, .side = 0 }, ed = { .l = &l, .side = 1 };
	rec.inner = ml_link(&es);
	struct mig_link sl = rec.inner;
	sl.ctx = &rec;
	sl.writable = r_writable;
	sl.pending = r_pending;
	sl.send = r_send;
	sl.recv = r_recv;
	sl.encrypted = r_enc;
	sl.sendv = NULL; /* every message through r_send, recorded */
	sl.set_place = NULL;
	sl.placed = NULL;
	struct mig_link dl = ml_link(&ed);
	struct mig_clock c = fc_clock(&clk);
	static uint8_t smsg[MIG_MSG_BUF_SIZE(8)], dmsg[MIG_MSG_BUF_SIZE(8)], sstate[MIG_STATE_MAX], sctl[256],
		dctl[256];
	uint64_t *bitmap = calloc(MIG_BITMAP_WORDS(npages), 8);
	struct mig_buffers sb = { bitmap, smsg, sizeof(smsg), sstate, sizeof(sstate), sctl, sizeof(sctl) };
	struct mig_buffers db = { NULL, dmsg, sizeof(dmsg), NULL, 0, dctl, sizeof(dctl) };
	struct mig_config cfg = { .mig_id = 0x1122334455667788ull, .guest_id = 3, .batch_pages = 8 };
	cfg.policy.downtime_target_ns = 20ull * 1000000ull;
	struct mig_guest_ops so = fg_ops(&sg), dops = fg_ops(&dg);
	struct mig_source src;
	struct mig_dest dst;
	struct mig_config dcfg = cfg;
	dcfg.mig_id = 0;
	if (mig_source_init(&src, &cfg, &so, &sl, &c, &sb) != MIG_OK ||
	    mig_dest_init(&dst, &dcfg, &dops, &dl, &c, &db) != MIG_OK)
		return -1;
	int rs = MIG_AGAIN, rd = MIG_AGAIN;
	for (long i = 0; i < 400000 && !(rs == MIG_DONE && rd == MIG_DONE) && rs >= 0 && rd >= 0; i++) {
		rs = mig_source_step(&src);
		rd = mig_dest_step(&dst);
		clk.now += 1000000;
		ml_tick(&l);
		fg_tick(&sg);
	}
	fclose(rec.out);
	fg_free(&sg);
	fg_free(&dg);
	ml_free(&l);
	free(bitmap);
	return rs == MIG_DONE && rd == MIG_DONE ? 0 : -1;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_seeds DIR\n");
		return 2;
	}
	static const uint64_t cfgs[][3] = { { 4, 0, 2 }, { 8, 1, 2 }, { 16, 0, 0 }, { 16, 1, 1 } };
	for (unsigned i = 0; i < 4; i++)
		if (one(argv[1], cfgs[i][0], cfgs[i][1], (int)cfgs[i][2])) {
			fprintf(stderr, "fuzz_seeds: migration %u did not complete\n", i);
			return 1;
		}
	printf("fuzz_seeds: 4 recorded migrations in %s\n", argv[1]);
	return 0;
}
