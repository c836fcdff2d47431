"""The cutover analysis behind tools/cutover.py (docs/cutover.md): read two consoles'
timestamped line logs (Log), find the migration and the heartbeats around its stop
(analyse), and write the report (report_text, which starts with the three-line verdict
of verdict_lines), the CSV (write_csv), the figure's data (figure_data,
write_figure_data: PREFIX-figure.json) and the figure itself (plot: gnuplot, PNG and
SVG, from that data). CutoverError says why a pair of logs cannot be analysed.
"""


import json
import os
import re
import shutil
import statistics
import subprocess

from .console import clean_text, strip_prompts
from .lines import HB_RE, MIG_DST_NEW_RE, MIG_SRC_END_RE, MIG_SRC_START_RE, MIGSTAT_RE, parse_kv, read_times

BOOT_RE = re.compile(r"^\[hv\] research hypervisor starting")
# the source's progress line (hv/core/mig_session.c step_out): printed when the round
# number changes and once a second of the hypervisor's time
PROGRESS_RE = re.compile(r"^\[hv\] migrate: vm (\d+) round (\d+): .*\bstate (\S+)\s*$")
# the destination resumes the guest (hv/core/mig_guest.c g_resume_dst): COMMIT arrived
DST_RESUME_RE = re.compile(r"^\[hv\] migrate: commit received; vm (\d+) runs here now")
# the source scrubbed the guest (g_scrub_src), right before it records total_ms
SRC_SCRUBBED_RE = re.compile(r"^\[hv\] migrate: vm (\d+) migrated away; memory and state scrubbed")
# hv_event() (hv/core/console_io.c) cuts a longer line to exactly its buffer less 3
# characters (CR LF, NUL): 509 with the 512-byte buffer of the runs up to 2026-12-07
# (the source's MIGSTAT with 3 rounds' lists is longer), 1789 with a 1792-byte one
HV_EVENT_CUT_LENGTHS = (509, 1789)
ROUND_KEYS = ("round_pages", "round_bytes", "round_zero", "round_dirtied", "round_ns")


class CutoverError(Exception):
    pass


class Log:
    """One console's lines with their host arrival times (None if untimed)."""

    def __init__(self, path, untimed_ok=False):
        self.arg = path
        self.times_path = path if path.endswith(".times") else path + ".times"
        self.header = {}
        self.entries = []  # (host_time_s or None, text)
        if os.path.exists(self.times_path):
            self._read_times()
        elif untimed_ok and os.path.exists(path):
            self._read_raw(path)
        else:
            raise CutoverError(
                "%s: no timestamped line log (%s). Record the console with "
                "hvconsole.Console(times_path=LOG.times) (tools/demo.py does), or "
                "`tools/hvconsole.py --mux SOCK --log LOG --times LOG.times`; "
                "--untimed uses the plain log (guest time and MIGSTAT only)" % (path, self.times_path)
            )

    def _read_times(self):
        # a log appended to by several sessions: the last header describes what follows
        self.header, entries = read_times(self.times_path)
        self.entries = [(t, strip_prompts(text)) for t, text in entries]

    def _read_raw(self, path):
        with open(path, "rb") as f:
            for raw in f.read().split(b"\n"):
                self.entries.append((None, strip_prompts(clean_text(raw.decode("utf-8", "replace")))))

    @property
    def timed(self):
        return bool(self.entries) and self.entries[0][0] is not None

    def clock_id(self):
        if not self.header:
            return None
        return (self.header.get("clock"), self.header.get("boot_id"))


def find_migration(a, b):
    """Indexes and facts of the last migration that ended on A (source)."""
    end_i = None
    for i in range(len(a.entries) - 1, -1, -1):
        if MIG_SRC_END_RE.match(a.entries[i][1]):
            end_i = i
            break
    if end_i is None:
        raise CutoverError(
            "%s: no `[hv] migrate: source done|FAILED` line: no migration "
            "ended on this console (is it the source's log?)" % a.arg
        )
    result = MIG_SRC_END_RE.match(a.entries[end_i][1]).group(1)
    start_i, vm = None, None
    for i in range(end_i, -1, -1):
        m = MIG_SRC_START_RE.match(a.entries[i][1])
        if m:
            start_i, vm = i, m.group(1)
            break
    if start_i is None:
        raise CutoverError(
            "%s: the migration's start (`[hv] migrate: vm N to PEER: "
            "connecting`) is not in the log" % a.arg
        )
    src_stat, src_line, src_i = None, None, None
    for i in range(start_i, min(len(a.entries), end_i + 3)):
        m = MIGSTAT_RE.match(a.entries[i][1])
        if m and parse_kv(m.group(1)).get("role") == "src":
            src_stat, src_line, src_i = parse_kv(m.group(1)), a.entries[i][1], i
    mig = {
        "result": result,
        "a_start": start_i,
        "a_end": end_i,
        "vm_a": vm,
        "src": src_stat,
        "src_line": src_line,
        "src_i": src_i,
        "dst": None,
        "dst_line": None,
        "dst_i": None,
        "vm_b": None,
        "b_new": None,
    }
    if result != "done":
        return mig
    # B: the MIGSTAT role=dst with the same id, and the `becomes vm N` before it
    want = src_stat.get("id") if src_stat else None
    for i in range(len(b.entries) - 1, -1, -1):
        m = MIGSTAT_RE.match(b.entries[i][1])
        if m:
            st = parse_kv(m.group(1))
            if (
                st.get("role") == "dst"
                and st.get("result") == "done"
                and (want is None or st.get("id") == want)
            ):
                mig["dst"], mig["dst_line"], mig["dst_i"] = st, b.entries[i][1], i
                for j in range(i, -1, -1):
                    n = MIG_DST_NEW_RE.match(b.entries[j][1])
                    if n:
                        mig["vm_b"], mig["b_new"] = n.group(1), j
                        break
                break
    if mig["dst"] is None:
        raise CutoverError(
            "%s: no `[hv] MIGSTAT role=dst result=done id=%s` line: "
            "is it the destination's log of the same migration?" % (b.arg, want)
        )
    if mig["vm_b"] is None:
        raise CutoverError("%s: no `[hv] migrate: incoming guest ... becomes vm N` line" % b.arg)
    return mig


def heartbeats(log, label, start=0, end=None):
    out = []
    for t, text in log.entries[start:end]:
        m = HB_RE.match(text)
        if m and m.group(1) == label:
            out.append({"seq": int(m.group(3)), "t": t, "t_us": int(m.group(4)), "guest": m.group(2)})
    return out


def _fmt_ms(v, nd=1):
    return "n/a" if v is None else ("%.*f ms" % (nd, v))


def _stats(vals):
    if not vals:
        return None
    return {"n": len(vals), "median": statistics.median(vals), "min": min(vals), "max": max(vals)}


def analyse(a, b, hb_ms=None, window=20, same_clock=None):
    mig = find_migration(a, b)
    if mig["result"] != "done":
        raise CutoverError("the last migration in %s FAILED: there is no cutover to measure" % a.arg)
    # only this boot of A (a log may hold several runs appended)
    boot = 0
    for i in range(mig["a_start"], -1, -1):
        if BOOT_RE.match(a.entries[i][1]):
            boot = i
            break
    hb_a = heartbeats(a, mig["vm_a"], boot, mig["a_end"] + 1)
    after_start = heartbeats(a, mig["vm_a"], mig["a_start"], mig["a_end"] + 1)
    precopy_seq = after_start[0]["seq"] if after_start else None
    hb_b = heartbeats(b, mig["vm_b"], mig["b_new"])
    if not hb_a or not hb_b:
        raise CutoverError("no heartbeats of the migrated guest on %s" % ("A" if not hb_a else "B"))
    guest_ids = {h["guest"] for h in hb_a + hb_b}
    # sequence check: consecutive within A, B continues A, nothing repeated
    problems = []
    for side, hbs in (("A", hb_a), ("B", hb_b)):
        for p, q in zip(hbs, hbs[1:]):
            if q["seq"] != p["seq"] + 1:
                problems.append("%s: seq %d followed by %d" % (side, p["seq"], q["seq"]))
    last_a, first_b = hb_a[-1], hb_b[0]
    if first_b["seq"] != last_a["seq"] + 1:
        problems.append(
            "cutover: last seq on A %d, first on B %d (want %d)"
            % (last_a["seq"], first_b["seq"], last_a["seq"] + 1)
        )
    seqs = [h["seq"] for h in hb_a + hb_b]
    dup = sorted({s for s in seqs if seqs.count(s) > 1})
    if dup:
        problems.append("repeated seq: %s" % ",".join(map(str, dup[:10])))
    if len(guest_ids) != 1:
        problems.append("heartbeats of more than one guest id: %s" % ",".join(sorted(guest_ids)))

    timed = a.timed and b.timed
    if same_clock is None:
        same_clock = timed and a.clock_id() is not None and a.clock_id() == b.clock_id()
    same_clock = bool(same_clock and timed)

    def intervals(hbs, key, scale):
        return [(q[key] - p[key]) * scale for p, q in zip(hbs, hbs[1:]) if q["seq"] == p["seq"] + 1]

    near_a = hb_a[-(window + 1) :]
    near_b = hb_b[: window + 1]
    guest_iv = intervals(near_a, "t_us", 1e-3) + intervals(near_b, "t_us", 1e-3)
    hb_source = "given (--hb-ms)"
    if hb_ms is None:
        if not guest_iv:
            raise CutoverError("too few heartbeats to infer the interval; give --hb-ms")
        hb_ms = float(round(statistics.median(guest_iv)))
        hb_source = "inferred: median guest t_us interval away from the cutover"
    r = {
        "mig": mig,
        "hb_a": hb_a,
        "hb_b": hb_b,
        "problems": problems,
        "seq_ok": not problems,
        "timed": timed,
        "same_clock": same_clock,
        "hb_ms": hb_ms,
        "hb_source": hb_source,
        "guest": sorted(guest_ids)[0],
        "last_a": last_a,
        "first_b": first_b,
        "window": window,
        "precopy_seq": precopy_seq,
    }
    r["guest_gap_ms"] = (first_b["t_us"] - last_a["t_us"]) / 1000.0
    r["guest_iv"] = _stats(guest_iv)
    if timed:
        r["host_iv_a"] = _stats(intervals(near_a, "t", 1000.0))
        r["host_iv_b"] = _stats(intervals(near_b, "t", 1000.0))
        # time dilation: host ms per guest ms in steady state (emulators: != 1)
        ga = intervals(near_a, "t_us", 1e-3)
        gb = intervals(near_b, "t_us", 1e-3)
        r["dil_a"] = (sum(intervals(near_a, "t", 1000.0)) / sum(ga)) if ga and sum(ga) else None
        r["dil_b"] = (sum(intervals(near_b, "t", 1000.0)) / sum(gb)) if gb and sum(gb) else None
        ratios = [
            (q["t"] - p["t"]) * 1e6 / (q["t_us"] - p["t_us"])
            for hbs in (near_a, near_b)
            for p, q in zip(hbs, hbs[1:])
            if q["seq"] == p["seq"] + 1 and q["t_us"] > p["t_us"]
        ]
        r["dil_range"] = (min(ratios), max(ratios)) if ratios else None
    r["host_gap_ms"] = (first_b["t"] - last_a["t"]) * 1000.0 if same_clock else None
    _derive(r)
    return r


