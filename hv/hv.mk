# The hypervisor core: freestanding C and assembly linked with linker.ld into
# $(BUILD)/hv/hv.elf (Multiboot2 header and UEFI image header inside).
HV_CFLAGS := $(FS_CFLAGS) $(HV_INC) -MMD -MP
HV_ASFLAGS := $(FS_ASFLAGS) $(HV_INC) -MMD -MP
HV_LDFLAGS := -Wl,--build-id=none -nostdlib -static -no-pie -z max-page-size=4096 -T linker.ld

HV_C_SRCS := $(wildcard hv/core/*.c) $(wildcard hv/arch/$(HV_ARCH)/*.c) $(wildcard hv/arch/$(HV_ARCH)/dev/*.c) \
	$(filter-out $(MIG_ARCH_SRCS),$(MIG_CORE_SRCS)) $(MIG_LINK_SRCS) $(MB2_C_SRCS)
HV_S_SRCS := $(wildcard hv/core/*.S) $(wildcard hv/arch/$(HV_ARCH)/*.S) $(MB2_S_SRCS)
HV_OBJS := $(patsubst %.c,$(BUILD)/hv/%.o,$(HV_C_SRCS)) $(patsubst %.S,$(BUILD)/hv/%.o,$(HV_S_SRCS))
HV_ELF := $(BUILD)/hv/hv.elf
GUEST_BIN ?= $(BUILD)/guest/testguest.bin

.PHONY: hv
hv: $(HV_ELF)

$(BUILD)/hv/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -I$(LWIP_DIR)/include -c $< -o $@

$(BUILD)/hv/%.o: %.S
	@mkdir -p $(dir $@)
	$(CC) $(HV_ASFLAGS) -DGUEST_BIN='"$(GUEST_BIN)"' -c $< -o $@

$(BUILD)/hv/hv/core/guest_image.o: $(GUEST_BIN)

# NET_OBJS comes from net/net.mk, included after this file: secondary
# expansion defers it to the time the rule runs.
.SECONDEXPANSION:
$(HV_ELF): $(HV_OBJS) $$(NET_OBJS) $$(CRYPTO_FS_LIB) linker.ld
	$(CC) $(HV_LDFLAGS) -o $@ $(HV_OBJS) $(NET_OBJS) $(CRYPTO_FS_LIB)
	@size $@ | tail -n1 | awk '{printf "hv.elf: text %d data %d bss %d bytes\n", $$1, $$2, $$3}'

-include $(HV_OBJS:.o=.d)
