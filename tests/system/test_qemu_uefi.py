#!/usr/bin/env python3
"""System test of the UEFI boot path: QEMU + OVMF (TCG) boots build/esp, the loader
(BOOTX64.EFI) loads hv.elf and the Linux guest's images (\\linux, \\initrd: boot modules)
and leaves boot services, the hypervisor comes up on COM1 without VT-x, lists the boot
modules with the sizes of the files on the ESP, answers `status` with
`vmx: unavailable: REASON`, and `poweroff` ends QEMU.

Run by `make test-system-qemu`:
    python3 tests/system/test_qemu_uefi.py --esp build/esp --workdir build/systest-qemu
Prints PASS/FAIL lines and `N passed, N failed`; exit status 0 only if all passed.
The serial log is WORKDIR/serial.log, QEMU's own output WORKDIR/qemu.log.
"""
import os
import re
import shutil
import time

import systest
from systest import ConsoleError, ConsoleTimeout


def first_line(text):
    return text.strip().splitlines()[0] if text.strip() else ""


MODULE_LINE = r"{who} {name}: (\d+) bytes at (0x[0-9a-fA-F]+)"


def module_sizes(esp, names):
    """{name: size of the file \\name on the ESP, or None if it is not there}."""
    sizes = {}
    for name in names:
        path = os.path.join(esp, name)
        sizes[name] = os.path.getsize(path) if os.path.isfile(path) else None
    return sizes


def check_loader_modules(t, con, sizes, end):
    """Each expected module has its loader line with the file's size; returns
    {name: address} of those loaded."""
    addrs = {}
    for name, size in sizes.items():
        label = f"loader loads \\{name} as module {name}"
        if size is None:
            t.check(label, False, f"no {name} on the ESP (make uefi copies it there; --modules to change)")
            continue
        line = MODULE_LINE.format(who="module", name=re.escape(name))
        found = con.find_all(f"^hvloader: {line}", end=end)
        if not found:
            said = [m.group(0) for _, m in con.find_all(rf"^hvloader: .*\\{re.escape(name)}\b", end=end)]
            t.check(label, False, said[0] if said else f"no 'hvloader: module {name}:' line")
            continue
        m = found[0][1]
        addrs[name] = int(m.group(2), 16)
        t.check(label, int(m.group(1)) == size, f"{m.group(0)}; the file has {size} bytes")
    return addrs


def check_hv_modules(t, con, sizes, addrs, since):
    """The hypervisor lists each module the loader loaded: same size and address."""
    for name, size in sizes.items():
        if name not in addrs:
            continue  # already failed in check_loader_modules
        label = f"hypervisor has boot module {name}"
        line = MODULE_LINE.format(who="boot module", name=re.escape(name))
        found = con.find_all(rf"^\[hv\] {line}$", since=since)
        if not found:
            t.check(label, False, f"no '[hv] boot module {name}:' line")
            continue
        m = found[0][1]
        good = int(m.group(1)) == size and int(m.group(2), 16) == addrs[name]
        t.check(label, good, f"{m.group(0)}; file {size} bytes, loader put it at 0x{addrs[name]:x}")


