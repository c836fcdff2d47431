# The hypervisor's network: lwIP from the Debian source fetched by setup
# (third_party/lwip, never committed) built with our lwipopts.h, plus the
# e1000 driver and glue. Objects are linked into hv.elf.
LWIP_DIR := third_party/lwip/src
LWIP_SRCS := $(addprefix $(LWIP_DIR)/core/,def.c inet_chksum.c init.c ip.c mem.c memp.c netif.c pbuf.c \
	stats.c sys.c tcp.c tcp_in.c tcp_out.c timeouts.c udp.c) \
	$(addprefix $(LWIP_DIR)/core/ipv4/,etharp.c icmp.c ip4.c ip4_addr.c) $(LWIP_DIR)/netif/ethernet.c
NET_SRCS := $(wildcard net/*.c) $(wildcard net/drivers/*.c)
NET_INC := -Inet/include -Inet -I$(LWIP_DIR)/include
# lwIP is third-party: our warnings policy is not imposed on it.
LWIP_CFLAGS := $(filter-out -Werror -Wextra -MMD -MP,$(HV_CFLAGS)) -w $(NET_INC)
NET_OBJS := $(patsubst %.c,$(BUILD)/hv/%.o,$(LWIP_SRCS) $(NET_SRCS))

$(LWIP_DIR)/core/init.c:
	@echo "lwIP sources missing in third_party/lwip: run 'make setup' (scripts/setup.sh)"; exit 1

$(BUILD)/hv/$(LWIP_DIR)/%.o: $(LWIP_DIR)/%.c net/include/lwipopts.h net/include/arch/cc.h
	@mkdir -p $(dir $@)
	$(CC) $(LWIP_CFLAGS) -c $< -o $@

$(BUILD)/hv/net/%.o: net/%.c
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) $(NET_INC) -c $< -o $@

# Header dependencies of our own network objects (lwIP's are its own, above). Here, not in
# hv/hv.mk: NET_OBJS is empty there, and objects built against an older struct layout
# (hv_config, struct vm) corrupted the hypervisor's state at `net up`.
-include $(patsubst %.o,%.d,$(filter $(BUILD)/hv/net/%,$(NET_OBJS)))
