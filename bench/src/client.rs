//! What the client subcommands share: connection options, topic creation,
//! payloads, keys and the throughput throttle.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::ConsumerContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::ClientContext;

/// Where to connect and any extra librdkafka settings.
#[derive(Debug, Clone, Args)]
pub struct ConnectArgs {
    /// Bootstrap servers (host:port[,host:port...]).
    #[arg(long, default_value = "127.0.0.1:9092")]
    pub bootstrap: String,
    /// Extra librdkafka property (key=value); may be repeated.
    #[arg(short = 'X', long = "property", value_name = "KEY=VALUE")]
    pub properties: Vec<String>,
}

impl ConnectArgs {
    /// A client config with the bootstrap servers and the extra properties.
    pub fn config(&self) -> anyhow::Result<ClientConfig> {
        let mut config = ClientConfig::new();
        config.set("bootstrap.servers", &self.bootstrap);
        for p in &self.properties {
            let Some((k, v)) = p.split_once('=') else {
                bail!("property {p:?} is not of the form key=value");
            };
            config.set(k.trim(), v.trim());
        }
        Ok(config)
    }
}

/// Prints librdkafka's log lines and errors to stderr. librdkafka logs
/// little on its own; `-X debug=...` turns on its debug contexts.
pub fn log_line(level: RDKafkaLogLevel, fac: &str, message: &str) {
    eprintln!("librdkafka {level:?} {fac}: {message}");
}

/// A consumer context that sends librdkafka's logs to stderr.
#[derive(Debug, Clone, Copy, Default)]
pub struct ConsoleContext;

impl ClientContext for ConsoleContext {
    fn log(&self, level: RDKafkaLogLevel, fac: &str, message: &str) {
        log_line(level, fac, message);
    }

    fn error(&self, error: KafkaError, reason: &str) {
        eprintln!("librdkafka error: {error}: {reason}");
    }
}

impl ConsumerContext for ConsoleContext {}

/// Producer `acks`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Acks {
    /// No acknowledgement.
    #[value(name = "0")]
    None,
    /// The leader's acknowledgement.
    #[value(name = "1")]
    Leader,
    /// Every in-sync replica's acknowledgement.
    #[value(name = "all")]
    All,
}

impl Acks {
    /// The librdkafka value.
    pub fn as_str(self) -> &'static str {
        match self {
            Acks::None => "0",
            Acks::Leader => "1",
            Acks::All => "all",
        }
    }
}

/// Producer compression codec.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Compression {
    /// No compression.
    None,
    /// gzip.
    Gzip,
    /// Snappy.
    Snappy,
    /// LZ4.
    Lz4,
    /// Zstandard.
    Zstd,
}

impl Compression {
    /// The librdkafka value.
    pub fn as_str(self) -> &'static str {
        match self {
            Compression::None => "none",
            Compression::Gzip => "gzip",
            Compression::Snappy => "snappy",
            Compression::Lz4 => "lz4",
            Compression::Zstd => "zstd",
        }
    }
}

/// The producer settings `produce` and `e2e` share.
#[derive(Debug, Clone, Args)]
pub struct ProducerArgs {
    /// Acknowledgements to wait for.
    #[arg(long, value_enum, default_value = "1")]
    pub acks: Acks,
    /// Enable the idempotent producer.
    #[arg(long)]
    pub idempotence: bool,
    /// Compression codec.
    #[arg(long, value_enum, default_value = "none")]
    pub compression: Compression,
    /// linger.ms: how long to wait to fill a batch.
    #[arg(long, default_value_t = 5)]
    pub linger_ms: u64,
    /// batch.size in bytes.
    #[arg(long, default_value_t = 1_000_000)]
    pub batch_size: usize,
}

impl ProducerArgs {
    /// Adds the producer settings to `config`.
    pub fn apply(&self, config: &mut ClientConfig) {
        config
            .set("acks", self.acks.as_str())
            .set("enable.idempotence", self.idempotence.to_string())
            .set("compression.type", self.compression.as_str())
            .set("linger.ms", self.linger_ms.to_string())
            .set("batch.size", self.batch_size.to_string())
            // Deliver every record or report why not; never hang forever.
            .set("message.timeout.ms", "120000")
            // Let the producer queue hold plenty of records so throughput
            // is not limited by the local queue.
            .set("queue.buffering.max.messages", "1000000")
            .set("queue.buffering.max.kbytes", "1048576");
    }

    /// The settings as JSON, for reports.
    pub fn to_json(&self) -> serde_json::Value {
        serde_json::json!({
            "acks": self.acks.as_str(),
            "idempotence": self.idempotence,
            "compression": self.compression.as_str(),
            "linger_ms": self.linger_ms,
            "batch_size": self.batch_size,
        })
    }
}

/// Creates `topic` with `partitions` partitions unless it exists already.
pub async fn ensure_topic(
    connect: &ConnectArgs,
    topic: &str,
    partitions: i32,
    replication: i32,
) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = connect
        .config()?
        .create()
        .context("creating the admin client")?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(replication));
    let options = AdminOptions::new().operation_timeout(Some(Duration::from_secs(30)));
    let results = admin
        .create_topics([&new], &options)
        .await
        .with_context(|| format!("creating topic {topic}"))?;
    for result in results {
        match result {
            Ok(_) => eprintln!("created topic {topic} with {partitions} partitions"),
            Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => bail!("creating topic {name}: {code}"),
        }
    }
    Ok(())
}

