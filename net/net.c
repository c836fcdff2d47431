/* Network bring-up and the polling loop: lwIP heap from the page allocator,
 * the e1000 netif with the configured static address, timers, console. */
#include "console.h"
#include "hv.h"
#include "net.h"
#include "netif_e1000.h"
#include "net_echo.h"
#include "net_hold.h"
#include "lwip/init.h"
#include "lwip/ip4_addr.h"
#include "lwip/timeouts.h"
#include "lwip/etharp.h"
#include "lwip/stats.h"
#include "netif/ethernet.h"

unsigned char *hv_lwip_heap;
static struct e1000 nic;
static struct netif nif;
static int up;

int net_is_up(void) { return up; }

static void ip_text(uint32_t ip, char *buf, size_t n)
{
	hv_snprintf(buf, n, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

int net_init(void)
{
	if (!hv_cfg.ip)
		return HV_ENOENT;
	if (!hv_lwip_heap) {
		uint64_t heap_pages = ALIGN_UP(MEM_SIZE + 4096, PAGE_SIZE) / PAGE_SIZE;
		uint64_t heap = page_alloc_contig(&hv_pages, heap_pages, 1);
		if (!heap)
			return HV_ENOMEM;
		hv_lwip_heap = phys_to_virt(heap);
	}
	int err = e1000_init(&nic, hv_cfg.has_mac ? hv_cfg.mac : 0);
	if (err) /* no NIC: the caller reports; a later `net up` may retry */
		return err;
	lwip_init();
	ip4_addr_t addr, mask, gw;
	uint32_t m = hv_cfg.ip_prefix ? ~0u << (32 - hv_cfg.ip_prefix) : 0;
	ip4_addr_set_u32(&addr, lwip_htonl(hv_cfg.ip));
	ip4_addr_set_u32(&mask, lwip_htonl(m));
	ip4_addr_set_u32(&gw, lwip_htonl(hv_cfg.gw));
	if (!netif_add(&nif, &addr, &mask, &gw, &nic, netif_e1000_init, ethernet_input))
		return HV_EHW;
	netif_set_default(&nif);
	netif_set_up(&nif);
	netif_set_link_up(&nif);
	up = 1;
	/* Switches such as Bochs' hub learn addresses from broadcasts only. */
	etharp_gratuitous(&nif);
	net_echo_listen();
	char ipb[16];
	ip_text(hv_cfg.ip, ipb, sizeof(ipb));
	hv_event("net: e1000 %02x:%02x:%02x:%02x:%02x:%02x at %s/%u, link %s", nic.mac[0], nic.mac[1], nic.mac[2],
		 nic.mac[3], nic.mac[4], nic.mac[5], ipb, hv_cfg.ip_prefix, e1000_link_up(&nic) ? "up" : "down");
	return HV_OK;
}

unsigned net_poll(void)
{
	if (!up)
		return 0;
	unsigned n = netif_e1000_poll(&nif, 32);
	sys_check_timeouts();
	net_echo_poll();
	return n;
}

static void status(const struct printer *p)
{
	char ipb[16];
	ip_text(hv_cfg.ip, ipb, sizeof(ipb));
	pr_printf(p, "net: e1000 mac=%02x:%02x:%02x:%02x:%02x:%02x ip=%s/%u link=%s\r\n", nic.mac[0], nic.mac[1],
		  nic.mac[2], nic.mac[3], nic.mac[4], nic.mac[5], ipb, hv_cfg.ip_prefix,
		  e1000_link_up(&nic) ? "up" : "down");
	pr_printf(p, "nic: rx_frames=%lu rx_bytes=%lu rx_errors=%lu tx_frames=%lu tx_bytes=%lu tx_ring_full=%lu\r\n",
		  (unsigned long)nic.rx_frames, (unsigned long)nic.rx_bytes, (unsigned long)nic.rx_errors,
		  (unsigned long)nic.tx_frames, (unsigned long)nic.tx_bytes, (unsigned long)nic.tx_full);
	pr_printf(p, "tcp: xmit=%u recv=%u drop=%u chkerr=%u memerr=%u\r\n", (unsigned)lwip_stats.tcp.xmit,
		  (unsigned)lwip_stats.tcp.recv, (unsigned)lwip_stats.tcp.drop, (unsigned)lwip_stats.tcp.chkerr,
		  (unsigned)lwip_stats.tcp.memerr);
	net_echo_status(p);
}

static int run(int argc, char **argv, const struct printer *out)
{
	if (argc < 2 || !hv_strcmp(argv[1], "status")) {
		if (argc > 2)
			return HV_EINVAL;
		if (!up) {
			pr_printf(out, "net: down (no ip= in the boot configuration, or no e1000 found)\r\n");
			return HV_OK;
		}
		status(out);
		return HV_OK;
	}
	if (!hv_strcmp(argv[1], "up")) {
		uint32_t ip, gw = 0;
		uint8_t len;
		if (argc < 3 || argc > 4 || config_parse_ipv4(argv[2], &ip, &len, 1) || !ip ||
		    (argc == 4 && config_parse_ipv4(argv[3], &gw, 0, 0)))
			return HV_EINVAL;
		if (up)
			return HV_EEXIST;
		hv_cfg.ip = ip;
		hv_cfg.ip_prefix = len == 32 ? 24 : len;
		hv_cfg.gw = gw;
		int err = net_init();
		if (err)
			hv_cfg.ip = 0;
		return err;
	}
	if (!hv_strcmp(argv[1], "echo")) {
		uint32_t ip;
		uint64_t bytes;
		if (argc != 4 || config_parse_ipv4(argv[2], &ip, 0, 0) || hv_parse_u64(argv[3], &bytes) || bytes == 0 ||
		    bytes > (1ull << 30))
			return HV_EINVAL;
		if (!up)
			return HV_ESTATE;
		return net_echo_start(ip, bytes);
	}
	if (!hv_strcmp(argv[1], "hold")) {
		uint32_t ip;
		uint64_t port, n;
		if (argc == 2) {
			net_hold_status(out);
			return HV_OK;
		}
		if (argc != 5 || config_parse_ipv4(argv[2], &ip, 0, 0) || hv_parse_u64(argv[3], &port) || !port ||
		    port > 65535 || hv_parse_u64(argv[4], &n) || !n || n > NET_HOLD_MAX)
			return HV_EINVAL;
		if (!up)
			return HV_ESTATE;
		return net_hold_start(ip, (uint16_t)port, (unsigned)n);
	}
	return HV_ENOENT;
}

int net_command(int argc, char **argv, const struct printer *out)
{
	return net_cmd_report(out, run(argc, argv, out), argc, argv);
}
