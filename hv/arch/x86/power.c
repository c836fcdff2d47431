/* Stopping the machine. On emulators under test (exit_on_panic=1) it uses their
 * exit ports so a run ends by itself with a status; otherwise it halts. */
#include <arch/cpu.h>
#include "hv.h"

int hv_emulator_exits;

void hv_halt_machine(int failed)
{
	cli();
	if (hv_emulator_exits) {
		if (!failed) {
			/* Bochs: magic breakpoint, the rc file's "quit" ends with status 0. */
			__asm__ volatile("xchg %bx, %bx");
			/* QEMU q35 with OVMF: ACPI PM1a control at 0x604, S5. */
			outw(0x604, 0x2000);
			/* QEMU isa-debug-exit: status (0 << 1) | 1. */
			outb(0xf4, 0);
		} else {
			/* Bochs: "Shutdown" to port 0x8900 exits with status 1. */
			const char *s = "Shutdown";
			while (*s)
				outb(0x8900, (uint8_t)*s++);
			outb(0xf4, 1); /* QEMU: status 3 */
		}
	}
	hv_event("machine halted%s", failed ? " after a failure" : "");
	for (;;)
		hlt();
}
