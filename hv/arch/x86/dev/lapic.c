/* The guest's local APIC on the CPU's APIC virtualization: a virtual-APIC page per VM
 * that the guest reads and writes directly (APIC-register virtualization), interrupts
 * posted into its IRR and RVI so the CPU delivers them (virtual-interrupt delivery, EOI
 * included), and APIC-write exits for what needs the hypervisor: the timer registers and
 * self-IPIs. The timer itself is lapic_timer.c, driven by the VMX preemption timer. */
#include <arch/cpu.h>
#include <arch/msr_policy.h>
#include <arch/vmcs.h>
#include <arch/vmx.h>
#include <arch/vplat.h>
#include "hv.h"
#include "vm.h"

#define APIC_ID	     0x20u
#define APIC_VERSION 0x30u
#define APIC_TPR     0x80u
#define APIC_EOI     0xb0u
#define APIC_LDR     0xd0u
#define APIC_DFR     0xe0u
#define APIC_SVR     0xf0u
#define APIC_ISR     0x100u
#define APIC_TMR     0x180u
#define APIC_IRR     0x200u
#define APIC_ESR     0x280u
#define APIC_ICR_LO  0x300u
#define APIC_ICR_HI  0x310u
#define APIC_LVT_TMR 0x320u
#define APIC_LVT0    0x350u
#define APIC_LVT1    0x360u
#define APIC_LVT_ERR 0x370u
#define APIC_TMICT   0x380u
#define APIC_TMCCT   0x390u
#define APIC_TDCR    0x3e0u

#define SVR_ENABLE	   (1u << 8)
#define LVT_MASKED	   (1u << 16)
#define LVT_DM_EXTINT	   (7u << 8)
#define LVT_DM_MASK	   (7u << 8)
#define ICR_DM_MASK	   (7u << 8)
#define ICR_DM_FIXED	   (0u << 8)
#define ICR_BUSY	   (1u << 12)
#define ICR_SHORTHAND(v)   (((v) >> 18) & 3u) /* 0 none, 1 self, 2 all, 3 all but self */
/* xAPIC version register: version 0x14, 6 LVT entries (max LVT index 5). */
#define APIC_VERSION_VALUE 0x00050014u

static uint64_t access_phys;

int lapic_init(void)
{
	if (!hv_vmx.apicv)
		return HV_OK; /* Linux guests are refused on this CPU (vm_linux.c says why) */
	access_phys = page_alloc_page(&hv_pages);
	return access_phys ? HV_OK : HV_ENOMEM;
}

uint64_t lapic_access_phys(void) { return access_phys; }

static volatile uint32_t *reg(const struct vm *vm, unsigned off)
{
	return (volatile uint32_t *)((uint8_t *)phys_to_virt(vm->arch.vapic_phys) + off);
}

int lapic_vm_init(struct vm *vm)
{
	if (!access_phys || !vm->has_lapic)
		return HV_OK;
	vm->arch.vapic_phys = page_alloc_page(&hv_pages);
	return vm->arch.vapic_phys ? HV_OK : HV_ENOMEM;
}

void lapic_vm_destroy(struct vm *vm)
{
	if (!vm->arch.vapic_phys)
		return;
	memset(phys_to_virt(vm->arch.vapic_phys), 0, PAGE_SIZE);
	page_free(&hv_pages, vm->arch.vapic_phys);
	vm->arch.vapic_phys = 0;
}

void lapic_reset(struct vm *vm)
{
	lapic_timer_reset(&vm->arch.timer, (uint32_t)hv_tsc_khz);
	if (!vm->arch.vapic_phys)
		return;
	memset(phys_to_virt(vm->arch.vapic_phys), 0, PAGE_SIZE);
	*reg(vm, APIC_VERSION) = APIC_VERSION_VALUE;
	*reg(vm, APIC_DFR) = 0xffffffffu;
	*reg(vm, APIC_SVR) = 0xffu; /* software-disabled, spurious vector 0xff */
	for (unsigned off = APIC_LVT_TMR; off <= APIC_LVT_ERR; off += 0x10)
		*reg(vm, off) = LVT_MASKED;
}

void lapic_raise(struct vm *vm, unsigned vector)
{
	if (!vm->arch.vapic_phys || vector < 16 || vector > 255)
		return;
	*reg(vm, APIC_IRR + 0x10 * (vector >> 5)) |= 1u << (vector & 31);
	uint64_t st = vmread(GUEST_INTR_STATUS);
	if ((st & 0xff) < vector)
		vmwrite(GUEST_INTR_STATUS, (st & ~0xffull) | vector);
}

