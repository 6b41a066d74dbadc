//! Every static broker config weir reads, with Kafka's default, type and a
//! line of documentation: what DescribeConfigs on a broker lists, marking
//! each value as set in the broker's properties (`STATIC_BROKER_CONFIG`) or
//! left at its default (`DEFAULT_CONFIG`), as Kafka does. Topic defaults
//! (`log.*`) and the dynamic broker configs are listed from their own
//! tables.

use super::topic::ConfigType;

/// One static broker config.
#[derive(Debug, Clone, Copy)]
pub struct StaticBrokerConfig {
    /// Kafka's name.
    pub name: &'static str,
    /// Kafka's default, `None` where Kafka has none (null).
    pub default: Option<&'static str>,
    /// Its type.
    pub kind: ConfigType,
    /// What it does.
    pub doc: &'static str,
}

const fn def(
    name: &'static str,
    default: Option<&'static str>,
    kind: ConfigType,
    doc: &'static str,
) -> StaticBrokerConfig {
    StaticBrokerConfig {
        name,
        default,
        kind,
        doc,
    }
}

use ConfigType::{Boolean, Int, List, Long, Password, String as Str};

/// The table, in Kafka's alphabetical order of names.
pub const STATIC_BROKER_CONFIGS: &[StaticBrokerConfig] = &[
    def(
        "advertised.listeners",
        None,
        Str,
        "Listeners clients are told to connect to, if different from listeners.",
    ),
    def(
        "auto.create.topics.enable",
        Some("true"),
        Boolean,
        "Create a topic on first use by a producer or a metadata request.",
    ),
    def(
        "auto.leader.rebalance.enable",
        Some("true"),
        Boolean,
        "Move leaderships back to preferred replicas in the background.",
    ),
    def(
        "broker.heartbeat.interval.ms",
        Some("2000"),
        Int,
        "How often a broker heartbeats to the controller.",
    ),
    def("broker.id", Some("-1"), Int, "Synonym of node.id."),
    def(
        "broker.rack",
        None,
        Str,
        "Rack of the broker, for rack-aware replica placement.",
    ),
    def(
        "broker.session.timeout.ms",
        Some("9000"),
        Int,
        "How long the controller waits for a heartbeat before fencing a broker.",
    ),
    def(
        "cluster.id",
        None,
        Str,
        "The cluster's id, formatted into the log directory on first start.",
    ),
    def(
        "connections.max.idle.ms",
        Some("600000"),
        Long,
        "Idle connections are closed after this many milliseconds.",
    ),
    def(
        "controller.quorum.election.timeout.ms",
        Some("1000"),
        Int,
        "How long without a leader before a quorum voter starts an election.",
    ),
    def(
        "controller.quorum.voters",
        None,
        List,
        "The metadata quorum's voters as id@host:port.",
    ),
    def(
        "default.replication.factor",
        Some("1"),
        Int,
        "Replication factor of automatically created topics.",
    ),
    def(
        "group.consumer.assignors",
        Some("uniform,range"),
        List,
        "Server-side assignors of consumer groups; the first is the default.",
    ),
    def(
        "group.consumer.heartbeat.interval.ms",
        Some("5000"),
        Int,
        "Heartbeat interval given to consumer group members.",
    ),
    def(
        "group.consumer.max.heartbeat.interval.ms",
        Some("15000"),
        Int,
        "Largest allowed consumer group heartbeat interval.",
    ),
    def(
        "group.consumer.max.session.timeout.ms",
        Some("60000"),
        Int,
        "Largest allowed consumer group session timeout.",
    ),
    def(
        "group.consumer.max.size",
        Some("2147483647"),
        Int,
        "Most members a consumer group may have.",
    ),
    def(
        "group.consumer.migration.policy",
        Some("bidirectional"),
        Str,
        "Conversions allowed between classic and consumer groups.",
    ),
    def(
        "group.consumer.min.heartbeat.interval.ms",
        Some("5000"),
        Int,
        "Smallest allowed consumer group heartbeat interval.",
    ),
    def(
        "group.consumer.min.session.timeout.ms",
        Some("45000"),
        Int,
        "Smallest allowed consumer group session timeout.",
    ),
    def(
        "group.consumer.session.timeout.ms",
        Some("45000"),
        Int,
        "Session timeout of consumer group members.",
    ),
    def(
        "group.coordinator.rebalance.protocols",
        Some("classic,consumer"),
        List,
        "Group protocols the coordinator runs.",
    ),
    def(
        "group.initial.rebalance.delay.ms",
        Some("3000"),
        Int,
        "How long the first rebalance of a classic group waits for more members.",
    ),
    def(
        "group.max.session.timeout.ms",
        Some("1800000"),
        Int,
        "Largest session timeout a classic group member may ask for.",
    ),
    def(
        "group.max.size",
        Some("2147483647"),
        Int,
        "Most members a classic group may have.",
    ),
    def(
        "group.min.session.timeout.ms",
        Some("6000"),
        Int,
        "Smallest session timeout a classic group member may ask for.",
    ),
    def(
        "leader.imbalance.check.interval.seconds",
        Some("300"),
        Long,
        "How often leadership balance is checked.",
    ),
    def(
        "leader.imbalance.per.broker.percentage",
        Some("10"),
        Int,
        "Leadership imbalance per broker allowed before a rebalance.",
    ),
    def(
        "listener.security.protocol.map",
        Some("SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"),
        Str,
        "The security protocol of each listener name (PLAINTEXT and SSL are served).",
    ),
    def(
        "listeners",
        Some("PLAINTEXT://:9092"),
        Str,
        "Addresses the broker listens on.",
    ),
    def(
        "log.cleaner.backoff.ms",
        Some("15000"),
        Long,
        "How long the cleaner sleeps when there is nothing to clean.",
    ),
    def(
        "log.dir",
        Some("/tmp/kafka-logs"),
        Str,
        "The log directory, if log.dirs is not set.",
    ),
    def("log.dirs", None, List, "The log directories."),
    def(
        "log.retention.check.interval.ms",
        Some("300000"),
        Long,
        "How often retention runs.",
    ),
    def(
        "log.retention.hours",
        Some("168"),
        Int,
        "Retention in hours, a synonym of log.retention.ms.",
    ),
    def(
        "log.retention.minutes",
        None,
        Int,
        "Retention in minutes, a synonym of log.retention.ms.",
    ),
    def(
        "log.roll.hours",
        Some("168"),
        Int,
        "Segment roll time in hours, a synonym of log.roll.ms.",
    ),
    def(
        "max.connections",
        Some("2147483647"),
        Int,
        "Most connections the broker accepts.",
    ),
    def(
        "max.connections.per.ip",
        Some("2147483647"),
        Int,
        "Most connections accepted from one address.",
    ),
    def(
        "max.incremental.fetch.session.cache.slots",
        Some("1000"),
        Int,
        "Most incremental fetch sessions cached.",
    ),
    def("node.id", Some("-1"), Int, "This broker's id."),
    def(
        "num.partitions",
        Some("1"),
        Int,
        "Partitions of automatically created topics.",
    ),
    def(
        "offset.metadata.max.bytes",
        Some("4096"),
        Int,
        "Largest metadata string of an offset commit.",
    ),
    def(
        "offsets.retention.check.interval.ms",
        Some("600000"),
        Long,
        "How often expired offsets are looked for.",
    ),
    def(
        "offsets.retention.minutes",
        Some("10080"),
        Int,
        "How long committed offsets of an empty group are kept.",
    ),
    def(
        "offsets.topic.num.partitions",
        Some("50"),
        Int,
        "Partitions of __consumer_offsets.",
    ),
    def(
        "offsets.topic.replication.factor",
        Some("3"),
        Int,
        "Replication factor of __consumer_offsets, capped at the brokers present.",
    ),
    def(
        "queued.max.request.bytes",
        Some("-1"),
        Long,
        "Bytes of requests queued before reading stops; -1 for no limit.",
    ),
    def(
        "replica.fetch.max.bytes",
        Some("1048576"),
        Int,
        "Bytes a follower asks for per partition.",
    ),
    def(
        "replica.fetch.wait.max.ms",
        Some("500"),
        Int,
        "How long a follower's fetch waits for data.",
    ),
    def(
        "replica.lag.time.max.ms",
        Some("30000"),
        Long,
        "How long a follower may lag before it leaves the ISR.",
    ),
    def(
        "socket.request.max.bytes",
        Some("104857600"),
        Int,
        "Largest request accepted.",
    ),
    def(
        "ssl.cipher.suites",
        Some(""),
        List,
        "TLS cipher suites TLS listeners offer, by IANA name; empty for rustls' safe defaults.",
    ),
    def(
        "ssl.client.auth",
        Some("none"),
        Str,
        "Whether TLS listeners ask clients for a certificate: none, requested or required.",
    ),
    def(
        "ssl.enabled.protocols",
        Some("TLSv1.2,TLSv1.3"),
        List,
        "TLS versions TLS listeners accept.",
    ),
    def(
        "ssl.keystore.certificate.chain",
        None,
        Password,
        "The certificate chain in PEM, with ssl.keystore.key, instead of a key store file.",
    ),
    def(
        "ssl.keystore.key",
        None,
        Password,
        "The private key in PEM, with ssl.keystore.certificate.chain, instead of a key store file.",
    ),
    def(
        "ssl.keystore.location",
        None,
        Str,
        "A PEM file with the private key and the certificate chain; re-read when it changes.",
    ),
    def(
        "ssl.keystore.type",
        Some("JKS"),
        Str,
        "The key store format; weir reads PEM.",
    ),
    def(
        "ssl.principal.mapping.rules",
        Some("DEFAULT"),
        Str,
        "How a client certificate's subject becomes a principal: RULE:pattern/replacement/[LU] entries and DEFAULT.",
    ),
    def(
        "ssl.truststore.certificates",
        None,
        Password,
        "The trusted CA certificates in PEM, instead of a trust store file.",
    ),
    def(
        "ssl.truststore.location",
        None,
        Str,
        "A PEM file of the CA certificates trusted for client certificates; re-read when it changes.",
    ),
    def(
        "ssl.truststore.type",
        Some("JKS"),
        Str,
        "The trust store format; weir reads PEM.",
    ),
];

/// The entry of a static broker config.
pub fn by_name(name: &str) -> Option<&'static StaticBrokerConfig> {
    STATIC_BROKER_CONFIGS.iter().find(|d| d.name == name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_key_the_broker_reads_is_described() {
        let read = super::super::BROKER_KEYS
            .iter()
            .chain(super::super::connections::KEYS)
            .chain(super::super::cluster::KEYS)
            .chain(super::super::security::KEYS)
            .chain(crate::group::consumer::config::KEYS);
        let missing: Vec<&&str> = read
            .filter(|k| !k.starts_with("weir.") && by_name(k).is_none())
            .collect();
        assert!(
            missing.is_empty(),
            "not in STATIC_BROKER_CONFIGS: {missing:?}"
        );
    }

    #[test]
    fn the_table_is_sorted_and_unique() {
        let names: Vec<&str> = STATIC_BROKER_CONFIGS.iter().map(|d| d.name).collect();
        let mut sorted = names.clone();
        sorted.sort_unstable();
        sorted.dedup();
        assert_eq!(names, sorted);
    }
}
