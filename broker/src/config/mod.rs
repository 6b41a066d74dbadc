//! Broker configuration from flags, environment variables and a Kafka-style
//! properties file.
//!
//! Every setting has a Kafka key (`node.id`, `log.retention.ms`, ...). Values are
//! gathered into one key/value map — properties file first, then `--override`,
//! then flags and `WEIR_*` environment variables — and parsed once, so the three
//! ways of configuring the broker cannot disagree on meaning.

pub mod cluster;
pub mod connections;
pub mod effective;
pub mod kafka_broker;
pub mod listener;
pub mod security;
pub mod static_broker;
pub mod topic;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use clap::{Parser, ValueEnum};

pub use crate::group::config::GroupConfig;
pub use crate::properties::ConfigError;
use crate::properties::{invalid, parse, parse_at_least_one};

pub use cluster::{ClusterConfig, Voter};
pub use connections::ConnectionLimits;
pub use listener::Listener;

/// How the broker writes its logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log collectors.
    Json,
}

/// Command line of `weir-broker`. Flags not given fall back to the properties
/// file, then to Kafka's defaults (shown in brackets).
#[derive(Debug, Parser)]
#[command(
    name = "weir-broker",
    version,
    about = "A Kafka-compatible message broker. With no arguments it serves PLAINTEXT://127.0.0.1:9092 with data in ./weir-data.",
    after_help = "Every flag is also an environment variable (shown) and a Kafka key in the --config file (shown in parentheses). Any other Kafka broker key can be given with --override key=value."
)]
pub struct Cli {
    /// Kafka-style properties file (key=value lines using Kafka's broker keys).
    #[arg(long, env = "WEIR_CONFIG", value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// This broker's id (node.id) [default: 0].
    #[arg(long, env = "WEIR_NODE_ID")]
    pub node_id: Option<i32>,
    /// The cluster id (cluster.id); generated on first start when absent.
    /// Kafka's ids are URL-safe base64 and may start with `-`.
    #[arg(long, env = "WEIR_CLUSTER_ID", allow_hyphen_values = true)]
    pub cluster_id: Option<String>,
    /// Comma-separated listeners to bind (listeners) [default: PLAINTEXT://127.0.0.1:9092].
    #[arg(long, env = "WEIR_LISTENERS")]
    pub listeners: Option<String>,
    /// Listeners clients are told to connect to (advertised.listeners) [default: the listeners].
    #[arg(long, env = "WEIR_ADVERTISED_LISTENERS")]
    pub advertised_listeners: Option<String>,
    /// Directory holding the partition logs and metadata (log.dirs) [default: ./weir-data].
    #[arg(long, env = "WEIR_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// The gRPC listener for the metadata quorum and replication
    /// (weir.internal.listener) [default: 127.0.0.1:9093].
    #[arg(long, env = "WEIR_INTERNAL_LISTENER")]
    pub internal_listener: Option<String>,
    /// The quorum's voters, id@host:port,... (controller.quorum.voters) [default: this broker alone].
    #[arg(long, env = "WEIR_CONTROLLER_VOTERS")]
    pub controller_voters: Option<String>,
    /// Address of the HTTP server for /metrics, /healthz and /readyz (weir.http.listener) [default: 127.0.0.1:8080].
    #[arg(long, env = "WEIR_HTTP_LISTENER")]
    pub http_listener: Option<String>,
    /// Rack of this broker, for rack-aware replica placement (broker.rack).
    #[arg(long, env = "WEIR_RACK")]
    pub rack: Option<String>,
    /// Partitions of an auto-created topic (num.partitions) [default: 1].
    #[arg(long, env = "WEIR_NUM_PARTITIONS")]
    pub num_partitions: Option<i32>,
    /// Replication factor of auto-created topics (default.replication.factor) [default: 1].
    #[arg(long, env = "WEIR_DEFAULT_REPLICATION_FACTOR")]
    pub default_replication_factor: Option<i16>,
    /// Create a topic when a client asks for metadata of or produces to an unknown one (auto.create.topics.enable) [default: true].
    #[arg(long, env = "WEIR_AUTO_CREATE_TOPICS_ENABLE")]
    pub auto_create_topics_enable: Option<bool>,
    /// Default topic retention time; -1 keeps forever (log.retention.ms) [default: 604800000].
    #[arg(long, env = "WEIR_LOG_RETENTION_MS", allow_negative_numbers = true)]
    pub log_retention_ms: Option<i64>,
    /// Default size a partition may reach before old segments are deleted; -1 for no limit (log.retention.bytes) [default: -1].
    #[arg(long, env = "WEIR_LOG_RETENTION_BYTES", allow_negative_numbers = true)]
    pub log_retention_bytes: Option<i64>,
    /// Default segment file size (log.segment.bytes) [default: 1073741824].
    #[arg(long, env = "WEIR_LOG_SEGMENT_BYTES")]
    pub log_segment_bytes: Option<i32>,
    /// Default time before a segment is rolled (log.roll.ms) [default: 604800000].
    #[arg(long, env = "WEIR_LOG_ROLL_MS")]
    pub log_roll_ms: Option<i64>,
    /// Default cleanup policy: delete, compact or both (log.cleanup.policy) [default: delete].
    #[arg(long, env = "WEIR_LOG_CLEANUP_POLICY")]
    pub log_cleanup_policy: Option<String>,
    /// How often retention is enforced (log.retention.check.interval.ms) [default: 300000].
    #[arg(long, env = "WEIR_LOG_RETENTION_CHECK_INTERVAL_MS")]
    pub log_retention_check_interval_ms: Option<u64>,
    /// Default largest record batch (message.max.bytes) [default: 1048588].
    #[arg(long, env = "WEIR_MESSAGE_MAX_BYTES")]
    pub message_max_bytes: Option<i32>,
    /// Default fewest in-sync replicas for acks=all (min.insync.replicas) [default: 1].
    #[arg(long, env = "WEIR_MIN_INSYNC_REPLICAS")]
    pub min_insync_replicas: Option<i32>,
    /// Largest request frame accepted; larger ones close the connection (socket.request.max.bytes) [default: 104857600].
    #[arg(long, env = "WEIR_SOCKET_REQUEST_MAX_BYTES")]
    pub socket_request_max_bytes: Option<i32>,
    /// Log output format (weir.log.format) [default: text].
    #[arg(long, env = "WEIR_LOG_FORMAT", value_enum)]
    pub log_format: Option<LogFormat>,
    /// Any Kafka broker key, e.g. --override log.segment.bytes=1048576 (repeatable).
    #[arg(long = "override", value_name = "KEY=VALUE")]
    pub overrides: Vec<String>,
}

