#!/usr/bin/env python3
"""The hypervisor's network on the UEFI path: two QEMU+OVMF instances (TCG, no
VT-x) with e1000 NICs joined by a UDP socket link. Proves the e1000 driver and
the TCP stack under QEMU as well as Bochs (a migration needs VT-x, which TCG
lacks, so this stops at a verified TCP echo both ways).

  python3 tests/system/test_qemu_net.py --esp build/esp --workdir build/systest-qemu-net

Prints PASS/FAIL lines and `N passed, N failed`; exit 0 only if all passed.
"""
import os
import shutil

import systest
from systest import ConsoleTimeout, free_udp_pair


def checks(t):
    a = t.args
    ua, ub = free_udp_pair()
    insts, cons = [], []
    for name in ("a", "b"):  # logs of earlier runs must not count
        try:
            os.remove(os.path.join(a.workdir, name + ".serial"))
        except FileNotFoundError:
            pass
    # B's ESP copy: address and PSK from the boot configuration (a fresh random PSK, so
    # finding it in the log could only mean it was echoed). The longest legal one, 64 bytes
    # (128 hex digits): a parser whose word buffer is shorter refuses it and prints it.
    psk_hex = os.urandom(64).hex()
    esp_b = os.path.join(a.workdir, "esp-b")
    shutil.rmtree(esp_b, ignore_errors=True)
    shutil.copytree(a.esp, esp_b)
    with open(os.path.join(esp_b, "hv.cfg"), "w") as f:
        f.write("console=115200 ip=192.0.2.2/24 psk=%s\n" % psk_hex)
    for name, mine, peer, mac, esp in (
        ("a", ua, ub, "52:54:00:00:01:0a", a.esp),
        ("b", ub, ua, "52:54:00:00:01:0b", esp_b),
    ):
        wd = os.path.join(a.workdir, name)
        os.makedirs(wd, exist_ok=True)
        extra = [
            "-netdev",
            "socket,id=n0,udp=127.0.0.1:%d,localaddr=127.0.0.1:%d" % (peer, mine),
            "-device",
            "e1000,netdev=n0,mac=%s" % mac,
        ]
        insts.append(t.qemu(esp, wd, timeout=240, extra_args=extra))
    for name, inst in zip(("a", "b"), insts):
        cons.append(
            t.console(
                "127.0.0.1", inst.serial_port, log_path=os.path.join(a.workdir, name + ".serial"), deadline=60
            )
        )
    for c in cons:
        c.wait_for(r"^\[hv\] console ready", timeout=120, since=0)
    mark = cons[0].mark()
    ok, _ = cons[0].command("net up 192.0.2.1/24", timeout=30, eol="\n")
    try:
        line = cons[0].wait_for(r"^\[hv\] net: e1000 .* link (up|down)", timeout=30, since=mark).group(0)
    except ConsoleTimeout:
        line, ok = "no net line", False
    t.check("net up 192.0.2.1/24 under QEMU+OVMF (UEFI boot)", ok, line)
    try:
        line = cons[1].wait_for(r"^\[hv\] net: e1000 .* link (up|down)", timeout=30, since=0).group(0)
    except ConsoleTimeout:
        line = "no net line at boot"
    ok, out = cons[1].command("net status", timeout=30, eol="\n")
    out = " | ".join(out)
    t.check(
        "B's network up from \\hv.cfg ip=192.0.2.2/24 at boot, no console command",
        ok and "192.0.2.2" in out,
        (line + " | " + out)[:240],
    )
    ok, out = cons[1].command("migrate status", timeout=30, eol="\n")
    out = " | ".join(out)
    t.check("B's migration PSK set from \\hv.cfg psk=", ok and "psk=set" in out, out[:160])
    for c, dst, n in ((cons[0], "192.0.2.2", 262144), (cons[1], "192.0.2.1", 65536)):
        mark = c.mark()
        ok, _ = c.command("net echo %s %d" % (dst, n), timeout=30, eol="\n")
        try:
            res = c.wait_for(r"^\[hv\] net echo: (.*)$", timeout=120, since=mark).group(1)
        except ConsoleTimeout as e:
            res = str(e)[:200]
        t.check(
            "verified TCP echo to %s (%d bytes) over e1000 in QEMU" % (dst, n),
            ok and res.endswith(" ok") and res.startswith("%d bytes verified" % n),
            res,
        )
    logs = ""
    for name in ("a", "b"):
        with open(os.path.join(a.workdir, name + ".serial"), "rb") as f:
            logs += f.read().decode("latin-1")
    t.check(
        "the boot-configured PSK never appears on either console",
        psk_hex.lower() not in logs.lower() and psk_hex[:16].lower() not in logs.lower(),
        "%d bytes of console checked" % len(logs),
    )
    for c in cons:
        c.send_line("poweroff", eol="\n")
    for inst in insts:
        inst.wait(timeout=30)


if __name__ == "__main__":
    systest.main(checks, __doc__, timeout=240, image="esp")
