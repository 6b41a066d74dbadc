#!/usr/bin/env python3
"""TLS clients for weir's end-to-end tests.

  roundtrip BOOTSTRAP TOPIC CA [CERT KEY]
      confluent-kafka (librdkafka with OpenSSL) over security.protocol=SSL:
      produces 20 records to TOPIC and reads them back; prints
      `ok PRODUCED READ PORTS` (PORTS: the broker ports metadata advertised)
      or `error REASON`.
  peer-cn HOST PORT CA
      Python's own ssl module: prints the CN of the certificate the server
      presents, then, on the same connection, sends ApiVersions and prints
      `answered` when the broker replies (used across a certificate
      rotation: the connection opened before it keeps working).
"""
import socket
import ssl
import struct
import sys
import time


def roundtrip(bootstrap, topic, ca, cert=None, key=None):
    from confluent_kafka import Consumer, Producer, TopicPartition
    from confluent_kafka.admin import AdminClient

    conf = {"bootstrap.servers": bootstrap, "security.protocol": "SSL",
            "ssl.ca.location": ca, "ssl.endpoint.identification.algorithm": "https",
            "socket.timeout.ms": 10000, "message.timeout.ms": 20000}
    if cert:
        conf.update({"ssl.certificate.location": cert, "ssl.key.location": key})
    try:
        md = AdminClient(conf).list_topics(timeout=15)
    except Exception as e:  # noqa: BLE001 - report any failure to the test
        print(f"error {e}")
        return
    ports = sorted({b.port for b in md.brokers.values()})
    errors = []
    p = Producer(conf)
    for i in range(20):
        p.produce(topic, value=f"tls-{i}".encode(), partition=0,
                  on_delivery=lambda err, _m: errors.append(err) if err else None)
    left = p.flush(30)
    if left or errors:
        print(f"error delivery: {left} left, {errors[:1]}")
        return
    c = Consumer({**conf, "group.id": "tls-reader", "enable.auto.commit": False})
    c.assign([TopicPartition(topic, 0, 0)])
    read = 0
    deadline = time.time() + 30
    while read < 20 and time.time() < deadline:
        m = c.poll(0.5)
        if m is not None and m.error() is None:
            read += 1
    c.close()
    print(f"ok 20 {read} {','.join(map(str, ports))}")


def peer_cn(host, port, ca):
    ctx = ssl.create_default_context(cafile=ca)
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        with ctx.wrap_socket(raw, server_hostname=host) as s:
            subject = dict(x[0] for x in s.getpeercert()["subject"])
            print(subject.get("commonName", ""), flush=True)
            # Wait for the test to rotate the certificate, then use the
            # connection opened before it.
            sys.stdin.readline()
            header = struct.pack(">hhih", 18, 0, 1, -1)
            s.sendall(struct.pack(">i", len(header)) + header)
            size = s.recv(4)
            print("answered" if len(size) == 4 else "closed", flush=True)


if __name__ == "__main__":
    cmd, *args = sys.argv[1:]
    if cmd == "roundtrip":
        roundtrip(*args)
    elif cmd == "peer-cn":
        peer_cn(*args)
    else:
        sys.exit(f"unknown command {cmd}")
