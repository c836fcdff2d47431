"""The wire between two emulated NICs: a UDP relay for Bochs' e1000 `ethmod=socket`.

Bochs' socket module listens on UDP port P and sends each Ethernet frame it
transmits to P+1 on loopback. The relay binds A+1 and B+1 and forwards A's
frames to B's port and B's to A's, so two instances share a link without bxhub
(which only learns MACs from broadcasts). Because every frame passes through
here, tests can capture the link to a pcap file, and drop, delay or tamper with
frames (used by the attack tests).

  tools/netrelay.py --port-a PA --port-b PB [--pcap FILE]

Importable: `Relay(pa, pb, pcap=None)`, `.start()`, `.stop()`, `.frames`,
`.set_filter(fn)` where fn(direction, frame) returns the frame to forward
(bytes), or None to drop it.
"""
import argparse
import socket
import struct
import threading
import time


class Relay:
    def __init__(self, port_a, port_b, pcap=None, host="127.0.0.1"):
        self.host = host
        self.port_a, self.port_b = port_a, port_b
        self.sa = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sb = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sa.bind((host, port_a + 1))
        self.sb.bind((host, port_b + 1))
        self.frames = {"a2b": 0, "b2a": 0, "dropped": 0}
        self.bytes = {"a2b": 0, "b2a": 0}
        self._filter = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._pcap = open(pcap, "wb") if pcap else None
        if self._pcap:
            # pcap global header: magic, v2.4, tz 0, sigfigs 0, snaplen, Ethernet
            self._pcap.write(struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 1))
        self._threads = []

    def set_filter(self, fn):
        with self._lock:
            self._filter = fn

    def _capture(self, frame):
        if not self._pcap:
            return
        t = time.time()
        with self._lock:
            self._pcap.write(struct.pack("<IIII", int(t), int((t % 1) * 1e6), len(frame), len(frame)))
            self._pcap.write(frame)
            self._pcap.flush()

    def _pump(self, src, dst_port, direction):
        src.settimeout(0.2)
        while not self._stop.is_set():
            try:
                frame, _ = src.recvfrom(65535)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._lock:
                fn = self._filter
            if fn:
                frame = fn(direction, frame)
                if frame is None:
                    self.frames["dropped"] += 1
                    continue
            self._capture(frame)
            self.frames[direction] += 1
            self.bytes[direction] += len(frame)
            try:
                src.sendto(frame, (self.host, dst_port))
            except OSError:
                pass

    def start(self):
        for src, dst, d in ((self.sa, self.port_b, "a2b"), (self.sb, self.port_a, "b2a")):
            t = threading.Thread(target=self._pump, args=(src, dst, d), daemon=True)
            t.start()
            self._threads.append(t)
        return self

    def stop(self):
        self._stop.set()
        for t in self._threads:
            t.join(timeout=1)
        self.sa.close()
        self.sb.close()
        if self._pcap:
            self._pcap.close()


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--port-a", type=int, required=True)
    ap.add_argument("--port-b", type=int, required=True)
    ap.add_argument("--pcap")
    a = ap.parse_args(argv)
    r = Relay(a.port_a, a.port_b, a.pcap).start()
    try:
        while True:
            time.sleep(1)
    except KeyboardInterrupt:
        pass
    finally:
        r.stop()
        print("frames a->b %d, b->a %d, dropped %d" % (r.frames["a2b"], r.frames["b2a"], r.frames["dropped"]))
