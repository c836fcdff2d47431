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
or the .times files themselves. Writes PREFIX.txt (the report, also printed; its
first three lines are the verdict: achieved downtime against prediction and
target, the guest-seen bound, whether the two agree), PREFIX.csv
(seq,host_time_s,guest_t_us,side,interval_ms), PREFIX-figure.json (the data the
figure is drawn from: pre-copy rounds and the stop with its copy/ready/confirm
parts on the host time axis, target/predicted/achieved downtime, the guest-seen
gap with its error), and the figure, drawn by gnuplot: PREFIX.png, PREFIX.svg and
its script PREFIX-figure.gp. Exit status 0 when the report was written and the
heartbeat sequence is unbroken, 1 when the sequence check fails, 2 when the logs
hold no complete migration, the timestamps are missing, or gnuplot is missing or
fails (the text, CSV and JSON are written all the same; --no-plot skips the
figure).
"""

import os
import shutil
import sys

from hvtools.cli import doc_parser
from hvtools.cutover import (
    CutoverError,
    Log,
    analyse,
    figure_data,
    plot,
    report_text,
    write_csv,
    write_figure_data,
)


def main(argv=None):
    ap = doc_parser("cutover.py", __doc__)
    ap.add_argument("source_log", help="the source's (A's) serial log or its .times file")
    ap.add_argument("dest_log", help="the destination's (B's) serial log or its .times file")
    ap.add_argument(
        "--out",
        metavar="PREFIX",
        default=None,
        help="write PREFIX.txt, PREFIX.csv, PREFIX-figure.json, PREFIX.png, PREFIX.svg, PREFIX-figure.gp "
        "(default: cutover next to the source log)",
    )
    ap.add_argument(
        "--hb-ms",
        type=float,
        default=None,
        help="the guest's nominal heartbeat interval (default: inferred from t_us)",
    )
    ap.add_argument(
        "--window",
        type=int,
        default=20,
        help="heartbeats each side of the cutover for the steady-state figures and the plot",
    )
    ap.add_argument(
        "--same-clock",
        choices=["auto", "yes", "no"],
        default="auto",
        help="are both logs on one host clock? auto: when their headers name the " "same clock and boot_id",
    )
    ap.add_argument(
        "--untimed", action="store_true", help="accept logs without .times (no host-time measurement)"
    )
    ap.add_argument("--no-plot", action="store_true", help="do not draw the figure (PNG, SVG, its script)")
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
        svg, js, gp = prefix + ".svg", prefix + "-figure.json", prefix + "-figure.gp"
        write_csv(r, csv)
        # without gnuplot the script is still written (to draw the figure elsewhere)
        figs = [] if args.no_plot else [png, svg, gp] if shutil.which("gnuplot") else [gp]
        fig = figure_data(r, a, b)
        text = report_text(r, a, b, [txt, csv, js] + figs, fig)
        write_figure_data(fig, js)
        plot_error = None
        if not args.no_plot:
            try:
                plot(fig, png, svg, gp)
            except CutoverError as e:
                # the report and the data stand without the picture
                plot_error = str(e)
                text += "figure: NOT drawn: %s\n" % plot_error
        with open(txt, "w") as f:
            f.write(text)
    except CutoverError as e:
        print("cutover: %s" % e, file=sys.stderr)
        return 2
    except OSError as e:
        print("cutover: %s" % e, file=sys.stderr)
        return 2
    sys.stdout.write(text)
    if plot_error:
        print("cutover: %s" % plot_error, file=sys.stderr)
        return 2
    return 0 if r["seq_ok"] else 1


if __name__ == "__main__":
    sys.exit(main())
