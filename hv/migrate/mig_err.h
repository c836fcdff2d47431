/* Result codes of the migration engine: one distinct value per failure, so the console,
 * the tests and the peer (ABORT carries one) can tell every cause apart. */
#ifndef HV_MIG_ERR_H
#define HV_MIG_ERR_H

enum mig_err {
	MIG_OK = 0,
	MIG_AGAIN = 1,	 /* progress made; call again */
	MIG_BLOCKED = 2, /* waiting for link room or for the peer */
	MIG_DONE = 3,

	MIG_E_INVAL = -1,	    /* bad argument or configuration from the local caller */
	MIG_E_BUFFER = -2,	    /* caller-provided buffer too small */
	MIG_E_STATE = -3,	    /* call not valid in this engine state */
	MIG_E_BUSY = -4,	    /* a migration of this guest is already under way */
	MIG_E_RATE_LIMITED = -5,    /* peer exceeded its request rate */
	MIG_E_BACKOFF = -6,	    /* peer is backing off after failed handshakes */
	MIG_E_RETRIES = -7,	    /* retry budget used up */
	MIG_E_PEER_TABLE = -8,	    /* too many distinct peers being tracked */
	MIG_E_HANDSHAKE = -9,	    /* secure channel handshake failed (detail: channel code) */
	MIG_E_TRANSPORT = -10,	    /* link send/recv failed (connection cut, reset) */
	MIG_E_PEER_CLOSED = -11,    /* peer ended the stream */
	MIG_E_CHANNEL = -12,	    /* channel rejected a frame: tampered, replayed, reordered */
	MIG_E_TIMEOUT = -13,	    /* peer made no progress within the stall timeout */
	MIG_E_UNEXPECTED = -14,	    /* valid message type in the wrong protocol state */
	MIG_E_BAD_TYPE = -15,	    /* unknown message type */
	MIG_E_BAD_LENGTH = -16,	    /* message length wrong for its type or contents */
	MIG_E_BAD_MAGIC = -17,	    /* ANNOUNCE magic or version not ours */
	MIG_E_BAD_GEOMETRY = -18,   /* page size or guest size not acceptable here */
	MIG_E_BAD_ID = -19,	    /* migration id differs from the announced one */
	MIG_E_BAD_PFN = -20,	    /* page frame number outside the guest */
	MIG_E_BAD_FIELD = -21,	    /* reserved field non-zero or value out of range */
	MIG_E_CHECKSUM = -22,	    /* page or state checksum mismatch (plaintext mode) */
	MIG_E_COUNT = -23,	    /* page transfer count differs from the source's */
	MIG_E_STATE_TOO_BIG = -24,  /* vCPU/device state larger than MIG_STATE_MAX */
	MIG_E_SAVE_STATE = -25,	    /* hypervisor could not save the vCPU/device state */
	MIG_E_LOAD_STATE = -26,	    /* destination rejected the state blob */
	MIG_E_PREPARE = -27,	    /* destination could not provide guest memory */
	MIG_E_PAUSE = -28,	    /* vCPU could not be paused */
	MIG_E_RESUME = -29,	    /* vCPU could not be resumed */
	MIG_E_SCRUB = -30,	    /* scrub failed or read back non-zero */
	MIG_E_NOT_CONVERGING = -31, /* guest dirties faster than the link; policy: abort */
	MIG_E_PEER_ABORT = -32,	    /* peer sent ABORT (its reason is in the detail) */
	MIG_E_CANCELLED = -33,	    /* cancelled locally */
	MIG_E_IN_DOUBT = -34,	    /* COMMIT sent, no confirmation: guest held paused here */
	MIG_E_LIMIT = -35,	    /* peer exceeded a limit (batch, state size, rounds) */
	MIG_E_WRONG_GUEST = -36,    /* announced guest id is not the one this side expects */
	MIG_E_PROFILE = -37,	    /* this side cannot give the guest its CPUID profile or TSC rate */
};
#define MIG_E_LAST MIG_E_PROFILE /* lowest code: ABORT reasons must lie in [LAST, -1] */

const char *mig_strerror(int err);
#endif
