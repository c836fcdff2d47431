#!/usr/bin/env python3
"""Hosted test of hbinit, the Linux guest's /init (guest/linux/): the static binary runs on
this host as an ordinary process, and its lines are checked with the parsers and the model
the system tests use (tools/hvtools/lines.py, guest/model.py).

  python3 guest/linux/test_hbinit.py build/linux/hbinit

Checks: the start line, 20 heartbeats without gaps whose sums the model reproduces (default
and explicit seeds), MEMCHECK passes, ECHO of console input (plain, non-printable, overlong),
that it sleeps rather than spins (CPU time under half the run), the canary in the process's
memory, no catch-up burst of heartbeats after a pause (SIGSTOP), a damaged page caught (the
corrupt_after= test hook), bad parameters refused with exit 2, and mode=memtouch's fallbacks
(memdev= test hook). No interval between lines is asserted. Prints PASS/FAIL lines and
`N passed, M failed`; exit status 0 only if all passed.
"""
import os
import re
import resource
import select
import signal
import subprocess
import sys
import tempfile
import time

TOP = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
for _d in ("tools", "guest"):
    sys.path.insert(0, os.path.join(TOP, _d))

import model  # noqa: E402
from hvtools.lines import GUEST_START_RE, HB_RE  # noqa: E402

LABEL = "[vm3] "  # what the hypervisor puts before each line of vm 3's console
MEMCHECK_OK_RE = re.compile(r"^MEMCHECK ok pass=(\d+) pages=(\d+)$")
FAIL_RE = re.compile(
    r"^MEMCHECK FAIL page=0x([0-9a-f]+) word=(\d+) want=0x([0-9a-f]{8}) got=0x([0-9a-f]{8})$"
)
ECHO_MAX = 120  # guest/linux/input.c LINE_MAX
# What the kernel itself passes to init besides the command line's words.
KERNEL_ENV = {"HOME": "/", "TERM": "linux"}


class Checks:
    def __init__(self):
        self.passed = self.failed = 0

    def check(self, name, ok, detail=""):
        print("%s %s%s" % ("PASS" if ok else "FAIL", name, (": " + detail) if detail else ""), flush=True)
        self.passed += bool(ok)
        self.failed += not ok
        return ok


def child_cpu_s():
    ru = resource.getrusage(resource.RUSAGE_CHILDREN)
    return ru.ru_utime + ru.ru_stime


def run(binary, params, stdin=b"", timeout=60, usage=None):
    """Runs hbinit with params as its whole environment; (exit status, stdout lines, stderr).
    usage, a dict, gets the run's cpu_s and wall_s."""
    env = dict(KERNEL_ENV, **{k: str(v) for k, v in params.items()})
    cpu, wall = child_cpu_s(), time.monotonic()
    p = subprocess.run([binary], env=env, input=stdin, capture_output=True, timeout=timeout)
    if usage is not None:
        usage.update(cpu_s=child_cpu_s() - cpu, wall_s=time.monotonic() - wall)
    return p.returncode, p.stdout.decode("ascii", "replace").splitlines(), p.stderr


def check_heartbeats(t, name, lines, vm, seed, pages, count):
    """HB lines: count of them, seq 1.. without gaps, t_us rising, sums as the model says."""
    hbs = [m for m in (HB_RE.match("[vm%d] " % vm + ln) for ln in lines) if m]
    seqs = [int(m.group(3)) for m in hbs]
    t.check(name + ": %d HB lines, seq 1..%d" % (count, count), seqs == list(range(1, count + 1)), str(seqs))
    t.check(name + ": HB vm=%d" % vm, all(m.group(2) == str(vm) for m in hbs))
    t_us = [int(m.group(4)) for m in hbs]
    t.check(name + ": t_us increasing", all(a < b for a, b in zip(t_us, t_us[1:])), str(t_us))
    work, bad = model.Work(seed, pages), []
    for m in hbs:
        writes = int(m.group(5))
        if writes < work.writes:
            bad.append("seq %s: writes went back to %d" % (m.group(3), writes))
            break
        if "%08x" % work.advance(writes - work.writes) != m.group(6):
            bad.append("seq %s writes=%d: sum=%s, model %08x" % (m.group(3), writes, m.group(6), work.sum))
    t.check(
        name + ": every sum matches model.Work", not bad, "; ".join(bad[:3]) or "last writes=%d" % work.writes
    )
    t.check(name + ": pages were rewritten", work.writes > 0, "writes=%d" % work.writes)