impl Cli {
    fn flag_properties(&self) -> Vec<(&'static str, String)> {
        fn put<T: ToString>(
            out: &mut Vec<(&'static str, String)>,
            key: &'static str,
            v: &Option<T>,
        ) {
            if let Some(v) = v {
                out.push((key, v.to_string()));
            }
        }
        let mut out = Vec::new();
        put(&mut out, "node.id", &self.node_id);
        put(&mut out, "cluster.id", &self.cluster_id);
        put(&mut out, "listeners", &self.listeners);
        put(&mut out, "advertised.listeners", &self.advertised_listeners);
        put(
            &mut out,
            "log.dirs",
            &self.data_dir.as_ref().map(|p| p.display().to_string()),
        );
        put(&mut out, "weir.http.listener", &self.http_listener);
        put(&mut out, "weir.internal.listener", &self.internal_listener);
        put(
            &mut out,
            "controller.quorum.voters",
            &self.controller_voters,
        );
        put(&mut out, "broker.rack", &self.rack);
        put(&mut out, "num.partitions", &self.num_partitions);
        put(
            &mut out,
            "default.replication.factor",
            &self.default_replication_factor,
        );
        put(
            &mut out,
            "auto.create.topics.enable",
            &self.auto_create_topics_enable,
        );
        put(&mut out, "log.retention.ms", &self.log_retention_ms);
        put(&mut out, "log.retention.bytes", &self.log_retention_bytes);
        put(&mut out, "log.segment.bytes", &self.log_segment_bytes);
        put(&mut out, "log.roll.ms", &self.log_roll_ms);
        put(&mut out, "log.cleanup.policy", &self.log_cleanup_policy);
        put(
            &mut out,
            "log.retention.check.interval.ms",
            &self.log_retention_check_interval_ms,
        );
        put(&mut out, "message.max.bytes", &self.message_max_bytes);
        put(&mut out, "min.insync.replicas", &self.min_insync_replicas);
        put(
            &mut out,
            "socket.request.max.bytes",
            &self.socket_request_max_bytes,
        );
        put(
            &mut out,
            "weir.log.format",
            &self.log_format.map(|f| match f {
                LogFormat::Text => "text",
                LogFormat::Json => "json",
            }),
        );
        out
    }

    /// Merges file, overrides and flags into one Kafka key/value map.
    pub fn properties(&self) -> Result<BTreeMap<String, String>, ConfigError> {
        let mut props = match &self.config {
            Some(path) => read_properties_file(path)?,
            None => BTreeMap::new(),
        };
        for o in &self.overrides {
            let (k, v) = o
                .split_once('=')
                .ok_or_else(|| ConfigError::BadOverride(o.clone()))?;
            props.insert(k.trim().to_string(), v.trim().to_string());
        }
        for (k, v) in self.flag_properties() {
            props.insert(k.to_string(), v);
        }
        Ok(props)
    }
}

fn read_properties_file(path: &Path) -> Result<BTreeMap<String, String>, ConfigError> {
    let file = std::fs::File::open(path).map_err(|e| ConfigError::File {
        path: path.to_path_buf(),
        reason: e.to_string(),
    })?;
    let map =
        java_properties::read(std::io::BufReader::new(file)).map_err(|e| ConfigError::File {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
    Ok(map.into_iter().collect())
}

/// The broker's settings, parsed and checked.
#[derive(Debug, Clone)]
pub struct BrokerConfig {
    /// This broker's id.
    pub node_id: i32,
    /// The cluster id given by the operator, if any.
    pub cluster_id: Option<String>,
    /// Addresses to bind.
    pub listeners: Vec<Listener>,
    /// Addresses clients are told to use.
    pub advertised_listeners: Vec<Listener>,
    /// Each listener with its security protocol and TLS settings.
    pub secured_listeners: Vec<security::SecuredListener>,
    /// Root of all on-disk state.
    pub data_dir: PathBuf,
    /// Bind address of the HTTP server.
    pub http_listener: String,
    /// Rack of this broker.
    pub rack: Option<String>,
    /// Partitions of auto-created topics.
    pub num_partitions: i32,
    /// Replication factor of auto-created topics.
    pub default_replication_factor: i16,
    /// Whether Metadata and Produce may create unknown topics.
    pub auto_create_topics_enable: bool,
    /// Largest request frame accepted.
    pub socket_request_max_bytes: i32,
    /// How often retention runs.
    pub log_retention_check_interval_ms: u64,
    /// Log output format.
    pub log_format: LogFormat,
    /// Broker-level defaults of topic configs, keyed by their broker key
    /// (e.g. `log.retention.ms`).
    pub topic_defaults: BTreeMap<String, String>,
    /// Consumer group coordinator settings.
    pub groups: GroupConfig,
    /// How often the log cleaner looks for compacted logs to clean.
    pub log_cleaner_backoff_ms: u64,
    /// `max.incremental.fetch.session.cache.slots`: fetch sessions kept.
    pub fetch_session_cache_slots: usize,
    /// Connection and request-queue limits.
    pub connections: ConnectionLimits,
    /// The quorum, the internal listener and replication timings.
    pub cluster: ClusterConfig,
    /// Keys that were given but mean nothing to weir; logged as warnings.
    pub unknown_keys: Vec<String>,
    /// The broker configs set in the properties that are Kafka's (or
    /// weir's static ones), as given: what DescribeConfigs reports as
    /// `STATIC_BROKER_CONFIG`.
    pub static_props: BTreeMap<String, String>,
}

const BROKER_KEYS: &[&str] = &[
    "node.id",
    "broker.id",
    "cluster.id",
    "listeners",
    "advertised.listeners",
    "log.dirs",
    "log.dir",
    "weir.http.listener",
    "broker.rack",
    "num.partitions",
    "default.replication.factor",
    "auto.create.topics.enable",
    "log.retention.check.interval.ms",
    "socket.request.max.bytes",
    "weir.log.format",
    "log.retention.hours",
    "log.retention.minutes",
    "log.roll.hours",
    "offsets.topic.num.partitions",
    "offsets.topic.replication.factor",
    "offset.metadata.max.bytes",
    "offsets.retention.minutes",
    "offsets.retention.check.interval.ms",
    "group.min.session.timeout.ms",
    "group.max.session.timeout.ms",
    "group.initial.rebalance.delay.ms",
    "group.max.size",
    "log.cleaner.backoff.ms",
    "max.incremental.fetch.session.cache.slots",
];

impl BrokerConfig {
    /// Parses the merged key/value map, applying Kafka's defaults.
    pub fn from_properties(props: &BTreeMap<String, String>) -> Result<Self, ConfigError> {
        let get = |k: &str| props.get(k).map(|v| v.trim());
        let listeners =
            listener::parse_list(get("listeners").unwrap_or("PLAINTEXT://127.0.0.1:9092"))
                .map_err(|e| invalid("listeners", get("listeners").unwrap_or(""), e.to_string()))?;
        if listeners.is_empty() {
            return Err(invalid(
                "listeners",
                "",
                "at least one listener is required",
            ));
        }
        let secured_listeners = security::secure_listeners(&listeners, props)?;
        let advertised_listeners = match get("advertised.listeners") {
            Some(v) => listener::parse_list(v)
                .map_err(|e| invalid("advertised.listeners", v, e.to_string()))?,
            None => listeners.clone(),
        };
        let data_dir = get("log.dirs")
            .or_else(|| get("log.dir"))
            .map(|d| {
                if d.contains(',') {
                    Err(invalid("log.dirs", d, "weir uses a single data directory"))
                } else {
                    Ok(PathBuf::from(d))
                }
            })
            .transpose()?
            .unwrap_or_else(|| PathBuf::from("./weir-data"));
        let log_format = match get("weir.log.format").unwrap_or("text") {
            "text" => LogFormat::Text,
            "json" => LogFormat::Json,
            other => return Err(invalid("weir.log.format", other, "expected text or json")),
        };
        let num_partitions: i32 = parse_at_least_one(props, "num.partitions", 1)?;
        let default_replication_factor: i16 =
            parse_at_least_one(props, "default.replication.factor", 1)?;
        let socket_request_max_bytes: i32 =
            parse_at_least_one(props, "socket.request.max.bytes", 104_857_600)?;
        let node_id = match get("node.id") {
            Some(_) => parse(props, "node.id", 0)?,
            None => parse(props, "broker.id", 0)?,
        };
        if node_id < 0 {
            return Err(invalid(
                "node.id",
                &node_id.to_string(),
                "must not be negative",
            ));
        }

        let topic_defaults = topic_defaults(props)?;
        let unknown_keys = props
            .keys()
            .filter(|k| {
                !BROKER_KEYS.contains(&k.as_str())
                    && !connections::KEYS.contains(&k.as_str())
                    && !cluster::KEYS.contains(&k.as_str())
                    && !security::KEYS.contains(&k.as_str())
                    && !k.starts_with("listener.name.")
                    && !crate::group::consumer::config::KEYS.contains(&k.as_str())
                    && !topic::TOPIC_CONFIGS
                        .iter()
                        .any(|d| d.broker_key == k.as_str())
            })
            .cloned()
            .collect();

        let advertised_host = advertised_listeners
            .first()
            .map(|l| l.host.clone())
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string());
        let cluster = ClusterConfig::from_properties(props, node_id, &advertised_host)?;
        Ok(BrokerConfig {
            cluster,
            node_id,
            cluster_id: get("cluster.id").map(str::to_string),
            listeners,
            advertised_listeners,
            secured_listeners,
            data_dir,
            http_listener: get("weir.http.listener")
                .unwrap_or("127.0.0.1:8080")
                .to_string(),
            // An empty rack (e.g. a missing node label passed through the
            // downward API) means no rack.
            rack: get("broker.rack")
                .filter(|r| !r.is_empty())
                .map(str::to_string),
            num_partitions,
            default_replication_factor,
            auto_create_topics_enable: parse(props, "auto.create.topics.enable", true)?,
            socket_request_max_bytes,
            log_retention_check_interval_ms: parse(
                props,
                "log.retention.check.interval.ms",
                300_000,
            )?,
            log_format,
            topic_defaults,
            groups: GroupConfig::from_properties(props)?,
            log_cleaner_backoff_ms: parse(props, "log.cleaner.backoff.ms", 15_000)?,
            fetch_session_cache_slots: parse(
                props,
                "max.incremental.fetch.session.cache.slots",
                1000,
            )?,
            connections: ConnectionLimits::from_properties(props, socket_request_max_bytes)?,
            unknown_keys,
            static_props: props
                .iter()
                .filter(|(k, _)| {
                    static_broker::by_name(k).is_some() || kafka_broker::by_name(k).is_some()
                })
                .map(|(k, v)| (k.clone(), v.trim().to_string()))
                .collect(),
        })
    }

    /// Parses the command line, environment and properties file.
    pub fn load() -> Result<Self, ConfigError> {
        Self::from_properties(&Cli::parse().properties()?)
    }
}

/// Collects broker keys that default topic configs, folding Kafka's
/// hours/minutes synonyms into their millisecond keys.
fn topic_defaults(
    props: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let mut out = BTreeMap::new();
    for def in topic::TOPIC_CONFIGS {
        if let Some(v) = props.get(def.broker_key) {
            topic::validate(def.name, v).map_err(|e| invalid(def.broker_key, v, e.to_string()))?;
            out.insert(def.broker_key.to_string(), v.trim().to_string());
        }
    }
    let synonyms = [
        ("log.retention.ms", "log.retention.minutes", 60_000i64),
        ("log.retention.ms", "log.retention.hours", 3_600_000),
        ("log.roll.ms", "log.roll.hours", 3_600_000),
    ];
    for (ms_key, key, factor) in synonyms {
        if out.contains_key(ms_key) {
            continue;
        }
        if let Some(v) = props.get(key) {
            let n: i64 = v
                .trim()
                .parse()
                .map_err(|_| invalid(key, v, "expected an integer"))?;
            out.insert(ms_key.to_string(), n.saturating_mul(factor).to_string());
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cli(args: &[&str]) -> Cli {
        let mut all = vec!["weir-broker"];
        all.extend_from_slice(args);
        Cli::try_parse_from(all).unwrap()
    }

    #[test]
    fn no_arguments_gives_a_local_broker() {
        let cfg = BrokerConfig::from_properties(&BTreeMap::new()).unwrap();
        assert_eq!(cfg.listeners[0].to_string(), "PLAINTEXT://127.0.0.1:9092");
        assert_eq!(cfg.advertised_listeners, cfg.listeners);
        assert_eq!(cfg.data_dir, PathBuf::from("./weir-data"));
        assert_eq!(cfg.num_partitions, 1);
        assert!(cfg.auto_create_topics_enable);
    }

    #[test]
    fn an_empty_rack_means_no_rack() {
        let props = cli(&["--rack", ""]).properties().unwrap();
        assert_eq!(BrokerConfig::from_properties(&props).unwrap().rack, None);
        let props = cli(&["--rack", "eu-west-1a"]).properties().unwrap();
        assert_eq!(
            BrokerConfig::from_properties(&props)
                .unwrap()
                .rack
                .as_deref(),
            Some("eu-west-1a")
        );
    }

    #[test]
    fn a_cluster_id_starting_with_a_dash_is_a_value_not_a_flag() {
        let c = cli(&["--cluster-id", "-EEebA73QUOh6rUUyJTaaA", "--node-id", "1"]);
        let cfg = BrokerConfig::from_properties(&c.properties().unwrap()).unwrap();
        assert_eq!(cfg.cluster_id.as_deref(), Some("-EEebA73QUOh6rUUyJTaaA"));
    }

    #[test]
    fn flags_override_overrides_which_override_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("server.properties");
        std::fs::write(
            &file,
            "num.partitions=3\nlog.retention.hours=1\nnode.id=4\nprocess.roles=broker\n",
        )
        .unwrap();
        let path = file.to_str().unwrap();
        let c = cli(&[
            "--config",
            path,
            "--override",
            "num.partitions=5",
            "--node-id",
            "7",
        ]);
        let cfg = BrokerConfig::from_properties(&c.properties().unwrap()).unwrap();
        assert_eq!(cfg.num_partitions, 5);
        assert_eq!(cfg.node_id, 7);
        assert_eq!(
            cfg.topic_defaults
                .get("log.retention.ms")
                .map(String::as_str),
            Some("3600000")
        );
        assert_eq!(cfg.unknown_keys, vec!["process.roles".to_string()]);
    }

    #[test]
    fn bad_values_name_the_key() {
        let props = BTreeMap::from([("log.retention.ms".to_string(), "soon".to_string())]);
        let err = BrokerConfig::from_properties(&props)
            .unwrap_err()
            .to_string();
        assert!(err.contains("log.retention.ms"), "{err}");
        let props = BTreeMap::from([("listeners".to_string(), "localhost:9092".to_string())]);
        assert!(BrokerConfig::from_properties(&props).is_err());
        assert!(Cli::try_parse_from(["weir-broker", "--num-partitions", "x"]).is_err());
    }
}
