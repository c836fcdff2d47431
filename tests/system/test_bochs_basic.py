#!/usr/bin/env python3
"""Full-system test of the hypervisor under Bochs (VT-x emulated).

  python3 tests/system/test_bochs_basic.py --iso build/hv.iso --workdir build/systest-bochs

Boots the ISO (whose GRUB command line creates vm1, vm2 in work mode and vm3
in wset mode, all autostarted, exit_on_panic=1) and checks, talking to the
serial console (docs/console.md):
  a. boot reaches `[hv] console ready`; `status` has `vmx: available` and a
     `dirty-tracking:` line; `vm list` shows vm 1, 2 running and vm 3
     running or parked; `vm stats 1` counts vm1's exits by reason;
  b. vm1 and vm2 both print heartbeats with advancing seq, interleaved;
  c. dirty tracking is exact, 3 rounds through PML and 3 through the EPT A/D
     scan, using vm3's announced write sets;
  d. `vm pause 1` stops vm1's heartbeats while vm2 goes on; after `vm resume 1`
     its next heartbeat is the next seq;
  e. garbage on the console (random bytes, an overlong line, unknown commands,
     bad ids, control characters) is answered with `error:` and changes nothing;
  f. no MEMCHECK FAIL, no failure or panic lines; `poweroff` ends Bochs by
     itself with status 0.
Each check prints a PASS or FAIL line; the last line is `N passed, M failed`.
Exit status 0 only if everything passed. Bochs is always killed at the end;
WORKDIR keeps bochs.bochsrc, bochs.log (Bochs' log), bochs.stdout and
serial.log (the whole console), whose tails are printed on failure.
"""

import os
import random
import re
import statistics
import time

import systest
from systest import ConsoleTimeout, Stop
from hvtools import bochs
from hvtools.console import EVENT_RE, strip_prompts

HB_RE = systest.HB
WSET_RE = r"^\[vm3\] WSET k=(\d+) pages=([0-9,]*)\s*$"
PARKED3_RE = r"^\[hv\] vm 3 parked\s*$"
DIRTY_RE = re.compile(r"^dirty vm=(\d+) method=(\w+) count=(\d+) pages=([0-9,]*)\s*$")
VMLINE_RE = re.compile(r"^vm (\d+) state=(\S+)")


# ---------------------------------------------------------------------------
# A model of the hypervisor's line editor (hv/core/line_edit.c), to know how
# many replies a stream of garbage must produce.
def line_editor_results(data, line_max=255):
    """Yields 'line:TEXT', 'long', 'binary', 'empty', 'cancel' per finished line."""
    buf, overflow, binary, last = [], False, False, None
    out = []
    for c in data:
        prev, last = last, c
        if c == 0x0A and prev == 0x0D:
            continue
        if c in (0x0D, 0x0A):
            if overflow:
                out.append("long")
            elif binary:
                out.append("binary")
            elif not buf:
                out.append("empty")
            else:
                out.append("line:" + "".join(buf))
            buf, overflow, binary = [], False, False
            continue
        if c in (0x03, 0x15):
            buf, overflow, binary = [], False, False
            out.append("cancel")
            continue
        if c in (0x08, 0x7F):
            if buf and not overflow and not binary:
                buf.pop()
            continue
        if c == 0x09:
            c = 0x20
        if c < 0x20 or c > 0x7E:
            binary = True
            continue
        if len(buf) >= line_max:
            overflow = True
            continue
        buf.append(chr(c))
    return out, (buf or overflow or binary)


def echoed_texts(data):
    """What the line editor echoes per line (printable bytes until the
    first non-printable one of the line)."""
    out, cur, binary = [], [], False
    for c in data:
        if c in (0x0D, 0x0A, 0x03, 0x15):
            out.append("".join(cur))
            cur, binary = [], False
        elif c in (0x08, 0x7F):
            if cur and not binary:
                cur.pop()
        elif 0x20 <= c <= 0x7E or c == 0x09:
            if not binary:
                cur.append(" " if c == 0x09 else chr(c))
        else:
            binary = True
    out.append("".join(cur))
    return out


VALID_FIRST_WORDS = {"help", "status", "vm", "poweroff"}


