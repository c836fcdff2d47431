# hv/migrate/migrate.mk: the live-migration engine (portable), its hosted simulator
# (tools/migsim), tests and benchmark. Included by the top-level Makefile after
# crypto/crypto.mk, or standalone:
#   make -f crypto/crypto.mk -f hv/migrate/migrate.mk BUILD=build test-migrate
BUILD ?= build
HOSTCC ?= gcc
PYTHON ?= python3

MIG_OUT := $(BUILD)/migrate
MIG_CORE := engine_source engine_dest mig_proto mig_policy mig_throttle mig_stats mig_err
MIG_CORE_SRC := $(patsubst %,hv/migrate/%.c,$(MIG_CORE))
MIG_ALL_SRC := $(wildcard hv/migrate/*.c)
MIG_HDRS := $(wildcard hv/migrate/*.h) hv/include/hvlib.h
MIG_HVLIB := hv/core/format.c hv/core/string.c
MIG_SIM_SRC := $(wildcard tools/migsim/*.c)
MIG_SIM_HDRS := $(wildcard tools/migsim/*.h)

MIG_WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes
MIG_CFLAGS := -std=gnu11 -O2 -g $(MIG_WARN) -Ihv/include -Ihv/migrate -Icrypto
MIG_TEST_CFLAGS := -std=gnu11 -O1 -g $(MIG_WARN) -Ihv/include -Ihv/migrate -Itests/migrate \
	-fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# Exactly the flags the hypervisor build uses for freestanding code.
MIG_FS_CFLAGS := -std=c11 -ffreestanding -fno-builtin -mgeneral-regs-only -mno-red-zone \
	-DHV_FREESTANDING -Ihv/include -Icrypto -O2 -fno-pic -fno-stack-protector $(MIG_WARN)

MIG_UNIT := test_proto test_policy test_engine
MIG_UNIT_BINS := $(patsubst %,$(MIG_OUT)/%,$(MIG_UNIT))
MIGSIM := $(MIG_OUT)/migsim
# Only these may stay undefined in the freestanding objects (hvlib, and the channel API
# for the adapter).
MIG_FS_ALLOWED := memcpy memset memcmp hv_snprintf hv_vsnprintf hvc_channel_handshake_step \
	hvc_channel_send hvc_channel_recv hvc_channel_mode hvc_channel_prefill_frames hvc_channel_tx_ks_ready

.PHONY: test-migrate bench-migrate migrate-freestanding-check migsim migrate-unit migrate-clean

migsim: $(MIGSIM)

$(MIG_OUT)/test_engine: tests/migrate/test_engine.c tests/migrate/fake_guest.c tests/migrate/fake_guest.h \
		$(MIG_CORE_SRC) $(MIG_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(MIG_TEST_CFLAGS) -o $@ tests/migrate/test_engine.c tests/migrate/fake_guest.c \
		$(MIG_CORE_SRC) $(MIG_HVLIB) -lcmocka

$(MIG_OUT)/test_%: tests/migrate/test_%.c $(MIG_CORE_SRC) $(MIG_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(MIG_TEST_CFLAGS) -o $@ $< $(MIG_CORE_SRC) $(MIG_HVLIB) -lcmocka

$(MIGSIM): $(MIG_SIM_SRC) $(MIG_SIM_HDRS) $(MIG_ALL_SRC) $(MIG_HDRS) $(CRYPTO_LIB)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(MIG_CFLAGS) -Itools/migsim -o $@ $(MIG_SIM_SRC) $(MIG_ALL_SRC) $(MIG_HVLIB) \
		$(CRYPTO_LIB) -lpthread

migrate-unit: $(MIG_UNIT_BINS)
	@set -e; for t in $(MIG_UNIT_BINS); do echo "== $$t"; CMOCKA_MESSAGE_OUTPUT=stdout $$t; done

# Every engine file compiled as it is inside the hypervisor; the relocatable link shows
# what it needs from outside.
migrate-freestanding-check:
	@mkdir -p $(MIG_OUT)/fs
	@set -e; for f in $(MIG_ALL_SRC); do \
		$(HOSTCC) $(MIG_FS_CFLAGS) -c -o $(MIG_OUT)/fs/$$(basename $$f .c).o $$f; done
	@ld -r -o $(MIG_OUT)/fs-all.o $(MIG_OUT)/fs/*.o
	@undef=$$(nm -u $(MIG_OUT)/fs-all.o | awk '{print $$2}' | grep -vxF -e "$$(echo $(MIG_FS_ALLOWED) | tr ' ' '\n')" || true); \
	if [ -n "$$undef" ]; then echo "migrate-freestanding-check: unexpected undefined symbols: $$undef"; exit 1; fi; \
	echo "migrate-freestanding-check: $(words $(MIG_ALL_SRC)) files OK; needs only: $$(nm -u $(MIG_OUT)/fs-all.o | awk '{print $$2}' | tr '\n' ' ')"

test-migrate: migrate-unit migrate-freestanding-check $(MIGSIM)
	$(PYTHON) tests/migrate/run_sim_tests.py --migsim $(MIGSIM)

bench-migrate: $(MIGSIM)
	$(PYTHON) tests/migrate/bench.py --migsim $(MIGSIM)

migrate-clean:
	rm -rf $(MIG_OUT)