def _derive(r):
    """The bounds the report, the verdict and the figure share (docs/cutover.md 2)."""
    hb, gap_g, gi = r["hb_ms"], r["guest_gap_ms"], r["guest_iv"]
    # (a) guest time: did the guest's clock jump across the cutover?
    r["clock_counted"] = (gap_g - hb, gap_g) if gi and gap_g > gi["max"] else None
    dils = [d for d in (r.get("dil_a"), r.get("dil_b")) if d]
    r["dil"] = statistics.mean(dils) if dils else None
    r["guest_seen_ms"] = None
    r["resolved"] = None
    r["emul"] = None
    if r["host_gap_ms"] is None:
        return
    # (b) host time
    g = r["host_gap_ms"]
    sa = r.get("host_iv_a")
    iamax = sa["max"] if sa else hb
    r["guest_seen_ms"] = g - hb
    r["upper_ms"] = g
    r["lower_ms"] = max(0.0, g - iamax)
    r["resolved"] = g > iamax
    dr, dil = r.get("dil_range"), r["dil"]
    if dil and dr and abs(dil - 1.0) > 0.02:
        # bounds: the emulator's speed during the stop is not known, only the
        # range of host-ms-per-guest-ms seen over single intervals near it
        r["emul"] = ((r["lower_ms"] / dr[1] if r["resolved"] else 0.0), g / dr[0])
    elif dr:
        r["emul"] = (r["lower_ms"] if r["resolved"] else 0.0, g)


def report_text(r, a, b, files, fig=None):
    mig, src, dst = r["mig"], r["mig"]["src"] or {}, r["mig"]["dst"] or {}
    hb = r["hb_ms"]
    L = []
    add = L.append
    add("CUTOVER REPORT  (tools/cutover.py; definitions and error bounds: docs/cutover.md)")
    add("source log      %s (vm %s)" % (a.times_path if a.timed else a.arg, mig["vm_a"]))
    add("destination log %s (vm %s)" % (b.times_path if b.timed else b.arg, mig["vm_b"]))
    add("guest id %s, heartbeat interval hb_ms = %g ms (%s)" % (r["guest"], hb, r["hb_source"]))
    add(
        "migration id %s, %s rounds, %s pages (%s zero, %s in the final round), %.2f MiB on the "
        "wire, total %s ms, encryption %s"
        % (
            src.get("id", "?"),
            src.get("rounds", "?"),
            src.get("pages", "?"),
            src.get("zero", "?"),
            src.get("final_pages", "?"),
            int(src.get("bytes", 0)) / 1048576.0,
            src.get("total_ms", "?"),
            {"1": "on", "0": "OFF"}.get(src.get("enc"), "?"),
        )
    )
    add("")
    add("1. SEQUENCE CHECK")
    la, fb = r["last_a"], r["first_b"]
    add(
        "   A: seq %d..%d (%d heartbeats), B: seq %d..%d (%d heartbeats)"
        % (r["hb_a"][0]["seq"], la["seq"], len(r["hb_a"]), fb["seq"], r["hb_b"][-1]["seq"], len(r["hb_b"]))
    )
    if r["seq_ok"]:
        add(
            "   OK: unbroken; the cutover is between seq %d (last on A) and seq %d (first on B); "
            "none lost, none repeated" % (la["seq"], fb["seq"])
        )
    else:
        add("   BROKEN: " + "; ".join(r["problems"]))
    add("")
    add(
        "2. THE STOP AS THE GUEST SAW IT (its unavailability U: from the last moment it ran on A "
        "to the first "
        "on B; U lies between the two heartbeats around the cutover)"
    )
    gap_g = r["guest_gap_ms"]
    add("   (a) guest time (t_us, the guest's own clock)")
    add(
        "       seq %d at %.3f ms (A), seq %d at %.3f ms (B): gap %.1f ms, nominal %g ms, excess %+.1f ms"
        % (la["seq"], la["t_us"] / 1000.0, fb["seq"], fb["t_us"] / 1000.0, gap_g, hb, gap_g - hb)
    )
    gi = r["guest_iv"]
    if gi:
        add(
            "       steady guest intervals near the cutover: median %.1f ms, min %.1f, max %.1f (n=%d)"
            % (gi["median"], gi["min"], gi["max"], gi["n"])
        )
    if r["clock_counted"]:
        add(
            "       => the guest's clock jumped: it counted %.1f .. %.1f ms of U (gap - hb_ms .. gap)"
            % r["clock_counted"]
        )
    else:
        add(
            "       => no jump beyond a normal interval: the part of U the guest's clock counted is "
            "shorter than one interval (%g ms); not resolvable in guest time" % hb
        )
    dils = [d for d in (r.get("dil_a"), r.get("dil_b")) if d]
    dil = r["dil"]
    if r["host_gap_ms"] is not None:
        g = r["host_gap_ms"]
        sa, sb = r.get("host_iv_a"), r.get("host_iv_b")
        ia = sa["median"] if sa else hb
        iamax = sa["max"] if sa else hb
        add("   (b) host time (arrival of the two lines on one clock: this host's CLOCK_MONOTONIC)")
        add("       seq %d on A -> seq %d on B: gap %.1f ms" % (la["seq"], fb["seq"], g))
        add(
            "       GUEST-SEEN STOP = gap - nominal interval                 = %.1f - %g = %.1f ms"
            % (g, hb, g - hb)
        )
        add(
            "                       = gap - observed interval on A (median) = %.1f - %.1f = %.1f ms"
            % (g, ia, g - ia)
        )
        for side, st, dk in (("A", sa, "dil_a"), ("B", sb, "dil_b")):
            if st:
                add(
                    "       steady host intervals on %s: median %.1f ms, min %.1f, max %.1f (n=%d); "
                    "host ms per guest ms %.3f"
                    % (side, st["median"], st["min"], st["max"], st["n"], r.get(dk) or float("nan"))
                )
        if r["resolved"]:
            add(
                "       => resolved: the gap exceeds every steady interval on A; U was %.1f .. %.1f ms of "
                "host time (gap - longest steady interval on A .. gap)" % (r["lower_ms"], g)
            )
        else:
            add(
                "       => NOT resolved: the gap is within the range of intervals seen on A without a stop "
                "(up to %.1f ms); U was at most %.1f ms of host time, its size is below what the "
                "heartbeats resolve here" % (iamax, g)
            )
        dr = r.get("dil_range")
        if dil and dr and abs(dil - 1.0) > 0.02:
            lo_e, up_e = r["emul"]
            add(
                "       in guest/emulated time: host ms per guest ms ranged %.3f .. %.3f over "
                "single intervals, "
                "so U was %s%.1f ms of guest time (estimate at the mean ratio %.3f: %.1f ms)"
                % (
                    dr[0],
                    dr[1],
                    ("%.1f .. " % lo_e) if r["resolved"] else "at most ",
                    up_e,
                    dil,
                    (g - ia) / dil,
                )
            )
    else:
        if not r["timed"]:
            why = "the logs carry no host timestamps (--untimed)"
        elif a.clock_id() == b.clock_id() and a.clock_id() is not None:
            why = "--same-clock no: no interval across the two logs is taken"
        else:
            why = (
                "the two logs' host clocks differ (%s boot %s vs %s boot %s): no interval across the "
                "two logs is taken"
                % (
                    a.header.get("host", "?"),
                    a.header.get("boot_id", "?"),
                    b.header.get("host", "?"),
                    b.header.get("boot_id", "?"),
                )
            )
        add("   (b) host time: not measured: %s" % why)
    add("")
    add("3. THE STOP AS THE HYPERVISORS REPORT IT (MIGSTAT; each an interval on that hypervisor's TSC)")

    def us(d, k):
        try:
            return "%.3f ms" % (int(d[k]) / 1000.0)
        except (KeyError, ValueError):
            return "n/a"

    add(
        "   source      downtime_us  %-12s guest paused -> destination's CONFIRM received"
        % us(src, "downtime_us")
    )
    add(
        "   source      predicted_us %-12s the policy's prediction when it decided to stop"
        % us(src, "predicted_us")
    )
    add("   destination downtime_us  %-12s STOP message received -> guest resumed" % us(dst, "downtime_us"))
    add(
        "   source: target %s ms, throttle %s%%, forced stop %s, %s pages in the final round"
        % (
            src.get("target_ms", "?"),
            src.get("throttle_pct", "?"),
            src.get("forced_stop", "?"),
            src.get("final_pages", "?"),
        )
    )
    if src.get("dt_copy_us"):
        add(
            "   source breakdown: pause -> vCPU state sent %s, -> READY received %s, -> CONFIRM received %s"
            % (us(src, "dt_copy_us"), "+" + us(src, "dt_ready_us"), "+" + us(src, "dt_confirm_us"))
        )
    if r.get("emul") and src.get("downtime_us"):
        sd = int(src["downtime_us"]) / 1000.0
        conf = int(src.get("dt_confirm_us", 0) or 0) / 1000.0
        lo, up = r["emul"]
        if up < sd - conf:
            verdict = (
                "INCONSISTENT: the guest saw a shorter stop than the source's pause -> resume "
                "(%.1f ms > upper bound %.1f ms)" % (sd - conf, up)
            )
        elif r["resolved"] and lo > sd:
            verdict = (
                "the guest was unavailable longer than the source's downtime (lower bound %.1f ms > "
                "%.1f ms): it did not run for a while before the pause (the engine's own work), or the "
                "error bounds of section 4 are larger than the spread suggests" % (lo, sd)
            )
        else:
            verdict = "consistent (%.1f ms within %.1f .. %.1f ms guest time)" % (sd, lo, up)
        add("   (a)/(b) host-time check: source downtime vs U: %s" % verdict)
    cc = r.get("clock_counted")
    gcc = guest_clock_check(r)
    if cc and gcc:
        counted_max = gcc["adds_max_ms"]
        if cc[0] > counted_max and gcc["agree"]:
            add(
                "   (a)/(b) guest-time check: the guest's clock counted more than %.1f ms of U, the "
                "migration "
                "adds at most %.1f ms to it (source: pause -> state capture %.1f ms; destination: STOP -> "
                "resume %.1f ms): an excess of %.1f ms, within the heartbeats' lateness (up to %.1f ms in "
                "steady state): consistent, no time lost outside the hypervisors' stop is shown"
                % (cc[0], counted_max, gcc["copy_ms"], gcc["dst_ms"], cc[0] - counted_max, gcc["late_ms"])
            )
        elif cc[0] > counted_max:
            add(
                "   (a)/(b) guest-time check: the guest's clock counted more than %.1f ms of U, "
                "but the migration "
                "adds at most %.1f ms to it (source: pause -> state capture %.1f ms; destination: STOP -> "
                "resume %.1f ms): the guest did not run for at least %.1f ms of its own time "
                "outside the hypervisors' "
                "stop (before the pause on A, or after the resume on B waiting for its time slice); more "
                "than the heartbeats' lateness (up to %.1f ms in steady state) explains"
                % (cc[0], counted_max, gcc["copy_ms"], gcc["dst_ms"], cc[0] - counted_max, gcc["late_ms"])
            )
        else:
            add(
                "   (a)/(b) guest-time check: the guest's clock counted %.1f .. %.1f ms of U; the "
                "migration adds at "
                "most %.1f ms to it (pause -> state capture + STOP -> resume): consistent"
                % (cc[0], cc[1], counted_max)
            )
    add("")
    add("4. ERROR BOUNDS")
    add(
        "   - heartbeat granularity: the guest shows it runs once per %g ms. It stopped within one interval "
        "after seq %d; at the resume it printed seq %d at once if its clock had passed the next deadline, "
        "else at that deadline. Either way its unavailability U satisfies gap - I < U <= gap (I: "
        "one interval "
        "on the same clock): the guest-seen stop is known only to within one heartbeat interval."
        % (hb, la["seq"], fb["seq"])
    )
    if r["timed"]:
        spreads = []
        for key in ("host_iv_a", "host_iv_b"):
            st = r.get(key)
            if st:
                spreads.append(st["max"] - st["min"])
        if spreads:
            add(
                "   - serial/console latency: a host time is when the line arrived (guest UART -> hypervisor "
                "console -> 16550 -> emulator socket -> mux -> reader), not when the guest wrote it; A's and "
                "B's paths differ. Steady host intervals spread over up to %.1f ms (min to max), "
                "which bounds "
                "latency jitter plus emulator speed changes; a host-time gap is uncertain by that much."
                % max(spreads)
            )
    add(
        "   - clocks: %s"
        % (
            "both logs are on this host's CLOCK_MONOTONIC (same boot_id): the A->B gap is an "
            "interval on one clock"
            if r["same_clock"]
            else "the logs' host clocks are not comparable (different hosts or boots): no interval "
            "spans the two "
            "logs; only intervals on one clock are used"
            if r["timed"]
            else "no host timestamps: only guest time and the hypervisors' own figures"
        )
    )
    add(
        "   - the hypervisors' downtime_us are intervals on each hypervisor's own TSC (source: pause to "
        "confirm; destination: STOP to resume); they are never subtracted from each other or from host times."
    )
    if dils:
        add(
            "   - emulated vs wall time: host ms per guest ms = %s; under Bochs (clock: sync=none) guest and "
            "hypervisor clocks count emulated instructions, not wall time, so host-time and TSC-time figures "
            "differ by that factor, and it varies with load (on hardware/KVM it is ~1)."
            % ", ".join("%.3f" % d for d in dils)
        )
    if fig:
        add("")
        L.extend(figure_text(fig))
    add("")
    add("files: %s" % ", ".join(f for f in files if f))
    r["verdict"] = verdict_lines(r)
    return "\n".join(r["verdict"] + [""] + L) + "\n"


