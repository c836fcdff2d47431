#!/usr/bin/env python3
"""Hosted test of tools/cutover.py's figure and verdict (no emulator, a few seconds).

  python3 tests/tools/test_cutover_figure.py [--logs DIR ...] [--tools DIR]

Runs tools/cutover.py on copies of the console logs of real migrations
(tests/tools/fixtures/*/{a,b}.serial.times; --logs DIR adds the pair in DIR, e.g.
build/demo-linux, copied first) and checks its outputs against numbers read from the
logs themselves, not from the tool:

1. PREFIX-figure.json: one round per MIGSTAT `rounds=`, each with the pages and bytes of
   the MIGSTAT per-round lists (the destination's where the source's line was cut), the
   rounds contiguous on the time axis; their pages plus final_pages make pages=.
2. The stop: parts copy, ready, confirm equal to dt_copy_us, dt_ready_us, dt_confirm_us,
   summing to downtime_us within 1 ms, contiguous, after the last round.
3. target, predicted, achieved downtime equal to the source's target_ms, predicted_us,
   downtime_us.
4. The guest-seen gap: first heartbeat on B minus last on A in t_us, minus the nominal
   interval, with its error (lower <= value <= upper).
5. PREFIX.txt starts with the verdict: ACHIEVED (the three downtimes), GUEST-SEEN,
   AGREE; the CSV keeps its header.
6. PNG and SVG (and the gnuplot script) exist when gnuplot is installed; with gnuplot
   off the PATH the status is 2 and the text, CSV and data are still written, with a note.
7. --untimed on plain logs: the data has the rounds and downtimes but no positions.
8. hvtools.cutover.migstat_round_lists drops the cut element of a MIGSTAT line cut at
   509 characters (hv_event's limit), and only of such a line.

--tools DIR runs another copy of tools/ (to show that the test fails on a broken one).
Prints PASS/FAIL lines and `N passed, N failed`; exit status 0 only if all passed.
"""
import argparse
import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import xml.dom.minidom

from toolcheck import check, finish  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
FIXTURES = [os.path.join(HERE, "fixtures", d) for d in ("cutover-test-guest", "cutover-linux")]
CUT = (509, 1789)  # hv_event cuts to its buffer (512 bytes, 1792 in newer builds) less 3
HB = re.compile(r"^\[vm(\d+)\] HB vm=\d+ seq=(\d+) t_us=(\d+) ")
MIGSTAT = re.compile(r"^\[hv\] (MIGSTAT .*)$")
SRC_START = re.compile(r"^\[hv\] migrate: vm (\d+) to \S+: connecting")
SRC_DONE = re.compile(r"^\[hv\] migrate: source done")
BECOMES = re.compile(r"^\[hv\] migrate: incoming guest of .* becomes vm (\d+)")


def lines_of(times_path):
    """The text of each line of a .times log (prompts as recorded)."""
    out = []
    with open(times_path, encoding="utf-8", errors="replace") as f:
        for line in f:
            if line.startswith("#") or "\t" not in line:
                continue
            text = line.rstrip("\n").split("\t", 1)[1]
            out.append(re.sub(r"^(?:hv> |secret> )+", "", text))
    return out


def kv(text):
    return dict(w.split("=", 1) for w in text.split() if "=" in w)


