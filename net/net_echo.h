/* A TCP echo service and a verifying echo client: proves the network path
 * between two hypervisors both ways, from the console (`net echo IP BYTES`). */
#ifndef HV_NET_ECHO_H
#define HV_NET_ECHO_H
#include <stdint.h>
#include "hvlib.h"
void net_echo_listen(void);
int net_echo_start(uint32_t ip, uint64_t bytes);
void net_echo_poll(void);
void net_echo_status(const struct printer *p);
#endif
