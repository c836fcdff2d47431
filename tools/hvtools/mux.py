"""Share one serial console connection among several clients (tools/serial_mux.py).

serial_mux connects to an instance's TCP serial port (an emulator's
socket-server COM1) or opens a real serial line (--serial /dev/ttyUSB0, or
--serial-url rfc2217://HOST:PORT or socket://HOST:PORT for a console server;
--baud, default 115200, 8N1, no flow control), appends everything it receives
to a log file, and serves a unix socket. Every client of the unix socket gets a
copy of the console output from the moment it connected, and what it sends goes
to the serial line. Clients' lines are sent one at a time: after a line (ended by CR, LF or
CRLF) the mux waits for the console's final reply line (`ok` or `error: ...`,
see docs/console.md) or --reply-timeout before it sends the next client's
line, so short-lived `hvctl --mux SOCK` calls never interleave. A Ctrl-] (0x1d,
which ends `vm console`) is sent at once, like a line that needs no reply. Other
bytes a client leaves without a line end are sent when it disconnects.

It runs until the serial connection closes (the emulator exited, the serial
adapter was unplugged, the console server hung up), or until SIGTERM/SIGINT.
Note that Bochs serves its serial socket to exactly one client and dies of
SIGPIPE once that client goes away: stopping the mux while Bochs runs ends
Bochs too. A serial device is held locked while the mux runs (hvctl --serial
on the same device is refused: attach to the mux instead).

Usable as a module: SerialMux(host, port, sock_path, log_path) (or
SerialMux(None, None, sock_path, log_path, serial="/dev/ttyUSB0", baud=115200))
.start() runs it in threads; .wait() / .stop(); .add_stdout_client() copies the
console to stdout.
"""

import argparse
import os
import queue
import re
import signal
import socket
import sys
import threading
import time

from .console import FINAL_RE, clean_text, strip_prompts
from .proc import append_log
from .serialline import DEFAULT_BAUD, SerialLine, add_line_options, line_from_args, require_pyserial


# what `tools/serial_mux.py --help` says (the script's docstring of old)
CLI_DESCRIPTION = (
    __doc__.split("\n\n")[0].replace(" (tools/serial_mux.py)", "") + " " + __doc__.split("\n\n")[1]
)


class _Client:
    def __init__(self, sock, cid):
        self.sock = sock
        self.id = cid
        self.buf = b""
        self.alive = True
        self.lock = threading.Lock()

    def send(self, data):
        if not self.alive:
            return
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self.alive = False


class _StdoutClient(_Client):
    """A client that is this process's stdout."""

    def __init__(self):
        super().__init__(None, 0)

    def send(self, data):
        try:
            sys.stdout.buffer.write(data)
            sys.stdout.buffer.flush()
        except (OSError, ValueError):
            pass