def expected(d):
    """What the logs in d say: MIGSTAT of both sides, the heartbeats around the cutover."""
    a, b = lines_of(os.path.join(d, "a.serial.times")), lines_of(os.path.join(d, "b.serial.times"))
    done = max(i for i, t in enumerate(a) if SRC_DONE.match(t))
    start = max(i for i in range(done) if SRC_START.match(a[i]))
    vm_a = SRC_START.match(a[start]).group(1)
    src_line = [t for t in a[start:done] if MIGSTAT.match(t) and " role=src " in t][-1]
    src = kv(src_line)
    dst_line = [t for t in b if MIGSTAT.match(t) and " role=dst " in t and ("id=%s " % src["id"]) in t][-1]
    dst = kv(dst_line)
    new = max(i for i, t in enumerate(b) if BECOMES.match(t))
    vm_b = BECOMES.match(b[new]).group(1)
    hb_a = [HB.match(t) for t in a[:done] if HB.match(t) and HB.match(t).group(1) == vm_a]
    hb_b = [HB.match(t) for t in b[new:] if HB.match(t) and HB.match(t).group(1) == vm_b]
    # per-round lists: on a cut line the last word's last element may be cut
    words = src_line.split()
    cut_key = words[-1].split("=", 1)[0] if len(src_line) in CUT else None
    n = int(src["rounds"])

    def lst(d_, key, cut):
        v = d_.get(key, "")
        items = [] if v in ("", "-") else v.split(",")
        if cut and key == cut_key:
            items = items[:-1]
        return [int(x) for x in items if x.isdigit()]

    rounds = {}
    for key in ("round_pages", "round_bytes"):
        s = lst(src, key, True)
        rounds[key] = s if len(s) >= min(n, 32) else lst(dst, key, False)
    ns = lst(src, "round_ns", True)
    guest_iv = [
        (int(q.group(3)) - int(p.group(3))) / 1000.0
        for p, q in zip(hb_a, hb_a[1:])
        if int(q.group(2)) == int(p.group(2)) + 1
    ]
    return {
        "src": src,
        "dst": dst,
        "src_line": src_line,
        "dst_line": dst_line,
        "rounds": n,
        "lists": rounds,
        "round_ns": ns,
        "last_a": (int(hb_a[-1].group(2)), int(hb_a[-1].group(3))),
        "first_b": (int(hb_b[0].group(2)), int(hb_b[0].group(3))),
        "hb_ms": float(round(statistics.median(guest_iv))),
    }


def run(tools, args, env=None):
    return subprocess.run(
        [sys.executable, os.path.join(tools, "cutover.py")] + args,
        capture_output=True,
        text=True,
        timeout=120,
        env=env,
    )


def close(a, b, tol=1e-6):
    return a is not None and b is not None and abs(a - b) <= tol


