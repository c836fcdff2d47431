/* Functions shared by the handshake and the data path of the channel (not public API). */
#ifndef HVC_CHANNEL_INTERNAL_H
#define HVC_CHANNEL_INTERNAL_H
#include "hvc_channel.h"

/* Records err as the channel's final error, wipes all secrets, returns err. */
int hvc__fail(struct hvc_channel *ch, int err);
/* Reads the current frame: header (validated for the state), then length bytes of payload
 * into payload (cap bytes), then the tag when the frame is encrypted. HVC_OK when whole. */
int hvc__recv_frame(struct hvc_channel *ch, uint8_t *payload, size_t cap);
void hvc__frame_done(struct hvc_channel *ch);
/* Zeroes what a frame in progress has written to the caller's buffer (decrypted but not
 * yet verified, or ciphertext): on failure, close and destroy. */
void hvc__rx_scrub_partial(struct hvc_channel *ch);
/* Sends a plaintext handshake frame and appends it to the transcript. */
int hvc__send_hs_frame(struct hvc_channel *ch, uint8_t type, const uint8_t *payload, size_t len);
/* Loads epoch keys (key, salt) of one direction from its traffic secret. */
int hvc__dir_load(struct hvc_channel *ch, struct hvc_dir *d);
/* Validation of a received handshake frame header for the current state. */
int hvc__hs_check_hdr(struct hvc_channel *ch, const struct hvc_frame_hdr *h);
void hvc__wipe_secrets(struct hvc_channel *ch);
#endif
