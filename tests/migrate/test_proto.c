/* Unit tests of the migration message codec: round trips, bad lengths, truncation,
 * hostile field values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>
#include "mig.h"
#include "mig_proto.h"

/* mig_sum64 of "abc" (seed 0) and of bytes i*7+3, i < 4096 (seed 1): see docs/migration.md */
#define MIG_SUM64_KAT_ABC  0x844290ca9f9a7165ull
#define MIG_SUM64_KAT_PAGE 0x93ec16846201c778ull

static void test_announce_roundtrip(void **st)
{
	(void)st;
	uint8_t b[64];
	struct mig_announce
		a = { MIG_ANN_F_CHECKSUM, 0xdeadbeefcafef00dull, 9, 65536, 4096, 16384, 64, 0x1234abcd, 49998 },
		o;
	assert_int_equal(mig_enc_announce(b, sizeof(b), &a), MIG_ANNOUNCE_LEN);
	/* Byte-exact layout of docs/migration.md. */
	static const uint8_t head[16] = { 0x48, 0x56, 0x4d, 0x47, 0,	2,    0,    1,
					  0xde, 0xad, 0xbe, 0xef, 0xca, 0xfe, 0xf0, 0x0d };
	assert_memory_equal(b, head, 16);
	static const uint8_t tail[12] = { 0x12, 0x34, 0xab, 0xcd, 0, 0, 0xc3, 0x4e, 0, 0, 0, 0 };
	assert_memory_equal(b + 44, tail, 12);
	assert_int_equal(mig_dec_announce(b, MIG_ANNOUNCE_LEN, &o), MIG_OK);
	assert_int_equal(o.cpuid_id, 0x1234abcd);
	assert_int_equal(o.tsc_khz, 49998);
	assert_int_equal(o.mig_id, a.mig_id);
	assert_int_equal(o.npages, 65536);
	assert_int_equal(o.batch_max, 64);
	assert_int_equal(mig_enc_announce(b, MIG_ANNOUNCE_LEN - 1, &a), MIG_E_BUFFER);
}

static void test_announce_hostile(void **st)
{
	(void)st;
	uint8_t b[64];
	struct mig_announce a = { 0, 1, 2, 100, 4096, 16384, 64, 0, 0 }, o;
	mig_enc_announce(b, sizeof(b), &a);
	for (size_t n = 0; n < MIG_ANNOUNCE_LEN; n++)
		assert_int_equal(mig_dec_announce(b, n, &o), MIG_E_BAD_LENGTH);
	assert_int_equal(mig_dec_announce(b, MIG_ANNOUNCE_LEN + 1, &o), MIG_E_BAD_LENGTH);
	uint8_t c[64];
	memcpy(c, b, 64);
	c[0] ^= 1;
	assert_int_equal(mig_dec_announce(c, MIG_ANNOUNCE_LEN, &o), MIG_E_BAD_MAGIC);
	memcpy(c, b, 64);
	c[5] = 1; /* version 1: an older peer */
	assert_int_equal(mig_dec_announce(c, MIG_ANNOUNCE_LEN, &o), MIG_E_BAD_MAGIC);
	memcpy(c, b, 64);
	c[7] = 0x80; /* unknown flag */
	assert_int_equal(mig_dec_announce(c, MIG_ANNOUNCE_LEN, &o), MIG_E_BAD_FIELD);
	memcpy(c, b, 64);
	c[55] = 1; /* reserved */
	assert_int_equal(mig_dec_announce(c, MIG_ANNOUNCE_LEN, &o), MIG_E_BAD_FIELD);
	struct mig_announce h = a;
	h.page_size = 8192;
	mig_enc_announce(c, 64, &h);
	assert_int_equal(mig_dec_announce(c, MIG_ANNOUNCE_LEN, &o), MIG_E_BAD_GEOMETRY);
	h = a;
	h.npages = 0;
	mig_enc_announce(c, 64, &h);
	assert_int_equal(mig_dec_announce(c, MIG_ANNOUNCE_LEN, &o), MIG_E_BAD_GEOMETRY);
	h = a;
	h.npages = 1ull << 60;
	mig_enc_announce(c, 64, &h);
	assert_int_equal(mig_dec_announce(c, MIG_ANNOUNCE_LEN, &o), MIG_E_BAD_GEOMETRY);
	h = a;
	h.batch_max = MIG_BATCH_MAX + 1;
	mig_enc_announce(c, 64, &h);
	assert_int_equal(mig_dec_announce(c, MIG_ANNOUNCE_LEN, &o), MIG_E_LIMIT);
	h = a;
	h.state_max = 0xffffffffu;
	mig_enc_announce(c, 64, &h);
	assert_int_equal(mig_dec_announce(c, MIG_ANNOUNCE_LEN, &o), MIG_E_LIMIT);
}

