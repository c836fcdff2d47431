#!/usr/bin/env python3
"""Full-system test under Bochs: an unmodified Linux 6.1 guest on the hypervisor.

  python3 tests/system/test_bochs_linux.py --iso build/hv-linux.iso --workdir build/systest-linux

The ISO boots `vms=linux,work`: vm1 is the tiny kernel from linux-source-6.1
(guest/linux/tiny.config) with the hbinit workload as /init, vm2 the 32-bit test
guest. Checks:
 - Linux reaches userspace: its workload's GUEST start line and heartbeats, whose
   sums match guest/model.py, come through the interrupt-driven UART;
 - the APIC timer works: heartbeat intervals in the guest's own time are near the
   nominal 250 ms (no stall, no storm), and the memory verification completes passes;
 - both guests run together; `vm pause` / `vm resume` on Linux continue at the next
   sequence number;
 - `vm console 1`: a typed line reaches the workload and comes back as ECHO, Ctrl-]
   detaches and the console answers again;
 - `vm stats 1` shows the exits by reason and the MSRs that got #GP;
 - bad images (a bzImage with its boot-flag magic zeroed, a truncated one) are
   refused with the reason; nothing else is harmed;
 - hostile guests are contained: a Linux whose workload maps a guest-physical
   address past its RAM through /dev/mem, and a Linux that panics (no init, panic=-1
   reboots) each stop with the diagnostic while vm1 and vm2 go on;
 - `vm move` of the running Linux guest (state version 2: long mode, MSRs, the local
   APIC page and timer, the UART and the 8259): heartbeats go on at the next sequence
   number with sums that match, near-nominal intervals of guest time (the timer fires,
   the clock did not go back), the memory check passes again, and `vm console` on the
   new VM still reaches the workload.
"""
import re
import statistics

import systest
from systest import HB, ConsoleTimeout, model, seed_of

NOMINAL_US = 250_000  # hb_ms=250 on the ISO's command line
PAST_RAM = 0x10000000  # 256 MiB: far past a 48 MiB guest


def hbs(con, vm, since=0):
    return [
        (int(m.group(3)), int(m.group(4)), int(m.group(5)), m.group(6))
        for ln in con.lines_since(since)
        for m in [HB.match(ln)]
        if m and int(m.group(1)) == vm
    ]


def wrong_sums(beats, pages):
    """Sequence numbers of heartbeats whose sum differs from guest/model.py's."""
    work, bad = model.Work(seed_of(1), pages or 0), []
    for seq, _t_us, writes, s in beats:
        if work.writes > writes:
            work = model.Work(seed_of(1), pages)
        work.advance(writes - work.writes)
        if "%08x" % work.sum != s:
            bad.append(seq)
    return bad


def create_linux(con, t, args):
    ok, reply = con.command("vm create linux " + args, timeout=30)
    m = re.match(r"created vm (\d+)", reply[0]) if ok and reply else None
    t.check("vm create linux %s" % args, bool(m), " | ".join(reply) or str(con.last_final))
    return int(m.group(1)) if m else None


def diag_of(con, vm, mark):
    return [
        ln
        for ln in con.lines_since(mark)
        if ln.startswith("[hv] vm %d failed" % vm) or ln.startswith("[hv]   ")
    ]


def check_boot(t, con):
    con.wait_for(r"^\[vm1\] GUEST start vm=1 mode=work", timeout=120, since=0)
    con.wait_for(r"^\[vm1\] HB vm=1 seq=24\b", timeout=120, since=0)
    con.wait_for(r"^\[vm1\] MEMCHECK ok pass=2\b", timeout=120, since=0)
    beats = hbs(con, 1)
    seqs = [b[0] for b in beats]
    t.check("Linux heartbeats seq 1.. without gaps", seqs == list(range(1, len(seqs) + 1)), str(seqs[:30]))
    pages = systest.data_pages(con, 1)
    bad = wrong_sums(beats, pages)
    t.check(
        "Linux heartbeat sums match the model",
        pages is not None and not bad,
        "pages %s, %d beats, wrong at %s" % (pages, len(beats), bad[:5]),
    )
    deltas = [b[1] - a[1] for a, b in zip(beats, beats[1:])]
    med = statistics.median(deltas) if deltas else 0
    t.check(
        "the guest's timer paces heartbeats near 250 ms of guest time (no stall, no storm)",
        deltas and abs(med - NOMINAL_US) < NOMINAL_US // 10 and min(deltas) > NOMINAL_US // 2,
        "median %d us, min %d, max %d over %d intervals"
        % (med, min(deltas or [0]), max(deltas or [0]), len(deltas)),
    )
    con.wait_for(r"^\[vm2\] HB vm=2 seq=", timeout=60, since=0)
    t.check("the test guest runs beside Linux", True, "vm2 heartbeats")


