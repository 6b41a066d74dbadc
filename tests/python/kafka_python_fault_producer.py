"""An idempotent acks=all kafka-python producer for the fault tests.

Usage: kafka_python_fault_producer.py BOOTSTRAP TOPIC PARTITIONS SECONDS OUT
Writes `record-N` values round-robin over the partitions for SECONDS while
the test breaks the cluster, waits for every delivery, then writes one line
per record to OUT: `acked VALUE PARTITION OFFSET` or `failed VALUE ERROR`.
kafka-python has its own protocol code (metadata refresh, retries, sequence
numbers), so it shows failover as a client other than librdkafka sees it.
"""
import sys
import time

from kafka import KafkaProducer

bootstrap, topic, partitions, seconds, out = sys.argv[1:6]
partitions = int(partitions)
seconds = float(seconds)

producer = KafkaProducer(
    bootstrap_servers=bootstrap,
    acks="all",
    enable_idempotence=True,
    linger_ms=1,
    request_timeout_ms=10000,
    delivery_timeout_ms=90000,
    retry_backoff_ms=50,
    metadata_max_age_ms=1000,
)
pending = []
n = 0
start = time.monotonic()
while time.monotonic() - start < seconds:
    value = f"record-{n}"
    pending.append((value, producer.send(topic, value=value.encode(), partition=n % partitions)))
    n += 1
    time.sleep(0.004)
producer.flush(timeout=120)

with open(out, "w") as f:
    for value, future in pending:
        try:
            metadata = future.get(timeout=1)
            f.write(f"acked {value} {metadata.partition} {metadata.offset}\n")
        except Exception as e:  # a failed delivery is counted, not fatal
            f.write(f"failed {value} {type(e).__name__}\n")
producer.close(timeout=10)
print(f"kafka-python sent {n} records")
