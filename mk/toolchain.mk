# mk/toolchain.mk: the one place that says how C is compiled here: compilers, the warning
# set, the freestanding and hosted flag sets, include paths and the portable source lists
# that the hypervisor, the unit tests, the migration simulator and its tests share.
# Included first by the top-level Makefile and by every fragment that also runs standalone.
ifndef TOOLCHAIN_MK_INCLUDED
TOOLCHAIN_MK_INCLUDED := 1

BUILD  ?= build
HOSTCC ?= gcc
PYTHON ?= python3

# One warning set for all of our C, freestanding or hosted (third-party code is built
# with its own: lwIP in net/net.mk, ipsec-mb's assembly and BearSSL in crypto/crypto.mk).
WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes

# Freestanding: no libc, no red zone (exceptions and VM exits land on the same stack),
# linked at fixed addresses below 2 GiB (linker.ld, the KAT kernel's kat.ld).
# FREESTANDING is the one macro that tells shared sources where they are built.
FS_BASE_CFLAGS := -std=gnu11 -O2 -g -ffreestanding -fno-builtin -nostdlib -fno-pic -fno-pie \
	-fno-stack-protector -fno-asynchronous-unwind-tables -mno-red-zone -mcmodel=kernel \
	-fno-omit-frame-pointer -DFREESTANDING
# The hypervisor core never touches vector registers: they hold a guest's state until
# the lazy switch (hv/arch/x86/fpu.c) saves it. Crypto is the one exception (below).
FS_CFLAGS := $(FS_BASE_CFLAGS) -mgeneral-regs-only $(WARN)
# Freestanding crypto uses SSE/AVX intrinsics; the core calls it only after
# arch_host_vector_begin().
FS_VEC_CFLAGS := $(FS_BASE_CFLAGS) $(WARN)
FS_ASFLAGS := -Wa,--noexecstack -DFREESTANDING

# Hosted builds of the same sources: tools and benchmarks, and the tests (sanitized).
HOSTED_CFLAGS := -std=gnu11 -O2 -g $(WARN)
HOSTED_TEST_CFLAGS := -std=gnu11 -O1 -g $(WARN) -fsanitize=address,undefined \
	-fno-sanitize-recover=all -fno-omit-frame-pointer
HOSTED_TEST_LIBS := -lcmocka -fsanitize=address,undefined

# lib/baremetal/: port I/O and the long-mode entry, shared by the hypervisor, the test guest
# and the crypto known-answer kernel.
BAREMETAL_INC := -Ilib
# libFuzzer targets (clang, Debian's libclang-rt-14-dev): bounded runs in `make test`.
FUZZ_CC ?= clang
FUZZ_CFLAGS := -std=gnu11 -g -O1 -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined
FUZZ_RUN_FLAGS := -timeout=10 -rss_limit_mb=2048 -print_final_stats=1

# Include paths of the hypervisor's code. Arch headers are reached as <arch/...>
# (hv/arch/x86/include/arch/); the portable core includes only <arch/vm_arch.h>
# and <arch/vcpu_state.h> through hv/include/vm.h, which hold data, no code.
HV_ARCH := x86
HV_INC := -Ihv/include -Ihv/arch/$(HV_ARCH)/include -Ihv/migrate -Icrypto -Inet/include -Iguest -Ilib

# Portable sources, one list each, used by every build that needs them.
# hvlib: string functions and formatting (everything links these).
HVLIB_SRCS := hv/core/format.c hv/core/string.c
# The parts of the core the unit tests run hosted.
CORE_PORTABLE_SRCS := $(HVLIB_SRCS) hv/core/page_alloc.c hv/core/line_edit.c hv/core/console_cmd.c \
	hv/core/config.c hv/core/dirty_track.c hv/core/errors.c hv/core/linux_boot.c hv/core/mig_bucket.c \
	hv/core/mig_bufs.c \
	hv/migrate/mig_err.c crypto/err_strings.c net/net_cmd.c \
	hv/arch/$(HV_ARCH)/ept.c hv/arch/$(HV_ARCH)/dirty_ad.c hv/arch/$(HV_ARCH)/dirty_pml.c \
	hv/arch/$(HV_ARCH)/vcpu_state_check.c hv/arch/$(HV_ARCH)/dev/uart16550.c \
	hv/arch/$(HV_ARCH)/msr_policy.c hv/arch/$(HV_ARCH)/dev/lapic_timer.c hv/arch/$(HV_ARCH)/dev/i8259.c
# What the engine needs of the CPU (page_stream.h), built hosted too.
MIG_ARCH_SRCS := hv/arch/$(HV_ARCH)/page_stream.c
# The migration engine (hv/migrate): state machines, codec, policy, admission guard,
# statistics, error names; and its adapter to the secure channel.
MIG_CORE_SRCS := $(patsubst %,hv/migrate/%.c,engine_source engine_dest mig_proto mig_policy \
	mig_guard mig_preauth mig_stats mig_err) $(MIG_ARCH_SRCS)
MIG_LINK_SRCS := hv/migrate/mig_link_hvc.c

endif
