#!/usr/bin/env python3
"""demo: live-migrate a running guest between two hypervisors and measure the cutover.

Run by `make demo` after the build (make builds; this script builds nothing).
It starts two instances of the hypervisor (A and B) whose e1000 NICs share one
link, boots the migration ISO on both (--guest linux, the default:
build/hv-linux-mig.iso, a Linux 6.1 guest whose workload heartbeats every 250 ms
and rewrites 40 pages/s; --guest test: build/hv-mig.iso, the 32-bit test guest
with the same workload), and then does what a researcher would do from a shell,
through tools/hvctl and one tools/serial_mux.py per instance:

  1. net up on both (192.0.2.1 and 192.0.2.2);
  2. the same pre-shared key on both, 32 fresh random bytes (os.urandom) per
     run, typed with `hvctl migrate-psk` (on stdin; the console does not echo
     it and it is written nowhere);
  3. waits for a few heartbeats of the guest on A (for Linux, sets the downtime
     target to 1000 ms: the emulated link moves ~1.2 MB/s and a booted Linux dirties
     ~300 pages/s, more than 300 ms of stop-and-copy), then
     `hvctl migrate 1 192.0.2.2`, which follows the pre-copy rounds and prints
     the source's summary and MIGSTAT line;
  4. the cutover report of tools/cutover.py (the stop as the guest's
     heartbeats show it and as both hypervisors report it), with a CSV and a
     PNG plot;
  5. the guest alive on B (consecutive heartbeats, memory self-check ok), A
     scrubbed (`vm list`), and both powered off.

Backends (--backend): `bochs` (two Bochs with emulated VT-x; works
everywhere), `kvm` (nested QEMU/KVM on an Intel host with nested VT-x,
checked with tools/launch-nested-kvm --check; only when asked for: it has
not yet run on a VT-x host), `auto` (default: bochs, saying whether nested
KVM looked usable and why not).

Everything goes to --workdir (default build/demo): a.serial / b.serial (all
console output), a.serial.times / b.serial.times (each line with its host
arrival time), cutover.txt / .csv / .png / .svg, cutover-figure.json, link.pcap, relay.log, pids.txt
(every process it started), summary.json, Bochs' files under a/ and b/.
Every process it starts (Bochs, the two muxes, the relay, hvctl calls) runs
in its own process group and is stopped on success, failure, timeout and
Ctrl-C. Exit status 0 when everything held, 1 when a check failed, 2 when
it could not run (missing ISO, backend unavailable), 130 when interrupted.
"""

import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import time

from hvtools.cli import doc_parser
from hvtools import bochs, qemu
from hvtools.console import Console, ConsoleError, ConsoleTimeout, strip_prompts
from hvtools.lines import HB_RE
from hvtools.ports import PortError, free_tcp_port, free_udp_pair

HERE = os.path.dirname(os.path.abspath(__file__))
TOP = os.path.abspath(os.path.join(HERE, ".."))
IP_A, IP_B = "192.0.2.1", "192.0.2.2"
# What the migration ISO's GRUB line says (boot/multiboot2/multiboot2.mk), for the
# UEFI path's hv.cfg: one work guest the link can keep up with.
MIG_CFG = "exit_on_panic=1 vms=work hb_ms=250 write_rate=40"


class Stop(Exception):
    pass


class DemoFailed(Exception):
    pass


def rel(path):
    r = os.path.relpath(path)
    return path if r.startswith("..") else r


