#!/usr/bin/env python3
"""Full-system test of the researcher's demo (`make demo`, tools/demo.py).

  python3 tests/system/test_demo.py --iso build/hv-mig.iso --workdir build/systest-demo

1. Runs tools/demo.py (Bochs pair) as a person would, in its own process
   group, and checks from the files it leaves (not from its own verdicts):
   the guest is alive on B (consecutive heartbeats), the heartbeat sequence
   is unbroken across A and B and every heartbeat checksum matches the guest
   model (no write lost), the memory self-check passes on B, A reports the
   guest migrated and scrubbed and lists vm 1 stopped, the cutover report
   exists with both measurements (CSV with its header, a PNG image, the SVG
   figure and its data file, the text
   with the guest-seen gap and both MIGSTAT downtimes), hvctl migrate printed
   the source's MIGSTAT line, and every process the demo started is gone.
2. Interrupts a second demo run with SIGINT (Ctrl-C) while the guest runs on
   A: it exits with status 130 and leaves no process behind.
Prints PASS/FAIL lines and `N passed, N failed`; exit 0 only if all passed.
Takes about a minute (well under 3 minutes).
"""
import json
import os
import re
import signal
import subprocess
import sys
import time

import systest
from systest import HB, START, model
from hvtools.console import strip_prompts
from hvtools.lines import read_times

TOP = systest.TOP


def timed_lines(path):
    """The text of a timestamped line log's lines, prompts stripped ([] if unreadable)."""
    try:
        return [strip_prompts(text) for _, text in read_times(path)[1]]
    except OSError:
        return []


def leftovers(workdir, pids):
    """Processes still alive that the demo started: its recorded pids whose
    command line is still a demo helper, and anything naming the workdir."""
    wd = os.path.abspath(workdir)
    found = []
    me = os.getpid()
    for d in os.listdir("/proc"):
        if not d.isdigit() or int(d) == me:
            continue
        try:
            with open("/proc/%s/cmdline" % d, "rb") as f:
                cmd = f.read().replace(b"\0", b" ").decode("utf-8", "replace")
            with open("/proc/%s/stat" % d) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state == "Z":
            continue
        if wd in cmd or (
            int(d) in pids and any(k in cmd for k in ("bochs", "serial_mux", "netrelay", "hvctl", "cutover"))
        ):
            found.append("%s: %s" % (d, cmd[:120]))
    return found


def read_pids(workdir):
    pids = set()
    try:
        with open(os.path.join(workdir, "pids.txt")) as f:
            for line in f:
                parts = line.split()
                if len(parts) == 2 and parts[1].isdigit():
                    pids.add(int(parts[1]))
    except OSError:
        pass
    return pids


def run_demo(iso, workdir, timeout, interrupt_at=None):
    """Run tools/demo.py; returns (status, output, seconds). interrupt_at: a
    text in its output after which it gets SIGINT (as Ctrl-C would)."""
    os.makedirs(workdir, exist_ok=True)
    argv = [
        sys.executable,
        os.path.join(TOP, "tools", "demo.py"),
        "--iso",
        iso,
        "--guest",
        "test",
        "--workdir",
        workdir,
        "--backend",
        "bochs",
        "--timeout",
        str(timeout),
    ]
    t0 = time.monotonic()
    p = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    out = []
    sent = False
    try:
        for line in p.stdout:
            out.append(line)
            if interrupt_at and not sent and interrupt_at in line:
                time.sleep(1.0)
                p.send_signal(signal.SIGINT)
                sent = True
            if time.monotonic() - t0 > timeout + 40:
                break
        rc = p.wait(timeout=max(1, timeout + 60 - (time.monotonic() - t0)))
    except subprocess.TimeoutExpired:
        os.killpg(p.pid, signal.SIGKILL)
        rc = p.wait()
        out.append("(test: killed the demo after %d s)\n" % (timeout + 60))
    return rc, "".join(out), time.monotonic() - t0


