"""What tools/hvctl does, as functions: follow a migration to its end
(follow_migration, summarize_migstat), read and type the pre-shared key
(read_psk, send_psk, enter_psk)."""
import re
import sys
import time

from .console import EVENT_RE, GUEST_RE, ConsoleError, ConsoleTimeout, strip_prompts
from .lines import MIG_LINE_RE, MIG_SRC_EARLY_END_RE, MIG_SRC_END_RE, parse_kv

MIGSTAT_SRC = re.compile(r"^\[hv\] MIGSTAT .*\brole=src\b")
PSK_DONE = re.compile(r"^(PSK set \(\d+ bytes\)|error:.*)$")


def summarize_migstat(line):
    """One human line from a MIGSTAT line (the numbers of the source side)."""
    kv = parse_kv(line)

    def num(k, scale=1.0):
        try:
            return float(kv[k]) / scale
        except (KeyError, ValueError):
            return float("nan")

    return (
        "result %s: downtime %.1f ms (predicted %.1f ms), total %d ms, %s rounds, "
        "%s pages (%s zero), %.2f MiB sent, encryption %s"
        % (
            kv.get("result", "?"),
            num("downtime_us", 1000),
            num("predicted_us", 1000),
            num("total_ms"),
            kv.get("rounds", "?"),
            kv.get("pages", "?"),
            kv.get("zero", "?"),
            num("bytes", 1 << 20),
            {"1": "on", "0": "OFF"}.get(kv.get("enc"), "?"),
        )
    )


def follow_migration(con, line, args):
    """migrate VM PEER: start it and follow its progress to the end."""
    out = sys.stdout
    vm = line.split()[1]
    mark = con.mark()
    try:
        ok, reply = con.command(line, timeout=args.timeout)
    except ConsoleTimeout as e:
        print("hvctl: no reply to %r: %s" % (line, e), file=sys.stderr)
        return 2
    except ConsoleError as e:
        print("hvctl: %s" % e, file=sys.stderr)
        return 2
    for r in reply:
        print(r, file=out)
    if not ok:
        print("hvctl: %r refused: %s" % (line, con.last_final), file=sys.stderr)
        return 1
    print("hvctl: %s: started, following [hv] migrate: lines" % line, file=out, flush=True)
    t0 = time.monotonic()
    end = t0 + args.migrate_timeout
    i = mark
    result = None
    try:
        while True:
            for t in con.lines_since(i):
                i += 1
                t = strip_prompts(t)
                if MIG_LINE_RE.match(t):
                    print(t, file=out, flush=True)
                    m = MIG_SRC_END_RE.match(t)
                    e = MIG_SRC_EARLY_END_RE.match(t)
                    if e and e.group(1) == vm and result is None:
                        result = "FAILED"
                        end = min(end, time.monotonic() + 0.5)
                    if m and result is None:
                        result = m.group(1)
                        end = min(end, time.monotonic() + (0.5 if result == "done" else 2.0))
                elif args.show_async and (GUEST_RE.match(t) or EVENT_RE.match(t)):
                    print(t, file=sys.stderr)
            if time.monotonic() >= end:
                break
            if con.closed and result is not None:
                break
            if con.closed:
                print(
                    "hvctl: console connection ended (%s) while following the migration" % con.eof_reason,
                    file=sys.stderr,
                )
                return 2
            try:
                con.wait_for(r".", timeout=0.3, since=i)
            except ConsoleTimeout:
                pass
    except KeyboardInterrupt:
        print(
            "\nhvctl: stopped following; the migration goes on in the hypervisor "
            "(hvctl migrate-status / migrate-cancel)",
            file=sys.stderr,
        )
        return 130
    if result is None:
        print(
            "hvctl: no end of the migration after %.0f s (hvctl migrate-status shows "
            "where it is)" % args.migrate_timeout,
            file=sys.stderr,
        )
        return 2
    stat = [strip_prompts(t) for t in con.lines_since(mark) if MIGSTAT_SRC.match(strip_prompts(t))]
    print("---- summary (%.1f s on this host's clock) ----" % (time.monotonic() - t0), file=out)
    if stat:
        print(summarize_migstat(stat[-1]), file=out)
        print(stat[-1], file=out)
    elif result == "done":
        print("(no MIGSTAT line from the source)", file=out)
    else:
        print("result: FAILED before the migration engine ran (no MIGSTAT line)", file=out)
    out.flush()
    return 0 if result == "done" else 1


def read_psk():
    """The PSK as hex: from the terminal without echo, else one stdin line."""
    import getpass

    try:
        if sys.stdin.isatty():
            psk = getpass.getpass("PSK (hex, 32-128 digits, not echoed): ")
        else:
            psk = sys.stdin.readline()
    except (EOFError, KeyboardInterrupt):
        print("hvctl: no PSK read", file=sys.stderr)
        return None
    psk = psk.strip()
    if not re.fullmatch(r"[0-9a-fA-F]{32,128}", psk) or len(psk) % 2:
        print("hvctl: the PSK must be an even number of 32 to 128 hex digits", file=sys.stderr)
        return None
    return psk


def send_psk(con, psk, args, mux=None):
    """`migrate psk`, then the key on the next line (the console does not echo
    it, and answers `PSK set (N bytes)` and `ok`, or an `error:` line, like any
    command, so a serial_mux passes it through as one)."""
    try:
        answer = enter_psk(con, psk, timeout=args.timeout)
        if answer is None:
            print("hvctl: migrate psk refused: %s" % con.last_final, file=sys.stderr)
            return 1
    except ConsoleTimeout as e:
        print("hvctl: no answer to the PSK: %s" % str(e).split("\n")[0], file=sys.stderr)
        return 2
    except ConsoleError as e:
        print("hvctl: %s" % e, file=sys.stderr)
        return 2
    print(answer)
    return 0 if answer.startswith("PSK set") else 1


def enter_psk(con, psk, timeout=30.0):
    """Type the PSK: `migrate psk`, then the key on the next line (not echoed).
    Returns the console's answer, `PSK set (N bytes)` or `error: ...`; None when
    `migrate psk` itself was refused (con.last_final says why). Raises
    ConsoleTimeout / ConsoleError."""
    ok, _ = con.command("migrate psk", timeout=timeout)
    if not ok:
        return None
    mark = con.mark()
    con.send_line(psk)
    return con.wait_for(PSK_DONE, timeout=timeout, since=mark).group(0)
