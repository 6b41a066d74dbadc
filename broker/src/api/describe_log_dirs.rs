//! DescribeLogDirs: this broker's log directory (weir has one, the data
//! directory) with the size of every partition replica it holds, and the
//! directory's total and usable bytes (v4). weir has no future replicas
//! (intra-broker moves), so every offset lag is 0 and none is a future key.

use std::collections::BTreeMap;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};
use kafka_protocol::protocol::StrBytes;

use crate::broker::Broker;

/// Handles a DescribeLogDirs request: every hosted partition, or those asked.
pub fn handle(broker: &Broker, request: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let mut topics: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for p in broker.replicas.all() {
        let wanted = match &request.topics {
            None => true,
            Some(asked) => asked
                .iter()
                .any(|t| t.topic.0.as_str() == p.topic && t.partitions.contains(&p.index)),
        };
        if !wanted {
            continue;
        }
        let size = i64::try_from(p.size_bytes()).unwrap_or(i64::MAX);
        topics.entry(p.topic.clone()).or_default().push(
            DescribeLogDirsPartition::default()
                .with_partition_index(p.index)
                .with_partition_size(size)
                .with_offset_lag(0)
                .with_is_future_key(false),
        );
    }
    let (total, usable) = disk_space(&broker.config.data_dir);
    let topics = topics
        .into_iter()
        .map(|(name, mut partitions)| {
            partitions.sort_by_key(|p| p.partition_index);
            DescribeLogDirsTopic::default()
                .with_name(TopicName(StrBytes::from_string(name)))
                .with_partitions(partitions)
        })
        .collect();
    let dir = std::fs::canonicalize(&broker.config.data_dir)
        .unwrap_or_else(|_| broker.config.data_dir.clone());
    DescribeLogDirsResponse::default().with_results(vec![DescribeLogDirsResult::default()
        .with_log_dir(StrBytes::from_string(dir.display().to_string()))
        .with_topics(topics)
        .with_total_bytes(total)
        .with_usable_bytes(usable)])
}

/// Total and available bytes of the filesystem holding `dir`, -1 each when
/// it cannot be read (Kafka's "unknown").
fn disk_space(dir: &std::path::Path) -> (i64, i64) {
    match rustix::fs::statvfs(dir) {
        Ok(s) => {
            let bytes =
                |blocks: u64| i64::try_from(blocks.saturating_mul(s.f_frsize)).unwrap_or(i64::MAX);
            (bytes(s.f_blocks), bytes(s.f_bavail))
        }
        Err(_) => (-1, -1),
    }
}
