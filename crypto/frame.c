/* Encoding and context-free validation of the frame header; nonce construction. */
#include "frame.h"
#include "hvc_err.h"
#include "mem_secure.h"

void hvc_frame_hdr_encode(const struct hvc_frame_hdr *h, uint8_t out[HVC_HDR_LEN])
{
	out[0] = h->version;
	out[1] = h->type;
	hvc_be16_put(out + 2, h->flags);
	hvc_be32_put(out + 4, h->length);
	hvc_be64_put(out + 8, h->seq);
}

int hvc_frame_hdr_decode(const uint8_t in[HVC_HDR_LEN], struct hvc_frame_hdr *h)
{
	h->version = in[0];
	h->type = in[1];
	h->flags = hvc_be16_get(in + 2);
	h->length = hvc_be32_get(in + 4);
	h->seq = hvc_be64_get(in + 8);
	if (h->version != HVC_PROTO_VERSION)
		return HVC_E_BAD_VERSION;
	if (h->type == 0 || (h->type > HVC_FT_CLOSE && h->type < HVC_FT_APP_MIN))
		return HVC_E_BAD_TYPE;
	if (h->flags & ~HVC_FLAGS_KNOWN)
		return HVC_E_BAD_FLAGS;
	return HVC_OK;
}

void hvc_frame_nonce(const uint8_t salt[12], uint64_t seq, uint8_t nonce[12])
{
	uint8_t s[8];
	hvc_be64_put(s, seq);
	memcpy(nonce, salt, 12);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] ^= s[i];
}
