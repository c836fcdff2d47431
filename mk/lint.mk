# mk/lint.mk: style checks run by `make test` (make lint) and the formatter (make format).
# C: clang-format with the repository's .clang-format over every tracked .c/.h file.
# Python: black and flake8 (mk/lint-py.mk; configuration in pyproject.toml and .flake8).
LINT_C_FILES = $(shell git ls-files '*.c' '*.h')
CLANG_FORMAT ?= clang-format

.PHONY: lint lint-c format format-c
lint: lint-c lint-py
	@echo "lint: C and Python style clean"

lint-c:
	@$(CLANG_FORMAT) --dry-run --Werror $(LINT_C_FILES)
	@echo "lint-c: $(words $(LINT_C_FILES)) files match .clang-format"

format: format-c format-py

format-c:
	$(CLANG_FORMAT) -i $(LINT_C_FILES)

include mk/lint-py.mk