def _us_ms(d, k):
    """A MIGSTAT microsecond field in ms (None when absent or not a number)."""
    try:
        return int(d[k]) / 1000.0
    except (KeyError, TypeError, ValueError):
        return None


def _int(d, k):
    try:
        return int(d[k])
    except (KeyError, TypeError, ValueError):
        return None


def guest_clock_check(r):
    """What the guest's clock counted of its stop against what the hypervisors' stop can add
    to it (source: pause -> state sent, dt_copy_us; destination: STOP -> resume,
    downtime_us). The counted part is gap - hb_ms .. gap (one interval of granularity),
    widened below by the heartbeats' lateness (the largest steady interval's excess over
    hb_ms: a heartbeat is printed at the first check after its deadline). None without
    dt_copy_us or the destination's downtime_us."""
    src, dst = r["mig"]["src"] or {}, r["mig"]["dst"] or {}
    copy, dms = _us_ms(src, "dt_copy_us"), _us_ms(dst, "downtime_us")
    if copy is None or dms is None:
        return None
    gap, hb = r["guest_gap_ms"], r["hb_ms"]
    gi = r.get("guest_iv")
    late = max(0.0, gi["max"] - hb) if gi else 0.0
    jump = bool(gi and gap > gi["max"])
    lo = max(0.0, gap - hb - late)
    adds = copy + dms
    return {
        "jump": jump,
        "late_ms": late,
        "counted_lo_ms": lo,
        "counted_hi_ms": gap,
        "copy_ms": copy,
        "dst_ms": dms,
        "adds_max_ms": adds,
        "agree": lo <= adds,
        "excess_ms": max(0.0, lo - adds),
    }


def host_time_check(r):
    """The section-3 host-time check as (word, text): word is 'consistent', 'longer'
    (the guest was unavailable longer than the source's downtime) or 'INCONSISTENT'; None
    when U was not measured on one host clock."""
    src = r["mig"]["src"] or {}
    d = _us_ms(src, "downtime_us")
    if not r.get("emul") or d is None:
        return None
    conf = _us_ms(src, "dt_confirm_us") or 0.0
    lo, up = r["emul"]
    if up < d - conf:
        return "INCONSISTENT", "U at most %.1f ms < the source's pause -> resume %.1f ms" % (up, d - conf)
    if r["resolved"] and lo > d:
        return "longer", "U at least %.1f ms > the source's downtime %.1f ms" % (lo, d)
    return "consistent", "%.1f ms within %.1f .. %.1f ms" % (d, lo, up)