def check_pair(name, src_dir, tools, work):
    print("== %s (%s)" % (name, src_dir))
    d = os.path.join(work, name)
    os.makedirs(d)
    for f in ("a.serial.times", "b.serial.times"):
        shutil.copy(os.path.join(src_dir, f), os.path.join(d, f))
    x = expected(d)
    src, dst = x["src"], x["dst"]
    prefix = os.path.join(d, "out", "cutover")
    p = run(tools, [os.path.join(d, "a.serial.times"), os.path.join(d, "b.serial.times"), "--out", prefix])
    have_gnuplot = shutil.which("gnuplot") is not None
    check(
        "%s: cutover.py exit status 0" % name,
        p.returncode == 0,
        "status %d: %s" % (p.returncode, p.stderr.strip()[-300:]),
    )
    try:
        with open(prefix + "-figure.json") as f:
            fig = json.load(f)
    except (OSError, ValueError) as e:
        check("%s: the figure's data file %s-figure.json" % (name, prefix), False, str(e))
        return
    check("%s: data file format" % name, fig.get("format") == "hv cutover figure v1", fig.get("format"))

    # 1. rounds
    rounds = fig.get("rounds") or []
    check(
        "%s: one round per MIGSTAT round (rounds=%d)" % (name, x["rounds"]),
        len(rounds) == x["rounds"],
        "%d in the data" % len(rounds),
    )
    pages = [rd.get("pages") for rd in rounds]
    byts = [rd.get("bytes") for rd in rounds]
    check(
        "%s: round pages and bytes as MIGSTAT's round_pages, round_bytes" % name,
        pages == x["lists"]["round_pages"] and byts == x["lists"]["round_bytes"],
        "data %s / %s, MIGSTAT %s / %s" % (pages, byts, x["lists"]["round_pages"], x["lists"]["round_bytes"]),
    )
    check(
        "%s: the rounds' pages plus final_pages make pages=" % name,
        None not in pages and sum(pages) + int(src["final_pages"]) == int(src["pages"]),
        "%s + %s vs %s" % (pages, src["final_pages"], src["pages"]),
    )
    spans = [(rd.get("start_s"), rd.get("end_s")) for rd in rounds]
    ok = all(s is not None and e is not None and 0.0 <= s < e for s, e in spans) and all(
        close(spans[i][1], spans[i + 1][0]) for i in range(len(spans) - 1)
    )
    check("%s: rounds placed on the time axis, in order, contiguous" % name, ok, str(spans))
    hv = [rd.get("hv_ms") for rd in rounds]
    want = [v / 1e6 for v in x["round_ns"]] + [None] * (len(rounds) - len(x["round_ns"]))
    check(
        "%s: round durations only from round_ns values that were not cut" % name,
        len(hv) == len(want) and all((w is None and h is None) or close(h, w) for h, w in zip(hv, want)),
        "data %s, MIGSTAT %s" % (hv, want),
    )

    # 2. the stop
    stop = fig.get("stop") or {}
    parts = stop.get("parts") or []
    names = [q.get("name") for q in parts]
    down = int(src["downtime_us"]) / 1000.0
    check(
        "%s: the stop has the parts copy, ready, confirm" % name, names == ["copy", "ready", "confirm"], names
    )
    check(
        "%s: stop parts as dt_copy_us, dt_ready_us, dt_confirm_us" % name,
        len(parts) == 3
        and all(
            close(q.get("ms"), int(src[k]) / 1000.0)
            for q, k in zip(parts, ("dt_copy_us", "dt_ready_us", "dt_confirm_us"))
        ),
        str([q.get("ms") for q in parts]),
    )
    total = sum(q.get("ms") or 0.0 for q in parts)
    check(
        "%s: stop parts sum to the achieved downtime within 1 ms" % name,
        abs(total - down) <= 1.0,
        "%.3f vs %.3f ms" % (total, down),
    )
    ok = (
        len(parts) == 3
        and all(q.get("start_s") is not None and q["start_s"] < q["end_s"] for q in parts)
        and all(close(parts[i]["end_s"], parts[i + 1]["start_s"]) for i in range(2))
        and close(stop.get("start_s"), parts[0]["start_s"])
        and close(stop.get("end_s"), parts[-1]["end_s"])
        and bool(spans)
        and spans[-1][1] is not None
        and parts[0]["start_s"] >= spans[-1][1]
    )
    check("%s: stop span placed after the last round, parts contiguous" % name, ok, json.dumps(parts))

    # 3. the three downtimes
    dts = fig.get("downtimes_ms") or {}
    check(
        "%s: target, predicted, achieved = MIGSTAT target_ms, predicted_us, downtime_us" % name,
        close(dts.get("target"), float(src["target_ms"]))
        and close(dts.get("predicted"), int(src["predicted_us"]) / 1000.0)
        and close(dts.get("achieved"), down),
        str(dts),
    )
    check(
        "%s: destination downtime = its MIGSTAT downtime_us" % name,
        close(dts.get("destination"), int(dst["downtime_us"]) / 1000.0),
        str(dts.get("destination")),
    )

    # 4. the guest-seen gap
    gg = fig.get("guest_gap") or {}
    gap = (x["first_b"][1] - x["last_a"][1]) / 1000.0
    check(
        "%s: heartbeat cutover seq %d -> %d" % (name, x["last_a"][0], x["first_b"][0]),
        fig.get("cutover_seq") == [x["last_a"][0], x["first_b"][0]],
        str(fig.get("cutover_seq")),
    )
    check(
        "%s: guest-seen gap = t_us(first on B) - t_us(last on A) - nominal %g ms" % (name, x["hb_ms"]),
        close(gg.get("gap_ms"), gap, 1e-3)
        and close(gg.get("nominal_ms"), x["hb_ms"])
        and close(gg.get("value_ms"), gap - x["hb_ms"], 1e-3),
        str(gg),
    )
    check(
        "%s: guest-seen gap has its error (lower <= value <= upper = gap, err +/-)" % name,
        gg.get("lower_ms") is not None
        and gg.get("err_minus_ms") is not None
        and gg.get("err_plus_ms") is not None
        and gg["lower_ms"] <= gg["value_ms"] <= gg["upper_ms"]
        and close(gg["upper_ms"], gap, 1e-3)
        and close(gg["value_ms"] - gg["err_minus_ms"], gg["lower_ms"], 1e-3)
        and close(gg["value_ms"] + gg["err_plus_ms"], gg["upper_ms"], 1e-3),
        str(gg),
    )
    hg = fig.get("host_gap")
    check(
        "%s: host-clock gap present (both logs on one clock) with its bounds" % name,
        bool(hg) and hg["lower_ms"] <= hg["value_ms"] <= hg["upper_ms"] and hg["from_s"] < hg["to_s"],
        str(hg),
    )

    # 5. the verdict and the old outputs
    try:
        with open(prefix + ".txt") as f:
            txt = f.read().splitlines()
    except OSError:
        txt = []
    head = txt[:3]
    l1 = head[0] if head else ""
    check(
        "%s: report starts with the three-line verdict (ACHIEVED, GUEST-SEEN, AGREE)" % name,
        [h.split(" ", 1)[0] for h in head] == ["ACHIEVED", "GUEST-SEEN", "AGREE"],
        str(head),
    )
    check(
        "%s: verdict line 1 gives achieved %.1f, predicted %.1f, target %s ms"
        % (name, down, int(src["predicted_us"]) / 1000.0, src["target_ms"]),
        ("downtime %.1f ms" % down) in l1
        and ("predicted %.1f ms" % (int(src["predicted_us"]) / 1000.0)) in l1
        and ("target %s ms" % src["target_ms"]) in l1,
        l1,
    )
    check(
        "%s: verdict line 2 gives the guest-seen bound, line 3 yes or NO" % name,
        len(head) == 3
        and ("bound %.1f .. %.1f ms" % (gg.get("lower_ms", -1), gap)) in head[1]
        and re.match(r"AGREE +(yes|NO)\b", head[2]) is not None,
        str(head[1:]),
    )
    check("%s: the JSON carries the same verdict" % name, fig.get("verdict") == head, str(fig.get("verdict")))
    try:
        with open(prefix + ".csv") as f:
            csv_head = f.readline().strip()
    except OSError:
        csv_head = ""
    check(
        "%s: CSV header unchanged" % name, csv_head == "seq,host_time_s,guest_t_us,side,interval_ms", csv_head
    )

    # 6. the figure
    if have_gnuplot:
        try:
            with open(prefix + ".png", "rb") as f:
                png_ok = f.read(8) == b"\x89PNG\r\n\x1a\n" and os.path.getsize(prefix + ".png") > 5000
        except OSError:
            png_ok = False
        check("%s: PNG written" % name, png_ok)
        try:
            root = xml.dom.minidom.parse(prefix + ".svg").documentElement
            svg_ok = root.tagName == "svg" and os.path.getsize(prefix + ".svg") > 5000
        except Exception as e:  # any parse error fails the check
            svg_ok = False
            print("      svg: %s" % e)
        check("%s: SVG written beside the PNG" % name, svg_ok)
        check("%s: gnuplot script written" % name, os.path.exists(prefix + "-figure.gp"))
        # the stop's narrow parts are labelled above the row, never two on one line
        # (copy and confirm, a wide ready between them, collided at one height)
        try:
            with open(prefix + "-figure.gp") as f:
                gp = f.read()
        except OSError:
            gp = ""
        above = re.findall(r'set label "(copy|ready|confirm) [^"]*" at [-0-9.e]+, ([0-9.]+) center', gp)
        ys = [y for _, y in above]
        check(
            "%s: the stop's narrow labels each on their own line" % name,
            len(ys) == len(set(ys)),
            str(above),
        )
    else:
        print("SKIP  %s: PNG/SVG checks (gnuplot not installed)" % name)


