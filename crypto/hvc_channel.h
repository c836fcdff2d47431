/* Public API of the secure migration channel: PSK handshake, then AES-256-GCM framed
 * messages over caller-provided transport callbacks. See docs/protocol.md. */
#ifndef HVC_CHANNEL_H
#define HVC_CHANNEL_H
#include <stddef.h>
#include <stdint.h>
#include "entropy.h"
#include "frame.h"
#include "gcm_dispatch.h"
#include "hvc_err.h"
#include "keystream_ring.h"

enum hvc_role { HVC_ROLE_CLIENT = 1, HVC_ROLE_SERVER = 2 }; /* client = migration source */
enum hvc_policy { HVC_POLICY_REQUIRED = 0, HVC_POLICY_OPPORTUNISTIC = 1, HVC_POLICY_DISABLED = 2 };
/* PLAIN: payloads in the clear but every frame after the handshake still carries its
 * AES-256-GCM tag, so nobody without the keys can forge, alter, drop or reorder one. */
enum hvc_mode { HVC_MODE_NONE = 0, HVC_MODE_ENCRYPTED = 1, HVC_MODE_PLAIN = 2 };

#define HVC_RECV_EOF (-1) /* recv callback: peer closed the byte stream */

struct hvc_transport {
	void *ctx;
	/* Accept all len bytes (0) or fail (<0). */
	int (*send)(void *ctx, const void *buf, size_t len);
	/* Up to len bytes: >0 bytes read, 0 nothing available now, HVC_RECV_EOF, <0 error.
	 * The channel never asks for more bytes than the current frame still needs. */
	long (*recv)(void *ctx, void *buf, size_t len);
	/* Optional (NULL: recv only), for transports that hold received bytes in a buffer of
	 * their own: peek sets *p to up to len contiguous received bytes and returns their
	 * count (or 0, HVC_RECV_EOF, <0 as recv); they stay valid until consume(ctx, n) drops
	 * the first n of them. The channel then decrypts straight from the transport's buffer
	 * into the caller's instead of copying the ciphertext first. */
	long (*peek)(void *ctx, const void **p, size_t len);
	void (*consume)(void *ctx, size_t n);
	/* Optional (NULL: two sends): accept a then b as one write, all or fail, like send.
	 * A plaintext frame's header and payload go out together: over a socket, two sends
	 * cost a second system call and a small segment per frame. */
	int (*send2)(void *ctx, const void *a, size_t alen, const void *b, size_t blen);
};

struct hvc_clock {
	void *ctx;
	uint64_t (*now_ns)(void *ctx); /* monotonic; NULL disables stall timeouts */
};

/* Server-side PSK lookup: copy the PSK for key_id into psk (<= 64 bytes), set *psk_len,
 * return 0; return <0 when the key id is unknown. */
typedef int (*hvc_psk_lookup_fn)(void *ctx, uint32_t key_id, uint8_t *psk, size_t *psk_len);

#define HVC_PSK_MIN		16
#define HVC_PSK_MAX		64
#define HVC_DEFAULT_RX_MAX	(4u << 20)
/* Encrypted frames are produced in chunks of this many bytes (a multiple of 16), so the
 * keystream made for a chunk is still in L1 when it is used, and handed to the transport
 * in pieces of up to HVC_SEND_PIECE, so the ciphertext is still in L2 when the transport
 * copies it instead of streaming a multi-MiB frame through memory. A piece is large
 * because each transport call costs (a socket's send() is several us, and 64 KiB take
 * ~5 us of XOR + GHASH): migsim's encrypted 1 GiB migration, medians of 9 runs, 640 ms
 * with 64 KiB pieces against 629 ms with 256 KiB (noisy; the lower quartile moved more). */
#define HVC_SEND_CHUNK		(8u << 10)
#define HVC_SEND_PIECE		(256u << 10)
/* Largest piece asked of the transport at once while a payload arrives: each piece is
 * hashed while it is still in cache. */
#define HVC_RECV_PIECE		(64u << 10)
#define HVC_DEFAULT_STALL_NS	(30ull * 1000000000ull)
/* Keystream made ahead per direction is bounded in bytes as well as by the ring's size
 * (at least one frame is always allowed): keystream made further ahead has left the
 * caches by the time it is used, and reading it back from memory costs the send more
 * than the ring saved (measured: 4 MiB frames, two frames ahead ~8 GB/s, one ~11). */
#define HVC_DEFAULT_KS_AHEAD	(4u << 20)
/* Key-usage limits per key (direction and epoch). The sender rekeys at its configured limit
 * (default below); a receiver rejects frames beyond the hard limit. */
#define HVC_REKEY_DEFAULT_MSGS	(1ull << 24)
#define HVC_REKEY_DEFAULT_BYTES (1ull << 34)
#define HVC_REKEY_HARD_MSGS	(1ull << 28)
#define HVC_REKEY_HARD_BYTES	(1ull << 36)

