//! The leader's side of replication: what the high watermark waits for
//! while the ISR changes.

use kafka_protocol::records::Compression;

use super::*;
use crate::log::batch::tests::batch_with;

const NOW: i64 = 1_700_000_000_000;

/// Broker 1 leading a partition replicated on 1, 2 and 3, with `isr`.
fn leader(dir: &Path, isr: &[i32]) -> Partition {
    let settings = PartitionSettings {
        log: LogConfig::default(),
        min_insync_replicas: 1,
        leader: 1,
        leader_epoch: 0,
        partition_epoch: 0,
        replicas: vec![1, 2, 3],
        isr: isr.to_vec(),
    };
    Partition::open(
        1,
        dir,
        ("orders", Uuid::new_v4(), 0),
        settings,
        watch::channel(0).0,
        NOW,
    )
    .expect("open")
}

fn append(partition: &Partition, records: usize) {
    partition
        .append(
            batch_with(records, &[NOW], Compression::None, true),
            -1,
            NOW,
        )
        .expect("append");
}

/// Follower `replica` fetching from `offset`; the leader's answer.
fn fetch(partition: &Partition, replica: i32, offset: i64) -> ReplicaFetched {
    let position = FetchPosition {
        leader: 1,
        leader_epoch: 0,
        fetch_offset: offset,
        last_fetched_epoch: if offset == 0 { -1 } else { 0 },
    };
    partition
        .fetch_for_follower(replica, position, 1 << 20, NOW)
        .expect("fetch")
}

#[test]
fn the_high_watermark_waits_for_a_replica_whose_isr_join_may_be_committed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partition = leader(dir.path(), &[1, 2]);
    append(&partition, 10);
    fetch(&partition, 2, 10);
    assert_eq!(partition.high_watermark(), 10);

    // Broker 3 caught up: the leader proposes it for the ISR. The
    // controller may commit that (and even elect 3) before this leader
    // hears back, so nothing 3 lacks is acknowledged meanwhile.
    let proposal = fetch(&partition, 3, 10).expand_isr.expect("a proposal");
    assert_eq!(proposal.isr, vec![1, 2, 3]);
    append(&partition, 5);
    fetch(&partition, 2, 15);
    assert_eq!(partition.high_watermark(), 10, "3 has only 10");
    fetch(&partition, 3, 15);
    assert_eq!(partition.high_watermark(), 15);
}

#[test]
fn a_lost_answer_keeps_the_wait_and_a_refusal_or_a_new_partition_epoch_ends_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let partition = leader(dir.path(), &[1, 2]);
    append(&partition, 10);
    fetch(&partition, 2, 10);
    assert!(fetch(&partition, 3, 10).expand_isr.is_some());
    append(&partition, 5);

    // A timeout says nothing of whether the change committed.
    partition.isr_proposal_answered(false);
    fetch(&partition, 2, 15);
    assert_eq!(partition.high_watermark(), 10);

    // The controller refused it: 3 is not in the ISR.
    partition.isr_proposal_answered(true);
    fetch(&partition, 2, 15);
    assert_eq!(partition.high_watermark(), 15);

    // A new partition epoch holds the answer either way.
    append(&partition, 5);
    assert!(fetch(&partition, 3, 15).expand_isr.is_some());
    partition.isr_proposal_answered(false);
    let settings = PartitionSettings {
        log: LogConfig::default(),
        min_insync_replicas: 1,
        leader: 1,
        leader_epoch: 0,
        partition_epoch: 1,
        replicas: vec![1, 2, 3],
        isr: vec![1, 2],
    };
    partition.update(settings, NOW).expect("update");
    fetch(&partition, 2, 20);
    assert_eq!(partition.high_watermark(), 20);
}
