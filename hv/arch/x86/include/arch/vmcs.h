/* VMCS field encodings (Intel SDM vol. 3, appendix B), control bits, exit
 * reasons, and the VMREAD/VMWRITE wrappers. */
#ifndef HV_X86_VMCS_H
#define HV_X86_VMCS_H
#include <stdint.h>

enum vmcs_field {
	VMCS_VPID = 0x0000,
	GUEST_ES_SEL = 0x0800,
	GUEST_CS_SEL = 0x0802,
	GUEST_SS_SEL = 0x0804,
	GUEST_DS_SEL = 0x0806,
	GUEST_FS_SEL = 0x0808,
	GUEST_GS_SEL = 0x080a,
	GUEST_LDTR_SEL = 0x080c,
	GUEST_TR_SEL = 0x080e,
	GUEST_INTR_STATUS = 0x0810, /* RVI (bits 7:0) and SVI (15:8) of virtual-interrupt delivery */
	GUEST_PML_INDEX = 0x0812,
	HOST_ES_SEL = 0x0c00,
	HOST_CS_SEL = 0x0c02,
	HOST_SS_SEL = 0x0c04,
	HOST_DS_SEL = 0x0c06,
	HOST_FS_SEL = 0x0c08,
	HOST_GS_SEL = 0x0c0a,
	HOST_TR_SEL = 0x0c0c,
	IO_BITMAP_A = 0x2000,
	IO_BITMAP_B = 0x2002,
	MSR_BITMAP = 0x2004,
	EXIT_MSR_STORE_ADDR = 0x2006,
	EXIT_MSR_LOAD_ADDR = 0x2008,
	ENTRY_MSR_LOAD_ADDR = 0x200a,
	PML_ADDRESS = 0x200e,
	TSC_OFFSET = 0x2010,
	VIRTUAL_APIC_ADDR = 0x2012,
	APIC_ACCESS_ADDR = 0x2014,
	EPT_POINTER = 0x201a,
	EOI_EXIT_BITMAP0 = 0x201c,
	EOI_EXIT_BITMAP1 = 0x201e,
	EOI_EXIT_BITMAP2 = 0x2020,
	EOI_EXIT_BITMAP3 = 0x2022,
	GUEST_PHYSICAL_ADDRESS = 0x2400,
	VMCS_LINK_POINTER = 0x2800,
	GUEST_IA32_DEBUGCTL = 0x2802,
	GUEST_IA32_PAT = 0x2804,
	GUEST_IA32_EFER = 0x2806,
	HOST_IA32_PAT = 0x2c00,
	HOST_IA32_EFER = 0x2c02,
	PIN_BASED_CTLS = 0x4000,
	PROC_BASED_CTLS = 0x4002,
	EXCEPTION_BITMAP = 0x4004,
	PF_ERROR_MASK = 0x4006,
	PF_ERROR_MATCH = 0x4008,
	CR3_TARGET_COUNT = 0x400a,
	EXIT_CTLS = 0x400c,
	EXIT_MSR_STORE_COUNT = 0x400e,
	EXIT_MSR_LOAD_COUNT = 0x4010,
	ENTRY_CTLS = 0x4012,
	ENTRY_MSR_LOAD_COUNT = 0x4014,
	ENTRY_INTR_INFO = 0x4016,
	ENTRY_EXCEPTION_ERROR = 0x4018,
	ENTRY_INSTR_LEN = 0x401a,
	TPR_THRESHOLD = 0x401c,
	PROC_BASED_CTLS2 = 0x401e,
	VM_INSTRUCTION_ERROR = 0x4400,
	EXIT_REASON = 0x4402,
	EXIT_INTR_INFO = 0x4404,
	EXIT_INTR_ERROR = 0x4406,
	IDT_VECTORING_INFO = 0x4408,
	IDT_VECTORING_ERROR = 0x440a,
	EXIT_INSTR_LEN = 0x440c,
	EXIT_INSTR_INFO = 0x440e,
	GUEST_ES_LIMIT = 0x4800,
	GUEST_CS_LIMIT = 0x4802,
	GUEST_SS_LIMIT = 0x4804,
	GUEST_DS_LIMIT = 0x4806,
	GUEST_FS_LIMIT = 0x4808,
	GUEST_GS_LIMIT = 0x480a,
	GUEST_LDTR_LIMIT = 0x480c,
	GUEST_TR_LIMIT = 0x480e,
	GUEST_GDTR_LIMIT = 0x4810,
	GUEST_IDTR_LIMIT = 0x4812,
	GUEST_ES_AR = 0x4814,
	GUEST_CS_AR = 0x4816,
	GUEST_SS_AR = 0x4818,
	GUEST_DS_AR = 0x481a,
	GUEST_FS_AR = 0x481c,
	GUEST_GS_AR = 0x481e,
	GUEST_LDTR_AR = 0x4820,
	GUEST_TR_AR = 0x4822,
	GUEST_INTERRUPTIBILITY = 0x4824,
	GUEST_ACTIVITY_STATE = 0x4826,
	GUEST_SYSENTER_CS = 0x482a,
	GUEST_PREEMPTION_TIMER = 0x482e,
	HOST_IA32_SYSENTER_CS = 0x4c00,
	CR0_GUEST_HOST_MASK = 0x6000,
	CR4_GUEST_HOST_MASK = 0x6002,
	CR0_READ_SHADOW = 0x6004,
	CR4_READ_SHADOW = 0x6006,
	EXIT_QUALIFICATION = 0x6400,
	GUEST_LINEAR_ADDRESS = 0x640a,
	GUEST_CR0 = 0x6800,
	GUEST_CR3 = 0x6802,
	GUEST_CR4 = 0x6804,
	GUEST_ES_BASE = 0x6806,
	GUEST_CS_BASE = 0x6808,
	GUEST_SS_BASE = 0x680a,
	GUEST_DS_BASE = 0x680c,
	GUEST_FS_BASE = 0x680e,
	GUEST_GS_BASE = 0x6810,
	GUEST_LDTR_BASE = 0x6812,
	GUEST_TR_BASE = 0x6814,
	GUEST_GDTR_BASE = 0x6816,
	GUEST_IDTR_BASE = 0x6818,
	GUEST_DR7 = 0x681a,
	GUEST_RSP = 0x681c,
	GUEST_RIP = 0x681e,
	GUEST_RFLAGS = 0x6820,
	GUEST_PENDING_DBG = 0x6822,
	GUEST_SYSENTER_ESP = 0x6824,
	GUEST_SYSENTER_EIP = 0x6826,
	HOST_CR0 = 0x6c00,
	HOST_CR3 = 0x6c02,
	HOST_CR4 = 0x6c04,
	HOST_FS_BASE = 0x6c06,
	HOST_GS_BASE = 0x6c08,
	HOST_TR_BASE = 0x6c0a,
	HOST_GDTR_BASE = 0x6c0c,
	HOST_IDTR_BASE = 0x6c0e,
	HOST_SYSENTER_ESP = 0x6c10,
	HOST_SYSENTER_EIP = 0x6c12,
	HOST_RSP = 0x6c14,
	HOST_RIP = 0x6c16,
};

