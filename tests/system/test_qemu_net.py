#!/usr/bin/env python3
"""The hypervisor's network on the UEFI path: two QEMU+OVMF instances (TCG, no
VT-x) with e1000 NICs joined by a UDP socket link. Proves the e1000 driver and
the TCP stack under QEMU as well as Bochs (a migration needs VT-x, which TCG
lacks, so this stops at a verified TCP echo both ways).

  python3 tests/system/test_qemu_net.py --esp build/esp --workdir build/systest-qemu-net

Prints PASS/FAIL lines and `N passed, N failed`; exit 0 only if all passed.
"""
import argparse
import importlib.machinery
import importlib.util
import os
import random
import re
import shutil
import socket
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
TOOLS = os.path.join(HERE, "..", "..", "tools")
sys.path.insert(0, TOOLS)
from hvconsole import Console, ConsoleTimeout  # noqa: E402

loader = importlib.machinery.SourceFileLoader("launch_qemu_ovmf", os.path.join(TOOLS, "launch-qemu-ovmf"))
spec = importlib.util.spec_from_loader("launch_qemu_ovmf", loader)
lq = importlib.util.module_from_spec(spec)
loader.exec_module(lq)


def free_ports(n):
    ports, socks = [], []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        ports.append(s.getsockname()[1])
        socks.append(s)
    for s in socks:
        s.close()
    return ports


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--esp", required=True)
    ap.add_argument("--workdir", required=True)
    a = ap.parse_args()
    os.makedirs(a.workdir, exist_ok=True)
    passed = failed = 0

    def check(name, ok, detail=""):
        nonlocal passed, failed
        print("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""), flush=True)
        passed += bool(ok)
        failed += not ok

    sa, sb = free_ports(2)
    ua = random.randrange(30000, 40000)
    ub = ua + 7
    procs, cons = [], []
    for name in ("a", "b"):  # logs of earlier runs must not count
        try:
            os.remove(os.path.join(a.workdir, name + ".serial"))
        except FileNotFoundError:
            pass
    # B's ESP copy: address and PSK from the boot configuration (a fresh random PSK, so
    # finding it in the log could only mean it was echoed).
    psk_hex = os.urandom(32).hex()
    esp_b = os.path.join(a.workdir, "esp-b")
    shutil.rmtree(esp_b, ignore_errors=True)
    shutil.copytree(a.esp, esp_b)
    with open(os.path.join(esp_b, "hv.cfg"), "w") as f:
        f.write("console=115200 ip=192.0.2.2/24 psk=%s\n" % psk_hex)
    try:
        for name, serial, mine, peer, mac, esp in (("a", sa, ua, ub, "52:54:00:00:01:0a", a.esp),
                                                   ("b", sb, ub, ua, "52:54:00:00:01:0b", esp_b)):
            wd = os.path.join(a.workdir, name)
            os.makedirs(wd, exist_ok=True)
            extra = ["-netdev", "socket,id=n0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (peer, mine),
                     "-device", "e1000,netdev=n0,mac=%s" % mac]
            procs.append(lq.start_qemu(esp, workdir=wd, serial_port=serial, timeout=240, extra_args=extra))
        for name, serial in (("a", sa), ("b", sb)):
            cons.append(Console("127.0.0.1", serial, log_path=os.path.join(a.workdir, name + ".serial"), deadline=60))
        for c in cons:
            c.wait_for(r"^\[hv\] console ready", timeout=120, since=0)
        mark = cons[0].mark()
        ok, _ = cons[0].command("net up 192.0.2.1/24", timeout=30, eol="\n")
        try:
            line = cons[0].wait_for(r"^\[hv\] net: e1000 .* link (up|down)", timeout=30, since=mark).group(0)
        except ConsoleTimeout:
            line, ok = "no net line", False
        check("net up 192.0.2.1/24 under QEMU+OVMF (UEFI boot)", ok, line)
        try:
            line = cons[1].wait_for(r"^\[hv\] net: e1000 .* link (up|down)", timeout=30, since=0).group(0)
        except ConsoleTimeout:
            line = "no net line at boot"
        ok, out = cons[1].command("net status", timeout=30, eol="\n")
        out = " | ".join(out)
        check("B's network up from \\hv.cfg ip=192.0.2.2/24 at boot, no console command", ok and "192.0.2.2" in out,
              (line + " | " + out)[:240])
        ok, out = cons[1].command("migrate status", timeout=30, eol="\n")
        out = " | ".join(out)
        check("B's migration PSK set from \\hv.cfg psk=", ok and "psk=set" in out, out[:160])
        for c, dst, n in ((cons[0], "192.0.2.2", 262144), (cons[1], "192.0.2.1", 65536)):
            mark = c.mark()
            ok, _ = c.command("net echo %s %d" % (dst, n), timeout=30, eol="\n")
            try:
                res = c.wait_for(r"^\[hv\] net echo: (.*)$", timeout=120, since=mark).group(1)
            except ConsoleTimeout as e:
                res = str(e)[:200]
            check("verified TCP echo to %s (%d bytes) over e1000 in QEMU" % (dst, n),
                  ok and res.endswith(" ok") and res.startswith("%d bytes verified" % n), res)
        logs = ""
        for name in ("a", "b"):
            with open(os.path.join(a.workdir, name + ".serial"), "rb") as f:
                logs += f.read().decode("latin-1")
        check("the boot-configured PSK never appears on either console", psk_hex.lower() not in logs.lower()
              and psk_hex[:16].lower() not in logs.lower(), "%d bytes of console checked" % len(logs))
        for c, p in zip(cons, procs):
            c.send_line("poweroff", eol="\n")
        for p in procs:
            try:
                p.wait(timeout=30)
            except Exception:
                pass
    except Exception as e:  # noqa: BLE001 - harness errors are failures with their reason
        check("harness", False, "%s: %s" % (type(e).__name__, str(e)[:300]))
        for c in cons:
            print(c.log_tail(15))
    finally:
        for c in cons:
            c.close()
        for p in procs:
            lq.stop_qemu(p)
    print("%d passed, %d failed" % (passed, failed))
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
