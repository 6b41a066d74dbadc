//! Deciding broker liveness: registration, heartbeats, fencing and the
//! leader elections they cause (Kafka's `BrokerHeartbeatManager` decisions
//! and `PartitionChangeBuilder`). A fenced broker holds no leadership and no
//! ISR place; a partition whose last in-sync replica is fenced goes offline
//! (leader -1, that replica kept as the ISR) rather than electing a replica
//! that may lack acknowledged records, unless its topic sets
//! `unclean.leader.election.enable`.

use kafka_protocol::error::ResponseError;
use uuid::Uuid;

use super::Rejection;
use crate::metadata::{BrokerRecord, MetadataImage, MetadataRecord, PartitionRecord};

/// What the controller tells a heartbeating broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct HeartbeatReply {
    /// Whether the broker is fenced (after this heartbeat's changes).
    pub fenced: bool,
    /// In a controlled shutdown: whether it leads nothing any more and may stop.
    pub shutdown_ready: bool,
}

/// A broker may register only if it was started with the cluster's voter
/// ids: one with another list would vote (or try to) in a quorum that does
/// not count it, and every try raises the term under the real controller.
pub fn check_voter_set(node_id: i32, claimed: &[i32], voters: &[i32]) -> Result<(), Rejection> {
    let sorted = |ids: &[i32]| {
        let mut ids = ids.to_vec();
        ids.sort_unstable();
        ids.dedup();
        ids
    };
    let (claimed, voters) = (sorted(claimed), sorted(voters));
    if claimed == voters {
        return Ok(());
    }
    let text = |ids: &[i32]| ids.iter().map(i32::to_string).collect::<Vec<_>>().join(",");
    Err(Rejection::new(
        ResponseError::InconsistentVoterSet,
        format!(
            "broker {node_id} was started with controller.quorum.voters ids {}, but this cluster's voters are {}",
            text(&claimed),
            text(&voters)
        ),
    ))
}

/// UnregisterBroker (KIP-631): a broker that is stopped (fenced) and holds
/// no replica is forgotten; one that still holds replicas must be drained
/// by reassignment first, and a running one would only register again.
pub fn unregister(image: &MetadataImage, broker_id: i32) -> Result<Vec<MetadataRecord>, Rejection> {
    if !image.brokers.contains_key(&broker_id) {
        return Err(Rejection::new(
            ResponseError::BrokerIdNotRegistered,
            format!("broker {broker_id} is not registered"),
        ));
    }
    let held: Vec<String> = image
        .topics
        .values()
        .flat_map(|t| {
            t.partitions
                .values()
                .filter(|p| p.replicas.contains(&broker_id))
                .map(move |p| format!("{}-{}", t.name, p.partition))
        })
        .collect();
    if !held.is_empty() {
        return Err(Rejection::new(
            ResponseError::InvalidRequest,
            format!(
                "broker {broker_id} still holds replicas of {} partitions ({}); reassign them first",
                held.len(),
                held.iter().take(5).cloned().collect::<Vec<_>>().join(", ")
            ),
        ));
    }
    if !image.fenced.contains(&broker_id) {
        return Err(Rejection::new(
            ResponseError::InvalidRequest,
            format!("broker {broker_id} is running; stop it before unregistering it"),
        ));
    }
    Ok(vec![MetadataRecord::UnregisterBroker { broker_id }])
}

/// A registration: a new broker joins unfenced; a broker registering with a
/// new incarnation (it restarted) loses its leaderships and ISR places and
/// stays fenced until it heartbeats, so it first catches up as a follower.
pub fn register(image: &MetadataImage, record: &BrokerRecord) -> Vec<MetadataRecord> {
    let known = image.brokers.get(&record.node_id);
    if known == Some(record) {
        return Vec::new();
    }
    let restarted = known.is_some_and(|k| k.incarnation != record.incarnation);
    let mut records = vec![MetadataRecord::RegisterBroker(record.clone())];
    if restarted {
        records.extend(fence(image, record.node_id));
    }
    records
}

/// A heartbeat from `broker_id` in `incarnation`; `want_shutdown` asks for a
/// controlled shutdown.
pub fn heartbeat(
    image: &MetadataImage,
    broker_id: i32,
    incarnation: Uuid,
    want_shutdown: bool,
) -> Result<(Vec<MetadataRecord>, HeartbeatReply), Rejection> {
    let Some(registered) = image.brokers.get(&broker_id) else {
        return Err(Rejection::new(
            ResponseError::BrokerIdNotRegistered,
            format!("broker {broker_id} is not registered"),
        ));
    };
    if registered.incarnation != incarnation {
        return Err(Rejection::new(
            ResponseError::StaleBrokerEpoch,
            format!("broker {broker_id} registered again since this incarnation"),
        ));
    }
    let fenced = image.fenced.contains(&broker_id);
    if want_shutdown {
        let records = fence(image, broker_id);
        return Ok((
            records,
            HeartbeatReply {
                fenced: true,
                shutdown_ready: true,
            },
        ));
    }
    if !fenced {
        return Ok((
            Vec::new(),
            HeartbeatReply {
                fenced: false,
                shutdown_ready: false,
            },
        ));
    }
    let mut records = vec![MetadataRecord::UnfenceBroker { broker_id }];
    records.extend(elect_offline(image, broker_id));
    Ok((
        records,
        HeartbeatReply {
            fenced: false,
            shutdown_ready: false,
        },
    ))
}

