/* The hypervisor's live-migration service: `migrate` console commands, the
 * incoming listener, and the step called from the scheduler loop. */
#ifndef HV_MIG_HV_H
#define HV_MIG_HV_H
#include "hvlib.h"
void mig_hv_init(void);
void mig_hv_poll(void);
/* Cycles the NIC driver and TCP/IP input spent on received frames: the migrations under
 * way count them as busy time. */
void mig_hv_account_net(uint64_t cycles);
/* argv[0] is "migrate"; prints reply lines; HV_EINVAL means usage. */
int mig_hv_command(int argc, char **argv, const struct printer *p);
#endif
