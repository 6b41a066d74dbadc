"""Topics created with each compression.type: confluent-kafka (librdkafka)
creates them and produces uncompressed, and both confluent-kafka and
kafka-python (its own decoders) read back what the broker recompressed.

Usage: topic_codecs.py BOOTSTRAP
"""
import sys

from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic
from kafka import KafkaConsumer
from kafka import TopicPartition as KafkaTopicPartition

bootstrap = sys.argv[1]
admin = AdminClient({"bootstrap.servers": bootstrap})
codecs = ["uncompressed", "gzip", "snappy", "lz4", "zstd"]
futures = admin.create_topics(
    [NewTopic(f"stored-{c}", num_partitions=1, replication_factor=1, config={"compression.type": c}) for c in codecs]
)
for topic, future in futures.items():
    future.result(timeout=15)

for codec in codecs:
    topic = f"stored-{codec}"
    expected = [f"{codec}-{i}-" + "y" * (i % 50) for i in range(300)]
    producer = Producer({"bootstrap.servers": bootstrap, "compression.type": "none", "linger.ms": 20})
    errors = []
    for value in expected:
        producer.produce(topic, key=value[:8], value=value, on_delivery=lambda e, m: e and errors.append(e))
    producer.flush(30)
    if errors:
        print(f"{codec}: delivery errors {errors[:3]}", file=sys.stderr)
        sys.exit(1)

    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": "codecs", "enable.auto.commit": False})
    consumer.assign([TopicPartition(topic, 0, 0)])
    values = []
    while len(values) < len(expected):
        message = consumer.poll(15)
        if message is None or message.error():
            print(f"{codec}: confluent-kafka stopped after {len(values)}: {message and message.error()}", file=sys.stderr)
            sys.exit(1)
        values.append(message.value().decode())
    consumer.close()
    if values != expected:
        print(f"{codec}: confluent-kafka read other records", file=sys.stderr)
        sys.exit(1)

    reader = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, consumer_timeout_ms=15000)
    reader.assign([KafkaTopicPartition(topic, 0)])
    reader.seek_to_beginning()
    values = []
    for message in reader:
        values.append(message.value.decode())
        if len(values) == len(expected):
            break
    reader.close()
    if values != expected:
        print(f"{codec}: kafka-python read {len(values)} records, not the expected ones", file=sys.stderr)
        sys.exit(1)
    print(f"topic compression.type={codec}: ok")
