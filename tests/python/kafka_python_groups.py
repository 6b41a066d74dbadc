"""Consumer groups with kafka-python, whose group protocol code is its own.

Usage: kafka_python_groups.py BOOTSTRAP
Two consumers share a topic, commit, and a third resumes where they left
off; the admin client lists, describes and deletes the group and reads its
offsets. Exits non-zero on any mismatch.
"""
import sys
import threading
import time

from kafka import KafkaAdminClient, KafkaConsumer, KafkaProducer, TopicPartition
from kafka.admin import NewTopic
from kafka.errors import CommitFailedError, RebalanceInProgressError

from kafka_python_workaround import subscribe_when_known

bootstrap = sys.argv[1]
topic = "py-groups"
group = "py-group"
admin = KafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10000)
admin.create_topics([NewTopic(topic, num_partitions=4, replication_factor=1)])

producer = KafkaProducer(bootstrap_servers=bootstrap)
for i in range(40):
    producer.send(topic, value=str(i).encode(), partition=i % 4)
producer.flush()


def consumer():
    c = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=6000,
        heartbeat_interval_ms=500,
        consumer_timeout_ms=500,
    )
    subscribe_when_known(c, topic)
    return c


a, b = consumer(), consumer()
seen = set()
lock = threading.Lock()
stop = threading.Event()
commit_wanted = threading.Event()


def run(c):
    # Each consumer polls and commits on its own thread, as applications do:
    # kafka-python blocks in poll() while its join is pending, and a commit
    # made while the group rebalances fails (REBALANCE_IN_PROGRESS, as in
    # Kafka), so it is retried after the next poll has rejoined.
    while not stop.is_set():
        for records in c.poll(timeout_ms=1000).values():
            with lock:
                seen.update(int(r.value) for r in records)
        if commit_wanted.is_set():
            try:
                c.commit()
            except (CommitFailedError, RebalanceInProgressError):
                pass


def settled():
    return (len(a.assignment()) + len(b.assignment()) == 4 and a.assignment() and b.assignment()
            and not (a.assignment() & b.assignment()) and len(seen) >= 40)


def committed_and_stable():
    described = admin.describe_groups([group])[group]
    if described["group_state"] != "Stable" or len(described["members"]) != 2:
        return False
    offsets = admin.list_group_offsets({group: None})[group]
    return {tp.partition: om.offset for tp, om in offsets.items()} == {0: 10, 1: 10, 2: 10, 3: 10}


threads = [threading.Thread(target=run, args=(c,)) for c in (a, b)]
for t in threads:
    t.start()
try:
    deadline = time.time() + 60
    while not settled():
        if time.time() > deadline:
            raise AssertionError(f"group never settled: {a.assignment()} {b.assignment()} {len(seen)}")
        time.sleep(0.1)
    assert seen == set(range(40)), sorted(seen)
    commit_wanted.set()
    while not committed_and_stable():
        if time.time() > deadline:
            raise AssertionError(f"offsets never committed: {admin.describe_groups([group])}")
        time.sleep(0.2)
finally:
    stop.set()
    for t in threads:
        t.join()

listed = admin.list_groups()
assert any(g["group_id"] == group for g in listed), listed
offsets = admin.list_group_offsets({group: None})[group]
# Consumer lag as tools compute it: log end offset minus committed offset.
ends = a.end_offsets([TopicPartition(topic, p) for p in range(4)])
lag = {tp.partition: ends[tp] - om.offset for tp, om in offsets.items()}
assert lag == {0: 0, 1: 0, 2: 0, 3: 0}, lag
a.close()
b.close()

producer.send(topic, value=b"40", partition=0)
producer.flush()
c = consumer()
got = []
deadline = time.time() + 60
while not got:
    assert time.time() < deadline, "the resumed consumer read nothing"
    for records in c.poll(timeout_ms=200).values():
        got.extend(int(r.value) for r in records)
assert got == [40], got
c.close()

deleted = admin.delete_groups([group])
assert deleted == {group: "OK"}, deleted
assert not any(g["group_id"] == group for g in admin.list_groups())
print("ok")
