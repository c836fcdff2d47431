"""What tools/hvctl does, as functions: follow a migration to its end
(follow_migration, summarize_migstat; its events: hvtools.progress), print a reply as
JSON (emit_reply; hvtools.jsonout), read and type the pre-shared key (read_psk,
send_psk, enter_psk)."""
import re
import sys
import time

from .console import EVENT_RE, GUEST_RE, ConsoleError, ConsoleTimeout, strip_prompts
from .jsonout import dumps, reply_object
from .lines import MIG_LINE_RE, parse_kv
from .progress import MigrationEvents, sink_for

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


def preflight(con, vm, timeout=15.0):
    """What the progress display needs before the first round ends: the guest's size
    in pages (`vm list` mem= KiB / 4) and the downtime target in ms (`migrate status`
    downtime_target); None for what the console did not say."""
    out = []
    for cmd, pick in (
        ("vm list", lambda o: next((v.get("mem_kib") for v in o.get("vms", []) if v.get("id") == vm), None)),
        ("migrate status", lambda o: (o.get("settings") or {}).get("downtime_target_ms")),
    ):
        try:
            ok, reply = con.command(cmd, timeout=timeout)
        except (ConsoleTimeout, ConsoleError):
            ok, reply = False, []
        v = pick(reply_object(cmd, ok, reply)) if ok else None
        out.append(v if isinstance(v, int) else None)
    kib, target = out
    return (kib // 4 if kib is not None else None), target


def emit_reply(line, ok, reply, final):
    """hvctl --json: the reply object of one command on stdout."""
    print(dumps(reply_object(line, ok, reply, final)), flush=True)


def follow_migration(con, line, args):
    """migrate VM PEER: start it and follow its progress to the end.

    The source's lines become events (hvtools.progress.MigrationEvents) shown by a
    sink: JSON objects with --json, one line kept up to date on a terminal, plain
    lines otherwise; then the summary (or, with --json, the final object)."""
    json_mode = getattr(args, "json", False)
    out = sys.stdout
    vm = int(line.split()[1])
    total_pages, target_ms = preflight(con, vm, args.timeout)
    mark = con.mark()
    t0 = time.monotonic()
    try:
        ok, reply = con.command(line, timeout=args.timeout)
    except (ConsoleTimeout, ConsoleError) as e:
        why = ("no reply to %r: %s" % (line, e)) if isinstance(e, ConsoleTimeout) else str(e)
        print("hvctl: %s" % why, file=sys.stderr)
        if json_mode:
            emit_reply(line, False, [], "hvctl: " + why.split("\n")[0])
        return 2
    if json_mode:
        emit_reply(line, ok, reply, con.last_final)
    else:
        for r in reply:
            print(r, file=out)
    if not ok:
        print("hvctl: %r refused: %s" % (line, con.last_final), file=sys.stderr)
        return 1
    sink = sink_for(out, json_mode)
    sink.message("hvctl: %s: started, following [hv] migrate: lines" % line)
    ev = MigrationEvents(vm, line, total_pages=total_pages, t0=t0, target_ms=target_ms)
    end = t0 + args.migrate_timeout
    i = mark
    ended = False
    try:
        while True:
            for t, text in con.timed_lines_since(i):
                i += 1
                text = strip_prompts(text)
                for e in ev.feed(text, t):
                    sink.event(e)
                if ev.ended and not ended:
                    ended = True
                    end = min(end, time.monotonic() + (0.5 if ev.succeeded else 2.0))
                if (
                    args.show_async
                    and (GUEST_RE.match(text) or EVENT_RE.match(text))
                    and not MIG_LINE_RE.match(text)
                ):
                    print(text, file=sys.stderr)
            if time.monotonic() >= end:
                break
            if con.closed and ended:
                break
            if con.closed:
                why = "console connection ended (%s) while following the migration" % con.eof_reason
                sink.close()
                print("hvctl: " + why, file=sys.stderr)
                if json_mode:
                    sink.event(ev.result(error="hvctl: " + why))
                return 2
            try:
                con.wait_for(r".", timeout=0.3, since=i)
            except ConsoleTimeout:
                pass
    except KeyboardInterrupt:
        sink.close()
        why = (
            "stopped following; the migration goes on in the hypervisor "
            "(hvctl migrate-status / migrate-cancel)"
        )
        print("\nhvctl: " + why, file=sys.stderr)
        if json_mode:
            sink.event(ev.result(error="hvctl: " + why))
        return 130
    sink.close()
    if not ev.ended:
        why = (
            "no end of the migration after %.0f s (hvctl migrate-status shows where it is)"
            % args.migrate_timeout
        )
        print("hvctl: " + why, file=sys.stderr)
        if json_mode:
            sink.event(ev.result(error="hvctl: " + why))
        return 2
    final = ev.result()
    if json_mode:
        sink.event(final)
        return 0 if ev.succeeded else 1
    print("---- summary (%.1f s on this host's clock) ----" % (time.monotonic() - t0), file=out)
    if ev.migstat_line:
        print(summarize_migstat(ev.migstat_line), file=out)
        if final.get("setup-time") is not None:
            print(
                "setup %d ms, %.2f MiB in pre-copy rounds, %.2f MiB after the stop (%s pages)"
                % (
                    final["setup-time"],
                    final["ram"]["precopy-bytes"] / (1 << 20),
                    final["ram"]["downtime-bytes"] / (1 << 20),
                    final["hv"].get("final_pages", "?"),
                ),
                file=out,
            )
        print("[hv] " + ev.migstat_line, file=out)
    elif ev.succeeded:
        print("(no MIGSTAT line from the source)", file=out)
    else:
        print("result: FAILED before the migration engine ran (no MIGSTAT line)", file=out)
    out.flush()
    return 0 if ev.succeeded else 1


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
    command, so a serial_mux passes it through as one). With args.json the
    answer is printed as a reply object (never the key)."""
    json_mode = getattr(args, "json", False)

    def report(ok, lines, final):
        if json_mode:
            emit_reply("migrate psk", ok, lines, final)

    try:
        answer = enter_psk(con, psk, timeout=args.timeout)
        if answer is None:
            print("hvctl: migrate psk refused: %s" % con.last_final, file=sys.stderr)
            report(False, [], con.last_final)
            return 1
    except ConsoleTimeout as e:
        why = "no answer to the PSK: %s" % str(e).split("\n")[0]
        print("hvctl: " + why, file=sys.stderr)
        report(False, [], "hvctl: " + why)
        return 2
    except ConsoleError as e:
        print("hvctl: %s" % e, file=sys.stderr)
        report(False, [], "hvctl: %s" % e)
        return 2
    if json_mode:
        ok = answer.startswith("PSK set")
        report(ok, [answer] if ok else [], answer)
    else:
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
