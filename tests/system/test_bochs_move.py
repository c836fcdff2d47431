#!/usr/bin/env python3
"""Full-system test under Bochs of the vCPU/device state capture a migration
relies on, through `vm move` (a local migration): memory copied, state saved
and loaded into a new VM, the source scrubbed before the copy runs.

  python3 tests/system/test_bochs_move.py --iso build/hv.iso --workdir build/systest-move

Checks: a running work guest moved mid-workload goes on with the next
heartbeat sequence number, its checksum equals the guest model's prediction
(no write lost or repeated), its memory self-check keeps passing; the source
is scrubbed and stopped; a parked wset guest moved between its two parks
finishes the round exactly; moving a stopped VM or a bad id is refused;
`vm destroy` gives a stopped VM's slot and memory back (eight moves with the
source destroyed each time leave free memory exactly as it was).
Prints PASS/FAIL lines and `N passed, N failed`.
"""
import re

import systest
from systest import HB, ConsoleTimeout, data_pages, free_kib, model, seed_of, vm_states


def slots_and_memory_come_back(t, con, running):
    """vm destroy returns a stopped VM's slot and every page it held (guest RAM, EPT
    tables, VMCS, PML page, bitmaps): eight moves of a running guest, each followed by
    destroying the scrubbed source, in a machine with 8 VM slots of which 4 are taken,
    end with exactly the free memory they started with."""
    f0 = free_kib(con)
    ok, _ = con.command("vm destroy 1", timeout=60)
    f1 = free_kib(con)
    ids = vm_states(con)
    t.check(
        "vm destroy 1 (moved away, stopped): gone from vm list, its memory free again",
        ok and 1 not in ids and f1 > f0 > 0,
        "free %d -> %d KiB; vm list %s; %s" % (f0, f1, ids, con.last_final),
    )
    ok, _ = con.command("vm destroy %d" % running, timeout=30)
    t.check(
        "destroying a running vm is refused",
        not ok and "state running" in str(con.last_final),
        str(con.last_final),
    )
    cur, moved = 2, []
    for _ in range(8):
        ok, reply = con.command("vm move %d" % cur, timeout=60)
        m = re.match(r"moved vm %d to vm (\d+)" % cur, reply[0]) if ok and reply else None
        if not m:
            moved.append("move %d: %s" % (cur, con.last_final))
            break
        ok, _ = con.command("vm destroy %d" % cur, timeout=60)
        if not ok:
            moved.append("destroy %d: %s" % (cur, con.last_final))
            break
        moved.append("%d->%s" % (cur, m.group(1)))
        cur = int(m.group(1))
    f2 = free_kib(con)
    t.check(
        "8 moves, each source destroyed: no slot runs out, not one page is lost",
        len(moved) == 8 and "->" in moved[-1] and f2 == f1,
        "%s; free after the first destroy %d KiB, after the moves %d KiB" % (" ".join(moved), f1, f2),
    )
    mark = con.mark()
    try:
        con.wait_for(r"^\[vm%d\] HB vm=2 seq=\d+" % cur, timeout=60, since=mark)
        alive = True
    except ConsoleTimeout:
        alive = False
    t.check("the guest moved 8 times still beats (vm %d)" % cur, alive)


