/* Names of the engine's result codes, for the console, MIGSTAT lines and test output. */
#include "mig_err.h"

const char *mig_strerror(int err)
{
	switch (err) {
	case MIG_OK: return "ok";
	case MIG_AGAIN: return "again";
	case MIG_BLOCKED: return "blocked";
	case MIG_DONE: return "done";
	case MIG_E_INVAL: return "invalid-argument";
	case MIG_E_BUFFER: return "buffer-too-small";
	case MIG_E_STATE: return "wrong-engine-state";
	case MIG_E_BUSY: return "guest-busy";
	case MIG_E_RATE_LIMITED: return "rate-limited";
	case MIG_E_BACKOFF: return "peer-backing-off";
	case MIG_E_RETRIES: return "retries-exhausted";
	case MIG_E_PEER_TABLE: return "peer-table-full";
	case MIG_E_HANDSHAKE: return "handshake-failed";
	case MIG_E_TRANSPORT: return "transport-error";
	case MIG_E_PEER_CLOSED: return "peer-closed";
	case MIG_E_CHANNEL: return "channel-rejected-frame";
	case MIG_E_TIMEOUT: return "peer-stalled";
	case MIG_E_UNEXPECTED: return "unexpected-message";
	case MIG_E_BAD_TYPE: return "bad-message-type";
	case MIG_E_BAD_LENGTH: return "bad-message-length";
	case MIG_E_BAD_MAGIC: return "bad-magic-or-version";
	case MIG_E_BAD_GEOMETRY: return "bad-geometry";
	case MIG_E_BAD_ID: return "bad-migration-id";
	case MIG_E_BAD_PFN: return "bad-pfn";
	case MIG_E_BAD_FIELD: return "bad-field";
	case MIG_E_CHECKSUM: return "checksum-mismatch";
	case MIG_E_COUNT: return "page-count-mismatch";
	case MIG_E_STATE_TOO_BIG: return "state-too-big";
	case MIG_E_SAVE_STATE: return "save-state-failed";
	case MIG_E_LOAD_STATE: return "load-state-failed";
	case MIG_E_PREPARE: return "prepare-failed";
	case MIG_E_PAUSE: return "pause-failed";
	case MIG_E_RESUME: return "resume-failed";
	case MIG_E_SCRUB: return "scrub-failed";
	case MIG_E_NOT_CONVERGING: return "not-converging";
	case MIG_E_PEER_ABORT: return "peer-aborted";
	case MIG_E_CANCELLED: return "cancelled";
	case MIG_E_IN_DOUBT: return "in-doubt";
	case MIG_E_LIMIT: return "limit-exceeded";
	case MIG_E_WRONG_GUEST: return "wrong-guest";
	case MIG_E_PROFILE: return "profile-mismatch";
	}
	return "unknown";
}
