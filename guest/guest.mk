# The test guest: a flat 32-bit binary ($(BUILD)/guest/testguest.bin) that the
# hypervisor embeds and loads at GPA 0x10000. Also: make -f guest/guest.mk guest
BUILD   ?= build
CC      ?= gcc
HOSTCC  ?= gcc
GUEST_OBJCOPY ?= objcopy
GUEST_OBJDUMP ?= objdump

GUEST_OUT    := $(BUILD)/guest
GUEST_CFLAGS := -m32 -ffreestanding -fno-pic -fno-pie -fno-stack-protector \
	-nostdlib -O2 -mno-sse -mgeneral-regs-only -fno-asynchronous-unwind-tables \
	-fno-tree-loop-distribute-patterns -fcf-protection=none -std=gnu11 \
	-Wall -Wextra -Iguest -Ilib -MMD -MP
GUEST_LDFLAGS := -m32 -nostdlib -static -no-pie -Wl,--build-id=none \
	-Wl,--no-warn-rwx-segments -T guest/guest.ld
GUEST_OBJS := $(addprefix $(GUEST_OUT)/,start.o wset_window.o main.o uart.o \
	pattern.o work.o wset.o)

.PHONY: guest guest-check
guest: $(GUEST_OUT)/testguest.bin

$(GUEST_OUT)/%.o: guest/%.c guest/guest.mk
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/%.o: guest/%.S guest/guest.mk
	@mkdir -p $(@D)
	$(CC) $(GUEST_CFLAGS) -c -o $@ $<

$(GUEST_OUT)/testguest.elf: $(GUEST_OBJS) guest/guest.ld
	$(CC) $(GUEST_LDFLAGS) -o $@ $(GUEST_OBJS)

# The window check runs on every build: a stray store there breaks the WSET test.
$(GUEST_OUT)/testguest.bin: $(GUEST_OUT)/testguest.elf guest/check_window.sh
	sh guest/check_window.sh $(GUEST_OBJDUMP) $<
	$(GUEST_OBJCOPY) -O binary $< $@.tmp
	@size=$$(wc -c < $@.tmp); if [ $$size -ge 32768 ]; then \
		echo "guest: $@ is $$size bytes (limit 32 KiB)"; rm -f $@.tmp; exit 1; fi
	mv $@.tmp $@

# Hosted checks: the deterministic parts (also against guest/model.py), then the
# real binary on Linux KVM where /dev/kvm exists (guest/kvm_run.c; skipped if not).
$(GUEST_OUT)/test_pattern: guest/test_pattern.c guest/pattern.c guest/pattern.h
	@mkdir -p $(@D)
	$(HOSTCC) -O2 -Wall -Wextra -Iguest -o $@ guest/test_pattern.c guest/pattern.c

$(GUEST_OUT)/kvm_run: guest/kvm_run.c guest/pattern.c guest/pattern.h guest/guest_abi.h
	@mkdir -p $(@D)
	$(HOSTCC) -O2 -Wall -Wextra -Iguest -o $@ guest/kvm_run.c guest/pattern.c

guest-check: $(GUEST_OUT)/test_pattern $(GUEST_OUT)/kvm_run $(GUEST_OUT)/testguest.bin
	$(GUEST_OUT)/test_pattern
	$(GUEST_OUT)/test_pattern --vectors | python3 guest/model.py --check
	@win=0x$$(nm $(GUEST_OUT)/testguest.elf | awk '/ wset_window$$/ { print $$1 }'); \
	for m in work wset corrupt badparams; do \
		timeout 300 $(GUEST_OUT)/kvm_run $(GUEST_OUT)/testguest.bin $$win $$m \
			> $(GUEST_OUT)/kvm_run.$$m.log; rc=$$?; tail -n 1 $(GUEST_OUT)/kvm_run.$$m.log; \
		[ $$rc = 77 ] && break; [ $$rc = 0 ] || { cat $(GUEST_OUT)/kvm_run.$$m.log; exit 1; }; \
	done

-include $(GUEST_OBJS:.o=.d)
