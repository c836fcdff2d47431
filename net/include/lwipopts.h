/* lwIP configuration for the hypervisor: NO_SYS (raw API, polled from the
 * scheduler loop), IPv4 + TCP only, heap taken from the page allocator, and
 * TCP sized for bulk transfer (window scaling, large windows and send buffers). */
#ifndef HV_LWIPOPTS_H
#define HV_LWIPOPTS_H

#define NO_SYS			   1
#define LWIP_SOCKET		   0
#define LWIP_NETCONN		   0
#define SYS_LIGHTWEIGHT_PROT	   0
#define LWIP_IPV4		   1
#define LWIP_IPV6		   0
#define LWIP_ARP		   1
#define LWIP_ETHERNET		   1
#define LWIP_ICMP		   1
#define LWIP_UDP		   1
#define LWIP_TCP		   1
#define LWIP_DHCP		   0
#define LWIP_AUTOIP		   0
#define LWIP_IGMP		   0
#define LWIP_DNS		   0
#define LWIP_RAW		   0
#define LWIP_STATS		   1
#define LWIP_STATS_DISPLAY	   0
#define LWIP_NETIF_STATUS_CALLBACK 0
#define LWIP_NETIF_LINK_CALLBACK   0
#define LWIP_SINGLE_NETIF	   1
#define LWIP_HAVE_LOOPIF	   0
#define ETH_PAD_SIZE		   0
#define IP_REASSEMBLY		   0
#define IP_FRAG			   0

/* One heap for everything (pools too), placed by net_init in memory from the
 * hypervisor's page allocator so it costs nothing in the image. */
#define MEM_LIBC_MALLOC 0
#define MEMP_MEM_MALLOC 1
#define MEM_ALIGNMENT	8
#define MEM_SIZE	(8u * 1024 * 1024)
extern unsigned char *hv_lwip_heap;
#define LWIP_RAM_HEAP_POINTER hv_lwip_heap

#define PBUF_POOL_SIZE		512
#define PBUF_POOL_BUFSIZE	1536
#define MEMP_NUM_TCP_PCB	8
#define MEMP_NUM_TCP_PCB_LISTEN 4
#define MEMP_NUM_TCP_SEG	1024
#define MEMP_NUM_PBUF		256
#define MEMP_NUM_SYS_TIMEOUT	8

#define TCP_MSS		      1460
#define LWIP_WND_SCALE	      1
#define TCP_RCV_SCALE	      4
/* 64 KiB in flight: more than the emulated NIC of a receiving Bochs can
 * buffer (it takes in one frame per emulated ms) only causes drops and
 * timeouts. On real 10 GbE links raise both (window scaling is on). */
#define TCP_WND		      (64u * 1024)
#define TCP_SND_BUF	      (64u * 1024)
#define TCP_SND_QUEUELEN      (4 * TCP_SND_BUF / TCP_MSS)
#define TCP_SNDLOWAT	      32768 /* lwIP requires < 0xffff - 4*MSS */
#define TCP_SNDQUEUELOWAT     (TCP_SND_QUEUELEN / 4)
#define TCP_QUEUE_OOSEQ	      1
#define TCP_OVERSIZE	      TCP_MSS
#define LWIP_TCP_KEEPALIVE    1
#define LWIP_CHKSUM_ALGORITHM 3
/* lwIP's TCP timers tick at this interval (delayed ACKs, retransmission
 * timeouts in units of twice it). 250 ms stalls a lone segment that long on
 * a LAN whose round trip is a few ms. */
#define TCP_TMR_INTERVAL      20

#define LWIP_DEBUG 0
#endif