def checks(t):
    a = t.args
    wd = os.path.abspath(os.path.join(a.workdir, "run"))
    t_all = time.monotonic()

    # 1. the demo, start to end
    rc, out, secs = run_demo(a.iso, wd, a.timeout)
    with open(os.path.join(a.workdir, "demo.out"), "w") as f:
        f.write(out)
    t.check("the demo exits with status 0", rc == 0, "status %d after %.0f s" % (rc, secs))
    if rc != 0:
        print("---- demo output (tail) ----\n" + "\n".join(out.splitlines()[-40:]))
    la = timed_lines(os.path.join(wd, "a.serial.times"))
    lb = timed_lines(os.path.join(wd, "b.serial.times"))
    t.check("both consoles were recorded with host timestamps", bool(la) and bool(lb))
    newvm = None
    b_from = 0
    for i, ln in enumerate(lb):
        m = re.search(r"^\[hv\] migrate: incoming guest .* becomes vm (\d+)", ln)
        if m:
            newvm, b_from = m.group(1), i
    t.check("B announces the incoming guest as a new VM", newvm is not None, "vm %s" % newvm)
    hb_a = [m for ln in la for m in [HB.match(ln)] if m and m.group(1) == "1"]
    hb_b = [m for ln in lb[b_from:] for m in [HB.match(ln)] if m and m.group(1) == newvm] if newvm else []
    t.check("guest alive on B: at least 4 heartbeats there", len(hb_b) >= 4, "%d heartbeats" % len(hb_b))
    seqs = [int(m.group(3)) for m in hb_a + hb_b]
    t.check(
        "heartbeat sequence unbroken across A and B (none lost, none repeated)",
        bool(hb_a) and bool(hb_b) and seqs == list(range(1, len(seqs) + 1)),
        "A %s..%s, B %s..%s"
        % (
            hb_a[0].group(3) if hb_a else "-",
            hb_a[-1].group(3) if hb_a else "-",
            hb_b[0].group(3) if hb_b else "-",
            hb_b[-1].group(3) if hb_b else "-",
        ),
    )
    start = next((m for ln in la for m in [START.match(ln)] if m and m.group(1) == "1"), None)
    if start:
        pages = int(start.group(3))
        seed = model.seed_of(int(start.group(2)))
        bad = [
            m.group(0)
            for m in hb_a + hb_b
            if m.group(6) != "%08x" % model.hb_sum(seed, pages, int(m.group(5)))
        ]
        t.check(
            "every heartbeat checksum on A and B matches the guest model (no write lost)",
            not bad and len(hb_a + hb_b) > 8,
            "; ".join(bad[:2]),
        )
    else:
        t.check(
            "every heartbeat checksum on A and B matches the guest model (no write lost)",
            False,
            "no GUEST start line on A",
        )
    mc = [ln for ln in lb[b_from:] if newvm and ln.startswith("[vm%s] MEMCHECK ok" % newvm)]
    bad = [ln for ln in la + lb if "MEMCHECK FAIL" in ln or "PANIC" in ln]
    t.check(
        "memory self-check passes on B (and fails nowhere)",
        bool(mc) and not bad,
        (mc[0] if mc else "no MEMCHECK ok on B") + ("; " + bad[0] if bad else ""),
    )
    scrub = [ln for ln in la if "vm 1 migrated away; memory and state scrubbed and verified" in ln]
    listed = [ln for ln in la if ln.startswith("vm 1 ") and "state=" in ln]
    t.check(
        "A scrubbed: reported scrubbed and verified, vm list shows vm 1 stopped",
        bool(scrub) and bool(listed) and "state=stopped" in listed[-1],
        listed[-1] if listed else "",
    )
    t.check(
        "hvctl migrate printed the progress, the summary and the source's MIGSTAT line",
        "[hv] migrate: vm 1 round" in out
        and "---- summary" in out
        and re.search(r"\[hv\] MIGSTAT id=\S+ role=src result=done", out) is not None,
    )
    prefix = os.path.join(wd, "cutover")
    csv_ok = False
    try:
        with open(prefix + ".csv") as f:
            rows = f.read().splitlines()
        csv_ok = (
            rows[0] == "seq,host_time_s,guest_t_us,side,interval_ms"
            and len(rows) > 10
            and any(x.split(",")[3] == "A" for x in rows[1:])
            and any(x.split(",")[3] == "B" for x in rows[1:])
        )
    except (OSError, IndexError):
        pass
    t.check("cutover CSV written (header, rows from A and B)", csv_ok)
    png_ok = False
    try:
        with open(prefix + ".png", "rb") as f:
            png_ok = f.read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(prefix + ".png") > 5000
    except OSError:
        pass
    t.check("cutover PNG plot written", png_ok)
    fig_ok, mid = False, re.search(r"\[hv\] MIGSTAT id=(\S+) role=src result=done", out)
    try:
        with open(prefix + "-figure.json") as f:
            fig = json.load(f)
        fig_ok = (
            bool(mid)
            and fig["migration"]["id"] == mid.group(1)
            and len(fig["rounds"]) == fig["migration"]["rounds"] > 0
            and [p["name"] for p in fig["stop"]["parts"]] == ["copy", "ready", "confirm"]
            and os.path.getsize(prefix + ".svg") > 5000
        )
    except (OSError, ValueError, KeyError, TypeError):
        pass
    t.check("cutover figure: SVG and its data (this migration's rounds, the stop's three parts)", fig_ok)
    try:
        with open(prefix + ".txt") as f:
            rep = f.read()
    except OSError:
        rep = ""
    t.check("cutover report: sequence check OK", "OK: unbroken" in rep)
    t.check(
        "cutover report: the guest-seen stop (heartbeat gap in guest and host time)",
        re.search(r"gap [\d.]+ ms, nominal", rep) is not None
        and re.search(r"seq \d+ on A -> seq \d+ on B: gap [\d.]+ ms", rep) is not None,
    )
    t.check(
        "cutover report: both hypervisors' MIGSTAT downtimes",
        re.search(r"source +downtime_us +[\d.]+ ms", rep) is not None
        and re.search(r"destination downtime_us +[\d.]+ ms", rep) is not None
        and re.search(r"predicted_us +[\d.]+ ms", rep) is not None,
    )
    t.check("cutover report: error bounds stated", "ERROR BOUNDS" in rep and "heartbeat granularity" in rep)
    left = leftovers(wd, read_pids(wd))
    t.check("every process the demo started is gone", not left, "; ".join(left[:3]))

    # 2. Ctrl-C in the middle
    wd2 = os.path.abspath(os.path.join(a.workdir, "interrupt"))
    rc2, out2, secs2 = run_demo(a.iso, wd2, a.timeout, interrupt_at="=== the guest runs on A")
    with open(os.path.join(a.workdir, "demo-interrupt.out"), "w") as f:
        f.write(out2)
    t.check(
        "Ctrl-C (SIGINT) stops the demo with status 130", rc2 == 130, "status %d after %.0f s" % (rc2, secs2)
    )
    pids2 = read_pids(wd2)
    left2 = leftovers(wd2, pids2)
    t.check(
        "after Ctrl-C every process the demo started is gone",
        bool(pids2) and not left2,
        "%d recorded; %s" % (len(pids2), "; ".join(left2[:3])),
    )
    total = time.monotonic() - t_all
    t.check("the whole test takes under 3 minutes", total < 180, "%.0f s" % total)


if __name__ == "__main__":
    # --timeout is the demo's own hard limit (s); the test runs the demo twice
    systest.main(
        checks,
        __doc__,
        timeout=110,
        default_image=os.path.join(TOP, "build", "hv-mig.iso"),
        default_workdir=os.path.join(TOP, "build", "systest-demo"),
        limit=lambda a: 2 * (a.timeout + 60) + 60,
    )
