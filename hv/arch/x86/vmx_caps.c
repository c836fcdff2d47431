/* VT-x feature probe: which of VMX, EPT, unrestricted guest, EPT A/D, PML and
 * the preemption timer this CPU offers, each missing one named in one line. */
#include <arch/cpu.h>
#include "hv.h"
#include "vm.h"
#include <arch/vmcs.h>
#include <arch/vmx.h>
#include "arch.h"

struct vmx_caps hv_vmx;

static int allowed1(uint32_t msr, uint32_t bit) { return (uint32_t)(rdmsr(msr) >> 32) & bit ? 1 : 0; }

static void probe(struct vmx_caps *c)
{
	uint32_t r[4];
	memset(c, 0, sizeof(*c));
	cpuid(1, 0, r);
	if (!(r[2] & (1u << 5))) {
		c->why_not = "CPUID.1:ECX.VMX=0: this CPU (or emulator, e.g. QEMU TCG) offers no VT-x";
		return;
	}
	uint64_t fc = rdmsr(MSR_IA32_FEATURE_CONTROL);
	if ((fc & 1) && !(fc & 4)) {
		c->why_not = "IA32_FEATURE_CONTROL is locked with VMX outside SMX disabled (firmware setting)";
		return;
	}
	c->vmx = 1;
	uint64_t basic = rdmsr(MSR_IA32_VMX_BASIC);
	int true_ctls = (basic & VMX_BASIC_TRUE_CTLS) != 0;
	uint32_t pin = true_ctls ? MSR_IA32_VMX_TRUE_PINBASED : MSR_IA32_VMX_PINBASED;
	uint32_t proc = true_ctls ? MSR_IA32_VMX_TRUE_PROCBASED : MSR_IA32_VMX_PROCBASED;
	c->preempt_timer = allowed1(pin, PIN_PREEMPT_TIMER);
	c->preempt_rate = (unsigned)(rdmsr(MSR_IA32_VMX_MISC) & VMX_MISC_PREEMPT_RATE);
	if (allowed1(proc, PROC_SECONDARY)) {
		c->ept = allowed1(MSR_IA32_VMX_PROCBASED2, PROC2_EPT);
		c->unrestricted = allowed1(MSR_IA32_VMX_PROCBASED2, PROC2_UNRESTRICTED);
		c->pml = allowed1(MSR_IA32_VMX_PROCBASED2, PROC2_PML);
		c->rdtscp = allowed1(MSR_IA32_VMX_PROCBASED2, PROC2_RDTSCP);
		c->invpcid = allowed1(MSR_IA32_VMX_PROCBASED2, PROC2_INVPCID);
		c->apicv = allowed1(proc, PROC_TPR_SHADOW) && allowed1(MSR_IA32_VMX_PROCBASED2, PROC2_VIRT_APIC) &&
			   allowed1(MSR_IA32_VMX_PROCBASED2, PROC2_APIC_REG_VIRT) &&
			   allowed1(MSR_IA32_VMX_PROCBASED2, PROC2_VINTR_DELIVERY);
	}
	if (c->ept) {
		uint64_t cap = rdmsr(MSR_IA32_VMX_EPT_VPID_CAP);
		c->ept_4level = (cap & EPT_CAP_WALK_4) != 0;
		c->ept_wb = (cap & EPT_CAP_WB) != 0;
		c->ept_ad = (cap & EPT_CAP_AD) != 0;
		c->invept = (cap & EPT_CAP_INVEPT) && (cap & EPT_CAP_INVEPT_SINGLE);
	}
	if (!c->ept_ad)
		c->pml = 0; /* PML logs D-flag transitions: useless without A/D */
	if (!c->ept)
		c->why_not = "EPT is not supported";
	else if (!c->unrestricted)
		c->why_not = "unrestricted guest is not supported";
	else if (!c->ept_4level || !c->ept_wb)
		c->why_not = "EPT lacks 4-level walks or write-back tables";
	else if (!c->preempt_timer)
		c->why_not = "the VMX preemption timer is not supported";
	else if (!c->invept)
		c->why_not = "INVEPT (single-context) is not supported";
	else if (!c->ept_ad)
		c->why_not = "EPT accessed/dirty flags are not supported (no dirty tracking)";
}

void arch_virt_print_status(const struct printer *p)
{
	struct vmx_caps *c = &hv_vmx;
	uint32_t r[4];
	char vendor[13];
	cpuid(0, 0, r);
	memcpy(vendor, &r[1], 4);
	memcpy(vendor + 4, &r[3], 4);
	memcpy(vendor + 8, &r[2], 4);
	vendor[12] = 0;
	cpuid(1, 0, r);
	pr_printf(p, "cpu: vendor=%s family=%u model=%u stepping=%u\r\n", vendor,
		  ((r[0] >> 8) & 0xf) + ((r[0] >> 20) & 0xff), ((r[0] >> 4) & 0xf) | ((r[0] >> 12) & 0xf0), r[0] & 0xf);
	if (c->why_not)
		pr_printf(p, "vmx: unavailable: %s\r\n", c->why_not);
	else
		pr_printf(p, "vmx: available\r\n");
	static const struct {
		const char *name;
		size_t off;
	} req[] = {
		{ "vmx", __builtin_offsetof(struct vmx_caps, vmx) },
		{ "ept", __builtin_offsetof(struct vmx_caps, ept) },
		{ "unrestricted-guest", __builtin_offsetof(struct vmx_caps, unrestricted) },
		{ "ept-accessed-dirty", __builtin_offsetof(struct vmx_caps, ept_ad) },
		{ "pml", __builtin_offsetof(struct vmx_caps, pml) },
		{ "preemption-timer", __builtin_offsetof(struct vmx_caps, preempt_timer) },
		{ "apic-virtualization", __builtin_offsetof(struct vmx_caps, apicv) },
	};
	for (unsigned i = 0; i < ARRAY_SIZE(req); i++)
		if (!*(const int *)((const char *)c + req[i].off))
			pr_printf(p, "missing: %s\r\n", req[i].name);
	pr_printf(p, "dirty-tracking: %s\r\n", c->why_not ? "none" : c->pml ? "pml" : "ad");
}

void arch_virt_probe(void) { probe(&hv_vmx); }

const char *arch_virt_unavailable(void) { return hv_vmx.why_not; }

void arch_virt_set_unavailable(const char *why) { hv_vmx.why_not = why; }

int arch_virt_has_pml(void) { return hv_vmx.pml; }

void arch_virt_hide_pml(void) { hv_vmx.pml = 0; }