def test_work(t, binary):
    vm, pages, n = 3, 64, 20
    long_line, usage = b"x" * 300, {}
    rc, lines, err = run(
        binary,
        {"vm": vm, "hb_ms": 50, "write_rate": 2000, "pages": pages, "hb_max": n},
        stdin=b"hello guest\na\x01b\r\n" + long_line + b"\n",
        usage=usage,
    )
    t.check("work: exit status 0 after hb_max heartbeats", rc == 0, "rc=%d" % rc)
    t.check("work: nothing on stderr", not err, repr(err[:200]))
    m = GUEST_START_RE.match(LABEL + lines[0]) if lines else None
    t.check("work: first line matches GUEST_START_RE", m, lines[0] if lines else "no output")
    if m:
        t.check("work: start line's vm and pages", m.group(2, 3) == (str(vm), str(pages)), lines[0])
        t.check("work: start line's mem= is the data area", "mem=%dKiB " % (pages * 4) in lines[0], lines[0])
    check_heartbeats(t, "work", lines, vm, model.seed_of(vm), pages, n)
    passes = [int(m.group(1)) for m in map(MEMCHECK_OK_RE.match, lines) if m and m.group(2) == str(pages)]
    t.check(
        "work: MEMCHECK ok passes 1, 2, ...",
        passes and passes == list(range(1, len(passes) + 1)),
        str(passes),
    )
    t.check("work: no FAIL", not any("FAIL" in ln for ln in lines))
    echoes = [ln for ln in lines if ln.startswith("ECHO ")]
    want = ["ECHO hello guest", "ECHO a?b", "ECHO " + "x" * ECHO_MAX]
    t.check("work: ECHO of each input line (CR dropped, ? for control, cut)", echoes == want, str(echoes))
    stray = [
        ln
        for ln in lines
        if not (
            GUEST_START_RE.match(LABEL + ln)
            or HB_RE.match(LABEL + ln)
            or MEMCHECK_OK_RE.match(ln)
            or ln.startswith("ECHO ")
        )
    ]
    t.check("work: no other lines", not stray, str(stray[:3]))
    # CPU time does not grow when the host is busy, wall time does: a loose bound holds on
    # a loaded machine and still catches a loop that spins instead of sleeping in ppoll.
    t.check(
        "work: sleeps between events (CPU time under half the run)",
        usage["cpu_s"] < usage["wall_s"] / 2,
        "%.3f s CPU in %.3f s" % (usage["cpu_s"], usage["wall_s"]),
    )


def test_seed(t, binary):
    for seed in ("0x1234abcd", "4660"):
        params = {"vm": 7, "hb_ms": 20, "write_rate": 1000, "pages": 8, "hb_max": 3, "seed": seed}
        rc, lines, _ = run(binary, params)
        t.check("seed=%s: exit status 0" % seed, rc == 0, "rc=%d" % rc)
        check_heartbeats(t, "seed=%s" % seed, lines, 7, int(seed, 0), 8, 3)


def test_canary(t, binary):
    """The canary sits in the process's memory at +0 and +0x800 of one page."""
    want = model.canary(model.seed_of(5))
    env = dict(KERNEL_ENV, vm="5", hb_ms="20")
    p = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    found = []
    try:
        # GUEST start: set-up is done (a binary that prints nothing must not hang the test)
        if not select.select([p.stdout], [], [], 10)[0] or not p.stdout.readline():
            t.check("canary: GUEST start line", False, "none in 10 s")
            return
        with open("/proc/%d/maps" % p.pid) as maps, open("/proc/%d/mem" % p.pid, "rb") as mem:
            for ln in maps:
                lo, hi = (int(x, 16) for x in ln.split()[0].split("-"))
                if "rw" not in ln.split()[1]:
                    continue
                mem.seek(lo)
                data = mem.read(hi - lo)
                for i in range(0, len(data), 4096):
                    if data[i : i + len(want)] == want and data[i + 0x800 : i + 0x800 + len(want)] == want:
                        found.append(lo + i)
    except PermissionError as e:  # a sandbox that forbids even a parent to read its child
        print("SKIP canary: cannot read the process's memory: %s" % e, flush=True)
        return
    finally:
        p.kill()
        p.wait()
    t.check("canary: %s at +0 and +0x800 of a page" % want.decode(), len(found) == 1, str(found))


