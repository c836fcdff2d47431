/* Adapter: the engine's message link (struct mig_link) on top of the secure channel
 * (crypto/hvc_channel.h), over a byte stream that says how much it can take now. */
#ifndef HV_MIG_LINK_HVC_H
#define HV_MIG_LINK_HVC_H
#include <stddef.h>
#include <stdint.h>
#include "hvc_channel.h"
#include "mig.h"

/* A non-blocking byte stream: lwIP's TCP PCB with an output queue in the hypervisor, a
 * socket with a user-space queue in the simulator. */
struct mig_bytes {
	void *ctx;
	size_t (*writable)(void *ctx);			     /* bytes send() takes now, whole */
	size_t (*pending)(void *ctx);			     /* queued, not yet on the wire (NULL: 0) */
	int (*send)(void *ctx, const void *buf, size_t len); /* 0, or <0 */
	long (*recv)(void *ctx, void *buf, size_t len);	     /* as hvc_transport.recv */
	/* optional, as hvc_transport.peek/consume: received bytes lent in place */
	long (*peek)(void *ctx, const void **p, size_t len);
	void (*consume)(void *ctx, size_t n);
	/* optional, as hvc_transport.send2: two pieces as one write */
	int (*send2)(void *ctx, const void *a, size_t alen, const void *b, size_t blen);
};

struct mig_hvc {
	struct hvc_channel *ch;
	struct mig_bytes bytes;
	size_t max_payload; /* tx_buf_len - frame overhead, and the peer's rx_max */
	int last;	    /* last channel error (HVC_E_*) */
};

/* The hvc_transport to put in hvc_config before hvc_channel_init: it forwards to bytes
 * (set h->bytes first: peek/consume are offered only where bytes has them). */
struct hvc_transport mig_hvc_transport(struct mig_hvc *h);
/* Binds h to a channel initialised with that transport and fills *out. */
void mig_hvc_link(struct mig_hvc *h, struct hvc_channel *ch, size_t tx_buf_len, struct mig_link *out);
#endif
