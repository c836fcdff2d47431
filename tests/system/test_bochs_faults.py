#!/usr/bin/env python3
"""Full-system test under Bochs: a faulting guest is stopped with a diagnostic
while the hypervisor and the other guests go on; stop/start cycles a guest.

  python3 tests/system/test_bochs_faults.py --iso build/hv.iso --workdir build/systest-faults

Creates guests from the console: one that reads past its RAM (EPT violation),
one that triple-faults. Checks the [hv] diagnostics (exit reason, qualification,
guest RIP, registers), `vm list` states, heartbeats of vm1/vm2 going on, that
`vm stop` scrubs (and verifies) a guest's memory and `vm start` boots it afresh,
and that poweroff ends Bochs with status 0. Prints PASS/FAIL lines and
`N passed, N failed`; exit status 0 only if all passed.
"""
import re

import systest
from systest import HB, ConsoleTimeout


def last_seq(con, vm, since=0):
    seqs = [
        int(m.group(3))
        for ln in con.lines_since(since)
        for m in [HB.match(ln)]
        if m and int(m.group(1)) == vm
    ]
    return seqs[-1] if seqs else None


def fault_case(con, t, mode, expect):
    ok, reply = con.command("vm create " + mode, timeout=30)
    m = re.match(r"created vm (\d+)", reply[0]) if ok and reply else None
    if not t.check("vm create %s" % mode, bool(m), " | ".join(reply) or str(con.last_final)):
        return None
    vm = int(m.group(1))
    mark = con.mark()
    ok, _ = con.command("vm start %d" % vm, timeout=30)
    t.check("vm start %d (%s)" % (vm, mode), ok, str(con.last_final))
    try:
        con.wait_for(r"^\[hv\] vm %d stopped: %s" % (vm, expect), timeout=60, since=mark)
        lines = [
            ln
            for ln in con.lines_since(mark)
            if ln.startswith("[hv] vm %d failed" % vm) or ln.startswith("[hv]   ")
        ]
        diag = " ".join(lines)
        good = "exit reason" in diag and "qualification" in diag and "rip=" in diag and "rax=" in diag
        t.check("vm %d stopped with a diagnostic (%s)" % (vm, expect), good, " / ".join(lines[:3]))
    except ConsoleTimeout as e:
        t.check("vm %d stopped with a diagnostic (%s)" % (vm, expect), False, str(e)[:300])
    ok, reply = con.command("vm list", timeout=30)
    st = [ln for ln in reply if ln.startswith("vm %d " % vm)]
    t.check(
        "vm list shows vm %d failed" % vm, bool(st) and "state=failed" in st[0], st[0] if st else "absent"
    )
    return vm


def checks(t):
    inst, con = t.bochs()
    con.wait_for(r"^\[vm2\] HB ", timeout=60, since=0)

    fault_case(con, t, "eptfault", "EPT violation")
    fault_case(con, t, "triplefault", "triple fault")

    # The others went on: fresh heartbeats from vm1 and vm2 after the faults.
    mark = con.mark()
    s1, s2 = last_seq(con, 1), last_seq(con, 2)
    try:
        con.wait_for(r"^\[vm1\] HB vm=1 seq=%d\b" % (s1 + 2), timeout=60, since=mark)
        con.wait_for(r"^\[vm2\] HB vm=2 seq=%d\b" % (s2 + 2), timeout=60, since=mark)
        t.check("vm1 and vm2 keep running after the faults", True, "vm1 past %d, vm2 past %d" % (s1, s2))
    except ConsoleTimeout as e:
        t.check("vm1 and vm2 keep running after the faults", False, str(e)[:300])

    # Stop scrubs and verifies; start boots the guest afresh from seq 1.
    mark = con.mark()
    ok, _ = con.command("vm stop 1", timeout=30)
    try:
        con.wait_for(r"^\[hv\] vm 1 stopped; memory scrubbed and verified", timeout=30, since=mark)
        t.check("vm stop 1 scrubs and verifies its memory", ok)
    except ConsoleTimeout as e:
        t.check("vm stop 1 scrubs and verifies its memory", False, str(e)[:300])
    ok, _ = con.command("vm pause 1", timeout=30)
    t.check(
        "vm pause on a stopped vm is refused",
        (not ok) and "state stopped" in str(con.last_final),
        str(con.last_final),
    )
    mark = con.mark()
    ok, _ = con.command("vm start 1", timeout=30)
    try:
        con.wait_for(r"^\[vm1\] GUEST start vm=1 mode=work", timeout=60, since=mark)
        con.wait_for(r"^\[vm1\] HB vm=1 seq=1\b", timeout=60, since=mark)
        con.wait_for(r"^\[vm1\] MEMCHECK ok pass=1\b", timeout=120, since=mark)
        t.check("vm start 1 boots it afresh (seq 1, memory check passes)", ok)
    except ConsoleTimeout as e:
        t.check("vm start 1 boots it afresh (seq 1, memory check passes)", False, str(e)[:300])

    bad = [ln for ln in con.lines_since(0) if "MEMCHECK FAIL" in ln or "PANIC" in ln]
    t.check("no MEMCHECK FAIL or PANIC anywhere", not bad, "; ".join(bad[:3]))
    con.send_line("poweroff")
    rc = inst.wait(timeout=60)
    t.check("poweroff ends Bochs with status 0", rc == 0, "status %s" % rc)


if __name__ == "__main__":
    systest.main(checks, __doc__, timeout=300)