def verdict_lines(r):
    """The report's first three lines: the achieved downtime against prediction and
    target; the guest-seen bound; whether the two agree within their stated error."""
    src, dst = r["mig"]["src"] or {}, r["mig"]["dst"] or {}
    d, p, t = _us_ms(src, "downtime_us"), _us_ms(src, "predicted_us"), _int(src, "target_ms")
    # line 1: achieved against prediction and target
    if d is None:
        l1 = "ACHIEVED   downtime: not reported (no downtime_us in the source's MIGSTAT)"
    else:
        parts = []
        if t:
            parts.append(
                "within the target (%.0f%% of it)" % (100.0 * d / t)
                if d <= t
                else "OVER the target by %.1f ms" % (d - t)
            )
        if p:
            parts.append(
                "%.1f ms %s the prediction (%+.0f%%)"
                % (abs(d - p), "below" if d <= p else "above", 100.0 * (d - p) / p)
            )
        l1 = (
            "ACHIEVED   downtime %.1f ms (source MIGSTAT: pause -> CONFIRM, A's clock) against predicted %s "
            "and target %s: %s"
            % (
                d,
                "%.1f ms" % p if p else "n/a",
                "%d ms" % t if t else "n/a",
                ", ".join(parts) or "nothing to compare",
            )
        )
    # line 2: the guest-seen bound, the guest's clock first, the host's (least reliable
    # under an emulator) second
    gap, hb = r["guest_gap_ms"], r["hb_ms"]
    gcc = guest_clock_check(r)
    gi = r.get("guest_iv")
    late = max(0.0, gi["max"] - hb) if gi else 0.0
    if gi and gap > gi["max"]:
        g = (
            "stop %.1f ms by the guest's clock (heartbeat gap %.1f - nominal %g ms), bound %.1f .. %.1f ms"
            % (
                gap - hb,
                gap,
                hb,
                max(0.0, gap - hb - late),
                gap,
            )
        )
    else:
        g = (
            "no jump of the guest's clock beyond a normal interval (gap %.1f ms, nominal %g ms): "
            "the part of the stop it counted is 0 .. %.1f ms" % (gap, hb, gap)
        )
    if r.get("host_gap_ms") is not None:
        dils = [x for x in (r.get("dil_a"), r.get("dil_b")) if x]
        emulated = any(abs(x - 1.0) > 0.05 for x in dils)
        h = "host clock: %s%s" % (
            (
                "%.1f .. %.1f ms (gap - nominal %.1f ms)" % (r["lower_ms"], r["upper_ms"], r["guest_seen_ms"])
                if r.get("resolved")
                else "at most %.1f ms, not resolved" % r["upper_ms"]
            ),
            (
                " (least reliable here: host ms per guest ms %s)"
                % ", ".join("%.2f on %s" % (x, side) for x, side in zip(dils, "AB"))
                if emulated
                else ""
            ),
        )
    else:
        h = "host clock: not measured"
    l2 = "GUEST-SEEN %s; %s" % (g, h)
    # line 3: agreement within the stated errors
    checks, ok = [], True
    if gcc:
        if gcc["agree"]:
            checks.append(
                "the guest's clock counted %.1f .. %.1f ms of its stop, the hypervisors' stop adds at most "
                "%.1f ms to it (A pause -> state sent %.1f + B STOP -> resume %.1f)"
                % (
                    gcc["counted_lo_ms"],
                    gcc["counted_hi_ms"],
                    gcc["adds_max_ms"],
                    gcc["copy_ms"],
                    gcc["dst_ms"],
                )
            )
        else:
            ok = False
            checks.append(
                "the guest's clock counted at least %.1f ms, %.1f ms more than the hypervisors' stop "
                "adds to it "
                "(%.1f ms): the guest did not run for that long outside the stop"
                % (gcc["counted_lo_ms"], gcc["excess_ms"], gcc["adds_max_ms"])
            )
    hc = host_time_check(r)
    if hc:
        checks.append("host-time check %s (%s)" % hc)
        ok = ok and hc[0] == "consistent"
    if not checks:
        l3 = "AGREE      unknown: no check possible (the MIGSTAT lines lack dt_copy_us or downtime_us)"
    else:
        l3 = "AGREE      %s: %s" % ("yes, within the stated error" if ok else "NO", "; ".join(checks))
    if d is not None and dst.get("downtime_us") is None:
        l3 += " (no destination MIGSTAT downtime)"
    return [l1, l2, l3]


def write_csv(r, path):
    ref = r["last_a"]["t"]
    rows = []
    prev = None
    for side, hbs in (("A", r["hb_a"]), ("B", r["hb_b"])):
        base = ref if (side == "A" or r["same_clock"]) else r["first_b"]["t"]
        for h in hbs:
            ht = "" if h["t"] is None else "%.6f" % (h["t"] - base)
            iv = ""
            if (
                prev is not None
                and prev["seq"] == h["seq"] - 1
                and h["t"] is not None
                and prev["t"] is not None
            ):
                if prev["side"] == side or r["same_clock"]:
                    iv = "%.3f" % ((h["t"] - prev["t"]) * 1000.0)
            rows.append("%d,%s,%d,%s,%s" % (h["seq"], ht, h["t_us"], side, iv))
            prev = dict(h, side=side)
    with open(path, "w") as f:
        f.write("seq,host_time_s,guest_t_us,side,interval_ms\n")
        f.write("\n".join(rows) + "\n")


COLOURS = {
    "handshake": "#d9d9d9",
    "round0": "#9ecae1",
    "round1": "#c6dbef",
    "drain": "#fdd49e",
    "copy": "#d7301f",
    "ready": "#fc8d59",
    "confirm": "#7a0177",
    "stop": "#d7301f",
    "scrub": "#f0f0f0",
    "receiving": "#c7e9c0",
    "hb_a": "#1f77b4",
    "hb_b": "#2ca02c",
    "resume": "#006d2c",
    "target": "#000000",
    "predicted": "#1f77b4",
    "achieved": "#d7301f",
    "dst": "#969696",
    "guest": "#6a3d9a",
    "host": "#7f7f7f",
}


def _gq(text):
    """A gnuplot double-quoted string (noenhanced text: \\, " and newlines escaped). A
    backquote would make gnuplot run a shell command: it becomes a quote."""
    text = str(text).replace("`", "'").replace("\\", "\\\\").replace('"', '\\"')
    return '"%s"' % text.replace("\n", "\\n")


def _mib(b):
    return (
        "n/a" if b is None else ("%.2f MiB" % (b / 1048576.0) if b >= 1048576 else "%.0f KiB" % (b / 1024.0))
    )


def _ms(v):
    return "n/a" if v is None else ("%.1f ms" % v)


def _rect(x0, x1, y0, y1, colour, border="gray40", front=False):
    return (
        "set object rect from %.6f, %.3f to %.6f, %.3f %s fc rgb '%s' fs solid 1.0 "
        "border lc rgb '%s' lw 0.5\n"
        % (
            x0,
            y0,
            x1,
            y1,
            "front" if front else "back",
            colour,
            border,
        )
    )


def _label(text, xx, yy, where="center", extra=""):
    return "set label %s at %s, %s %s front %s\n" % (_gq(text), xx, yy, where, extra)


def _block(name, rows):
    return "$%s << EOD\n%s\nEOD\n" % (name, "\n".join(rows) if rows else "-1e9 -1e9 -1e9 -1e9")


