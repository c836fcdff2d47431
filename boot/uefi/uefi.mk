# UEFI boot path: the loader BOOTX64.EFI (GNU-EFI) and the ESP directory
# $(BUILD)/esp that QEMU+OVMF (tools/launch-qemu-ovmf) boots. Included by the
# top-level Makefile.

UEFI_DIR     := boot/uefi
UEFI_OUT     := $(BUILD)/uefi
UEFI_ESP     := $(BUILD)/esp
# The boot configuration copied to \hv.cfg: make uefi UEFI_CFG=my.cfg
UEFI_CFG     ?= $(UEFI_DIR)/hv.cfg
GNUEFI_INC   ?= /usr/include/efi
GNUEFI_LIB   ?= /usr/lib
LD           ?= ld
OBJCOPY      ?= objcopy

UEFI_SRCS    := $(wildcard $(UEFI_DIR)/*.c)
UEFI_ASRCS   := $(wildcard $(UEFI_DIR)/*.S)
UEFI_OBJS    := $(patsubst $(UEFI_DIR)/%.c,$(UEFI_OUT)/%.o,$(UEFI_SRCS)) \
                $(patsubst $(UEFI_DIR)/%.S,$(UEFI_OUT)/%.o,$(UEFI_ASRCS))

# GNU-EFI 3.0.15 flags measured in shared/notes/emulators.md. MS_ABI lets the
# loader call UEFI services directly (hvloader.h refuses to build without).
UEFI_CFLAGS  := -I$(GNUEFI_INC) -I$(GNUEFI_INC)/x86_64 -std=gnu11 -O2 -g0 \
                -Wall -Wextra -Werror -fpic -fshort-wchar -mno-red-zone \
                -ffreestanding -fno-stack-protector -fno-strict-aliasing \
                -DGNU_EFI_USE_MS_ABI -Ihv/include -MMD -MP
UEFI_LDFLAGS := -nostdlib -shared -Bsymbolic -znocombreloc \
                -T $(GNUEFI_LIB)/elf_x86_64_efi.lds $(GNUEFI_LIB)/crt0-efi-x86_64.o

.PHONY: uefi uefi-hosttest

uefi: $(UEFI_OUT)/BOOTX64.EFI $(UEFI_ESP)/EFI/BOOT/BOOTX64.EFI \
      $(UEFI_ESP)/hv.elf $(UEFI_ESP)/hv.cfg

$(UEFI_OUT)/%.o: $(UEFI_DIR)/%.c
	@mkdir -p $(@D)
	$(CC) $(UEFI_CFLAGS) -c $< -o $@

$(UEFI_OUT)/%.o: $(UEFI_DIR)/%.S
	@mkdir -p $(@D)
	$(CC) $(UEFI_CFLAGS) -c $< -o $@

$(UEFI_OUT)/hvloader.so: $(UEFI_OBJS)
	$(LD) $(UEFI_LDFLAGS) $(UEFI_OBJS) -o $@ -L$(GNUEFI_LIB) -lefi -lgnuefi

$(UEFI_OUT)/BOOTX64.EFI: $(UEFI_OUT)/hvloader.so
	$(OBJCOPY) -j .text -j .sdata -j .data -j .dynamic -j .dynsym \
	  -j .rel -j .rela -j .rel.* -j .rela.* -j .reloc \
	  --target efi-app-x86_64 --subsystem=10 $< $@

$(UEFI_ESP)/EFI/BOOT/BOOTX64.EFI: $(UEFI_OUT)/BOOTX64.EFI
	@mkdir -p $(@D)
	cp $< $@

$(UEFI_ESP)/hv.elf: $(BUILD)/hv/hv.elf
	@mkdir -p $(@D)
	cp $< $@

# FORCE: a different UEFI_CFG on the command line must replace the file even
# when it is older than the copy.
$(UEFI_ESP)/hv.cfg: $(UEFI_CFG) FORCE_UEFI_CFG
	@mkdir -p $(@D)
	cp $(UEFI_CFG) $@

.PHONY: FORCE_UEFI_CFG
FORCE_UEFI_CFG:

# The loader's pure-C parts (ELF checks, memory map conversion, hv.cfg
# parsing) built and run on the build host.
UEFI_HOSTTEST_SRCS := $(UEFI_DIR)/test/host_test.c $(UEFI_DIR)/elf_check.c \
                      $(UEFI_DIR)/memmap.c $(UEFI_DIR)/cfg_parse.c

$(UEFI_OUT)/host_test: $(UEFI_HOSTTEST_SRCS) $(wildcard $(UEFI_DIR)/*.h)
	@mkdir -p $(@D)
	$(HOSTCC) $(HOSTED_TEST_CFLAGS) -I$(UEFI_DIR) -Ihv/include $(UEFI_HOSTTEST_SRCS) -o $@

uefi-hosttest: $(UEFI_OUT)/host_test
	$(UEFI_OUT)/host_test

-include $(UEFI_OBJS:.o=.d)
