/* Host-side test of the real guest binary on Linux KVM (no hypervisor of ours
 * needed): implements guest_abi.h's loader, UART and hypercalls, checks the output and
 * each WSET window's dirty set against KVM's dirty log.
 * Usage: kvm_run BIN WINDOW_ADDR work|wset|corrupt|badparams
 * (exit 0 pass, 1 fail, 77 skip: no /dev/kvm) */
#include <fcntl.h>
#include <linux/kvm.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include "guest_abi.h"
#include "pattern.h"

#define MEM_SIZE   (8u << 20)
#define SEED	   12345u
#define WSET_PAGES 20u
#define HB_WANTED  5u
#define WORK_PAGES 64u
#define ROUNDS	   4u

static uint8_t *mem;
static int vm, vcpu;
static struct kvm_run *run;
static const char *mode;
static char line[1024];
static size_t line_len;
static uint32_t windows[2];	       /* the two VMCALLs in wset_window */
static uint32_t vmcalls[4], n_vmcalls; /* every VMCALL in the image */
static uint32_t announced[WSET_MAX], n_announced, rounds_ok, hb_seen, passes_seen;
static uint32_t *model_gen, model_x = SEED, model_sum;
static uint64_t model_writes;
static int failed, corrupted, caught;

static void die(const char *what)
{
	perror(what);
	exit(1);
}

static void fail(const char *msg)
{
	printf("kvm_run: FAIL: %s\n", msg);
	failed = 1;
}

/* KVM would answer VMCALL itself (or not at all, on some hosts), so each one
 * gets an instruction breakpoint and is carried out here. */
static void trap_vmcalls(void)
{
	struct kvm_guest_debug dbg = { .control = KVM_GUESTDBG_ENABLE | KVM_GUESTDBG_USE_HW_BP };

	for (uint32_t i = 0; i < n_vmcalls; i++) {
		dbg.arch.debugreg[i] = vmcalls[i];
		dbg.arch.debugreg[7] |= 1u << (2 * i); /* Ln, execute */
	}
	if (ioctl(vcpu, KVM_SET_GUEST_DEBUG, &dbg))
		die("KVM_SET_GUEST_DEBUG");
}

/* Returns the pfns dirtied since the last call (KVM clears the log as it reads). */
static uint32_t dirty_pfns(uint32_t *out, uint32_t max)
{
	static uint64_t bitmap[MEM_SIZE / 4096 / 64];
	struct kvm_dirty_log log = { .slot = 0, .dirty_bitmap = bitmap };
	uint32_t n = 0;

	if (ioctl(vm, KVM_GET_DIRTY_LOG, &log))
		die("KVM_GET_DIRTY_LOG");
	for (uint32_t p = 0; p < MEM_SIZE / 4096; p++)
		if (bitmap[p / 64] >> (p % 64) & 1) {
			if (n < max)
				out[n] = p;
			n++;
		}
	return n;
}

static void window_edge(uint64_t rip)
{
	uint32_t dirty[WSET_MAX + 1], n;

	if (rip == windows[0]) {
		dirty_pfns(dirty, 0);
		return;
	}
	n = dirty_pfns(dirty, WSET_MAX + 1);
	if (n != n_announced || memcmp(dirty, announced, n * 4))
		fail("window dirty set differs from the announced WSET");
	else
		rounds_ok++;
}

/* Returns 0 when the guest is to stop. */
static int on_vmcall(void)
{
	struct kvm_regs r;

	if (ioctl(vcpu, KVM_GET_REGS, &r))
		die("KVM_GET_REGS");
	if (getenv("KVM_RUN_TRACE"))
		printf("vmcall at 0x%llx eax=%llu ebx=%llu\n", (unsigned long long)r.rip, (unsigned long long)r.rax,
		       (unsigned long long)r.rbx);
	switch (r.rax) {
	case HC_PARK:
		if (r.rip == windows[0] || r.rip == windows[1])
			window_edge(r.rip);
		else
			fail("HC_PARK outside wset_window");
		break;
	case HC_FAIL:
		printf("kvm_run: guest HC_FAIL code=%llu\n", (unsigned long long)r.rbx);
		if (!caught || r.rbx != (strcmp(mode, "badparams") ? 1u : 2u))
			fail("guest failed");
		return 0;
	default: fail("unexpected hypercall"); return 0;
	}
	r.rax = 0;
	r.rip += 3;
	if (ioctl(vcpu, KVM_SET_REGS, &r))
		die("KVM_SET_REGS");
	return 1;
}

