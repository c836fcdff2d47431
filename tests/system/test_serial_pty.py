#!/usr/bin/env python3
"""hvctl over a serial line: a pseudo-terminal stands in for a USB serial adapter.

  python3 tests/system/test_serial_pty.py --iso build/hv.iso --workdir build/systest-serial

Boots one hypervisor under Bochs. tools/serial_mux.py's SerialMux holds Bochs' COM1
(the one client Bochs allows) and serves it on WORKDIR/console.sock, as
tools/launch-bochs does. Beside the hvctl clients of that socket sits a pty pair: its
master end is one more client of the socket, its slave end (/dev/pts/N, raw) is the
serial device hvctl opens with --serial. Bytes the hypervisor prints while nobody has
the device open are dropped, as on a real line. Two TCP bridges stand in for console
servers: a raw one (socket://) and an RFC 2217 one (rfc2217://, pyserial's
PortManager over a recorded stand-in port). Checks:
  s1  boot reaches `[hv] console ready`;
  s2  `status`, `vm list`, `help`, `vm pause 99` (an error), an unknown command:
      the same exit status, reply lines and error line over --serial /dev/pts/N as
      over the socket (uptime and exit counters aside);
  s3  `vm pause 2` over the serial line shows in `vm list` over the socket, and
      `vm resume 2` over the socket in `vm list` over the serial line;
  s4  `migrate-psk` (the key on stdin): `PSK set (32 bytes)` both ways, the key
      never in anything the hypervisor printed, `migrate status` says psk=set;
  s5  hvctl --serial leaves the line 115200 8N1, raw, no XON/XOFF, no RTS/CTS;
      --baud 9600 sets 9600;
  s6  Ctrl-]: `vm console 1` over the serial line, a lone 0x1d detaches;
  s7  socket://127.0.0.1:PORT (raw TCP bridge) and rfc2217://127.0.0.1:PORT answer
      like the socket; the RFC 2217 client asked for 115200 8N1, no flow control;
  s8  tools/serial_mux.py --serial /dev/pts/N shares the line: hvctl --mux on its
      socket answers like the others, Ctrl-] passes through, hvctl --serial on the
      locked device is refused; after the mux exits the device answers again;
  s9  `poweroff` over the serial line ends Bochs with status 0.
Each check prints a PASS or FAIL line; the last line is `N passed, M failed`.
WORKDIR keeps bochs.* (Bochs' files), serial.log (everything COM1 printed),
console.log, pty-console.log and serial-mux.log.
"""

import os
import re
import select
import signal
import socket
import subprocess
import sys
import termios
import threading
import time
import tty

import systest
from hvtools import bochs
from hvtools.mux import SerialMux
from hvtools.serialline import require_pyserial

HVCTL = os.path.join(systest.TOP, "tools", "hvctl")
SERIAL_MUX = os.path.join(systest.TOP, "tools", "serial_mux.py")
PSK = "5e71a1c0ffee" + "0123456789abcdef" * 3 + "4242"  # 64 hex digits, 32 bytes
DETACHED = r"\[hv\] console detached from vm 1\b"


# ---- what stands in for the serial hardware -----------------------------------------
class PtyLine:
    """A pty pair as a serial device: the master end is a client of the console's mux
    socket, the slave end (self.path) is what hvctl opens. The bridge keeps the slave
    open itself (so the master never sees EIO when hvctl closes it) and raw (no echo
    back into the hypervisor, no CR/LF mapping). Output nobody reads is dropped."""

    def __init__(self, mux_sock):
        self.master, self.slave = os.openpty()
        tty.setraw(self.slave)
        self.path = os.ttyname(self.slave)
        os.set_blocking(self.master, False)
        self.up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.up.connect(mux_sock)
        self.dropped = 0
        self.sent_up = bytearray()  # every byte a client of the line sent
        self.stopping = False
        self.threads = [
            threading.Thread(target=fn, daemon=True, name=nm)
            for fn, nm in ((self._down, "pty-down"), (self._up, "pty-up"))
        ]
        for th in self.threads:
            th.start()

    def _down(self):  # console -> line
        while True:
            try:
                data = self.up.recv(65536)
            except OSError:
                break
            if not data:
                break
            try:
                n = os.write(self.master, data)
            except BlockingIOError:
                n = 0
            except OSError:
                break
            self.dropped += len(data) - n

    def _up(self):  # line -> console
        while not self.stopping:
            r, _, _ = select.select([self.master], [], [], 0.2)
            if not r:
                continue
            try:
                data = os.read(self.master, 4096)
            except BlockingIOError:
                continue
            except OSError:
                time.sleep(0.05)
                continue
            self.sent_up += data
            try:
                self.up.sendall(data)
            except OSError:
                break

    def attrs(self):
        return termios.tcgetattr(self.slave)

    def stop(self):
        self.stopping = True
        try:
            self.up.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        for th in self.threads:
            th.join(timeout=2)
        for fd in (self.master, self.slave):
            try:
                os.close(fd)
            except OSError:
                pass
        self.up.close()