/* Builds a PAGES message: pfns with bit 63 for zero pages, data for the others. */
static size_t build_pages(uint8_t *b, const uint64_t *ents, uint32_t n)
{
	size_t data = 0;
	for (uint32_t i = 0; i < n; i++) {
		mig_put_be64(b + MIG_PAGES_HDR + 8 * i, ents[i]);
		if (!(ents[i] & MIG_PFN_ZERO)) {
			memset(b + MIG_PAGES_HDR + 8 * n + data, (int)(i + 1), MIG_PAGE_SIZE);
			data += MIG_PAGE_SIZE;
		}
	}
	mig_enc_pages_hdr(b, 3, n, 0);
	return MIG_PAGES_HDR + 8 * n + data;
}

static uint8_t big[MIG_PAGES_MSG_MAX(MIG_BATCH_MAX) + 64];

static void test_pages(void **st)
{
	(void)st;
	uint64_t e[4] = { 5, 6 | MIG_PFN_ZERO, 99, 0 };
	size_t len = build_pages(big, e, 4);
	struct mig_pages p;
	assert_int_equal(mig_dec_pages(big, len, 100, 64, &p), MIG_OK);
	assert_int_equal(p.count, 4);
	assert_int_equal(p.ndata, 3);
	assert_int_equal(p.round, 3);
	assert_int_equal(p.data - big, MIG_PAGES_HDR + 32);
	/* truncated anywhere, or one byte too many */
	for (size_t n = 0; n < len; n += 97)
		assert_true(mig_dec_pages(big, n, 100, 64, &p) < 0);
	assert_int_equal(mig_dec_pages(big, len - 1, 100, 64, &p), MIG_E_BAD_LENGTH);
	assert_int_equal(mig_dec_pages(big, len + 1, 100, 64, &p), MIG_E_BAD_LENGTH);
	/* pfn at the guest's end */
	assert_int_equal(mig_dec_pages(big, len, 99, 64, &p), MIG_E_BAD_PFN);
	/* unknown flag bits in an entry */
	uint64_t bad[1] = { 1ull << 62 };
	len = build_pages(big, bad, 1);
	assert_int_equal(mig_dec_pages(big, len, 100, 64, &p), MIG_E_BAD_FIELD);
	/* count above the negotiated batch, count zero, count huge (length overflow bait) */
	uint64_t e2[3] = { 1, 2, 3 };
	len = build_pages(big, e2, 3);
	assert_int_equal(mig_dec_pages(big, len, 100, 2, &p), MIG_E_LIMIT);
	mig_put_be32(big + 4, 0);
	assert_int_equal(mig_dec_pages(big, len, 100, 64, &p), MIG_E_LIMIT);
	mig_put_be32(big + 4, 0xffffffffu);
	assert_int_equal(mig_dec_pages(big, len, 100, 0xffffffffu, &p), MIG_E_BAD_LENGTH);
	/* a count that claims zero pages while data follows */
	uint64_t z[2] = { 1 | MIG_PFN_ZERO, 2 | MIG_PFN_ZERO };
	len = build_pages(big, z, 2);
	assert_int_equal(mig_dec_pages(big, len + MIG_PAGE_SIZE, 100, 64, &p), MIG_E_BAD_LENGTH);
	assert_int_equal(mig_dec_pages(big, len, 100, 64, &p), MIG_OK);
	assert_int_equal(p.ndata, 0);
	assert_int_equal(mig_dec_pages(big, 3, 100, 64, &p), MIG_E_BAD_LENGTH);
}

