/* Idle TCP connections held open on purpose (`net hold IP PORT N`): what an
 * unauthenticated host does to a listener, so tests can show the limits hold. */
#ifndef HV_NET_HOLD_H
#define HV_NET_HOLD_H
#include <stdint.h>
#include "hvlib.h"
#define NET_HOLD_MAX 4
/* Opens n (1..NET_HOLD_MAX) connections to ip:port that never send a byte; earlier ones
 * still held are closed first. */
int net_hold_start(uint32_t ip, uint16_t port, unsigned n);
void net_hold_status(const struct printer *p);
#endif
