#!/usr/bin/env python3
"""demo: boot the hypervisor ISO under Bochs and show it working.

Run by `make demo` after the build. Boots build/hv.iso under Bochs (headless),
shows the boot on the serial console, asks the console `status` and `vm list`
through tools/hvctl (via a tools/serial_mux.py socket, the way a person would
from another shell), shows ~10 s of the guests' heartbeats, pauses and resumes
vm1, and powers the machine off. Every process it starts (Bochs in its own
process group, the hvctl calls) is cleaned up on success, failure or Ctrl-C.
Files are kept in --workdir (serial.log, bochs.log, bochs.bochsrc).
"""

import argparse
import os
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import bochs  # noqa: E402
from hvconsole import Console, ConsoleTimeout, ConsoleError, strip_prompts, GUEST_RE, EVENT_RE  # noqa: E402
from serial_mux import SerialMux  # noqa: E402


class Stop(Exception):
    pass


def main(argv=None):
    top = os.path.abspath(os.path.join(HERE, ".."))
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 epilog=__doc__.split("\n\n", 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--iso", default=os.path.join(top, "build", "hv.iso"))
    ap.add_argument("--workdir", default=os.path.join(top, "build", "demo"))
    ap.add_argument("--watch", type=float, default=10.0, help="seconds of heartbeats to show")
    ap.add_argument("--ips", type=int, default=bochs.DEFAULT_IPS)
    ap.add_argument("--timeout", type=int, default=300, help="hard limit for the whole demo")
    args = ap.parse_args(argv)

    if not os.path.exists(args.iso):
        print("demo: %s not found (run make iso / make demo)" % args.iso, file=sys.stderr)
        return 2
    os.makedirs(args.workdir, exist_ok=True)
    sock = os.path.join(os.path.abspath(args.workdir), "console.sock")
    serial_log = os.path.join(args.workdir, "serial.log")
    hvctl = os.path.join(HERE, "hvctl")
    state = {"inst": None, "mux": None, "con": None, "show": "all", "children": []}

    def on_signal(signum, frame):
        raise Stop("signal %d" % signum)
    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGHUP, on_signal)
    signal.signal(signal.SIGALRM, lambda s, f: on_signal(s, f))
    signal.alarm(args.timeout)

    def show(text):
        mode = state["show"]
        t = strip_prompts(text)
        if mode == "all" and t:
            print("  | " + t, flush=True)
        elif mode == "guests" and (GUEST_RE.match(t) or EVENT_RE.match(t)):
            print("  | " + t, flush=True)

    def banner(msg):
        print("\n=== %s" % msg, flush=True)

    def ctl(*words, timeout=20):
        shown = os.path.relpath(sock)
        if shown.startswith(".."):
            shown = sock
        print("$ tools/hvctl --mux %s %s" % (shown, " ".join(words)), flush=True)
        p = subprocess.Popen([sys.executable, hvctl, "--mux", sock, "--timeout", str(timeout)]
                             + list(words), stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             text=True, start_new_session=True)
        state["children"].append(p)
        try:
            out, _ = p.communicate(timeout=timeout + 10)
        except subprocess.TimeoutExpired:
            os.killpg(p.pid, signal.SIGKILL)
            out, _ = p.communicate()
        for line in out.splitlines():
            print("  " + line)
        print("  (exit status %d)" % p.returncode, flush=True)
        return p.returncode

    rc = 1
    try:
        banner("booting %s under Bochs (headless, CPU corei7_skylake_x with VT-x)" % args.iso)
        t0 = time.monotonic()
        inst = bochs.launch(args.iso, args.workdir, ips=args.ips, timeout=args.timeout + 30)
        state["inst"] = inst
        mux = SerialMux("127.0.0.1", inst.serial_port, sock, serial_log, connect_deadline=30)
        state["mux"] = mux
        mux.connect()
        mux.start()
        con = Console(mux=sock, deadline=10, echo=show)
        state["con"] = con
        con.wait_for(r"\[hv\] console ready", timeout=240, since=0)
        print("(console ready after %.1f s)" % (time.monotonic() - t0), flush=True)
        state["show"] = "none"
        time.sleep(0.5)

        banner("the management console, through hvctl")
        ctl("status")
        ctl("vm", "list")

        banner("%.0f seconds of the guests' output (heartbeats)" % args.watch)
        state["show"] = "guests"
        time.sleep(args.watch)

        banner("pause vm1: only vm2 keeps beating")
        state["show"] = "none"
        ctl("vm", "pause", "1")
        state["show"] = "guests"
        time.sleep(4)
        state["show"] = "none"
        ctl("vm", "list")
        banner("resume vm1: its heartbeats continue with the next seq")
        ctl("vm", "resume", "1")
        state["show"] = "guests"
        time.sleep(4)
        state["show"] = "none"

        banner("an unknown command is refused")
        ctl("reboot", "--now")

        banner("power off")
        ctl("poweroff")
        st = inst.wait(60)
        print("Bochs %s" % inst.describe_exit(), flush=True)
        rc = 0 if st == 0 else 1
    except Stop as e:
        print("\ndemo: stopped (%s)" % e, file=sys.stderr)
        rc = 130
    except (ConsoleTimeout, ConsoleError, bochs.BochsError, OSError) as e:
        print("\ndemo: FAILED: %s" % e, file=sys.stderr)
        inst = state["inst"]
        if inst is not None:
            print("---- bochs log tail (%s) ----\n%s" % (inst.log_path, inst.log_tail(15)),
                  file=sys.stderr)
        rc = 1
    finally:
        signal.alarm(0)
        for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
            signal.signal(s, signal.SIG_IGN)
        for p in state["children"]:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except OSError:
                    pass
                p.wait()
        if state["con"] is not None:
            state["con"].close()
        if state["inst"] is not None:
            if state["inst"].alive():
                print("demo: killing Bochs (pid %d)" % state["inst"].pid, file=sys.stderr)
            state["inst"].stop()
        if state["mux"] is not None:
            state["mux"].stop()
        print("demo: logs in %s (serial.log, bochs.log)" % args.workdir, flush=True)
    return rc


if __name__ == "__main__":
    sys.exit(main())
