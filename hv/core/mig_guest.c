/* The migration engine's view of a VM (struct mig_guest_ops): its pages, its dirty log,
 * pausing, throttling, saving and loading its vCPU state, and scrubbing it, for the
 * source side (an existing VM) and the destination side (a VM made for the arrival). */
#include "arch.h"
#include "hv.h"
#include "mig_proto.h"
#include "mig_service.h"

static const void *g_page_ro(void *ctx, uint64_t pfn)
{
	struct mig_out *o = ctx;
	struct vm *vm = o->side.vm;
	return pfn < vm->mem_pages ? phys_to_virt(vm->page_hpa[pfn]) : 0;
}

static uint64_t g_dirty(void *ctx, uint64_t *out)
{
	struct mig_out *o = ctx;
	arch_vm_dirty_sync(o->side.vm);
	return dirty_collect(&o->side.vm->dirty, out);
}

static int g_pause(void *ctx)
{
	struct mig_out *o = ctx;
	struct vm *vm = o->side.vm;
	/* One CPU: the VM is not executing while we run, so stopping its
	 * scheduling is enough for "no further writes". */
	if (vm->state == VMS_RUNNING || vm->state == VMS_PARKED)
		vm->state = VMS_PAUSED;
	return vm->state == VMS_PAUSED ? MIG_OK : MIG_E_PAUSE;
}

static int g_resume_src(void *ctx)
{
	struct mig_out *o = ctx;
	struct vm *vm = o->side.vm;
	if (vm->state != VMS_PAUSED)
		return MIG_E_RESUME;
	vm->state = o->side.before;
	vm->throttle_pct = 0;
	return MIG_OK;
}

static int g_throttle(void *ctx, unsigned pct)
{
	struct mig_out *o = ctx;
	struct vm *vm = o->side.vm;
	vm->throttle_pct = pct > 95 ? 95 : pct;
	hv_event("migrate: vm %u throttled to %u%% of its time slices", vm->id, 100 - vm->throttle_pct);
	return MIG_OK;
}

static int g_save(void *ctx, void *buf, size_t cap, size_t *len)
{
	struct mig_out *o = ctx;
	if (cap < arch_vm_state_size())
		return MIG_E_STATE_TOO_BIG;
	if (arch_vm_state_save(o->side.vm, buf, cap, len))
		return MIG_E_SAVE_STATE;
	if (mig_service()->test_hostile_state) {
		mig_service()->test_hostile_state = 0;
		arch_vm_state_make_hostile(buf, *len);
		hv_event("migrate: test: the state sent is a hostile one (console line of 640 bytes)");
	}
	return MIG_OK;
}

static int g_scrub_src(void *ctx)
{
	struct mig_out *o = ctx;
	struct vm *vm = o->side.vm;
	vm->state = VMS_STOPPED;
	int err = vm_scrub(vm);
	hv_event("migrate: vm %u migrated away; memory and state scrubbed%s", vm->id,
		 err ? " FAILED" : " and verified");
	return err ? MIG_E_SCRUB : MIG_OK;
}

void mig_guest_source_ops(struct mig_out *o, struct mig_guest_ops *g)
{
	memset(g, 0, sizeof(*g));
	g->ctx = o;
	g->npages = o->side.vm->mem_pages;
	g->page_ro = g_page_ro;
	g->dirty_collect = g_dirty;
	g->pause = g_pause;
	g->resume = g_resume_src;
	g->throttle = g_throttle;
	g->save_state = g_save;
	g->scrub = g_scrub_src;
}

/* ---- destination: the VM exists only once ANNOUNCE is accepted (prepare) ---- */

static void *g_page_rw(void *ctx, uint64_t pfn)
{
	struct mig_in *in = ctx;
	struct vm *vm = in->side.vm;
	return vm && pfn < vm->mem_pages ? phys_to_virt(vm->page_hpa[pfn]) : 0;
}

static int g_prepare(void *ctx, uint64_t npages, uint32_t page_size)
{
	struct mig_in *in = ctx;
	if (page_size != PAGE_SIZE || npages == 0 || npages > (1ull << 20))
		return MIG_E_BAD_GEOMETRY;
	struct vm *vm;
	int err = vm_create_sized(1 /* GUEST_MODE_WORK until the state says */, npages, &vm);
	if (err)
		return MIG_E_PREPARE;
	in->side.vm = vm;
	vm->state = VMS_INCOMING;
	vm->migrating = 1;
	uint32_t ip = in->side.ts->peer_ip;
	hv_event("migrate: incoming guest of %lu KiB from %u.%u.%u.%u becomes vm %u", (unsigned long)(npages * 4),
		 ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255, vm->id);
	return MIG_OK;
}

static int g_check_profile(void *ctx, uint32_t cpuid_id, uint32_t tsc_khz, uint32_t ann_flags)
{
	(void)ctx;
	const char *why = arch_profile_mismatch(cpuid_id, tsc_khz);
	if (!why && (ann_flags & MIG_ANN_F_APIC))
		why = arch_linux_unsupported(); /* names the missing VMX feature */
	if (!why)
		return MIG_OK;
	hv_event("migrate: incoming guest refused: %s", why);
	return MIG_E_PROFILE;
}

static int g_load(void *ctx, const void *buf, size_t len)
{
	struct mig_in *in = ctx;
	struct vm *vm = in->side.vm;
	if (!vm)
		return MIG_E_LOAD_STATE;
	/* The guest's clock skips the time it was stopped, as seen from here. */
	uint64_t stopped_ns = in->eng.have_stop ? mig_now_ns() - in->eng.t_stop : 0;
	uint64_t extra = stopped_ns / 1000000ull * hv_tsc_khz + (stopped_ns % 1000000ull) * hv_tsc_khz / 1000000ull;
	if (arch_vm_state_load(vm, buf, len, extra))
		return MIG_E_LOAD_STATE;
	dirty_set_method(&vm->dirty, vm->dirty.method);
	return MIG_OK;
}

static int g_resume_dst(void *ctx)
{
	struct mig_in *in = ctx;
	struct vm *vm = in->side.vm;
	if (!vm || vm->state != VMS_INCOMING)
		return MIG_E_RESUME;
	vm->state = VMS_RUNNING;
	vm->migrating = 0;
	hv_event("migrate: commit received; vm %u runs here now", vm->id);
	return MIG_OK;
}

static int g_scrub_dst(void *ctx)
{
	struct mig_in *in = ctx;
	struct vm *vm = in->side.vm;
	if (!vm)
		return MIG_OK; /* nothing received yet */
	vm->state = VMS_STOPPED;
	vm->migrating = 0;
	int err = vm_scrub(vm);
	hv_event("migrate: incoming vm %u scrubbed%s", vm->id, err ? " FAILED" : " and verified");
	if (err)
		return MIG_E_SCRUB; /* kept, stopped: memory that reads back non-zero is not reused */
	/* It never ran: its slot and memory go back, or failed arrivals would use them up. */
	in->side.vm = 0;
	vm_destroy(vm);
	return MIG_OK;
}

void mig_guest_dest_ops(struct mig_in *in, struct mig_guest_ops *g)
{
	memset(g, 0, sizeof(*g));
	g->ctx = in;
	g->prepare = g_prepare;
	g->check_profile = g_check_profile;
	g->page_rw = g_page_rw;
	g->load_state = g_load;
	g->resume = g_resume_dst;
	g->scrub = g_scrub_dst;
}