/* Pin-based */
#define PIN_EXT_INTR_EXIT    (1u << 0)
#define PIN_NMI_EXIT	     (1u << 3)
#define PIN_PREEMPT_TIMER    (1u << 6)
#define PIN_POSTED_INTR	     (1u << 7)
/* Primary processor-based */
#define PROC_INTR_WINDOW     (1u << 2)
#define PROC_TSC_OFFSETTING  (1u << 3)
#define PROC_HLT_EXIT	     (1u << 7)
#define PROC_MWAIT_EXIT	     (1u << 10)
#define PROC_CR3_LOAD_EXIT   (1u << 15)
#define PROC_CR3_STORE_EXIT  (1u << 16)
#define PROC_CR8_LOAD_EXIT   (1u << 19)
#define PROC_CR8_STORE_EXIT  (1u << 20)
#define PROC_TPR_SHADOW	     (1u << 21)
#define PROC_MONITOR_EXIT    (1u << 29)
#define PROC_UNCOND_IO_EXIT  (1u << 24)
#define PROC_USE_MSR_BITMAPS (1u << 28)
#define PROC_SECONDARY	     (1u << 31)
/* Secondary processor-based */
#define PROC2_VIRT_APIC	     (1u << 0)
#define PROC2_EPT	     (1u << 1)
#define PROC2_RDTSCP	     (1u << 3)
#define PROC2_APIC_REG_VIRT  (1u << 8)
#define PROC2_VINTR_DELIVERY (1u << 9)
#define PROC2_INVPCID	     (1u << 12)
#define PROC2_UNRESTRICTED   (1u << 7)
#define PROC2_PML	     (1u << 17)
/* Exit controls */
#define EXIT_HOST_64	     (1u << 9)
#define EXIT_ACK_INTR	     (1u << 15)
#define EXIT_SAVE_PAT	     (1u << 18)
#define EXIT_LOAD_PAT	     (1u << 19)
#define EXIT_SAVE_EFER	     (1u << 20)
#define EXIT_LOAD_EFER	     (1u << 21)
#define EXIT_SAVE_PREEMPT    (1u << 22)
/* Entry controls */
#define ENTRY_IA32E	     (1u << 9)
#define ENTRY_LOAD_PAT	     (1u << 14)
#define ENTRY_LOAD_EFER	     (1u << 15)

