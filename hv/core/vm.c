/* VM lifecycle: build a guest (RAM, EPT, dirty tracker, VMCS), load the test
 * guest image and its parameters, start/pause/resume/stop it, scrub on stop. */
#include "arch.h"
#include "debug_scan.h"
#include "guest_abi.h"
#include "hv.h"
#include "mig_hv.h"
#include "net.h"
#include "vm.h"

struct vm hv_vms[VM_MAX];
static unsigned next_id = 1;

extern const uint8_t testguest_image_start[], testguest_image_end[];

static uint64_t alloc_cb(void *ctx)
{
	(void)ctx;
	return page_alloc_page(&hv_pages);
}
static void free_cb(void *ctx, uint64_t p)
{
	(void)ctx;
	page_free(&hv_pages, p);
}

static const char *mode_name(uint32_t mode)
{
	switch (mode) {
	case GUEST_MODE_WORK: return "work";
	case GUEST_MODE_WSET: return "wset";
	case GUEST_MODE_EPT_FAULT: return "eptfault";
	case GUEST_MODE_TRIPLE_FAULT: return "triplefault";
	case GUEST_MODE_LINUX: return "linux";
	}
	return "?";
}

const char *vm_state_name(enum vm_state s)
{
	static const char *const n[] = { "created", "running", "paused", "parked", "stopped", "failed", "incoming" };
	return (unsigned)s < ARRAY_SIZE(n) ? n[s] : "?";
}

struct vm *vm_by_id(unsigned id)
{
	for_each_vm (vm) {
		if (vm->id == id)
			return vm;
	}
	return 0;
}

int vm_copy_to_guest(struct vm *vm, uint64_t gpa, const void *src, uint64_t len)
{
	const uint8_t *s = src;
	while (len) {
		uint64_t pfn = gpa >> PAGE_SHIFT, off = gpa & (PAGE_SIZE - 1);
		if (pfn >= vm->mem_pages)
			return HV_ERANGE;
		uint64_t n = PAGE_SIZE - off < len ? PAGE_SIZE - off : len;
		memcpy((uint8_t *)phys_to_virt(vm->page_hpa[pfn]) + off, s, n);
		s += n;
		gpa += n;
		len -= n;
	}
	return HV_OK;
}

/* Zero-fills every guest page and checks it: nothing of the guest survives. */
static int scrub(struct vm *vm)
{
	arch_vm_clear_state(vm);
	memset(vm->out, 0, sizeof(vm->out));
	vm->outlen = 0;
	for (uint64_t i = 0; i < vm->mem_pages; i++) {
		uint64_t *p = phys_to_virt(vm->page_hpa[i]);
		memset(p, 0, PAGE_SIZE);
		for (unsigned w = 0; w < PAGE_SIZE / 8; w++)
			if (p[w])
				return HV_EHW;
	}
	return HV_OK;
}

int vm_scrub(struct vm *vm) { return scrub(vm); }

int vm_create(uint32_t mode, struct vm **out) { return vm_create_mode(mode, 0, out); }

int vm_create_mode(uint32_t mode, unsigned mem_mib, struct vm **out)
{
	if (mode == GUEST_MODE_LINUX && arch_linux_unsupported())
		return HV_ENOTSUP;
	uint64_t pages = mem_mib		    ? (uint64_t)mem_mib * 256
			 : mode == GUEST_MODE_LINUX ? (uint64_t)hv_cfg.linux_mem_mib * 256
						    : (uint64_t)hv_cfg.vm_mem_kib / 4;
	return vm_create_sized(mode, pages, out);
}

/* EPT tables for npages of guest RAM mapped from GPA 0: one table per 512 entries at
 * each level, and the PML4. */
static uint64_t ept_tables(uint64_t npages)
{
	uint64_t pt = (npages + 511) / 512, pd = (pt + 511) / 512, pdpt = (pd + 511) / 512;
	return pt + pd + pdpt + 1;
}

/* Everything a VM holds, whether it was built completely or not. */
static void release(struct vm *vm)
{
	arch_vm_destroy(vm);
	ept_destroy(&vm->ept);
	/* Guest pages go back as they are: fresh from the allocator (a failed build) or
	 * already scrubbed and read back (vm_destroy's callers scrub first). */
	if (vm->page_hpa) {
		for (uint64_t i = 0; i < vm->mem_pages; i++)
			if (vm->page_hpa[i])
				page_free(&hv_pages, vm->page_hpa[i]);
		page_free_contig(&hv_pages, virt_to_phys(vm->page_hpa), vm->page_hpa_pages);
	}
	if (vm->dirty.accum)
		page_free_contig(&hv_pages, virt_to_phys(vm->dirty.accum), vm->bitmap_pages);
	if (vm->dirty_out)
		page_free_contig(&hv_pages, virt_to_phys(vm->dirty_out), vm->bitmap_pages);
	memset(vm, 0, sizeof(*vm));
}

