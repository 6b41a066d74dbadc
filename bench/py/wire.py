"""A lone weir broker on loopback and the raw Kafka frames the admin-limit
benchmarks send it: just enough of the wire protocol to send a request and
read its answer without a client library caching or retrying anything."""
import os
import shutil
import socket
import struct
import subprocess
import tempfile
import time
import urllib.request


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Broker:
    """A weir broker in a temporary directory, SIGKILLed on close.
    `nofile` runs it under that descriptor limit (through `prlimit`)."""

    def __init__(self, binary, nofile=None, args=(), extra_listeners=()):
        self.dir = tempfile.mkdtemp(prefix="weir-bench-")
        self.port, self.http, self.internal = free_port(), free_port(), free_port()
        listeners = ",".join([f"PLAINTEXT://127.0.0.1:{self.port}", *extra_listeners])
        cmd = [binary,
               "--listeners", listeners,
               "--http-listener", f"127.0.0.1:{self.http}",
               "--internal-listener", f"127.0.0.1:{self.internal}",
               "--data-dir", os.path.join(self.dir, "data"), *args]
        if nofile:
            cmd = ["prlimit", f"--nofile={nofile}:{nofile}", "--", *cmd]
        self.log = open(os.path.join(self.dir, "broker.log"), "wb")
        self.proc = subprocess.Popen(cmd, stdout=self.log, stderr=self.log)
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{self.http}/readyz", timeout=1)
                return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError("broker did not become ready")

    @property
    def bootstrap(self):
        return f"127.0.0.1:{self.port}"

    def alive(self):
        return self.proc.poll() is None

    def rss_kib(self):
        with open(f"/proc/{self.proc.pid}/status") as f:
            for line in f:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def cpu_seconds(self):
        """User plus system CPU the broker has used so far."""
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

    def partition_dirs(self):
        try:
            return len(os.listdir(os.path.join(self.dir, "data"))) 
        except OSError:
            return 0

    def close(self):
        self.proc.kill()
        self.proc.wait()
        self.log.close()
        shutil.rmtree(self.dir, ignore_errors=True)


def frame(api_key, version, correlation, rest):
    """A request: `rest` is everything after the header's key and version
    (correlation id, client id, tagged fields, body)."""
    body = struct.pack(">hh", api_key, version) + rest
    return struct.pack(">i", len(body)) + body


def header_v1(correlation, client=b"weir-bench"):
    return struct.pack(">ih", correlation, len(client)) + client


def metadata_v1(correlation, topics):
    """Metadata v1 (not flexible) for `topics`, or all topics for None."""
    if topics is None:
        body = struct.pack(">i", -1)
    else:
        body = struct.pack(">i", len(topics)) + b"".join(
            struct.pack(">h", len(t)) + t for t in topics)
    return frame(3, 1, correlation, header_v1(correlation) + body)


def api_versions_v0(correlation):
    return frame(18, 0, correlation, header_v1(correlation))


class Connection:
    def __init__(self, bootstrap, timeout=10):
        host, port = bootstrap.split(":")
        self.sock = socket.create_connection((host, int(port)), timeout=timeout)

    def send(self, data):
        self.sock.sendall(data)

    def receive(self):
        """One response frame, or None when the broker closed the connection."""
        size = self._exactly(4)
        if size is None:
            return None
        return self._exactly(struct.unpack(">i", size)[0])

    def _exactly(self, n):
        out = b""
        while len(out) < n:
            try:
                chunk = self.sock.recv(n - len(out))
            except (ConnectionResetError, socket.timeout):
                return None
            if not chunk:
                return None
            out += chunk
        return out

    def close(self):
        self.sock.close()
