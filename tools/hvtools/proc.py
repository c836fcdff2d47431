"""Processes the tools start (Bochs, QEMU, muxes, the relay) and their files.

Every emulator or helper runs in its own process group (start_new_session),
so stop_group() can end it together with whatever it started (the
`timeout` wrapper's child). tail_file() reads the end of a log for error
messages; append_log() writes to one.
"""

import os
import signal
import subprocess

__all__ = ["stop_group", "kill_group", "tail_file", "append_log"]


def kill_group(pid, sig):
    """Send sig to the process group pid leads; False if it is gone."""
    try:
        os.killpg(pid, sig)
        return True
    except (ProcessLookupError, PermissionError):
        return False


def stop_group(proc, grace=2.0, kill_wait=5.0):
    """End proc's process group if proc still runs: SIGTERM, `grace` seconds,
    then SIGKILL. Returns (exit status or None, whether it had to be signalled)."""
    signalled = False
    for sig, wait in ((signal.SIGTERM, grace), (signal.SIGKILL, kill_wait)):
        if proc.poll() is not None:
            break
        signalled = True
        if not kill_group(proc.pid, sig):
            break
        try:
            proc.wait(wait)
        except subprocess.TimeoutExpired:
            pass
    return proc.poll(), signalled


def tail_file(path, nlines=30, maxbytes=65536):
    """The last nlines of a (log) file as text; a message if it cannot be read."""
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - maxbytes))
            data = f.read().decode("utf-8", "replace")
        return "\n".join(data.splitlines()[-nlines:])
    except OSError as e:
        return "(cannot read %s: %s)" % (path, e)


def append_log(f, data):
    """Write data to an open log file (None: no log) and flush it; a log that
    was closed meanwhile or cannot be written is not an error."""
    if f is None:
        return
    try:
        f.write(data)
        f.flush()
    except (OSError, ValueError):
        pass