/// Fences `broker_id`: every partition it leads gets a new leader from the
/// rest of its ISR, and it leaves every ISR.
pub fn fence(image: &MetadataImage, broker_id: i32) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    if !image.fenced.contains(&broker_id) {
        records.push(MetadataRecord::FenceBroker { broker_id });
    }
    for topic in image.topics.values() {
        for p in topic.partitions.values() {
            if let Some(changed) = without(image, p, broker_id) {
                records.push(MetadataRecord::Partition(changed));
            }
        }
    }
    records
}

/// The partition with `gone` out of its leadership and ISR, or `None` when
/// it held neither. The last ISR member stays in the ISR (nobody else is
/// known to have every acknowledged record) and the partition goes offline.
fn without(image: &MetadataImage, p: &PartitionRecord, gone: i32) -> Option<PartitionRecord> {
    if p.leader != gone && !p.isr.contains(&gone) {
        return None;
    }
    let rest: Vec<i32> = p.isr.iter().copied().filter(|r| *r != gone).collect();
    let mut changed = p.clone();
    changed.partition_epoch += 1;
    if p.leader == gone {
        changed.leader = p
            .replicas
            .iter()
            .copied()
            .find(|r| rest.contains(r) && is_live_except(image, *r, gone))
            .unwrap_or(-1);
        changed.leader_epoch += 1;
    }
    changed.isr = if rest.is_empty() { p.isr.clone() } else { rest };
    Some(changed)
}

fn is_live_except(image: &MetadataImage, broker: i32, gone: i32) -> bool {
    broker != gone && image.is_live(broker)
}

