/* The hypervisor's migration service, shared by its parts: the sessions (mig_session.c),
 * the byte stream under the channel (mig_stream.c), the guest callbacks over a VM
 * (mig_guest.c) and the `migrate` command (mig_cmd.c). One struct mig_service holds
 * what was file-scope state: both directions, the admission guard, the listener. */
#ifndef HV_MIG_SERVICE_H
#define HV_MIG_SERVICE_H
#include "hvc_channel.h"
#include "mig.h"
#include "mig_bucket.h"
#include "mig_bufs.h"
#include "mig_guard.h"
#include "mig_link_hvc.h"
#include "mig_preauth.h"
#include "tcp_stream.h"
#include "vm.h"

/* One direction of a migration: the stream, the channel over it, the engine's link. */
struct mig_side {
	int active, connected;
	struct vm *vm;
	struct tcp_stream *ts;
	struct tcp_stream own_ts; /* outgoing connections live here */
	struct hvc_channel ch;
	struct mig_hvc hvc;
	struct mig_link link;
	struct mig_bufset bufs;
	struct mig_bucket bucket; /* the bandwidth cap (outgoing) */
	uint64_t t0_ms, last_report_ms;
	uint32_t last_round;
	uint64_t busy_cycles; /* its own cost: see mig_stats.busy_cycles */
	enum vm_state before; /* the VM's state when the migration started */
	int handshake_done;   /* the channel got established at some point */
};

struct mig_out {
	struct mig_side side;
	struct mig_source eng;
};

struct mig_in {
	struct mig_side side;
	struct mig_dest eng;
};

/* Handshake frames only: a pre-authentication slot's channel sends nothing larger. */
#define MIG_PREAUTH_TXBUF (HVC_FRAME_OVERHEAD + HVC_HELLO_LEN + 64)

struct mig_service {
	struct mig_out out;
	struct mig_in in;
	/* connections still in their handshake, each in a side with no buffers of its own */
	struct mig_side pre[MIG_PREAUTH_SLOTS];
	uint8_t pre_txbuf[MIG_PREAUTH_SLOTS][MIG_PREAUTH_TXBUF];
	struct mig_preauth preauth;
	uint64_t in_busy_refused;	       /* authenticated while a migration was already coming in */
	char last_stat[2][MIG_STATS_LINE_MAX]; /* `migrate info`: [0] source, [1] destination */
	int test_hostile_state;		       /* `migrate test hostile-state`: the next state sent is */
	struct mig_guard guard;
	int listening;
	int crypto_broken; /* the boot self-test failed: nothing may use the channel */
};

/* The hypervisor's one instance (mig_session.c). */
struct mig_service *mig_service(void);

/* mig_stream.c */
extern const struct mig_clock mig_hv_clock;
uint64_t mig_now_ns(void);
/* The channel over the side's TCP stream, and the engine's link over the channel. */
int mig_stream_setup(struct mig_side *m, enum hvc_role role);
/* The channel of a side whose handshake completed (a pre-authentication slot), moved to
 * m with m's buffers (allocated by the caller); from is wiped. */
int mig_stream_adopt(struct mig_side *m, struct hvc_channel *from);
/* Closes the stream, destroys the channel, wipes the buffers, clears the side. */
void mig_side_end(struct mig_side *m);

/* mig_guest.c: the engine's view of a VM. */
void mig_guest_source_ops(struct mig_out *o, struct mig_guest_ops *g);
void mig_guest_dest_ops(struct mig_in *in, struct mig_guest_ops *g);

/* mig_session.c: what the command starts and ends. Errors are HV_E* values. */
int mig_session_start_out(struct mig_service *s, struct vm *vm, uint32_t ip, uint16_t port, const struct printer *p);
int mig_session_cancel(struct mig_service *s);
int mig_session_resolve(struct mig_service *s, int resume);
void mig_session_print(struct mig_service *s, const struct printer *p);

#endif
