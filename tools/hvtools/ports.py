"""Free local ports for emulators, their serial sockets and the link relay.

- free_tcp_port(): a TCP port that binds without SO_REUSEADDR (Bochs' serial
  socket needs one that is not in TIME_WAIT either), below the ephemeral
  range, and free for UDP too; never handed out twice by this process.
- free_udp_pair(): two Bochs `ethmod=socket` base ports P and P+10 with P,
  P+1, P+10, P+11 free (Bochs listens on P and sends to P+1; the relay,
  hvtools.relay, binds P+1 and P+11).
"""

import os
import random
import socket
import threading
import time

__all__ = ["free_tcp_port", "free_udp_pair", "PortError"]

_used_ports = set()
_port_lock = threading.Lock()


class PortError(RuntimeError):
    """No free port found."""


def _binds(kind, host, port):
    s = socket.socket(socket.AF_INET, kind)
    try:
        s.bind((host, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def free_tcp_port(host="127.0.0.1", lo=20000, hi=32000, tries=200):
    """A TCP port on `host` that can be bound right now without SO_REUSEADDR
    (so it is not in TIME_WAIT either), chosen below the kernel's ephemeral
    range so that outgoing connections do not take it meanwhile. Ports handed
    out by this process are not handed out twice."""
    rng = random.Random(os.getpid() ^ int(time.time() * 1000))
    for _ in range(tries):
        port = rng.randrange(lo, hi)
        with _port_lock:
            if port in _used_ports:
                continue
        # the UDP side too, so the same number also serves ethmod=socket
        if not _binds(socket.SOCK_STREAM, host, port) or not _binds(socket.SOCK_DGRAM, host, port):
            continue
        with _port_lock:
            _used_ports.add(port)
        return port
    raise PortError("no free TCP port found in %d..%d" % (lo, hi))


def free_udp_pair(host="127.0.0.1", lo=24000, hi=30000, tries=200):
    """Two Bochs `ethmod=socket` ports P and P+10, with P, P+1, P+10, P+11 free."""
    for _ in range(tries):
        p = random.randrange(lo, hi, 2)
        socks = []
        try:
            for q in (p, p + 1, p + 10, p + 11):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                socks.append(s)
                s.bind((host, q))
            return p, p + 10
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise PortError("no free UDP ports for the link relay")