/// Partitions without a leader that `broker`, just unfenced, can lead: it
/// is in their ISR, or their topic allows unclean election and it is a
/// replica (then it becomes the whole ISR).
fn elect_offline(image: &MetadataImage, broker: i32) -> Vec<MetadataRecord> {
    let mut records = Vec::new();
    for topic in image.topics.values() {
        // The topic's setting, else the cluster-wide dynamic default (the
        // controller does not know the other brokers' properties files).
        let unclean = topic
            .configs
            .get("unclean.leader.election.enable")
            .or_else(|| {
                image
                    .broker_configs
                    .get(&super::broker_configs::CLUSTER_DEFAULT)
                    .and_then(|c| c.get("unclean.leader.election.enable"))
            })
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("true"));
        for p in topic.partitions.values() {
            if p.leader >= 0 || !p.replicas.contains(&broker) {
                continue;
            }
            let clean = p.isr.contains(&broker);
            if !clean && !unclean {
                continue;
            }
            let mut changed = p.clone();
            changed.leader = broker;
            changed.leader_epoch += 1;
            changed.partition_epoch += 1;
            if !clean {
                tracing::warn!(topic = %topic.name, partition = p.partition, broker, "unclean leader election: acknowledged records may be lost");
                changed.isr = vec![broker];
            }
            records.push(MetadataRecord::Partition(changed));
        }
    }
    records
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metadata::TopicRecord;

    #[test]
    fn only_a_broker_started_with_the_clusters_voters_may_register() {
        for (claimed, ok) in [
            (&[0, 1, 2][..], true),
            (&[2, 0, 1][..], true),
            (&[0, 1, 2, 3][..], false),
            (&[3][..], false),
            (&[0, 1][..], false),
        ] {
            let checked = check_voter_set(3, claimed, &[0, 1, 2]);
            assert_eq!(checked.is_ok(), ok, "{claimed:?}");
            if let Err(r) = checked {
                assert_eq!(r.error, ResponseError::InconsistentVoterSet);
                assert!(r.message.contains("voters are 0,1,2"), "{}", r.message);
            }
        }
    }

    fn broker(id: i32, incarnation: u128) -> BrokerRecord {
        BrokerRecord {
            node_id: id,
            endpoints: vec![],
            rack: None,
            internal_address: String::new(),
            incarnation: Uuid::from_u128(incarnation),
        }
    }

    fn partition(
        topic_id: Uuid,
        index: i32,
        replicas: &[i32],
        isr: &[i32],
        leader: i32,
    ) -> MetadataRecord {
        MetadataRecord::Partition(PartitionRecord {
            topic_id,
            partition: index,
            replicas: replicas.to_vec(),
            isr: isr.to_vec(),
            leader,
            leader_epoch: 0,
            partition_epoch: 0,
            adding_replicas: Vec::new(),
            removing_replicas: Vec::new(),
        })
    }

    fn cluster() -> (MetadataImage, Uuid) {
        let id = Uuid::from_u128(1);
        let mut image = MetadataImage::default();
        for b in 0..3 {
            image.apply(&MetadataRecord::RegisterBroker(broker(b, 10)));
        }
        image.apply(&MetadataRecord::Topic(TopicRecord {
            name: "t".into(),
            topic_id: id,
        }));
        image.apply(&partition(id, 0, &[0, 1, 2], &[0, 1, 2], 0));
        image.apply(&partition(id, 1, &[1, 2, 0], &[1, 2, 0], 1));
        image.apply(&partition(id, 2, &[0, 1], &[0], 0));
        (image, id)
    }

    fn apply(image: &mut MetadataImage, records: &[MetadataRecord]) {
        image.apply_all(records);
    }

    fn part(image: &MetadataImage, id: Uuid, p: i32) -> PartitionRecord {
        image.topics[&id].partitions[&p].clone()
    }

    #[test]
    fn fencing_a_leader_elects_the_next_in_sync_replica_with_a_new_epoch() {
        let (mut image, id) = cluster();
        let records = fence(&image, 0);
        apply(&mut image, &records);
        let p0 = part(&image, id, 0);
        assert_eq!(
            (p0.leader, p0.isr.clone(), p0.leader_epoch),
            (1, vec![1, 2], 1)
        );
        let p1 = part(&image, id, 1);
        assert_eq!(
            (p1.leader, p1.isr.clone(), p1.leader_epoch),
            (1, vec![1, 2], 0)
        );
        assert!(!image.is_live(0));
    }

    #[test]
    fn the_last_in_sync_replica_fenced_takes_the_partition_offline_not_to_a_stale_replica() {
        let (mut image, id) = cluster();
        let records = fence(&image, 0);
        apply(&mut image, &records);
        let p2 = part(&image, id, 2);
        assert_eq!((p2.leader, p2.isr.clone()), (-1, vec![0]));
        // Broker 1 is a replica but was not in sync: it is not elected.
        let (records, _) = heartbeat(&image, 1, Uuid::from_u128(10), false).expect("heartbeat");
        assert!(records.is_empty());
        // Broker 0 comes back and leads it again.
        let (records, reply) = heartbeat(&image, 0, Uuid::from_u128(10), false).expect("heartbeat");
        apply(&mut image, &records);
        assert!(!reply.fenced);
        // Going offline and coming back are two leader changes.
        assert_eq!(part(&image, id, 2).leader, 0);
        assert_eq!(part(&image, id, 2).leader_epoch, 2);
    }

    #[test]
    fn unclean_election_only_where_the_topic_allows_it() {
        let (mut image, id) = cluster();
        image.apply(&MetadataRecord::Config(crate::metadata::ConfigRecord {
            resource: crate::metadata::ConfigResource::Topic("t".into()),
            name: "unclean.leader.election.enable".into(),
            value: Some("true".into()),
        }));
        let records = fence(&image, 0);
        apply(&mut image, &records);
        let records = fence(&image, 1);
        apply(&mut image, &records);
        let (records, _) = heartbeat(&image, 1, Uuid::from_u128(10), false).expect("heartbeat");
        apply(&mut image, &records);
        let p2 = part(&image, id, 2);
        assert_eq!((p2.leader, p2.isr.clone()), (1, vec![1]));
    }

    #[test]
    fn a_restarted_broker_is_fenced_until_it_heartbeats() {
        let (mut image, id) = cluster();
        assert!(register(&image, &broker(0, 10)).is_empty());
        let records = register(&image, &broker(0, 11));
        apply(&mut image, &records);
        assert!(!image.is_live(0));
        assert_eq!(part(&image, id, 0).leader, 1);
        assert_eq!(
            heartbeat(&image, 0, Uuid::from_u128(10), false).map_err(|r| r.error),
            Err(ResponseError::StaleBrokerEpoch)
        );
        let (records, _) = heartbeat(&image, 0, Uuid::from_u128(11), false).expect("heartbeat");
        apply(&mut image, &records);
        assert!(image.is_live(0));
    }

    #[test]
    fn a_controlled_shutdown_hands_every_leadership_away() {
        let (mut image, id) = cluster();
        let (records, reply) = heartbeat(&image, 1, Uuid::from_u128(10), true).expect("heartbeat");
        apply(&mut image, &records);
        assert!(reply.shutdown_ready);
        assert_eq!(part(&image, id, 1).leader, 2);
        assert!(image.topics[&id]
            .partitions
            .values()
            .all(|p| p.leader != 1 && (!p.isr.contains(&1) || p.isr == vec![1])));
    }
}