void vm_destroy(struct vm *vm)
{
	unsigned id = vm->id;
	release(vm);
	hv_event("vm %u destroyed; its memory is free", id);
}

static int build(struct vm *vm)
{
	vm->page_hpa_pages = ALIGN_UP(vm->mem_pages * 8, PAGE_SIZE) / PAGE_SIZE;
	vm->bitmap_pages = ALIGN_UP(dirty_bitmap_words(vm->mem_pages) * 8, PAGE_SIZE) / PAGE_SIZE;
	/* Guest RAM, its frame array, two dirty bitmaps, the EPT tables, VMCS and PML page. */
	uint64_t need = vm->mem_pages + vm->page_hpa_pages + 2 * vm->bitmap_pages + ept_tables(vm->mem_pages) + 2;
	if (need > hv_pages.free_pages)
		return HV_ENOMEM;
	vm->page_hpa = phys_to_virt(page_alloc_contig(&hv_pages, vm->page_hpa_pages, 1));
	uint64_t a = page_alloc_contig(&hv_pages, vm->bitmap_pages, 1),
		 b = page_alloc_contig(&hv_pages, vm->bitmap_pages, 1);
	vm->dirty.accum = a ? phys_to_virt(a) : 0;
	vm->dirty_out = b ? phys_to_virt(b) : 0;
	if (!vm->page_hpa || !vm->dirty.accum || !vm->dirty_out)
		return HV_ENOMEM;
	int err = ept_init(&vm->ept, alloc_cb, free_cb, 0, phys_to_virt);
	if (err)
		return err;
	for (uint64_t i = 0; i < vm->mem_pages; i++) {
		uint64_t hpa = page_alloc_page(&hv_pages);
		if (!hpa)
			return HV_ENOMEM;
		vm->page_hpa[i] = hpa;
		if ((err = ept_map_page(&vm->ept, i << PAGE_SHIFT, hpa, EPT_RWX)))
			return err;
	}
	vm->dirty.ept = &vm->ept;
	vm->dirty.npages = vm->mem_pages;
	vm->dirty.flush = arch_dirty_flush;
	vm->dirty.flush_ctx = vm;
	enum dirty_method m = hv_cfg.dirty;
	if (m == DIRTY_NONE || (m == DIRTY_PML && !arch_virt_has_pml()))
		m = arch_virt_has_pml() ? DIRTY_PML : DIRTY_AD;
	vm->dirty.method = m;
	return arch_vm_init(vm);
}

int vm_create_sized(uint32_t mode, uint64_t mem_pages, struct vm **out)
{
	struct vm *vm = 0;
	for (unsigned i = 0; i < VM_MAX && !vm; i++)
		if (!hv_vms[i].in_use)
			vm = &hv_vms[i];
	if (!vm)
		return HV_ERANGE;
	memset(vm, 0, sizeof(*vm));
	vm->mode = mode;
	vm->has_lapic = mode == GUEST_MODE_LINUX;
	vm->mem_pages = mem_pages;
	int err = build(vm);
	if (err) {
		release(vm);
		return err;
	}
	vm->id = next_id++;
	vm->in_use = 1;
	vm->state = VMS_CREATED;
	hv_event("vm %u created: mode=%s mem=%luKiB track=%s", vm->id, mode_name(mode),
		 (unsigned long)(vm->mem_pages * 4), dirty_method_name(vm->dirty.method));
	if (out)
		*out = vm;
	return HV_OK;
}

static int start_linux(struct vm *vm)
{
	int err;
	if (vm->state != VMS_CREATED && (err = arch_vm_reset(vm)))
		return err;
	dirty_set_method(&vm->dirty, vm->dirty.method);
	arch_vm_boot_state(vm);
	if ((err = vm_linux_load(vm)))
		return err;
	vm->outlen = 0;
	vm->wake_tsc = 0;
	vm->state = VMS_RUNNING;
	hv_event("vm %u started", vm->id);
	return HV_OK;
}

