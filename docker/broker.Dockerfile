# syntax=docker/dockerfile:1
# The weir broker image.
#
#   docker build -f docker/broker.Dockerfile -t ghcr.io/weir-dev/weir-broker:0.1.0 .
#
# The binary needs only glibc and libgcc (it does not link librdkafka; only the
# tests do), so it runs on distroless/cc as the unprivileged "nonroot" user.
# With no flags it listens on loopback; in Kubernetes the operator passes the
# listeners, data directory and quorum voters.

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p weir-broker \
    && install -D -m 0755 target/release/weir-broker /out/weir-broker

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/weir-broker /usr/local/bin/weir-broker
USER 65532:65532
WORKDIR /home/nonroot
# 9092 Kafka protocol, 9093 internal (replication and metadata quorum),
# 8080 HTTP (/metrics, /healthz, /readyz).
EXPOSE 9092 9093 8080
ENTRYPOINT ["/usr/local/bin/weir-broker"]
