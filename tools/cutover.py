#!/usr/bin/env python3
"""cutover: measure a live migration's cutover from both consoles' logs.

  tools/cutover.py build/demo/a.serial build/demo/b.serial --out build/demo/cutover

Two independent measurements of the same stop (docs/cutover.md says exactly
what each one is and how far it can be trusted):

 (a) as the guest saw it: the test guest prints `HB vm=G seq=S t_us=T ...`
     every hb_ms of its own time. The heartbeat before the stop is the last
     one on the source's console (A), the one after it the first one on the
     destination's (B). The gap between them, in host arrival time of the two
     lines and in the guest's own t_us, minus the nominal interval, is the
     stop as the guest's output shows it. Needs the timestamped line logs
     that hvconsole.Console(times_path=...) writes (LOG.times:
     `# hvconsole times v1 clock=CLOCK_MONOTONIC boot_id=...` header, then
     `MONOTONIC_SECONDS<TAB>LINE`).
 (b) as the hypervisors report it: the `[hv] MIGSTAT` lines of the source
     (downtime_us: guest paused -> destination's confirmation received) and
     the destination (downtime_us: STOP message received -> guest resumed),
     and the source's prediction (predicted_us).

Arguments are the serial logs (the .times file next to each is read: LOG.times)
or the .times files themselves. Writes PREFIX.txt (the report, also printed),
PREFIX.csv (seq,host_time_s,guest_t_us,side,interval_ms) and PREFIX.png (the
heartbeat intervals around the cutover, drawn by gnuplot). Exit status 0 when
the report was written and the heartbeat sequence is unbroken, 1 when the
sequence check fails, 2 when the logs hold no complete migration, the
timestamps are missing, or gnuplot is missing (--no-plot skips the PNG).
"""

import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from hvconsole import clean_text, strip_prompts, TIMES_HEADER  # noqa: E402

HB_RE = re.compile(r"^\[vm(\d+)\] HB vm=(\d+) seq=(\d+) t_us=(\d+)\b")
SRC_START_RE = re.compile(r"^\[hv\] migrate: vm (\d+) to (\S+): connecting")
SRC_END_RE = re.compile(r"^\[hv\] migrate: source (done|FAILED)\b")
DST_NEW_RE = re.compile(r"^\[hv\] migrate: incoming guest of .* becomes vm (\d+)")
DST_END_RE = re.compile(r"^\[hv\] migrate: destination (done|FAILED)\b")
MIGSTAT_RE = re.compile(r"^\[hv\] (MIGSTAT .*)$")
BOOT_RE = re.compile(r"^\[hv\] research hypervisor starting")


class CutoverError(Exception):
    pass


def kv(text):
    out = {}
    for w in text.split():
        if "=" in w:
            k, v = w.split("=", 1)
            out[k] = v
    return out


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
                "--untimed uses the plain log (guest time and MIGSTAT only)"
                % (path, self.times_path))

    def _read_times(self):
        with open(self.times_path, encoding="utf-8", errors="replace") as f:
            for line in f:
                line = line.rstrip("\n")
                if line.startswith("#"):
                    if line.startswith(TIMES_HEADER):
                        # a new session: the last header describes what follows
                        self.header = kv(line[len(TIMES_HEADER):])
                    continue
                t, sep, text = line.partition("\t")
                if not sep:
                    continue
                try:
                    self.entries.append((float(t), strip_prompts(text)))
                except ValueError:
                    continue

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
        if SRC_END_RE.match(a.entries[i][1]):
            end_i = i
            break
    if end_i is None:
        raise CutoverError("%s: no `[hv] migrate: source done|FAILED` line: no migration "
                           "ended on this console (is it the source's log?)" % a.arg)
    result = SRC_END_RE.match(a.entries[end_i][1]).group(1)
    start_i, vm = None, None
    for i in range(end_i, -1, -1):
        m = SRC_START_RE.match(a.entries[i][1])
        if m:
            start_i, vm = i, m.group(1)
            break
    if start_i is None:
        raise CutoverError("%s: the migration's start (`[hv] migrate: vm N to PEER: "
                           "connecting`) is not in the log" % a.arg)
    src_stat = None
    for i in range(start_i, min(len(a.entries), end_i + 3)):
        m = MIGSTAT_RE.match(a.entries[i][1])
        if m and kv(m.group(1)).get("role") == "src":
            src_stat = kv(m.group(1))
    mig = {"result": result, "a_start": start_i, "a_end": end_i, "vm_a": vm,
           "src": src_stat, "dst": None, "vm_b": None, "b_new": None}
    if result != "done":
        return mig
    # B: the MIGSTAT role=dst with the same id, and the `becomes vm N` before it
    want = src_stat.get("id") if src_stat else None
    for i in range(len(b.entries) - 1, -1, -1):
        m = MIGSTAT_RE.match(b.entries[i][1])
        if m:
            st = kv(m.group(1))
            if st.get("role") == "dst" and st.get("result") == "done" and (want is None or st.get("id") == want):
                mig["dst"] = st
                for j in range(i, -1, -1):
                    n = DST_NEW_RE.match(b.entries[j][1])
                    if n:
                        mig["vm_b"], mig["b_new"] = n.group(1), j
                        break
                break
    if mig["dst"] is None:
        raise CutoverError("%s: no `[hv] MIGSTAT role=dst result=done id=%s` line: "
                           "is it the destination's log of the same migration?" % (b.arg, want))
    if mig["vm_b"] is None:
        raise CutoverError("%s: no `[hv] migrate: incoming guest ... becomes vm N` line" % b.arg)
    return mig