def test_stall(t, binary):
    """A stopped guest (SIGSTOP here, a paused VM there) gets one HB line after the pause, not
    a burst that catches up: the intervals it slept through stay missing from seq."""
    hb_ms, stall_ms = 10, 300
    env = dict(KERNEL_ENV, vm="3", hb_ms=str(hb_ms), pages="8", hb_max="30")
    p = subprocess.Popen([binary], env=env, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE)
    try:
        head = []
        for raw in iter(p.stdout.readline, b""):  # up to HB seq 3 (or the end)
            head.append(raw.decode())
            if raw.startswith(b"HB vm=3 seq=3 "):
                break
        os.kill(p.pid, signal.SIGSTOP)
        time.sleep(stall_ms / 1000)
        os.kill(p.pid, signal.SIGCONT)
        out, _ = p.communicate(timeout=30)
    finally:
        p.kill()
        p.wait()
    lines = [ln.rstrip("\n") for ln in head] + out.decode().splitlines()
    hbs = [m for m in (HB_RE.match(LABEL + ln) for ln in lines) if m]
    check_heartbeats(t, "stall", lines, 3, model.seed_of(3), 8, 30)
    # Monotonic time runs on while stopped: at least stall_ms / hb_ms intervals are skipped.
    skipped = int(hbs[-1].group(4)) // (hb_ms * 1000) - int(hbs[-1].group(3)) if hbs else 0
    t.check(
        "stall: the intervals slept through are not caught up",
        skipped >= stall_ms // hb_ms // 2,
        str(skipped),
    )


def test_corrupt(t, binary):
    pages = 16
    params = {"vm": 3, "hb_ms": 20, "write_rate": 500, "pages": pages, "hb_max": 50, "corrupt_after": 3}
    rc, lines, _ = run(binary, params)
    t.check("corrupt: exit status 1", rc == 1, "rc=%d" % rc)
    fails = [m for m in map(FAIL_RE.match, lines) if m]
    t.check(
        "corrupt: one MEMCHECK FAIL line, the last", len(fails) == 1 and FAIL_RE.match(lines[-1]), lines[-1]
    )
    if fails:
        page, want, got = (int(fails[0].group(i), 16) for i in (1, 3, 4))
        word = int(fails[0].group(2))
        in_range = model.DATA_PFN * 4096 <= page < (model.DATA_PFN + pages) * 4096 and page % 4096 == 0
        t.check("corrupt: page= is a data page's test-guest address", in_range, hex(page))
        t.check("corrupt: word 7, one bit off", word == 7 and want ^ got == 0x100, fails[0].group(0))
    check_heartbeats(t, "corrupt", lines, 3, model.seed_of(3), pages, 3)


def test_bad_params(t, binary):
    cases = [
        {"hb_ms": "abc"},
        {"pages": "0"},
        {"pages": "131073"},
        {"vm": "4294967296"},
        {"write_rate": "-1"},
        {"seed": "0x"},
        {"mode": "wset"},
        {"mode": "memtouch"},
        {"mode": "memtouch", "addr": "0xfeg"},
    ]
    for params in cases:
        rc, lines, _ = run(binary, params)
        name = " ".join("%s=%s" % kv for kv in params.items())
        t.check("bad params (%s): GUEST bad params, exit 2" % name, (rc, lines) == (2, ["GUEST bad params"]))


def test_memtouch(t, binary):
    base = {"vm": 3, "hb_ms": 20, "hb_max": 2, "pages": 8, "mode": "memtouch", "addr": "0x2008"}
    rc, lines, _ = run(binary, dict(base, memdev="/nonexistent/mem"))
    t.check(
        "memtouch: start line says mode=memtouch", lines and " mode=memtouch " in lines[0], str(lines[:1])
    )
    want = ["MEMTOUCH addr=0x2008", "MEMTOUCH failed errno=2"]
    t.check("memtouch without a device: failed errno=2", lines[1:3] == want, str(lines[1:3]))
    check_heartbeats(t, "memtouch without a device, then work", lines, 3, model.seed_of(3), 8, 2)
    with tempfile.NamedTemporaryFile() as f:
        img = bytearray(0x4000)
        img[0x2008:0x200C] = (0xDEADBEEF).to_bytes(4, "little")
        f.write(img)
        f.flush()
        rc, lines, _ = run(binary, dict(base, memdev=f.name))
        f.seek(0)
        same = f.read() == bytes(img)
    t.check(
        "memtouch on a file: survived read=0xdeadbeef", lines[2:3] == ["MEMTOUCH survived read=0xdeadbeef"]
    )
    t.check("memtouch on a file: wrote back what it read", same)
    t.check("memtouch on a file: exit status 0", rc == 0, "rc=%d" % rc)


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(TOP, "build", "linux", "hbinit")
    t = Checks()
    for test in (test_work, test_seed, test_canary, test_stall, test_corrupt, test_bad_params, test_memtouch):
        try:
            test(t, binary)
        except Exception as e:  # one broken case must not hide the others' results
            t.check(test.__name__, False, "%s: %s" % (type(e).__name__, e))
    print("%d passed, %d failed" % (t.passed, t.failed))
    return 0 if t.passed and not t.failed else 1


if __name__ == "__main__":
    sys.exit(main())
