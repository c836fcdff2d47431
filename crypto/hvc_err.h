/* Error values of the migration-channel crypto library: every rejection has its own code,
 * so callers and tests can tell a wrong PSK from a replay from a tampered bit. */
#ifndef HVC_ERR_H
#define HVC_ERR_H

enum hvc_err {
	HVC_OK = 0,
	HVC_AGAIN = 1, /* not an error: more input needed (non-blocking transport) */

	HVC_E_INVAL = -1,	      /* bad argument from the local caller (nothing sent) */
	HVC_E_STATE = -2,	      /* call not valid in the channel's current state */
	HVC_E_PATH_UNAVAILABLE = -3,  /* requested GCM implementation needs CPU features absent here */
	HVC_E_NO_AESNI = -4,	      /* CPU lacks AES-NI/PCLMULQDQ: no implementation can run */
	HVC_E_NO_ENTROPY = -5,	      /* no RDSEED/RDRAND (or getrandom failed) */
	HVC_E_ENTROPY_HEALTH = -6,    /* hardware RNG returned stuck/repeating output */
	HVC_E_TRANSPORT = -7,	      /* send/recv callback reported an error */
	HVC_E_TRUNCATED = -8,	      /* stream ended inside a frame or without a CLOSE frame */
	HVC_E_TIMEOUT = -9,	      /* peer stalled longer than the stall timeout */
	HVC_E_BAD_VERSION = -10,      /* frame header version is not this build's */
	HVC_E_BAD_TYPE = -11,	      /* unknown frame type */
	HVC_E_BAD_FLAGS = -12,	      /* reserved flag bits set, or ENCRYPTED flag wrong for the mode */
	HVC_E_TOO_LONG = -13,	      /* payload length above the receiver's announced limit */
	HVC_E_BAD_LENGTH = -14,	      /* length not valid for this frame type */
	HVC_E_REPLAY = -15,	      /* sequence number lower than expected */
	HVC_E_REORDER = -16,	      /* sequence number higher than expected (gap / reordering) */
	HVC_E_AUTH_TAG = -17,	      /* AES-GCM tag mismatch: header, payload or tag modified */
	HVC_E_UNKNOWN_KEY_ID = -18,   /* server has no PSK for the client's key id */
	HVC_E_HANDSHAKE_AUTH = -19,   /* finished MAC wrong: different PSK or tampered transcript */
	HVC_E_POLICY_MISMATCH = -20,  /* one side requires encryption, the other disables it */
	HVC_E_DOWNGRADE = -21,	      /* negotiated mode/echoed policy inconsistent: tampering */
	HVC_E_NONCE_REFLECTED = -22,  /* peer's handshake nonce equals ours */
	HVC_E_UNEXPECTED_FRAME = -23, /* known frame type in the wrong state */
	HVC_E_BAD_HELLO = -24,	      /* malformed hello (version, reserved bits, limits) */
	HVC_E_BUF_TOO_SMALL = -25,    /* caller's receive buffer too small; *len says how big */
	HVC_E_DEAD = -26,	      /* channel already failed; see hvc_channel_last_error */
	HVC_E_PEER_CLOSED = -27,      /* peer sent an authenticated CLOSE: clean end of stream */
	HVC_E_SEQ_EXHAUSTED = -28,    /* 64-bit sequence space used up */
	HVC_E_REKEY_OVERDUE = -29,    /* peer exceeded the key-usage limit without rekeying */
	HVC_E_PROTO_VERSION = -30,    /* peer's hello speaks another protocol version */
	HVC_E_DH_LOW_ORDER = -31,     /* peer's X25519 share is a low-order point (shared secret 0) */
	HVC_E_LAST = -31,	      /* lowest code: tests walk HVC_E_LAST..-1 */
};

const char *hvc_strerror(int err);

#endif