def heartbeats(log, label, start=0, end=None):
    out = []
    for t, text in log.entries[start:end]:
        m = HB_RE.match(text)
        if m and m.group(1) == label:
            out.append({"seq": int(m.group(3)), "t": t, "t_us": int(m.group(4)),
                        "guest": m.group(2)})
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
        raise CutoverError("the last migration in %s FAILED: there is no cutover to measure"
                           % a.arg)
    # only this boot of A (a log may hold several runs appended)
    boot = 0
    for i in range(mig["a_start"], -1, -1):
        if BOOT_RE.match(a.entries[i][1]):
            boot = i
            break
    hb_a = heartbeats(a, mig["vm_a"], boot, mig["a_end"] + 1)
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
        problems.append("cutover: last seq on A %d, first on B %d (want %d)"
                        % (last_a["seq"], first_b["seq"], last_a["seq"] + 1))
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

    near_a = hb_a[-(window + 1):]
    near_b = hb_b[:window + 1]
    guest_iv = intervals(near_a, "t_us", 1e-3) + intervals(near_b, "t_us", 1e-3)
    hb_source = "given (--hb-ms)"
    if hb_ms is None:
        if not guest_iv:
            raise CutoverError("too few heartbeats to infer the interval; give --hb-ms")
        hb_ms = float(round(statistics.median(guest_iv)))
        hb_source = "inferred: median guest t_us interval away from the cutover"
    r = {"mig": mig, "hb_a": hb_a, "hb_b": hb_b, "problems": problems, "seq_ok": not problems,
         "timed": timed, "same_clock": same_clock, "hb_ms": hb_ms, "hb_source": hb_source,
         "guest": sorted(guest_ids)[0], "last_a": last_a, "first_b": first_b,
         "window": window}
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
    add("migration id %s, %s rounds, %s pages (%s zero, %s in the final round), %.2f MiB on the "
        "wire, total %s ms, encryption %s" % (
            src.get("id", "?"), src.get("rounds", "?"), src.get("pages", "?"), src.get("zero", "?"),
            src.get("final_pages", "?"), int(src.get("bytes", 0)) / 1048576.0,
            src.get("total_ms", "?"), {"1": "on", "0": "OFF"}.get(src.get("enc"), "?")))
    add("")
    add("1. SEQUENCE CHECK")
    la, fb = r["last_a"], r["first_b"]
    add("   A: seq %d..%d (%d heartbeats), B: seq %d..%d (%d heartbeats)" % (
        r["hb_a"][0]["seq"], la["seq"], len(r["hb_a"]), fb["seq"], r["hb_b"][-1]["seq"], len(r["hb_b"])))
    if r["seq_ok"]:
        add("   OK: unbroken; the cutover is between seq %d (last on A) and seq %d (first on B); "
            "none lost, none repeated" % (la["seq"], fb["seq"]))
    else:
        add("   BROKEN: " + "; ".join(r["problems"]))
    add("")
    add("2. THE STOP AS THE GUEST SAW IT (heartbeats; the stop lies inside the gap)")
    add("   guest time (t_us): seq %d at %.3f ms, seq %d at %.3f ms: gap %.1f ms = nominal %g ms + %.1f ms"
        % (la["seq"], la["t_us"] / 1000.0, fb["seq"], fb["t_us"] / 1000.0, r["guest_gap_ms"], hb,
           r["guest_gap_ms"] - hb))
    gi = r["guest_iv"]
    if gi:
        add("      (steady guest intervals near the cutover: median %.1f ms, min %.1f, max %.1f, n=%d)"
            % (gi["median"], gi["min"], gi["max"], gi["n"]))
    if r["guest_gap_ms"] > hb * 1.05:
        add("      the guest clock jumped by %.1f..%.1f ms across the cutover "
            "(gap - hb_ms .. gap)" % (r["guest_gap_ms"] - hb, r["guest_gap_ms"]))
    else:
        add("      no jump beyond one interval: the stop the guest clock includes is below "
            "hb_ms (%g ms) and not resolvable from t_us" % hb)
    add("      note: guest time is not a stopwatch of the stop: it runs on A up to the state "
        "capture and the destination adds only STOP-arrival..state-load (docs/cutover.md)")
    if r["timed"]:
        for side, key, dk in (("A", "host_iv_a", "dil_a"), ("B", "host_iv_b", "dil_b")):
            s = r.get(key)
            if s:
                add("   host arrival intervals on %s away from the cutover: median %.1f ms, min %.1f, max %.1f "
                    "(n=%d); host ms per guest ms: %.3f" % (side, s["median"], s["min"], s["max"], s["n"],
                                                           r[dk] or float("nan")))
    if r["host_gap_ms"] is not None:
        g = r["host_gap_ms"]
        ia = r["host_iv_a"]["median"] if r.get("host_iv_a") else hb
        iamax = r["host_iv_a"]["max"] if r.get("host_iv_a") else hb
        add("   host time (line arrival, one clock): seq %d on A -> seq %d on B: gap %.1f ms"
            % (la["seq"], fb["seq"], g))
        add("      GUEST-SEEN STOP (host time) = gap - nominal interval = %.1f - %g = %.1f ms"
            % (g, hb, g - hb))
        add("      same with the observed interval on A (median %.1f ms): %.1f ms" % (ia, g - ia))
        add("      bounds: the guest was stopped for more than %.1f ms and at most %.1f ms of host time "
            "(gap - longest steady interval on A .. gap), +- serial jitter (section 4)"
            % (max(0.0, g - iamax), g))
        dil = statistics.mean([d for d in (r.get("dil_a"), r.get("dil_b")) if d]) if (
            r.get("dil_a") or r.get("dil_b")) else None
        if dil and abs(dil - 1.0) > 0.02:
            add("      in guest/emulated time (host time / %.3f host ms per guest ms): "
                "%.1f ms (bounds %.1f .. %.1f ms)" % (dil, (g - ia) / dil, max(0.0, g - iamax) / dil, g / dil))
        r["guest_seen_ms"] = g - hb
    else:
        why = ("the two logs' host clocks are different (%s vs %s): intervals across hosts are "
               "not compared" % (a.clock_id(), b.clock_id())) if r["timed"] else \
              "the logs carry no host timestamps (--untimed)"
        add("   host time: not measured: %s; only guest time above" % why)
        r["guest_seen_ms"] = None
    add("")
    add("3. THE STOP AS THE HYPERVISORS REPORT IT (MIGSTAT, each on its own TSC clock)")

    def us(d, k):
        try:
            return "%.3f ms" % (int(d[k]) / 1000.0)
        except (KeyError, ValueError):
            return "n/a"
    add("   source      downtime_us  %-12s guest paused -> destination's CONFIRM received"
        % us(src, "downtime_us"))
    add("   source      predicted_us %-12s the policy's prediction when it decided to stop"
        % us(src, "predicted_us"))
    add("   destination downtime_us  %-12s STOP message received -> guest resumed"
        % us(dst, "downtime_us"))
    add("   source target %s ms, throttle %s%%, forced stop %s" % (
        src.get("target_ms", "?"), src.get("throttle_pct", "?"), src.get("forced_stop", "?")))
    if r.get("guest_seen_ms") is not None and src.get("downtime_us"):
        sd = int(src["downtime_us"]) / 1000.0
        add("   source downtime vs guest-seen stop (host time): %.1f ms vs %.1f ms (difference %+.1f ms)"
            % (sd, r["guest_seen_ms"], r["guest_seen_ms"] - sd))
    add("")
    add("4. ERROR BOUNDS")
    add("   - heartbeat granularity: the guest proves it runs once per %g ms; the stop began somewhere "
        "in the interval after seq %d, so the guest-seen stop is known only to within one "
        "heartbeat interval (the bounds in 2.)." % (hb, la["seq"]))
    if r["timed"]:
        jit = []
        for key in ("host_iv_a", "host_iv_b"):
            s = r.get(key)
            if s:
                jit.append(max(s["max"] - s["median"], s["median"] - s["min"]))
        if jit:
            add("   - serial/console latency: each time is the host's arrival time of the line (guest UART "
                "-> hypervisor console -> emulated 16550 -> socket -> mux -> reader), not the moment the "
                "guest wrote it; steady-state intervals scatter by up to %.1f ms around their median, "
                "so a single arrival time is uncertain by about that much." % max(jit))
    add("   - clocks: %s" % (
        "both logs are on this host's CLOCK_MONOTONIC (same boot_id): the A->B gap is one clock's interval"
        if r["same_clock"] else
        "the logs' host clocks are not comparable, so no interval spans the two logs; "
        "only intervals on one clock are used" if r["timed"] else
        "no host timestamps: only guest time and the hypervisors' own figures"))
    add("   - the hypervisors' downtime_us are intervals on each hypervisor's own TSC (source: pause to "
        "confirm; destination: STOP to resume); the two are never subtracted from each other.")
    dils = [d for d in (r.get("dil_a"), r.get("dil_b")) if d]
    if dils:
        add("   - emulated vs wall time: host ms per guest ms = %s; under Bochs (clock: sync=none) the "
            "guest and hypervisor clocks count emulated instructions, not wall time, so host-time and "
            "TSC-time figures differ by that factor (on hardware/KVM it is ~1)."
            % ", ".join("%.3f" % d for d in dils))
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
            if prev is not None and prev["seq"] == h["seq"] - 1 and h["t"] is not None and prev["t"] is not None:
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
        raise CutoverError("gnuplot not found: install the Debian package gnuplot-nox "
                           "(scripts/setup.sh lists it), or pass --no-plot")
    terms = subprocess.run([exe, "-e", "set terminal"], capture_output=True, text=True).stdout + \
        subprocess.run([exe, "-e", "set terminal"], capture_output=True, text=True).stderr
    term = "pngcairo size 1100,620 font 'DejaVu Sans,10'" if "pngcairo" in terms else "png size 1100,620"
    w = r["window"]
    k = r["last_a"]["seq"]
    lo, hi = k - w, k + 1 + w
    hb = r["hb_ms"]
    host = r["timed"]

    def block(name, rows):
        return "$%s << EOD\n%s\nEOD\n" % (name, "\n".join(rows) if rows else "nan nan")

    def iv_rows(hbs, key, scale):
        out = []
        for p, q in zip(hbs, hbs[1:]):
            if q["seq"] == p["seq"] + 1 and lo <= q["seq"] <= hi and q[key] is not None and p[key] is not None:
                out.append("%d %.3f" % (q["seq"], (q[key] - p[key]) * scale))
        return out
    la, fb = r["last_a"], r["first_b"]
    data = ""
    series = []
    if host:
        data += block("HA", iv_rows(r["hb_a"], "t", 1000.0))
        data += block("HB", iv_rows(r["hb_b"], "t", 1000.0))
        series += ["$HA using 1:2 with linespoints pt 7 ps 0.9 lc rgb '#1f77b4' title 'on A: host arrival interval'",
                   "$HB using 1:2 with linespoints pt 5 ps 0.9 lc rgb '#2ca02c' title 'on B: host arrival interval'"]
        if r["host_gap_ms"] is not None:
            data += block("HX", ["%d %.3f" % (fb["seq"], r["host_gap_ms"])])
            series.append("$HX using 1:2 with impulses lw 3 lc rgb '#d62728' "
                          "title 'cutover (A -> B), host: %.0f ms'" % r["host_gap_ms"])
    data += block("GA", iv_rows(r["hb_a"], "t_us", 1e-3) + iv_rows(r["hb_b"], "t_us", 1e-3))
    data += block("GX", ["%d %.3f" % (fb["seq"], r["guest_gap_ms"])])
    series += ["$GA using 1:2 with lines dt 2 lw 1.5 lc rgb '#7f7f7f' title 'guest t\\_us interval'",
               "$GX using 1:2 with points pt 9 ps 1.6 lc rgb '#ff7f0e' "
               "title 'cutover, guest t\\_us: %.0f ms'" % r["guest_gap_ms"],
               "%g with lines dt 3 lc rgb 'black' title 'nominal hb\\_ms = %g ms'" % (hb, hb)]
    src = r["mig"]["src"] or {}
    sub = "source downtime %.1f ms (predicted %.1f ms), destination downtime %.1f ms" % (
        int(src.get("downtime_us", 0)) / 1000.0, int(src.get("predicted_us", 0)) / 1000.0,
        int((r["mig"]["dst"] or {}).get("downtime_us", 0)) / 1000.0)
    gs = r.get("guest_seen_ms")
    title = "Heartbeat intervals around the cutover (guest %s, seq %d on A -> %d on B)\\n%s%s" % (
        r["guest"], la["seq"], fb["seq"],
        ("guest-seen stop (host time, gap - hb\\_ms) %.0f ms; " % gs) if gs is not None else "", sub)
    script = data + """
set terminal %s
set output '%s'
set title "%s"
set xlabel 'heartbeat sequence number (interval ending at this heartbeat)'
set ylabel 'interval [ms]'
set grid
set key top left box opaque
set xrange [%d:%d]
set yrange [0:*]
set arrow from %g, graph 0 to %g, graph 1 nohead dt 4 lc rgb '#d62728'
set label 'cutover' at %g, graph 0.96 right offset -0.5,0 tc rgb '#d62728'
plot %s
""" % (term, png.replace("'", ""), title, lo, hi, fb["seq"] - 0.5, fb["seq"] - 0.5, fb["seq"] - 0.5,
       ", \\\n     ".join(series))
    p = subprocess.run([exe], input=script, capture_output=True, text=True)
    if p.returncode != 0 or not os.path.exists(png):
        raise CutoverError("gnuplot failed (status %d): %s" % (p.returncode, p.stderr.strip()[-800:]))