def checks(t):
    args = t.args
    # The test boots a copy of the ESP with its own \hv.cfg: exit_on_panic=1
    # makes `poweroff` end the emulator (otherwise the hypervisor just halts),
    # and QEMU's fat:rw: never writes into the build tree.
    esp = os.path.join(args.workdir, "esp")
    shutil.rmtree(esp, ignore_errors=True)
    shutil.copytree(args.esp, esp)
    with open(os.path.join(esp, "hv.cfg"), "w") as f:
        f.write(args.cfg + "\n")
    sizes = module_sizes(esp, [n for n in args.modules.split(",") if n])
    serial_log = os.path.join(args.workdir, "serial.log")
    # The whole run is bounded by `timeout` around QEMU; the steps below have
    # their own shorter limits so a failure names the step.
    inst = t.qemu(esp, args.workdir, memory=args.memory, timeout=args.timeout)
    try:
        # QEMU discards COM1 output while nobody is connected, so connect
        # early: OVMF under TCG needs several seconds before the loader runs.
        con = t.console("127.0.0.1", inst.serial_port, log_path=serial_log, log_mode="wb", deadline=20)
    except ConsoleError as e:
        t.check("connect to COM1", False, str(e))
        return

    # 1. The loader runs and reports its progress.
    try:
        # The first loader line shows the loader started at all.
        con.wait_for(r"^hvloader: ", timeout=args.boot_timeout, since=0)
        _, m = con.wait_for_line(r"hvloader: (exiting boot services|error: .*)", timeout=60, since=0)
        loading = con.find_all(r"^hvloader: loading hv\.elf")
        good = m.group(1) == "exiting boot services" and bool(loading)
        t.check(
            "loader progress lines", good, m.group(0) if loading else "no 'hvloader: loading hv.elf' line"
        )
        if not good:
            return
        ebs_index = con.cursor
    except ConsoleTimeout as e:
        t.check("loader progress lines", False, str(e))
        return

    # 1b. The loader read the guest images from the ESP (all before it left boot services).
    addrs = check_loader_modules(t, con, sizes, ebs_index)

    # 2. The hypervisor takes over after ExitBootServices.
    try:
        con.wait_for(r"^\[hv\] ", timeout=30, since=ebs_index)
        con.wait_for(r"^\[hv\] console ready$", timeout=60)
        con.wait_for(r"hv> $", timeout=10, partial=True)
        hv_lines = [ln for ln in con.lines_since(ebs_index) if ln.startswith("[hv] ")]
        t.check(
            "hypervisor up after boot services", True, f"{len(hv_lines)} [hv] lines, last: {hv_lines[-1]}"
        )
    except ConsoleTimeout as e:
        t.check("hypervisor up after boot services", False, str(e))
        return

    # 2b. The boot info carried them: the hypervisor lists (and reserves) each module.
    check_hv_modules(t, con, sizes, addrs, ebs_index)

    # 3. `status` says VT-x is unavailable (TCG has no VMX) and why.
    try:
        ok, reply = con.command("status", timeout=15, eol="\n")
        vmx = [ln for ln in reply if ln.startswith("vmx:")]
        good = ok and len(vmx) == 1 and re.match(r"^vmx: unavailable: \S", vmx[0])
        t.check(
            "status reports vmx unavailable with a reason",
            bool(good),
            f"{vmx[0] if vmx else 'no vmx: line'}; final {con.last_final!r}",
        )
    except ConsoleTimeout as e:
        t.check("status reports vmx unavailable with a reason", False, str(e))

    # 3b. Without VT-x the hypervisor refuses to run guests, saying why.
    try:
        ok, reply = con.command("vm start 1", timeout=15, eol="\n")
        final = con.last_final or ""
        good = (not ok) and final.startswith("error: guests cannot run here: ") and "VMX" in final
        t.check("vm start refused with the VT-x reason", good, f"final {final!r}")
    except ConsoleTimeout as e:
        t.check("vm start refused with the VT-x reason", False, str(e))

    # 4. `poweroff` ends QEMU by itself (isa-debug-exit), well before the
    # timeout wrapper would.
    try:
        con.send_line("poweroff", eol="\n")
    except ConsoleError as e:
        t.check("poweroff exits QEMU", False, str(e))
        return
    t0 = time.monotonic()
    try:
        rc = inst.proc.wait(timeout=30)
    except Exception:
        rc = None
    took = time.monotonic() - t0
    if rc is None:
        t.check("poweroff exits QEMU", False, "QEMU still running 30 s after poweroff")
    elif rc in (124, 137):
        t.check(
            "poweroff exits QEMU", False, f"QEMU was killed by the {args.timeout} s timeout (status {rc})"
        )
    else:
        t.check("poweroff exits QEMU", True, f"status {rc} after {took:.1f} s")


def options(ap):
    ap.add_argument("--memory", type=int, default=256, help="guest RAM in MiB")
    ap.add_argument(
        "--boot-timeout", type=int, default=90, help="seconds allowed from start to the loader's first line"
    )
    ap.add_argument(
        "--cfg", default="console=115200 exit_on_panic=1", help="the \\hv.cfg line the test boots with"
    )
    ap.add_argument(
        "--modules",
        default="linux,initrd",
        help="comma-separated boot modules the ESP must hold and the loader must load ('' for none)",
    )


if __name__ == "__main__":
    # --timeout: hard limit for the whole QEMU run in seconds
    systest.main(
        checks,
        __doc__,
        timeout=240,
        image="esp",
        default_image="build/esp",
        default_workdir="build/systest-qemu",
        options=options,
    )
