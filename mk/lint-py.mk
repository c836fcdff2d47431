# Python formatting and lint of the host tools, the system/simulator tests and the
# guest model: black (settings in pyproject.toml) and flake8 (settings in .flake8).
# The top-level Makefile includes this (make lint depends on lint-py); it also works
# on its own, from the repository root:
#   make -f mk/lint-py.mk lint-py       check (what CI runs)
#   make -f mk/lint-py.mk format-py     rewrite the files the way black wants them
# Needs the Debian packages black and flake8 (scripts/setup.sh installs them).
PYTHON ?= python3
# the Debian commands (black and flake8 run under /usr/bin/python3, whatever PYTHON is)
BLACK  ?= black
FLAKE8 ?= flake8

# Every Python file: modules by their suffix, plus the scripts in tools/ without one.
PY_SCRIPTS := tools/hvctl tools/launch-bochs tools/launch-qemu-ovmf tools/launch-nested-kvm
PY_FILES   := $(sort $(wildcard tools/*.py tools/hvtools/*.py tests/system/*.py tests/migrate/*.py tests/tools/*.py \
                               guest/*.py guest/linux/*.py)) $(PY_SCRIPTS)

.PHONY: lint-py format-py
lint-py:
	@$(BLACK) --check --quiet $(PY_FILES)
	@$(FLAKE8) $(PY_FILES)
	@echo "lint-py: $(words $(PY_FILES)) files clean (black, flake8)"

format-py:
	$(BLACK) --quiet $(PY_FILES)