def checks(t):
    inst, con = t.bochs()
    con.wait_for(r"^\[vm1\] HB vm=1 seq=3\b", timeout=60, since=0)
    pages = data_pages(con, 1)

    ok, reply = con.command("vm move 1", timeout=60)
    m = re.match(r"moved vm 1 to vm (\d+)", reply[0]) if ok and reply else None
    t.check("vm move 1 (running work guest)", bool(m), " | ".join(reply) + " " + str(con.last_final))
    new = int(m.group(1)) if m else 4
    before = [HB.match(ln) for ln in con.lines_since(0)]
    last_src = [x for x in before if x and x.group(1) == "1"][-1]
    s0 = int(last_src.group(3))
    mark = con.mark()
    con.wait_for(r"^\[vm%d\] HB vm=1 seq=%d\b" % (new, s0 + 3), timeout=60, since=mark)
    hbs = [x for x in (HB.match(ln) for ln in con.lines_since(0)) if x and x.group(2) == "1"]
    seqs = [int(x.group(3)) for x in hbs]
    t.check(
        "heartbeat sequence unbroken across the move",
        seqs == list(range(1, len(seqs) + 1)),
        "seq %s (vm1 up to %d, then vm%d)" % (seqs, s0, new),
    )
    bad = [x.group(0) for x in hbs if x.group(6) != "%08x" % model.hb_sum(seed_of(1), pages, int(x.group(5)))]
    t.check("every heartbeat checksum matches the guest model", not bad and len(hbs) > 4, "; ".join(bad[:2]))
    times = [int(x.group(4)) for x in hbs]
    t.check(
        "guest time keeps increasing across the move",
        all(b > a for a, b in zip(times, times[1:])),
        str(times),
    )
    con.wait_for(r"^\[vm%d\] MEMCHECK ok pass=\d+" % new, timeout=60, since=mark)
    t.check("memory self-check passes on the new VM", True)
    src_lines = [
        ln
        for ln in con.lines_since(0)
        if re.match(r"^\[hv\] vm 1 moved to vm %d .*vm 1 scrubbed and verified" % new, ln)
    ]
    t.check("the source is scrubbed and verified", bool(src_lines), src_lines[0] if src_lines else "")
    ok, reply = con.command("vm list", timeout=30)
    st = [ln for ln in reply if ln.startswith("vm 1 ")]
    t.check("vm list shows vm 1 stopped", bool(st) and "state=stopped" in st[0], st[0] if st else "")
    ok, _ = con.command("vm move 1", timeout=30)
    t.check(
        "moving a stopped vm is refused",
        not ok and "state stopped" in str(con.last_final),
        str(con.last_final),
    )
    ok, _ = con.command("vm move 77", timeout=30)
    t.check(
        "moving an unknown vm is refused",
        not ok and "no vm with id 77" in str(con.last_final),
        str(con.last_final),
    )

    # A wset guest between its two parks: the window's writes must land in the copy.
    mark = con.mark()
    w = con.wait_for(r"^\[vm3\] WSET k=(\d+) pages=([0-9,]+)", timeout=60, since=0)
    k = int(w.group(1))
    con.wait_for(r"^\[hv\] vm 3 parked", timeout=30, since=0)
    ok, reply = con.command("vm move 3", timeout=60)
    m3 = re.match(r"moved vm 3 to vm (\d+)", reply[0]) if ok and reply else None
    t.check("vm move 3 (parked wset guest)", bool(m3), " | ".join(reply) + " " + str(con.last_final))
    n3 = int(m3.group(1)) if m3 else 5
    m2 = con.mark()
    ok1, _ = con.command("vm resume %d" % n3, timeout=30)
    con.wait_for(r"^\[hv\] vm %d parked" % n3, timeout=30, since=m2)
    ok2, _ = con.command("vm resume %d" % n3, timeout=30)
    con.wait_for(r"^\[vm%d\] WSET-DONE k=%d\b" % (n3, k), timeout=60, since=mark)
    fails = [ln for ln in con.lines_since(0) if "MEMCHECK FAIL" in ln]
    t.check(
        "the moved wset guest finishes its round k=%d and verifies it" % k,
        ok1 and ok2 and not fails,
        "; ".join(fails[:2]),
    )
    slots_and_memory_come_back(t, con, new)
    con.send_line("poweroff")
    rc = inst.wait(timeout=60)
    t.check("poweroff ends Bochs with status 0", rc == 0, "status %s" % rc)


if __name__ == "__main__":
    systest.main(checks, __doc__, timeout=300)