static void on_line(void)
{
	char *p;

	printf("[vm1] %s\n", line);
	if (!strncmp(line, "WSET k=", 7)) {
		n_announced = 0;
		for (p = strstr(line, "pages=") + 6; *p; p += *p == ',')
			announced[n_announced++] = (uint32_t)strtoul(p, &p, 10);
	} else if (!strncmp(line, "HB ", 3)) {
		uint32_t seq = 0, sum = 0;
		unsigned long long writes = 0;

		if (sscanf(line, "HB vm=1 seq=%u t_us=%*u writes=%llu sum=%x", &seq, &writes, &sum) != 3)
			fail("bad HB line");
		if (seq != ++hb_seen)
			fail("HB seq not consecutive");
		for (; model_writes < writes; model_writes++) {
			uint32_t idx = pick(lcg_next(&model_x), WORK_PAGES);

			model_sum = sum_update(model_sum, 256 + idx, ++model_gen[idx]);
		}
		if (sum != model_sum)
			fail("HB sum differs from the model");
	} else if (!strncmp(line, "MEMCHECK ok", 11)) {
		passes_seen++;
		if (!strcmp(mode, "corrupt") && !corrupted) {
			/* A page the guest will not rewrite before it verifies it again,
			 * most likely: stands for a page a migration forgot. */
			mem[0x100000 + 33 * 4096 + 4 * 500] ^= 0x40;
			corrupted = 1;
		}
	} else if (!strcmp(line, "GUEST bad params")) {
		if (strcmp(mode, "badparams"))
			fail("unexpected GUEST bad params");
		else
			caught = 1;
	} else if (!strncmp(line, "MEMCHECK FAIL", 13)) {
		if (strcmp(mode, "corrupt") || !corrupted ||
		    strncmp(line, "MEMCHECK FAIL page=0x121000 word=500 want=0x", 44))
			fail("unexpected MEMCHECK FAIL");
		else
			caught = 1;
	}
}

static int done(void)
{
	if (!strcmp(mode, "work") && hb_seen >= HB_WANTED && passes_seen >= 2) {
		if (memcmp(mem + 0x1e000, "CANARY-012345678", 16) || memcmp(mem + 0x1e800, "CANARY-012345678", 16))
			fail("canary copies missing");
		return 1;
	}
	if (!strcmp(mode, "wset"))
		return rounds_ok >= ROUNDS;
	return 0;
}

