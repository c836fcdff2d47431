/* Non-blocking TCP byte stream for migsim: a user-space output queue (so a whole channel
 * frame is always accepted once writable() said so), an optional bandwidth cap, and the
 * faults the tests inject (cut, corrupt the next frame). */
#ifndef MIGSIM_NET_H
#define MIGSIM_NET_H
#include <stddef.h>
#include <stdint.h>
#include "mig_link_hvc.h"

struct simnet {
	int fd;
	uint8_t *obuf;
	size_t ocap, ohead, otail;
	uint64_t bw_Bps, last_ns; /* cap in bytes/s; 0 = none */
	int64_t tokens;		  /* the cap's bucket: below zero, the last write's debt */
	int dead, eof, corrupt_next;
	uint64_t bytes_out, bytes_in;
};

int simnet_init(struct simnet *n, int fd, size_t ocap, uint64_t bw_Bps);
void simnet_free(struct simnet *n);
void simnet_flush(struct simnet *n);
int simnet_want_write(const struct simnet *n);
/* On a capped link, the milliseconds until the bucket is out of debt (0: may send now). */
int simnet_wait_ms(struct simnet *n);
struct mig_bytes simnet_bytes(struct simnet *n);
void simnet_cut(struct simnet *n);
int tcp_listen(const char *addr, int port);
int tcp_connect(const char *addr, int port, const char *bind_addr);
#endif