static void test_state(void **st)
{
	(void)st;
	static uint8_t b[MIG_STATE_MSG_MAX + 16];
	struct mig_state_hdr h = { 7, 100, 5000, 0x1234 }, o;
	const uint8_t *blob;
	mig_enc_state_hdr(b, &h);
	assert_int_equal(mig_dec_state(b, MIG_STATE_HDR + 100, &o, &blob), MIG_OK);
	assert_ptr_equal(blob, b + MIG_STATE_HDR);
	assert_int_equal(o.pages_total, 5000);
	assert_int_equal(mig_dec_state(b, MIG_STATE_HDR + 99, &o, &blob), MIG_E_BAD_LENGTH);
	assert_int_equal(mig_dec_state(b, 10, &o, &blob), MIG_E_BAD_LENGTH);
	h.len = MIG_STATE_MAX + 1;
	mig_enc_state_hdr(b, &h);
	assert_int_equal(mig_dec_state(b, MIG_STATE_HDR + MIG_STATE_MAX + 1, &o, &blob), MIG_E_STATE_TOO_BIG);
	h.len = 0xffffffffu;
	mig_enc_state_hdr(b, &h);
	assert_int_equal(mig_dec_state(b, MIG_STATE_HDR, &o, &blob), MIG_E_STATE_TOO_BIG);
	h.len = 0;
	mig_enc_state_hdr(b, &h);
	b[12] = 1;
	assert_int_equal(mig_dec_state(b, MIG_STATE_HDR, &o, &blob), MIG_E_BAD_FIELD);
}