int main(int argc, char **argv)
{
	struct guest_params *gp;
	struct kvm_sregs sregs;
	struct kvm_regs regs = { .rip = GUEST_LOAD_GPA, .rflags = 2 };
	struct kvm_segment seg = { .base = 0,
				   .limit = 0xffffffff,
				   .selector = 0x10,
				   .type = 3,
				   .present = 1,
				   .dpl = 0,
				   .db = 1,
				   .s = 1,
				   .l = 0,
				   .g = 1 };
	struct kvm_userspace_memory_region region = {
		.slot = 0, .flags = KVM_MEM_LOG_DIRTY_PAGES, .guest_phys_addr = 0, .memory_size = MEM_SIZE
	};
	int kvm, tsc_khz;
	FILE *f;
	size_t len;

	if (argc != 4)
		return fprintf(stderr, "usage: kvm_run BIN WINDOW_ADDR work|wset|corrupt|badparams\n"), 2;
	mode = argv[3];
	setvbuf(stdout, NULL, _IOLBF, 0);
	kvm = open("/dev/kvm", O_RDWR);
	if (kvm < 0) {
		printf("kvm_run: SKIP: no /dev/kvm\n");
		return 77;
	}
	mem = mmap(0, MEM_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	model_gen = calloc(MEM_SIZE / 4096, 4);
	/* Non-zero RAM: the guest must not rely on the hypervisor zeroing it. */
	memset(mem, 0xa5, MEM_SIZE);
	f = fopen(argv[1], "rb");
	if (!f)
		die(argv[1]);
	len = fread(mem + GUEST_LOAD_GPA, 1, 0x8000, f);
	fclose(f);
	for (uint32_t a = GUEST_LOAD_GPA; a < GUEST_LOAD_GPA + len; a++)
		if (!memcmp(mem + a, "\x0f\x01\xc1", 3) && n_vmcalls++ < 4)
			vmcalls[n_vmcalls - 1] = a;
	/* wset_window's two VMCALLs are the first two from its start. */
	for (uint32_t i = 0, w = (uint32_t)strtoul(argv[2], 0, 0), j = 0; i < n_vmcalls && j < 2; i++)
		if (vmcalls[i] >= w)
			windows[j++] = vmcalls[i];
	if (n_vmcalls > 4 || !windows[1])
		return printf("kvm_run: FAIL: want 2..4 VMCALLs, 2 in wset_window\n"), 1;

	gp = (struct guest_params *)(mem + GUEST_PARAMS_GPA);
	memset(gp, 0, sizeof(*gp));
	gp->magic = GUEST_PARAMS_MAGIC;
	gp->vm_id = 1;
	gp->mem_size = MEM_SIZE;
	gp->mode = strcmp(mode, "wset") ? GUEST_MODE_WORK : GUEST_MODE_WSET;
	gp->hb_ms = 20;
	/* corrupt: no rewrites, so the damaged page is surely verified as it is */
	gp->write_pages_per_s = strcmp(mode, "corrupt") ? 50000 : 0;
	gp->seed = SEED;
	/* Few pages in WORK mode: where KVM emulates, a verify pass must not take minutes. */
	gp->data_pages = gp->mode == GUEST_MODE_WORK ? WORK_PAGES : 0;
	gp->wset_pages = WSET_PAGES;
	gp->canary_len = 16;
	memcpy(gp->canary, "CANARY-012345678", 16);
	if (!strcmp(mode, "badparams"))
		gp->magic = ~GUEST_PARAMS_MAGIC;

	if ((vm = ioctl(kvm, KVM_CREATE_VM, 0)) < 0)
		die("KVM_CREATE_VM");
	region.userspace_addr = (uintptr_t)mem;
	if (ioctl(vm, KVM_SET_USER_MEMORY_REGION, &region))
		die("KVM_SET_USER_MEMORY_REGION");
	if ((vcpu = ioctl(vm, KVM_CREATE_VCPU, 0)) < 0)
		die("KVM_CREATE_VCPU");
	run = mmap(0, (size_t)ioctl(kvm, KVM_GET_VCPU_MMAP_SIZE, 0), PROT_READ | PROT_WRITE, MAP_SHARED, vcpu, 0);
	tsc_khz = ioctl(vcpu, KVM_GET_TSC_KHZ, 0);
	gp->tsc_khz = tsc_khz > 0 ? (uint32_t)tsc_khz : 1000000;

	if (ioctl(vcpu, KVM_GET_SREGS, &sregs))
		die("KVM_GET_SREGS");
	sregs.ds = sregs.es = sregs.fs = sregs.gs = sregs.ss = seg;
	seg.type = 11;
	seg.selector = 0x08;
	sregs.cs = seg;
	sregs.cr0 = 0x11; /* PE, ET */
	if (ioctl(vcpu, KVM_SET_SREGS, &sregs) || ioctl(vcpu, KVM_SET_REGS, &regs))
		die("KVM_SET_REGS");
	trap_vmcalls();

	while (!done() && !(failed && strcmp(mode, "corrupt"))) {
		if (ioctl(vcpu, KVM_RUN, 0) < 0)
			die("KVM_RUN");
		switch (run->exit_reason) {
		case KVM_EXIT_IO: {
			uint8_t *d = (uint8_t *)run + run->io.data_offset;

			if (run->io.direction == KVM_EXIT_IO_IN)
				*d = run->io.port == GUEST_UART_BASE + 5 ? 0x60 : 0;
			else if (run->io.port == GUEST_UART_BASE && *d == '\n') {
				line[line_len] = 0;
				line_len = 0;
				on_line();
			} else if (run->io.port == GUEST_UART_BASE && line_len < sizeof(line) - 1)
				line[line_len++] = (char)*d;
			break;
		}
		case KVM_EXIT_DEBUG:
			if (!on_vmcall()) {
				printf("kvm_run: %s (%s)\n", failed ? "FAILED" : "ok", mode);
				return failed;
			}
			break;
		case KVM_EXIT_HLT: fail("guest halted"); return 1;
		default:
			printf("kvm_run: exit reason %u\n", run->exit_reason);
			fail("unexpected exit");
			return 1;
		}
	}
	printf("kvm_run: %s (%s: %u HB, %u passes, %u windows)\n", failed ? "FAILED" : "ok", mode, hb_seen, passes_seen,
	       rounds_ok);
	return failed;
}
