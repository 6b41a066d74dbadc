//! Every broker config Apache Kafka 4.0 defines, with its type, default and
//! update mode, as Kafka's DescribeConfigs reports them. Admin tools list
//! and change these names; weir reports the ones it has no use for (SSL,
//! SASL, thread pools, connection quotas, tiered storage, share groups) at
//! Kafka's defaults, and accepts dynamic changes to them as Kafka would,
//! though they change nothing here. The configs weir does read are listed
//! from their own tables, which this one never overrides.

use super::topic::ConfigType;

/// When Kafka lets a config change (its "Update Mode").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateMode {
    /// Only in the properties file: a restart.
    ReadOnly,
    /// Dynamically, for one broker at a time.
    PerBroker,
    /// Dynamically, per broker or as the cluster-wide default.
    ClusterWide,
}

/// One Kafka broker config.
#[derive(Debug, Clone, Copy)]
pub struct KafkaBrokerConfig {
    /// Kafka's name.
    pub name: &'static str,
    /// Kafka's default, `None` where Kafka has none (null).
    pub default: Option<&'static str>,
    /// Its type; a password's value is never shown.
    pub kind: ConfigType,
    /// When it may change.
    pub mode: UpdateMode,
}

/// The documentation DescribeConfigs gives these configs.
pub const DOC: &str = "A Kafka broker config weir accepts and reports but has no use for.";

const fn k(
    name: &'static str,
    default: Option<&'static str>,
    kind: ConfigType,
    mode: UpdateMode,
) -> KafkaBrokerConfig {
    KafkaBrokerConfig {
        name,
        default,
        kind,
        mode,
    }
}

use ConfigType::{Boolean, Class, Double, Int, List, Long, Password, Short, String as Str};
use UpdateMode::{ClusterWide, PerBroker, ReadOnly};

