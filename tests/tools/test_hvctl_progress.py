#!/usr/bin/env python3
"""Hosted test of the progress hvctl shows while it follows a migration (no emulator,
a few seconds): tools/hvctl migrate against a stand-in console that replays a recorded
migration (tests/tools/fakehv.py, tests/tools/fixtures/hvctl-json/), its stdout once on
a pseudo-terminal and once on a pipe.

  python3 tests/tools/test_hvctl_progress.py [--tools DIR]

p1. On a terminal (os.openpty, 80 columns): the status line is redrawn in place, CR
    and ESC [K (clear to the end of the line) before each drawing, several drawings
    on one line; no drawing is wider than the terminal less one column; what it shows
    last is the last progress line's round and state; the round ends and state
    changes are lines of their own above it; the summary (downtime, total, rounds,
    pages, encryption) and the MIGSTAT line follow; exit status 0.
p2. Into a pipe: no CR and no escape sequence at all; one line per event: every
    `[hv] migrate:` line of the migration once, one `hvctl: round R done` line per
    MIGROUND line, one `hvctl: state` line per state change; the summary and the
    MIGSTAT line (what tests/system/test_demo.py looks for); exit status 0.
p3. A failed migration (handshake) on a terminal: the status line ends, the summary
    says the result, exit status 1.
p4. The status line's text (hvtools.progress.progress_text) shows the round, MiB sent
    / MiB of the guest and the percentage, the bandwidth, the dirty rate, the
    predicted / target downtime and the elapsed time, from the event's numbers.
p5. On a 40-column terminal every drawing of the status line is cut to 39 columns.

--tools DIR runs another copy of tools/ (to show that the test fails on a broken one).
Prints PASS/FAIL lines and `N passed, N failed`; exit status 0 only if all passed.
"""
import argparse
import fcntl
import os
import re
import select
import struct
import subprocess
import sys
import termios
import time

from toolcheck import check, finish, hvctl_argv  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
FIX = os.path.join(HERE, "fixtures", "hvctl-json")
ESC = re.compile(r"\x1b")
COLS = 80


def on_pty(argv, timeout=60):
    """Runs argv with stdout on a pseudo-terminal of COLS columns; (status, text)."""
    master, slave = os.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, COLS, 0, 0))
    env = dict(os.environ)
    env.pop("COLUMNS", None)
    p = subprocess.Popen(argv, stdout=slave, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env)
    os.close(slave)
    data = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r, _, _ = select.select([master], [], [], 0.5)
        if r:
            try:
                chunk = os.read(master, 65536)
            except OSError:  # EIO: the slave side is closed
                break
            if not chunk:
                break
            data += chunk
        elif p.poll() is not None:
            break
    os.close(master)
    rc = p.wait(timeout=10)
    p.stderr.close()
    # the pty's line discipline turns LF into CR LF (onlcr): undo it to see what hvctl wrote
    return rc, data.decode("utf-8", "replace").replace("\r\n", "\n")


def piped(argv, timeout=60):
    p = subprocess.run(argv, capture_output=True, text=False, timeout=timeout, stdin=subprocess.DEVNULL)
    return p.returncode, p.stdout.decode("utf-8", "replace")