def garbage_bytes(rng, n, cr_every=0):
    """Random bytes ending in CR whose lines all must be answered with error:
    (no line is a valid command, no trailing partial line, no echo that looks
    like a reply). cr_every > 0 puts a CR after about that many bytes."""
    while True:
        data = bytearray()
        for _ in range(n):
            data.append(rng.randrange(256))
            if cr_every and rng.randrange(cr_every) == 0:
                data.append(0x0D)
        data = bytes(data) + b"\r"
        res, partial = line_editor_results(data)
        if partial:
            continue
        if any(
            r.startswith("line:") and r[5:].split()[:1] and r[5:].split()[0] in VALID_FIRST_WORDS for r in res
        ):
            continue
        # the echoed text of a line must not look like a reply or an async line
        if any(re.match(r"\s*(ok|error|\[vm|\[hv|hv>)", e) for e in echoed_texts(data)):
            continue
        errors = sum(1 for r in res if r in ("long", "binary") or r.startswith("line:"))
        if errors >= 1:
            return data, res, errors


# ---------------------------------------------------------------------------
class HvTest:
    def __init__(self, t):
        self.args = t.args
        self.t = t
        self.inst = None
        self.con = None
        self.hb_interval = 0.5
        self.vm_list_before = None

    # helpers -------------------------------------------------------------
    def cmd(self, line, timeout=20, **kw):
        ok, reply = self.con.command(line, timeout=timeout, **kw)
        self.t.note(
            "hv> %s -> %s%s"
            % (
                line if len(line) < 60 else line[:57] + "...",
                self.con.last_final,
                "".join("\n             | " + x for x in reply),
            )
        )
        return ok, reply

    def heartbeats(self, since=0, end=None):
        """[(line_index, time, vm, seq)] of HB lines."""
        out = []
        tl = self.con.timed_lines_since(since)
        if end is not None:
            tl = tl[: max(0, end - since)]
        for k, (t, text) in enumerate(tl):
            m = HB_RE.match(strip_prompts(text))
            if m and m.group(1) == m.group(2):
                out.append((since + k, t, int(m.group(1)), int(m.group(3))))
        return out

    def wait_hb(self, vm, count, since, timeout):
        """Wait until `count` heartbeats of `vm` arrived from line `since`."""
        end = time.monotonic() + timeout
        while True:
            hbs = [h for h in self.heartbeats(since) if h[2] == vm]
            if len(hbs) >= count:
                return hbs
            if time.monotonic() > end or self.con.closed:
                raise ConsoleTimeout(
                    "only %d of %d heartbeats of vm%d in %.0fs\n%s"
                    % (len(hbs), count, vm, timeout, self.con.log_tail(20))
                )
            time.sleep(0.1)

    def vm_states(self, reply):
        st = {}
        for x in reply:
            m = VMLINE_RE.match(x)
            if m:
                st[int(m.group(1))] = m.group(2)
        return st

    @staticmethod
    def vm_list_key(reply):
        """vm list without the ever-changing exit counters."""
        return [re.sub(r"\s*exits=\d+", "", x).strip() for x in reply]

    # setup ------------------------------------------------------------------
    def start(self):
        a = self.args
        if a.connect:
            host, _, port = a.connect.rpartition(":")
            self.con = self.t.console(
                host or "127.0.0.1",
                int(port),
                log_path=os.path.join(a.workdir, "serial.log"),
                log_mode="wb",
                deadline=30,
            )
            return
        self.inst, self.con = self.t.bochs(
            ready=False, log_mode="wb", ips=a.ips, megs=a.megs, cpu_model=a.cpu, timeout=a.timeout + 60
        )

    # a ----------------------------------------------------------------------
    def part_a(self):
        t = time.monotonic()
        try:
            self.con.wait_for(r"\[hv\] console ready", timeout=self.args.boot_timeout, since=0)
        except ConsoleTimeout as e:
            self.t.require("a1 boot reaches [hv] console ready", False, str(e))
        self.t.require(
            "a1 boot reaches [hv] console ready",
            True,
            "%.1f s after the serial connection" % (time.monotonic() - t),
        )
        time.sleep(0.3)
        ok, reply = self.cmd("status")
        self.status = reply
        self.t.check("a2 status answers ok", ok, "" if ok else str(self.con.last_final))
        self.t.check("a3 status has vmx: available", "vmx: available" in reply, "; ".join(reply))
        dt = [x for x in reply if x.startswith("dirty-tracking:")]
        self.t.check("a4 status has a dirty-tracking: line", bool(dt), dt[0] if dt else "")
        self.dirty_line = dt[0] if dt else ""
        ok, reply = self.cmd("vm list")
        st = self.vm_states(reply)
        good = ok and st.get(1) == "running" and st.get(2) == "running" and st.get(3) in ("running", "parked")
        self.t.check("a5 vm list shows vm 1, 2 running and vm 3 running/parked", good, "; ".join(reply))
        ok, reply = self.cmd("vm stats 1")
        head = re.match(r"vm 1 exits=(\d+)$", reply[0]) if ok and reply else None
        rows = [re.match(r"exit (\d+) ([a-z-]+) (\d+)$", x) for x in reply[1:] if not x.startswith("vmcs: ")]
        by_name = {r.group(2): (int(r.group(1)), int(r.group(3))) for r in rows if r}
        good = (
            head is not None
            and all(rows)
            and sum(n for _, n in by_name.values()) == int(head.group(1))
            and by_name.get("io", (0, 0))[0] == 30
            and by_name.get("io", (0, 0))[1] > 0
            and by_name.get("preempt-timer", (0, 0))[0] == 52
        )
        self.t.check(
            "a6 vm stats 1 counts exits by reason (io = 30, preempt-timer = 52), summing to the total",
            good,
            "; ".join(reply),
        )

    # b ----------------------------------------------------------------------
    def part_b(self):
        since = self.con.mark()
        name = "b1 vm1 and vm2 heartbeats advance together"
        try:
            self.wait_hb(1, 4, since, 60)
            self.wait_hb(2, 4, since, 60)
        except ConsoleTimeout as e:
            self.t.require(name, False, str(e))
        hbs = self.heartbeats(since)
        seqs = {v: [s for (_, _, vv, s) in hbs if vv == v] for v in (1, 2)}
        consecutive = all(all(b == a + 1 for a, b in zip(seqs[v], seqs[v][1:])) for v in (1, 2))
        incr = {v: seqs[v][-1] - seqs[v][0] for v in (1, 2)}
        order = [vv for (_, _, vv, _) in hbs if vv in (1, 2)]
        switches = sum(1 for a, b in zip(order, order[1:]) if a != b)
        ok = consecutive and incr[1] >= 3 and incr[2] >= 3 and switches >= 3
        self.t.check(
            name,
            ok,
            "vm1 seq %s, vm2 seq %s, %d alternations%s"
            % (seqs[1], seqs[2], switches, "" if consecutive else " (NOT consecutive)"),
        )
        times = [t for (_, t, vv, _) in hbs if vv == 2]
        if len(times) >= 2:
            self.hb_interval = statistics.median(b - a for a, b in zip(times, times[1:]))
        self.t.note("heartbeat interval (wall clock): %.2f s" % self.hb_interval)

    # c ----------------------------------------------------------------------
    def wset_round(self, method, k_expect_after):
        """One announced write set; returns (ok, detail)."""
        c = self.con
        idx, m = c.wait_for_line(WSET_RE, timeout=60, since=self.wset_cursor)
        k, pages = int(m.group(1)), m.group(2)
        announced = sorted(int(p) for p in pages.split(",") if p)
        c.wait_for_line(PARKED3_RE, timeout=60, since=idx + 1)
        ok, reply = self.cmd("vm dirty 3")  # discard: starts the interval
        if not ok:
            return False, "vm dirty 3 (discard) failed: %s" % c.last_final
        mark = c.mark()
        ok, _ = self.cmd("vm resume 3")
        if not ok:
            return False, "vm resume 3 failed: %s" % c.last_final
        # the second park of the round (after the resume's reply)
        c.wait_for_line(PARKED3_RE, timeout=60, since=mark)
        ok, reply = self.cmd("vm dirty 3")
        if not ok:
            return False, "vm dirty 3 failed: %s" % c.last_final
        d = [DIRTY_RE.match(x) for x in reply]
        d = [x for x in d if x]
        if len(d) != 1:
            return False, "no dirty line in reply %r" % reply
        got = sorted(int(p) for p in d[0].group(4).split(",") if p)
        meth, count = d[0].group(2), int(d[0].group(3))
        mark = c.mark()
        okr, _ = self.cmd("vm resume 3")
        i2, _ = c.wait_for_line(r"^\[vm3\] WSET-DONE k=%d\b" % k, timeout=60, since=mark)
        self.wset_cursor = i2 + 1
        problems = []
        if meth != method:
            problems.append("method=%s, expected %s" % (meth, method))
        if count != len(got):
            problems.append("count=%d but %d pages listed" % (count, len(got)))
        if set(got) != set(announced):
            problems.append(
                "dirty set differs: announced %s got %s (missing %s, extra %s)"
                % (announced, got, sorted(set(announced) - set(got)), sorted(set(got) - set(announced)))
            )
        if not okr:
            problems.append("vm resume 3 after the round failed: %s" % c.last_final)
        if problems:
            return False, "k=%d: %s" % (k, "; ".join(problems))
        return True, "k=%d: %d pages exact %s" % (k, len(got), announced)

    def resync_wset(self):
        """After a failed round: resume vm3 until it announces a new round."""
        c = self.con
        mark = c.mark()
        for _ in range(6):
            try:
                idx, _ = c.wait_for_line(WSET_RE, timeout=3, since=mark)
                self.wset_cursor = idx
                return True
            except ConsoleTimeout:
                if c.closed:
                    return False
                self.cmd("vm resume 3")
        self.t.note("vm3 did not announce a new write set after the failed round")
        return False

    def part_c(self):
        self.wset_cursor = 0
        pml_missing = [
            x
            for x in self.status
            if re.search(r"pml|page.modification", x, re.I)
            and re.search(r"missing|unavailable|not available|absent", x, re.I)
        ]
        if "pml" not in self.dirty_line:
            self.t.note("status chose %r (not pml) as the default method" % self.dirty_line)
        for method in ("pml", "ad"):
            name = "c-%s dirty tracking exact through %s" % (
                method,
                method.upper() if method == "pml" else "A/D scan",
            )
            if method == "pml" and pml_missing:
                self.t.check(name, False, "status says PML is not available: %s" % "; ".join(self.status))
                continue
            ok, _ = self.cmd("vm track 3 %s" % method)
            if not ok:
                self.t.check(name, False, "vm track 3 %s: %s" % (method, self.con.last_final))
                continue
            for rnd in range(1, self.args.rounds + 1):
                try:
                    ok, detail = self.wset_round(method, None)
                except ConsoleTimeout as e:
                    ok, detail = False, str(e)
                self.t.check("%s round %d" % (name, rnd), ok, detail)
                if not ok:
                    self.resync_wset()
                    break

    # d ----------------------------------------------------------------------
    def part_d(self):
        c = self.con
        ok, _ = self.cmd("vm pause 1")
        if not ok:
            self.t.require("d1 vm pause 1", False, str(c.last_final))
        end_idx = (c.last_final_index or c.mark()) + 1
        before = [h for h in self.heartbeats(0, end_idx) if h[2] == 1]
        if not before:
            self.t.require("d1 vm1 had heartbeats before the pause", False)
        s = before[-1][3]
        window = min(60.0, max(4.0, 6 * self.hb_interval))
        self.t.note("vm1 paused after seq %d; watching %.1f s" % (s, window))
        time.sleep(window)
        during = self.heartbeats(end_idx)
        v1 = [h for h in during if h[2] == 1]
        v2 = [h for h in during if h[2] == 2]
        self.t.check(
            "d1 paused vm1 prints no heartbeat while vm2 goes on",
            not v1 and len(v2) >= 3,
            "vm1 seqs during pause %s, vm2 seqs %s" % ([h[3] for h in v1], [h[3] for h in v2]),
        )
        ok, reply = self.cmd("vm list")
        st = self.vm_states(reply)
        self.t.check("d2 vm list shows vm 1 paused", st.get(1) == "paused", "; ".join(reply))
        mark = c.mark()
        ok, _ = self.cmd("vm resume 1")
        if not ok:
            self.t.require("d3 vm resume 1", False, str(c.last_final))
        try:
            hb = self.wait_hb(1, 1, mark, max(10, 10 * self.hb_interval))[0]
            self.t.check(
                "d3 after resume vm1's next heartbeat has seq S+1",
                hb[3] == s + 1,
                "S=%d, next seq=%d" % (s, hb[3]),
            )
        except ConsoleTimeout as e:
            self.t.check("d3 after resume vm1's next heartbeat has seq S+1", False, str(e))

    # e ----------------------------------------------------------------------
    def count_finals(self, since):
        errs, oks = [], []
        for text in self.con.lines_since(since):
            t = strip_prompts(text).strip()
            if t.startswith("error:"):
                errs.append(t)
            elif t == "ok":
                oks.append(t)
        return errs, oks

    def garbage_step(self, name, data, expected_errors):
        c = self.con
        mark = c.mark()
        c.send_raw(data)
        end = time.monotonic() + 20
        while time.monotonic() < end:
            errs, oks = self.count_finals(mark)
            if len(errs) >= expected_errors:
                break
            time.sleep(0.1)
        c.wait_quiet(quiet=max(1.0, 2 * self.hb_interval), timeout=10)
        errs, oks = self.count_finals(mark)
        ok = len(errs) == expected_errors and not oks
        self.t.check(
            name,
            ok,
            "%d error replies (expected %d), %d ok%s"
            % (len(errs), expected_errors, len(oks), (": " + " | ".join(errs[:4])) if errs else ""),
        )
        return ok

    def part_e(self):
        c = self.con
        ok, reply = self.cmd("vm list")
        before = self.vm_list_key(reply)
        hb_mark = c.mark()
        rng = random.Random(self.args.seed)
        chunks = [
            garbage_bytes(rng, 200, cr_every=0),
            garbage_bytes(rng, 200, cr_every=40),
            garbage_bytes(rng, 120, cr_every=8),
        ]
        data = b"".join(ch[0] for ch in chunks)
        res = [r for ch in chunks for r in ch[1]]
        nerr = sum(ch[2] for ch in chunks)
        self.t.note(
            "garbage: %d random bytes (seed %d) -> line editor model: %s"
            % (len(data), self.args.seed, ", ".join(r if not r.startswith("line:") else "line" for r in res))
        )
        self.garbage_step("e1 random binary bytes answered only with error:", data, nerr)
        ok, _ = self.cmd("x" * 300)
        self.t.check(
            "e2 overlong line (300 chars) -> error:",
            not ok and str(c.last_final).startswith("error:"),
            str(c.last_final),
        )
        for i, (line, label) in enumerate(
            (
                ("frobnicate the widgets", "unknown command"),
                ("vm pause 99", "unknown vm id"),
                ("vm start x", "bad vm id"),
                ("vm", "incomplete command"),
                ("status now", "extra argument"),
            )
        ):
            ok, _ = self.cmd(line)
            self.t.check(
                "e%d %s (%s) -> error:" % (3 + i, label, line),
                not ok and str(c.last_final).startswith("error:"),
                str(c.last_final),
            )
        ctrl = (
            b"\x01\x02\x1b[2Jstatus\r"  # ESC, ^A, ^B: non-printable line
            b"vm li\x00st\r"  # NUL inside a command
            b"\x1b[A\x1b[B\x1b[C\r"  # cursor keys
            b"\x7f\x7f\x7f\x08\x08status\x80\xff\r"
        )  # DEL, BS, 8-bit bytes
        self.garbage_step("e8 control characters answered with error:", ctrl, 4)
        mark = c.mark()
        c.send_raw(b"vm pause 1\x03")  # ^C cancels the typed line
        c.send_raw(b"vm pause 2\x15")  # ^U too
        c.wait_quiet(quiet=1.0, timeout=5)
        errs, oks = self.count_finals(mark)
        self.t.check(
            "e9 ^C / ^U cancel a typed line (no reply)",
            not errs and not oks,
            "%d errors, %d ok" % (len(errs), len(oks)),
        )
        ok, reply = self.cmd("status")
        self.t.check("e10 status answers ok after the garbage", ok, str(c.last_final))
        ok, reply = self.cmd("vm list")
        after = self.vm_list_key(reply)
        self.t.check(
            "e11 vm list unchanged (exit counters aside)",
            ok and after == before,
            "before %s after %s" % (before, after) if after != before else "",
        )
        try:
            mark = c.mark()
            self.wait_hb(1, 3, mark, 60)
            self.wait_hb(2, 3, mark, 60)
            hbs = self.heartbeats(hb_mark)
            detail, good = [], True
            for v in (1, 2):
                sq = [h[3] for h in hbs if h[2] == v]
                cons = all(b == a + 1 for a, b in zip(sq, sq[1:]))
                good &= cons
                detail.append("vm%d %d..%d%s" % (v, sq[0], sq[-1], "" if cons else " GAP: %s" % sq))
            self.t.check("e12 vm1/vm2 heartbeats continue with consecutive seq", good, ", ".join(detail))
        except ConsoleTimeout as e:
            self.t.check("e12 vm1/vm2 heartbeats continue with consecutive seq", False, str(e))

    # f ----------------------------------------------------------------------
    def scan_log(self):
        bad = []
        memok = {}
        for text in self.con.lines_since(0):
            t = strip_prompts(text)
            if "MEMCHECK FAIL" in t:
                bad.append(t)
            elif EVENT_RE.match(t) and re.search(r"\bfail(ed|ure)?\b|\bpanic\b", t, re.I):
                bad.append(t)
            elif re.search(r"\bpanic\b", t, re.I):
                bad.append(t)
            m = re.match(r"^\[vm(\d+)\] MEMCHECK ok pass=(\d+)", t)
            if m:
                memok[int(m.group(1))] = int(m.group(2))
        return bad, memok

    def part_f(self):
        bad, memok = self.scan_log()
        self.t.check(
            "f1 no MEMCHECK FAIL / failed / panic lines in the console log",
            not bad,
            ("; ".join(bad[:6])) if bad else "MEMCHECK ok last passes: %s" % memok,
        )
        self.poweroff()

    def poweroff(self):
        c = self.con
        name = "f2 poweroff: Bochs exits by itself with status 0"
        try:
            ok, _ = self.cmd("poweroff", timeout=20)
        except ConsoleTimeout as e:
            ok = False
            self.t.note("no reply to poweroff: %s" % str(e).splitlines()[0])
        if self.inst is None:
            self.t.check(name, ok, "(no Bochs: --connect mode) reply %s" % c.last_final)
            return
        rc = self.inst.wait(60)
        if rc is None:
            self.t.check(name, False, "Bochs still running 60 s after poweroff; killed")
            self.inst.stop()
        else:
            self.t.check(name, rc == 0, "%s" % self.inst.describe_exit())

    # ------------------------------------------------------------------------
    def run(self):
        self.start()
        self.part_a()
        for part in (self.part_b, self.part_c, self.part_d, self.part_e):
            try:
                part()
            except Stop:
                pass
            except ConsoleTimeout as e:
                self.t.check(part.__name__ + " (timeout)", False, str(e))
            if self.con.closed:
                self.t.check("console connection alive", False, str(self.con.eof_reason))
                raise Stop("console gone")
        self.part_f()


