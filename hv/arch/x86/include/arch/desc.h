/* Selectors and descriptor-table bases of the hypervisor (host state for VMCS). */
#ifndef HV_X86_DESC_H
#define HV_X86_DESC_H
#include <stdint.h>
#define SEL_CODE 0x08
#define SEL_DATA 0x10
#define SEL_TSS	 0x18
void desc_init(void);
uint64_t desc_gdt_base(void);
uint64_t desc_idt_base(void);
uint64_t desc_tss_base(void);
#endif
