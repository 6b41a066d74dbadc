"""Round trip with confluent-kafka (a recent librdkafka) for every codec.

Usage: confluent_roundtrip.py BOOTSTRAP
"""
import sys

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})
codecs = ["none", "gzip", "snappy", "lz4", "zstd"]
futures = admin.create_topics([NewTopic(f"confluent-{c}", num_partitions=1, replication_factor=1) for c in codecs])
for topic, future in futures.items():
    future.result(timeout=15)

for codec in codecs:
    topic = f"confluent-{codec}"
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": codec, "acks": "all"})
    errors = []
    for i in range(200):
        producer.produce(topic, key=f"k{i}", value=f"{codec}-{i}", on_delivery=lambda e, m: e and errors.append(e))
    producer.flush(30)
    if errors:
        print(f"{codec}: delivery errors {errors[:3]}", file=sys.stderr)
        sys.exit(1)

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "confluent-rt", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    while len(values) < 200:
        message = consumer.poll(15)
        if message is None:
            print(f"{codec}: timed out after {len(values)} records", file=sys.stderr)
            sys.exit(1)
        if message.error():
            print(f"{codec}: {message.error()}", file=sys.stderr)
            sys.exit(1)
        values.append(message.value().decode())
    consumer.close()
    if values != [f"{codec}-{i}" for i in range(200)]:
        print(f"{codec}: records differ", file=sys.stderr)
        sys.exit(1)
    print(f"confluent-kafka {codec}: ok")