def options(ap):
    ap.add_argument(
        "--boot-timeout", type=int, default=240, help="limit for reaching [hv] console ready, s (240)"
    )
    ap.add_argument("--ips", type=int, default=bochs.DEFAULT_IPS)
    ap.add_argument("--megs", type=int, default=bochs.DEFAULT_MEGS)
    ap.add_argument("--cpu", default=bochs.DEFAULT_CPU)
    ap.add_argument("--rounds", type=int, default=3, help="write-set rounds per method (3)")
    ap.add_argument("--seed", type=int, default=1234, help="seed of the garbage bytes")
    ap.add_argument(
        "--connect", metavar="HOST:PORT", help="test an already running console instead of starting Bochs"
    )


def checks(t):
    a = t.args
    print("test_bochs_basic: iso %s, workdir %s" % (a.iso, a.workdir), flush=True)
    if not a.connect and not os.path.exists(a.iso):
        t.require("iso exists", False, a.iso)
    HvTest(t).run()


if __name__ == "__main__":
    systest.main(
        checks,
        __doc__,
        timeout=600,
        default_image=os.path.join(systest.TOP, "build", "hv.iso"),
        default_workdir=os.path.join(systest.TOP, "build", "systest-bochs"),
        options=options,
        limit=lambda a: a.timeout,
        stamp=True,
    )