static uint64_t guest_tsc(const struct vm *vm, uint64_t host) { return host + vm->arch.tsc_offset; }

void lapic_timer_poll(struct vm *vm, uint64_t now)
{
	int v = lapic_timer_expire(&vm->arch.timer, guest_tsc(vm, now));
	if (v >= 0) {
		lapic_raise(vm, (unsigned)v);
		vm->arch.timer_fired++;
	}
}

uint64_t lapic_timer_wake(const struct vm *vm)
{
	uint64_t d = lapic_timer_next(&vm->arch.timer);
	return d ? d - vm->arch.tsc_offset : 0; /* guest TSC back to host TSC (mod 2^64) */
}

uint64_t lapic_read_deadline(struct vm *vm) { return lapic_timer_read_deadline_msr(&vm->arch.timer); }

void lapic_write_deadline(struct vm *vm, uint64_t v) { lapic_timer_write_deadline_msr(&vm->arch.timer, v); }

/* A posted vector above the processor priority: the CPU will deliver it once the guest
 * takes interrupts (what wakes a halted guest). */
int lapic_interrupt_pending(struct vm *vm)
{
	if (!vm->arch.vapic_phys)
		return 0;
	uint64_t st = vmread(GUEST_INTR_STATUS);
	unsigned rvi = st & 0xff, svi = (st >> 8) & 0xff, tpr = *reg(vm, APIC_TPR) & 0xff;
	unsigned ppr = (tpr & 0xf0) >= (svi & 0xf0) ? tpr : (svi & 0xf0);
	return (rvi & 0xf0) > (ppr & 0xf0);
}

int lapic_extint_open(struct vm *vm)
{
	if (!(vm->arch.apic_base & APIC_BASE_ENABLE) || !vm->arch.vapic_phys)
		return 1; /* no APIC in the path: INTR goes straight to the CPU */
	uint32_t lvt0 = *reg(vm, APIC_LVT0);
	return (*reg(vm, APIC_SVR) & SVR_ENABLE) && !(lvt0 & LVT_MASKED) && (lvt0 & LVT_DM_MASK) == LVT_DM_EXTINT;
}

static void icr_write(struct vm *vm)
{
	uint32_t lo = *reg(vm, APIC_ICR_LO), dest = *reg(vm, APIC_ICR_HI) >> 24;
	*reg(vm, APIC_ICR_LO) = lo & ~ICR_BUSY; /* delivered at once */
	if ((lo & ICR_DM_MASK) != ICR_DM_FIXED)
		return; /* INIT, SIPI, NMI to other CPUs: there are none */
	unsigned sh = ICR_SHORTHAND(lo);
	/* One CPU with APIC ID 0: self, all-including-self, or addressed to 0 or broadcast. */
	if (sh == 1 || sh == 2 || (sh == 0 && (dest == 0 || dest == 0xff)))
		lapic_raise(vm, lo & 0xff);
}

enum exit_result vmx_exit_apic_write(struct vm *vm, uint32_t reason)
{
	(void)reason;
	unsigned off = APIC_QUAL_OFFSET(vmread(EXIT_QUALIFICATION)) & ~0xfu;
	uint64_t now = guest_tsc(vm, rdtsc());
	uint32_t v = *reg(vm, off);
	switch (off) {
	case APIC_LVT_TMR: lapic_timer_write_lvt(&vm->arch.timer, v, now); break;
	case APIC_TMICT: lapic_timer_write_initial(&vm->arch.timer, v, now); break;
	case APIC_TDCR: lapic_timer_write_divide(&vm->arch.timer, v, now); break;
	case APIC_ICR_LO: icr_write(vm); break;
	case APIC_ESR: *reg(vm, APIC_ESR) = 0; break; /* no errors to report */
	default: break;				      /* SVR, LDR, DFR, LVTs: the page holds them, nothing to do */
	}
	return EXIT_RESUME; /* trap-like: the write is already done */
}

enum exit_result vmx_exit_apic_access(struct vm *vm, uint32_t reason)
{
	/* What the CPU does not virtualize (the current-count register, or an access that is
	 * not a plain load or store) would need the instruction decoded: Linux with the
	 * TSC-deadline timer never does it. */
	uint64_t q = vmread(EXIT_QUALIFICATION);
	char why[96];
	hv_snprintf(why, sizeof(why), "APIC access not emulated: %s of register 0x%x",
		    APIC_QUAL_TYPE(q) == 0   ? "read"
		    : APIC_QUAL_TYPE(q) == 1 ? "write"
					     : "access",
		    APIC_QUAL_OFFSET(q));
	return vmx_stop_guest(vm, why, reason);
}
