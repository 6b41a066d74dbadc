# syntax=docker/dockerfile:1
# The weir operator image.
#
#   docker build -f docker/operator.Dockerfile -t ghcr.io/weir-dev/weir-operator:0.1.0 .
#
# Runs on distroless/cc as the unprivileged "nonroot" user (uid 65532), which
# the Helm chart's securityContext expects.

FROM rust:1-bookworm AS builder
WORKDIR /src
COPY . .
RUN --mount=type=cache,target=/usr/local/cargo/registry \
    --mount=type=cache,target=/usr/local/cargo/git \
    --mount=type=cache,target=/src/target \
    cargo build --release --locked -p weir-operator \
    && install -D -m 0755 target/release/weir-operator /out/weir-operator

FROM gcr.io/distroless/cc-debian12:nonroot
COPY --from=builder /out/weir-operator /usr/local/bin/weir-operator
USER 65532:65532
# 8080 HTTP (/metrics, /healthz, /readyz).
EXPOSE 8080
ENTRYPOINT ["/usr/local/bin/weir-operator"]
