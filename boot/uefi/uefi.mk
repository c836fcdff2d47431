# UEFI boot path: the loader BOOTX64.EFI (GNU-EFI) and the ESP directory
# $(BUILD)/esp that QEMU+OVMF (tools/launch-qemu-ovmf) boots. Included by the
# top-level Makefile.

UEFI_DIR     := boot/uefi
UEFI_OUT     := $(BUILD)/uefi
UEFI_ESP     := $(BUILD)/esp
# The boot configuration copied to \hv.cfg: make uefi UEFI_CFG=my.cfg
UEFI_CFG     ?= $(UEFI_DIR)/hv.cfg
# The Linux guest's images, copied to \linux and \initrd: the loader hands them to the
# hypervisor as the boot modules "linux" and "initrd" (boot/uefi/modules.c). Another
# kernel: make uefi UEFI_LINUX=path/to/bzImage; none: make uefi UEFI_LINUX= UEFI_INITRD=
UEFI_LINUX   ?= $(BUILD)/linux/bzImage
UEFI_INITRD  ?= $(BUILD)/linux/initramfs.cpio.gz
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

# $(1): the module's name, which is its file name on the ESP; $(2): the file to copy there.
# Copied only when the bytes differ (FORCE: the source may be older than the copy, as with
# hv.cfg); with $(2) empty, an old copy is removed so that the loader does not find it.
define uefi_module
ifneq ($(2),)
uefi: $(UEFI_ESP)/$(1)
$(UEFI_ESP)/$(1): $(2) FORCE_UEFI_CFG
	@mkdir -p $$(@D)
	cmp -s $(2) $$@ || cp $(2) $$@
else
.PHONY: uefi-no-$(1)
uefi: uefi-no-$(1)
uefi-no-$(1):
	rm -f $(UEFI_ESP)/$(1)
endif
endef
$(eval $(call uefi_module,linux,$(UEFI_LINUX)))
$(eval $(call uefi_module,initrd,$(UEFI_INITRD)))

# The loader's pure-C parts (ELF checks, memory map conversion, hv.cfg
# parsing, the boot module table) built and run on the build host.
UEFI_HOSTTEST_SRCS := $(UEFI_DIR)/test/host_test.c $(UEFI_DIR)/elf_check.c \
                      $(UEFI_DIR)/memmap.c $(UEFI_DIR)/cfg_parse.c $(UEFI_DIR)/bootmod.c

$(UEFI_OUT)/host_test: $(UEFI_HOSTTEST_SRCS) $(wildcard $(UEFI_DIR)/*.h)
	@mkdir -p $(@D)
	$(HOSTCC) $(HOSTED_TEST_CFLAGS) -I$(UEFI_DIR) -Ihv/include $(UEFI_HOSTTEST_SRCS) -o $@

uefi-hosttest: $(UEFI_OUT)/host_test
	$(UEFI_OUT)/host_test

-include $(UEFI_OBJS:.o=.d)