def figure_script(fig, png, svg, term_png):
    """The gnuplot script that draws fig (figure_data) into png and svg: (a) the
    migration on the host time axis, (b) the cutover enlarged, (c) the downtimes in ms,
    and a legend below all three."""
    C = COLOURS
    rounds, stop, dts = fig["rounds"], fig["stop"], fig["downtimes_ms"]
    gg, hg = fig["guest_gap"], fig["host_gap"]
    ev = fig["events"]
    hbs = fig["heartbeats"]
    timed = fig["timed"] and bool(hbs["A"])
    mig = fig["migration"]
    data = ""
    # heartbeats: x, seq
    data += _block("HBA", ["%.6f 2" % h[0] for h in hbs["A"]])
    data += _block("HBB", ["%.6f 2" % h[0] for h in hbs["B"]])
    cut = fig["cutover_seq"]
    data += _block("HBX", ["%.6f 2" % h[0] for h in hbs["A"] if h[1] == cut[0]] + [])
    data += _block("HBY", ["%.6f 2" % h[0] for h in hbs["B"] if h[1] == cut[1]])
    # downtime panel: x y ylow yhigh
    data += _block(
        "GG", ["3 %.3f %.3f %.3f" % (gg["value_ms"], gg["lower_ms"], gg["upper_ms"])] if gg else []
    )
    data += _block(
        "HG", ["4 %.3f %.3f %.3f" % (hg["value_ms"], hg["lower_ms"], hg["upper_ms"])] if hg else []
    )
    data += _block("NONE", [])
    body = ""
    title = "Live migration of guest %s (migration %s): %d pre-copy rounds, %s, stop %s" % (
        mig["guest"],
        re.sub(r"[^0-9a-fA-F]", "", mig["id"] or "") or "?",
        mig["rounds"],
        _mib(mig["bytes"]),
        _ms(dts["achieved"]),
    )
    body += "set label 101 %s at screen 0.5, 0.975 center font ',12'\n" % _gq(title)
    sub = "achieved %s, predicted %s, target %s" % (
        _ms(dts["achieved"]),
        _ms(dts["predicted"]),
        _ms(dts["target"]),
    )
    if gg:
        sub += "; guest-seen %s (%s .. %s, guest clock)" % (
            _ms(gg["value_ms"]),
            _ms(gg["lower_ms"]),
            _ms(gg["upper_ms"]),
        )
    agree = [v for v in fig["verdict"] if v.startswith("AGREE")]
    if agree:
        sub += "; agree: %s" % ("yes" if " yes" in agree[0][:20] else "NO" if " NO" in agree[0][:20] else "?")
    body += "set label 102 %s at screen 0.5, 0.948 center tc rgb 'gray30'\n" % _gq(sub)

    # ---- (a) and (b): the host time axis
    def spans(x0, x1, zoom):
        """objects and labels for the rows: 3 source (A), 2 heartbeats, 1 destination (B)"""
        out = ""
        width = max(1e-9, x1 - x0)

        def vis(a, b):
            return a is not None and b is not None and b > x0 and a < x1

        if (
            rounds
            and rounds[0]["start_s"] is not None
            and rounds[0]["start_s"] > 0
            and vis(0.0, rounds[0]["start_s"])
        ):
            out += _rect(0.0, rounds[0]["start_s"], 2.62, 3.38, C["handshake"])
            if not zoom and rounds[0]["start_s"] / width > 0.06:
                out += _label("handshake", rounds[0]["start_s"] / 2.0, 3.0)
        for rd in rounds:
            a, b = rd["start_s"], rd["end_s"]
            if not vis(a, b):
                continue
            out += _rect(a, b, 2.62, 3.38, C["round%d" % (rd["index"] % 2)])
            frac = (min(b, x1) - max(a, x0)) / width
            mid = (max(a, x0) + min(b, x1)) / 2.0
            full = "round %d" % rd["index"]
            if rd["pages"] is not None:
                full += "\n%s pages, %s" % (rd["pages"], _mib(rd["bytes"]))
            if frac > 0.16:
                out += _label(full, mid, 3.0)
            elif frac > 0.025:
                out += _label("R%d" % rd["index"], mid, 3.0)
            elif not zoom:
                out += _label("R%d" % rd["index"], mid, 3.52, "center", "font ',8'")
        if vis(stop["decision_s"], stop["start_s"]):
            out += _rect(stop["decision_s"], stop["start_s"], 2.62, 3.38, C["drain"])
            if zoom and (stop["start_s"] - stop["decision_s"]) / width > 0.05:
                out += _label(
                    "drain\n%s" % _ms(stop["drain_ms"]), (stop["decision_s"] + stop["start_s"]) / 2, 3.0
                )
        narrow = 0
        for p in stop["parts"]:
            if not vis(p["start_s"], p["end_s"]):
                continue
            out += _rect(p["start_s"], p["end_s"], 2.55, 3.45, C[p["name"]], front=True)
            if zoom:
                frac = (p["end_s"] - p["start_s"]) / width
                mid = (p["start_s"] + p["end_s"]) / 2.0
                if frac > 0.09:
                    out += _label("%s\n%s" % (p["name"], _ms(p["ms"])), mid, 3.0, "center", "tc rgb 'white'")
                else:
                    # narrow: one line above the row, each next narrow one a line higher
                    # (copy and confirm are both narrow, one wide ready between them)
                    out += _label(
                        "%s %s" % (p["name"], _ms(p["ms"])),
                        mid,
                        3.56 + 0.19 * (narrow % 2),
                        "center",
                        "font ',8'",
                    )
                    narrow += 1
        if vis(stop["end_s"], stop["scrubbed_s"]) and stop["scrubbed_s"] > stop["end_s"]:
            out += _rect(stop["end_s"], stop["scrubbed_s"], 2.62, 3.38, C["scrub"])
            a, b = max(stop["end_s"], x0), min(stop["scrubbed_s"], x1)
            if (b - a) / width > 0.06:
                out += _label("scrub", (a + b) / 2, 3.0)
        if not zoom and stop["start_s"] is not None and stop["end_s"] is not None:
            # below the row: the labels of narrow rounds are above it
            right = stop["end_s"] > x0 + 0.8 * width
            out += _label(
                "stop %s" % _ms(stop["downtime_ms"]),
                stop["start_s"] if right else stop["end_s"],
                2.47,
                "right" if right else "left",
                "offset %s,0 font ',9' tc rgb '%s'" % ("-0.3" if right else "0.3", C["stop"]),
            )
        # B: receiving from `becomes vm M` to the resume
        if vis(ev["dst_new_vm_s"], ev["dst_resume_s"]):
            out += _rect(ev["dst_new_vm_s"], ev["dst_resume_s"], 0.7, 1.3, C["receiving"])
            if not zoom and (ev["dst_resume_s"] - ev["dst_new_vm_s"]) / width > 0.2:
                out += _label(
                    "B receives (vm %s created .. resumed)" % mig["vm_b"],
                    (ev["dst_new_vm_s"] + ev["dst_resume_s"]) / 2,
                    1.0,
                )
        return out

    def resume_mark():
        if ev["dst_resume_s"] is None:
            return ""
        return "set arrow from %.6f, 0.55 to %.6f, 1.45 nohead lc rgb '%s' lw 2 front\n" % (
            ev["dst_resume_s"],
            ev["dst_resume_s"],
            C["resume"],
        )

    def common_rows(xlo, xhi):
        return (
            "set xrange [%.6f:%.6f]\nset yrange [0.4:3.9]\n"
            "set ytics ('source (A)' 3, 'guest heartbeats' 2, 'destination (B)' 1) scale 0\n"
            "set grid xtics lc rgb '#e6e6e6'\n" % (xlo, xhi)
        )

    hb_plot = (
        "plot $HBA using 1:2 with points pt 7 ps 0.55 lc rgb '%s' notitle, "
        "$HBB using 1:2 with points pt 5 ps 0.55 lc rgb '%s' notitle, "
        "$HBX using 1:2 with points pt 7 ps 1.3 lc rgb '%s' notitle, "
        "$HBY using 1:2 with points pt 5 ps 1.3 lc rgb '%s' notitle\n"
        % (C["hb_a"], C["hb_b"], C["hb_a"], C["hb_b"])
    )
    xlabel = (
        "host time since 'migrate' started on A [s]  "
        "(CLOCK_MONOTONIC of the recording host, console line arrival)"
    )
    if timed:
        ends = [v for v in (ev["src_end_s"], ev["src_scrubbed_s"], stop["end_s"]) if v is not None]
        if hbs["B"]:
            ends.append(min(hbs["B"][min(len(hbs["B"]) - 1, 3)][0], (max(ends) if ends else 0) + 2.0))
        xa1 = max(ends) if ends else hbs["A"][-1][0]
        pad = 0.04 * max(1.0, xa1)
        xa0 = -max(pad, 0.06 * xa1)
        xa1 += pad
        # (b): from the stop decision (or the last heartbeat on A) to the first on B
        zs = [v for v in (stop["decision_s"], hg and hg["from_s"], hbs["A"][-1][0]) if v is not None]
        ze = [v for v in (stop["end_s"], ev["dst_resume_s"], hg and hg["to_s"]) if v is not None]
        zb0, zb1 = min(zs), max(ze + [min(zs) + 0.05])
        zpad = 0.12 * (zb1 - zb0)
        zb0, zb1 = zb0 - zpad, zb1 + zpad
        body += "set lmargin at screen 0.13\nset rmargin at screen 0.97\n"
        body += "set tmargin at screen 0.90\nset bmargin at screen 0.635\n"
        body += "set title '(a) the migration on the host time axis' offset 0,-0.6\n"
        body += common_rows(xa0, xa1)
        body += "set xlabel %s offset 0,0.3\n" % _gq(xlabel)
        body += spans(xa0, xa1, False)
        body += resume_mark()
        body += "set object rect from %.6f, 0.5 to %.6f, 3.8 back fs empty border lc rgb 'gray50' dt 2\n" % (
            zb0,
            zb1,
        )
        body += _label("(b)", zb0, 0.62, "right", "offset -0.3,0 font ',8' tc rgb 'gray40'")
        body += hb_plot
        body += "unset object\nunset label\nunset arrow\nunset title\n"
        # ---- (b) the cutover enlarged
        body += "set lmargin at screen 0.13\nset rmargin at screen 0.60\n"
        body += "set tmargin at screen 0.535\nset bmargin at screen 0.26\n"
        body += "set title %s offset 0,-0.6\n" % _gq(
            "(b) the cutover, enlarged (same clock)"
            if fig["clock"]["b_on_same_clock"]
            else "(b) the cutover, enlarged (A only: B's log is on another clock)"
        )
        body += common_rows(zb0, zb1)
        body += "set xlabel %s offset 0,0.3\n" % _gq("host time since 'migrate' started on A [s]")
        body += spans(zb0, zb1, True)
        body += resume_mark()
        if ev["dst_resume_s"] is not None:
            body += _label(
                "B resumes",
                ev["dst_resume_s"],
                0.5,
                "left",
                "offset 0.4,0 font ',8' tc rgb '%s'" % C["resume"],
            )
        if hg and hg["from_s"] is not None and hg["to_s"] is not None:
            y = 2.3
            lw = 0.8 if hg["emulated"] else 1.5
            body += (
                "set arrow from %.6f, %.2f to %.6f, %.2f heads size screen 0.006,90 "
                "lw %.1f lc rgb '%s' front\n"
                % (
                    hg["from_s"],
                    y,
                    hg["to_s"],
                    y,
                    lw,
                    C["host"],
                )
            )
            body += _label(
                "heartbeat gap %s (host)" % _ms(hg["gap_ms"]),
                (hg["from_s"] + hg["to_s"]) / 2,
                y + 0.14,
                "center",
                "font ',8' tc rgb '%s'" % C["host"],
            )
            nom = hg["from_s"] + hg["nominal_ms"] / 1000.0
            body += "set arrow from %.6f, 1.72 to %.6f, 1.72 nohead dt 2 lw 1 lc rgb 'gray30' front\n" % (
                hg["from_s"],
                nom,
            )
            body += _label("nominal %g ms" % hg["nominal_ms"], hg["from_s"], 1.55, "left", "font ',8'")
            if hg["to_s"] > nom:
                body += "set arrow from %.6f, 1.72 to %.6f, 1.72 nohead lw %.1f lc rgb '%s' front\n" % (
                    nom,
                    hg["to_s"],
                    lw + 1,
                    C["host"],
                )
                body += _label(
                    "gap - nominal %s (host)" % _ms(hg["value_ms"]),
                    hg["to_s"],
                    1.55,
                    "right",
                    "font ',8' tc rgb '%s'" % C["host"],
                )
        body += hb_plot
        body += "unset object\nunset label\nunset arrow\nunset title\nunset grid\n"
    else:
        body += _label(
            "no host timestamps (--untimed, no .times logs):\nnothing to place on a time axis;\n"
            "the downtimes are on the right",
            "screen 0.35",
            "screen 0.55",
        )
        body += "set lmargin at screen 0.13\nset rmargin at screen 0.60\n"

    # ---- (c) the downtimes, in ms
    ys = [v for v in (dts["target"], dts["predicted"], dts["achieved"], dts["destination"]) if v]
    if gg:
        ys.append(gg["upper_ms"])
    if hg:
        ys.append(hg["upper_ms"])
    ymax = 1.12 * max(ys + [1.0])
    # (untimed: the title and the note above are drawn with this panel)
    body += "set lmargin at screen 0.68\nset rmargin at screen 0.85\n"
    body += "set tmargin at screen 0.535\nset bmargin at screen 0.26\n"
    body += "set title '(c) downtime' offset 0,-0.6\n"
    body += "set xrange [0.4:4.6]\nset yrange [0:%.3f]\n" % ymax
    body += "set xtics (%s) scale 0 font ',8'\n" % ", ".join(
        "%s %d" % (_gq(t), i) for i, t in enumerate(("source", "destin.", "guest\nclock", "host\nclock"), 1)
    )
    body += "set ytics auto\nset mytics 2\nset grid ytics lc rgb '#e6e6e6'\n"
    body += "set ylabel 'downtime [ms]' offset 1,0\n"
    body += "unset xlabel\n"
    body += _label("MIGSTAT", 1.5, "graph -0.2", "center", "font ',8' tc rgb 'gray30'")
    body += _label("heartbeat gap", 3.5, "graph -0.2", "center", "font ',8' tc rgb 'gray30'")
    base = 0.0
    for p in stop["parts"]:
        body += _rect(0.72, 1.28, base, base + p["ms"], C[p["name"]])
        base += p["ms"]
    if dts["destination"] is not None:
        body += (
            "set object rect from 1.82, 0 to 2.18, %.3f back fc rgb '%s' fs solid 1.0 "
            "border lc rgb 'gray40' lw 0.5\n"
            % (
                dts["destination"],
                C["dst"],
            )
        )
    if dts["adds_to_guest_clock_max"] is not None:
        body += "set arrow from 2.65, %.3f to 3.35, %.3f nohead dt 3 lw 1.5 lc rgb 'black' front\n" % (
            dts["adds_to_guest_clock_max"],
            dts["adds_to_guest_clock_max"],
        )
    refs = [
        (dts[k], k, dt, lw) for k, dt, lw in (("target", 2, 1.5), ("predicted", 4, 1.5), ("achieved", 1, 1.0))
    ]
    refs = sorted((ref for ref in refs if ref[0] is not None), key=lambda ref: ref[0])
    at_y, last = [], None
    for v, _k, _dt, _lw in refs:
        # labels at least 9% of the axis apart, pushed upwards
        y = v if last is None else max(v, last + 0.09 * ymax)
        at_y.append(y)
        last = y
    for (v, key, dt, lw), y in zip(refs, at_y):
        body += (
            "set arrow from graph 0, first %.3f to graph 1, first %.3f nohead dt %d lw %.1f "
            "lc rgb '%s' front\n"
            % (
                v,
                v,
                dt,
                lw,
                C[key],
            )
        )
        body += "set label %s at graph 1.03, first %.3f left tc rgb '%s' front\n" % (
            _gq("%s %s" % (key, _ms(v))),
            y,
            C[key],
        )
    hlw, hps = (0.8, 0.6) if hg and hg["emulated"] else (1.5, 1.0)
    body += (
        "plot $GG using 1:2:3:4 with yerrorbars pt 7 ps 1.3 lw 2.5 lc rgb '%s' notitle, "
        "$HG using 1:2:3:4 with yerrorbars pt 6 ps %.1f lw %.1f lc rgb '%s' notitle\n"
        % (C["guest"], hps, hlw, C["host"])
    )
    body += "unset object\nunset label\nunset arrow\nunset title\nunset grid\nunset ylabel\nunset mytics\n"

    # ---- the legend, below the panels
    body += "set lmargin at screen 0.02\nset rmargin at screen 0.98\n"
    body += "set tmargin at screen 0.16\nset bmargin at screen 0.0\n"
    body += "unset border\nunset tics\nunset xlabel\nunset ylabel\nset xrange [0:1]\nset yrange [0:1]\n"
    body += (
        "set key at screen 0.5, 0.158 center top vertical Left reverse maxrows 6 samplen 2 width -2 "
        "spacing 1.0 font ',9'\n"
    )
    box = "$NONE using 1:2 with boxes fs solid 1.0 border lc rgb 'gray40' fc rgb '%s' title %s"
    entries = [
        box % (C["handshake"], _gq("handshake")),
        box % (C["round0"], _gq("pre-copy round")),
        box % (C["drain"], _gq("drain (guest runs)")),
        box % (C["copy"], _gq("stop: copy (pause -> state sent)")),
        box % (C["ready"], _gq("stop: ready (-> READY)")),
        box % (C["confirm"], _gq("stop: confirm (-> CONFIRM)")),
        box % (C["scrub"], _gq("A scrubs the guest")),
        box % (C["receiving"], _gq("B receives the guest")),
        "$NONE using 1:2 with points pt 7 ps 0.8 lc rgb '%s' title %s" % (C["hb_a"], _gq("heartbeat on A")),
        "$NONE using 1:2 with points pt 5 ps 0.8 lc rgb '%s' title %s" % (C["hb_b"], _gq("heartbeat on B")),
        "$NONE using 1:2 with impulses lw 2 lc rgb '%s' title %s" % (C["resume"], _gq("B resumes the guest")),
        "$NONE using 1:2 with boxes fs solid 1.0 border lc rgb 'gray40' fc rgb '%s' title %s"
        % (C["dst"], _gq("destination STOP -> resume")),
        "$NONE using 1:2 with lines dt 2 lw 1.5 lc rgb '%s' title %s" % (C["target"], _gq("target")),
        "$NONE using 1:2 with lines dt 4 lw 1.5 lc rgb '%s' title %s" % (C["predicted"], _gq("predicted")),
        "$NONE using 1:2 with lines dt 1 lw 1 lc rgb '%s' title %s"
        % (C["achieved"], _gq("achieved (source)")),
        "$NONE using 1:2:2:2 with yerrorbars pt 7 ps 1 lw 2.5 lc rgb '%s' title %s"
        % (C["guest"], _gq("guest-seen (gap - nominal), guest clock")),
        "$NONE using 1:2:2:2 with yerrorbars pt 6 ps %.1f lw %.1f lc rgb '%s' title %s"
        % (
            hps,
            hlw,
            C["host"],
            _gq("guest-seen, host clock" + (" (least reliable)" if hg and hg["emulated"] else "")),
        ),
        "$NONE using 1:2 with lines dt 3 lw 1.5 lc rgb 'black' title %s"
        % _gq("max. the stop adds to guest clock"),
    ]
    body += "plot " + ", \\\n     ".join(entries) + "\n"
    script = data
    script += "# the figure of tools/cutover.py (docs/cutover.md): gnuplot %s redraws it\n" % "this-file"
    script += 'do for [term in "png svg"] {\n'
    script += "if (term eq \"png\") {\n  set terminal %s\n  set output '%s'\n} else {\n" % (
        term_png,
        png.replace("'", ""),
    )
    script += (
        "  set terminal svg size 1200,820 font 'DejaVu Sans,10' background rgb 'white'\n"
        "  set output '%s'\n}\n" % (svg.replace("'", ""))
    )
    script += "reset\nset termoption noenhanced\nset multiplot\nset key off\nset border lw 0.8\n"
    script += body
    script += "unset multiplot\nset output\n}\n"
    return script


