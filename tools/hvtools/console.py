"""Client side of the hypervisor's serial console (see docs/console.md).

A Console connects to the machine's COM1: directly over TCP (an emulator's
socket-server serial port, `Console(host, port)`), through hvtools.mux's unix
socket (`Console(mux="/path/sock")`, tools/serial_mux.py), or over a real serial
line (`Console(serial="/dev/ttyUSB0", baud=115200)`, or a pyserial URL such as
`serial="rfc2217://console-server:7001"`; hvtools.serialline). A reader
thread appends every received byte to an optional log file and splits the
stream into lines kept in memory (index, monotonic time, text). With
times_path= it also writes each complete line with its host arrival time
(CLOCK_MONOTONIC) to a timestamped line log (hvtools.lines.read_times), which
tools/cutover.py reads.

Line text is cleaned the way a terminal would show it: CR/LF ends lines, an
embedded CR restarts the line (the text after the last CR wins), ANSI escape
sequences, backspaces and other control bytes are dropped. Leading `hv> `
prompts are kept in `.lines` but ignored by the reply parser.

Typical use:

    con = Console("127.0.0.1", 4555, log_path="serial.log", deadline=30)
    con.wait_for(r"\\[hv\\] console ready", timeout=120, since=0)
    ok, reply = con.command("status", timeout=10)
    m = con.mark()
    con.wait_for(r"\\[vm1\\] HB vm=1 seq=(\\d+)", timeout=10, since=m)
    con.close()

wait_for() semantics: it searches complete lines from index `since` (default:
the console's cursor, which every successful wait_for moves just past the line
it matched, like pexpect's expect consumes its buffer). Pass since=0 to search
everything ever received, or since=con.mark() for "from now on".

command() sends the line with a CR, then collects the reply: the lines after
the echo of the command up to the final `ok` or `error: ...`, skipping guest
(`[vmN] ...`) and event (`[hv] ...`) lines that interleave, prompts and
re-printed partial echoes. Returns (ok, reply_lines) where reply_lines do not
include the final line; the final line is in `con.last_final`. On timeout it
raises ConsoleTimeout (a TimeoutError) whose message includes the log's tail.
"""

import os
import re
import socket
import sys
import threading
import time

from .lines import TIMES_HEADER, times_header
from .proc import append_log, tail_file
from .serialline import (
    DEFAULT_BAUD,
    SerialLine,
    SerialLineError,
    add_line_options,
    line_from_args,
    require_pyserial,
)

__all__ = [
    "Console",
    "ConsoleTimeout",
    "ConsoleError",
    "GUEST_RE",
    "EVENT_RE",
    "FINAL_RE",
    "clean_text",
    "strip_prompts",
    "strip_prompt_tail",
    "is_async_line",
    "times_header",
    "TIMES_HEADER",
]

PROMPT = "hv> "
GUEST_RE = re.compile(r"^\[vm(\d+)\] ?(.*)$")
EVENT_RE = re.compile(r"^\[hv\] ?(.*)$")
FINAL_RE = re.compile(r"^(ok|error:.*)$")
_ANSI_RE = re.compile(r"\x1b(\[[0-9;?]*[ -/]*[@-~]|[@-Z\\-_])")
_CTRL_RE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f]")


class ConsoleError(Exception):
    """Connection problems (cannot connect, connection lost)."""


class ConsoleTimeout(TimeoutError):
    """A wait_for or command ran out of time; str() has the log tail."""


def clean_text(raw):
    """Turn the raw text of one line (no LF) into what a terminal shows."""
    s = _ANSI_RE.sub("", raw)
    # Backspace: delete the previous character (echo of "\b \b" erases).
    if "\b" in s:
        out = []
        for ch in s:
            if ch == "\b":
                if out:
                    out.pop()
            else:
                out.append(ch)
        s = "".join(out)
    if "\r" in s:
        parts = [p for p in s.split("\r") if p != ""]
        s = parts[-1] if parts else ""
    return _CTRL_RE.sub("", s)


def strip_prompts(text):
    """Remove any leading `hv> ` prompts (also a bare trailing `hv>`)."""
    while text.startswith(PROMPT):
        text = text[len(PROMPT) :]
    if text.rstrip() == PROMPT.rstrip():
        return ""
    return text


def strip_prompt_tail(text):
    """strip_prompts() for a line that may begin in the middle of a prompt (`> `,
    `v> `): what a client sees first when it attached while the prompt was being
    printed (a serial line opened at any moment, a mux client that connected then)."""
    for k in range(1, len(PROMPT)):
        if text.startswith(PROMPT[k:]):
            return strip_prompts(text[len(PROMPT) - k :])
    return strip_prompts(text)


