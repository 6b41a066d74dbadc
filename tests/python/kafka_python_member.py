"""One kafka-python group member in its own process, so a test can starve it.

Usage: kafka_python_member.py BOOTSTRAP GROUP TOPIC
Subscribes to TOPIC in GROUP and polls until SIGTERM, committing nothing.
The test reads the group's state from the broker (DescribeGroups), not
from this process, so a stopped process cannot mislead it.
"""
import signal
import sys

from kafka import KafkaConsumer

from kafka_python_workaround import subscribe_when_known

bootstrap, group, topic = sys.argv[1:4]
running = True


def stop(*_):
    global running
    running = False


signal.signal(signal.SIGTERM, stop)
consumer = KafkaConsumer(
    bootstrap_servers=bootstrap,
    group_id=group,
    auto_offset_reset="earliest",
    enable_auto_commit=False,
    session_timeout_ms=6000,
    heartbeat_interval_ms=500,
    # A member stopped for longer than its session comes back and rejoins;
    # the client's own request timeout must outlast a slow machine.
    request_timeout_ms=30000,
)
subscribe_when_known(consumer, topic)
while running:
    consumer.poll(timeout_ms=1000)
consumer.close()
