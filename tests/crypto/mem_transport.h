/* In-memory transport for in-process tests: two byte pipes joining two channel endpoints,
 * with a man-in-the-middle hook that sees (and may rewrite, drop or replay) every send. */
#ifndef HVC_TEST_MEM_TRANSPORT_H
#define HVC_TEST_MEM_TRANSPORT_H
#include <stddef.h>
#include <stdint.h>
#include "hvc_channel.h"

struct mem_pipe {
	uint8_t *buf;
	size_t cap, head, tail; /* bytes [head, tail) are queued */
	int eof;		/* after the queue drains, recv reports HVC_RECV_EOF */
	size_t max_chunk;	/* >0: recv returns at most this many bytes (partial reads) */
	size_t wrap;		/* >0: peek lends no bytes across a multiple of wrap bytes of the
				 * stream, as a ring buffer of that size would (recv still may) */
	size_t taken;		/* bytes of the stream removed so far */
};

struct mem_link;
/* dir 0: client->server, 1: server->client. Push (possibly modified) bytes with
 * mem_pipe_push(out, ...); pushing nothing drops them. */
typedef void (*mem_mitm_fn)(void *ctx, struct mem_link *l, int dir, const uint8_t *buf, size_t len,
			    struct mem_pipe *out);

struct mem_link {
	struct mem_pipe p[2];
	mem_mitm_fn mitm;
	void *mitm_ctx;
	int send_calls[2];
	int send2_calls[2];
	size_t consumed[2]; /* bytes taken through peek/consume, per direction */
};

struct mem_end {
	struct mem_link *link;
	int dir; /* direction this end sends in */
};

void mem_pipe_init(struct mem_pipe *p, size_t cap);
void mem_pipe_free(struct mem_pipe *p);
int mem_pipe_push(struct mem_pipe *p, const void *buf, size_t len);
size_t mem_pipe_len(const struct mem_pipe *p);
/* Removes and returns up to len queued bytes. */
size_t mem_pipe_pull(struct mem_pipe *p, void *buf, size_t len);

void mem_link_init(struct mem_link *l, size_t cap);
void mem_link_free(struct mem_link *l);
int mem_send(void *ctx, const void *buf, size_t len);
int mem_send2(void *ctx, const void *a, size_t alen, const void *b, size_t blen);
long mem_recv(void *ctx, void *buf, size_t len);
long mem_peek(void *ctx, const void **p, size_t len);
void mem_consume(void *ctx, size_t n);
struct hvc_transport mem_transport(struct mem_end *e);
/* The same with peek/consume: the receiver decrypts straight from the pipe's buffer. */
struct hvc_transport mem_transport_peek(struct mem_end *e);

/* Deterministic "entropy" for tests (an LCG): ctx points to its uint64_t state, or is NULL
 * for a shared one. Always HVC_OK. */
int det_entropy(void *ctx, void *buf, size_t len);

/* Fake monotonic clock advanced by tests. */
struct fake_clock {
	uint64_t t;
	uint64_t step; /* added on every read */
};
uint64_t fake_clock_now(void *ctx);
#endif