class StandInPort:
    """What pyserial's RFC 2217 PortManager sets and reads on the server's port;
    records what the client asked for."""

    def __init__(self):
        self.baudrate, self.bytesize, self.parity, self.stopbits = 9600, 7, "E", 2
        self.xonxoff = self.rtscts = True
        self.dtr = self.rts = self.break_condition = False
        self.cts = self.dsr = True
        self.ri = self.cd = False

    def reset_input_buffer(self):
        pass

    def reset_output_buffer(self):
        pass


class TcpLine:
    """A console server's TCP port onto the line: each accepted connection is one
    more client of the mux socket; raw (socket://) or RFC 2217 (rfc2217://)."""

    def __init__(self, mux_sock, rfc2217=False):
        self.mux_sock, self.rfc2217 = mux_sock, rfc2217
        self.port_state = StandInPort()
        self.ls = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.ls.bind(("127.0.0.1", 0))
        self.ls.listen(4)
        self.port = self.ls.getsockname()[1]
        self.conns = []
        threading.Thread(target=self._accept, daemon=True, name="tcp-line").start()

    def _accept(self):
        while True:
            try:
                c, _ = self.ls.accept()
            except OSError:
                return
            up = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            up.connect(self.mux_sock)
            self.conns += [c, up]
            pm = None
            if self.rfc2217:
                from serial import rfc2217  # (require_pyserial() found it)

                lock = threading.Lock()

                class Writer:
                    def write(self, data):
                        with lock:
                            c.sendall(data)

                pm = rfc2217.PortManager(self.port_state, Writer())
            threading.Thread(target=self._pump, args=(up, c, pm, True), daemon=True).start()
            threading.Thread(target=self._pump, args=(c, up, pm, False), daemon=True).start()

    @staticmethod
    def _pump(src, dst, pm, to_client):
        try:
            while True:
                data = src.recv(65536)
                if not data:
                    break
                if pm is not None:
                    if to_client:
                        data = b"".join(pm.escape(data))
                    else:
                        data = b"".join(pm.filter(data))
                if data:
                    dst.sendall(data)
        except OSError:
            pass
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

    def stop(self):
        for s in [self.ls] + self.conns:
            try:
                s.close()
            except OSError:
                pass