/// How record keys are chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum KeyDistribution {
    /// No keys: the producer spreads records over partitions itself.
    None,
    /// Keys 0, 1, ... keys-1, 0, 1, ...
    Sequential,
    /// Uniformly random keys in 0..keys.
    Random,
}

/// Generates record keys.
#[derive(Debug, Clone)]
pub struct Keys {
    distribution: KeyDistribution,
    keys: u64,
    next: u64,
    rng: u64,
}

impl Keys {
    /// A key generator; `seed` makes parallel producers differ.
    pub fn new(distribution: KeyDistribution, keys: u64, seed: u64) -> Keys {
        Keys {
            distribution,
            keys: keys.max(1),
            next: seed,
            rng: seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1,
        }
    }

    /// The next key, written into `buf`; `None` when records carry no key.
    pub fn next_key<'a>(&mut self, buf: &'a mut String) -> Option<&'a str> {
        let n = match self.distribution {
            KeyDistribution::None => return None,
            KeyDistribution::Sequential => {
                let n = self.next % self.keys;
                self.next = self.next.wrapping_add(1);
                n
            }
            KeyDistribution::Random => {
                // xorshift64*: cheap, and good enough to spread keys.
                self.rng ^= self.rng >> 12;
                self.rng ^= self.rng << 25;
                self.rng ^= self.rng >> 27;
                self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D) % self.keys
            }
        };
        buf.clear();
        use std::fmt::Write;
        let _ = write!(buf, "key-{n}");
        Some(buf.as_str())
    }
}

/// A payload of `size` bytes of printable, poorly compressible text, like
/// Kafka's perf tool generates.
pub fn payload(size: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..size)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            b'A' + (x % 26) as u8
        })
        .collect()
}

/// Paces a sender to a target rate, sleeping when it is ahead of schedule.
#[derive(Debug)]
pub struct Throttle {
    per_sec: Option<f64>,
    start: Instant,
}

impl Throttle {
    /// A throttle for `per_sec` records per second; negative or zero means
    /// unthrottled.
    pub fn new(per_sec: f64) -> Throttle {
        Throttle {
            per_sec: (per_sec > 0.0).then_some(per_sec),
            start: Instant::now(),
        }
    }

    /// How long after the start record number `sent` is due, or `None`
    /// when unthrottled.
    pub fn due(&self, sent: u64) -> Option<Duration> {
        self.per_sec
            .map(|rate| Duration::from_secs_f64(sent as f64 / rate))
    }

    /// Waits until `sent` records are due.
    pub fn wait(&self, sent: u64) {
        let Some(due) = self.due(sent) else {
            return;
        };
        let elapsed = self.start.elapsed();
        if due > elapsed {
            std::thread::sleep(due - elapsed);
        }
    }
}

/// Microseconds since the Unix epoch, for timestamps that travel in payloads.
pub fn unix_micros() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_micros()).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_follow_their_distribution() {
        let mut buf = String::new();
        let mut none = Keys::new(KeyDistribution::None, 10, 0);
        assert_eq!(none.next_key(&mut buf), None);
        let mut seq = Keys::new(KeyDistribution::Sequential, 3, 0);
        let got: Vec<String> = (0..4)
            .map(|_| {
                seq.next_key(&mut buf)
                    .map(str::to_owned)
                    .unwrap_or_default()
            })
            .collect();
        assert_eq!(got, ["key-0", "key-1", "key-2", "key-0"]);
        let mut random = Keys::new(KeyDistribution::Random, 5, 7);
        for _ in 0..100 {
            let k = random
                .next_key(&mut buf)
                .map(str::to_owned)
                .unwrap_or_default();
            let n: u64 = k.trim_start_matches("key-").parse().unwrap_or(99);
            assert!(n < 5);
        }
    }

    #[test]
    fn payloads_have_the_requested_size_and_differ_by_seed() {
        assert_eq!(payload(100, 1).len(), 100);
        assert_ne!(payload(32, 1), payload(32, 2));
    }

    #[test]
    fn properties_must_be_key_value_pairs() {
        let bad = ConnectArgs {
            bootstrap: "x:1".into(),
            properties: vec!["nokey".into()],
        };
        assert!(bad.config().is_err());
        let good = ConnectArgs {
            bootstrap: "x:1".into(),
            properties: vec!["client.id = bench".into()],
        };
        let config = good.config().unwrap_or_default();
        assert_eq!(config.get("client.id"), Some("bench"));
    }

    #[test]
    fn the_throttle_schedules_records_at_the_rate() {
        let t = Throttle::new(1000.0);
        assert_eq!(t.due(0), Some(Duration::ZERO));
        assert_eq!(t.due(50), Some(Duration::from_millis(50)));
        assert_eq!(t.due(2000), Some(Duration::from_secs(2)));
        assert_eq!(Throttle::new(-1.0).due(1_000_000), None);
        assert_eq!(Throttle::new(0.0).due(1), None);
    }
}
