/* A guest: its memory, EPT, dirty tracker, console line and the lifecycle the console
 * drives (created, running, paused, parked, stopped, failed); the CPU-specific part
 * (control structure, registers) is vm->arch, defined by the architecture layer. */
#ifndef HV_VM_H
#define HV_VM_H
#include <stdint.h>
#include "ept.h"
#include "dirty.h"
#include "console.h"
#include <arch/vm_arch.h>

enum vm_state {
	VMS_CREATED,
	VMS_RUNNING,
	VMS_PAUSED,
	VMS_PARKED,
	VMS_STOPPED,
	VMS_FAILED,
	VMS_INCOMING /* receiving a migration: never runs before the source's commit */
};

#define VM_MAX	     8
/* Room for the architecture's vCPU and device state (arch_vm_state_size() is at most this). */
#define VM_STATE_MAX 16384 /* as MIG_STATE_MAX: what a migration can carry */

struct vm {
	int in_use; /* the slot holds a VM (ids are never reused) */
	unsigned id;
	enum vm_state state;
	uint32_t mode; /* enum guest_mode */
	/* The guest has a local APIC (a Linux guest): APIC virtualization, a virtual-APIC
	 * page and the APIC page mapped. The test guest has none: it takes no interrupts. */
	int has_lapic;
	uint64_t mem_pages;
	uint64_t *page_hpa; /* host frame of each guest page */
	uint64_t page_hpa_pages;
	struct ept ept;
	struct dirty_tracker dirty;
	uint64_t *dirty_out; /* scratch bitmap for dirty_collect */
	uint64_t bitmap_pages;
	uint64_t exits;	       /* all VM exits; by reason in arch */
	uint64_t wake_tsc;     /* HLT: not scheduled before this TSC value */
	int migrating;	       /* the migration engine owns its dirty log and state */
	unsigned throttle_pct; /* share of time slices withheld (a guest outrunning the link) */
	unsigned throttle_acc;
	char linux_args[256];  /* a Linux guest's extra kernel arguments */
	char linux_kernel[32]; /* boot module names of its kernel and initrd ("none") */
	char linux_initrd[32];
	char out[640]; /* guest console line being assembled (a 64-page WSET line is ~540) */
	unsigned outlen;
	struct vm_arch arch;
};

extern struct vm hv_vms[VM_MAX];
extern const struct console_ops hv_console_ops;

/* Every VM in a slot, in slot order. */
#define for_each_vm(it)                                                                                                \
	for (struct vm *it = hv_vms; it < hv_vms + VM_MAX; it++)                                                       \
		if ((it)->in_use)

/* A new VM in a free slot (*out), or an error with nothing held: a VM that cannot be
 * built completely returns every page it took. */
int vm_create(uint32_t mode, struct vm **out);
int vm_create_sized(uint32_t mode, uint64_t mem_pages, struct vm **out);
/* mem_mib 0: the mode's default size (vm_mem_kib, or linux_mem_mib for a Linux guest). */
int vm_create_mode(uint32_t mode, unsigned mem_mib, struct vm **out);
/* Returns all of a VM's memory and its slot (its id is not reused). Only a VM that is
 * not running and holds nothing of a guest: created, or stopped/failed and scrubbed. */
void vm_destroy(struct vm *vm);
/* Zero-fills all guest memory and register state and reads it back. */
int vm_scrub(struct vm *vm);
int vm_start(struct vm *vm);
/* Copies len bytes into guest-physical memory; HV_ERANGE past the guest's RAM. */
int vm_copy_to_guest(struct vm *vm, uint64_t gpa, const void *src, uint64_t len);
/* Places the boot modules' Linux kernel, initrd, command line and zero page in the guest
 * and sets its vCPU at the kernel's 32-bit entry (vm_linux.c). */
int vm_linux_load(struct vm *vm);
struct vm *vm_by_id(unsigned id);
const char *vm_state_name(enum vm_state s);
void vm_fail(struct vm *vm, const char *why);
void vm_park(struct vm *vm);
void sched_loop(void) __attribute__((noreturn));

#endif
