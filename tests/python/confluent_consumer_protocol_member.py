"""One confluent-kafka member of a KIP-848 consumer group in its own process,
so a test can kill it -9.

Usage: confluent_consumer_protocol_member.py BOOTSTRAP GROUP TOPIC OUT
Subscribes with group.protocol=consumer and, for every record, appends its
value to OUT (flushed) and then commits its offset synchronously: a record
is in OUT before its commit, so a kill loses none and repeats at most the
last record of each partition.
"""
import sys

from confluent_kafka import Consumer

bootstrap, group, topic, out_path = sys.argv[1:5]
consumer = Consumer(
    {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "group.protocol": "consumer",
        "enable.auto.commit": False,
        "auto.offset.reset": "earliest",
        "fetch.wait.max.ms": 100,
    }
)
consumer.subscribe([topic])
with open(out_path, "a", encoding="utf-8") as out:
    while True:
        message = consumer.poll(0.5)
        if message is None:
            continue
        if message.error():
            print(f"consume error: {message.error()}", file=sys.stderr, flush=True)
            continue
        out.write(message.value().decode() + "\n")
        out.flush()
        consumer.commit(message=message, asynchronous=False)
