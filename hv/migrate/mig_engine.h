/* Helpers shared by the two engines (not part of the public API). */
#ifndef HV_MIG_ENGINE_H
#define HV_MIG_ENGINE_H
#include "mig.h"
#include "mig_proto.h"

static inline uint64_t mig_now(const struct mig_clock *c) { return c->now_ns(c->ctx); }

static inline size_t mig_link_room(const struct mig_link *l) { return l->writable(l->ctx); }

static inline uint64_t mig_link_pending(const struct mig_link *l) { return l->pending ? l->pending(l->ctx) : 0; }

static inline int mig_link_detail(const struct mig_link *l) { return l->detail ? l->detail(l->ctx) : 0; }

/* A failure of the link itself: no point trying to tell the peer anything. */
static inline int mig_err_is_link(int err)
{
	return err == MIG_E_TRANSPORT || err == MIG_E_PEER_CLOSED || err == MIG_E_CHANNEL || err == MIG_E_TIMEOUT ||
	       err == MIG_E_HANDSHAKE;
}

/* Link errors come back as MIG_E_*; anything else a link adapter returns is a transport error. */
static inline int mig_link_err(int r)
{
	if (r == MIG_E_TRANSPORT || r == MIG_E_PEER_CLOSED || r == MIG_E_CHANNEL || r == MIG_E_TIMEOUT ||
	    r == MIG_E_BAD_LENGTH || r == MIG_E_BAD_TYPE)
		return r;
	return MIG_E_TRANSPORT;
}
#endif