def check_pause_resume(t, con):
    ok, _ = con.command("vm pause 1", timeout=30)
    t.check("vm pause 1", ok, str(con.last_final))
    last = hbs(con, 1)[-1][0]
    mark = con.mark()
    con.wait_for(r"^\[vm2\] HB vm=2 seq=", timeout=60, since=mark)
    con.wait_for(r"^\[vm2\] HB vm=2 seq=", timeout=60, since=con.mark())
    paused_beats = [b for b in hbs(con, 1, mark) if b[0] > last + 1]
    ok, _ = con.command("vm resume 1", timeout=30)
    t.check("vm resume 1", ok, str(con.last_final))
    mark2 = con.mark()
    con.wait_for(r"^\[vm1\] HB vm=1 seq=%d\b" % (last + 3), timeout=60, since=mark)
    seqs = [b[0] for b in hbs(con, 1, mark)]
    t.check(
        "Linux continues at the next sequence number after pause/resume",
        not paused_beats and seqs[:3] == [last + 1, last + 2, last + 3][: len(seqs[:3])] and bool(seqs),
        "last before %d, after %s" % (last, seqs[:4]),
    )
    return mark2


def check_console(t, con):
    ok, reply = con.command("vm console 1", timeout=30)
    t.check("vm console 1 attaches", ok and any("attached to vm 1" in ln for ln in reply), " | ".join(reply))
    mark = con.mark()
    con.send_raw(b"hello guest\r")
    try:
        con.wait_for(r"^\[vm1\] ECHO hello guest$", timeout=60, since=mark)
        t.check("a line typed through vm console reaches the workload and is echoed", True)
    except ConsoleTimeout as e:
        t.check("a line typed through vm console reaches the workload and is echoed", False, str(e)[:300])
    mark = con.mark()
    con.send_raw(b"\x1d")
    try:
        con.wait_for(r"^\[hv\] console detached from vm 1", timeout=30, since=mark)
        ok, _ = con.command("vm list", timeout=30)
        t.check("Ctrl-] detaches and the console answers again", ok, str(con.last_final))
    except ConsoleTimeout as e:
        t.check("Ctrl-] detaches and the console answers again", False, str(e)[:300])


def check_stats(t, con):
    ok, reply = con.command("vm stats 1", timeout=30)
    text = " | ".join(reply)
    t.check(
        "vm stats 1 counts the Linux guest's exits and refused MSRs",
        ok and "apic-write" in text and "io" in text and re.search(r"msr 0x[0-9a-f]+ gp \d+", text),
        text[:400],
    )
    m = re.search(r"interrupts timer=(\d+) pic=(\d+)", text)
    t.check(
        "the guest's console is interrupt-driven (8259 interrupts injected) and its timer fires",
        bool(m) and int(m.group(1)) > 10 and int(m.group(2)) > 10,
        m.group(0) if m else "no interrupts line",
    )


def check_bad_images(t, con):
    for module, why in (("linux-badmagic", "not a Linux bzImage"), ("linux-truncated", "image truncated")):
        vm = create_linux(con, t, "kernel=" + module)
        if vm is None:
            continue
        mark = con.mark()
        ok, _ = con.command("vm start %d" % vm, timeout=30)
        events = [ln for ln in con.lines_since(mark) if ln.startswith("[hv] vm %d: Linux" % vm)]
        t.check(
            "%s refused with the reason" % module,
            not ok and events and why in events[0],
            "%s / %s" % (con.last_final, events[:1]),
        )
        states = systest.vm_states(con)
        t.check(
            "%s: vm %d not running, vm1 and vm2 running" % (module, vm),
            states.get(vm) == "created" and states.get(1) == "running" and states.get(2) == "running",
            str(states),
        )
        con.command("vm destroy %d" % vm, timeout=30)


def contained(t, con, args, expect, name):
    vm = create_linux(con, t, args)
    if vm is None:
        return
    s1, s2 = hbs(con, 1)[-1][0], hbs(con, 2)[-1][0]
    mark = con.mark()
    ok, _ = con.command("vm start %d" % vm, timeout=30)
    t.check("vm start %d (%s)" % (vm, name), ok, str(con.last_final))
    try:
        con.wait_for(r"^\[hv\] vm %d stopped: %s" % (vm, expect), timeout=180, since=mark)
        diag = " ".join(diag_of(con, vm, mark))
        good = all(k in diag for k in ("exit reason", "qualification", "rip=", "rax=", "cr3="))
        t.check("%s: vm %d stopped with the diagnostic" % (name, vm), good, diag[:400])
    except ConsoleTimeout as e:
        t.check("%s: vm %d stopped with the diagnostic" % (name, vm), False, str(e)[:300])
        return
    try:
        con.wait_for(r"^\[vm1\] HB vm=1 seq=%d\b" % (s1 + 4), timeout=60, since=mark)
        con.wait_for(r"^\[vm2\] HB vm=2 seq=%d\b" % (s2 + 4), timeout=60, since=mark)
        t.check("%s: vm1 and vm2 go on" % name, True)
    except ConsoleTimeout as e:
        t.check("%s: vm1 and vm2 go on" % name, False, str(e)[:300])
    con.command("vm destroy %d" % vm, timeout=30)
    return mark


