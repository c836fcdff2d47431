"""A stand-in hypervisor console for hosted tests of tools/hvctl: it answers commands
with what a real hypervisor printed (recorded console logs, tests/tools/fixtures/).

    hv = FakeHv(["fixtures/hvctl-json/replies.serial"], streams=["fixtures/.../migrate-done.serial"])
    port = hv.start()                   # 127.0.0.1:port speaks the console protocol
    ... tools/hvctl --connect 127.0.0.1:%d vm list ...
    hv.stop()

Protocol (docs/console.md): a `hv> ` prompt, every typed byte echoed, CR or LF ends
the line, then the reply lines and `ok` / `error: ...`. A command found in a log is
answered with the bytes that followed its echo there (up to the next command's echo:
replies, event lines and guest lines as they came); a command that starts a recorded
stream (`migrate 1 lab-b`) gets the rest of that log, line by line, `line_delay` s
apart (the commands typed inside the recording, e.g. `migrate set`, stay in it as
they were). Anything else: `error: unknown command`.

recorded_replies(path) reads a log as (command, ok, reply_lines, final) tuples, the
way hvtools.console.Console.command collects a reply (no guest or event lines, no
prompts); log_lines(path) gives its cleaned lines.
"""

import os
import re
import socket
import sys
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.dirname(os.path.dirname(HERE))
if not any(os.path.isdir(os.path.join(p, "hvtools")) for p in sys.path if p):
    sys.path.append(os.path.join(TOP, "tools"))  # a test's --tools DIR, put first, wins

from hvtools.console import EVENT_RE, FINAL_RE, GUEST_RE, clean_text, strip_prompts  # noqa: E402

ECHO_RE = re.compile(rb"^hv> ([^\r\n]+?)\r?$")


def raw_lines(path):
    with open(path, "rb") as f:
        return f.read().split(b"\n")


def log_lines(path):
    """The cleaned text of a log's lines (as hvtools.console.Console keeps them)."""
    return [clean_text(r.decode("utf-8", "replace")) for r in raw_lines(path)]


def _echo(raw):
    m = ECHO_RE.match(raw)
    if not m:
        return None
    cmd = m.group(1).decode("latin-1").strip()
    return cmd or None


def recorded_replies(path):
    """[(command, ok, reply_lines, final)] of the commands answered in a log."""
    lines = raw_lines(path)
    out = []
    for i, raw in enumerate(lines):
        cmd = _echo(raw)
        if cmd is None:
            continue
        reply = []
        for r in lines[i + 1 :]:
            if _echo(r) is not None:
                break
            t = strip_prompts(clean_text(r.decode("utf-8", "replace")))
            if GUEST_RE.match(t) or EVENT_RE.match(t) or not t.strip():
                continue
            if FINAL_RE.match(t.strip()):
                out.append((cmd, t.strip() == "ok", reply, t.strip()))
                break
            reply.append(t)
    return out


class FakeHv:
    def __init__(self, reply_logs=(), streams=(), line_delay=0.004):
        self.replies = {}  # command -> raw bytes of its answer (the last one recorded wins)
        self.streams = {}  # command -> [raw lines] of the rest of the log
        self.line_delay = line_delay
        self.received = []  # commands typed, in order
        for path in reply_logs:
            lines = raw_lines(path)
            for i, raw in enumerate(lines):
                cmd = _echo(raw)
                if cmd is None:
                    continue
                seg = []
                for r in lines[i + 1 :]:
                    if _echo(r) is not None:
                        break
                    seg.append(r)
                self.replies.setdefault(cmd, b"\n".join(seg) + b"\n")
        for path in streams:
            lines = raw_lines(path)
            for i, raw in enumerate(lines):
                cmd = _echo(raw)
                if cmd and re.match(r"^migrate \d+ \S+$", cmd):
                    self.streams[cmd] = lines[i + 1 :]
                    break
        self.sock = None
        self.threads = []
        self.stopping = False

    def start(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(8)
        t = threading.Thread(target=self._accept, daemon=True)
        t.start()
        return self.sock.getsockname()[1]

    def stop(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass

    def _accept(self):
        while not self.stopping:
            try:
                c, _ = self.sock.accept()
            except OSError:
                return
            t = threading.Thread(target=self._serve, args=(c,), daemon=True)
            t.start()
            self.threads.append(t)

    def _answer(self, c, cmd):
        self.received.append(cmd)
        if cmd in self.streams:
            for raw in self.streams[cmd]:
                c.sendall(raw + b"\n")
                time.sleep(self.line_delay)
            return
        ans = self.replies.get(cmd)
        if ans is None:
            ans = (
                "error: unknown command '%s' (fake hypervisor: not in the recordings)\r\nhv> " % cmd
            ).encode()
        c.sendall(ans)

    def _serve(self, c):
        try:
            c.sendall(b"hv> ")
            buf = b""
            while not self.stopping:
                data = c.recv(4096)
                if not data:
                    return
                for b in data:
                    ch = bytes([b])
                    if ch in (b"\r", b"\n"):
                        if not buf:
                            continue
                        c.sendall(b"\r\n")
                        self._answer(c, buf.decode("latin-1").strip())
                        buf = b""
                    else:
                        buf += ch
                        c.sendall(ch)
        except OSError:
            pass
        finally:
            c.close()
