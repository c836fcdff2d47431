#!/usr/bin/env python3
"""Full-system test: a running Linux guest live-migrated between two hypervisors in
Bochs, encrypted, mid-workload; and a destination that must refuse it.

  python3 tests/system/test_bochs_linux_migrate.py --iso build/hv-linux-mig.iso \\
      --skew-iso build/hv-linux-skew.iso --workdir build/systest-linux-migrate

1. A destination that claims another TSC rate (boot option tsc_khz=45000) refuses the
   Linux guest before ACCEPT (MIG_E_PROFILE, with the reason on its console); the guest
   keeps running on A, B holds no incoming VM.
2. Between two equal hypervisors the Linux guest moves: both sides done, MIGSTAT with
   encryption on; on B the heartbeats go on at the next sequence number with sums that
   match guest/model.py and intervals near nominal (the APIC timer moved), the memory
   check passes; A scrubbed its copy; `vm console` on B reaches the workload (UART and
   8259 state moved); the cutover report, made from the Linux heartbeats, gives the
   achieved downtime against the prediction and the target, and it is within the target.
   The target is 1000 ms (`migrate set downtime_ms 1000`): the emulated link moves about
   1.2 MB/s and a booted Linux dirties ~300-400 pages/s, so Bochs cannot converge to the
   default 300 ms (measured: 30 rounds, 396-404 ms achieved against 431-467 predicted).
"""
import os
import re
import statistics
import subprocess
import sys

import systest
from systest import ConsoleTimeout, data_pages, heartbeats, model, seed_of, set_psk

PSK = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff"
NOMINAL_US = 250_000


# On the skew ISO's boot line (boot/multiboot2/multiboot2.mk, HV_TEST_LONG_PSK).
LONG_PSK = "0f1e2d3c4b5a69788796a5b4c3d2e1f0" * 4


def bring_up(t, pair, isos, boot_psk=False):
    ca, cb = pair.start(isos=isos)
    if boot_psk:
        # Issue 13, finding 4: a 64-byte PSK on the boot line is taken, and no part of
        # it is ever printed (the old parser printed 123 of its 128 hex digits).
        ok, reply = cb.command("migrate status", timeout=30)
        shown = [ln for ln in cb.lines_since(0) if any(LONG_PSK[i : i + 16] in ln for i in range(0, 128, 16))]
        t.check(
            "B took the 64-byte PSK from its boot line, and printed none of it",
            ok and "psk=set" in " ".join(reply) and not shown,
            "; ".join(shown[:1] + reply[:1])[:200],
        )
    for c, ip in ((ca, "192.0.2.1/24"), (cb, "192.0.2.2/24")):
        ok, _ = c.command("net up " + ip, timeout=30)
        t.check("net up " + ip, ok, str(c.last_final))
    t.check("PSK set on A and B", set_psk(ca, PSK) and set_psk(cb, PSK))
    ca.wait_for(r"^\[vm1\] HB vm=1 seq=6\b", timeout=180, since=0)
    return ca, cb


def refused(t, skew_iso):
    pair = t.pair(os.path.join(t.args.workdir, "skew"))
    ca, cb = bring_up(t, pair, (None, skew_iso), boot_psk=True)
    ma, mb = ca.mark(), cb.mark()
    ok, _ = ca.command("migrate 1 192.0.2.2", timeout=30)
    t.check("migrate 1 to a destination with another TSC rate: started", ok, str(ca.last_final))
    try:
        fl = ca.wait_for(r"^\[hv\] migrate: source FAILED: (.*)$", timeout=180, since=ma)
        t.check("the source reports the destination's refusal", "profile" in fl.group(1), fl.group(1))
    except ConsoleTimeout as e:
        t.check("the source reports the destination's refusal", False, str(e)[:300])
    why = [ln for ln in cb.lines_since(mb) if "incoming guest refused" in ln]
    t.check(
        "B refused before ACCEPT, saying why (its TSC rate)",
        bool(why) and "kHz" in why[0] and not any("becomes vm" in ln for ln in cb.lines_since(mb)),
        why[0] if why else "no refusal line",
    )
    s = int(heartbeats(ca, "1")[-1].group(3))
    try:
        ca.wait_for(r"^\[vm1\] HB vm=1 seq=%d\b" % (s + 2), timeout=60, since=ma)
        t.check("the guest keeps running on A", True, "seq %d, %d" % (s + 1, s + 2))
    except ConsoleTimeout as e:
        t.check("the guest keeps running on A", False, str(e)[:300])
    states = systest.vm_states(cb)
    t.check("B holds no incoming VM", list(states) == [1], str(states))
    pair.power_off()


