/* lwIP netif glue for the e1000 driver. */
#ifndef HV_NETIF_E1000_H
#define HV_NETIF_E1000_H
#include "lwip/netif.h"
#include "drivers/e1000.h"
err_t netif_e1000_init(struct netif *nif);
/* Feeds up to budget received frames to lwIP; returns how many. */
unsigned netif_e1000_poll(struct netif *nif, unsigned budget);
#endif