def recorded(fx, name):
    lines = fx.log_lines(os.path.join(FIX, name))
    i = next(i for i, x in enumerate(lines) if re.match(r"^hv> migrate \d+ \S+$", x))
    text = [x[4:] if x.startswith("hv> ") else x for x in lines[i + 1 :]]
    return lines[i][4:], text


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--tools", default=os.path.join(TOP, "tools"), help="the tools/ to test")
    a = ap.parse_args()
    tools = os.path.abspath(a.tools)
    sys.path.insert(0, tools)
    import fakehv as fx
    from hvtools import progress as pr

    cmd, text = recorded(fx, "migrate-done.serial")
    mig_lines = [x for x in text if x.startswith("[hv] migrate: ")]
    mr = [x for x in text if x.startswith("[hv] MIGROUND ")]
    prog = [x for x in text if re.match(r"^\[hv\] migrate: vm 1 round \d+: ", x)]
    stat = next(x for x in text if x.startswith("[hv] MIGSTAT ") and " role=src " in x)

    hv = fx.FakeHv(
        [os.path.join(FIX, "replies.serial")], [os.path.join(FIX, "migrate-done.serial")], line_delay=0.01
    )
    port = hv.start()
    argv = hvctl_argv(tools, port, "--timeout", "10")
    try:
        rc, out = on_pty(argv + cmd.split())
        rows = out.split("\n")
        draws = [seg for r in rows for seg in r.split("\r\x1b[K")[1:]]
        # lines of their own: round ends, state changes, the console's lines, hvctl's
        kept_re = re.compile(r"^(vm 1: round \d+ done |vm 1: state |\[hv\] |hvctl: )")
        status_draws = [d for d in draws if d and not kept_re.match(d)]
        most = max((r.count("\r\x1b[K") for r in rows), default=0)
        check(
            "p1 terminal: the status line is redrawn in place (CR ESC[K), several times on one line",
            most >= 3 and len(status_draws) >= len(prog) // 2,
            "most drawings on one line %d, %d drawings" % (most, len(status_draws)),
        )
        check(
            "p1 terminal: no status drawing wider than the terminal less one column (%d)" % (COLS - 1),
            status_draws and all(len(d) <= COLS - 1 for d in status_draws),
            max(status_draws, key=len) if status_draws else "no drawings",
        )
        m = re.match(r"^\[hv\] migrate: vm 1 round (\d+): .* state (\S+)$", prog[-1])
        check(
            "p1 terminal: the status line ends showing the last round (%s) and state (%s)" % m.groups(),
            bool(status_draws) and status_draws[-1].startswith("r%s %s " % m.groups()),
            status_draws[-1:],
        )
        kept = [r.rsplit("\r\x1b[K", 1)[-1] for r in rows]
        check(
            "p1 terminal: each round's end and each state change is a line of its own",
            sum(1 for r in kept if re.match(r"^vm 1: round \d+ done \| ", r)) == len(mr)
            and sum(1 for r in kept if r.startswith("vm 1: state ")) == 3,
            [r for r in kept if "done" in r or "state" in r][:4],
        )
        check(
            "p1 terminal: the summary (downtime, total, rounds, pages, encryption), MIGSTAT, exit 0",
            rc == 0
            and "---- summary" in out
            and re.search(
                r"result done: downtime \d+\.\d ms \(predicted .*\), total \d+ ms, 10 rounds, 1605 pages "
                r"\(251 zero\), [\d.]+ MiB sent, encryption on",
                out,
            )
            is not None
            and stat in out,
            "status %s; %r" % (rc, out[-400:]),
        )

        rc, out = piped(argv + cmd.split())
        lines = out.split("\n")
        check("p2 pipe: no CR, no escape sequence", "\r" not in out and not ESC.search(out), repr(out[:200]))
        check(
            "p2 pipe: every `[hv] migrate:` line of the migration once, in order",
            [x for x in lines if x.startswith("[hv] migrate: ")]
            == [x for x in mig_lines if " vm 1" in x or "source" in x],
            [x for x in lines if x.startswith("[hv] migrate: ")][:3],
        )
        check(
            "p2 pipe: one `hvctl: round R done` line per MIGROUND line, one `hvctl: state` line per change",
            [
                int(re.match(r"hvctl: round (\d+) done", x).group(1))
                for x in lines
                if re.match(r"hvctl: round \d+ done", x)
            ]
            == [int(re.search(r" round=(\d+) ", x).group(1)) for x in mr]
            and sum(1 for x in lines if x.startswith("hvctl: state ")) == 3,
        )
        check(
            "p2 pipe: the summary and the source's MIGSTAT line (test_demo's checks), exit 0",
            rc == 0
            and "[hv] migrate: vm 1 round" in out
            and "---- summary" in out
            and re.search(r"\[hv\] MIGSTAT id=\S+ role=src result=done", out) is not None,
            "status %s" % rc,
        )
    finally:
        hv.stop()

    hv = fx.FakeHv(
        [os.path.join(FIX, "replies.serial")], [os.path.join(FIX, "migrate-handshake-failed.serial")]
    )
    port = hv.start()
    argv = hvctl_argv(tools, port, "--timeout", "10")
    try:
        c, _ = recorded(fx, "migrate-handshake-failed.serial")
        rc, out = on_pty(argv + c.split())
        check(
            "p3 a failed migration on a terminal: the status line ended, the result in the summary, exit 1",
            rc == 1 and "result handshake-failed:" in out and out.split("---- summary")[0].endswith("\n"),
            "status %s; %r" % (rc, out[-300:]),
        )
    finally:
        hv.stop()

    ev = pr.MigrationEvents(1, cmd, total_pages=1024, t0=0.0)
    evs = []
    for i, x in enumerate(text):
        evs.extend(ev.feed(x, t=0.1 * i))
    p = [e for e in evs if e["event"] == "progress" and e["round"] == 1][-1]
    s = pr.progress_text(p)
    left = p["hv"]["pages_left"]
    want_sent = (3176448 + round((197 - left) * 3176448 / 1024)) / 2**20  # round 0's bytes/page
    check(
        "p4 the status text: round, MiB sent / guest, %, bandwidth, dirty rate, downtimes, time",
        s.startswith("round 1 precopy | ")
        and ("~%.2f MiB sent / 4.00 MiB guest, %.0f%%" % (want_sent, 100.0 * (1024 - left) / 1024)) in s
        and "| %d KiB/s |" % p["hv"]["bandwidth_kib_s"] in s
        and "dirty %d pages/s" % p["hv"]["dirty_pps"] in s
        and "downtime %d/300 ms" % p["hv"]["predicted_ms"] in s
        and s.endswith("| %.1f s" % (p["total-time"] / 1000.0)),
        s,
    )
    # p5: a narrow terminal (40 columns): every drawing of the status line is cut to fit
    import io

    buf = io.StringIO()
    sink = pr.TtySink(buf, width=40)
    for e in evs:
        sink.event(e)
    sink.close()
    segs = [seg for r in buf.getvalue().split("\n") for seg in r.split("\r\x1b[K")[1:]]
    status = [x for x in segs if x.startswith("r") and not x.startswith("round ")]
    check(
        "p5 a 40-column terminal: every status drawing cut to 39 columns",
        len(status) >= 10 and all(len(x) <= 39 for x in status),
        max(status, key=len) if status else buf.getvalue()[:200],
    )
    return finish()


if __name__ == "__main__":
    sys.exit(main())