int vm_start(struct vm *vm)
{
	if (vm->state != VMS_CREATED && vm->state != VMS_STOPPED && vm->state != VMS_FAILED)
		return HV_ESTATE;
	int err = scrub(vm);
	if (err)
		return err;
	if (vm->mode == GUEST_MODE_LINUX)
		return start_linux(vm);
	uint64_t len = (uint64_t)(testguest_image_end - testguest_image_start);
	if ((err = vm_copy_to_guest(vm, GUEST_LOAD_GPA, testguest_image_start, len)))
		return err;
	struct guest_params p;
	memset(&p, 0, sizeof(p));
	p.magic = GUEST_PARAMS_MAGIC;
	p.vm_id = vm->id;
	p.mem_size = (uint32_t)(vm->mem_pages * PAGE_SIZE);
	p.mode = vm->mode;
	p.tsc_khz = (uint32_t)hv_tsc_khz;
	p.hb_ms = hv_cfg.hb_ms;
	p.write_pages_per_s = hv_cfg.write_rate;
	p.seed = 0x9e3779b9u * vm->id;
	p.wset_pages = hv_cfg.wset_pages;
	if ((err = vm_copy_to_guest(vm, GUEST_PARAMS_GPA, &p, sizeof(p))))
		return err;
	if (vm->state != VMS_CREATED && (err = arch_vm_reset(vm)))
		return err;
	dirty_set_method(&vm->dirty, vm->dirty.method);
	arch_vm_boot_state(vm);
	vm->outlen = 0;
	vm->wake_tsc = 0;
	vm->state = VMS_RUNNING;
	hv_event("vm %u started", vm->id);
	return HV_OK;
}

void vm_fail(struct vm *vm, const char *why)
{
	vm->state = VMS_FAILED;
	hv_event("vm %u stopped: %s", vm->id, why);
}

void vm_park(struct vm *vm)
{
	vm->state = VMS_PARKED;
	hv_event("vm %u parked", vm->id);
}

static int vm_stop(struct vm *vm)
{
	if (vm->state == VMS_STOPPED || vm->state == VMS_CREATED)
		return HV_ESTATE;
	vm->state = VMS_STOPPED;
	int err = scrub(vm);
	hv_event("vm %u stopped; memory scrubbed%s", vm->id, err ? " FAILED" : " and verified");
	return err;
}

/* ---- console_ops ---- */

static int op_info(void *ctx, unsigned index, struct vm_info *out)
{
	(void)ctx;
	struct vm *vm = 0;
	for_each_vm (v) {
		if (index-- == 0) {
			vm = v;
			break;
		}
	}
	if (!vm)
		return HV_ENOENT;
	out->id = vm->id;
	out->state = vm_state_name(vm->state);
	out->mode = mode_name(vm->mode);
	out->track = dirty_method_name(vm->dirty.method);
	out->mem_kib = vm->mem_pages * 4;
	out->exits = vm->exits;
	return HV_OK;
}

static int op_action(void *ctx, unsigned id, enum vm_action a)
{
	(void)ctx;
	struct vm *vm = vm_by_id(id);
	if (!vm)
		return HV_ENOENT;
	if (vm->migrating)
		return HV_EBUSY;
	switch (a) {
	case VM_START: return vm_start(vm);
	case VM_PAUSE:
		if (vm->state != VMS_RUNNING && vm->state != VMS_PARKED)
			return HV_ESTATE;
		vm->state = VMS_PAUSED;
		return HV_OK;
	case VM_RESUME:
		if (vm->state != VMS_PAUSED && vm->state != VMS_PARKED)
			return HV_ESTATE;
		vm->state = VMS_RUNNING;
		return HV_OK;
	case VM_STOP: return vm_stop(vm);
	case VM_DESTROY:
		if (vm->state != VMS_CREATED && vm->state != VMS_STOPPED && vm->state != VMS_FAILED)
			return HV_ESTATE;
		/* A failed guest was never scrubbed: nothing of it may go back to the allocator. */
		if (scrub(vm))
			return HV_EHW;
		vm_destroy(vm);
		return HV_OK;
	}
	return HV_EINVAL;
}

static int op_dirty(void *ctx, unsigned id, const struct printer *p)
{
	(void)ctx;
	struct vm *vm = vm_by_id(id);
	if (!vm)
		return HV_ENOENT;
	if (vm->state == VMS_CREATED)
		return HV_ESTATE;
	if (vm->migrating)
		return HV_EBUSY; /* the engine owns the dirty log now */
	arch_vm_dirty_sync(vm);
	uint64_t n = dirty_collect(&vm->dirty, vm->dirty_out);
	pr_printf(p, "dirty vm=%u method=%s count=%lu pages=", vm->id, dirty_method_name(vm->dirty.method),
		  (unsigned long)n);
	int first = 1;
	for (uint64_t pfn = 0; pfn < vm->mem_pages; pfn++)
		if (vm->dirty_out[pfn >> 6] & (1ull << (pfn & 63))) {
			pr_printf(p, first ? "%lu" : ",%lu", (unsigned long)pfn);
			first = 0;
		}
	pr_printf(p, "\r\n");
	return HV_OK;
}

