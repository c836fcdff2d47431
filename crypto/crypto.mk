# crypto/crypto.mk: the migration-channel crypto library (hosted and freestanding), its
# cmocka tests, Bochs known-answer kernel, libFuzzer run and benchmark. Works included from
# the top-level Makefile or standalone: make -f crypto/crypto.mk BUILD=build crypto-test
include mk/toolchain.mk
CRYPTO_CLANG ?= clang
CRYPTO_NASM ?= nasm
CRYPTO_FUZZ_SECONDS ?= 45

CRYPTO_OUT := $(BUILD)/crypto
CRYPTO_IMB := third_party/ipsec-mb/lib

# Only the ipsec-mb sources needed for AES-256 key expansion, GCM, GHASH and CTR on the
# three paths; the aes128 files are there for ghash_* and CTR constants they define.
CRYPTO_ASM := x86_64/aes_keyexp_256 x86_64/const \
	sse_t1/gcm256_api_by8_sse sse_t1/gcm128_gmac_api_by8_sse \
	sse_t1/aes256_cntr_by8_sse sse_t1/aes128_cntr_by8_sse \
	avx2_t1/aes256_gcm_by8_avx2 avx2_t1/aes128_gcm_by8_avx2 \
	avx_t1/aes256_cntr_by8_avx avx_t1/aes128_cntr_by8_avx \
	avx512_t2/aes256_gcm_by48_api_vaes_avx512 avx512_t2/aes256_gcm_by48_sgl_api_vaes_avx512 \
	avx512_t2/aes128_gmac_by48_api_vaes_avx512 \
	avx512_t2/aes_cntr_api_by16_vaes_avx512
CRYPTO_ASM_OBJ := $(patsubst %,$(CRYPTO_OUT)/imb/%.o,$(CRYPTO_ASM))
CRYPTO_NASMFLAGS := -felf64 -Xgnu -DLINUX -D__linux__ -DSAFE_DATA -I$(CRYPTO_IMB)/ -I$(CRYPTO_IMB)/include/

CRYPTO_SRC := err_strings mem_secure cpu_features_x86 gcm_dispatch sha256 hmac_sha256 \
	hkdf_sha256 entropy_x86 frame keystream_ring aes_ctr_vaes ghash_clmul ghash_xor handshake channel selftest \
	x25519