struct hvc_config {
	enum hvc_role role;
	enum hvc_policy policy;
	uint32_t key_id;
	const uint8_t *psk; /* client: required; server: used when psk_lookup is NULL */
	size_t psk_len;
	hvc_psk_lookup_fn psk_lookup;
	void *psk_lookup_ctx;
	struct hvc_transport transport;
	struct hvc_clock clock;
	uint64_t stall_timeout_ns; /* 0: HVC_DEFAULT_STALL_NS */
	hvc_entropy_fn entropy;
	void *entropy_ctx;
	enum hvc_gcm_path gcm_path; /* HVC_GCM_AUTO: best for this CPU */
	uint32_t rx_max;	    /* largest payload we accept; 0: HVC_DEFAULT_RX_MAX */
	uint8_t *tx_buf;	    /* frame assembly, >= HVC_FRAME_OVERHEAD + largest send */
	size_t tx_buf_len;
	uint8_t *ks_tx_mem, *ks_rx_mem; /* optional keystream rings (NULL: no pipelining) */
	size_t ks_tx_len, ks_rx_len;
	size_t ks_ahead;		  /* bytes of keystream made ahead; 0: HVC_DEFAULT_KS_AHEAD */
	uint64_t rekey_msgs, rekey_bytes; /* sender's limits; 0: defaults; capped at hard */
	uint64_t hard_msgs, hard_bytes;	  /* receiver's limits; 0: HVC_REKEY_HARD_* (tests lower) */
};

enum hvc_state {
	HVC_ST_INIT = 0,
	HVC_ST_C_WAIT_HELLO_S,
	HVC_ST_C_WAIT_FINISH_S,
	HVC_ST_S_WAIT_HELLO_C,
	HVC_ST_S_WAIT_FINISH_C,
	HVC_ST_ESTABLISHED,
	HVC_ST_CLOSED,
	HVC_ST_DEAD,
};

/* One direction's keys for the current epoch. */
struct hvc_dir {
	struct hvc_gcm_key key;
	uint8_t secret[32]; /* traffic secret of this epoch */
	uint8_t salt[12];
	uint32_t epoch;
	uint64_t seq; /* next sequence number */
	uint64_t epoch_msgs, epoch_bytes;
	struct hvc_ks_ring ring;
	unsigned jobs_out; /* keystream jobs handed out and not yet returned */
	int ring_blocked;  /* ring wiped while jobs were out: no fills until they return */
};

/* Keystream for one frame, made by another thread than the channel's (a spare core):
 * the channel's thread takes the job, any thread runs it, the channel's thread returns
 * it. The job carries its own copy of the key, so the channel may rekey meanwhile. */
struct hvc_ks_job {
	struct hvc_gcm_key key;
	uint8_t nonce[12];
	uint8_t *dst;
	size_t len; /* tag mask + payload keystream */
	uint64_t seq;
	uint32_t epoch;
	int dir; /* 0: send, 1: receive */
};

/* Receive placement (see hvc_channel_set_place): where the plaintext of payload bytes
 * [off, off + *n) of a frame of type and len goes, or NULL to keep it at buf + off. */
typedef uint8_t *(*hvc_place_fn)(void *ctx, uint8_t type, const uint8_t *buf, size_t len, size_t off, size_t *n);

/* Caller-allocated (static in the hypervisor); fields are private. */
struct hvc_channel {
	struct hvc_dir tx, rx;
	struct hvc_config cfg;
	enum hvc_state state;
	enum hvc_mode mode;
	int last_error;
	uint8_t psk[HVC_PSK_MAX];
	size_t psk_len;
	uint8_t nonce_own[32], nonce_peer[32];
	uint8_t dh_priv[32], dh_pub[32]; /* this handshake's ephemeral X25519 pair */
	uint8_t transcript[2 * (HVC_HDR_LEN + HVC_HELLO_LEN) + 2 * (HVC_HDR_LEN + HVC_FINISH_LEN)];
	size_t transcript_len;
	uint8_t prk[32];
	uint32_t peer_rx_max;
	uint8_t peer_policy;
	/* receive side of the frame being read */
	uint8_t rx_hdr[HVC_HDR_LEN];
	uint8_t rx_small[HVC_HELLO_LEN + 4]; /* handshake payloads (the hello is largest), tags */
	size_t rx_got;			     /* bytes of the current frame received so far */
	int rx_hdr_ok;
	/* GHASH of an encrypted frame, advanced as its payload arrives (receive pipelining) */
	uint8_t rx_ghash[16];
	size_t rx_hashed;		   /* payload bytes already hashed (a multiple of 16, or all) */
	int rx_fused;			   /* ... and decrypted in the same pass (keystream cheap or ready) */
	int rx_stream;			   /* ... by the path's one-pass streaming decrypt (rx_gctx) */
	_Alignas(64) uint8_t rx_gctx[128]; /* its running GHASH and counter */
	uint8_t *rx_buf;		   /* caller's buffer holding this frame's payload so far */
	/* receive placement: the caller's function, this frame's current region */
	hvc_place_fn place_fn;
	void *place_ctx;
	int rx_place_on, rx_last_placed;
	size_t rx_reg_start, rx_reg_end;
	uint8_t *rx_reg_out;
	struct hvc_frame_hdr rx_h;
	uint64_t last_progress_ns;
	/* encrypted data frames sent/received, and how many of them found their keystream
	 * made ahead in the ring (the pipelined case): [0] send, [1] receive */
	uint64_t frames[2], frames_ks_ready[2];
	/* keystream of one chunk (send or receive) when none was precomputed (kept in L1) */
	_Alignas(64) uint8_t ks_chunk[HVC_SEND_CHUNK];
};

