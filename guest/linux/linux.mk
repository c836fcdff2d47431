# The Linux guest: a tiny Linux 6.1 kernel (scripts/build-linux.sh, guest/linux/tiny.config)
# and an initramfs whose /init is hbinit, a libc-free static program that runs the test
# guest's WORK workload and prints its lines (guest/README.md). Included from the top-level
# Makefile; also standalone: make -f guest/linux/linux.mk linux-guest
#   linux-guest         $(BUILD)/linux/{hbinit,bzImage,initramfs.cpio.gz}
#   linux-guest-check   runs hbinit hosted (guest/linux/test_hbinit.py); needs no kernel
include mk/toolchain.mk

LINUX_OUT := $(BUILD)/linux
LINUX_CC  ?= gcc
# Userspace x86-64 code, but no libc: -ffreestanding and our own memset/memcpy (lib.c), which
# must not be turned back into calls to themselves (-fno-tree-loop-distribute-patterns).
HBINIT_CFLAGS := -std=gnu11 -O2 -ffreestanding -nostdlib -fno-stack-protector -fno-pie \
	-fno-asynchronous-unwind-tables -fno-tree-loop-distribute-patterns -fcf-protection=none \
	-ffunction-sections -fdata-sections $(WARN) -Iguest -Iguest/linux -MMD -MP
HBINIT_LDFLAGS := -static -nostdlib -no-pie -Wl,--gc-sections -Wl,--build-id=none \
	-Wl,-z,noexecstack -Wl,-z,noseparate-code
HBINIT_OBJS := $(addprefix $(LINUX_OUT)/obj/,start.o hbinit.o loop.o input.o params.o out.o \
	lib.o pattern.o)
# It is loaded by the kernel from the initramfs on every guest boot: keep it small.
HBINIT_MAX_BYTES := 32768

.PHONY: linux-guest linux-guest-check FORCE_LINUX
linux-guest: $(LINUX_OUT)/hbinit $(LINUX_OUT)/bzImage $(LINUX_OUT)/initramfs.cpio.gz

$(LINUX_OUT)/obj/%.o: guest/linux/%.c guest/linux/linux.mk
	@mkdir -p $(@D)
	$(LINUX_CC) $(HBINIT_CFLAGS) -c -o $@ $<

$(LINUX_OUT)/obj/%.o: guest/linux/%.S guest/linux/linux.mk
	@mkdir -p $(@D)
	$(LINUX_CC) $(HBINIT_CFLAGS) -c -o $@ $<

$(LINUX_OUT)/obj/pattern.o: guest/pattern.c guest/linux/linux.mk
	@mkdir -p $(@D)
	$(LINUX_CC) $(HBINIT_CFLAGS) -c -o $@ $<

# A PT_INTERP or PT_DYNAMIC would need a loader and libraries the initramfs does not have.
$(LINUX_OUT)/hbinit: $(HBINIT_OBJS)
	$(LINUX_CC) $(HBINIT_LDFLAGS) -o $@.tmp $(HBINIT_OBJS)
	@if readelf -lW $@.tmp | grep -qE '^ +(INTERP|DYNAMIC) '; then \
		echo "linux-guest: $@ is not a static executable"; rm -f $@.tmp; exit 1; fi
	@size=$$(wc -c < $@.tmp); if [ $$size -gt $(HBINIT_MAX_BYTES) ]; then \
		echo "linux-guest: $@ is $$size bytes (limit $(HBINIT_MAX_BYTES))"; rm -f $@.tmp; exit 1; fi
	mv $@.tmp $@

# The script runs on every make (FORCE_LINUX): it caches the kernel outside the clone (about
# 5 minutes to build once, then only a copy) and knows when its config changed. It writes
# into stage/; a file here is replaced only when its bytes differ, so make (which looks at
# the times again after a recipe) rebuilds what depends on it only then.
$(LINUX_OUT)/bzImage: FORCE_LINUX
	./scripts/build-linux.sh $(LINUX_OUT)/stage/bzImage
	@for f in bzImage bzImage.config gen_init_cpio; do \
		cmp -s $(LINUX_OUT)/stage/$$f $(LINUX_OUT)/$$f || cp $(LINUX_OUT)/stage/$$f $(LINUX_OUT)/$$f \
		|| exit 1; done
$(LINUX_OUT)/gen_init_cpio: $(LINUX_OUT)/bzImage ;
FORCE_LINUX:

# The same inputs give the same bytes: every time in the archive is 0 (-t 0 for nodes and
# folders, a copy of hbinit for /init), and gzip -n leaves out the name and time.
$(LINUX_OUT)/initramfs.cpio.gz: guest/linux/initramfs.list $(LINUX_OUT)/hbinit $(LINUX_OUT)/gen_init_cpio
	cp $(LINUX_OUT)/hbinit $@.init
	touch -d @0 $@.init
	sed 's|@HBINIT@|$@.init|' guest/linux/initramfs.list > $@.list
	$(LINUX_OUT)/gen_init_cpio -t 0 $@.list > $@.cpio
	gzip -9n < $@.cpio > $@.tmp
	rm -f $@.cpio $@.init
	mv $@.tmp $@

# About 2 s; the limit only stops a hung run.
linux-guest-check: $(LINUX_OUT)/hbinit
	timeout 120 $(PYTHON) guest/linux/test_hbinit.py $(LINUX_OUT)/hbinit

# make guest-check runs it too (when the top-level Makefile includes this file).
guest-check: linux-guest-check

-include $(HBINIT_OBJS:.o=.d)
