"""A way round a kafka-python 3.0.12 group bug that no broker can fix.

A leader that assigned partitions before its metadata knew the topic rejoins
as soon as the metadata arrives. If its poll() times out while that rejoin's
JoinGroup/SyncGroup is in flight, the next poll() sees the snapshots agree,
never awaits the join task again, and leaves heartbeats disabled: the member
stops heartbeating, its session expires, and it never rejoins (the broker
sees no further group request from it; Kafka's coordinator would do exactly
what weir's does). Found on a loaded machine with poll(timeout_ms=100).

So members learn the topic's partitions before they subscribe (the first
assignment is then complete and no metadata rejoin follows), and poll with
timeouts long enough that a slow rebalance does not cut one short.
"""
import time


def subscribe_when_known(consumer, topic, deadline_s=60):
    """Subscribes `consumer` to `topic` once its metadata lists partitions."""
    deadline = time.time() + deadline_s
    while not consumer.partitions_for_topic(topic):
        if time.time() > deadline:
            raise AssertionError(f"the consumer never learned the partitions of {topic}")
        time.sleep(0.1)
    consumer.subscribe([topic])