def is_async_line(text):
    """True for guest lines and hypervisor event lines (after prompts)."""
    t = strip_prompts(text)
    return bool(GUEST_RE.match(t) or EVENT_RE.match(t))


class Console:
    def __init__(
        self,
        host=None,
        port=None,
        *,
        mux=None,
        serial=None,
        baud=DEFAULT_BAUD,
        log_path=None,
        deadline=30.0,
        retry_interval=0.2,
        echo=None,
        log_mode="ab",
        pace=(8, 0.01),
        times_path=None,
        times_mode="w",
    ):
        """Connect to (host, port) over TCP, to the unix socket `mux`, or open the
        serial line `serial` (a device path or a pyserial URL) at `baud`, 8N1.

        deadline: seconds to keep retrying the connection.
        log_path: file that gets every received byte appended (None: no log).
        times_path: optional timestamped line log (None: none). Its lines are
          `# ...` header lines (see TIMES_HEADER) and then one
          `MONOTONIC_SECONDS<TAB>TEXT` line per complete console line, with
          the host's CLOCK_MONOTONIC at the line's arrival and its cleaned
          text (tools/cutover.py reads it). times_mode "w" starts the file
          afresh, "a" appends (a new header marks each session).
        echo: optional callable(text) called for every complete line (demo).
        pace: (chunk_bytes, pause_s): sends are split into chunks with a pause
          between them, so an emulated 16550 (16-byte FIFO, polled by the
          hypervisor between guest time slices) does not overrun. None: no pacing.
        """
        if mux is None and serial is None and (host is None or port is None):
            raise ValueError("Console needs host and port, mux=PATH or serial=DEVICE|URL")
        self.host, self.port, self.mux = host, port, mux
        self.serial, self.baud = serial, baud
        self.target = mux or serial or "%s:%s" % (host, port)
        self._cond = threading.Condition()
        self.lines = []  # cleaned text of complete lines
        self.times = []  # monotonic arrival time of each line
        self.partial = ""  # cleaned text of the current unfinished line
        self._raw_partial = b""
        self._tail = bytearray()  # last bytes received, for error messages
        self.cursor = 0
        self.closed = False  # connection ended (EOF or close())
        self.eof_reason = None
        self.last_final = None
        self.last_final_index = None  # line index of the last command's final line
        self.pace = pace
        self.echo = echo
        self._log = open(log_path, log_mode) if log_path else None
        self.log_path = log_path
        self.times_path = times_path
        self._tlog = None
        if times_path:
            self._tlog = open(times_path, times_mode, encoding="utf-8", errors="replace")
            self._tlog.write(times_header(self.target))
            self._tlog.flush()
        self._send_lock = threading.Lock()
        self.sock = self._connect(deadline, retry_interval)
        self._reader = threading.Thread(target=self._read_loop, daemon=True, name="hvconsole-reader")
        self._reader.start()

    # ---- connection -------------------------------------------------------
    def _connect(self, deadline, retry_interval):
        end = time.monotonic() + max(0.0, deadline)
        last_err = None
        if self.serial:
            try:
                require_pyserial()  # no point retrying without it
            except SerialLineError as e:
                raise ConsoleError(str(e))
        while True:
            s = None
            try:
                if self.serial:
                    return SerialLine(self.serial, self.baud)
                if self.mux:
                    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    s.settimeout(2.0)
                    s.connect(self.mux)
                else:
                    s = socket.create_connection((self.host, int(self.port)), timeout=2.0)
                    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(None)
                return s
            except OSError as e:
                last_err = e
                try:
                    if s is not None:
                        s.close()
                except Exception:
                    pass
            if time.monotonic() >= end:
                raise ConsoleError("cannot connect to serial console %s: %s" % (self.target, last_err))
            time.sleep(retry_interval)

    def _read_loop(self):
        reason = "connection closed by peer"
        try:
            while True:
                data = self.sock.recv(65536)
                if not data:
                    break
                self._feed(data)
        except OSError as e:
            reason = "connection error: %s" % e
        with self._cond:
            if not self.closed:
                self.eof_reason = reason
            self.closed = True
            if self._raw_partial:
                self._add_line(self._raw_partial)
                self._raw_partial = b""
            self._cond.notify_all()
        if self._log:
            try:
                self._log.flush()
            except Exception:
                pass

    def _feed(self, data):
        append_log(self._log, data)
        with self._cond:
            self._tail += data
            if len(self._tail) > 8192:
                del self._tail[:-4096]
            buf = self._raw_partial + data
            parts = buf.split(b"\n")
            self._raw_partial = parts.pop()
            for raw in parts:
                self._add_line(raw)
            self.partial = clean_text(self._raw_partial.decode("utf-8", "replace"))
            self._cond.notify_all()

    def _add_line(self, raw):
        text = clean_text(raw.decode("utf-8", "replace"))
        now = time.monotonic()
        self.lines.append(text)
        self.times.append(now)
        append_log(self._tlog, "%.6f\t%s\n" % (now, text))
        if self.echo:
            try:
                self.echo(text)
            except Exception:
                pass

    def close(self):
        with self._cond:
            self.closed = True
            if self.eof_reason is None:
                self.eof_reason = "closed by client"
            self._cond.notify_all()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        self._reader.join(timeout=2)
        if self._log:
            try:
                self._log.close()
            except Exception:
                pass
            self._log = None
        if self._tlog:
            with self._cond:
                try:
                    self._tlog.close()
                except Exception:
                    pass
                self._tlog = None

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    # ---- sending ----------------------------------------------------------
    def send_raw(self, data):
        """Send bytes (or str, encoded latin-1) exactly as given."""
        if isinstance(data, str):
            data = data.encode("latin-1")
        with self._send_lock:
            try:
                if not self.pace or len(data) <= self.pace[0]:
                    self.sock.sendall(data)
                else:
                    n = self.pace[0]
                    for i in range(0, len(data), n):
                        if i:
                            time.sleep(self.pace[1])
                        self.sock.sendall(data[i : i + n])
            except OSError as e:
                raise ConsoleError("send to %s failed: %s" % (self.target, e))

    def send_line(self, line, eol="\r"):
        self.send_raw(line.encode("latin-1", "replace") + eol.encode())

    # ---- looking at output ------------------------------------------------
    def mark(self):
        """Index of the next complete line to arrive."""
        with self._cond:
            return len(self.lines)

    def lines_since(self, mark=0, end=None):
        with self._cond:
            return list(self.lines[mark:end])

    def timed_lines_since(self, mark=0):
        with self._cond:
            return list(zip(self.times[mark:], self.lines[mark:]))

    def tail(self, nbytes=2000):
        """The last bytes received, as text (for error messages)."""
        with self._cond:
            t = bytes(self._tail[-nbytes:])
        return t.decode("utf-8", "replace")

    def log_tail(self, nlines=40):
        """The last lines of the log file (or of the in-memory lines)."""
        if self.log_path and os.path.exists(self.log_path):
            return tail_file(self.log_path, nlines, maxbytes=16384)
        with self._cond:
            return "\n".join(self.lines[-nlines:] + ([self.partial] if self.partial else []))

    def _timeout(self, what, timeout):
        if self.closed:
            msg = "console connection ended (%s) while waiting for %s on %s" % (
                self.eof_reason,
                what,
                self.target,
            )
        else:
            msg = "timed out after %.1fs waiting for %s on %s" % (timeout, what, self.target)
        msg += "\n---- serial tail ----\n%s\n---------------------" % self.log_tail()
        return ConsoleTimeout(msg)

    def wait_for(self, regex, timeout=30.0, since=None, partial=False):
        """Wait until a complete line matches `regex` (re.search); return the match.

        since: first line index to search (None: the cursor). The cursor moves
        past the matched line. partial=True also matches the unfinished line
        (e.g. the prompt); then the cursor is left unchanged.
        Raises ConsoleTimeout (includes the serial tail) on timeout, also early
        when the connection ended and nothing can match any more.
        """
        idx, m = self.wait_for_line(regex, timeout, since, partial)
        return m

    def wait_for_line(self, regex, timeout=30.0, since=None, partial=False):
        """Like wait_for but returns (line_index, match); index -1 for partial."""
        rx = re.compile(regex) if isinstance(regex, str) else regex
        end = time.monotonic() + timeout
        with self._cond:
            i = self.cursor if since is None else since
            while True:
                while i < len(self.lines):
                    m = rx.search(self.lines[i])
                    if m:
                        self.cursor = i + 1
                        return i, m
                    i += 1
                if partial:
                    m = rx.search(self.partial)
                    if m:
                        return -1, m
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    break
                self._cond.wait(min(left, 0.5))
        raise self._timeout("/%s/" % rx.pattern, timeout)

    def find_all(self, regex, since=0, end=None):
        """All (index, match) of complete lines from `since` matching regex."""
        rx = re.compile(regex) if isinstance(regex, str) else regex
        out = []
        with self._cond:
            for i in range(since, len(self.lines) if end is None else end):
                m = rx.search(self.lines[i])
                if m:
                    out.append((i, m))
        return out

    def wait_quiet(self, quiet=0.5, timeout=10.0, ignore_async=True):
        """Wait until no complete line other than guest/event lines and bare
        prompts arrived for `quiet` seconds (e.g. after sending garbage, to let
        all its replies come). Returns True if it got quiet within timeout."""
        end = time.monotonic() + timeout
        with self._cond:
            seen = len(self.lines)
            last_change = time.monotonic()
            while time.monotonic() < end:
                self._cond.wait(0.05)
                n = len(self.lines)
                if n != seen:
                    new = self.lines[seen:n]
                    seen = n
                    if not ignore_async or any(
                        not is_async_line(x) and strip_prompts(x).strip() for x in new
                    ):
                        last_change = time.monotonic()
                if time.monotonic() - last_change >= quiet:
                    return True
        return False

    # ---- commands ---------------------------------------------------------
    def command(self, line, timeout=15.0, eol="\r", expect_echo=True):
        """Send one console command; return (ok, reply_lines).

        reply_lines: the reply lines before the final `ok`/`error: ...` line,
        without guest/event lines, prompts and echoes. The final line is kept
        in self.last_final (for an error, reply_lines does not include it).
        expect_echo: ignore `ok`/`error:` lines that come before the echo of
        this command (stale replies of someone else's command when sharing a
        mux). Turn it off for lines the console will not echo verbatim (control
        bytes, overlong lines).
        Raises ConsoleTimeout if no final line comes in time.
        """
        with self._cond:
            start = len(self.lines)
        self.send_line(line, eol)
        ok, reply, final = self._collect_reply(line, start, timeout, expect_echo)
        self.last_final = final
        return ok, reply

    def _is_echo_fragment(self, text, cmd):
        return text == "" or cmd.startswith(text)

    def _collect_reply(self, cmd, start, timeout, expect_echo):
        end = time.monotonic() + timeout
        cmd_clean = clean_text(cmd)
        echo_seen = not expect_echo
        reply = []
        i = start
        with self._cond:
            while True:
                while i < len(self.lines):
                    raw = self.lines[i]
                    i += 1
                    t = strip_prompts(raw)
                    if GUEST_RE.match(t) or EVENT_RE.match(t):
                        continue
                    if not echo_seen:
                        if (
                            t == cmd_clean
                            or t.strip() == cmd_clean.strip()
                            or strip_prompt_tail(t) == cmd_clean
                            or (len(t) >= 64 and cmd_clean.startswith(t))
                        ):
                            echo_seen = True
                        # anything else before the echo: stale output or a
                        # re-printed partial echo; skip it
                        continue
                    if FINAL_RE.match(t.strip()):
                        final = t.strip()
                        self.last_final_index = i - 1
                        return final == "ok", reply, final
                    if not reply and self._is_echo_fragment(t, cmd_clean):
                        # re-printed partial echo / blank line right after echo
                        continue
                    reply.append(t)
                left = end - time.monotonic()
                if left <= 0 or self.closed:
                    break
                self._cond.wait(min(left, 0.5))
        what = "the reply to %r" % cmd
        if expect_echo and not echo_seen:
            what += " (its echo was never seen)"
        raise self._timeout(what, timeout)


