#!/usr/bin/env python3
"""System test of the UEFI boot path: QEMU + OVMF (TCG) boots build/esp, the loader
(BOOTX64.EFI) loads hv.elf and leaves boot services, the hypervisor comes up on COM1
without VT-x, answers `status` with `vmx: unavailable: REASON`, and `poweroff` ends QEMU.

Run by `make test-system-qemu`:
    python3 tests/system/test_qemu_uefi.py --esp build/esp --workdir build/systest-qemu
Prints PASS/FAIL lines and `N passed, N failed`; exit status 0 only if all passed.
The serial log is WORKDIR/serial.log, QEMU's own output WORKDIR/qemu.log.
"""
import argparse
import importlib.machinery
import importlib.util
import os
import re
import shutil
import socket
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools"))
from hvconsole import Console, ConsoleError, ConsoleTimeout  # noqa: E402


def load_launcher():
    """tools/launch-qemu-ovmf has no .py suffix, so it is loaded by path."""
    path = os.path.join(ROOT, "tools", "launch-qemu-ovmf")
    loader = importlib.machinery.SourceFileLoader("launch_qemu_ovmf", path)
    spec = importlib.util.spec_from_loader(loader.name, loader)
    mod = importlib.util.module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Results:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        if ok:
            self.passed += 1
            print(f"PASS {name}" + (f": {detail}" if detail else ""), flush=True)
        else:
            self.failed += 1
            print(f"FAIL {name}" + (f": {detail}" if detail else ""), flush=True)
        return ok


def first_line(text):
    return text.strip().splitlines()[0] if text.strip() else ""


def run(args, res):
    launcher = load_launcher()
    os.makedirs(args.workdir, exist_ok=True)
    # The test boots a copy of the ESP with its own \hv.cfg: exit_on_panic=1
    # makes `poweroff` end the emulator (otherwise the hypervisor just halts),
    # and QEMU's fat:rw: never writes into the build tree.
    esp = os.path.join(args.workdir, "esp")
    shutil.rmtree(esp, ignore_errors=True)
    shutil.copytree(args.esp, esp)
    with open(os.path.join(esp, "hv.cfg"), "w") as f:
        f.write(args.cfg + "\n")
    serial_log = os.path.join(args.workdir, "serial.log")
    port = free_port()
    # The whole run is bounded by `timeout` around QEMU; the steps below have
    # their own shorter limits so a failure names the step.
    proc = launcher.start_qemu(esp, args.workdir, memory=args.memory,
                               serial_port=port, timeout=args.timeout)
    print(f"# QEMU pid {proc.pid}, COM1 on 127.0.0.1:{port}, logs in {args.workdir}",
          flush=True)
    con = None
    try:
        try:
            # QEMU discards COM1 output while nobody is connected, so connect
            # early: OVMF under TCG needs several seconds before the loader runs.
            con = Console("127.0.0.1", port, log_path=serial_log, log_mode="wb",
                          deadline=20)
        except ConsoleError as e:
            res.check("connect to COM1", False, str(e))
            return

        # 1. The loader runs and reports its progress.
        try:
            # The first loader line shows the loader started at all.
            con.wait_for(r"^hvloader: ", timeout=args.boot_timeout, since=0)
            _, m = con.wait_for_line(r"hvloader: (exiting boot services|error: .*)",
                                     timeout=60, since=0)
            loading = con.find_all(r"^hvloader: loading hv\.elf")
            good = m.group(1) == "exiting boot services" and bool(loading)
            res.check("loader progress lines", good,
                      m.group(0) if loading else "no 'hvloader: loading hv.elf' line")
            if not good:
                return
            ebs_index = con.cursor
        except ConsoleTimeout as e:
            res.check("loader progress lines", False, str(e))
            return

        # 2. The hypervisor takes over after ExitBootServices.
        try:
            con.wait_for(r"^\[hv\] ", timeout=30, since=ebs_index)
            con.wait_for(r"^\[hv\] console ready$", timeout=60)
            con.wait_for(r"hv> $", timeout=10, partial=True)
            hv_lines = [l for l in con.lines_since(ebs_index) if l.startswith("[hv] ")]
            res.check("hypervisor up after boot services", True,
                      f"{len(hv_lines)} [hv] lines, last: {hv_lines[-1]}")
        except ConsoleTimeout as e:
            res.check("hypervisor up after boot services", False, str(e))
            return

        # 3. `status` says VT-x is unavailable (TCG has no VMX) and why.
        try:
            ok, reply = con.command("status", timeout=15, eol="\n")
            vmx = [l for l in reply if l.startswith("vmx:")]
            good = ok and len(vmx) == 1 and re.match(r"^vmx: unavailable: \S", vmx[0])
            res.check("status reports vmx unavailable with a reason", bool(good),
                      f"{vmx[0] if vmx else 'no vmx: line'}; final {con.last_final!r}")
        except ConsoleTimeout as e:
            res.check("status reports vmx unavailable with a reason", False, str(e))

        # 3b. Without VT-x the hypervisor refuses to run guests, saying why.
        try:
            ok, reply = con.command("vm start 1", timeout=15, eol="\n")
            final = con.last_final or ""
            good = (not ok) and final.startswith("error: guests cannot run here: ") and "VMX" in final
            res.check("vm start refused with the VT-x reason", good, f"final {final!r}")
        except ConsoleTimeout as e:
            res.check("vm start refused with the VT-x reason", False, str(e))

        # 4. `poweroff` ends QEMU by itself (isa-debug-exit), well before the
        # timeout wrapper would.
        try:
            con.send_line("poweroff", eol="\n")
        except ConsoleError as e:
            res.check("poweroff exits QEMU", False, str(e))
            return
        t0 = time.monotonic()
        try:
            rc = proc.wait(timeout=30)
        except Exception:
            rc = None
        took = time.monotonic() - t0
        if rc is None:
            res.check("poweroff exits QEMU", False, "QEMU still running 30 s after poweroff")
        elif rc in (124, 137):
            res.check("poweroff exits QEMU", False,
                      f"QEMU was killed by the {args.timeout} s timeout (status {rc})")
        else:
            res.check("poweroff exits QEMU", True, f"status {rc} after {took:.1f} s")
    finally:
        if con is not None:
            con.close()
        rc = launcher.stop_qemu(proc)
        print(f"# QEMU ended with status {rc}", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--esp", default="build/esp")
    ap.add_argument("--workdir", default="build/systest-qemu")
    ap.add_argument("--memory", type=int, default=256, help="guest RAM in MiB")
    ap.add_argument("--timeout", type=int, default=240,
                    help="hard limit for the whole QEMU run in seconds")
    ap.add_argument("--boot-timeout", type=int, default=90,
                    help="seconds allowed from start to the loader's first line")
    ap.add_argument("--cfg", default="console=115200 exit_on_panic=1",
                    help="the \\hv.cfg line the test boots with")
    args = ap.parse_args()
    res = Results()
    try:
        run(args, res)
    except (OSError, ValueError) as e:
        res.check("start QEMU", False, str(e))
    print(f"{res.passed} passed, {res.failed} failed", flush=True)
    return 0 if res.failed == 0 and res.passed > 0 else 1


if __name__ == "__main__":
    sys.exit(main())