def check_no_gnuplot(tools, work):
    d = os.path.join(work, "nognu")
    os.makedirs(d)
    fx = FIXTURES[0]
    empty = os.path.join(d, "bin")
    os.makedirs(empty)
    prefix = os.path.join(d, "cutover")
    env = dict(os.environ, PATH=empty)
    p = run(
        tools,
        [os.path.join(fx, "a.serial.times"), os.path.join(fx, "b.serial.times"), "--out", prefix],
        env=env,
    )
    have = [os.path.exists(prefix + e) for e in (".txt", ".csv", "-figure.json", "-figure.gp")]
    check(
        "without gnuplot: status 2, text, CSV, data and script written, no PNG",
        p.returncode == 2 and all(have) and not os.path.exists(prefix + ".png"),
        "status %d, files %s" % (p.returncode, have),
    )
    try:
        with open(prefix + ".txt") as f:
            txt = f.read()
    except OSError:
        txt = ""
    check(
        "without gnuplot: a clear note in the report and on stderr",
        "figure: NOT drawn: gnuplot not found" in txt and "gnuplot not found" in p.stderr,
        p.stderr.strip()[-200:],
    )


def check_untimed(tools, work):
    d = os.path.join(work, "untimed")
    os.makedirs(d)
    fx = FIXTURES[0]
    for side in ("a", "b"):
        # the plain log: the same lines without their host times
        with open(os.path.join(fx, side + ".serial.times")) as f, open(
            os.path.join(d, side + ".serial"), "w"
        ) as g:
            for line in f:
                if not line.startswith("#") and "\t" in line:
                    g.write(line.split("\t", 1)[1])
    prefix = os.path.join(d, "cutover")
    p = run(
        tools,
        [os.path.join(d, "a.serial"), os.path.join(d, "b.serial"), "--untimed", "--no-plot", "--out", prefix],
    )
    try:
        with open(prefix + "-figure.json") as f:
            fig = json.load(f)
    except (OSError, ValueError):
        fig = {}
    x = expected(fx)
    rounds = fig.get("rounds") or []
    check(
        "--untimed --no-plot: status 0, rounds and downtimes without positions, no figure",
        p.returncode == 0
        and len(rounds) == x["rounds"]
        and all(rd["start_s"] is None for rd in rounds)
        and close((fig.get("downtimes_ms") or {}).get("achieved"), int(x["src"]["downtime_us"]) / 1000.0)
        and not os.path.exists(prefix + ".png"),
        "status %d: %s" % (p.returncode, p.stderr.strip()[-200:]),
    )


