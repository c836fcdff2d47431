# hv/migrate/migrate.mk: the live-migration engine (portable), its hosted simulator
# (tools/migsim), tests and benchmark. Included by the top-level Makefile after
# crypto/crypto.mk, or standalone:
#   make -f crypto/crypto.mk -f hv/migrate/migrate.mk BUILD=build test-migrate
include mk/toolchain.mk

MIG_OUT := $(BUILD)/migrate
MIG_ALL_SRC := $(MIG_CORE_SRCS) $(MIG_LINK_SRCS)
MIG_HDRS := $(wildcard hv/migrate/*.h) hv/include/hvlib.h
MIG_SIM_SRC := $(wildcard tools/migsim/*.c)
MIG_SIM_HDRS := $(wildcard tools/migsim/*.h)

MIG_CFLAGS := $(HOSTED_CFLAGS) -Ihv/include -Ihv/migrate -Icrypto -Icrypto/hosted
MIG_TEST_CFLAGS := $(HOSTED_TEST_CFLAGS) -Ihv/include -Ihv/migrate -Itests/migrate
# The freestanding check compiles with exactly the hypervisor's flags.
MIG_FS_CFLAGS := $(FS_CFLAGS) $(HV_INC)

MIG_UNIT := test_proto test_policy test_engine test_link test_handoff test_preauth
MIG_UNIT_BINS := $(patsubst %,$(MIG_OUT)/%,$(MIG_UNIT))
MIGSIM := $(MIG_OUT)/migsim
# Only these may stay undefined in the freestanding objects (hvlib, and the channel API
# for the adapter).
MIG_FS_ALLOWED := memcpy memset memcmp hv_snprintf hv_vsnprintf hvc_channel_handshake_step \
	hvc_channel_send hvc_channel_recv hvc_channel_mode hvc_channel_prefill_frames hvc_channel_tx_ks_ready \
	hvc_channel_sendv hvc_channel_set_place hvc_channel_rx_placed

# The destination engine against a hostile source's message stream (libFuzzer), seeded
# with real migrations recorded by fuzz_seeds; invariants asserted inside the target.
MIG_FUZZ_SECONDS ?= 30
MIG_FUZZ_BIN := $(MIG_OUT)/fuzz_dest
MIG_FUZZ_SEEDS := $(MIG_OUT)/fuzz_seeds

.PHONY: test-migrate bench-migrate migrate-freestanding-check migsim migrate-unit migrate-clean fuzz-migrate

migsim: $(MIGSIM)

$(MIG_OUT)/test_engine: tests/migrate/test_engine.c tests/migrate/fake_guest.c tests/migrate/fake_guest.h tests/migrate/place_walk.h \
		$(MIG_CORE_SRCS) $(MIG_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(MIG_TEST_CFLAGS) -o $@ tests/migrate/test_engine.c tests/migrate/fake_guest.c \
		$(MIG_CORE_SRCS) $(HVLIB_SRCS) -lcmocka

# The engine's link over a real channel pair (the hosted crypto library, in-memory pipes).
$(MIG_OUT)/test_link: tests/migrate/test_link.c tests/crypto/mem_transport.c $(MIG_LINK_SRCS) $(MIG_HDRS) $(CRYPTO_LIB)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(MIG_TEST_CFLAGS) -Icrypto -Icrypto/hosted -Itests/crypto -o $@ tests/migrate/test_link.c \
		tests/crypto/mem_transport.c $(MIG_LINK_SRCS) hv/migrate/mig_err.c $(CRYPTO_LIB) -lcmocka -lpthread

# Whole migrations over a real channel pair with an attacker on the path.
$(MIG_OUT)/test_handoff: tests/migrate/test_handoff.c tests/migrate/fake_guest.c tests/crypto/mem_transport.c \
		$(MIG_ALL_SRC) $(MIG_HDRS) $(CRYPTO_LIB)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(MIG_TEST_CFLAGS) -Icrypto -Icrypto/hosted -Itests/crypto -o $@ tests/migrate/test_handoff.c \
		tests/migrate/fake_guest.c tests/crypto/mem_transport.c $(MIG_ALL_SRC) $(HVLIB_SRCS) $(CRYPTO_LIB) \
		-lcmocka -lpthread

$(MIG_OUT)/test_%: tests/migrate/test_%.c $(MIG_CORE_SRCS) $(MIG_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(MIG_TEST_CFLAGS) -o $@ $< $(MIG_CORE_SRCS) $(HVLIB_SRCS) -lcmocka

$(MIGSIM): $(MIG_SIM_SRC) $(MIG_SIM_HDRS) $(MIG_ALL_SRC) $(MIG_HDRS) $(CRYPTO_LIB)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(MIG_CFLAGS) -Itools/migsim -o $@ $(MIG_SIM_SRC) $(MIG_ALL_SRC) $(HVLIB_SRCS) \
		$(CRYPTO_LIB) -lpthread

$(MIG_FUZZ_SEEDS): tests/migrate/fuzz_seeds.c tests/migrate/fake_guest.c tests/migrate/fake_guest.h tests/migrate/place_walk.h $(MIG_CORE_SRCS) $(MIG_HDRS)
	@mkdir -p $(dir $@)
	$(HOSTCC) $(MIG_TEST_CFLAGS) -o $@ tests/migrate/fuzz_seeds.c tests/migrate/fake_guest.c $(MIG_CORE_SRCS) $(HVLIB_SRCS)

$(MIG_FUZZ_BIN): tests/migrate/fuzz_dest.c tests/migrate/fuzz_input.h tests/migrate/place_walk.h $(MIG_CORE_SRCS) $(MIG_HDRS)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Ihv/include -Ihv/migrate -Itests/migrate -o $@ tests/migrate/fuzz_dest.c \
		$(MIG_CORE_SRCS) $(HVLIB_SRCS)

# libFuzzer exits non-zero on a trap (a broken invariant), a sanitizer report or a hang.
fuzz-migrate: $(MIG_FUZZ_BIN) $(MIG_FUZZ_SEEDS)
	@mkdir -p $(MIG_OUT)/fuzz-corpus $(MIG_OUT)/fuzz-artifacts
	$(MIG_FUZZ_SEEDS) $(MIG_OUT)/fuzz-corpus
	$(MIG_FUZZ_BIN) -max_total_time=$(MIG_FUZZ_SECONDS) -max_len=100000 $(FUZZ_RUN_FLAGS) \
		-artifact_prefix=$(MIG_OUT)/fuzz-artifacts/ $(MIG_OUT)/fuzz-corpus
	@echo "fuzz-migrate: no findings in $(MIG_FUZZ_SECONDS) s"

migrate-unit: $(MIG_UNIT_BINS)
	@set -e; for t in $(MIG_UNIT_BINS); do echo "== $$t"; CMOCKA_MESSAGE_OUTPUT=stdout $$t; done

# Every engine file compiled as it is inside the hypervisor; the relocatable link shows
# what it needs from outside.
migrate-freestanding-check:
	@mkdir -p $(MIG_OUT)/fs
	@set -e; for f in $(MIG_ALL_SRC); do \
		$(HOSTCC) $(MIG_FS_CFLAGS) -c -o $(MIG_OUT)/fs/$$(basename $$f .c).o $$f; done
	@ld -r -o $(MIG_OUT)/fs-all.o $(patsubst %.c,$(MIG_OUT)/fs/%.o,$(notdir $(MIG_ALL_SRC)))
	@undef=$$(nm -u $(MIG_OUT)/fs-all.o | awk '{print $$2}' | grep -vxF -e "$$(echo $(MIG_FS_ALLOWED) | tr ' ' '\n')" || true); \
	if [ -n "$$undef" ]; then echo "migrate-freestanding-check: unexpected undefined symbols: $$undef"; exit 1; fi; \
	echo "migrate-freestanding-check: $(words $(MIG_ALL_SRC)) files OK; needs only: $$(nm -u $(MIG_OUT)/fs-all.o | awk '{print $$2}' | tr '\n' ' ')"

test-migrate: migrate-unit migrate-freestanding-check $(MIGSIM)
	$(PYTHON) tests/migrate/run_sim_tests.py --migsim $(MIGSIM)
	$(MAKE) fuzz-migrate

# Options of the benchmark, e.g. BENCH_MIGRATE_ARGS=--quick (3 pairs: a check that it runs),
# --reps N, --links 0,1250, --loads heavy, --no-pin. The full run: 168 migrations of 1 GiB.
BENCH_MIGRATE_ARGS ?=
bench-migrate: $(MIGSIM)
	$(PYTHON) tests/migrate/bench.py --migsim $(MIGSIM) $(BENCH_MIGRATE_ARGS)

migrate-clean:
	rm -rf $(MIG_OUT)
