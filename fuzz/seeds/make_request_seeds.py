#!/usr/bin/env python3
"""Writes the seed corpus of the `request` fuzz target: admin requests that
claim huge counts (the shapes of issue #22), so every fuzz run starts on the
paths that bound what one request may create.

Input format of the target: one byte picks the API (its index in
`weir_broker::api::SUPPORTED`), one the version within its supported range,
then the request header after the API key and version, then the body.
Run from anywhere: `python3 fuzz/seeds/make_request_seeds.py`.
"""
import os
import struct

HERE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "request")
# Indices in weir_broker::api::SUPPORTED and the version byte that selects
# the version named (version = min + byte % span).
CREATE_TOPICS, CREATE_TOPICS_V5 = 14, 3  # min 2
CREATE_PARTITIONS, CREATE_PARTITIONS_V2 = 20, 2  # min 0
REASSIGN, REASSIGN_V0 = 26, 0  # min 0
ELECT, ELECT_V2 = 28, 2  # min 0
TOPIC = b"rdkafka-admin-1"


def uvarint(n):
    out = b""
    while True:
        b = n & 0x7F
        n >>= 7
        if n:
            out += bytes([b | 0x80])
        else:
            return out + bytes([b])


def cstr(s):
    return uvarint(len(s) + 1) + s


def carray(items):
    return uvarint(len(items) + 1) + b"".join(items)


def header(correlation):
    # correlation id, client id (nullable i16 string), no tagged fields
    return struct.pack(">ih", correlation, 7) + b"rdkafka" + b"\x00"


def create_topic(name, partitions, assignments=()):
    return (
        cstr(name)
        + struct.pack(">ih", partitions, -1 if assignments else 1)
        + carray(
            [struct.pack(">i", p) + carray([struct.pack(">i", 0)]) + b"\x00" for p in assignments]
        )
        + carray([])
        + b"\x00"
    )


def create_topics(topics):
    return carray(topics) + struct.pack(">i?", 30000, False) + b"\x00"


def seeds():
    yield "create_topics_small", CREATE_TOPICS, CREATE_TOPICS_V5, create_topics([create_topic(TOPIC, 1)])
    yield "create_topics_8m", CREATE_TOPICS, CREATE_TOPICS_V5, create_topics(
        [create_topic(b"huge", 0x00800004)]
    )
    yield "create_topics_two_halves", CREATE_TOPICS, CREATE_TOPICS_V5, create_topics(
        [create_topic(b"half-a", 6000), create_topic(b"half-b", 6000)]
    )
    yield "create_topics_assigned", CREATE_TOPICS, CREATE_TOPICS_V5, create_topics(
        [create_topic(b"assigned", -1, range(10001))]
    )
    # The report's 47-byte CreatePartitions, after its size, key and version.
    yield "create_partitions_8m", CREATE_PARTITIONS, CREATE_PARTITIONS_V2, (
        carray([cstr(TOPIC) + struct.pack(">i", 0x00800004) + b"\x00" + b"\x00"])
        + struct.pack(">i?", 60000, False)
        + b"\x00"
    )
    yield "create_partitions_assigned", CREATE_PARTITIONS, CREATE_PARTITIONS_V2, (
        carray(
            [
                cstr(TOPIC)
                + struct.pack(">i", 10002)
                + carray([carray([struct.pack(">i", 0)]) + b"\x00" for _ in range(10001)])
                + b"\x00"
            ]
        )
        + struct.pack(">i?", 60000, False)
        + b"\x00"
    )
    yield "reassign_10001", REASSIGN, REASSIGN_V0, (
        struct.pack(">i", 30000)
        + carray(
            [
                cstr(TOPIC)
                + carray(
                    [struct.pack(">i", p) + carray([struct.pack(">i", 0)]) + b"\x00" for p in range(10001)]
                )
                + b"\x00"
            ]
        )
        + b"\x00"
    )
    yield "elect_10001", ELECT, ELECT_V2, (
        b"\x00"
        + carray([cstr(TOPIC) + carray([struct.pack(">i", p) for p in range(10001)]) + b"\x00"])
        + struct.pack(">i", 30000)
        + b"\x00"
    )


def main():
    os.makedirs(HERE, exist_ok=True)
    for i, (name, api, version, body) in enumerate(seeds()):
        with open(os.path.join(HERE, name), "wb") as f:
            f.write(bytes([api, version]) + header(i + 1) + body)


if __name__ == "__main__":
    main()
