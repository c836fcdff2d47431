# GRUB rescue ISOs that boot hv.elf through Multiboot2 (the BIOS path Bochs uses).
# Each ISO differs only in the boot configuration on the GRUB command line
# (see docs/architecture.md and README.md for the keys).
# The Multiboot2 entry is linked into hv.elf (hv/hv.mk takes these lists).
MB2_C_SRCS := boot/multiboot2/mb2_info.c
MB2_S_SRCS := boot/multiboot2/entry.S

HV_ISO := $(BUILD)/hv.iso
HV_MIG_ISO := $(BUILD)/hv-mig.iso
# The default: three guests for the core tests and the demo.
HV_CMDLINE ?= exit_on_panic=1 vms=work,work,wset hb_ms=500 write_rate=4000 wset_pages=16
# Migration tests: one guest with a workload the emulated link (~1 MB/s) can keep up with.
HV_MIG_CMDLINE ?= exit_on_panic=1 vms=work hb_ms=250 write_rate=40


# Linux guests: the kernel and the workload's initramfs as boot modules (guest/linux).
HV_LINUX_ISO := $(BUILD)/hv-linux.iso
HV_LINUX_CMDLINE ?= exit_on_panic=1 vms=linux,work hb_ms=250 write_rate=40
# Two bad images beside the good one, for the test that they are refused (linux-test-images).
LINUX_MODULES := $(BUILD)/linux/bzImage:linux $(BUILD)/linux/initramfs.cpio.gz:initrd \
	$(BUILD)/linux/bad-magic.img:linux-badmagic $(BUILD)/linux/truncated.img:linux-truncated

# The bzImage with its boot-flag magic (0xaa55 at 0x1fe) zeroed, and its first 64 KiB.
$(BUILD)/linux/bad-magic.img: $(BUILD)/linux/bzImage
	cp $< $@.tmp
	printf '\000\000' | dd of=$@.tmp bs=1 seek=510 conv=notrunc status=none
	mv $@.tmp $@
$(BUILD)/linux/truncated.img: $(BUILD)/linux/bzImage
	head -c 65536 $< > $@

# $(1): ISO path, $(2): staging dir, $(3): command line, $(4): FILE:NAME boot modules
define hv_iso_rule
$(2)/boot/grub/grub.cfg: boot/multiboot2/grub.cfg.in FORCE_CMDLINE
	@mkdir -p $$(dir $$@)
	@sed -e 's|@CMDLINE@|$(3)|' -e 's|@MODULES@|$(foreach m,$(4),\tmodule2 /boot/$(notdir $(word 1,$(subst :, ,$(m)))) $(word 2,$(subst :, ,$(m)))\n)|' $$< > $$@.tmp
	@if ! cmp -s $$@.tmp $$@; then mv $$@.tmp $$@; else rm $$@.tmp; fi

$(1): $(BUILD)/hv/hv.elf $(2)/boot/grub/grub.cfg $(foreach m,$(4),$(word 1,$(subst :, ,$(m))))
	@mkdir -p $(2)/boot
	cp $(BUILD)/hv/hv.elf $(2)/boot/hv.elf
	$(foreach m,$(4),cp $(word 1,$(subst :, ,$(m))) $(2)/boot/ &&) true
	grub-mkrescue -o $$@ $(2) >$$@.log 2>&1 || { cat $$@.log; exit 1; }
endef
$(eval $(call hv_iso_rule,$(HV_ISO),$(BUILD)/iso,$(HV_CMDLINE),))
$(eval $(call hv_iso_rule,$(HV_MIG_ISO),$(BUILD)/iso-mig,$(HV_MIG_CMDLINE),))
$(eval $(call hv_iso_rule,$(HV_LINUX_ISO),$(BUILD)/iso-linux,$(HV_LINUX_CMDLINE),$(LINUX_MODULES)))
# Linux migration tests: one Linux guest per side; the second ISO claims another TSC
# rate (tsc_khz=), a destination that must refuse a Linux guest before ACCEPT, and
# carries a test PSK of the longest size (64 bytes) on its boot line: set, never printed.
HV_TEST_LONG_PSK := 0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0
HV_LINUX_MIG_ISO := $(BUILD)/hv-linux-mig.iso
HV_LINUX_SKEW_ISO := $(BUILD)/hv-linux-skew.iso
HV_LINUX_MIG_CMDLINE ?= exit_on_panic=1 vms=linux hb_ms=250 write_rate=40
LINUX_MIG_MODULES := $(BUILD)/linux/bzImage:linux $(BUILD)/linux/initramfs.cpio.gz:initrd
$(eval $(call hv_iso_rule,$(HV_LINUX_MIG_ISO),$(BUILD)/iso-linux-mig,$(HV_LINUX_MIG_CMDLINE),$(LINUX_MIG_MODULES)))
$(eval $(call hv_iso_rule,$(HV_LINUX_SKEW_ISO),$(BUILD)/iso-linux-skew,$(HV_LINUX_MIG_CMDLINE) tsc_khz=45000 psk=$(HV_TEST_LONG_PSK),$(LINUX_MIG_MODULES)))

.PHONY: iso iso-linux FORCE_CMDLINE
iso: $(HV_ISO) $(HV_MIG_ISO) $(HV_LINUX_ISO) $(HV_LINUX_MIG_ISO) $(HV_LINUX_SKEW_ISO)
iso-linux: $(HV_LINUX_ISO)
FORCE_CMDLINE:
