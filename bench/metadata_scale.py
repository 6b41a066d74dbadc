#!/usr/bin/env python3
"""What a one-topic Metadata request costs a broker holding many partitions.

Starts one weir broker (under a descriptor limit large enough for the
partitions' segment files: about two per partition, so 100,000 partitions
need a hard limit above 200,000, which only a process with
CAP_SYS_RESOURCE can raise),
raises `weir.max.partitions.per.broker`, creates TOPICS topics of at most
10,000 partitions each (Kafka's per-request cap), then sends one-topic
Metadata requests on one connection and samples the broker's resident
memory; one all-topics Metadata request shows the cost that does grow with
the metadata, for comparison. Prints one line per figure.

    python3 bench/metadata_scale.py --broker target/release/weir-broker --partitions 100000
"""
import argparse
import resource
import statistics
import sys
import time

from confluent_kafka.admin import (AdminClient, AlterConfigOpType, ConfigEntry,
                                   ConfigResource, NewTopic, ResourceType)

sys.path.insert(0, __file__.rsplit("/", 1)[0] + "/py")
from wire import Broker, Connection, metadata_v1  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--broker", required=True)
    ap.add_argument("--partitions", type=int, default=100_000)
    ap.add_argument("--requests", type=int, default=2_000)
    a = ap.parse_args()
    per_topic = 10_000
    # One open segment file per partition, plus room: as many descriptors as
    # the hard limit allows (raising it needs CAP_SYS_RESOURCE).
    hard = resource.getrlimit(resource.RLIMIT_NOFILE)[1]
    wanted = 2 * a.partitions + 2_000
    if hard != resource.RLIM_INFINITY and wanted > hard:
        sys.exit(f"{a.partitions} partitions need about {wanted} descriptors; the hard limit is {hard}")
    broker = Broker(a.broker, nofile=wanted)
    try:
        admin = AdminClient({"bootstrap.servers": broker.bootstrap})
        res = ConfigResource(ResourceType.BROKER, "0", incremental_configs=[ConfigEntry(
            "weir.max.partitions.per.broker", str(a.partitions + 1_000),
            incremental_operation=AlterConfigOpType.SET)])
        for f in admin.incremental_alter_configs([res]).values():
            f.result()
        started = time.time()
        names, sizes = [], []
        for i in range(0, a.partitions, per_topic):
            name = f"scale-{i // per_topic}"
            n = min(per_topic, a.partitions - i)
            for f in admin.create_topics([NewTopic(name, n, 1)], request_timeout=600).values():
                f.result()
            names.append(name)
            sizes.append(n)
        print(f"created {a.partitions} partitions in {len(names)} topics in "
              f"{time.time() - started:.1f} s; {broker.partition_dirs()} directories")
        conn = Connection(broker.bootstrap, timeout=60)
        conn.send(metadata_v1(1, [names[0].encode()]))
        conn.receive()
        rss_before = broker.rss_kib()
        rss_max = rss_before
        times = []
        for i in range(a.requests):
            t = time.perf_counter()
            conn.send(metadata_v1(i + 2, [names[i % len(names)].encode()]))
            size = len(conn.receive() or b"")
            times.append(time.perf_counter() - t)
            if i % 100 == 0:
                rss_max = max(rss_max, broker.rss_kib())
        rss_after = broker.rss_kib()
        print(f"one-topic Metadata ({max(sizes)} partitions, {size} B answer) x{a.requests}: "
              f"median {statistics.median(times) * 1e3:.2f} ms; broker RSS "
              f"{rss_before / 1024:.1f} -> {rss_after / 1024:.1f} MiB (max {rss_max / 1024:.1f})")
        small = "tiny"
        for f in admin.create_topics([NewTopic(small, 1, 1)]).values():
            f.result()
        times = []
        for i in range(a.requests):
            t = time.perf_counter()
            conn.send(metadata_v1(10**6 + i, [small.encode()]))
            conn.receive()
            times.append(time.perf_counter() - t)
        print(f"one-topic Metadata (1 partition) x{a.requests}: median "
              f"{statistics.median(times) * 1e3:.3f} ms; broker RSS {broker.rss_kib() / 1024:.1f} MiB")
        t = time.perf_counter()
        conn.send(metadata_v1(2 * 10**6, None))
        size = len(conn.receive() or b"")
        print(f"all-topics Metadata: {size / 1e6:.1f} MB answer in "
              f"{(time.perf_counter() - t) * 1e3:.0f} ms; broker RSS {broker.rss_kib() / 1024:.1f} MiB")
    finally:
        broker.close()


if __name__ == "__main__":
    main()