int hvc_channel_init(struct hvc_channel *ch, const struct hvc_config *cfg);
/* Moves a channel whose handshake just completed (no data frame sent or begun) into *to,
 * with the transport and buffers it uses from now on; *from is wiped. A listener runs
 * handshakes in small pre-authentication slots and gives a migration's large buffers
 * only to a peer that proved the PSK. The new tx_buf must hold what the peer may
 * receive (its rx_max) plus HVC_FRAME_OVERHEAD, and rx_max stays what was announced. */
int hvc_channel_move(struct hvc_channel *to, struct hvc_channel *from, const struct hvc_transport *t, uint8_t *tx_buf,
		     size_t tx_buf_len, uint8_t *ks_tx, size_t ks_tx_len, uint8_t *ks_rx, size_t ks_rx_len);
/* Advances the handshake: HVC_OK when established, HVC_AGAIN when waiting for the peer. */
int hvc_channel_handshake_step(struct hvc_channel *ch);
/* Loops handshake_step until done or failed (for blocking transports, or with a clock). */
int hvc_channel_handshake(struct hvc_channel *ch);
/* type: 0x40..0xff. Rekeys first when a key-usage limit would be reached. */
int hvc_channel_send(struct hvc_channel *ch, uint8_t type, const void *buf, size_t len);
/* Sends one message gathered from a head (head_len bytes) and nparts parts of part_len
 * bytes each, as hvc_channel_send would send their concatenation: a PAGES message is its
 * header and entries, then guest pages where they lie. Where the key's path encrypts in
 * one streaming pass (VAES/AVX-512, AVX2) or the keystream is ready (ring, fast keystream;
 * head_len and part_len then multiples of 16), each part is read once, by the cipher,
 * with no staging copy; else (SSE, plaintext) the parts are copied into tx_buf first. A
 * part that changes during the call (a running guest's page) is sent as the cipher read
 * it, and the tag covers exactly what was sent: plaintext, hashed and then sent, is
 * always staged so that both read one snapshot. Parts are not used after the call. */
int hvc_channel_sendv(struct hvc_channel *ch, uint8_t type, const void *head, size_t head_len, const void *const *parts,
		      unsigned nparts, size_t part_len);
/* Receives one message into buf (cap bytes). Pass the same buf until the result is not
 * HVC_AGAIN (HVC_E_INVAL otherwise), and keep it valid until then or until the channel is
 * destroyed. Only HVC_OK releases a payload, after its tag was checked. Between HVC_AGAIN
 * returns buf holds the part received so far, ciphertext or (with a fast or precomputed
 * keystream) decrypted but unverified: the caller has no length for it and must not use
 * it; the channel zeroes it when the frame fails (wrong tag, truncation, transport error,
 * timeout) and when the channel fails, closes or is destroyed mid-frame.
 * On HVC_E_BUF_TOO_SMALL nothing is consumed and *len is the size needed.
 * A channel is used by one thread at a time (send and receive share scratch space). */
