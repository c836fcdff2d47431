# Hosted cmocka unit tests of the portable hypervisor parts (EPT builder and
# walker, dirty-set extraction, page allocator, console, boot configuration).
UNIT_CFLAGS := $(HOSTED_TEST_CFLAGS) $(HV_INC)
UNIT_LIBS := $(HOSTED_TEST_LIBS)
UNIT_LIB_SRCS := $(CORE_PORTABLE_SRCS)
UNIT_TESTS := test_ept test_dirty test_page_alloc test_console test_config test_format test_mig_service test_vcpu_state \
	test_linux_boot test_uart16550 test_lapic_timer test_msr_policy test_i8259
UNIT_BINS := $(addprefix $(BUILD)/unit/,$(UNIT_TESTS))

.PHONY: test-unit
test-unit: $(UNIT_BINS)
	@fail=0; for t in $(UNIT_BINS); do echo "== $$t"; $$t || fail=1; done; \
	if [ $$fail = 0 ]; then echo "unit tests: all passed"; else echo "unit tests: FAILED"; exit 1; fi

$(BUILD)/unit/%: tests/unit/%.c $(UNIT_LIB_SRCS) tests/unit/unit.mk
	@mkdir -p $(dir $@)
	$(HOSTCC) $(UNIT_CFLAGS) -o $@ $< $(UNIT_LIB_SRCS) $(UNIT_LIBS)

# The UEFI loader's portable parts (ELF checks, memory map, hv.cfg) run hosted too.
test-unit: uefi-hosttest

# The test guest's pattern and write-set logic, hosted, and its Python model
# (which the system tests use to predict heartbeat sums) against the C code.
.PHONY: guest-hosttest
guest-hosttest: $(GUEST_OUT)/test_pattern
	$(GUEST_OUT)/test_pattern
	$(GUEST_OUT)/test_pattern --vectors | $(PYTHON) guest/model.py --check
test-unit: guest-hosttest
# The Linux guest's workload (/init), run hosted (guest/linux/test_hbinit.py).
test-unit: linux-guest-check

# The vCPU state check under libFuzzer: whatever it accepts must be loadable (invariants
# asserted inside the target), bounded in time.
STATE_FUZZ_SECONDS ?= 15
STATE_FUZZ_BIN := $(BUILD)/unit/fuzz_vcpu_state
$(STATE_FUZZ_BIN): tests/unit/fuzz_vcpu_state.c tests/unit/vcpu_state_fixture.h hv/arch/$(HV_ARCH)/vcpu_state_check.c hv/arch/$(HV_ARCH)/msr_policy.c hv/arch/$(HV_ARCH)/include/arch/vcpu_state.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(HV_INC) -o $@ tests/unit/fuzz_vcpu_state.c hv/arch/$(HV_ARCH)/vcpu_state_check.c \
		hv/arch/$(HV_ARCH)/msr_policy.c

.PHONY: fuzz-state
fuzz-state: $(STATE_FUZZ_BIN)
	@mkdir -p $(BUILD)/unit/fuzz-state-corpus $(BUILD)/unit/fuzz-state-artifacts
	$(STATE_FUZZ_BIN) -max_total_time=$(STATE_FUZZ_SECONDS) $(FUZZ_RUN_FLAGS) \
		-artifact_prefix=$(BUILD)/unit/fuzz-state-artifacts/ $(BUILD)/unit/fuzz-state-corpus
	@echo "fuzz-state: no findings in $(STATE_FUZZ_SECONDS) s"
test-unit: fuzz-state

# The cutover figure's data and verdict from real demo logs (tests/tools/fixtures).
.PHONY: cutover-figure-test
cutover-figure-test:
	$(PYTHON) tests/tools/test_cutover_figure.py
test-unit: cutover-figure-test

# hvctl --json and the migration progress display on recorded console output (tests/tools/fixtures/hvctl-json).
.PHONY: hvctl-json-test
hvctl-json-test:
	$(PYTHON) tests/tools/test_hvctl_json.py
	$(PYTHON) tests/tools/test_hvctl_progress.py
test-unit: hvctl-json-test