# crypto/hosted/: what only hosted users need (getrandom entropy, a keystream thread).
CRYPTO_HOSTED_ONLY := hosted/entropy_hosted hosted/ks_worker
CRYPTO_HOSTED_SRC := $(CRYPTO_SRC) $(CRYPTO_HOSTED_ONLY)
CRYPTO_HDRS := $(wildcard crypto/*.h crypto/hosted/*.h)

CRYPTO_CFLAGS := $(HOSTED_CFLAGS) -Icrypto -Icrypto/hosted
CRYPTO_FS_CFLAGS := $(FS_VEC_CFLAGS) -Icrypto

# BearSSL (Debian source, 0.6) gives X25519 (crypto/x25519.c); only the files it needs are
# compiled, with our base flags: third-party code, so our warning set is not imposed
# (as for lwIP). The -D flags keep every OS and CPU-probing branch of its config out.
CRYPTO_BR := third_party/bearssl
CRYPTO_BR_SRC := ec/ec_c25519_m31 codec/ccopy
CRYPTO_BR_DEFS := -DBR_USE_URANDOM=0 -DBR_USE_WIN32_RAND=0 -DBR_USE_UNIX_TIME=0 -DBR_USE_WIN32_TIME=0 \
	-DBR_RDRAND=0 -DBR_AES_X86NI=0 -DBR_SSE2=0 -DBR_POWER8=0
CRYPTO_BR_CFLAGS := $(filter-out $(WARN),$(HOSTED_CFLAGS)) -w $(CRYPTO_BR_DEFS) -I$(CRYPTO_BR)/inc -I$(CRYPTO_BR)/src
CRYPTO_BR_FS_CFLAGS := $(filter-out $(WARN),$(FS_VEC_CFLAGS)) -w $(CRYPTO_BR_DEFS) -I$(CRYPTO_BR)/inc -I$(CRYPTO_BR)/src
CRYPTO_BR_OBJ := $(patsubst %,$(CRYPTO_OUT)/bearssl/hosted/%.o,$(CRYPTO_BR_SRC))
CRYPTO_BR_FS_OBJ := $(patsubst %,$(CRYPTO_OUT)/bearssl/fs/%.o,$(CRYPTO_BR_SRC))
# Our files that include BearSSL's API header see it as a system header (no warnings).
CRYPTO_BR_INC := -isystem $(CRYPTO_BR)/inc

CRYPTO_TEST_CFLAGS := $(CRYPTO_CFLAGS) -Itests/crypto -I$(CRYPTO_IMB)
CRYPTO_TEST_LIBS := -lcmocka -lcrypto -lpthread

CRYPTO_LIB := $(CRYPTO_OUT)/libhvcrypto.a
CRYPTO_FS_LIB := $(CRYPTO_OUT)/libhvcrypto_fs.a
CRYPTO_TESTS := test_gcm test_kdf test_channel test_x25519
CRYPTO_TEST_BINS := $(patsubst %,$(CRYPTO_OUT)/%,$(CRYPTO_TESTS))
CRYPTO_TEST_SUPPORT := tests/crypto/mem_transport.c
CRYPTO_FUZZ_BIN := $(CRYPTO_OUT)/fuzz_parse
CRYPTO_BENCH_BIN := $(CRYPTO_OUT)/bench_crypto
CRYPTO_KAT := $(CRYPTO_OUT)/kat
CRYPTO_KAT_MODELS ?= tigerlake corei7_skylake_x

.PHONY: crypto-lib crypto-test crypto-freestanding bench-crypto crypto-fuzz crypto-clean

crypto-lib: $(CRYPTO_LIB)

$(CRYPTO_IMB)/intel-ipsec-mb.h:
	./scripts/setup.sh

$(CRYPTO_OUT)/imb/%.o: $(CRYPTO_IMB)/%.asm | $(CRYPTO_IMB)/intel-ipsec-mb.h
	@mkdir -p $(dir $@)
	@echo "  NASM  $@"
	@$(CRYPTO_NASM) $(CRYPTO_NASMFLAGS) -MD $(@:.o=.d) -MT $@ -o $@.tmp $< && mv $@.tmp $@

$(CRYPTO_OUT)/hosted/%.o: crypto/%.c $(CRYPTO_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC    $@"
	@$(HOSTCC) $(CRYPTO_CFLAGS) -c -o $@ $<

$(CRYPTO_OUT)/fs/%.o: crypto/%.c $(CRYPTO_HDRS)
	@mkdir -p $(dir $@)
	@echo "  CC-FS $@"
	@$(HOSTCC) $(CRYPTO_FS_CFLAGS) -c -o $@ $<

$(CRYPTO_OUT)/hosted/x25519.o $(CRYPTO_OUT)/fs/x25519.o: | $(CRYPTO_BR)/inc/bearssl_ec.h
$(CRYPTO_OUT)/hosted/x25519.o: CRYPTO_CFLAGS += $(CRYPTO_BR_INC)
$(CRYPTO_OUT)/fs/x25519.o: CRYPTO_FS_CFLAGS += $(CRYPTO_BR_INC)

$(CRYPTO_BR)/inc/bearssl_ec.h $(CRYPTO_BR)/src/inner.h:
	./scripts/setup.sh

$(CRYPTO_OUT)/bearssl/hosted/%.o: $(CRYPTO_BR)/src/%.c | $(CRYPTO_BR)/src/inner.h
	@mkdir -p $(dir $@)
	@echo "  CC-BR $@"
	@$(HOSTCC) $(CRYPTO_BR_CFLAGS) -c -o $@ $<

$(CRYPTO_OUT)/bearssl/fs/%.o: $(CRYPTO_BR)/src/%.c | $(CRYPTO_BR)/src/inner.h
	@mkdir -p $(dir $@)
	@echo "  CC-BR-FS $@"
	@$(HOSTCC) $(CRYPTO_BR_FS_CFLAGS) -c -o $@ $<

$(CRYPTO_LIB): $(patsubst %,$(CRYPTO_OUT)/hosted/%.o,$(CRYPTO_HOSTED_SRC)) $(CRYPTO_ASM_OBJ) $(CRYPTO_BR_OBJ)
	@rm -f $@
	@echo "  AR    $@"
	@ar rcs $@ $^

# Freestanding archive; the link check proves the only outside symbols are memcpy/memset.
$(CRYPTO_FS_LIB): $(patsubst %,$(CRYPTO_OUT)/fs/%.o,$(CRYPTO_SRC)) $(CRYPTO_ASM_OBJ) $(CRYPTO_BR_FS_OBJ)
	@rm -f $@
	@echo "  AR    $@"
	@ar rcs $@ $^
	@ld -r -o $(CRYPTO_OUT)/fs_check.o --whole-archive $@
	@undef=$$(nm -u $(CRYPTO_OUT)/fs_check.o | awk '{print $$2}' | grep -vx 'memcpy\|memset' || true); \
	if [ -n "$$undef" ]; then echo "crypto-freestanding: unexpected undefined symbols: $$undef"; exit 1; fi; \
	echo "crypto-freestanding: $@ needs only: $$(nm -u $(CRYPTO_OUT)/fs_check.o | awk '{print $$2}' | tr '\n' ' ')"

crypto-freestanding: $(CRYPTO_FS_LIB)

$(CRYPTO_OUT)/test_%: tests/crypto/test_%.c $(CRYPTO_TEST_SUPPORT) tests/crypto/*.h $(CRYPTO_LIB)
	@echo "  LINK  $@"
	@$(HOSTCC) $(CRYPTO_TEST_CFLAGS) -o $@ $< $(CRYPTO_TEST_SUPPORT) $(CRYPTO_LIB) $(CRYPTO_TEST_LIBS)

# libFuzzer build: our C sources with ASan/UBSan, ipsec-mb and BearSSL objects as they are.
$(CRYPTO_FUZZ_BIN): tests/crypto/fuzz_parse.c $(CRYPTO_TEST_SUPPORT) $(patsubst %,crypto/%.c,$(CRYPTO_HOSTED_SRC)) $(CRYPTO_HDRS) $(CRYPTO_ASM_OBJ) \
		$(CRYPTO_BR_OBJ)
	@echo "  FUZZ  $@"
	@$(CRYPTO_CLANG) -std=gnu11 -g -O1 -Icrypto -Icrypto/hosted -Itests/crypto $(CRYPTO_BR_INC) -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o $@ tests/crypto/fuzz_parse.c $(CRYPTO_TEST_SUPPORT) \
		$(patsubst %,crypto/%.c,$(CRYPTO_HOSTED_SRC)) $(CRYPTO_ASM_OBJ) $(CRYPTO_BR_OBJ)

# libFuzzer exits non-zero on any crash, leak, sanitizer report or timeout.
define crypto_run_fuzz
	@mkdir -p $(CRYPTO_OUT)/fuzz-corpus $(CRYPTO_OUT)/fuzz-artifacts
	$(CRYPTO_FUZZ_BIN) -max_total_time=$(CRYPTO_FUZZ_SECONDS) -timeout=10 -rss_limit_mb=2048 \
		-print_final_stats=1 -artifact_prefix=$(CRYPTO_OUT)/fuzz-artifacts/ \
		$(CRYPTO_OUT)/fuzz-corpus
	@echo "crypto-fuzz: no findings in $(CRYPTO_FUZZ_SECONDS) s"
endef

crypto-fuzz: $(CRYPTO_FUZZ_BIN)
	$(crypto_run_fuzz)

# Every test binary runs and prints cmocka's summary; any failure makes the target fail
# (after all summaries). Then the freestanding library runs its known-answer kernel under
# Bochs (the only way to run the VAES/AVX-512 path on this AMD host), then the fuzzer.
crypto-test: $(CRYPTO_TEST_BINS) $(CRYPTO_FS_LIB) $(CRYPTO_FUZZ_BIN) $(CRYPTO_KAT)/kat.iso
	@fail=0; for t in $(CRYPTO_TEST_BINS); do echo "== $$t"; \
		CMOCKA_MESSAGE_OUTPUT=stdout $$t || { echo "== FAILED: $$t"; fail=1; }; done; \
		exit $$fail
	$(crypto_run_kat)
	$(crypto_run_fuzz)

$(CRYPTO_BENCH_BIN): tests/crypto/bench_crypto.c $(CRYPTO_TEST_SUPPORT) $(CRYPTO_LIB)
	@echo "  LINK  $@"
	@$(HOSTCC) $(CRYPTO_CFLAGS) -O3 -Itests/crypto -o $@ $< $(CRYPTO_TEST_SUPPORT) $(CRYPTO_LIB) -lcrypto

# X25519 and SHA-256/HMAC: our library against the other BearSSL implementations, which
# are compiled for this benchmark only (hosted, -O2 like the library).
CRYPTO_BR_BENCH_SRC := ec/ec_c25519_m15 ec/ec_c25519_i31 ec/ec_c25519_i15 \
	$(patsubst %,int/i31_%,add decmod encode montmul sub) $(patsubst %,int/i15_%,add decmod encode montmul sub) \
	hash/sha2small mac/hmac codec/dec32be codec/enc32be
CRYPTO_BENCH_X25519_BIN := $(CRYPTO_OUT)/bench_x25519
$(CRYPTO_BENCH_X25519_BIN): tests/crypto/bench_x25519.c $(CRYPTO_LIB) \
		$(patsubst %,$(CRYPTO_OUT)/bearssl/hosted/%.o,$(CRYPTO_BR_BENCH_SRC))
	@echo "  LINK  $@"
	@$(HOSTCC) $(CRYPTO_CFLAGS) $(CRYPTO_BR_INC) -Itests/crypto -o $@ $< \
		$(patsubst %,$(CRYPTO_OUT)/bearssl/hosted/%.o,$(CRYPTO_BR_BENCH_SRC)) $(CRYPTO_LIB)

.PHONY: bench-x25519
bench-x25519: $(CRYPTO_BENCH_X25519_BIN)
	$(CRYPTO_BENCH_X25519_BIN)

bench-crypto: $(CRYPTO_BENCH_BIN) $(CRYPTO_BENCH_X25519_BIN)
	$(CRYPTO_BENCH_BIN)
	$(CRYPTO_BENCH_X25519_BIN)

crypto-clean:
	rm -rf $(CRYPTO_OUT)

-include $(wildcard $(CRYPTO_OUT)/imb/*/*.d)