int hvc_channel_recv(struct hvc_channel *ch, uint8_t *type, void *buf, size_t cap, size_t *len);
/* Receive placement, for a caller that knows from a message's first bytes where the rest
 * belongs (the migration engine: a PAGES message's data goes to the guest's pages). For
 * every data frame received from now on (not one half read), the channel asks
 * where(ctx, type, buf, len, off, &n) at off = 0 and again at the end of each region it
 * was given: set *n (>= 1, up to len - off) and return where the plaintext of those n
 * bytes goes, or NULL to keep them at buf + off as usual. buf holds the plaintext of the
 * earlier regions kept in buf, so later answers may depend on it (a header's count); it is
 * NOT authenticated yet: where() must check everything it reads (bounds of the caller's
 * own memory) and its caller must treat what was written anywhere as unverified until
 * recv returns HVC_OK. A region must end on a 16-byte boundary or at len; a where() that
 * breaks these rules fails the frame with HVC_E_INVAL. On a failed frame the channel
 * zeroes buf as always, but what went to placed regions is the caller's to scrub (the
 * engine scrubs the whole guest on any failure). Encrypted frames are decrypted to the
 * placement as they arrive or, on the paths that decrypt after the tag, after it;
 * plaintext frames are placed (hashed while copied there) only from a lending transport,
 * where they are copied out of its buffer anyway; else they stay in buf (rx_placed 0).
 * A placed region of buf holds no plaintext (the received bytes, or what was there).
 * where NULL: no placement, at once (the rest of a frame half read stays in buf: for a
 * caller that failed and scrubs what the placement pointed into); a new placement is
 * taken only between frames. */
void hvc_channel_set_place(struct hvc_channel *ch, hvc_place_fn where, void *ctx);
/* 1 when the message the last hvc_channel_recv returned went through the placement. */
int hvc_channel_rx_placed(const struct hvc_channel *ch);
/* Off the critical path: compute keystream ahead for the next frames, assuming tx/rx
 * messages of the given sizes (0 fills nothing in that direction), up to the ring's room
 * and cfg.ks_ahead bytes per direction, and leave no used keystream behind (overwritten
 * or zeroed). Returns how many frames were filled. */
int hvc_channel_prefill(struct hvc_channel *ch, size_t tx_len_hint, size_t rx_len_hint);
/* The same, at most max frames per direction. */
int hvc_channel_prefill_frames(struct hvc_channel *ch, size_t tx_len_hint, size_t rx_len_hint, uint32_t max);
/* Whether keystream made ahead for direction dir (0 send, 1 receive) saves this side
 * work: not where that key's path seals or opens a frame in one pass of its own
 * (VAES/AVX-512 without our fast keystream): keystream made ahead costs more passes there
 * (make, XOR, wipe) than the one-pass GCM it replaces, for a send ~15 % faster at best.
 * A side asks before prefilling while it waits in pre-copy; the keystream for the
 * stop-and-copy (the link's prepare_stop), where each frame's latency is downtime, is
 * made whatever this says. The ring itself works either way. */
int hvc_channel_prefill_useful(const struct hvc_channel *ch, int dir);
/* Reserves ring room for the next frame without keystream (messages of tx_len/rx_len
 * bytes, as prefill) and describes the work in *job: HVC_OK, or HVC_AGAIN when there is
 * nothing to do. Every job taken must be returned with hvc_channel_ks_job_done, also
 * after the channel failed or closed, and before it is destroyed. */
int hvc_channel_ks_job_take(struct hvc_channel *ch, size_t tx_len, size_t rx_len, struct hvc_ks_job *job);
/* Makes the job's keystream; any thread, touches nothing but the job and its dst. */
void hvc_ks_job_run(struct hvc_ks_job *job);
/* Back on the channel's thread: the frame's keystream is usable from now on (or zeroed,
 * when the ring was wiped meanwhile); the job's key copy is wiped. */
void hvc_channel_ks_job_done(struct hvc_channel *ch, struct hvc_ks_job *job);
/* Sends an authenticated CLOSE and zeroes all keys. */
int hvc_channel_close(struct hvc_channel *ch);
/* Zeroes keys, secrets, keystream rings and the tx buffer. */
void hvc_channel_destroy(struct hvc_channel *ch);
int hvc_channel_last_error(const struct hvc_channel *ch);
enum hvc_mode hvc_channel_mode(const struct hvc_channel *ch);
enum hvc_gcm_path hvc_channel_gcm_path(const struct hvc_channel *ch);
/* Whether any key material is left in the channel (keys, traffic secrets, PSK copy,
 * handshake secrets): for the console to show that a session's keys are gone. */
int hvc_channel_holds_keys(const struct hvc_channel *ch);
uint32_t hvc_channel_tx_epoch(const struct hvc_channel *ch);
/* Encrypted frames sent (dir 0) or received (dir 1), and how many of them had their
 * keystream ready in the ring. */
void hvc_channel_ks_stats(const struct hvc_channel *ch, int dir, uint64_t *frames, uint64_t *ready);
/* Frames ahead whose send keystream is made (ring entries not pending). */
unsigned hvc_channel_tx_ks_ready(const struct hvc_channel *ch);
uint32_t hvc_channel_rx_epoch(const struct hvc_channel *ch);

/* Policy negotiation (exported for tests and docs): OK with *mode, or POLICY_MISMATCH. */
int hvc_negotiate(uint8_t policy_c, uint8_t policy_s, enum hvc_mode *mode);
#endif
