/* TCP transport of migsim (see simnet.h). */
#define _GNU_SOURCE
#include "simnet.h"
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

int simnet_init(struct simnet *n, int fd, size_t ocap, uint64_t bw_Bps)
{
	memset(n, 0, sizeof(*n));
	n->fd = fd;
	n->obuf = malloc(ocap);
	n->ocap = ocap;
	n->bw_Bps = bw_Bps;
	n->last_ns = now_ns();
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
	return n->obuf ? 0 : -1;
}

void simnet_free(struct simnet *n)
{
	if (n->fd >= 0)
		close(n->fd);
	n->fd = -1;
	free(n->obuf);
	n->obuf = NULL;
}

void simnet_cut(struct simnet *n)
{
	if (n->fd >= 0) {
		shutdown(n->fd, SHUT_RDWR);
		close(n->fd);
	}
	n->fd = -1;
	n->dead = 1;
}

/* The cap's token bucket, refilled for the time gone by (at most 10 ms of burst). A write
 * on a capped link takes as much as the socket accepts, whole frames, and may leave the
 * bucket in debt: nothing more is sent until it is paid back. So the average rate is the
 * cap, as a NIC paces a frame handed to it whole, and the CPU hands over large pieces as
 * it would to a NIC, instead of trickling the bucket's few bytes (many small sends and
 * wake-ups that cost the two sides more CPU per byte than the link itself would). */
static void refill(struct simnet *n)
{
	uint64_t t = now_ns();
	uint64_t add = (t - n->last_ns) * n->bw_Bps / 1000000000ull;
	if (add) {
		n->tokens += (int64_t)add;
		n->last_ns = t;
	}
	int64_t burst = n->bw_Bps / 100 > 65536 ? (int64_t)(n->bw_Bps / 100) : 65536; /* 10 ms */
	if (n->tokens > burst)
		n->tokens = burst;
}

/* How much of len bytes a direct write may take now: all of it, unless a cap's bucket is
 * in debt. */
static size_t allowance(struct simnet *n, size_t len)
{
	if (!n->bw_Bps)
		return len;
	refill(n);
	return n->tokens >= 0 ? len : 0;
}

int simnet_wait_ms(struct simnet *n)
{
	if (!n->bw_Bps)
		return 0;
	refill(n);
	if (n->tokens >= 0)
		return 0;
	uint64_t ns = (uint64_t)(-n->tokens) * 1000000000ull / n->bw_Bps;
	return (int)(ns / 1000000ull) + 1;
}

void simnet_flush(struct simnet *n)
{
	if (n->dead || n->fd < 0)
		return;
	while (n->otail > n->ohead) {
		size_t len = n->otail - n->ohead;
		if (!allowance(n, len))
			return;
		ssize_t w = send(n->fd, n->obuf + n->ohead, len, MSG_NOSIGNAL);
		if (w < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return;
			n->dead = 1;
			return;
		}
		n->ohead += (size_t)w;
		n->bytes_out += (uint64_t)w;
		if (n->bw_Bps)
			n->tokens -= (int64_t)w;
	}
	n->ohead = n->otail = 0;
}

int simnet_want_write(const struct simnet *n) { return n->otail > n->ohead; }

static size_t b_writable(void *ctx)
{
	struct simnet *n = ctx;
	simnet_flush(n);
	if (n->dead)
		return n->ocap; /* let the send fail and report it */
	if (n->ohead && n->ohead == n->otail)
		n->ohead = n->otail = 0;
	/* In debt: no room until it is paid back (the engine waits, wait_io says how long). */
	if (n->bw_Bps && n->tokens < 0 && (refill(n), n->tokens < 0))
		return 0;
	return n->ocap - (n->otail - n->ohead);
}

static size_t b_pending(void *ctx)
{
	struct simnet *n = ctx;
	int q = 0;
	if (n->fd >= 0 && ioctl(n->fd, SIOCOUTQ, &q) < 0)
		q = 0;
	return (n->otail - n->ohead) + (size_t)(q > 0 ? q : 0);
}

/* With nothing queued, a frame goes straight to the socket: the bytes it took (0 when it
 * would block), or -1 with the link marked dead. */