# Known-answer kernel under Bochs: the freestanding archive linked into a tiny multiboot2
# kernel that runs the self-test and a channel session on every GCM path the emulated
# CPU has. "tigerlake" has VAES + AVX-512 (the path this AMD host cannot run);
# "corei7_skylake_x" has AVX-512 without VAES. ~10 s per model; part of crypto-test.

$(CRYPTO_KAT)/kat.elf: tests/crypto/bochs/kat_entry.S tests/crypto/bochs/kat_main.c tests/crypto/bochs/kat.ld $(CRYPTO_FS_LIB) \
		lib/baremetal/longmode.inc lib/baremetal/portio.h
	@mkdir -p $(CRYPTO_KAT)
	@echo "  KAT   $@"
	@$(HOSTCC) $(CRYPTO_FS_CFLAGS) $(BAREMETAL_INC) -c -o $(CRYPTO_KAT)/kat_entry.o tests/crypto/bochs/kat_entry.S
	@$(HOSTCC) $(CRYPTO_FS_CFLAGS) $(BAREMETAL_INC) -c -o $(CRYPTO_KAT)/kat_main.o tests/crypto/bochs/kat_main.c
	@ld -n -nostdlib -z noexecstack --no-warn-rwx-segments -T tests/crypto/bochs/kat.ld -o $@ $(CRYPTO_KAT)/kat_entry.o \
		$(CRYPTO_KAT)/kat_main.o $(CRYPTO_FS_LIB)

$(CRYPTO_KAT)/kat.iso: $(CRYPTO_KAT)/kat.elf tests/crypto/bochs/grub.cfg
	@mkdir -p $(CRYPTO_KAT)/iso/boot/grub
	@cp $< $(CRYPTO_KAT)/iso/boot/kat.elf
	@cp tests/crypto/bochs/grub.cfg $(CRYPTO_KAT)/iso/boot/grub/grub.cfg
	@echo "  ISO   $@"
	@grub-mkrescue -o $@ $(CRYPTO_KAT)/iso >/dev/null 2>&1

define crypto_run_kat
	@fail=0; for m in $(CRYPTO_KAT_MODELS); do echo "== Bochs cpu model $$m"; \
		sh tests/crypto/bochs/run_kat.sh $(CRYPTO_KAT)/kat.iso $(CRYPTO_KAT) $$m || \
		{ echo "== FAILED on $$m"; fail=1; }; done; exit $$fail
endef

.PHONY: crypto-kat-bochs
crypto-kat-bochs: $(CRYPTO_KAT)/kat.iso
	$(crypto_run_kat)