def kvm_check():
    """(usable, lines): what tools/launch-nested-kvm --check says."""
    try:
        p = subprocess.run(
            [sys.executable, os.path.join(HERE, "launch-nested-kvm"), "--check"],
            capture_output=True,
            text=True,
            timeout=30,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return False, ["tools/launch-nested-kvm --check could not run: %s" % e]
    lines = [ln for ln in (p.stdout + p.stderr).splitlines() if ln.strip()]
    return p.returncode == 0, lines


class Demo:
    def __init__(self, args):
        self.args = args
        self.wd = os.path.abspath(args.workdir)
        self.procs = []  # (name, Popen) of helper processes (own process groups)
        self.insts = []  # BochsInstance
        self.cons = {}  # side -> Console (the demo's own watcher on the mux)
        self.show = {"A": set(), "B": set()}  # labels of guest lines to print live
        self.show_events = False
        self.pidfile = os.path.join(self.wd, "pids.txt")
        self.summary = {"backend": None, "checks": {}}
        self.failed = []

    # ---- output --------------------------------------------------------
    @staticmethod
    def banner(msg):
        print("\n=== %s" % msg, flush=True)

    @staticmethod
    def say(msg):
        print(msg, flush=True)

    def check(self, name, ok, detail=""):
        self.summary["checks"][name] = bool(ok)
        self.say("%s %s%s" % ("[ok]  " if ok else "[FAIL]", name, (": " + detail) if detail else ""))
        if not ok:
            self.failed.append(name)
        return ok

    def _echo(self, side):
        def f(text):
            t = strip_prompts(text)
            m = re.match(r"^\[vm(\d+)\] ", t)
            if m and m.group(1) in self.show[side]:
                print("  %s | %s" % (side, t), flush=True)
            elif self.show_events and t.startswith("[hv] ") and "MIGSTAT" not in t:
                print("  %s | %s" % (side, t), flush=True)

        return f

    # ---- processes -----------------------------------------------------
    def record_pid(self, name, pid):
        with open(self.pidfile, "a") as f:
            f.write("%s %d\n" % (name, pid))

    def spawn(self, name, argv, **kw):
        p = subprocess.Popen(argv, start_new_session=True, **kw)
        self.procs.append((name, p))
        self.record_pid(name, p.pid)
        return p

    def hvctl(self, side, *words, timeout=30, stdin_text=None, stream=False, show_cmd=None):
        sock = os.path.join(self.wd, side.lower() + ".sock")
        argv = [sys.executable, os.path.join(HERE, "hvctl"), "--mux", sock, "--timeout", str(timeout)] + list(
            words
        )
        self.say("%s$ tools/hvctl --mux %s %s" % (side, rel(sock), show_cmd or " ".join(words)))
        p = self.spawn(
            "hvctl",
            argv,
            stdin=subprocess.PIPE if stdin_text is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        out_lines = []
        if stdin_text is not None and stream:
            try:
                p.stdin.write(stdin_text)
                p.stdin.close()
            except OSError:
                pass
        end = time.monotonic() + timeout + 30
        if stream:
            for line in p.stdout:
                line = line.rstrip("\n")
                out_lines.append(line)
                print("    " + line, flush=True)
                if time.monotonic() > end:
                    break
        else:
            try:
                out, _ = p.communicate(input=stdin_text, timeout=timeout + 30)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                out, _ = p.communicate()
            out_lines = out.splitlines()
            for line in out_lines:
                print("    " + line, flush=True)
        try:
            rc = p.wait(timeout=max(1, end - time.monotonic()))
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            rc = p.wait()
        if rc != 0:
            print("    (hvctl exit status %d)" % rc, flush=True)
        return rc, out_lines

    # ---- backends --------------------------------------------------------
    def choose_backend(self):
        want = self.args.backend
        if want == "bochs":
            return "bochs"
        if want == "kvm" and os.environ.get("HV_DEMO_QEMU_ACCEL") == "tcg":
            self.say("backend kvm with QEMU's TCG: a test of the plumbing; without VT-x no guest can run")
            return "kvm"
        ok, lines = kvm_check()
        if ok and want == "kvm":
            self.say("backend kvm: nested QEMU/KVM (tools/launch-nested-kvm --check passed)")
            return "kvm"
        if ok:
            # Not chosen by itself: the kvm backend has not yet run on a VT-x host.
            self.say(
                "backend auto: nested QEMU/KVM looks usable here, but the kvm backend has not yet "
                "run on a VT-x host; using the Bochs pair (--backend kvm tries it)"
            )
            return "bochs"
        why = ["nested QEMU/KVM is not available here (tools/launch-nested-kvm --check):"] + [
            "  " + ln for ln in lines
        ]
        if want == "kvm":
            print("demo: --backend kvm cannot run:", file=sys.stderr)
            for ln in why:
                print("  " + ln, file=sys.stderr)
            raise DemoFailed("backend kvm unavailable")
        self.say("backend auto: using the Bochs pair; why not nested KVM:")
        for ln in why:
            self.say("  " + ln)
        return "bochs"

    def start_relay(self):
        try:
            pa, pb = free_udp_pair()
        except PortError as e:
            raise DemoFailed(str(e))
        relay_log = open(os.path.join(self.wd, "relay.log"), "w")
        self.spawn(
            "netrelay",
            [
                sys.executable,
                os.path.join(HERE, "netrelay.py"),
                "--port-a",
                str(pa),
                "--port-b",
                str(pb),
                "--pcap",
                os.path.join(self.wd, "link.pcap"),
            ],
            stdin=subprocess.DEVNULL,
            stdout=relay_log,
            stderr=subprocess.STDOUT,
        )
        relay_log.close()
        self.say(
            "link: tools/netrelay.py between UDP %d and %d (capture: %s)"
            % (pa, pb, rel(os.path.join(self.wd, "link.pcap")))
        )
        return pa, pb

    def attach_console(self, side, inst, what):
        sock = os.path.join(self.wd, side.lower() + ".sock")
        log = os.path.join(self.wd, side.lower() + ".serial")
        mux_log = open(os.path.join(self.wd, side.lower() + ".mux.log"), "w")
        self.spawn(
            "serial_mux",
            [
                sys.executable,
                os.path.join(HERE, "serial_mux.py"),
                "--connect",
                "127.0.0.1:%d" % inst.serial_port,
                "--socket",
                sock,
                "--log",
                log,
                "--reply-timeout",
                "3",
            ],
            stdin=subprocess.DEVNULL,
            stdout=mux_log,
            stderr=subprocess.STDOUT,
        )
        mux_log.close()
        self.cons[side] = Console(mux=sock, deadline=60, echo=self._echo(side), times_path=log + ".times")
        self.say("%s: %s pid %d, console %s, log %s" % (side, what, inst.pid, rel(sock), rel(log)))

    def start_kvm_pair(self):
        """Two QEMU/KVM machines with nested VT-x booting the UEFI path (build/esp
        with the migration configuration in hv.cfg), their e1000s on the relay:
        the same Bochs-style UDP ports, so the same capture and the same flow."""
        accel = os.environ.get("HV_DEMO_QEMU_ACCEL", "kvm")  # "tcg": test the plumbing without VT-x
        esp = os.path.join(self.wd, "esp")
        shutil.copytree(self.args.esp, esp, dirs_exist_ok=True)
        with open(os.path.join(esp, "hv.cfg"), "w") as f:
            f.write(MIG_CFG + "\n")
        pa, pb = self.start_relay()
        for side, port, mac in (("A", pa, "52:54:00:00:00:0a"), ("B", pb, "52:54:00:00:00:0b")):
            serial = free_tcp_port()
            net = [
                "-netdev",
                "dgram,id=n0,local.type=inet,local.host=127.0.0.1,local.port=%d,"
                "remote.type=inet,remote.host=127.0.0.1,remote.port=%d" % (port, port + 1),
                "-device",
                "e1000,netdev=n0,mac=%s" % mac,
            ]
            proc = qemu.start_qemu(
                esp,
                os.path.join(self.wd, side.lower()),
                memory=1024,
                serial_port=serial,
                timeout=self.args.timeout + 60,
                extra_args=net,
                accel=accel,
                cpu="host,+vmx" if accel == "kvm" else None,
            )
            inst = qemu.QemuInstance(proc, serial)
            self.insts.append(inst)
            self.record_pid("qemu", inst.pid)
            self.attach_console(side, inst, "QEMU/%s (UEFI boot, e1000 %s)" % (accel, mac))

    def start_bochs_pair(self):
        pa, pb = self.start_relay()
        for side, port, mac in (("A", pa, "52:54:00:00:00:0a"), ("B", pb, "52:54:00:00:00:0b")):
            inst = bochs.launch(
                self.args.iso,
                os.path.join(self.wd, side.lower()),
                name="bochs",
                ips=self.args.ips,
                timeout=self.args.timeout + 60,
                nic={"mac": mac, "ethdev": str(port)},
            )
            self.insts.append(inst)
            self.record_pid("bochs", inst.pid)
            self.attach_console(side, inst, "Bochs (VT-x emulated, e1000 %s)" % mac)

    # ---- the flow ----------------------------------------------------------
    def run(self):
        a = self.args
        self.banner("choosing the backend")
        self.summary["backend"] = self.choose_backend()

        t0 = time.monotonic()
        if self.summary["backend"] == "kvm":
            self.banner("starting two hypervisors, A and B: nested QEMU/KVM, UEFI boot from %s" % rel(a.esp))
            self.start_kvm_pair()
        else:
            self.banner("starting two hypervisors, A and B, booting %s" % rel(a.iso))
            self.start_bochs_pair()
        ca, cb = self.cons["A"], self.cons["B"]
        for side, c in (("A", ca), ("B", cb)):
            c.wait_for(r"\[hv\] console ready", timeout=a.boot_timeout, since=0)
            self.say("%s: console ready after %.1f s" % (side, time.monotonic() - t0))

        self.banner("network: net up on both")
        for side, ip in (("A", IP_A), ("B", IP_B)):
            rc, _ = self.hvctl(side, "net", "up", ip + "/24")
            if rc != 0:
                raise DemoFailed("net up on %s failed" % side)

        self.banner("the same pre-shared key on both (fresh random, typed, not echoed)")
        psk = os.urandom(32).hex()
        fp = hashlib.sha256(bytes.fromhex(psk)).hexdigest()[:16]
        for side in ("A", "B"):
            rc, _ = self.hvctl(
                side, "migrate-psk", stdin_text=psk + "\n", show_cmd="migrate-psk   (key on stdin)"
            )
            if rc != 0:
                raise DemoFailed("setting the PSK on %s failed" % side)
        self.say("(key: 32 bytes from os.urandom, sha256 fingerprint %s; not shown, not stored)" % fp)

        self.banner("the guest runs on A (vm 1): its heartbeats")
        mark_a = ca.mark()
        for ln in [strip_prompts(x) for x in ca.lines_since(0) if strip_prompts(x).startswith("[vm1] HB ")][
            -3:
        ]:
            print("  A | %s" % ln, flush=True)
        self.show["A"].add("1")
        ca.wait_for(r"^\[vm1\] HB vm=1 seq=(\d+)\b", timeout=60, since=mark_a)
        ca.wait_for(r"^\[vm1\] HB vm=1 seq=%d\b" % a.pre_beats, timeout=120, since=0)
        self.show["A"].discard("1")

        if a.downtime_ms:
            rc, _ = self.hvctl("A", "migrate", "set", "downtime_ms", str(a.downtime_ms))
            if rc != 0:
                raise DemoFailed("migrate set downtime_ms on A failed")

        self.banner("live migration: A -> B")
        mark_b = cb.mark()
        rc, out = self.hvctl(
            "A",
            "--migrate-timeout",
            str(a.migrate_timeout),
            "migrate",
            "1",
            IP_B,
            timeout=30,
            stream=True,
            show_cmd="migrate 1 %s" % IP_B,
        )
        self.check("hvctl migrate: source done (exit status 0)", rc == 0, "status %d" % rc)
        if rc != 0:
            raise DemoFailed("the migration did not complete")
        dd = cb.wait_for(r"^\[hv\] migrate: destination (done|FAILED)", timeout=60, since=mark_b)
        self.check("B: destination done", dd.group(1) == "done", dd.group(0))
        newvm = cb.wait_for(r"becomes vm (\d+)", timeout=5, since=mark_b).group(1)
        self.summary["vm_b"] = newvm
        self.say("B: the guest is vm %s there" % newvm)

        self.banner("the guest on B (vm %s): heartbeats continue, memory self-check" % newvm)
        for ln in cb.lines_since(mark_b):
            t = strip_prompts(ln)
            if t.startswith("[vm%s] " % newvm):
                print("  B | %s" % t, flush=True)
        self.show["B"].add(newvm)
        first = cb.wait_for(r"^\[vm%s\] HB vm=1 seq=(\d+)" % newvm, timeout=60, since=mark_b)
        first_seq = int(first.group(1))
        cb.wait_for(
            r"^\[vm%s\] HB vm=1 seq=%d\b" % (newvm, first_seq + a.after_beats - 1), timeout=120, since=mark_b
        )
        mc = cb.wait_for(r"^\[vm%s\] MEMCHECK (ok|FAIL)" % newvm, timeout=120, since=mark_b)
        self.show["B"].discard(newvm)
        hb_a = [
            int(m.group(3))
            for ln in ca.lines_since(0)
            for m in [HB_RE.match(strip_prompts(ln))]
            if m and m.group(1) == "1"
        ]
        hb_b = [
            int(m.group(3))
            for ln in cb.lines_since(mark_b)
            for m in [HB_RE.match(strip_prompts(ln))]
            if m and m.group(1) == newvm
        ]
        seqs = hb_a + hb_b
        self.check("guest alive on B: %d heartbeats there" % len(hb_b), len(hb_b) >= a.after_beats)
        self.check(
            "heartbeat sequence unbroken across A and B",
            seqs == list(range(1, len(seqs) + 1)),
            "A seq 1..%d, B seq %d..%d"
            % (hb_a[-1] if hb_a else 0, hb_b[0] if hb_b else 0, hb_b[-1] if hb_b else 0),
        )
        self.check("memory self-check on B", mc.group(1) == "ok", strip_prompts(mc.group(0)))

        self.banner("cutover report (tools/cutover.py)")
        prefix = os.path.join(self.wd, "cutover")
        self.say(
            "$ tools/cutover.py %s %s --out %s"
            % (rel(os.path.join(self.wd, "a.serial")), rel(os.path.join(self.wd, "b.serial")), rel(prefix))
        )
        p = self.spawn(
            "cutover",
            [
                sys.executable,
                os.path.join(HERE, "cutover.py"),
                os.path.join(self.wd, "a.serial"),
                os.path.join(self.wd, "b.serial"),
                "--out",
                prefix,
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        out, _ = p.communicate(timeout=60)
        for line in out.splitlines():
            print("  " + line)
        self.check(
            "cutover report written (txt, csv, png, svg, figure data)",
            p.returncode == 0 and all(os.path.exists(prefix + ext) for ext in (".txt", ".csv", ".png")),
            "status %d" % p.returncode,
        )

        self.banner("A after the migration: the guest's copy is gone")
        scrub = [
            strip_prompts(ln) for ln in ca.lines_since(0) if "migrated away; memory and state scrubbed" in ln
        ]
        for ln in scrub:
            self.say("  A | " + ln)
        rc, out = self.hvctl("A", "vm", "list")
        v1 = [ln for ln in out if ln.startswith("vm 1 ")]
        self.check(
            "A scrubbed: vm 1 stopped, memory and state scrubbed and verified",
            bool(scrub) and "verified" in scrub[-1] and bool(v1) and "state=stopped" in v1[0],
        )
        self.banner("B's view")
        self.hvctl("B", "vm", "list")
        self.hvctl("B", "migrate-status")

        secret_seen = [
            f
            for f in os.listdir(self.wd)
            if os.path.isfile(os.path.join(self.wd, f))
            and psk.encode() in open(os.path.join(self.wd, f), "rb").read()
        ]
        secret_seen += [s for s, c in self.cons.items() if any(psk in ln for ln in c.lines_since(0))]
        self.check(
            "the PSK appears on no console and in no file of the workdir",
            not secret_seen,
            ", ".join(secret_seen),
        )
        psk = None

        self.banner("power off")
        for side, inst in zip(("A", "B"), self.insts):
            self.hvctl(side, "poweroff", timeout=10)
        for side, inst in zip(("A", "B"), self.insts):
            st = inst.wait(60)
            self.say("%s: %s" % (side, inst.describe_exit()))
            self.check("%s powered off cleanly" % side, st == 0, "status %s" % st)

    def cleanup(self):
        for c in self.cons.values():
            try:
                c.close()
            except Exception:
                pass
        for inst in self.insts:
            if inst.alive():
                self.say("demo: stopping pid %d" % inst.pid)
            inst.stop(grace=1)
        # the muxes end by themselves when Bochs exits; the relay and any
        # hvctl still running get SIGTERM, then SIGKILL
        for name, p in self.procs:
            if p.poll() is None and name == "serial_mux":
                try:
                    p.wait(2)
                except subprocess.TimeoutExpired:
                    pass
        for sig in (signal.SIGTERM, signal.SIGKILL):
            alive = [(n, p) for n, p in self.procs if p.poll() is None]
            for n, p in alive:
                try:
                    os.killpg(p.pid, sig)
                except OSError:
                    pass
            for n, p in alive:
                try:
                    p.wait(3)
                except subprocess.TimeoutExpired:
                    pass
        for n, p in self.procs:  # leftovers in their process groups
            try:
                os.killpg(p.pid, signal.SIGKILL)
            except OSError:
                pass
        left = [(n, p.pid) for n, p in self.procs if p.poll() is None] + [
            ("bochs", i.pid) for i in self.insts if i.alive()
        ]
        self.summary["left_running"] = left
        return left


def main(argv=None):
    ap = doc_parser("demo.py", __doc__)
    ap.add_argument(
        "--guest",
        choices=["linux", "test"],
        default="linux",
        help="the guest that moves: Linux 6.1 (default) or the 32-bit test guest",
    )
    ap.add_argument(
        "--iso",
        default=None,
        help="the migration ISO (default build/hv-linux-mig.iso, or build/hv-mig.iso with --guest test)",
    )
    ap.add_argument(
        "--downtime-ms",
        type=int,
        default=None,
        help="downtime target set on A before migrating (1000 for Linux; else the hypervisor's 300)",
    )
    ap.add_argument("--workdir", default=os.path.join(TOP, "build", "demo"))
    ap.add_argument(
        "--esp",
        default=os.path.join(TOP, "build", "esp"),
        help="the UEFI boot directory for the kvm backend (default build/esp)",
    )
    ap.add_argument("--backend", choices=["auto", "bochs", "kvm"], default="auto")
    ap.add_argument(
        "--ips", type=int, default=bochs.DEFAULT_IPS, help="Bochs emulated instructions per second"
    )
    ap.add_argument("--pre-beats", type=int, default=6, help="heartbeats on A before migrating")
    ap.add_argument("--after-beats", type=int, default=8, help="heartbeats on B to show")
    ap.add_argument("--boot-timeout", type=float, default=150)
    ap.add_argument("--migrate-timeout", type=float, default=600)
    ap.add_argument("--timeout", type=int, default=900, help="hard limit for the whole demo (s)")
    args = ap.parse_args(argv)
    if args.iso is None:
        args.iso = os.path.join(TOP, "build", "hv-linux-mig.iso" if args.guest == "linux" else "hv-mig.iso")
    if args.downtime_ms is None:
        args.downtime_ms = 1000 if args.guest == "linux" else 0

    if not os.path.exists(args.iso):
        print("demo: %s not found (make iso builds it; make demo runs both)" % args.iso, file=sys.stderr)
        return 2
    os.makedirs(args.workdir, exist_ok=True)
    wd = os.path.abspath(args.workdir)
    # a fresh run: logs are appended to by their writers, so remove the old ones
    for f in (
        "a.serial",
        "b.serial",
        "a.serial.times",
        "b.serial.times",
        "cutover.txt",
        "cutover.csv",
        "cutover.png",
        "cutover.svg",
        "cutover-figure.json",
        "cutover-figure.gp",
        "link.pcap",
        "relay.log",
        "pids.txt",
        "summary.json",
        "a.mux.log",
        "b.mux.log",
    ):
        try:
            os.unlink(os.path.join(wd, f))
        except FileNotFoundError:
            pass
    demo = Demo(args)

    def on_signal(signum, frame):
        names = {
            signal.SIGINT: "interrupted (SIGINT, Ctrl-C)",
            signal.SIGTERM: "terminated (SIGTERM)",
            signal.SIGHUP: "hung up (SIGHUP)",
            signal.SIGALRM: "the --timeout of %d s passed" % args.timeout,
        }
        raise Stop(names.get(signum, "signal %d" % signum))

    for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP, signal.SIGALRM):
        signal.signal(s, on_signal)
    signal.alarm(args.timeout)
    rc = 1
    t0 = time.monotonic()
    try:
        demo.run()
        rc = 1 if demo.failed else 0
    except Stop as e:
        print("\ndemo: stopped: %s; cleaning up" % e, file=sys.stderr)
        rc = 130
    except DemoFailed as e:
        print("\ndemo: FAILED: %s" % e, file=sys.stderr)
        rc = 2 if "unavailable" in str(e) or "UDP" in str(e) else 1
    except (ConsoleTimeout, ConsoleError, bochs.BochsError, OSError, subprocess.SubprocessError) as e:
        print("\ndemo: FAILED: %s" % e, file=sys.stderr)
        for inst in demo.insts:
            print("---- bochs log tail (%s) ----\n%s" % (inst.log_path, inst.log_tail(10)), file=sys.stderr)
        rc = 1
    except Exception as e:  # noqa: BLE001 - a bug here must still clean up and say what
        import traceback

        traceback.print_exc()
        print("\ndemo: FAILED (internal error): %s: %s" % (type(e).__name__, e), file=sys.stderr)
        rc = 1
    finally:
        signal.alarm(0)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        left = demo.cleanup()
        if left:
            print("demo: could not stop: %s" % left, file=sys.stderr)
            rc = rc or 1
        demo.summary.update({"rc": rc, "failed": demo.failed, "seconds": round(time.monotonic() - t0, 1)})
        try:
            with open(os.path.join(wd, "summary.json"), "w") as f:
                json.dump(demo.summary, f, indent=1)
        except OSError:
            pass
        what = "DONE" if rc == 0 else "INTERRUPTED (status 130)" if rc == 130 else "FAILED (status %d)" % rc
        have = [
            f
            for f in (
                "cutover.txt",
                "cutover.csv",
                "cutover.png",
                "cutover.svg",
                "cutover-figure.json",
                "a.serial",
                "b.serial",
                "link.pcap",
                "summary.json",
            )
            if os.path.exists(os.path.join(wd, f))
        ]
        print(
            "\n=== %s in %.0f s; files in %s: %s" % (what, time.monotonic() - t0, rel(wd), ", ".join(have)),
            flush=True,
        )
    return rc


if __name__ == "__main__":
    sys.exit(main())
