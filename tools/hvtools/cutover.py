"""The cutover analysis behind tools/cutover.py (docs/cutover.md): read two consoles'
timestamped line logs (Log), find the migration and the heartbeats around its stop
(analyse), and write the report, the CSV and the gnuplot PNG (report_text, write_csv,
plot). CutoverError says why a pair of logs cannot be analysed.
"""


import os
import re
import shutil
import statistics
import subprocess

from .console import clean_text, strip_prompts
from .lines import HB_RE, MIG_DST_NEW_RE, MIG_SRC_END_RE, MIG_SRC_START_RE, MIGSTAT_RE, parse_kv, read_times

BOOT_RE = re.compile(r"^\[hv\] research hypervisor starting")


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
    src_stat = None
    for i in range(start_i, min(len(a.entries), end_i + 3)):
        m = MIGSTAT_RE.match(a.entries[i][1])
        if m and parse_kv(m.group(1)).get("role") == "src":
            src_stat = parse_kv(m.group(1))
    mig = {
        "result": result,
        "a_start": start_i,
        "a_end": end_i,
        "vm_a": vm,
        "src": src_stat,
        "dst": None,
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
                mig["dst"] = st
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
    return r


def report_text(r, a, b, files):
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
    if gi and gap_g > gi["max"]:
        add(
            "       => the guest's clock jumped: it counted %.1f .. %.1f ms of U (gap - hb_ms .. gap)"
            % (gap_g - hb, gap_g)
        )
        r["clock_counted"] = (gap_g - hb, gap_g)
    else:
        add(
            "       => no jump beyond a normal interval: the part of U the guest's clock counted is "
            "shorter than one interval (%g ms); not resolvable in guest time" % hb
        )
    r["guest_seen_ms"] = None
    r["resolved"] = None
    dils = [d for d in (r.get("dil_a"), r.get("dil_b")) if d]
    dil = statistics.mean(dils) if dils else None
    r["dil"] = dil
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
        r["guest_seen_ms"] = g - hb
        r["upper_ms"] = g
        r["lower_ms"] = max(0.0, g - iamax)
        r["resolved"] = g > iamax
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
        r["emul"] = None
        if dil and dr and abs(dil - 1.0) > 0.02:
            # bounds: the emulator's speed during the stop is not known, only the
            # range of host-ms-per-guest-ms seen over single intervals near it
            up_e, lo_e = g / dr[0], (r["lower_ms"] / dr[1] if r["resolved"] else 0.0)
            r["emul"] = (lo_e, up_e)
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
        elif dr:
            r["emul"] = (r["lower_ms"] if r["resolved"] else 0.0, g)
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
    if cc and src.get("dt_copy_us") and dst.get("downtime_us"):
        counted_max = (int(src["dt_copy_us"]) + int(dst["downtime_us"])) / 1000.0
        if cc[0] > counted_max:
            add(
                "   (a)/(b) guest-time check: the guest's clock counted more than %.1f ms of U, "
                "but the migration "
                "adds at most %.1f ms to it (source: pause -> state capture %.1f ms; destination: STOP -> "
                "resume %.1f ms): the guest did not run for at least %.1f ms of its own time "
                "outside the hypervisors' "
                "stop (before the pause on A, or after the resume on B waiting for its time slice)"
                % (
                    cc[0],
                    counted_max,
                    int(src["dt_copy_us"]) / 1000.0,
                    int(dst["downtime_us"]) / 1000.0,
                    cc[0] - counted_max,
                )
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
    add("")
    add("files: %s" % ", ".join(f for f in files if f))
    return "\n".join(L) + "\n"


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


def plot(r, png, gnuplot="gnuplot"):
    exe = shutil.which(gnuplot)
    if not exe:
        raise CutoverError(
            "gnuplot not found: install the Debian package gnuplot-nox "
            "(scripts/setup.sh lists it), or pass --no-plot"
        )
    terms = (
        subprocess.run([exe, "-e", "set terminal"], capture_output=True, text=True).stdout
        + subprocess.run([exe, "-e", "set terminal"], capture_output=True, text=True).stderr
    )
    term = "pngcairo size 1100,680 font 'DejaVu Sans,10'" if "pngcairo" in terms else "png size 1100,680"
    w = r["window"]
    k = r["last_a"]["seq"]
    lo = max(k - w, r["hb_a"][0]["seq"])
    hi = min(k + 1 + w, r["hb_b"][-1]["seq"])
    hb = r["hb_ms"]
    host = r["timed"]

    def block(name, rows):
        return "$%s << EOD\n%s\nEOD\n" % (name, "\n".join(rows) if rows else "nan nan")

    def iv_rows(hbs, key, scale):
        out = []
        for p, q in zip(hbs, hbs[1:]):
            if (
                q["seq"] == p["seq"] + 1
                and lo <= q["seq"] <= hi
                and q[key] is not None
                and p[key] is not None
            ):
                out.append("%d %.3f" % (q["seq"], (q[key] - p[key]) * scale))
        return out

    la, fb = r["last_a"], r["first_b"]
    data = ""
    series = []
    if host:
        data += block("HA", iv_rows(r["hb_a"], "t", 1000.0))
        data += block("HB", iv_rows(r["hb_b"], "t", 1000.0))
        series += [
            "$HA using 1:2 with linespoints pt 7 ps 0.9 lc rgb '#1f77b4' title 'on A: host arrival interval'",
            "$HB using 1:2 with linespoints pt 5 ps 0.9 lc rgb '#2ca02c' title 'on B: host arrival interval'",
        ]
        if r["host_gap_ms"] is not None:
            data += block("HX", ["%d %.3f" % (fb["seq"], r["host_gap_ms"])])
            series.append(
                "$HX using 1:2 with impulses lw 3 lc rgb '#d62728' "
                "title 'cutover (A -> B), host: %.0f ms'" % r["host_gap_ms"]
            )
    # a blank line between A's and B's rows: gnuplot does not join them
    data += block("GA", iv_rows(r["hb_a"], "t_us", 1e-3) + [""] + iv_rows(r["hb_b"], "t_us", 1e-3))
    data += block("GX", ["%d %.3f" % (fb["seq"], r["guest_gap_ms"])])
    series += [
        "$GA using 1:2 with lines dt 2 lw 1.5 lc rgb '#7f7f7f' title 'guest-clock interval (t_us)'",
        "$GX using 1:2 with points pt 9 ps 1.6 lc rgb '#ff7f0e' "
        "title 'cutover, guest clock: %.0f ms'" % r["guest_gap_ms"],
        "%g with lines dt 3 lc rgb 'black' title 'nominal heartbeat interval %g ms'" % (hb, hb),
    ]
    src = r["mig"]["src"] or {}
    sub = "source downtime %.1f ms (predicted %.1f ms), destination downtime %.1f ms" % (
        int(src.get("downtime_us", 0)) / 1000.0,
        int(src.get("predicted_us", 0)) / 1000.0,
        int((r["mig"]["dst"] or {}).get("downtime_us", 0)) / 1000.0,
    )
    gs = r.get("guest_seen_ms")
    if gs is None:
        seen = "guest-seen stop: no host-time measurement"
    elif r.get("resolved"):
        seen = "guest-seen stop %.0f..%.0f ms host time" % (r["lower_ms"], r["upper_ms"])
        if r.get("emul") and r.get("dil") and abs(r["dil"] - 1.0) > 0.02:
            seen += " = %.0f..%.0f ms guest time" % r["emul"]
        else:
            seen += " (gap - hb_ms = %.0f ms)" % gs
    else:
        seen = "guest-seen stop <= %.0f ms host time (not resolved: steady intervals on A reach %.0f ms)" % (
            r["upper_ms"],
            r["host_iv_a"]["max"] if r.get("host_iv_a") else float("nan"),
        )
    title = "Heartbeat intervals around the cutover (guest %s, seq %d on A -> %d on B)\\n%s\\nMIGSTAT: %s" % (
        r["guest"],
        la["seq"],
        fb["seq"],
        seen,
        sub,
    )
    mig_mark = ""
    ms = r.get("precopy_seq")
    if ms is not None and lo <= ms <= hi:
        mig_mark = (
            "set arrow from %g, graph 0 to %g, graph 0.9 nohead dt 3 lc rgb '#9467bd'\n"
            "set label 'migrate started' at %g, graph 0.92 center tc rgb '#9467bd'"
            % (ms - 0.5, ms - 0.5, ms - 0.5)
        )
    script = (
        data
        + """
set terminal %s
set termoption noenhanced
set output '%s'
set title "%s"
set xlabel 'heartbeat sequence number (interval ending at this heartbeat)'
set ylabel 'interval [ms]'
set grid
set key top right box opaque
set xrange [%g:%g]
set yrange [0:*]
set arrow from %g, graph 0 to %g, graph 1 nohead dt 4 lc rgb '#d62728'
set label 'cutover' at %g, graph 0.03 right offset -0.5,0 tc rgb '#d62728'
%s
plot %s
"""
        % (
            term,
            png.replace("'", ""),
            title,
            lo - 0.5,
            hi + 0.5,
            fb["seq"] - 0.5,
            fb["seq"] - 0.5,
            fb["seq"] - 0.5,
            mig_mark,
            ", \\\n     ".join(series),
        )
    )
    p = subprocess.run([exe], input=script, capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(png):
        raise CutoverError("gnuplot failed (status %d): %s" % (p.returncode, p.stderr.strip()[-800:]))
