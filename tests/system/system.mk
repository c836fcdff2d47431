# Full-system tests: the real hypervisor under Bochs (VT-x) and QEMU+OVMF (UEFI path).
.PHONY: test-system test-system-bochs test-system-qemu
test-system: test-system-bochs test-system-qemu

test-system-bochs: iso
	$(PYTHON) tests/system/test_bochs_basic.py --iso $(BUILD)/hv.iso --workdir $(BUILD)/systest-bochs
	$(PYTHON) tests/system/test_serial_pty.py --iso $(BUILD)/hv.iso --workdir $(BUILD)/systest-serial
	$(PYTHON) tests/system/test_bochs_faults.py --iso $(BUILD)/hv.iso --workdir $(BUILD)/systest-faults
	$(PYTHON) tests/system/test_bochs_net.py --iso $(BUILD)/hv.iso --workdir $(BUILD)/systest-net
	$(PYTHON) tests/system/test_bochs_move.py --iso $(BUILD)/hv.iso --workdir $(BUILD)/systest-move
	$(PYTHON) tests/system/test_bochs_linux.py --iso $(BUILD)/hv-linux.iso --workdir $(BUILD)/systest-linux
	$(PYTHON) tests/system/test_bochs_linux_migrate.py --iso $(BUILD)/hv-linux-mig.iso \
		--skew-iso $(BUILD)/hv-linux-skew.iso --workdir $(BUILD)/systest-linux-migrate
	$(PYTHON) tests/system/test_bochs_migrate.py --iso $(BUILD)/hv-mig.iso --workdir $(BUILD)/systest-migrate
	$(PYTHON) tests/system/test_hvctl_json.py --iso $(BUILD)/hv-mig.iso --workdir $(BUILD)/systest-hvctl-json
	$(PYTHON) tests/system/test_bochs_attacks.py --iso $(BUILD)/hv-mig.iso --workdir $(BUILD)/systest-attacks
	$(PYTHON) tests/system/test_bochs_attacks.py --guest linux --iso $(BUILD)/hv-linux-mig.iso \
		--workdir $(BUILD)/systest-attacks-linux
	$(PYTHON) tests/system/test_demo.py --iso $(BUILD)/hv-mig.iso --workdir $(BUILD)/systest-demo

test-system-qemu: uefi
	$(PYTHON) tests/system/test_qemu_uefi.py --esp $(BUILD)/esp --workdir $(BUILD)/systest-qemu
	$(PYTHON) tests/system/test_qemu_net.py --esp $(BUILD)/esp --workdir $(BUILD)/systest-qemu-net

# The hypervisor's own cost of a migration (cycles per byte, both sides, plaintext and
# encrypted) in two Bochs instances: a benchmark, not part of make test.
.PHONY: bench-hv
bench-hv: iso
	$(PYTHON) tests/system/bench_hv.py --iso $(BUILD)/hv-mig.iso --workdir $(BUILD)/bench-hv
