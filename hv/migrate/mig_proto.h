/* Migration messages carried in secure-channel app frames: byte-exact encode/decode,
 * every length and field bounds-checked (docs/migration.md, section "Messages"). */
#ifndef HV_MIG_PROTO_H
#define HV_MIG_PROTO_H
#include <stddef.h>
#include <stdint.h>

#define MIG_MAGIC   0x48564d47u /* "HVMG" */
#define MIG_VERSION 2u		/* 2: ANNOUNCE carries what the guest depends on (CPUID, TSC rate) */

enum mig_msg_type {
	MIG_MSG_ANNOUNCE = 0x40,  /* src -> dst */
	MIG_MSG_ACCEPT = 0x41,	  /* dst -> src */
	MIG_MSG_PAGES = 0x42,	  /* src -> dst */
	MIG_MSG_ROUND_END = 0x43, /* src -> dst */
	MIG_MSG_PROGRESS = 0x44,  /* dst -> src */
	MIG_MSG_STOP = 0x45,	  /* src -> dst: source paused, final round follows */
	MIG_MSG_STATE = 0x46,	  /* src -> dst */
	MIG_MSG_READY = 0x47,	  /* dst -> src */
	MIG_MSG_COMMIT = 0x48,	  /* src -> dst */
	MIG_MSG_CONFIRM = 0x49,	  /* dst -> src */
	MIG_MSG_ABORT = 0x4a,	  /* either */
};

#define MIG_ANNOUNCE_LEN  56u
#define MIG_ACCEPT_LEN	  16u
#define MIG_ROUND_END_LEN 24u
#define MIG_PROGRESS_LEN  16u
#define MIG_ID_MSG_LEN	  8u /* STOP, COMMIT, CONFIRM */
#define MIG_READY_LEN	  16u
#define MIG_ABORT_LEN	  16u
#define MIG_CTL_MAX	  64u

#define MIG_ANN_F_CHECKSUM 0x0001u /* PAGES and STATE carry a checksum (plaintext link) */
/* The guest has a local APIC (a Linux guest): the destination must virtualize one, which
 * it checks before ACCEPT rather than fail at the first VM entry after the commit. */
#define MIG_ANN_F_APIC	   0x0002u
#define MIG_ANN_F_KNOWN	   (MIG_ANN_F_CHECKSUM | MIG_ANN_F_APIC)
#define MIG_PFN_ZERO	   (1ull << 63) /* entry flag: page is all zero, no data follows */
#define MIG_PFN_MASK	   ((1ull << 52) - 1)

struct mig_announce {
	uint32_t flags;
	uint64_t mig_id, guest_id, npages;
	uint32_t page_size, state_max, batch_max;
	/* What the guest depends on, 0 when it does not: the identity of the CPUID profile it
	 * saw and the TSC rate it was told. A destination that cannot give the same refuses
	 * before ACCEPT. */
	uint32_t cpuid_id, tsc_khz;
};
struct mig_accept {
	uint64_t mig_id;
	uint32_t batch_max;
};
struct mig_round_end {
	uint32_t round;
	uint64_t pages, dirty;
};
struct mig_progress {
	uint32_t round;
	uint64_t applied;
};
struct mig_state_hdr {
	uint64_t mig_id;
	uint32_t len;
	uint64_t pages_total, sum;
};
struct mig_ready {
	uint64_t mig_id, applied;
};
struct mig_abort {
	uint64_t mig_id;
	int32_t reason;
};

/* A decoded PAGES message: entries and data point into the message buffer. */
struct mig_pages {
	uint32_t round, count, ndata;
	uint64_t sum;
	const uint8_t *entries; /* count big-endian u64 */
	const uint8_t *data;	/* ndata pages */
};

uint64_t mig_get_be64(const uint8_t *p);
uint32_t mig_get_be32(const uint8_t *p);
void mig_put_be64(uint8_t *p, uint64_t v);
void mig_put_be32(uint8_t *p, uint32_t v);
/* Non-cryptographic checksum that catches flipped bits on a plaintext link; the
 * encrypted channel's GCM tag supersedes it. */
uint64_t mig_sum64(uint64_t seed, const void *buf, size_t len);
int mig_page_is_zero(const void *page);

/* Encoders return the message length, or MIG_E_BUFFER when cap is too small. */
int mig_enc_announce(uint8_t *buf, size_t cap, const struct mig_announce *a);
int mig_enc_accept(uint8_t *buf, size_t cap, const struct mig_accept *a);
int mig_enc_round_end(uint8_t *buf, size_t cap, const struct mig_round_end *r);
int mig_enc_progress(uint8_t *buf, size_t cap, const struct mig_progress *p);
int mig_enc_id(uint8_t *buf, size_t cap, uint64_t mig_id);
int mig_enc_ready(uint8_t *buf, size_t cap, const struct mig_ready *r);
int mig_enc_abort(uint8_t *buf, size_t cap, const struct mig_abort *a);
/* PAGES header; the caller has laid out entries at buf+16 and data after them. */
void mig_enc_pages_hdr(uint8_t *buf, uint32_t round, uint32_t count, uint64_t sum);
/* STATE header at buf; the blob follows at buf + MIG_STATE_HDR. */
void mig_enc_state_hdr(uint8_t *buf, const struct mig_state_hdr *h);

/* Decoders return MIG_OK or the specific MIG_E_* of the first check that failed. */
int mig_dec_announce(const uint8_t *buf, size_t len, struct mig_announce *a);
int mig_dec_accept(const uint8_t *buf, size_t len, struct mig_accept *a);
int mig_dec_round_end(const uint8_t *buf, size_t len, struct mig_round_end *r);
int mig_dec_progress(const uint8_t *buf, size_t len, struct mig_progress *p);
int mig_dec_id(const uint8_t *buf, size_t len, uint64_t *mig_id);
int mig_dec_ready(const uint8_t *buf, size_t len, struct mig_ready *r);
int mig_dec_abort(const uint8_t *buf, size_t len, struct mig_abort *a);
/* Checks count <= batch_max, every pfn < npages with no unknown flag bits, and that len
 * is exactly header + entries + data pages. */
int mig_dec_pages(const uint8_t *buf, size_t len, uint64_t npages, uint32_t batch_max, struct mig_pages *p);
int mig_dec_state(const uint8_t *buf, size_t len, struct mig_state_hdr *h, const uint8_t **blob);
#endif
