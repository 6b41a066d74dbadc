#!/usr/bin/env python3
"""TLS against plaintext on one weir broker, in one run, alternating:
produce and consume throughput with confluent-kafka (librdkafka) and the
broker's CPU seconds per GB (from /proc), then new connections per second
(a TCP or TLS handshake plus one ApiVersions round trip, Python's ssl).
Medians of --rounds runs of each. Needs `openssl` (for the test CA) and
confluent-kafka.

    python3 bench/tls_bench.py --broker target/release/weir-broker
"""
import argparse
import os
import socket
import ssl
import statistics
import struct
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "py"))
from wire import Broker, free_port  # noqa: E402


def make_certs(d):
    run = lambda *a: subprocess.run(a, cwd=d, check=True, capture_output=True)  # noqa: E731
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-subj", "/CN=bench-ca", "-keyout", "ca.key", "-out", "ca.pem")
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=broker",
        "-keyout", "broker.key", "-out", "broker.csr")
    with open(os.path.join(d, "san.ext"), "w") as f:
        f.write("subjectAltName=DNS:localhost,IP:127.0.0.1\n")
    run("openssl", "x509", "-req", "-in", "broker.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
        "-CAcreateserial", "-days", "2", "-extfile", "san.ext", "-out", "broker.crt")
    with open(os.path.join(d, "broker.pem"), "w") as f:
        f.write(open(os.path.join(d, "broker.key")).read() + open(os.path.join(d, "broker.crt")).read())
    return os.path.join(d, "ca.pem"), os.path.join(d, "broker.pem")


def client_conf(port, tls, ca):
    conf = {"bootstrap.servers": f"127.0.0.1:{port}"}
    if tls:
        conf.update({"security.protocol": "SSL", "ssl.ca.location": ca})
    return conf


def produce(broker, conf, topic, count, size):
    from confluent_kafka import Producer
    p = Producer({**conf, "acks": "1", "linger.ms": 5, "batch.size": 1 << 20,
                  "queue.buffering.max.messages": 1_000_000})
    value = b"x" * size
    cpu0, t0 = broker.cpu_seconds(), time.perf_counter()
    for _ in range(count):
        while True:
            try:
                p.produce(topic, value, partition=0)
                break
            except BufferError:
                p.poll(0.01)
    p.flush(120)
    return time.perf_counter() - t0, broker.cpu_seconds() - cpu0


def consume(broker, conf, topic, count):
    from confluent_kafka import Consumer, TopicPartition
    c = Consumer({**conf, "group.id": f"bench-{time.time()}", "enable.auto.commit": False,
                  "fetch.max.bytes": 50 << 20})
    c.assign([TopicPartition(topic, 0, 0)])
    cpu0, t0 = broker.cpu_seconds(), time.perf_counter()
    read = 0
    while read < count:
        for m in c.consume(10_000, 1.0):
            if m.error() is None:
                read += 1
    elapsed, cpu = time.perf_counter() - t0, broker.cpu_seconds() - cpu0
    c.close()
    return elapsed, cpu


def connections(broker, port, tls, ca, n):
    ctx = ssl.create_default_context(cafile=ca) if tls else None
    header = struct.pack(">hhih", 18, 0, 1, -1)
    frame = struct.pack(">i", len(header)) + header
    cpu0, t0 = broker.cpu_seconds(), time.perf_counter()
    for _ in range(n):
        raw = socket.create_connection(("127.0.0.1", port), timeout=10)
        s = ctx.wrap_socket(raw, server_hostname="127.0.0.1") if tls else raw
        s.sendall(frame)
        s.recv(4)
        s.close()
    return time.perf_counter() - t0, broker.cpu_seconds() - cpu0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", required=True)
    ap.add_argument("--records", type=int, default=200_000)
    ap.add_argument("--size", type=int, default=1024)
    ap.add_argument("--connections", type=int, default=300)
    ap.add_argument("--rounds", type=int, default=3)
    a = ap.parse_args()
    d = tempfile.mkdtemp(prefix="weir-tls-bench-")
    ca, keystore = make_certs(d)
    ssl_port = free_port()
    broker = Broker(a.broker, extra_listeners=[f"SSL://127.0.0.1:{ssl_port}"],
                    args=["--override", "ssl.keystore.type=PEM",
                          "--override", f"ssl.keystore.location={keystore}"])
    gb = a.records * a.size / 1e9
    rows = {k: [] for k in ("produce", "consume", "connect")}
    try:
        for r in range(a.rounds):
            for tls in (False, True):
                port = ssl_port if tls else broker.port
                conf = client_conf(port, tls, ca)
                topic = f"bench-{'tls' if tls else 'plain'}-{r}"
                el, cpu = produce(broker, conf, topic, a.records, a.size)
                rows["produce"].append((tls, gb / el * 1000, cpu / gb))
                el, cpu = consume(broker, conf, topic, a.records)
                rows["consume"].append((tls, gb / el * 1000, cpu / gb))
                el, cpu = connections(broker, port, tls, ca, a.connections)
                rows["connect"].append((tls, a.connections / el, cpu / a.connections * 1000))
    finally:
        broker.close()
    med = lambda xs: statistics.median(xs)  # noqa: E731
    for what, unit_rate, unit_cpu in (("produce", "MB/s", "CPU-s/GB"), ("consume", "MB/s", "CPU-s/GB"),
                                      ("connect", "conn/s", "CPU-ms/conn")):
        plain = [x for x in rows[what] if not x[0]]
        tls = [x for x in rows[what] if x[0]]
        pr, pc = med([x[1] for x in plain]), med([x[2] for x in plain])
        tr, tc = med([x[1] for x in tls]), med([x[2] for x in tls])
        print(f"{what}: plaintext {pr:.1f} {unit_rate}, {pc:.2f} {unit_cpu}; "
              f"TLS {tr:.1f} {unit_rate}, {tc:.2f} {unit_cpu}; TLS/plaintext CPU {tc / pc:.2f}x")


if __name__ == "__main__":
    main()
