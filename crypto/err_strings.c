/* Human-readable names for enum hvc_err, for logs and test output. */
#include "hvc_err.h"

const char *hvc_strerror(int err)
{
	switch (err) {
	case HVC_OK: return "ok";
	case HVC_AGAIN: return "again (need more input)";
	case HVC_E_INVAL: return "invalid argument";
	case HVC_E_STATE: return "call not valid in this state";
	case HVC_E_PATH_UNAVAILABLE: return "GCM implementation not available on this CPU";
	case HVC_E_NO_AESNI: return "CPU lacks AES-NI/PCLMULQDQ";
	case HVC_E_NO_ENTROPY: return "no entropy source (RDSEED/RDRAND/getrandom)";
	case HVC_E_ENTROPY_HEALTH: return "entropy source failed health check";
	case HVC_E_TRANSPORT: return "transport error";
	case HVC_E_TRUNCATED: return "stream truncated";
	case HVC_E_TIMEOUT: return "peer stalled (timeout)";
	case HVC_E_BAD_VERSION: return "bad frame version";
	case HVC_E_BAD_TYPE: return "unknown frame type";
	case HVC_E_BAD_FLAGS: return "bad frame flags";
	case HVC_E_TOO_LONG: return "frame payload too long";
	case HVC_E_BAD_LENGTH: return "frame length invalid for its type";
	case HVC_E_REPLAY: return "replayed frame (old sequence number)";
	case HVC_E_REORDER: return "reordered or missing frame (sequence gap)";
	case HVC_E_AUTH_TAG: return "authentication tag mismatch";
	case HVC_E_UNKNOWN_KEY_ID: return "unknown PSK key id";
	case HVC_E_HANDSHAKE_AUTH: return "handshake authentication failed (PSK or transcript)";
	case HVC_E_POLICY_MISMATCH: return "encryption policy mismatch";
	case HVC_E_DOWNGRADE: return "policy downgrade detected";
	case HVC_E_NONCE_REFLECTED: return "handshake nonce reflected";
	case HVC_E_UNEXPECTED_FRAME: return "unexpected frame for state";
	case HVC_E_BAD_HELLO: return "malformed hello";
	case HVC_E_BUF_TOO_SMALL: return "receive buffer too small";
	case HVC_E_DEAD: return "channel is dead after an earlier error";
	case HVC_E_PEER_CLOSED: return "peer closed the channel";
	case HVC_E_SEQ_EXHAUSTED: return "sequence numbers exhausted";
	case HVC_E_REKEY_OVERDUE: return "peer did not rekey in time";
	case HVC_E_PROTO_VERSION: return "peer speaks another protocol version";
	case HVC_E_DH_LOW_ORDER: return "peer's X25519 share is a low-order point";
	}
	return "unknown error";
}
