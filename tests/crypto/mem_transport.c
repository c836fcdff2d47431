/* In-memory pipes and MITM hook for channel tests, fuzzing and benchmarks. */
#include "mem_transport.h"
#include <stdlib.h>
#include <string.h>

void mem_pipe_init(struct mem_pipe *p, size_t cap)
{
	memset(p, 0, sizeof(*p));
	p->buf = malloc(cap);
	p->cap = p->buf ? cap : 0;
}

void mem_pipe_free(struct mem_pipe *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

size_t mem_pipe_len(const struct mem_pipe *p) { return p->tail - p->head; }

int mem_pipe_push(struct mem_pipe *p, const void *buf, size_t len)
{
	if (p->head == p->tail)
		p->head = p->tail = 0;
	if (p->tail + len > p->cap && p->head) {
		memmove(p->buf, p->buf + p->head, p->tail - p->head);
		p->tail -= p->head;
		p->head = 0;
	}
	if (p->tail + len > p->cap) {
		size_t ncap = p->cap ? p->cap : 4096;
		while (ncap < p->tail + len)
			ncap *= 2;
		uint8_t *nb = realloc(p->buf, ncap);
		if (!nb)
			return -1;
		p->buf = nb;
		p->cap = ncap;
	}
	if (len)
		memcpy(p->buf + p->tail, buf, len);
	p->tail += len;
	return 0;
}

size_t mem_pipe_pull(struct mem_pipe *p, void *buf, size_t len)
{
	size_t n = mem_pipe_len(p);
	if (n > len)
		n = len;
	if (n)
		memcpy(buf, p->buf + p->head, n);
	p->head += n;
	p->taken += n;
	return n;
}

void mem_link_init(struct mem_link *l, size_t cap)
{
	memset(l, 0, sizeof(*l));
	mem_pipe_init(&l->p[0], cap);
	mem_pipe_init(&l->p[1], cap);
}

void mem_link_free(struct mem_link *l)
{
	mem_pipe_free(&l->p[0]);
	mem_pipe_free(&l->p[1]);
}

int mem_send(void *ctx, const void *buf, size_t len)
{
	struct mem_end *e = ctx;
	struct mem_link *l = e->link;
	l->send_calls[e->dir]++;
	if (l->mitm) {
		l->mitm(l->mitm_ctx, l, e->dir, buf, len, &l->p[e->dir]);
		return 0;
	}
	return mem_pipe_push(&l->p[e->dir], buf, len);
}

/* The lending transport also takes two pieces as one write (one send, as a socket's
 * sendmsg would), so plaintext frames over it take the channel's send2 path. */
int mem_send2(void *ctx, const void *a, size_t alen, const void *b, size_t blen)
{
	struct mem_end *e = ctx;
	e->link->send2_calls[e->dir]++;
	uint8_t *t = malloc(alen + blen);
	if (!t)
		return -1;
	memcpy(t, a, alen);
	memcpy(t + alen, b, blen);
	int r = mem_send(ctx, t, alen + blen);
	free(t);
	return r;
}

long mem_recv(void *ctx, void *buf, size_t len)
{
	struct mem_end *e = ctx;
	struct mem_pipe *p = &e->link->p[!e->dir];
	if (p->max_chunk && len > p->max_chunk)
		len = p->max_chunk;
	size_t n = mem_pipe_pull(p, buf, len);
	if (n)
		return (long)n;
	return p->eof ? HVC_RECV_EOF : 0;
}

long mem_peek(void *ctx, const void **p, size_t len)
{
	struct mem_end *e = ctx;
	struct mem_pipe *q = &e->link->p[!e->dir];
	size_t n = mem_pipe_len(q);
	if (q->max_chunk && len > q->max_chunk)
		len = q->max_chunk;
	if (!n)
		return q->eof ? HVC_RECV_EOF : 0;
	if (q->wrap && len > q->wrap - q->taken % q->wrap)
		len = q->wrap - q->taken % q->wrap;
	*p = q->buf + q->head;
	return (long)(n < len ? n : len);
}

void mem_consume(void *ctx, size_t n)
{
	struct mem_end *e = ctx;
	struct mem_pipe *q = &e->link->p[!e->dir];
	if (n > mem_pipe_len(q))
		n = mem_pipe_len(q);
	q->head += n;
	q->taken += n;
	e->link->consumed[!e->dir] += n;
}

struct hvc_transport mem_transport(struct mem_end *e)
{
	struct hvc_transport t = { e, mem_send, mem_recv, NULL, NULL, NULL };
	return t;
}

struct hvc_transport mem_transport_peek(struct mem_end *e)
{
	struct hvc_transport t = { e, mem_send, mem_recv, mem_peek, mem_consume, mem_send2 };
	return t;
}

uint64_t fake_clock_now(void *ctx)
{
	struct fake_clock *c = ctx;
	c->t += c->step;
	return c->t;
}

int det_entropy(void *ctx, void *buf, size_t len)
{
	static uint64_t shared = 42;
	uint64_t *st = ctx ? ctx : &shared;
	uint8_t *p = buf;
	for (size_t i = 0; i < len; i++) {
		*st = *st * 6364136223846793005ull + 1442695040888963407ull;
		p[i] = (uint8_t)(*st >> 56);
	}
	return HVC_OK;
}