static int op_stats(void *ctx, unsigned id, const struct printer *p)
{
	(void)ctx;
	struct vm *vm = vm_by_id(id);
	if (!vm)
		return HV_ENOENT;
	arch_vm_print_stats(vm, p);
	return HV_OK;
}

static int op_track(void *ctx, unsigned id, enum dirty_method m)
{
	(void)ctx;
	struct vm *vm = vm_by_id(id);
	if (!vm)
		return HV_ENOENT;
	if (m == DIRTY_PML && !arch_virt_has_pml())
		return HV_ENOTSUP;
	if (vm->migrating)
		return HV_EBUSY;
	int err = arch_vm_set_pml(vm, m == DIRTY_PML);
	if (err)
		return err;
	dirty_set_method(&vm->dirty, m);
	return HV_OK;
}

static void op_status(void *ctx, const struct printer *p)
{
	(void)ctx;
	hv_print_status(p);
}

static void op_poweroff(void *ctx)
{
	(void)ctx;
	hv_event("powering off");
	hv_halt_machine(0);
}

/* Local migration through the same state capture a network migration uses:
 * memory copied page by page, vCPU and device state saved and loaded, the
 * source scrubbed before the copy may run (never two runnable copies). */
static int vm_move_local(struct vm *src)
{
	static uint8_t st[VM_STATE_MAX] __attribute__((aligned(16)));
	size_t st_len = 0;
	enum vm_state was = src->state;
	if (was != VMS_RUNNING && was != VMS_PAUSED && was != VMS_PARKED)
		return HV_ESTATE;
	uint64_t t0 = arch_cycles();
	src->state = VMS_PAUSED;
	struct vm *dst = 0;
	int err = arch_vm_state_save(src, st, sizeof(st), &st_len);
	if (!err)
		err = vm_create_sized(src->mode, src->mem_pages, &dst);
	if (!err) {
		/* A later `vm start` of the copy boots the same kernel with the same arguments. */
		memcpy(dst->linux_args, src->linux_args, sizeof(dst->linux_args));
		memcpy(dst->linux_kernel, src->linux_kernel, sizeof(dst->linux_kernel));
		memcpy(dst->linux_initrd, src->linux_initrd, sizeof(dst->linux_initrd));
	}
	if (err) {
		src->state = was;
		return err;
	}
	for (uint64_t i = 0; i < src->mem_pages; i++)
		memcpy(phys_to_virt(dst->page_hpa[i]), phys_to_virt(src->page_hpa[i]), PAGE_SIZE);
	err = arch_vm_state_load(dst, st, st_len, arch_cycles() - t0);
	memset(st, 0, sizeof(st));
	if (err) {
		/* The copy never ran: scrub it and give its memory back; the source goes on. */
		dst->state = VMS_STOPPED;
		if (scrub(dst) == HV_OK)
			vm_destroy(dst);
		src->state = was;
		return err;
	}
	dirty_set_method(&dst->dirty, dst->dirty.method);
	src->state = VMS_STOPPED;
	int serr = scrub(src);
	dst->state = was == VMS_PAUSED ? VMS_PAUSED : was;
	hv_event("vm %u moved to vm %u in %lu us; vm %u scrubbed%s", src->id, dst->id,
		 (unsigned long)((arch_cycles() - t0) * 1000 / hv_tsc_khz), src->id,
		 serr ? " FAILED" : " and verified");
	return (int)dst->id;
}

static int op_move(void *ctx, unsigned id)
{
	(void)ctx;
	struct vm *vm = vm_by_id(id);
	if (vm && vm->migrating)
		return HV_EBUSY;
	return vm ? vm_move_local(vm) : HV_ENOENT;
}