static void test_small_messages(void **st)
{
	(void)st;
	uint8_t b[64];
	struct mig_abort a = { 1, MIG_E_TIMEOUT }, ao;
	assert_int_equal(mig_enc_abort(b, sizeof(b), &a), MIG_ABORT_LEN);
	assert_int_equal(mig_dec_abort(b, MIG_ABORT_LEN, &ao), MIG_OK);
	assert_int_equal(ao.reason, MIG_E_TIMEOUT);
	a.reason = 5; /* not an error code */
	mig_enc_abort(b, sizeof(b), &a);
	assert_int_equal(mig_dec_abort(b, MIG_ABORT_LEN, &ao), MIG_E_BAD_FIELD);
	a.reason = -1000;
	mig_enc_abort(b, sizeof(b), &a);
	assert_int_equal(mig_dec_abort(b, MIG_ABORT_LEN, &ao), MIG_E_BAD_FIELD);
	assert_int_equal(mig_dec_abort(b, MIG_ABORT_LEN - 1, &ao), MIG_E_BAD_LENGTH);

	struct mig_accept c = { 9, 64 }, co;
	mig_enc_accept(b, sizeof(b), &c);
	assert_int_equal(mig_dec_accept(b, MIG_ACCEPT_LEN, &co), MIG_OK);
	mig_put_be32(b + 8, 0);
	assert_int_equal(mig_dec_accept(b, MIG_ACCEPT_LEN, &co), MIG_E_LIMIT);
	mig_put_be32(b + 8, 1000);
	assert_int_equal(mig_dec_accept(b, MIG_ACCEPT_LEN, &co), MIG_E_LIMIT);
	assert_int_equal(mig_dec_accept(b, 0, &co), MIG_E_BAD_LENGTH);

	struct mig_round_end r = { 4, 100, 50 }, ro;
	mig_enc_round_end(b, sizeof(b), &r);
	assert_int_equal(mig_dec_round_end(b, MIG_ROUND_END_LEN, &ro), MIG_OK);
	assert_int_equal(ro.dirty, 50);
	b[5] = 1;
	assert_int_equal(mig_dec_round_end(b, MIG_ROUND_END_LEN, &ro), MIG_E_BAD_FIELD);

	struct mig_progress p = { 2, 77 }, po;
	mig_enc_progress(b, sizeof(b), &p);
	assert_int_equal(mig_dec_progress(b, MIG_PROGRESS_LEN, &po), MIG_OK);
	assert_int_equal(po.applied, 77);
	assert_int_equal(mig_dec_progress(b, MIG_PROGRESS_LEN + 1, &po), MIG_E_BAD_LENGTH);

	uint64_t id;
	mig_enc_id(b, sizeof(b), 0x0102030405060708ull);
	static const uint8_t be[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	assert_memory_equal(b, be, 8);
	assert_int_equal(mig_dec_id(b, 8, &id), MIG_OK);
	assert_int_equal(mig_dec_id(b, 7, &id), MIG_E_BAD_LENGTH);
	struct mig_ready rd = { 1, 2 }, rdo;
	mig_enc_ready(b, sizeof(b), &rd);
	assert_int_equal(mig_dec_ready(b, MIG_READY_LEN, &rdo), MIG_OK);
	assert_int_equal(mig_dec_ready(b, 8, &rdo), MIG_E_BAD_LENGTH);
	assert_int_equal(mig_enc_ready(b, 4, &rd), MIG_E_BUFFER);
}

static void test_checksum_and_zero(void **st)
{
	(void)st;
	static uint8_t pg[MIG_PAGE_SIZE];
	memset(pg, 0, sizeof(pg));
	assert_true(mig_page_is_zero(pg));
	pg[MIG_PAGE_SIZE - 1] = 1;
	assert_false(mig_page_is_zero(pg));
	uint64_t a = mig_sum64(1, pg, sizeof(pg));
	pg[100] ^= 4;
	assert_true(a != mig_sum64(1, pg, sizeof(pg)));
	pg[100] ^= 4;
	assert_true(a == mig_sum64(1, pg, sizeof(pg)));
	assert_true(a != mig_sum64(2, pg, sizeof(pg))); /* round is in the seed */
}

/* The checksum catches every single flipped bit, whole-word swaps and a changed length
 * (zero padding included), for lengths that end in each lane and mid-word; its value is
 * pinned so the wire format (docs/migration.md) cannot drift. */
static void test_checksum_properties(void **st)
{
	(void)st;
	static uint8_t b[4096 + 64];
	for (size_t i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i * 7 + 3);
	static const size_t lens[] = { 0, 1, 7, 8, 9, 31, 32, 33, 63, 100, 4096, 4096 + 8 + 5 };
	for (size_t li = 0; li < sizeof(lens) / sizeof(lens[0]); li++) {
		size_t n = lens[li];
		uint64_t ref = mig_sum64(9, b, n);
		for (size_t i = 0; i < n; i++)
			for (unsigned bit = 0; bit < 8; bit++) {
				b[i] ^= (uint8_t)(1u << bit);
				assert_true(mig_sum64(9, b, n) != ref);
				b[i] ^= (uint8_t)(1u << bit);
			}
		if (n + 1 <= sizeof(b)) {
			uint8_t keep = b[n];
			b[n] = 0;
			assert_true(mig_sum64(9, b, n + 1) != ref); /* a trailing zero byte is seen */
			b[n] = keep;
		}
		if (n >= 72) { /* swap two words of the same lane */
			uint8_t t[8];
			memcpy(t, b, 8);
			memcpy(b, b + 64, 8);
			memcpy(b + 64, t, 8);
			assert_true(mig_sum64(9, b, n) != ref);
			memcpy(b + 64, b, 8);
			memcpy(b, t, 8);
			assert_true(mig_sum64(9, b, n) == ref);
		}
	}
	uint8_t abc[3] = { 'a', 'b', 'c' };
	assert_true(mig_sum64(0, abc, 3) == MIG_SUM64_KAT_ABC);
	assert_true(mig_sum64(1, b, 4096) == MIG_SUM64_KAT_PAGE);
}

static void test_strerror_distinct(void **st)
{
	(void)st;
	for (int i = MIG_E_LAST; i <= MIG_DONE; i++) {
		assert_string_not_equal(mig_strerror(i), "unknown");
		for (int j = i + 1; j <= MIG_DONE; j++)
			assert_string_not_equal(mig_strerror(i), mig_strerror(j));
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_announce_roundtrip),
		cmocka_unit_test(test_announce_hostile),
		cmocka_unit_test(test_pages),
		cmocka_unit_test(test_state),
		cmocka_unit_test(test_small_messages),
		cmocka_unit_test(test_checksum_and_zero),
		cmocka_unit_test(test_checksum_properties),
		cmocka_unit_test(test_strerror_distinct),
	};
	return cmocka_run_group_tests_name("migrate codec", tests, NULL, NULL);
}