/* IA32_VMX_BASIC and IA32_VMX_EPT_VPID_CAP (SDM vol. 3, appendix A). */
#define VMX_BASIC_REVISION_MASK 0x7fffffffull
#define VMX_BASIC_TRUE_CTLS	(1ull << 55)
#define VMX_MISC_PREEMPT_RATE	0x1full
#define EPT_CAP_WALK_4		(1ull << 6)
#define EPT_CAP_WB		(1ull << 14)
#define EPT_CAP_INVEPT		(1ull << 20)
#define EPT_CAP_AD		(1ull << 21)
#define EPT_CAP_INVEPT_SINGLE	(1ull << 25)

/* Guest segment access rights (the VMCS format of a descriptor's type byte and flags). */
#define SEG_AR_DATA32	0xc093u /* 32-bit, 4 KiB granular, present, read/write, accessed */
#define SEG_AR_CODE32	0xc09bu /* 32-bit, 4 KiB granular, present, execute/read, accessed */
#define SEG_AR_TSS32	0x8bu	/* present, 32-bit busy TSS */
#define SEG_AR_UNUSABLE 0x10000u
#define DR7_RESET	0x400u

/* EXIT_REASON: the basic reason in bits 15:0; bit 31 set when VM entry itself failed. */
#define EXIT_REASON_BASIC(r)   ((r)&0xffffu)
#define EXIT_REASON_ENTRY_FAIL (1u << 31)

/* VM-entry interruption information (ENTRY_INTR_INFO) and IDT-vectoring information. */
#define INTR_INFO_VECTOR(v)    ((uint32_t)(v)&0xffu)
#define INTR_TYPE_MASK	       (7u << 8)
#define INTR_TYPE_EXT_INTR     (0u << 8)
#define INTR_TYPE_NMI	       (2u << 8)
#define INTR_TYPE_HW_EXCEPTION (3u << 8)
#define INTR_TYPE_SW_INTR      (4u << 8)
#define INTR_INFO_DELIVER_ERR  (1u << 11)
#define INTR_INFO_VALID	       (1u << 31)
#define VECTOR_UD	       6u
#define VECTOR_GP	       13u
/* Guest interruptibility state. */
#define INTERRUPTIBILITY_STI   (1u << 0)
#define INTERRUPTIBILITY_MOVSS (1u << 1)
/* Exit qualification of a control-register access (SDM vol. 3, table 28-3). */
#define CR_QUAL_CR(q)	       ((unsigned)(q)&15u)
#define CR_QUAL_TYPE(q)	       ((unsigned)((q) >> 4) & 3u) /* 0 mov to CR, 1 mov from CR, 2 CLTS, 3 LMSW */
#define CR_QUAL_REG(q)	       ((unsigned)((q) >> 8) & 15u)
/* Exit qualification of an APIC access: the page offset, and the kind (bits 15:12). */
#define APIC_QUAL_OFFSET(q)    ((unsigned)(q)&0xfffu)
#define APIC_QUAL_TYPE(q)      ((unsigned)((q) >> 12) & 15u) /* 0 linear read, 1 linear write, 2 fetch */
/* Exit qualification of an EPT violation. */
#define EPT_QUAL_READ	       (1u << 0)
#define EPT_QUAL_WRITE	       (1u << 1)
#define EPT_QUAL_FETCH	       (1u << 2)
#define EPT_QUAL_LINEAR_VALID  (1u << 7)

