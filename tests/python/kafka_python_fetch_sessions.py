"""kafka-python (which implements KIP-227) consuming 2,000 partitions: it
opens a fetch session and reads every record produced into a sample of the
partitions; the broker's metrics show the session.

Usage: kafka_python_fetch_sessions.py BOOTSTRAP METRICS_URL
"""
import sys
import urllib.request

from kafka import KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import KafkaAdminClient, NewTopic

bootstrap, metrics_url = sys.argv[1], sys.argv[2]
PARTITIONS = 2000
admin = KafkaAdminClient(bootstrap_servers=bootstrap)
admin.create_topics([NewTopic("sessions", num_partitions=PARTITIONS, replication_factor=1)], timeout_ms=60000)
admin.close()

producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all")
sample = list(range(0, PARTITIONS, 97))
for p in sample:
    producer.send("sessions", value=f"p{p}".encode(), partition=p)
producer.flush(30)
producer.close()

consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, fetch_max_wait_ms=100)
consumer.assign([TopicPartition("sessions", p) for p in range(PARTITIONS)])
consumer.seek_to_beginning()
seen = set()
for _ in range(300):
    for records in consumer.poll(timeout_ms=200).values():
        seen.update(r.value.decode() for r in records)
    if len(seen) == len(sample):
        break
# A few more polls run on the session with nothing new.
for _ in range(5):
    consumer.poll(timeout_ms=100)
metrics = urllib.request.urlopen(metrics_url, timeout=10).read().decode()
consumer.close()
if seen != {f"p{p}" for p in sample}:
    print(f"read {len(seen)} of {len(sample)} records", file=sys.stderr)
    sys.exit(1)
sessions = [line for line in metrics.splitlines() if line.startswith("kafka_server_fetchsessioncache_numincrementalfetchsessions ")]
if not sessions or float(sessions[0].split()[1]) < 1:
    print(f"no fetch session on the broker: {sessions}", file=sys.stderr)
    sys.exit(1)
print(f"kafka-python read {len(seen)} records from {PARTITIONS} partitions over a fetch session")