def check_cut_lists(tools):
    sys.path.insert(0, tools)
    try:
        from hvtools.cutover import migstat_round_lists
    finally:
        sys.path.pop(0)
    for fx in FIXTURES:
        x = expected(fx)
        line = x["src_line"]
        lists, cut = migstat_round_lists(line, x["src"])
        last = line.split()[-1]
        key, raw = last.split("=", 1) if "=" in last else (None, "")
        n_raw = len([v for v in raw.split(",") if v])
        ok = cut == (len(line) in CUT) and (
            not cut or key is None or len(lists[key]) == max(0, len(raw.split(",")) - 1)
        )
        check(
            "%s: MIGSTAT line of %d characters: cut=%s, the cut element of %s (%r) dropped"
            % (os.path.basename(fx), len(line), cut, key, raw),
            ok,
            "%s -> %s (%d raw)" % (key, lists.get(key), n_raw),
        )
        # the destination's line is whole: every list keeps all its values
        dlists, dcut = migstat_round_lists(x["dst_line"], x["dst"])
        n = min(x["rounds"], 32)
        check(
            "%s: whole MIGSTAT line (destination, %d characters): not cut, all %d values kept"
            % (os.path.basename(fx), len(x["dst_line"]), n),
            not dcut and all(len(dlists[k]) == n for k in ("round_pages", "round_bytes", "round_ns")),
            str(dlists),
        )


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument(
        "--logs", action="append", default=[], help="another DIR with a.serial.times, b.serial.times"
    )
    ap.add_argument("--tools", default=os.path.join(TOP, "tools"), help="the tools/ directory to test")
    args = ap.parse_args()
    tools = os.path.abspath(args.tools)
    work = tempfile.mkdtemp(prefix="cutover-figure-")
    try:
        for fx in FIXTURES:
            check_pair(os.path.basename(fx), fx, tools, work)
        for i, d in enumerate(args.logs):
            if all(os.path.exists(os.path.join(d, f)) for f in ("a.serial.times", "b.serial.times")):
                check_pair("logs%d-%s" % (i, os.path.basename(os.path.abspath(d))), d, tools, work)
            else:
                check(
                    "--logs %s: a.serial.times and b.serial.times there" % d,
                    False,
                )
        check_no_gnuplot(tools, work)
        check_untimed(tools, work)
        check_cut_lists(tools)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return finish()


if __name__ == "__main__":
    sys.exit(main())
