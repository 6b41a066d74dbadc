//! A broker cut off by the network while an idempotent acks=all producer
//! writes: first from the other brokers only (its clients still reach it and
//! it still believes it leads), then from everyone. It must acknowledge
//! nothing it later loses, be replaced, and rejoin every ISR once healed.
//! The cut is real: the broker runs in a network namespace whose links the
//! test takes down (`weir_e2e::netns`).

use std::time::Duration;

use weir_e2e::cluster::{create_topic, Cluster};
use weir_e2e::netns::Isolation;
use weir_e2e::workload::{assert_nothing_lost, verify, Workload};

const TOPIC: &str = "partitioned";
const PARTITIONS: i32 = 3;
const ISOLATED: i32 = 2;

fn led_by(cluster: &Cluster, from: usize, broker: i32) -> Vec<i32> {
    (0..PARTITIONS)
        .filter(|p| {
            cluster
                .partition_view(from, TOPIC, *p)
                .is_some_and(|v| v.leader == broker)
        })
        .collect()
}

/// Waits until, as broker 0 sees it, the isolated broker leads nothing
/// and every partition has a leader.
fn wait_replaced(cluster: &Cluster) {
    cluster.wait_until(
        "the cut-off broker's partitions have other leaders",
        Duration::from_secs(30),
        |c| {
            (0..PARTITIONS).all(|p| {
                c.partition_view(0, TOPIC, p)
                    .is_some_and(|v| v.leader >= 0 && v.leader != ISOLATED)
            })
        },
    );
}

fn wait_whole(cluster: &Cluster) {
    cluster.wait_until(
        "the healed broker is back in every ISR",
        Duration::from_secs(60),
        |c| {
            (0..PARTITIONS).all(|p| {
                c.partition_view(0, TOPIC, p)
                    .is_some_and(|v| v.isr.len() == 3 && v.leader >= 0)
            })
        },
    );
}

#[test]
fn a_partitioned_broker_acknowledges_nothing_it_loses_and_rejoins_when_healed() {
    let Some(net) = Isolation::create_or_skip() else {
        return;
    };
    let cluster = Cluster::start_with_isolated(3, 3, &[], &net);
    create_topic(
        &cluster.bootstrap(),
        TOPIC,
        PARTITIONS,
        3,
        &[("min.insync.replicas", "2")],
    );
    assert!(
        !led_by(&cluster, 0, ISOLATED).is_empty(),
        "the isolated broker should lead a partition"
    );
    let load = Workload::start(
        &cluster.bootstrap(),
        TOPIC,
        PARTITIONS,
        Duration::from_millis(2),
    );
    std::thread::sleep(Duration::from_secs(2));

    // Cut from the brokers only: it still takes produce requests it can
    // never get replicated, and must not acknowledge them.
    net.cut_internal();
    wait_replaced(&cluster);
    std::thread::sleep(Duration::from_secs(3));
    net.heal_internal();
    wait_whole(&cluster);
    // Now a follower (leadership does not move back by itself), it is cut
    // off from everyone: the ISR shrinks without it and writes go on.
    std::thread::sleep(Duration::from_secs(2));
    net.cut_internal();
    net.cut_clients();
    cluster.wait_until(
        "every ISR drops the cut-off follower",
        Duration::from_secs(30),
        |c| {
            (0..PARTITIONS).all(|p| {
                c.partition_view(0, TOPIC, p)
                    .is_some_and(|v| v.leader >= 0 && !v.isr.contains(&ISOLATED))
            })
        },
    );
    std::thread::sleep(Duration::from_secs(3));
    net.heal_clients();
    net.heal_internal();
    wait_whole(&cluster);
    std::thread::sleep(Duration::from_secs(1));

    let outcome = load.finish();
    let verdict = verify(
        &cluster.bootstrap(),
        TOPIC,
        PARTITIONS,
        &outcome,
        Duration::from_secs(60),
    );
    assert_nothing_lost(&verdict);
}