# ---- hvctl ---------------------------------------------------------------------------
def hvctl(t, where, words, stdin=None, timeout=90):
    """Runs tools/hvctl with the test's interpreter; returns (status, stdout lines,
    stderr lines)."""
    cmd = [sys.executable, HVCTL] + where + ["--timeout", "40", "--"] + words
    try:
        p = subprocess.run(cmd, input=stdin, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        t.note("hvctl %s %s: no end in %d s" % (" ".join(where), " ".join(words), timeout))
        return None, [], []
    out, err = p.stdout.splitlines(), p.stderr.splitlines()
    t.note(
        "hvctl %s %s -> %d%s%s"
        % (
            " ".join(where),
            " ".join(words),
            p.returncode,
            "".join("\n       | " + x for x in out[:12]) + ("\n       | ..." if len(out) > 12 else ""),
            "".join("\n       ! " + x for x in err[:4]),
        )
    )
    return p.returncode, out, err


def normalized(lines):
    """Reply lines without what changes from one command to the next: the uptime,
    exit counters, and vm3 (wset mode) parking and running between its rounds."""
    out = []
    for x in lines:
        x = re.sub(r"^uptime: \d+ ms", "uptime: N ms", x)
        x = re.sub(r"\bexits=\d+", "exits=N", x)
        x = re.sub(r"^(vm 3 state=)(running|parked)\b", r"\1running|parked", x)
        out.append(x)
    return out


def final_error(err):
    return next((x for x in err if x.startswith("error:")), None)


def same_as(ref, got):
    """(equal, detail) for two hvctl results."""
    (rc1, out1, err1), (rc2, out2, err2) = ref, got
    if rc1 != rc2:
        return False, "status %s, the socket's %s" % (rc2, rc1)
    if normalized(out1) != normalized(out2):
        diff = [(a, b) for a, b in zip(normalized(out1), normalized(out2)) if a != b][:3]
        return False, "%d vs %d lines; first differences %s" % (len(out2), len(out1), diff)
    if final_error(err1) != final_error(err2):
        return False, "error line %r, the socket's %r" % (final_error(err2), final_error(err1))
    return True, "status %s, %d lines%s" % (
        rc2,
        len(out2),
        ", " + final_error(err2) if final_error(err2) else "",
    )


def vm_state(out, vm):
    for x in out:
        m = re.match(r"vm %d state=(\S+)" % vm, x)
        if m:
            return m.group(1)
    return None


def detach_check(t, con, name):
    """`vm console 1`, then a lone Ctrl-] must detach and the console answer again."""
    try:
        ok, reply = con.command("vm console 1", timeout=40)
        attached = ok and any("attached to vm 1" in x for x in reply)
        mark = con.mark()
        con.send_raw(b"\x1d")
        con.wait_for(DETACHED, timeout=40, since=mark)
        ok2, _ = con.command("status", timeout=40)
        t.check(name, attached and ok2, "; ".join(reply))
    except systest.ConsoleTimeout as e:
        t.check(name, False, str(e)[:300])
        # leave the console as it was for the checks after this one: Ctrl-] detaches
        # if it is still attached, Ctrl-U cancels the line otherwise
        con.send_raw(b"\x1d")
        time.sleep(1)
        con.send_raw(b"\x15")
        time.sleep(1)


# ---- the checks ----------------------------------------------------------------------
def checks(t):
    a = t.args
    wd = os.path.abspath(a.workdir)
    try:
        require_pyserial()
    except OSError as e:
        t.require("pyserial is there", False, str(e))
    for name in ("serial.log", "serial-mux.log"):  # the muxes append
        if os.path.exists(os.path.join(wd, name)):
            os.unlink(os.path.join(wd, name))
    inst = bochs.launch(a.iso, wd, name="bochs", timeout=a.timeout)
    t.machines.append(inst)
    t.defer(inst.stop)
    t.note("bochs pid %d, serial 127.0.0.1:%d, workdir %s" % (inst.pid, inst.serial_port, wd))
    sock = os.path.join(wd, "console.sock")
    mux = SerialMux("127.0.0.1", inst.serial_port, sock, os.path.join(wd, "serial.log"), connect_deadline=60)
    mux.connect()
    mux.start()
    t.defer(mux.stop)
    con = t.console(mux=sock, log_path=os.path.join(wd, "console.log"), log_mode="wb", deadline=10)
    t.require(
        "s1 boot reaches [hv] console ready (COM1 held by serial_mux)",
        mux.console_ready.wait(240) and not mux.done.is_set(),
        mux.reason or "",
    )
    pty = PtyLine(sock)
    t.defer(pty.stop)
    t.note("the serial device: %s (master end a client of %s)" % (pty.path, sock))
    SOCK = ["--mux", sock]
    PTY = ["--serial", pty.path, "--baud", "115200"]

    # s2: the same commands both ways
    ref = {}
    for words in (["status"], ["vm", "list"], ["help"], ["vm", "pause", "99"], ["frobnicate"]):
        name = " ".join(words)
        ref[name] = r = hvctl(t, SOCK, words)
        got = hvctl(t, PTY, words)
        ok, detail = same_as(r, got)
        t.check("s2 `%s` over --serial %s = over the socket" % (name, pty.path), ok, detail)
    rc, out, _ = ref["status"]
    t.check("s2 status answers ok with vmx: available", rc == 0 and "vmx: available" in out, "; ".join(out))
    rc, out, _ = ref["help"]
    t.check("s2 help lists the commands", rc == 0 and len(out) >= 10, "%d lines" % len(out))
    for name in ("vm pause 99", "frobnicate"):
        rc, _, err = ref[name]
        t.check(
            "s2 `%s` fails with its error line" % name, rc == 1 and final_error(err), str(final_error(err))
        )

    # s3: one hypervisor behind both
    rc1, _, _ = hvctl(t, PTY, ["vm", "pause", "2"])
    _, out, _ = hvctl(t, SOCK, ["vm", "list"])
    st1 = vm_state(out, 2)
    rc2, _, _ = hvctl(t, SOCK, ["vm", "resume", "2"])
    _, out, _ = hvctl(t, PTY, ["vm", "list"])
    st2 = vm_state(out, 2)
    t.check(
        "s3 vm pause 2 over the line shows over the socket, vm resume 2 back",
        rc1 == 0 and rc2 == 0 and st1 == "paused" and st2 == "running",
        "after pause: %s, after resume: %s" % (st1, st2),
    )

    # s4: the PSK line the console does not echo
    for where, label in ((SOCK, "the socket"), (PTY, "--serial")):
        rc, out, err = hvctl(t, where, ["migrate-psk"], stdin=PSK + "\n")
        t.check(
            "s4 migrate-psk over %s: PSK set (32 bytes)" % label,
            rc == 0 and out == ["PSK set (32 bytes)"],
            "status %s: %s" % (rc, "; ".join(out + err)),
        )
    rc, out, _ = hvctl(t, PTY, ["migrate", "status"])
    t.check("s4 migrate status over --serial says psk=set", rc == 0 and any("psk=set" in x for x in out))
    time.sleep(0.5)
    with open(os.path.join(wd, "serial.log"), "rb") as f:
        printed = f.read()
    t.check(
        "s4 the key is never in what the hypervisor printed (not echoed)",
        PSK.encode() not in printed and PSK.upper().encode() not in printed and PSK.encode() in pty.sent_up,
        "%d bytes of console output searched; the key went up the line %s"
        % (
            len(printed),
            "once" if pty.sent_up.count(PSK.encode()) == 1 else "%d times" % pty.sent_up.count(PSK.encode()),
        ),
    )

    # s5: how hvctl set the line
    iflag, oflag, cflag, lflag, ispeed, ospeed, cc = pty.attrs()
    problems = []
    if cflag & termios.CSIZE != termios.CS8:
        problems.append("not 8 data bits")
    if cflag & termios.PARENB:
        problems.append("parity on")
    if cflag & termios.CSTOPB:
        problems.append("2 stop bits")
    if cflag & termios.CRTSCTS:
        problems.append("RTS/CTS on")
    if iflag & (termios.IXON | termios.IXOFF):
        problems.append("XON/XOFF on")
    if iflag & (termios.ICRNL | termios.INLCR | termios.IGNCR) or oflag & termios.OPOST:
        problems.append("CR/LF mapped")
    if lflag & (termios.ICANON | termios.ECHO | termios.ISIG):
        problems.append("not raw (canonical, echo or signals)")
    if ospeed != termios.B115200 or ispeed != termios.B115200:
        problems.append("speed %s/%s" % (ispeed, ospeed))
    t.check(
        "s5 hvctl --serial set the line 115200 8N1, raw, no flow control", not problems, ", ".join(problems)
    )
    rc, out, _ = hvctl(t, ["--serial", pty.path, "--baud", "9600"], ["status"])
    speed = pty.attrs()[5]
    t.check(
        "s5 --baud 9600 sets 9600 (a pty carries any speed)",
        rc == 0 and speed == termios.B9600,
        "status %s, speed constant %s (B9600 %s)" % (rc, speed, termios.B9600),
    )

    # s6: Ctrl-] over the line, in this process
    pc = t.console(serial=pty.path, baud=115200, log_path=os.path.join(wd, "pty-console.log"), deadline=10)
    try:
        detach_check(t, pc, "s6 vm console 1 over the line, a lone Ctrl-] detaches")
    finally:
        pc.close()

    # s7: console servers
    raw = TcpLine(sock)
    t.defer(raw.stop)
    r2217 = TcpLine(sock, rfc2217=True)
    t.defer(r2217.stop)
    for line, label in ((raw, "socket"), (r2217, "rfc2217")):
        where = ["--serial-url", "%s://127.0.0.1:%d" % (label, line.port)]
        for words in (["status"], ["vm", "pause", "99"]):
            ok, detail = same_as(ref[" ".join(words)], hvctl(t, where, words))
            t.check("s7 `%s` over %s:// = over the socket" % (" ".join(words), label), ok, detail)
    p = r2217.port_state
    asked = (p.baudrate, p.bytesize, p.parity, p.stopbits, p.xonxoff, p.rtscts)
    t.check(
        "s7 the RFC 2217 client set the server's port to 115200 8N1, no flow control",
        asked == (115200, 8, "N", 1, False, False),
        "baud, bits, parity, stop bits, xonxoff, rtscts = %s" % (asked,),
    )

    # s8: serial_mux owns the device, clients attach to its socket
    sock2 = os.path.join(wd, "serial-mux.sock")
    mlog = open(os.path.join(wd, "serial-mux.stderr"), "wb")
    cmd = [sys.executable, SERIAL_MUX, "--serial", pty.path, "--baud", "115200", "--socket", sock2]
    cmd += ["--log", os.path.join(wd, "serial-mux.log"), "--deadline", "10", "-v"]
    m2 = subprocess.Popen(cmd, stdout=mlog, stderr=subprocess.STDOUT, start_new_session=True)
    mlog.close()
    t.defer(lambda: m2.poll() is None and m2.kill())
    end = time.monotonic() + 20
    while not os.path.exists(sock2) and m2.poll() is None and time.monotonic() < end:
        time.sleep(0.1)
    t.require("s8 serial_mux.py --serial %s serves its socket" % pty.path, os.path.exists(sock2))
    for words in (["status"], ["help"], ["vm", "pause", "99"]):
        ok, detail = same_as(ref[" ".join(words)], hvctl(t, ["--mux", sock2], words))
        t.check("s8 `%s` through serial_mux --serial = over the socket" % " ".join(words), ok, detail)
    rc, _, err = hvctl(t, ["--serial", pty.path, "--connect-timeout", "1"], ["status"])
    t.check(
        "s8 hvctl --serial on the device serial_mux holds is refused",
        rc == 2 and any("lock" in x for x in err),
        "; ".join(err)[:200],
    )
    mc = t.console(mux=sock2, deadline=10)
    try:
        detach_check(t, mc, "s8 a lone Ctrl-] through both muxes detaches vm console")
    finally:
        mc.close()
    m2.send_signal(signal.SIGTERM)
    try:
        rc = m2.wait(15)
    except subprocess.TimeoutExpired:
        rc = None
    t.check("s8 serial_mux ends on SIGTERM", rc == 0, "status %s" % rc)
    rc, out, _ = hvctl(t, PTY, ["status"])
    t.check("s8 after serial_mux let go, hvctl --serial answers again", rc == 0 and "vmx: available" in out)

    # s9
    rc, _, _ = hvctl(t, PTY, ["poweroff"])
    st = inst.wait(timeout=60)
    t.check(
        "s9 poweroff over the line ends Bochs with status 0",
        rc == 0 and st == 0,
        "hvctl %s, Bochs %s" % (rc, st),
    )
    if pty.dropped:
        t.note("%d bytes of console output found no reader on the line and were dropped" % pty.dropped)
    con.close()


if __name__ == "__main__":
    systest.main(checks, __doc__, timeout=600)
