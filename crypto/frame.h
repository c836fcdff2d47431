/* Wire frame header (16 bytes, big-endian, authenticated as GCM AAD) and the per-frame
 * GCM nonce; layouts are specified in docs/protocol.md. */
#ifndef HVC_FRAME_H
#define HVC_FRAME_H
#include <stddef.h>
#include <stdint.h>

/* 2: every frame after the handshake carries a tag in both modes; X25519 in the hellos. */
#define HVC_PROTO_VERSION  2
#define HVC_HDR_LEN	   16
#define HVC_TAG_LEN	   16
#define HVC_FRAME_OVERHEAD (HVC_HDR_LEN + HVC_TAG_LEN)
#define HVC_MAX_PAYLOAD	   (64u << 20) /* hard protocol limit on a payload */
#define HVC_MIN_RX_MAX	   4096u       /* smallest receive limit a peer may announce */
#define HVC_HELLO_LEN	   76	       /* hello payload: 44 bytes of fields + X25519 share */
#define HVC_FINISH_LEN	   32

enum hvc_frame_type {
	HVC_FT_HELLO_C = 0x01,
	HVC_FT_HELLO_S = 0x02,
	HVC_FT_FINISH_C = 0x03,
	HVC_FT_FINISH_S = 0x04,
	HVC_FT_REKEY = 0x05,
	HVC_FT_CLOSE = 0x06,
	HVC_FT_APP_MIN = 0x40, /* 0x40..0xff: application message types */
};

/* Clear: the payload travels in the clear, still authenticated by the frame's tag. */
#define HVC_FLAG_ENCRYPTED 0x0001u
#define HVC_FLAGS_KNOWN	   HVC_FLAG_ENCRYPTED

struct hvc_frame_hdr {
	uint8_t version;
	uint8_t type;
	uint16_t flags;
	uint32_t length; /* payload bytes, excluding header and tag */
	uint64_t seq;
};

void hvc_frame_hdr_encode(const struct hvc_frame_hdr *h, uint8_t out[HVC_HDR_LEN]);
/* Context-free checks only, in this order: version, type, flags. */
int hvc_frame_hdr_decode(const uint8_t in[HVC_HDR_LEN], struct hvc_frame_hdr *h);
/* nonce = salt XOR (0^32 || seq as 64-bit big-endian) */
void hvc_frame_nonce(const uint8_t salt[12], uint64_t seq, uint8_t nonce[12]);
#endif
