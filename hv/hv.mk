# The hypervisor core: freestanding C and assembly linked with linker.ld into
# $(BUILD)/hv/hv.elf (Multiboot2 header and UEFI image header inside).
HV_CFLAGS := -std=gnu11 -O2 -g -Wall -Wextra -Werror -ffreestanding -fno-builtin -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -mno-red-zone -mgeneral-regs-only \
	-mcmodel=kernel -fno-omit-frame-pointer -DHV_FREESTANDING -Ihv/include -Ihv/migrate -Icrypto -MMD -MP
HV_ASFLAGS := -Wa,--noexecstack -DHV_FREESTANDING -Ihv/include -MMD -MP
HV_LDFLAGS := -Wl,--build-id=none -nostdlib -static -no-pie -z max-page-size=4096 -T linker.ld

HV_C_SRCS := $(wildcard hv/core/*.c) $(wildcard hv/arch/x86/*.c) $(wildcard hv/migrate/*.c) boot/multiboot2/mb2_info.c
HV_S_SRCS := $(wildcard hv/core/*.S) $(wildcard hv/arch/x86/*.S) boot/multiboot2/entry.S
HV_OBJS := $(patsubst %.c,$(BUILD)/hv/%.o,$(HV_C_SRCS)) $(patsubst %.S,$(BUILD)/hv/%.o,$(HV_S_SRCS))
HV_ELF := $(BUILD)/hv/hv.elf
GUEST_BIN ?= $(BUILD)/guest/testguest.bin

.PHONY: hv
hv: $(HV_ELF)

$(BUILD)/hv/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(HV_CFLAGS) -Inet/include -I$(LWIP_DIR)/include -c $< -o $@

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

-include $(HV_OBJS:.o=.d) $(patsubst %.o,%.d,$(filter $(BUILD)/hv/net/%,$(NET_OBJS)))