def moved(t):
    pair = t.pair(os.path.join(t.args.workdir, "move"))
    ca, cb = bring_up(t, pair, (None, None))
    ca.wait_for(r"^\[vm1\] MEMCHECK ok pass=1\b", timeout=120, since=0)
    ok, _ = ca.command("migrate set downtime_ms 1000", timeout=30)
    t.check("downtime target 1000 ms on A", ok, str(ca.last_final))
    ma, mb = ca.mark(), cb.mark()
    ok, _ = ca.command("migrate 1 192.0.2.2", timeout=30)
    t.check("migrate 1 192.0.2.2 (a running Linux guest)", ok, str(ca.last_final))
    try:
        stat_a, stat_b = systest.migration_ends(t, ca, cb, ma, mb, timeout=600)
    except ConsoleTimeout:
        return
    t.check(
        "both sides emit MIGSTAT with encryption on",
        bool(stat_a) and bool(stat_b) and " enc=1 " in stat_a[0] and " enc=1 " in stat_b[0],
        stat_a[0][:200] if stat_a else "no src MIGSTAT",
    )
    scrub = [ln for ln in ca.lines_since(ma) if "migrated away; memory and state scrubbed and verified" in ln]
    t.check("A scrubbed its copy", bool(scrub), scrub[0] if scrub else "")
    newvm = re.search(r"becomes vm (\d+)", "\n".join(cb.lines_since(mb)))
    label = newvm.group(1) if newvm else "2"
    last_a = heartbeats(ca, "1")[-1]
    try:
        first = cb.wait_for(r"^\[vm%s\] HB vm=1 seq=(\d+)\b" % label, timeout=120, since=mb)
        cb.wait_for(r"^\[vm%s\] HB vm=1 seq=%d\b" % (label, int(first.group(1)) + 8), timeout=120, since=mb)
        cb.wait_for(r"^\[vm%s\] MEMCHECK ok pass=\d+" % label, timeout=120, since=mb)
    except ConsoleTimeout as e:
        t.check("Linux runs on B", False, str(e)[:300])
        return
    t.check(
        "on B the heartbeat continues with the next sequence number",
        int(first.group(1)) == int(last_a.group(3)) + 1,
        "A's last %s, B's first %s" % (last_a.group(3), first.group(1)),
    )
    pages = data_pages(ca, 1)
    beats = heartbeats(ca, "1") + heartbeats(cb, label)
    work, bad = model.Work(seed_of(1), pages or 0), []
    for m in beats:
        writes, s = int(m.group(5)), m.group(6)
        if work.writes > writes:
            work = model.Work(seed_of(1), pages)
        work.advance(writes - work.writes)
        if "%08x" % work.sum != s:
            bad.append(int(m.group(3)))
    t.check(
        "every heartbeat's sum matches the model, on A and on B", pages and not bad, "wrong at %s" % bad[:5]
    )
    on_b = [int(m.group(4)) for m in heartbeats(cb, label)]
    deltas = [b - a for a, b in zip(on_b, on_b[1:])]
    t.check(
        "on B the guest's timer paces heartbeats near 250 ms of guest time",
        deltas and abs(statistics.median(deltas) - NOMINAL_US) < NOMINAL_US // 10,
        "median %d us over %d" % (statistics.median(deltas or [0]), len(deltas)),
    )
    ok, _ = cb.command("vm console %s" % label, timeout=30)
    mk = cb.mark()
    cb.send_raw(b"after the move\r")
    try:
        cb.wait_for(r"^\[vm%s\] ECHO after the move$" % label, timeout=60, since=mk)
        t.check("vm console on B reaches the moved workload", ok)
    except ConsoleTimeout as e:
        t.check("vm console on B reaches the moved workload", False, str(e)[:300])
    cb.send_raw(b"\x1d")
    cutover(t, pair)
    pair.power_off()


def cutover(t, pair):
    wd = pair.wd
    out = os.path.join(wd, "cutover")
    r = subprocess.run(
        [
            sys.executable,
            os.path.join(systest.TOP, "tools", "cutover.py"),
            "--no-plot",
            "--untimed",
            "--out",
            out,
            os.path.join(wd, "a.serial"),
            os.path.join(wd, "b.serial"),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    try:
        with open(out + ".txt") as f:
            rep = f.read()
    except OSError:
        rep = ""
    t.check(
        "cutover report from the Linux heartbeats: sequence unbroken", "OK: unbroken" in rep, r.stderr[-300:]
    )
    down = re.search(r"source +downtime_us +([\d.]+) ms", rep)
    pred = re.search(r"predicted_us +([\d.]+) ms", rep)
    target = re.search(r"target_us +([\d.]+) ms", rep) or re.search(r"target +([\d.]+) ms", rep)
    t.check(
        "the report gives achieved downtime, prediction and target, achieved within the target",
        bool(down and pred and target) and float(down.group(1)) <= float(target.group(1)),
        "achieved %s, predicted %s, target %s"
        % (down and down.group(1), pred and pred.group(1), target and target.group(1)),
    )


def checks(t):
    refused(t, t.args.skew_iso)
    moved(t)


if __name__ == "__main__":
    systest.main(
        checks, __doc__, timeout=1500, options=lambda ap: ap.add_argument("--skew-iso", required=True)
    )