def check_move(t, con):
    ok, reply = con.command("vm move 1", timeout=60)
    m = re.match(r"moved vm 1 to vm (\d+)", reply[0]) if ok and reply else None
    if not t.check("vm move 1 (a running Linux guest)", bool(m), " | ".join(reply) or str(con.last_final)):
        return
    new = int(m.group(1))
    # What vm 1 printed, read once it is gone: the guest runs while the command is typed
    # and may print a heartbeat (or a memory check) in between, which a snapshot taken
    # before the command would miss (seen once: seq 83 between "vm move " and "1").
    before = hbs(con, 1)
    last_seq, last_t = before[-1][0], before[-1][1]
    passes = [ln for ln in con.lines_since(0) if ln.startswith("[vm1] MEMCHECK ok")]
    mark = con.mark()
    try:
        con.wait_for(r"^\[vm%d\] HB vm=1 seq=%d\b" % (new, last_seq + 8), timeout=120, since=0)
        con.wait_for(r"^\[vm%d\] MEMCHECK ok pass=%d\b" % (new, len(passes) + 1), timeout=120, since=0)
    except ConsoleTimeout as e:
        t.check("Linux runs on after the move", False, str(e)[:300])
        return
    after = hbs(con, new)
    seqs = [b[0] for b in after]
    t.check(
        "heartbeats continue at the next sequence number on vm %d" % new,
        seqs[:1] == [last_seq + 1] and seqs == list(range(last_seq + 1, last_seq + 1 + len(seqs))),
        "last before %d, after %s" % (last_seq, seqs[:10]),
    )
    bad = wrong_sums(before + after, systest.data_pages(con, 1))
    t.check("sums before and after the move match the model", not bad, "wrong at %s" % bad[:5])
    deltas = [b[1] - a[1] for a, b in zip(after, after[1:])]
    first_gap = after[0][1] - last_t if after else -1
    t.check(
        "the timer fires after the move: intervals near 250 ms of guest time, the clock never went back",
        deltas and abs(statistics.median(deltas) - NOMINAL_US) < NOMINAL_US // 10 and first_gap > 0,
        "gap across the move %d us, then median %d over %d"
        % (first_gap, statistics.median(deltas or [0]), len(deltas)),
    )
    ok, reply = con.command("vm console %d" % new, timeout=30)
    con.send_raw(b"moved along\r")
    try:
        con.wait_for(r"^\[vm%d\] ECHO moved along$" % new, timeout=60, since=mark)
        t.check("vm console on the moved guest reaches its workload (UART and 8259 state moved)", ok)
    except ConsoleTimeout as e:
        t.check(
            "vm console on the moved guest reaches its workload (UART and 8259 state moved)",
            False,
            str(e)[:300],
        )
    con.send_raw(b"\x1d")
    con.wait_for(r"^\[hv\] console detached", timeout=30, since=mark)


def checks(t):
    inst, con = t.bochs(megs=256)
    check_boot(t, con)
    check_pause_resume(t, con)
    check_console(t, con)
    check_stats(t, con)
    check_bad_images(t, con)
    mark = contained(
        t,
        con,
        "cmdline=mode=memtouch addr=0x%x" % PAST_RAM,
        r"EPT violation \(access outside guest RAM at 0x%x\)" % PAST_RAM,
        "a Linux touching memory past its RAM",
    )
    if mark is not None:
        said = any("MEMTOUCH addr=0x%x" % PAST_RAM in ln for ln in con.lines_since(mark))
        t.check("the memtouch workload announced the address it touches", said)
    mark = contained(t, con, "cmdline=rdinit=/nonexistent", r"guest reset", "a Linux that panics")
    if mark is not None:
        panic = [ln for ln in con.lines_since(mark) if "Kernel panic" in ln]
        t.check("the panicking guest's own message reached the console", bool(panic), str(panic[:1]))
    check_move(t, con)
    bad = [ln for ln in con.lines_since(0) if "MEMCHECK FAIL" in ln or "PANIC" in ln]
    t.check("no MEMCHECK FAIL or hypervisor PANIC anywhere", not bad, "; ".join(bad[:3]))
    con.send_line("poweroff")
    rc = inst.wait(timeout=60)
    t.check("poweroff ends Bochs with status 0", rc == 0, "status %s" % rc)


if __name__ == "__main__":
    systest.main(checks, __doc__, timeout=600)