static int op_create(void *ctx, const char *mode, const struct vm_create_args *a)
{
	(void)ctx;
	static const struct {
		const char *name;
		uint32_t mode;
	} modes[] = {
		{ "work", GUEST_MODE_WORK },	      { "wset", GUEST_MODE_WSET },
		{ "eptfault", GUEST_MODE_EPT_FAULT }, { "triplefault", GUEST_MODE_TRIPLE_FAULT },
		{ "linux", GUEST_MODE_LINUX },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(modes); i++)
		if (!hv_strcmp(mode, modes[i].name)) {
			if (modes[i].mode != GUEST_MODE_LINUX && (a->cmdline[0] || a->kernel[0] || a->initrd[0]))
				return HV_EINVAL; /* kernel, initrd and arguments only for a kernel */
			if (hv_strlen(a->kernel) >= sizeof(hv_vms[0].linux_kernel) ||
			    hv_strlen(a->initrd) >= sizeof(hv_vms[0].linux_initrd))
				return HV_ERANGE;
			struct vm *vm;
			int err = vm_create_mode(modes[i].mode, a->mem_mib, &vm);
			if (err)
				return err;
			hv_snprintf(vm->linux_args, sizeof(vm->linux_args), "%s", a->cmdline);
			hv_snprintf(vm->linux_kernel, sizeof(vm->linux_kernel), "%s",
				    a->kernel[0] ? a->kernel : "linux");
			hv_snprintf(vm->linux_initrd, sizeof(vm->linux_initrd), "%s",
				    a->initrd[0] ? a->initrd : "initrd");
			return (int)vm->id;
		}
	return HV_EINVAL;
}

static int op_net(void *ctx, int argc, char **argv, const struct printer *out)
{
	(void)ctx;
	return net_command(argc, argv, out);
}

static int op_mig(void *ctx, int argc, char **argv, const struct printer *out)
{
	(void)ctx;
	return mig_hv_command(argc, argv, out);
}

static int op_scan(void *ctx, const char *hex, const struct printer *out)
{
	(void)ctx;
	return debug_scan(hex, out);
}

static int op_console(void *ctx, unsigned id)
{
	(void)ctx;
	struct vm *vm = vm_by_id(id);
	if (!vm)
		return HV_ENOENT;
	if (vm->state != VMS_RUNNING && vm->state != VMS_PAUSED && vm->state != VMS_PARKED)
		return HV_ESTATE;
	console_attach(id);
	return HV_OK;
}

int vm_serial_input(unsigned vm_id, uint8_t byte)
{
	struct vm *vm = vm_by_id(vm_id);
	if (!vm || (vm->state != VMS_RUNNING && vm->state != VMS_PAUSED && vm->state != VMS_PARKED))
		return HV_ENOENT;
	int r = arch_vm_serial_input(vm, byte);
	if (r == 0)
		vm->wake_tsc = 0; /* a halted guest waiting for input runs at once */
	return r;
}

static int op_hide_pml(void *ctx)
{
	(void)ctx;
	arch_virt_hide_pml();
	hv_event("PML hidden: new and arriving VMs track dirty pages by the EPT A/D scan");
	return HV_OK;
}

static const char *op_unavailable(void *ctx)
{
	(void)ctx;
	return arch_virt_unavailable();
}

const struct console_ops hv_console_ops = {
	.ctx = 0,
	.vm_info = op_info,
	.vm_action = op_action,
	.vm_dirty = op_dirty,
	.vm_track = op_track,
	.vm_stats = op_stats,
	.vm_create = op_create,
	.vm_move = op_move,
	.status = op_status,
	.poweroff = op_poweroff,
	.guests_unavailable = op_unavailable,
	.net_command = op_net,
	.mig_command = op_mig,
	.debug_scan = op_scan,
	.debug_hide_pml = op_hide_pml,
	.vm_console = op_console,
};

/* ---- scheduler: round-robin over runnable VMs, console between slices ---- */

void sched_loop(void)
{
	unsigned next = 0;
	for (;;) {
		console_poll();
		uint64_t t_net = arch_cycles();
		if (net_poll())
			mig_hv_account_net(arch_cycles() - t_net);
		mig_hv_poll();
		struct vm *pick = 0;
		uint64_t now = arch_cycles();
		for (unsigned k = 0; k < VM_MAX && !pick; k++) {
			struct vm *vm = &hv_vms[(next + k) % VM_MAX];
			if (vm->in_use && vm->state == VMS_RUNNING && vm->wake_tsc <= now) {
				/* A throttled guest sits out throttle_pct of its turns. */
				vm->throttle_acc += vm->throttle_pct;
				if (vm->throttle_acc >= 100) {
					vm->throttle_acc -= 100;
					continue;
				}
				pick = vm;
				next = (unsigned)((vm - hv_vms) + 1) % VM_MAX;
			}
		}
		if (!pick) {
			arch_cpu_relax();
			continue;
		}
		arch_vm_run_slice(pick);
	}
}