def main(argv=None):
    ap = argparse.ArgumentParser(prog="cutover.py", description=__doc__.split("\n\n")[0],
                                 epilog="\n\n".join(__doc__.split("\n\n")[1:]),
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("source_log", help="the source's (A's) serial log or its .times file")
    ap.add_argument("dest_log", help="the destination's (B's) serial log or its .times file")
    ap.add_argument("--out", metavar="PREFIX", default=None,
                    help="write PREFIX.txt, PREFIX.csv, PREFIX.png (default: cutover next to the source log)")
    ap.add_argument("--hb-ms", type=float, default=None,
                    help="the guest's nominal heartbeat interval (default: inferred from t_us)")
    ap.add_argument("--window", type=int, default=20,
                    help="heartbeats each side of the cutover for the steady-state figures and the plot")
    ap.add_argument("--same-clock", choices=["auto", "yes", "no"], default="auto",
                    help="are both logs on one host clock? auto: when their headers name the "
                         "same clock and boot_id")
    ap.add_argument("--untimed", action="store_true",
                    help="accept logs without .times (no host-time measurement)")
    ap.add_argument("--no-plot", action="store_true", help="do not draw the PNG")
    args = ap.parse_args(argv)
    prefix = args.out or os.path.join(os.path.dirname(os.path.abspath(args.source_log)), "cutover")
    try:
        a = Log(args.source_log, args.untimed)
        b = Log(args.dest_log, args.untimed)
        same = {"auto": None, "yes": True, "no": False}[args.same_clock]
        r = analyse(a, b, args.hb_ms, args.window, same)
        d = os.path.dirname(os.path.abspath(prefix))
        os.makedirs(d, exist_ok=True)
        csv, png, txt = prefix + ".csv", prefix + ".png", prefix + ".txt"
        write_csv(r, csv)
        text = report_text(r, a, b, [txt, csv, None if args.no_plot else png])
        if not args.no_plot:
            plot(r, png)
        with open(txt, "w") as f:
            f.write(text)
    except CutoverError as e:
        print("cutover: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("cutover: %s" % e, file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0 if r["seq_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
