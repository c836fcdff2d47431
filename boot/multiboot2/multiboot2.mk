# GRUB rescue ISO that boots hv.elf through Multiboot2 (the BIOS path Bochs uses).
# HV_CMDLINE is the boot configuration the ISO passes (see docs/architecture.md).
HV_ISO := $(BUILD)/hv.iso
HV_CMDLINE ?= exit_on_panic=1 vms=work,work,wset hb_ms=500 write_rate=4 wset_pages=16

.PHONY: iso
iso: $(HV_ISO)

$(BUILD)/iso/boot/grub/grub.cfg: boot/multiboot2/grub.cfg.in FORCE_CMDLINE
	@mkdir -p $(dir $@)
	@sed 's|@CMDLINE@|$(HV_CMDLINE)|' $< > $@.tmp
	@if ! cmp -s $@.tmp $@; then mv $@.tmp $@; else rm $@.tmp; fi

.PHONY: FORCE_CMDLINE
FORCE_CMDLINE:

$(HV_ISO): $(HV_ELF) $(BUILD)/iso/boot/grub/grub.cfg
	@mkdir -p $(BUILD)/iso/boot
	cp $(HV_ELF) $(BUILD)/iso/boot/hv.elf
	grub-mkrescue -o $@ $(BUILD)/iso >$(BUILD)/grub-mkrescue.log 2>&1 || { cat $(BUILD)/grub-mkrescue.log; exit 1; }