def plot(fig, png, svg, gp=None, gnuplot="gnuplot"):
    """Draw fig (figure_data) with gnuplot into png and svg; the script goes to gp (if
    given) so that the figure can be redrawn or edited. CutoverError if gnuplot is
    missing or fails."""
    exe = shutil.which(gnuplot)
    terms = ""
    if exe:
        p = subprocess.run([exe, "-e", "set terminal"], capture_output=True, text=True)
        terms = p.stdout + p.stderr
    term = "pngcairo size 1200,820 font 'DejaVu Sans,10'" if "pngcairo" in terms else "png size 1200,820"
    script = figure_script(fig, png, svg, term)
    if gp:
        with open(gp, "w") as f:
            f.write(script)
    if not exe:
        raise CutoverError(
            "gnuplot not found: no PNG/SVG figure. Install the Debian package gnuplot-nox "
            "(scripts/setup.sh installs it) and run `gnuplot %s`, or pass --no-plot"
            % (gp or "PREFIX-figure.gp")
        )
    for f in (png, svg):
        if os.path.exists(f):
            os.unlink(f)
    p = subprocess.run([exe], input=script, capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(png) or not os.path.exists(svg):
        raise CutoverError("gnuplot failed (status %d): %s" % (p.returncode, p.stderr.strip()[-800:]))


# ---- the figure's data (PREFIX-figure.json) -------------------------------------------

FIGURE_FORMAT = "hv cutover figure v1"


def migstat_round_lists(line, kv):
    """The per-round lists of one MIGSTAT line ({key: [int, ...]} for ROUND_KEYS) and
    whether the line was cut (exactly one of HV_EVENT_CUT_LENGTHS long: hv_event's
    buffer). On a cut line the last word may be cut too: of a list there, only the
    elements before the last are kept; a list cut away entirely is empty. (A whole line
    of exactly that length loses its last value the same way.)"""
    kv = kv or {}
    cut = line is not None and len(line) in HV_EVENT_CUT_LENGTHS
    words = line.split() if line else []
    last_key = words[-1].split("=", 1)[0] if cut and words and "=" in words[-1] else None
    out = {}
    for key in ROUND_KEYS:
        v = kv.get(key)
        items = [] if v in (None, "-") else v.split(",")
        if cut and key == last_key:
            items = items[:-1]
        vals = []
        for x in items:
            if not x.isdigit():
                break
            vals.append(int(x))
        out[key] = vals
    return out, cut


def _hb_ratio(hbs):
    """Host seconds per guest second over consecutive heartbeats (mean, min, max of
    single intervals); None without two timed heartbeats."""
    pairs = [
        (q["t"] - p["t"], (q["t_us"] - p["t_us"]) / 1e6)
        for p, q in zip(hbs, hbs[1:])
        if q["seq"] == p["seq"] + 1 and p["t"] is not None and q["t"] is not None and q["t_us"] > p["t_us"]
    ]
    if not pairs:
        return None
    singles = [h / g for h, g in pairs]
    return sum(h for h, _ in pairs) / sum(g for _, g in pairs), min(singles), max(singles)


def _find(log, rx, lo, hi, vm=None):
    """(index, host time) of the first line in log.entries[lo:hi] that rx matches (with
    group 1 == vm when given); (None, None) if none."""
    for i in range(max(0, lo), min(len(log.entries), hi)):
        m = rx.match(log.entries[i][1])
        if m and (vm is None or m.group(1) == str(vm)):
            return i, log.entries[i][0]
    return None, None


def figure_data(r, a, b):
    """Everything the figure draws, on one time axis: the host's CLOCK_MONOTONIC (A's
    .times) in seconds since the source's `[hv] migrate: vm N to PEER: connecting` line
    arrived. Positions are None where the logs carry no host times (or, for B's lines,
    where B's log is on another clock). docs/cutover.md ("The figure") says how each
    span is anchored and how far to trust it."""
    mig = r["mig"]
    src, dst = mig["src"] or {}, mig["dst"] or {}
    notes = []
    timed = bool(r["timed"])
    same = bool(r["same_clock"])
    t0 = a.entries[mig["a_start"]][0] if timed else None

    def x(t):
        return None if t is None or t0 is None else round(t - t0, 6)

    # the rounds' sizes: the source's MIGSTAT, or the destination's where the source's
    # line was cut (pages, bytes, dirtied agree after a success; docs/migration.md 7)
    n = _int(src, "rounds") or _int(dst, "rounds") or 0
    listed = min(n, 32)
    sl, src_cut = migstat_round_lists(mig["src_line"], src)
    dl, _ = migstat_round_lists(mig["dst_line"], dst)
    lists, origin = {}, {}
    for key in ROUND_KEYS:
        if len(sl[key]) >= listed:
            lists[key], origin[key] = sl[key], "source MIGSTAT"
        elif key in ("round_pages", "round_bytes", "round_dirtied") and len(dl[key]) >= listed:
            lists[key], origin[key] = dl[key], "destination MIGSTAT"
        else:
            lists[key], origin[key] = sl[key], "source MIGSTAT (%d of %d)" % (len(sl[key]), listed)
    lost = [k for k in ROUND_KEYS if origin[k].startswith("source MIGSTAT (")]
    from_dst = [k for k in ROUND_KEYS if origin[k] == "destination MIGSTAT"]
    if src_cut or lost:
        notes.append(
            "the source's MIGSTAT line %s: %s%s"
            % (
                (
                    "was cut at %d characters (hv_event's line buffer, hv/core/console_io.c)"
                    % len(mig["src_line"])
                    if src_cut
                    else "lacks per-round values"
                ),
                ", ".join("%s lost (%s)" % (k, origin[k][len("source MIGSTAT (") : -1]) for k in lost)
                or "no per-round list lost",
                "; %s from the destination's MIGSTAT" % ", ".join(from_dst) if from_dst else "",
            )
        )

    # host times of the lines the spans are anchored at
    a_lo, a_hi = mig["a_start"], mig["a_end"] + 1
    progress = []
    for i in range(a_lo, a_hi):
        m = PROGRESS_RE.match(a.entries[i][1])
        if m and m.group(1) == mig["vm_a"]:
            progress.append((a.entries[i][0], int(m.group(2)), m.group(3)))
    _, t_scrubbed = _find(a, SRC_SCRUBBED_RE, a_lo, a_hi, mig["vm_a"])
    t_end = a.entries[mig["a_end"]][0]
    t_becomes = t_resume = None
    if same and mig["b_new"] is not None:
        t_becomes = b.entries[mig["b_new"]][0]
        hi = mig["dst_i"] + 1 if mig["dst_i"] is not None else len(b.entries)
        _, t_resume = _find(b, DST_RESUME_RE, mig["b_new"], hi, mig["vm_b"])

    # host seconds per hypervisor second: over the whole migration (connecting line to
    # the scrubbed line, against total_ms), and near the stop (A's last heartbeats: the
    # guest's t_us counts the same TSC as A's MIGSTAT figures)
    total_ms = _int(src, "total_ms")
    t_fin = t_scrubbed if t_scrubbed is not None else t_end
    rho_mig = (t_fin - t0) / (total_ms / 1000.0) if timed and total_ms and t_fin is not None else None
    near = _hb_ratio(r["hb_a"][-5:]) if timed else None

    # round boundaries: boundary k (1..n) ends round k-1; the first progress line that
    # shows round >= k is printed in the service pass in which round k began; the line
    # before it (still an earlier round) bounds it from below
    bound = {}
    prev_t = t0
    for t, rnd, _state in progress:
        for k in range(1, n + 1):
            if k not in bound and rnd >= k:
                bound[k] = (t, prev_t)
        prev_t = t
    rounds = []
    for i in range(n):

        def at(key):
            return lists[key][i] if i < len(lists[key]) else None

        ns = at("round_ns")
        rounds.append(
            {
                "index": i,
                "pages": at("round_pages"),
                "bytes": at("round_bytes"),
                "zero": at("round_zero"),
                "dirtied": at("round_dirtied"),
                "hv_ms": None if ns is None else ns / 1e6,
                "start_s": None,
                "end_s": None,
                "end_after_s": None,
                "start_anchor": None,
                "end_anchor": None,
                "host_ms": None,
                "host_per_hv": None,
            }
        )
    for i, rd in enumerate(rounds):
        if i + 1 in bound:
            rd["end_s"], rd["end_after_s"] = x(bound[i + 1][0]), x(bound[i + 1][1])
            rd["end_anchor"] = "A: first progress line of round %d" % (i + 1)
    if rounds and timed:
        r0 = rounds[0]
        if t_becomes is not None and t_becomes >= t0 and (r0["end_s"] is None or x(t_becomes) <= r0["end_s"]):
            r0["start_s"] = x(t_becomes)
            r0["start_anchor"] = "B: `incoming guest ... becomes vm %s` (B sends ACCEPT next)" % mig["vm_b"]
        elif r0["hv_ms"] is not None and r0["end_s"] is not None and rho_mig:
            r0["start_s"] = round(r0["end_s"] - r0["hv_ms"] / 1000.0 * rho_mig, 6)
            r0["start_anchor"] = "end of round 0 - round_ns[0] x host/hv ratio of the migration"
        else:
            hs = [t for t, _, st in progress if st in ("handshake", "announce", "wait-accept")]
            r0["start_s"] = x(hs[-1] if hs else t0)
            r0["start_anchor"] = "A: last progress line before pre-copy" if hs else "A: `connecting` line"
        for i in range(1, len(rounds)):
            rounds[i]["start_s"] = rounds[i - 1]["end_s"]
            rounds[i]["start_anchor"] = rounds[i - 1]["end_anchor"]
        # no progress line for a boundary: carry on from the start with round_ns
        for rd in rounds:
            if rd["end_s"] is None and rd["start_s"] is not None and rd["hv_ms"] is not None:
                rd["end_s"] = round(rd["start_s"] + rd["hv_ms"] / 1000.0 * (rho_mig or 1.0), 6)
                rd["end_anchor"] = "start + round_ns x host/hv ratio of the migration"
                nxt = rd["index"] + 1
                if nxt < len(rounds) and rounds[nxt]["start_s"] is None:
                    rounds[nxt]["start_s"], rounds[nxt]["start_anchor"] = rd["end_s"], rd["end_anchor"]
        for rd in rounds:
            if rd["start_s"] is not None and rd["end_s"] is not None:
                rd["host_ms"] = round((rd["end_s"] - rd["start_s"]) * 1000.0, 3)
                if rd["hv_ms"]:
                    rd["host_per_hv"] = round(rd["host_ms"] / rd["hv_ms"], 4)
    if n and not progress and timed:
        notes.append(
            "no `[hv] migrate: vm N round K: ...` progress lines on A: the rounds are placed by round_ns"
        )

    # the stop: it starts drain_us after the stop decision (the first progress line of
    # round n) and ends with CONFIRM; B resumes the guest when COMMIT arrives, inside the
    # confirm part (after READY reached A, before CONFIRM did), taken as its middle. With
    # both lines on one clock the host/hv ratio over drain + stop is fitted to them;
    # otherwise it is A's over its last heartbeats before the stop.
    copy, ready = _us_ms(src, "dt_copy_us"), _us_ms(src, "dt_ready_us")
    conf, down = _us_ms(src, "dt_confirm_us"), _us_ms(src, "downtime_us")
    drain = _us_ms(src, "drain_us") or 0.0
    parts = []
    if None not in (copy, ready, conf):
        parts = [["copy", copy], ["ready", ready], ["confirm", conf]]
    elif down is not None:
        parts = [["stop", down]]
    t_dec = bound[n][0] if n in bound else None
    stop = {
        "downtime_ms": down,
        "drain_ms": drain,
        "parts": [{"name": nm, "ms": ms, "start_s": None, "end_s": None} for nm, ms in parts],
        "parts_sum_ms": round(sum(ms for _, ms in parts), 3) if parts else None,
        "start_s": None,
        "end_s": None,
        "decision_s": x(t_dec),
        "anchor": None,
        "host_per_hv": None,
        "host_per_hv_method": None,
        "host_per_hv_heartbeats": [round(v, 4) for v in near] if near else None,
        "host_per_hv_migration": round(rho_mig, 4) if rho_mig else None,
        "dst_resume_s": x(t_resume),
        "placement_err_ms": None,
        "scrubbed_s": x(t_scrubbed),
    }
    if timed and parts:
        three = len(parts) == 3
        if t_dec is not None and t_resume is not None and three and t_resume > t_dec:
            rho_s = (t_resume - t_dec) / ((drain + copy + ready + conf / 2.0) / 1000.0)
            method = "fit: A's stop decision line to B's resume line = drain + copy + ready + confirm/2"
            err = conf / 2.0 * rho_s
        elif near:
            rho_s, method = near[0], "A's last 4 heartbeat intervals before the stop"
            err = (drain + (down or 0.0)) * max(near[0] - near[1], near[2] - near[0])
        elif rho_mig:
            rho_s, method, err = (
                rho_mig,
                "the whole migration (connecting line to scrubbed line / total_ms)",
                None,
            )
        else:
            rho_s, method, err = 1.0, "none (1)", None
        pause = None
        if t_dec is not None:
            pause = t_dec + drain / 1000.0 * rho_s
            stop["anchor"] = "A: first progress line of round %d (the stop decision), then drain_us" % n
        elif t_resume is not None and three:
            pause = t_resume - (copy + ready + conf / 2.0) / 1000.0 * rho_s
            stop["anchor"] = "B: `commit received` line = middle of the confirm part"
        stop["host_per_hv"] = round(rho_s, 4)
        stop["host_per_hv_method"] = method
        stop["placement_err_ms"] = None if err is None else round(err, 1)
        if pause is not None:
            t = pause
            for p in stop["parts"]:
                p["start_s"] = x(t)
                t += p["ms"] / 1000.0 * rho_s
                p["end_s"] = x(t)
            stop["start_s"], stop["end_s"] = stop["parts"][0]["start_s"], stop["parts"][-1]["end_s"]

    # heartbeats and the gap between the last on A and the first on B
    hb, gap = r["hb_ms"], r["guest_gap_ms"]
    gcc = guest_clock_check(r)
    gi = r.get("guest_iv")
    late = max(0.0, gi["max"] - hb) if gi else 0.0
    guest_gap = {
        "clock": "the guest's own t_us (A's TSC before the stop, B's after)",
        "gap_ms": round(gap, 3),
        "nominal_ms": hb,
        "value_ms": round(gap - hb, 3),
        "lower_ms": round(max(0.0, gap - hb - late), 3),
        "upper_ms": round(gap, 3),
        "lateness_ms": round(late, 3),
        "jump": bool(r.get("clock_counted")),
    }
    guest_gap["err_minus_ms"] = round(guest_gap["value_ms"] - guest_gap["lower_ms"], 3)
    guest_gap["err_plus_ms"] = round(guest_gap["upper_ms"] - guest_gap["value_ms"], 3)
    host_gap = None
    if r.get("host_gap_ms") is not None:
        g = r["host_gap_ms"]
        dils = [d for d in (r.get("dil_a"), r.get("dil_b")) if d]
        host_gap = {
            "clock": "host CLOCK_MONOTONIC (line arrival)",
            "gap_ms": round(g, 3),
            "nominal_ms": hb,
            "value_ms": round(g - hb, 3),
            "lower_ms": round(min(r["lower_ms"], max(0.0, g - hb)), 3),
            "upper_ms": round(g, 3),
            "resolved": bool(r["resolved"]),
            "from_s": x(r["last_a"]["t"]),
            "to_s": x(r["first_b"]["t"]),
            "emulated": any(abs(d - 1.0) > 0.05 for d in dils),
        }
        host_gap["err_minus_ms"] = round(host_gap["value_ms"] - host_gap["lower_ms"], 3)
        host_gap["err_plus_ms"] = round(host_gap["upper_ms"] - host_gap["value_ms"], 3)
    hbs = {
        "A": [[x(h["t"]), h["seq"], h["t_us"]] for h in r["hb_a"] if timed],
        "B": [[x(h["t"]), h["seq"], h["t_us"]] for h in r["hb_b"] if timed and same],
    }
    fig = {
        "format": FIGURE_FORMAT,
        "clock": {
            "axis": "host CLOCK_MONOTONIC, seconds since the source's `connecting` line arrived",
            "name": (a.header or {}).get("clock") if timed else None,
            "boot_id": (a.header or {}).get("boot_id") if timed else None,
            "origin_monotonic_s": t0,
            "b_on_same_clock": same,
        },
        "timed": timed,
        "migration": {
            "id": src.get("id"),
            "guest": r["guest"],
            "vm_a": mig["vm_a"],
            "vm_b": mig["vm_b"],
            "rounds": n,
            "pages": _int(src, "pages"),
            "bytes": _int(src, "bytes"),
            "final_pages": _int(src, "final_pages"),
            "total_ms": total_ms,
            "encrypted": src.get("enc") == "1",
            "source_migstat_cut": src_cut,
            "round_lists_from": origin,
        },
        "rounds": rounds,
        "stop": stop,
        "downtimes_ms": {
            "target": float(_int(src, "target_ms")) if _int(src, "target_ms") is not None else None,
            "predicted": _us_ms(src, "predicted_us"),
            "achieved": down,
            "destination": _us_ms(dst, "downtime_us"),
            "adds_to_guest_clock_max": gcc["adds_max_ms"] if gcc else None,
        },
        "guest_gap": guest_gap,
        "host_gap": host_gap,
        "heartbeats": hbs,
        "cutover_seq": [r["last_a"]["seq"], r["first_b"]["seq"]],
        "events": {
            "connecting_s": x(t0),
            "dst_new_vm_s": x(t_becomes),
            "dst_resume_s": x(t_resume),
            "src_scrubbed_s": x(t_scrubbed),
            "src_end_s": x(t_end) if timed else None,
        },
        "progress": [[x(t), rnd, st] for t, rnd, st in progress] if timed else [],
        "verdict": r.get("verdict") or verdict_lines(r),
        "notes": notes,
    }
    if not timed:
        notes.append("no host timestamps: nothing is placed on the time axis (--untimed)")
    elif not same:
        notes.append("B's log is on another host clock: B's lines and heartbeats are not placed")
    return fig


def figure_text(fig):
    """Section 5 of the report: where the figure's spans come from and how far to trust
    their placement (docs/cutover.md, "The figure")."""
    L = ["5. FIGURE (time axis: %s)" % fig["clock"]["axis"]]
    add = L.append
    if not fig["timed"]:
        add("   no host timestamps: the figure shows the downtimes only")
    else:
        add(
            "   origin: A's `connecting` line at %.6f s (%s, boot_id %s)"
            % (fig["clock"]["origin_monotonic_s"], fig["clock"]["name"], fig["clock"]["boot_id"])
        )
        for rd in fig["rounds"]:
            add(
                "   round %d: %s .. %s s, %s pages, %s bytes%s"
                % (
                    rd["index"],
                    "?" if rd["start_s"] is None else "%.3f" % rd["start_s"],
                    "?" if rd["end_s"] is None else "%.3f" % rd["end_s"],
                    rd["pages"],
                    rd["bytes"],
                    "" if rd["hv_ms"] is None else ", %.1f ms of A's clock (round_ns)" % rd["hv_ms"],
                )
            )
        if fig["rounds"]:
            add("   round 0 starts at %s" % fig["rounds"][0]["start_anchor"])
            add(
                "   round boundaries: A's progress lines (each printed in the service pass in which the "
                "round changed, arriving after console latency; the line before it bounds it from below)"
            )
        st = fig["stop"]
        if st["start_s"] is not None:
            add(
                "   stop: %.3f .. %.3f s = %s (MIGSTAT ms), after drain %.1f ms; anchored at %s"
                % (
                    st["start_s"],
                    st["end_s"],
                    " + ".join("%s %.1f" % (p["name"], p["ms"]) for p in st["parts"]),
                    st["drain_ms"],
                    st["anchor"],
                )
            )
            hbr = st["host_per_hv_heartbeats"]
            add(
                "   drawn at %.3f host s per hypervisor s (%s); A's last heartbeats: %s; whole migration: %s"
                % (
                    st["host_per_hv"],
                    st["host_per_hv_method"],
                    "%.3f (single intervals %.3f .. %.3f)" % tuple(hbr) if hbr else "n/a",
                    "%.3f" % st["host_per_hv_migration"] if st["host_per_hv_migration"] else "n/a",
                )
            )
            if st["placement_err_ms"] is not None:
                add(
                    "   placement error of the stop's parts: about +-%.1f ms of host time, plus the two "
                    "lines' "
                    "console latency" % st["placement_err_ms"]
                )
        else:
            add("   stop: not placed (no progress line of the last round and no resume line on one clock)")
    for n in fig["notes"]:
        add("   note: %s" % n)
    return L


def write_figure_data(fig, path):
    with open(path, "w") as f:
        json.dump(fig, f, indent=1)
        f.write("\n")
