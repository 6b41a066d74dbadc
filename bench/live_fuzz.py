#!/usr/bin/env python3
"""A long, memory-watching fuzz of a live broker: mutated copies of admin
requests that claim huge counts (the seeds of the `request` fuzz target,
fuzz/seeds/request) and of Metadata requests, sent over real connections
to a real `weir-broker`. Every SAMPLE requests it reads the broker's
resident memory from /proc, checks that a fresh connection is still served
and counts the partition directories; it stops after --seconds or
--requests, whichever comes first, and fails if the broker died, stopped
serving or went over --rss-limit-mib.

    python3 bench/live_fuzz.py --broker target/release/weir-broker --seconds 600
"""
import argparse
import os
import random
import struct
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "py"))
sys.path.insert(0, os.path.join(HERE, "..", "fuzz", "seeds"))
from make_request_seeds import header, seeds  # noqa: E402
from wire import Broker, Connection, api_versions_v0, frame, metadata_v1  # noqa: E402

# The seeds name APIs by their index in weir's SUPPORTED table; the wire
# needs Kafka's key and the version that index and byte select.
WIRE = {14: (19, 2), 20: (37, 0), 26: (45, 0), 28: (43, 0)}  # index: (key, min version)
INTERESTING = [0, 1, -1, 0x7FFFFFFF, -0x80000000, 0x00800004, 10_001, 65_536, 1 << 24]
SAMPLE = 200


def base_requests():
    out = []
    for _, index, version_byte, body in seeds():
        key, min_version = WIRE[index]
        out.append((key, min_version + version_byte, header(len(out) + 1) + body))
    return out


def mutate(rng, body):
    b = bytearray(body)
    for _ in range(rng.randint(1, 4)):
        choice = rng.random()
        if choice < 0.4 and len(b) >= 4:
            at = rng.randrange(len(b) - 3)
            b[at:at + 4] = struct.pack(">i", rng.choice(INTERESTING))
        elif choice < 0.7 and b:
            b[rng.randrange(len(b))] = rng.randrange(256)
        elif choice < 0.85 and b:
            del b[rng.randrange(len(b)):]
        else:
            b += bytes(rng.randrange(256) for _ in range(rng.randint(1, 16)))
    return bytes(b)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", required=True)
    ap.add_argument("--seconds", type=float, default=600)
    ap.add_argument("--requests", type=int, default=1_000_000)
    ap.add_argument("--rss-limit-mib", type=float, default=512)
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    bases = base_requests()
    broker = Broker(a.broker)
    conn = None
    sent = answered = closed = 0
    rss_start = broker.rss_kib()
    rss_max = rss_start
    failure = None
    deadline = time.time() + a.seconds
    try:
        while sent < a.requests and time.time() < deadline:
            key, version, body = rng.choice(bases)
            if rng.random() < 0.1:
                data = metadata_v1(sent, None)
            else:
                data = frame(key, version, 0, mutate(rng, body))
            conn = conn or Connection(broker.bootstrap, timeout=5)
            try:
                conn.send(data)
                reply = conn.receive()
            except OSError:
                reply = None
            sent += 1
            if reply is None:
                closed += 1
                conn.close()
                conn = None
            else:
                answered += 1
            if sent % SAMPLE == 0:
                rss = broker.rss_kib()
                rss_max = max(rss_max, rss)
                if not broker.alive():
                    failure = "the broker died"
                elif rss > a.rss_limit_mib * 1024:
                    failure = f"resident memory {rss / 1024:.0f} MiB over the limit"
                else:
                    probe = Connection(broker.bootstrap, timeout=10)
                    probe.send(api_versions_v0(1))
                    if probe.receive() is None:
                        failure = "a fresh connection was not served"
                    probe.close()
                if failure:
                    break
                if sent % (SAMPLE * 25) == 0:
                    print(f"{sent} sent, rss {rss / 1024:.1f} MiB, "
                          f"{broker.partition_dirs()} partition dirs", flush=True)
    finally:
        dirs = broker.partition_dirs()
        broker.close()
    print(f"live fuzz: {sent} requests, {answered} answered, {closed} disconnected; "
          f"RSS {rss_start / 1024:.1f} MiB at start, max {rss_max / 1024:.1f} MiB; "
          f"{dirs} partition directories")
    if failure:
        print(f"FAILED: {failure}")
        sys.exit(1)


if __name__ == "__main__":
    main()
