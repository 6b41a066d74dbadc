"""Round trip with kafka-python, a pure-Python client with its own protocol code.

Usage: kafka_python_roundtrip.py BOOTSTRAP
Creates a topic per supported codec with the admin client, produces keyed
records, reads them back, and exits non-zero on any mismatch.
"""
import sys

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic

bootstrap = sys.argv[1]
admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
# kafka-python compresses with these modules; .ci/run installs them.
import lz4  # noqa: F401,E402
import snappy  # noqa: F401,E402
import zstandard  # noqa: F401,E402

codecs = ["none", "gzip", "snappy", "lz4", "zstd"]

for codec in codecs:
    topic = f"kafka-python-{codec}"
    admin.create_topics([NewTopic(name=topic, num_partitions=2, replication_factor=1)])
    producer = KafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        compression_type=None if codec == "none" else codec,
    )
    for i in range(100):
        producer.send(topic, key=f"k{i}".encode(), value=f"{codec}-{i}".encode(), partition=i % 2)
    producer.flush(timeout=30)
    producer.close()

    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=15000)
    partitions = [TopicPartition(topic, 0), TopicPartition(topic, 1)]
    consumer.assign(partitions)
    consumer.seek_to_beginning(*partitions)
    seen = {}
    for message in consumer:
        seen[message.key.decode()] = message.value.decode()
        if len(seen) == 100:
            break
    consumer.close()
    expected = {f"k{i}": f"{codec}-{i}" for i in range(100)}
    if seen != expected:
        print(f"{codec}: read {len(seen)} of 100 records correctly", file=sys.stderr)
        sys.exit(1)
    print(f"kafka-python {codec}: ok")

topics = admin.list_topics()
assert all(f"kafka-python-{c}" in topics for c in codecs), topics
admin.delete_topics([f"kafka-python-{c}" for c in codecs])
admin.close()