class SerialMux:
    def __init__(
        self,
        host,
        port,
        sock_path,
        log_path=None,
        connect_deadline=60.0,
        reply_timeout=20.0,
        verbose=False,
        serial=None,
        baud=DEFAULT_BAUD,
    ):
        """host, port: the TCP serial port; or serial: a serial device or pyserial
        URL (hvtools.serialline) at baud, host and port then None."""
        self.line, self.baud = serial, baud
        self.host, self.port = host, None if serial else int(port)
        self.target = serial if serial else "%s:%d" % (host, self.port)
        self.sock_path = sock_path
        self.log_path = log_path
        self.connect_deadline = connect_deadline
        self.reply_timeout = reply_timeout
        self.verbose = verbose
        self.clients = []
        self.clients_lock = threading.Lock()
        self.units = queue.Queue()
        self.finals = 0
        self.cond = threading.Condition()
        self.raw_partial = b""
        self.done = threading.Event()
        self.console_ready = threading.Event()  # `[hv] console ready` seen
        self.serial = None
        self.listener = None
        self.log = None
        self.reason = None
        self._next_id = 0
        self._stopping = False

    def _say(self, msg):
        if self.verbose:
            print("serial_mux: %s" % msg, file=sys.stderr, flush=True)

    def connect(self):
        end = time.monotonic() + self.connect_deadline
        last = None
        if self.line:
            require_pyserial()  # missing: no point retrying
        while True:
            try:
                if self.line:
                    self.serial = SerialLine(self.line, self.baud)
                    return
                s = socket.create_connection((self.host, self.port), timeout=2.0)
                s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                s.settimeout(None)
                self.serial = s
                return
            except OSError as e:
                last = e
            if time.monotonic() >= end:
                raise OSError("cannot connect to %s: %s" % (self.target, last))
            time.sleep(0.2)

    def start(self):
        """Connect the serial line, then serve the unix socket (it exists
        only while the serial connection is up)."""
        if self.serial is None:
            self.connect()
        if self.log_path:
            self.log = open(self.log_path, "ab")
        try:
            os.unlink(self.sock_path)
        except FileNotFoundError:
            pass
        ls = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        ls.bind(self.sock_path)
        ls.listen(16)
        self.listener = ls
        for fn, nm in (
            (self._serial_reader, "mux-serial"),
            (self._acceptor, "mux-accept"),
            (self._writer, "mux-writer"),
        ):
            threading.Thread(target=fn, name=nm, daemon=True).start()
        self._say("serving %s for %s" % (self.sock_path, self.target))
        return self

    # serial -> log + clients
    def _serial_reader(self):
        reason = "serial connection closed"
        try:
            while True:
                data = self.serial.recv(65536)
                if not data:
                    break
                append_log(self.log, data)
                with self.clients_lock:
                    cl = list(self.clients)
                for c in cl:
                    c.send(data)
                self._scan_finals(data)
        except OSError as e:
            reason = "serial error: %s" % e
        self.reason = self.reason or reason
        self._say(self.reason)
        self.stop()

    def _scan_finals(self, data):
        buf = self.raw_partial + data
        parts = buf.split(b"\n")
        self.raw_partial = parts.pop()[-4096:]
        n = 0
        for raw in parts:
            t = strip_prompts(clean_text(raw.decode("utf-8", "replace"))).strip()
            if FINAL_RE.match(t):
                n += 1
            elif t == "[hv] console ready":
                self.console_ready.set()
        if n:
            with self.cond:
                self.finals += n
                self.cond.notify_all()

    # clients
    def _acceptor(self):
        while not self._stopping:
            try:
                s, _ = self.listener.accept()
            except OSError:
                break
            self._next_id += 1
            c = _Client(s, self._next_id)
            with self.clients_lock:
                self.clients.append(c)
            threading.Thread(target=self._client_reader, args=(c,), daemon=True).start()

    def _client_reader(self, c):
        try:
            while True:
                data = c.sock.recv(4096)
                if not data:
                    break
                c.buf += data
                while True:
                    m = re.search(rb"\r\n|\r|\n|\x1d", c.buf)
                    if not m:
                        break
                    unit, c.buf = c.buf[: m.end()], c.buf[m.end() :]
                    self.units.put(unit)
        except OSError:
            pass
        if c.buf:
            self.units.put(c.buf)  # raw bytes without a line end: send as is
            c.buf = b""
        c.alive = False
        with self.clients_lock:
            if c in self.clients:
                self.clients.remove(c)
        try:
            c.sock.close()
        except OSError:
            pass

    # one line at a time to the serial port
    def _writer(self):
        while not self._stopping:
            try:
                unit = self.units.get(timeout=0.5)
            except queue.Empty:
                continue
            with self.cond:
                before = self.finals
            try:
                for i in range(0, len(unit), 8):  # pace: 16550 FIFO, see hvconsole
                    if i:
                        time.sleep(0.01)
                    self.serial.sendall(unit[i : i + 8])
            except OSError:
                break
            ends_line = unit.endswith(b"\r") or unit.endswith(b"\n")
            body = unit.rstrip(b"\r\n")
            if not ends_line:
                continue
            wait = self.reply_timeout if body else 0.3
            end = time.monotonic() + wait
            with self.cond:
                while self.finals == before and not self._stopping:
                    left = end - time.monotonic()
                    if left <= 0:
                        break
                    self.cond.wait(min(left, 0.5))

    def stop(self):
        with self.cond:
            if self._stopping:
                return
            self._stopping = True
        for s in (self.listener, self.serial):
            if s is None:
                continue
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            try:
                s.close()
            except OSError:
                pass
        with self.clients_lock:
            cl = list(self.clients)
            self.clients = []
        for c in cl:
            try:
                c.sock.shutdown(socket.SHUT_RDWR)
                c.sock.close()
            except (OSError, AttributeError):
                pass
        try:
            os.unlink(self.sock_path)
        except OSError:
            pass
        if self.log:
            try:
                self.log.close()
            except Exception:
                pass
        self.done.set()
        with self.cond:
            self.cond.notify_all()

    def wait(self, timeout=None):
        return self.done.wait(timeout)

    def add_stdout_client(self):
        """Copy everything the console prints to stdout as well."""
        with self.clients_lock:
            self.clients.append(_StdoutClient())


def main(argv=None):
    ap = argparse.ArgumentParser(
        description=CLI_DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    g = ap.add_mutually_exclusive_group(required=True)
    g.add_argument("--connect", metavar="HOST:PORT", help="the instance's TCP serial port")
    add_line_options(ap, g)
    ap.add_argument(
        "--socket", required=True, metavar="PATH", help="unix socket to serve (for hvctl --mux PATH)"
    )
    ap.add_argument("--log", metavar="FILE", help="append all serial output to FILE")
    ap.add_argument(
        "--deadline",
        type=float,
        default=60.0,
        help="seconds to keep retrying the serial connection or opening the device (default 60)",
    )
    ap.add_argument(
        "--reply-timeout",
        type=float,
        default=20.0,
        help="longest wait for a reply before the next client's line is sent",
    )
    ap.add_argument("--stdout", action="store_true", help="also copy the console output to stdout")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    line = line_from_args(ap, args)
    host = port = None
    if args.connect:
        host, _, port = args.connect.rpartition(":")
        if not port.isdigit():
            ap.error("bad --connect %r (want HOST:PORT)" % args.connect)
        host = host or "127.0.0.1"
    mux = SerialMux(
        host,
        port,
        args.socket,
        args.log,
        connect_deadline=args.deadline,
        reply_timeout=args.reply_timeout,
        verbose=args.verbose,
        serial=line,
        baud=args.baud,
    )

    def on_signal(signum, frame):
        mux.reason = "signal %d" % signum
        mux.stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    try:
        mux.connect()
    except OSError as e:
        print("serial_mux: %s" % e, file=sys.stderr)
        return 2
    if args.stdout:
        mux.add_stdout_client()
    mux.start()
    while not mux.wait(0.5):
        pass
    return 0