def main(argv=None):
    import argparse

    ap = argparse.ArgumentParser(
        description="Interactive-ish client for the hypervisor console: "
        "prints the console's output and sends stdin lines."
    )
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--connect", metavar="HOST:PORT")
    g.add_argument("--mux", metavar="SOCKPATH")
    add_line_options(ap, g)
    ap.add_argument("--log", help="append received bytes to this file")
    ap.add_argument(
        "--times",
        metavar="FILE",
        help="write a timestamped line log (for tools/cutover.py; " "convention: LOG.times)",
    )
    args = ap.parse_args(argv)
    serial = line_from_args(ap, args)
    kw = dict(log_path=args.log, echo=lambda t: print(t, flush=True), times_path=args.times)
    try:
        if args.connect:
            host, _, port = args.connect.rpartition(":")
            con = Console(host or "127.0.0.1", int(port), **kw)
        elif serial:
            con = Console(serial=serial, baud=args.baud, deadline=5.0, **kw)
        else:
            con = Console(mux=args.mux, **kw)
    except ConsoleError as e:
        print("hvconsole: %s" % e, file=sys.stderr)
        return 2
    try:
        for line in sys.stdin:
            con.send_line(line.rstrip("\r\n"))
        while not con.closed:
            time.sleep(0.5)
    except KeyboardInterrupt:
        pass
    finally:
        con.close()
    return 0
