# Top-level build: hypervisor core, boot paths, test guest, hosted tests, system tests.
# Each component keeps its rules in a fragment (*.mk) next to its sources.
include mk/toolchain.mk
SETUP_DONE := third_party/.setup-done-v3
# Goals that run the setup step themselves (or need nothing it provides); any other goal
# on a clone that was never set up stops at once with one line saying what to do,
# instead of failing later on a missing third-party file.
SETUP_FREE_GOALS := all setup setup-check demo test clean
ifeq ($(wildcard $(SETUP_DONE)),)
ifneq ($(filter-out $(SETUP_FREE_GOALS),$(or $(MAKECMDGOALS),all)),)
$(error this clone is not set up: run 'make setup' first (Debian packages; lwIP, ipsec-mb, BearSSL and Linux sources), or plain 'make', which runs it)
endif
endif

.PHONY: all build setup setup-check demo test test-unit test-system clean
# `make` on a fresh clone: the setup step (Debian packages and sources) first, then the
# build (a sub-make, so a parallel build never starts before the sources are there).
all: $(SETUP_DONE)
	$(MAKE) build
build: hv iso uefi guest

setup:
	./scripts/setup.sh

# Every program and file the build and tests use is installed, from a package setup
# names, and every package setup installs is used (scripts/setup.sh --check).
setup-check:
	./scripts/setup.sh --check

$(SETUP_DONE):
	./scripts/setup.sh

include guest/guest.mk
include guest/linux/linux.mk
include crypto/crypto.mk
include hv/migrate/migrate.mk
include boot/multiboot2/multiboot2.mk
include hv/hv.mk
include net/net.mk
include boot/uefi/uefi.mk
include tests/unit/unit.mk
include tests/system/system.mk
include mk/lint.mk

# The main job: two hypervisors, a guest live-migrated from one to the other
# with hvctl, the cutover report, the guest alive on the destination.
demo: $(SETUP_DONE)
	$(MAKE) build
	$(PYTHON) tools/demo.py --guest linux --iso $(BUILD)/hv-linux-mig.iso --workdir $(BUILD)/demo

test: $(SETUP_DONE)
	$(MAKE) setup-check
	$(MAKE) lint
	$(MAKE) build
	$(MAKE) test-unit
	$(MAKE) crypto-test
	$(MAKE) test-migrate
	$(MAKE) test-system

clean:
	rm -rf $(BUILD)