/* Exit qualification of an I/O instruction (SDM vol. 3, table 28-5). */
#define IO_QUAL_SIZE(q) ((unsigned)((q)&7u) + 1u) /* 1, 2 or 4 bytes */
#define IO_QUAL_IN	(1u << 3)
#define IO_QUAL_STRING	(1u << 4)
#define IO_QUAL_PORT(q) ((uint16_t)((q) >> 16))

enum exit_reason {
	EXIT_EXCEPTION = 0,
	EXIT_EXT_INTR = 1,
	EXIT_TRIPLE_FAULT = 2,
	EXIT_INIT = 3,
	EXIT_SIPI = 4,
	EXIT_INTR_WINDOW = 7,
	EXIT_CPUID = 10,
	EXIT_HLT = 12,
	EXIT_INVD = 13,
	EXIT_RDTSC = 16,
	EXIT_VMCALL = 18,
	EXIT_CR_ACCESS = 28,
	EXIT_IO = 30,
	EXIT_RDMSR = 31,
	EXIT_WRMSR = 32,
	EXIT_INVALID_GUEST = 33,
	EXIT_MSR_LOADING = 34,
	EXIT_MWAIT = 36,
	EXIT_MONITOR = 39,
	EXIT_PAUSE = 40,
	EXIT_APIC_ACCESS = 44,
	EXIT_EPT_VIOLATION = 48,
	EXIT_EPT_MISCONFIG = 49,
	EXIT_PREEMPT_TIMER = 52,
	EXIT_XSETBV = 55,
	EXIT_APIC_WRITE = 56,
	EXIT_PML_FULL = 62,
};

/* VMX instructions report failure in CF/ZF; these return 0 on success. */
static inline int vmwrite(uint64_t field, uint64_t value)
{
	uint8_t err;
	__asm__ volatile("vmwrite %2, %1; setbe %0" : "=q"(err) : "r"(field), "rm"(value) : "cc", "memory");
	return err;
}
static inline uint64_t vmread(uint64_t field)
{
	uint64_t v = 0;
	__asm__ volatile("vmread %1, %0" : "=rm"(v) : "r"(field) : "cc");
	return v;
}
static inline int vmptrld(uint64_t phys)
{
	uint8_t err;
	__asm__ volatile("vmptrld %1; setbe %0" : "=q"(err) : "m"(phys) : "cc", "memory");
	return err;
}
static inline int vmclear(uint64_t phys)
{
	uint8_t err;
	__asm__ volatile("vmclear %1; setbe %0" : "=q"(err) : "m"(phys) : "cc", "memory");
	return err;
}
static inline int vmxon(uint64_t phys)
{
	uint8_t err;
	__asm__ volatile("vmxon %1; setbe %0" : "=q"(err) : "m"(phys) : "cc", "memory");
	return err;
}
static inline int invept_single(uint64_t eptp)
{
	struct {
		uint64_t eptp, rsvd;
	} desc = { eptp, 0 };
	uint8_t err;
	__asm__ volatile("invept %1, %2; setbe %0" : "=q"(err) : "m"(desc), "r"(1ull) : "cc", "memory");
	return err;
}

#endif