static ssize_t direct_write(struct simnet *n, struct iovec *iov, int cnt)
{
	struct msghdr m = { .msg_iov = iov, .msg_iovlen = (size_t)cnt };
	ssize_t w = sendmsg(n->fd, &m, MSG_NOSIGNAL);
	if (w < 0) {
		if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
			n->dead = 1;
			return -1;
		}
		w = 0;
	}
	n->bytes_out += (uint64_t)w;
	if (n->bw_Bps)
		n->tokens -= (int64_t)w;
	return w;
}

static int b_send(void *ctx, const void *buf, size_t len)
{
	struct simnet *n = ctx;
	if (n->dead)
		return -1;
	/* Nothing queued: hand the frame straight to the socket (on a capped link, as much
	 * as the bucket allows) and queue only the rest, saving a copy of every byte on the
	 * fast path. */
	size_t take = n->ohead == n->otail && !n->corrupt_next ? allowance(n, len) : 0;
	if (take) {
		n->ohead = n->otail = 0;
		struct iovec iov = { (void *)buf, take };
		ssize_t w = direct_write(n, &iov, 1);
		if (w < 0)
			return -1;
		buf = (const uint8_t *)buf + w;
		len -= (size_t)w;
		if (!len)
			return 0;
	}
	if (n->otail + len > n->ocap) {
		memmove(n->obuf, n->obuf + n->ohead, n->otail - n->ohead);
		n->otail -= n->ohead;
		n->ohead = 0;
	}
	if (n->otail + len > n->ocap)
		return -1;
	memcpy(n->obuf + n->otail, buf, len);
	if (n->corrupt_next && len > 16) {
		/* First payload byte: the ciphertext (tag fails) or, in plaintext, a field the
		 * receiver checks (migration id, round number). */
		n->obuf[n->otail + 16] ^= 0x01;
		n->corrupt_next = 0;
	}
	n->otail += len;
	simnet_flush(n);
	return n->dead ? -1 : 0;
}

/* Header and payload of a plaintext frame in one sendmsg when nothing is queued; what the
 * socket does not take is queued like b_send's. */
static int b_send2(void *ctx, const void *a, size_t alen, const void *b, size_t blen)
{
	struct simnet *n = ctx;
	if (n->dead)
		return -1;
	size_t take = n->ohead == n->otail && !n->corrupt_next && alen ? allowance(n, alen + blen) : 0;
	if (!take) {
		if (b_send(ctx, a, alen) < 0)
			return -1;
		return b_send(ctx, b, blen);
	}
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };
	if (take <= alen)
		iov[0].iov_len = take;
	else
		iov[1].iov_len = take - alen;
	ssize_t w = direct_write(n, iov, take <= alen ? 1 : 2);
	if (w < 0)
		return -1;
	if ((size_t)w < alen) {
		if (b_send(ctx, (const uint8_t *)a + w, alen - (size_t)w) < 0)
			return -1;
		return b_send(ctx, b, blen);
	}
	w -= (ssize_t)alen;
	if ((size_t)w == blen)
		return 0;
	return b_send(ctx, (const uint8_t *)b + w, blen - (size_t)w);
}

static long b_recv(void *ctx, void *buf, size_t len)
{
	struct simnet *n = ctx;
	simnet_flush(n);
	if (n->fd < 0)
		return -2;
	ssize_t r = recv(n->fd, buf, len, 0);
	if (r > 0) {
		n->bytes_in += (uint64_t)r;
		return r;
	}
	if (r == 0)
		return HVC_RECV_EOF;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return 0;
	return -2;
}

struct mig_bytes simnet_bytes(struct simnet *n)
{
	struct mig_bytes b = { n, b_writable, b_pending, b_send, b_recv, NULL, NULL, b_send2 };
	return b;
}

int tcp_listen(const char *addr, int port)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	int one = 1;
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 16) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

int tcp_connect(const char *addr, int port, const char *bind_addr)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		return -1;
	if (bind_addr) {
		struct sockaddr_in b = { .sin_family = AF_INET };
		if (inet_pton(AF_INET, bind_addr, &b.sin_addr) != 1 || bind(fd, (struct sockaddr *)&b, sizeof(b)) < 0) {
			close(fd);
			return -1;
		}
	}
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
	if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}
