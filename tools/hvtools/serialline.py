"""A real serial line for the console tools: a tty device or a pyserial URL.

The hypervisor's console is COM1, 115200 8N1 with no flow control (docs/console.md;
`console=BAUD` on the boot line changes the speed). On real hardware the host reaches
it through a USB serial adapter or the machine's own port (`/dev/ttyUSB0`,
`/dev/ttyS0`), or through a console server: RFC 2217 (`rfc2217://HOST:PORT`, the
server sets the line as asked) or a raw TCP port (`socket://HOST:PORT`, the line is
set on the server). pyserial (Debian python3-serial, serial.serial_for_url) does all
three.

SerialLine wraps one such line in the calls Console (hvtools.console) and SerialMux
(hvtools.mux) make on their TCP or unix socket: recv(n) (blocks until some bytes
came, b"" once shutdown() or close() was called), sendall(data), shutdown(how),
close(). So the console's line reading, prompts, command/reply matching, the PSK line
the console does not echo and raw control bytes (Ctrl-] ends `vm console`) work the
same on a serial line as on an emulator's socket.

The line is set 8N1, no software (XON/XOFF) and no hardware (RTS/CTS, DTR/DSR) flow
control, raw: every byte passes unchanged both ways, nothing is echoed locally. A
device is locked (flock) while it is open, so a second client gets a clear error
instead of stealing half the bytes; share one line among several clients with
tools/serial_mux.py --serial DEVICE.
"""

import importlib.util
import os
import sys
import threading

__all__ = [
    "SerialLine",
    "SerialLineError",
    "require_pyserial",
    "DEFAULT_BAUD",
    "add_line_options",
    "line_from_args",
    "is_url",
]

DEFAULT_BAUD = 115200  # hv/arch/x86/serial.c: divisor 1, 8N1 (LCR 0x03)
POLL_S = 0.2  # recv() looks at the shutdown flag this often
WRITE_TIMEOUT_S = 10.0  # a line that takes no bytes for this long is broken
# Where Debian's python3-serial lives: pure Python, usable by any Python 3 (a pyenv or
# venv python3 that comes first on PATH does not look there by itself).
DEBIAN_DIST_PACKAGES = "/usr/lib/python3/dist-packages"


class SerialLineError(OSError):
    """pyserial is missing, or the line cannot be opened."""


def is_url(target):
    return "://" in target


def require_pyserial():
    """The pyserial package: the interpreter's own, else Debian's; SerialLineError
    if there is none."""
    try:
        import serial
    except ImportError:
        serial = None
    if serial is None or not hasattr(serial, "serial_for_url"):
        init = os.path.join(DEBIAN_DIST_PACKAGES, "serial", "__init__.py")
        if not os.path.exists(init):
            raise SerialLineError(
                "pyserial is not installed (Debian package python3-serial; scripts/setup.sh installs it)"
            )
        spec = importlib.util.spec_from_file_location(
            "serial", init, submodule_search_locations=[os.path.dirname(init)]
        )
        serial = importlib.util.module_from_spec(spec)
        sys.modules["serial"] = serial
        try:
            spec.loader.exec_module(serial)
        except Exception as e:  # noqa: BLE001 - any failure: say which pyserial
            del sys.modules["serial"]
            raise SerialLineError("cannot load pyserial from %s: %s" % (init, e))
    return serial


class SerialLine:
    """One open serial line (device path or pyserial URL), socket-like."""

    def __init__(self, target, baud=DEFAULT_BAUD):
        serial = require_pyserial()
        self.target = target
        self.baud = int(baud)
        kw = dict(
            baudrate=self.baud,
            bytesize=serial.EIGHTBITS,
            parity=serial.PARITY_NONE,
            stopbits=serial.STOPBITS_ONE,
            xonxoff=False,
            rtscts=False,
            dsrdtr=False,
            timeout=POLL_S,
        )
        if not is_url(target):
            # (the URL handlers do without: TCP has its own timeouts, and
            # rfc2217:// refuses a write timeout)
            kw.update(exclusive=True, write_timeout=WRITE_TIMEOUT_S)
        try:
            self.port = serial.serial_for_url(target, **kw)
        except (ValueError, NotImplementedError) as e:  # a bad URL or setting
            raise SerialLineError("%s: %s" % (target, e))
        except OSError as e:  # serial.SerialException is one
            raise SerialLineError(str(e))
        self._closed = False
        self._rlock = threading.Lock()
        self._wlock = threading.Lock()

    def describe(self):
        return "%s at %d 8N1" % (self.target, self.baud)

    def recv(self, n):
        """At least one byte and at most n; b"" once shut down. Raises OSError
        (serial.SerialException) when the line fails (adapter unplugged, server
        gone)."""
        with self._rlock:
            while not self._closed:
                data = self.port.read(1)
                if not data:
                    continue
                while len(data) < n:
                    waiting = self.port.in_waiting
                    if not waiting:
                        break
                    data += self.port.read(min(waiting, n - len(data)))
                return data
            return b""

    def sendall(self, data):
        if self._closed:
            raise SerialLineError("serial line %s is closed" % self.target)
        with self._wlock:
            n = self.port.write(data)
            if n is not None and n != len(data):
                raise SerialLineError("serial line %s: short write" % self.target)

    def shutdown(self, how=None):
        """Make a blocked recv() return b"" (within POLL_S)."""
        self._closed = True
        cancel = getattr(type(self.port), "cancel_read", None)
        if callable(cancel):
            try:
                self.port.cancel_read()
            except (OSError, AttributeError):
                pass

    def close(self):
        self.shutdown()
        got = self._rlock.acquire(timeout=POLL_S + 1.0)
        try:
            self.port.close()
        except OSError:
            pass
        finally:
            if got:
                self._rlock.release()

    def settimeout(self, t):  # socket compatibility; the line polls on its own
        pass


# ---- the command-line options the tools share -------------------------------------
def add_line_options(ap, group):
    """--serial DEVICE and --serial-url URL (into the mutually exclusive group that
    holds the tool's other connection options) and --baud."""
    group.add_argument(
        "--serial",
        metavar="DEVICE",
        help="serial device of the console (/dev/ttyUSB0, /dev/ttyS0), 8N1, no flow control",
    )
    group.add_argument(
        "--serial-url",
        metavar="URL",
        help="network serial port: rfc2217://HOST:PORT (RFC 2217 console server) or "
        "socket://HOST:PORT (raw TCP)",
    )
    ap.add_argument(
        "--baud",
        type=_baud,
        default=DEFAULT_BAUD,
        help="speed of --serial and rfc2217:// (default %d, the console's; boot option "
        "console=BAUD); a socket:// server keeps its own setting" % DEFAULT_BAUD,
    )


def _baud(text):
    import argparse

    try:
        v = int(text)
    except ValueError:
        v = 0
    if v <= 0:
        raise argparse.ArgumentTypeError("want a positive number of bits per second, not %r" % text)
    return v


def line_from_args(ap, args):
    """The serial target from --serial / --serial-url (None if neither); ap.error() on
    a device given as a URL or a URL without a scheme."""
    if args.serial:
        if is_url(args.serial):
            ap.error("--serial takes a device path; give %s with --serial-url" % args.serial)
        return args.serial
    if args.serial_url:
        if not is_url(args.serial_url):
            ap.error("--serial-url wants SCHEME://..., e.g. rfc2217://HOST:PORT or socket://HOST:PORT")
        return args.serial_url
    return None