/// Kafka 4.0's broker configs, by name.
pub const KAFKA_BROKER_CONFIGS: &[KafkaBrokerConfig] = &[
    k("advertised.listeners", None, Str, ReadOnly),
    k("alter.config.policy.class.name", None, Class, ReadOnly),
    k("alter.log.dirs.replication.quota.window.num", Some("11"), Int, ReadOnly),
    k("alter.log.dirs.replication.quota.window.size.seconds", Some("1"), Int, ReadOnly),
    k("authorizer.class.name", Some(""), Str, ReadOnly),
    k("auto.create.topics.enable", Some("true"), Boolean, ReadOnly),
    k("auto.leader.rebalance.enable", Some("true"), Boolean, ReadOnly),
    k("background.threads", Some("10"), Int, ClusterWide),
    k("broker.heartbeat.interval.ms", Some("2000"), Int, ReadOnly),
    k("broker.id", Some("-1"), Int, ReadOnly),
    k("broker.rack", None, Str, ReadOnly),
    k("broker.session.timeout.ms", Some("9000"), Int, ReadOnly),
    k("client.quota.callback.class", None, Class, ReadOnly),
    k("compression.gzip.level", Some("-1"), Int, ClusterWide),
    k("compression.lz4.level", Some("9"), Int, ClusterWide),
    k("compression.type", Some("producer"), Str, ClusterWide),
    k("compression.zstd.level", Some("3"), Int, ClusterWide),
    k("connection.failed.authentication.delay.ms", Some("100"), Int, ReadOnly),
    k("connections.max.idle.ms", Some("600000"), Long, ReadOnly),
    k("connections.max.reauth.ms", Some("0"), Long, ReadOnly),
    k("controlled.shutdown.enable", Some("true"), Boolean, ReadOnly),
    k("controller.listener.names", None, Str, ReadOnly),
    k("controller.quorum.append.linger.ms", Some("25"), Int, ReadOnly),
    k("controller.quorum.bootstrap.servers", Some(""), List, ReadOnly),
    k("controller.quorum.election.backoff.max.ms", Some("1000"), Int, ReadOnly),
    k("controller.quorum.election.timeout.ms", Some("1000"), Int, ReadOnly),
    k("controller.quorum.fetch.timeout.ms", Some("2000"), Int, ReadOnly),
    k("controller.quorum.request.timeout.ms", Some("2000"), Int, ReadOnly),
    k("controller.quorum.retry.backoff.ms", Some("20"), Int, ReadOnly),
    k("controller.quorum.voters", Some(""), List, ReadOnly),
    k("controller.quota.window.num", Some("11"), Int, ReadOnly),
    k("controller.quota.window.size.seconds", Some("1"), Int, ReadOnly),
    k("controller.socket.timeout.ms", Some("30000"), Int, ReadOnly),
    k("create.topic.policy.class.name", None, Class, ReadOnly),
    k("default.replication.factor", Some("1"), Int, ReadOnly),
    k("delegation.token.expiry.check.interval.ms", Some("3600000"), Long, ReadOnly),
    k("delegation.token.expiry.time.ms", Some("86400000"), Long, ReadOnly),
    k("delegation.token.max.lifetime.ms", Some("604800000"), Long, ReadOnly),
    k("delegation.token.secret.key", None, Password, ReadOnly),
    k("delete.records.purgatory.purge.interval.requests", Some("1"), Int, ReadOnly),
    k("delete.topic.enable", Some("true"), Boolean, ReadOnly),
    k("early.start.listeners", None, Str, ReadOnly),
    k("fetch.max.bytes", Some("57671680"), Int, ReadOnly),
    k("fetch.purgatory.purge.interval.requests", Some("1000"), Int, ReadOnly),
    k("group.consumer.assignors", Some("org.apache.kafka.coordinator.group.assignor.UniformAssignor,org.apache.kafka.coordinator.group.assignor.RangeAssignor"), List, ReadOnly),
    k("group.consumer.heartbeat.interval.ms", Some("5000"), Int, ReadOnly),
    k("group.consumer.max.heartbeat.interval.ms", Some("15000"), Int, ReadOnly),
    k("group.consumer.max.session.timeout.ms", Some("60000"), Int, ReadOnly),
    k("group.consumer.max.size", Some("2147483647"), Int, ReadOnly),
    k("group.consumer.migration.policy", Some("bidirectional"), Str, ReadOnly),
    k("group.consumer.min.heartbeat.interval.ms", Some("5000"), Int, ReadOnly),
    k("group.consumer.min.session.timeout.ms", Some("45000"), Int, ReadOnly),
    k("group.consumer.session.timeout.ms", Some("45000"), Int, ReadOnly),
    k("group.coordinator.append.linger.ms", Some("10"), Int, ReadOnly),
    k("group.coordinator.rebalance.protocols", Some("classic,consumer"), List, ReadOnly),
    k("group.coordinator.threads", Some("1"), Int, ReadOnly),
    k("group.initial.rebalance.delay.ms", Some("3000"), Int, ReadOnly),
    k("group.max.session.timeout.ms", Some("1800000"), Int, ReadOnly),
    k("group.max.size", Some("2147483647"), Int, ReadOnly),
    k("group.min.session.timeout.ms", Some("6000"), Int, ReadOnly),
    k("group.share.delivery.count.limit", Some("5"), Int, ReadOnly),
    k("group.share.heartbeat.interval.ms", Some("5000"), Int, ReadOnly),
    k("group.share.max.groups", Some("10"), Short, ReadOnly),
    k("group.share.max.heartbeat.interval.ms", Some("15000"), Int, ReadOnly),
    k("group.share.max.record.lock.duration.ms", Some("60000"), Int, ReadOnly),
    k("group.share.max.session.timeout.ms", Some("60000"), Int, ReadOnly),
    k("group.share.max.size", Some("200"), Int, ReadOnly),
    k("group.share.min.heartbeat.interval.ms", Some("5000"), Int, ReadOnly),
    k("group.share.min.record.lock.duration.ms", Some("15000"), Int, ReadOnly),
    k("group.share.min.session.timeout.ms", Some("45000"), Int, ReadOnly),
    k("group.share.partition.max.record.locks", Some("200"), Int, ReadOnly),
    k("group.share.record.lock.duration.ms", Some("30000"), Int, ReadOnly),
    k("group.share.session.timeout.ms", Some("45000"), Int, ReadOnly),
    k("initial.broker.registration.timeout.ms", Some("60000"), Int, ReadOnly),
    k("inter.broker.listener.name", None, Str, ReadOnly),
    k("kafka.metrics.polling.interval.secs", Some("10"), Int, ReadOnly),
    k("kafka.metrics.reporters", Some(""), List, ReadOnly),
    k("leader.imbalance.check.interval.seconds", Some("300"), Long, ReadOnly),
    k("leader.imbalance.per.broker.percentage", Some("10"), Int, ReadOnly),
    k("listener.security.protocol.map", Some("SASL_SSL:SASL_SSL,PLAINTEXT:PLAINTEXT,SSL:SSL,SASL_PLAINTEXT:SASL_PLAINTEXT"), Str, PerBroker),
    k("listeners", Some("PLAINTEXT://:9092"), Str, PerBroker),
    k("log.cleaner.backoff.ms", Some("15000"), Long, ClusterWide),
    k("log.cleaner.dedupe.buffer.size", Some("134217728"), Long, ClusterWide),
    k("log.cleaner.delete.retention.ms", Some("86400000"), Long, ClusterWide),
    k("log.cleaner.enable", Some("true"), Boolean, ReadOnly),
    k("log.cleaner.io.buffer.load.factor", Some("0.9"), Double, ClusterWide),
    k("log.cleaner.io.buffer.size", Some("524288"), Int, ClusterWide),
    k("log.cleaner.io.max.bytes.per.second", Some("1.7976931348623157E308"), Double, ClusterWide),
    k("log.cleaner.max.compaction.lag.ms", Some("9223372036854775807"), Long, ClusterWide),
    k("log.cleaner.min.cleanable.ratio", Some("0.5"), Double, ClusterWide),
    k("log.cleaner.min.compaction.lag.ms", Some("0"), Long, ClusterWide),
    k("log.cleaner.threads", Some("1"), Int, ClusterWide),
    k("log.cleanup.policy", Some("delete"), List, ClusterWide),
    k("log.dir", Some("/tmp/kafka-logs"), Str, ReadOnly),
    k("log.dir.failure.timeout.ms", Some("30000"), Long, ReadOnly),
    k("log.dirs", None, Str, ReadOnly),
    k("log.flush.interval.messages", Some("9223372036854775807"), Long, ClusterWide),
    k("log.flush.interval.ms", None, Long, ClusterWide),
    k("log.flush.offset.checkpoint.interval.ms", Some("60000"), Int, ReadOnly),
    k("log.flush.scheduler.interval.ms", Some("9223372036854775807"), Long, ReadOnly),
    k("log.flush.start.offset.checkpoint.interval.ms", Some("60000"), Int, ReadOnly),
    k("log.index.interval.bytes", Some("4096"), Int, ClusterWide),
    k("log.index.size.max.bytes", Some("10485760"), Int, ClusterWide),
    k("log.local.retention.bytes", Some("-2"), Long, ClusterWide),
    k("log.local.retention.ms", Some("-2"), Long, ClusterWide),
    k("log.message.timestamp.after.max.ms", Some("3600000"), Long, ClusterWide),
    k("log.message.timestamp.before.max.ms", Some("9223372036854775807"), Long, ClusterWide),
    k("log.message.timestamp.type", Some("CreateTime"), Str, ClusterWide),
    k("log.preallocate", Some("false"), Boolean, ClusterWide),
    k("log.retention.bytes", Some("-1"), Long, ClusterWide),
    k("log.retention.check.interval.ms", Some("300000"), Long, ReadOnly),
    k("log.retention.hours", Some("168"), Int, ReadOnly),
    k("log.retention.minutes", None, Int, ReadOnly),
    k("log.retention.ms", None, Long, ClusterWide),
    k("log.roll.hours", Some("168"), Int, ReadOnly),
    k("log.roll.jitter.hours", Some("0"), Int, ReadOnly),
    k("log.roll.jitter.ms", None, Long, ClusterWide),
    k("log.roll.ms", None, Long, ClusterWide),
    k("log.segment.bytes", Some("1073741824"), Int, ClusterWide),
    k("log.segment.delete.delay.ms", Some("60000"), Long, ClusterWide),
    k("max.connection.creation.rate", Some("2147483647"), Int, ClusterWide),
    k("max.connections", Some("2147483647"), Int, ClusterWide),
    k("max.connections.per.ip", Some("2147483647"), Int, ClusterWide),
    k("max.connections.per.ip.overrides", Some(""), Str, ClusterWide),
    k("max.incremental.fetch.session.cache.slots", Some("1000"), Int, ReadOnly),
    k("max.request.partition.size.limit", Some("2000"), Int, ReadOnly),
    k("message.max.bytes", Some("1048588"), Int, ClusterWide),
    k("metadata.log.dir", None, Str, ReadOnly),
    k("metadata.log.max.record.bytes.between.snapshots", Some("20971520"), Long, ReadOnly),
    k("metadata.log.max.snapshot.interval.ms", Some("3600000"), Long, ReadOnly),
    k("metadata.log.segment.bytes", Some("1073741824"), Int, ReadOnly),
    k("metadata.log.segment.ms", Some("604800000"), Long, ReadOnly),
    k("metadata.max.idle.interval.ms", Some("500"), Int, ReadOnly),
    k("metadata.max.retention.bytes", Some("104857600"), Long, ReadOnly),
    k("metadata.max.retention.ms", Some("604800000"), Long, ReadOnly),
    k("metric.reporters", Some("org.apache.kafka.common.metrics.JmxReporter"), List, ClusterWide),
    k("metrics.num.samples", Some("2"), Int, ReadOnly),
    k("metrics.recording.level", Some("INFO"), Str, ReadOnly),
    k("metrics.sample.window.ms", Some("30000"), Long, ReadOnly),
    k("min.insync.replicas", Some("1"), Int, ClusterWide),
    k("node.id", Some("-1"), Int, ReadOnly),
    k("num.io.threads", Some("8"), Int, ClusterWide),
    k("num.network.threads", Some("3"), Int, ClusterWide),
    k("num.partitions", Some("1"), Int, ReadOnly),
    k("num.recovery.threads.per.data.dir", Some("1"), Int, ClusterWide),
    k("num.replica.alter.log.dirs.threads", None, Int, ReadOnly),
    k("num.replica.fetchers", Some("1"), Int, ClusterWide),
    k("offset.metadata.max.bytes", Some("4096"), Int, ReadOnly),
    k("offsets.commit.timeout.ms", Some("5000"), Int, ReadOnly),
    k("offsets.load.buffer.size", Some("5242880"), Int, ReadOnly),
    k("offsets.retention.check.interval.ms", Some("600000"), Long, ReadOnly),
    k("offsets.retention.minutes", Some("10080"), Int, ReadOnly),
    k("offsets.topic.compression.codec", Some("0"), Int, ReadOnly),
    k("offsets.topic.num.partitions", Some("50"), Int, ReadOnly),
    k("offsets.topic.replication.factor", Some("3"), Short, ReadOnly),
    k("offsets.topic.segment.bytes", Some("104857600"), Int, ReadOnly),
    k("principal.builder.class", Some("org.apache.kafka.common.security.authenticator.DefaultKafkaPrincipalBuilder"), Class, PerBroker),
    k("process.roles", Some(""), List, ReadOnly),
    k("producer.id.expiration.ms", Some("86400000"), Int, ClusterWide),
    k("producer.purgatory.purge.interval.requests", Some("1000"), Int, ReadOnly),
    k("queued.max.request.bytes", Some("-1"), Long, ReadOnly),
    k("queued.max.requests", Some("500"), Int, ReadOnly),
    k("quota.window.num", Some("11"), Int, ReadOnly),
    k("quota.window.size.seconds", Some("1"), Int, ReadOnly),
    k("remote.fetch.max.wait.ms", Some("500"), Int, ClusterWide),
    k("remote.list.offsets.request.timeout.ms", Some("30000"), Long, ClusterWide),
    k("remote.log.index.file.cache.total.size.bytes", Some("1073741824"), Long, ClusterWide),
    k("remote.log.manager.copier.thread.pool.size", Some("10"), Int, ClusterWide),
    k("remote.log.manager.copy.max.bytes.per.second", Some("9223372036854775807"), Long, ClusterWide),
    k("remote.log.manager.copy.quota.window.num", Some("11"), Int, ReadOnly),
    k("remote.log.manager.copy.quota.window.size.seconds", Some("1"), Int, ReadOnly),
    k("remote.log.manager.expiration.thread.pool.size", Some("10"), Int, ClusterWide),
    k("remote.log.manager.fetch.max.bytes.per.second", Some("9223372036854775807"), Long, ClusterWide),
    k("remote.log.manager.fetch.quota.window.num", Some("11"), Int, ReadOnly),
    k("remote.log.manager.fetch.quota.window.size.seconds", Some("1"), Int, ReadOnly),
    k("remote.log.manager.task.interval.ms", Some("30000"), Long, ReadOnly),
    k("remote.log.manager.thread.pool.size", Some("2"), Int, ReadOnly),
    k("remote.log.metadata.custom.metadata.max.bytes", Some("128"), Int, ReadOnly),
    k("remote.log.metadata.manager.class.name", Some("org.apache.kafka.server.log.remote.metadata.storage.TopicBasedRemoteLogMetadataManager"), Str, ReadOnly),
    k("remote.log.metadata.manager.class.path", None, Str, ReadOnly),
    k("remote.log.metadata.manager.impl.prefix", Some("rlmm.config."), Str, ReadOnly),
    k("remote.log.metadata.manager.listener.name", None, Str, ReadOnly),
    k("remote.log.reader.max.pending.tasks", Some("100"), Int, ReadOnly),
    k("remote.log.reader.threads", Some("10"), Int, ClusterWide),
    k("remote.log.storage.manager.class.name", None, Str, ReadOnly),
    k("remote.log.storage.manager.class.path", None, Str, ReadOnly),
    k("remote.log.storage.manager.impl.prefix", Some("rsm.config."), Str, ReadOnly),
    k("remote.log.storage.system.enable", Some("false"), Boolean, ReadOnly),
    k("replica.fetch.backoff.ms", Some("1000"), Int, ReadOnly),
    k("replica.fetch.max.bytes", Some("1048576"), Int, ReadOnly),
    k("replica.fetch.min.bytes", Some("1"), Int, ReadOnly),
    k("replica.fetch.response.max.bytes", Some("10485760"), Int, ReadOnly),
    k("replica.fetch.wait.max.ms", Some("500"), Int, ReadOnly),
    k("replica.high.watermark.checkpoint.interval.ms", Some("5000"), Long, ReadOnly),
    k("replica.lag.time.max.ms", Some("30000"), Long, ReadOnly),
    k("replica.selector.class", None, Str, ReadOnly),
    k("replica.socket.receive.buffer.bytes", Some("65536"), Int, ReadOnly),
    k("replica.socket.timeout.ms", Some("30000"), Int, ReadOnly),
    k("replication.quota.window.num", Some("11"), Int, ReadOnly),
    k("replication.quota.window.size.seconds", Some("1"), Int, ReadOnly),
    k("request.timeout.ms", Some("30000"), Int, ReadOnly),
    k("sasl.client.callback.handler.class", None, Class, ReadOnly),
    k("sasl.enabled.mechanisms", Some("GSSAPI"), List, PerBroker),
    k("sasl.jaas.config", None, Password, PerBroker),
    k("sasl.kerberos.kinit.cmd", Some("/usr/bin/kinit"), Str, PerBroker),
    k("sasl.kerberos.min.time.before.relogin", Some("60000"), Long, PerBroker),
    k("sasl.kerberos.principal.to.local.rules", Some("DEFAULT"), List, PerBroker),
    k("sasl.kerberos.service.name", None, Str, PerBroker),
    k("sasl.kerberos.ticket.renew.jitter", Some("0.05"), Double, PerBroker),
    k("sasl.kerberos.ticket.renew.window.factor", Some("0.8"), Double, PerBroker),
    k("sasl.login.callback.handler.class", None, Class, ReadOnly),
    k("sasl.login.class", None, Class, ReadOnly),
    k("sasl.login.connect.timeout.ms", None, Int, ReadOnly),
    k("sasl.login.read.timeout.ms", None, Int, ReadOnly),
    k("sasl.login.refresh.buffer.seconds", Some("300"), Short, PerBroker),
    k("sasl.login.refresh.min.period.seconds", Some("60"), Short, PerBroker),
    k("sasl.login.refresh.window.factor", Some("0.8"), Double, PerBroker),
    k("sasl.login.refresh.window.jitter", Some("0.05"), Double, PerBroker),
    k("sasl.login.retry.backoff.max.ms", Some("10000"), Long, ReadOnly),
    k("sasl.login.retry.backoff.ms", Some("100"), Long, ReadOnly),
    k("sasl.mechanism.controller.protocol", Some("GSSAPI"), Str, ReadOnly),
    k("sasl.mechanism.inter.broker.protocol", Some("GSSAPI"), Str, PerBroker),
    k("sasl.oauthbearer.clock.skew.seconds", Some("30"), Int, ReadOnly),
    k("sasl.oauthbearer.expected.audience", None, List, ReadOnly),
    k("sasl.oauthbearer.expected.issuer", None, Str, ReadOnly),
    k("sasl.oauthbearer.jwks.endpoint.refresh.ms", Some("3600000"), Long, ReadOnly),
    k("sasl.oauthbearer.jwks.endpoint.retry.backoff.max.ms", Some("10000"), Long, ReadOnly),
    k("sasl.oauthbearer.jwks.endpoint.retry.backoff.ms", Some("100"), Long, ReadOnly),
    k("sasl.oauthbearer.jwks.endpoint.url", None, Str, ReadOnly),
    k("sasl.oauthbearer.scope.claim.name", Some("scope"), Str, ReadOnly),
    k("sasl.oauthbearer.sub.claim.name", Some("sub"), Str, ReadOnly),
    k("sasl.oauthbearer.token.endpoint.url", None, Str, ReadOnly),
    k("sasl.server.callback.handler.class", None, Class, ReadOnly),
    k("sasl.server.max.receive.size", Some("524288"), Int, ReadOnly),
    k("security.inter.broker.protocol", Some("PLAINTEXT"), Str, ReadOnly),
    k("security.providers", None, Str, ReadOnly),
    k("share.coordinator.append.linger.ms", Some("10"), Int, ReadOnly),
    k("share.coordinator.load.buffer.size", Some("5242880"), Int, ReadOnly),
    k("share.coordinator.snapshot.update.records.per.snapshot", Some("500"), Int, ReadOnly),
    k("share.coordinator.state.topic.compression.codec", Some("0"), Int, ReadOnly),
    k("share.coordinator.state.topic.min.isr", Some("2"), Short, ReadOnly),
    k("share.coordinator.state.topic.num.partitions", Some("50"), Int, ReadOnly),
    k("share.coordinator.state.topic.replication.factor", Some("3"), Short, ReadOnly),
    k("share.coordinator.state.topic.segment.bytes", Some("104857600"), Int, ReadOnly),
    k("share.coordinator.threads", Some("1"), Int, ReadOnly),
    k("share.coordinator.write.timeout.ms", Some("5000"), Int, ReadOnly),
    k("share.fetch.purgatory.purge.interval.requests", Some("1000"), Int, ReadOnly),
    k("socket.connection.setup.timeout.max.ms", Some("30000"), Long, ReadOnly),
    k("socket.connection.setup.timeout.ms", Some("10000"), Long, ReadOnly),
    k("socket.listen.backlog.size", Some("50"), Int, ReadOnly),
    k("socket.receive.buffer.bytes", Some("102400"), Int, ReadOnly),
    k("socket.request.max.bytes", Some("104857600"), Int, ReadOnly),
    k("socket.send.buffer.bytes", Some("102400"), Int, ReadOnly),
    k("ssl.allow.dn.changes", Some("false"), Boolean, ReadOnly),
    k("ssl.allow.san.changes", Some("false"), Boolean, ReadOnly),
    k("ssl.cipher.suites", Some(""), List, PerBroker),
    k("ssl.client.auth", Some("none"), Str, PerBroker),
    k("ssl.enabled.protocols", Some("TLSv1.2"), List, PerBroker),
    k("ssl.endpoint.identification.algorithm", Some("https"), Str, PerBroker),
    k("ssl.engine.factory.class", None, Class, PerBroker),
    k("ssl.key.password", None, Password, PerBroker),
    k("ssl.keymanager.algorithm", Some("SunX509"), Str, PerBroker),
    k("ssl.keystore.certificate.chain", None, Password, PerBroker),
    k("ssl.keystore.key", None, Password, PerBroker),
    k("ssl.keystore.location", None, Str, PerBroker),
    k("ssl.keystore.password", None, Password, PerBroker),
    k("ssl.keystore.type", Some("JKS"), Str, PerBroker),
    k("ssl.principal.mapping.rules", Some("DEFAULT"), Str, ReadOnly),
    k("ssl.protocol", Some("TLSv1.2"), Str, PerBroker),
    k("ssl.provider", None, Str, PerBroker),
    k("ssl.secure.random.implementation", None, Str, PerBroker),
    k("ssl.trustmanager.algorithm", Some("PKIX"), Str, PerBroker),
    k("ssl.truststore.certificates", None, Password, PerBroker),
    k("ssl.truststore.location", None, Str, PerBroker),
    k("ssl.truststore.password", None, Password, PerBroker),
    k("ssl.truststore.type", Some("JKS"), Str, PerBroker),
    k("telemetry.max.bytes", Some("1048576"), Int, ReadOnly),
    k("transaction.abort.timed.out.transaction.cleanup.interval.ms", Some("10000"), Int, ReadOnly),
    k("transaction.max.timeout.ms", Some("900000"), Int, ReadOnly),
    k("transaction.partition.verification.enable", Some("true"), Boolean, ClusterWide),
    k("transaction.remove.expired.transaction.cleanup.interval.ms", Some("3600000"), Int, ReadOnly),
    k("transaction.state.log.load.buffer.size", Some("5242880"), Int, ReadOnly),
    k("transaction.state.log.min.isr", Some("2"), Int, ReadOnly),
    k("transaction.state.log.num.partitions", Some("50"), Int, ReadOnly),
    k("transaction.state.log.replication.factor", Some("3"), Short, ReadOnly),
    k("transaction.state.log.segment.bytes", Some("104857600"), Int, ReadOnly),
    k("transactional.id.expiration.ms", Some("604800000"), Int, ReadOnly),
    k("unclean.leader.election.enable", Some("false"), Boolean, ClusterWide),
];

