//! weir-bench: load and latency tool for Kafka-compatible brokers, in the
//! spirit of `kafka-producer-perf-test` and `kafka-consumer-perf-test`,
//! plus a protocol `sink` that measures the client-side ceiling.

mod client;
mod consume;
mod e2e;
mod produce;
mod reassign;
mod report;
mod sink;

use clap::{Parser, Subcommand};

/// Command line of `weir-bench`.
#[derive(Debug, Parser)]
#[command(name = "weir-bench", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
enum Command {
    /// Produce records and report throughput and acknowledgement latency.
    Produce(produce::ProduceArgs),
    /// Consume records and report throughput.
    Consume(consume::ConsumeArgs),
    /// Produce and consume at once and report end-to-end latency.
    E2e(e2e::E2eArgs),
    /// Serve a minimal Kafka endpoint that acknowledges and discards produce requests.
    Sink(sink::SinkArgs),
    /// Move a partition to other brokers (optionally throttled) and time it.
    Move(reassign::MoveArgs),
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Command::Produce(args) => produce::run(args).await,
        Command::Consume(args) => consume::run(args).await,
        Command::E2e(args) => e2e::run(args).await,
        Command::Sink(args) => sink::run(args).await,
        Command::Move(args) => reassign::run(args).await,
    }
}