/// The Kafka config called `name`.
pub fn by_name(name: &str) -> Option<&'static KafkaBrokerConfig> {
    KAFKA_BROKER_CONFIGS
        .binary_search_by(|c| c.name.cmp(name))
        .ok()
        .and_then(|i| KAFKA_BROKER_CONFIGS.get(i))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_table_is_sorted_so_lookups_find_every_name() {
        assert!(KAFKA_BROKER_CONFIGS
            .windows(2)
            .all(|w| w[0].name < w[1].name));
        for c in KAFKA_BROKER_CONFIGS {
            assert_eq!(by_name(c.name).map(|f| f.name), Some(c.name));
        }
        assert!(by_name("zookeeper.connect").is_none(), "gone in Kafka 4");
    }

    #[test]
    fn every_static_config_weir_reads_is_a_kafka_config() {
        // Kafka keeps the cluster id in meta.properties; weir takes it as a
        // config.
        let foreign: Vec<&str> = crate::config::static_broker::STATIC_BROKER_CONFIGS
            .iter()
            .map(|c| c.name)
            .filter(|n| by_name(n).is_none() && *n != "cluster.id")
            .collect();
        assert!(foreign.is_empty(), "not Kafka 4 configs: {foreign:?}");
    }

    #[test]
    fn secrets_are_passwords() {
        for name in [
            "ssl.keystore.password",
            "sasl.jaas.config",
            "ssl.key.password",
        ] {
            assert_eq!(by_name(name).map(|c| c.kind), Some(ConfigType::Password));
        }
    }
}
