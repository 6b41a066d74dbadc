use std::collections::BTreeMap;

use super::*;

struct Topics(BTreeMap<String, (Uuid, i32)>);

impl TopicCatalog for Topics {
    fn lookup(&self, name: &str) -> Option<(Uuid, i32)> {
        self.0.get(name).copied()
    }
    fn names(&self) -> Vec<String> {
        self.0.keys().cloned().collect()
    }
}

fn topics(list: &[(&str, u128, i32)]) -> Topics {
    Topics(
        list.iter()
            .map(|(n, id, c)| (n.to_string(), (Uuid::from_u128(*id), *c)))
            .collect(),
    )
}

fn join(member: &str, names: &[&str]) -> Heartbeat {
    Heartbeat {
        member_id: member.to_string(),
        member_epoch: JOIN_EPOCH,
        rebalance_timeout_ms: 30_000,
        subscribed_topic_names: Some(names.iter().map(|s| s.to_string()).collect()),
        owned: Some(Assignment::new()),
        ..Default::default()
    }
}

fn beat(member: &str, epoch: i32, owned: &Assignment) -> Heartbeat {
    Heartbeat {
        member_id: member.to_string(),
        member_epoch: epoch,
        rebalance_timeout_ms: -1,
        owned: Some(owned.clone()),
        ..Default::default()
    }
}

fn size(a: &Assignment) -> usize {
    a.values().map(|p| p.len()).sum()
}

/// Runs heartbeats for every member until nobody's holding changes, each
/// member reporting what it was last given: what real clients converge to.
fn settle(
    group: &mut ConsumerGroup,
    cat: &Topics,
    held: &mut BTreeMap<String, (i32, Assignment)>,
    now: i64,
) {
    let limits = ConsumerGroupLimits::default();
    for _ in 0..10 {
        let ids: Vec<String> = held.keys().cloned().collect();
        for id in ids {
            let (epoch, owned) = held[&id].clone();
            let reply = group
                .heartbeat(beat(&id, epoch, &owned), cat, &limits, now)
                .expect("heartbeat accepted");
            let owned = reply.assignment.unwrap_or(owned);
            held.insert(id, (reply.member_epoch, owned));
        }
    }
}

#[test]
fn three_members_share_a_topic_without_holding_a_partition_twice() {
    let cat = topics(&[("orders", 1, 6)]);
    let limits = ConsumerGroupLimits::default();
    let mut group = ConsumerGroup::new("g");
    let mut held = BTreeMap::new();
    for m in ["a", "b", "c"] {
        let reply = group
            .heartbeat(join(m, &["orders"]), &cat, &limits, 0)
            .expect("join");
        held.insert(
            m.to_string(),
            (reply.member_epoch, reply.assignment.unwrap_or_default()),
        );
        // Whatever anyone holds at any moment is held by one member only.
        let mut seen = BTreeSet::new();
        for m in group.members.values() {
            for (t, ps) in m.holding.assigned.iter().chain(&m.holding.revoking) {
                for p in ps {
                    assert!(seen.insert((*t, *p)), "{t}-{p} held twice");
                }
            }
        }
    }
    settle(&mut group, &cat, &mut held, 0);
    assert_eq!(group.state(), ConsumerGroupState::Stable);
    for (id, (epoch, owned)) in &held {
        assert_eq!(*epoch, group.group_epoch, "{id}");
        assert_eq!(size(owned), 2, "{id}");
    }
}

#[test]
fn a_departed_members_partitions_go_to_the_others() {
    let cat = topics(&[("orders", 1, 4)]);
    let limits = ConsumerGroupLimits::default();
    let mut group = ConsumerGroup::new("g");
    let mut held = BTreeMap::new();
    for m in ["a", "b"] {
        let reply = group
            .heartbeat(join(m, &["orders"]), &cat, &limits, 0)
            .expect("join");
        held.insert(
            m.to_string(),
            (reply.member_epoch, reply.assignment.unwrap_or_default()),
        );
    }
    settle(&mut group, &cat, &mut held, 0);
    let (epoch, _) = held["b"].clone();
    let left = group
        .heartbeat(beat("b", LEAVE_EPOCH, &Assignment::new()), &cat, &limits, 1)
        .expect("leave");
    assert_eq!(left.member_epoch, LEAVE_EPOCH);
    assert!(epoch > 0);
    held.remove("b");
    settle(&mut group, &cat, &mut held, 1);
    assert_eq!(size(&held["a"].1), 4);
}

#[test]
fn a_session_timeout_frees_the_members_partitions() {
    let cat = topics(&[("orders", 1, 2)]);
    let limits = ConsumerGroupLimits::default();
    let mut group = ConsumerGroup::new("g");
    group
        .heartbeat(join("a", &["orders"]), &cat, &limits, 0)
        .expect("join");
    group
        .heartbeat(join("b", &["orders"]), &cat, &limits, 0)
        .expect("join");
    assert!(group.expired_members(&limits, 45_000).is_empty());
    let late = group.expired_members(&limits, 45_001);
    assert_eq!(late, vec!["a".to_string(), "b".to_string()]);
    group.remove_member("a");
    assert!(!group.members.contains_key("a"));
    assert!(group.group_epoch > group.assignment_epoch);
}

#[test]
fn a_member_that_does_not_revoke_in_time_is_expired() {
    let cat = topics(&[("orders", 1, 2)]);
    let limits = ConsumerGroupLimits::default();
    let mut group = ConsumerGroup::new("g");
    let a = group
        .heartbeat(join("a", &["orders"]), &cat, &limits, 0)
        .expect("join");
    let owned = a.assignment.unwrap_or_default();
    assert_eq!(size(&owned), 2);
    group
        .heartbeat(join("b", &["orders"]), &cat, &limits, 0)
        .expect("join");
    // a keeps reporting both partitions: it is asked to revoke one.
    let reply = group
        .heartbeat(beat("a", a.member_epoch, &owned), &cat, &limits, 10)
        .expect("heartbeat");
    assert_eq!(reply.assignment.map(|x| size(&x)), Some(1));
    assert!(group.expired_members(&limits, 29_000).is_empty());
    assert_eq!(
        group.expired_members(&limits, 30_011),
        vec!["a".to_string()]
    );
}

#[test]
fn epochs_the_coordinator_did_not_give_are_fenced() {
    let cat = topics(&[("orders", 1, 2)]);
    let limits = ConsumerGroupLimits::default();
    let mut group = ConsumerGroup::new("g");
    let a = group
        .heartbeat(join("a", &["orders"]), &cat, &limits, 0)
        .expect("join");
    let owned = a.assignment.unwrap_or_default();
    let ahead = group.heartbeat(beat("a", a.member_epoch + 1, &owned), &cat, &limits, 1);
    assert_eq!(
        ahead.map_err(|r| r.error),
        Err(ResponseError::FencedMemberEpoch)
    );
    let unknown = group.heartbeat(beat("zz", 1, &owned), &cat, &limits, 1);
    assert_eq!(
        unknown.map_err(|r| r.error),
        Err(ResponseError::UnknownMemberId)
    );
}

#[test]
fn a_new_topic_matching_the_subscription_bumps_the_group_epoch() {
    let limits = ConsumerGroupLimits::default();
    let mut group = ConsumerGroup::new("g");
    let mut hb = join("a", &[]);
    hb.subscribed_topic_names = Some(vec![]);
    hb.subscribed_topic_regex = Some("orders-.*".to_string());
    let first = group
        .heartbeat(
            hb,
            &topics(&[("orders-1", 1, 1), ("other", 2, 1)]),
            &limits,
            0,
        )
        .expect("join");
    assert_eq!(first.assignment.map(|a| size(&a)), Some(1));
    let epoch = group.group_epoch;
    let more = topics(&[("orders-1", 1, 1), ("orders-2", 3, 2), ("other", 2, 1)]);
    let reply = group
        .heartbeat(
            beat("a", first.member_epoch, &Assignment::new()),
            &more,
            &limits,
            1,
        )
        .expect("heartbeat");
    assert_eq!(group.group_epoch, epoch + 1);
    assert_eq!(reply.assignment.map(|a| size(&a)), Some(3));
}

#[test]
fn a_bad_regex_is_refused_with_kafkas_error() {
    let limits = ConsumerGroupLimits::default();
    let mut group = ConsumerGroup::new("g");
    let mut hb = join("a", &[]);
    hb.subscribed_topic_regex = Some("(".to_string());
    let reply = group.heartbeat(hb, &topics(&[]), &limits, 0);
    assert_eq!(
        reply.map_err(|r| r.error),
        Err(ResponseError::InvalidRegularExpression)
    );
}

#[test]
fn a_static_member_keeps_its_partitions_across_a_restart() {
    let cat = topics(&[("orders", 1, 2)]);
    let limits = ConsumerGroupLimits::default();
    let mut group = ConsumerGroup::new("g");
    let mut hb = join("a1", &["orders"]);
    hb.instance_id = Some("pod-0".to_string());
    let first = group.heartbeat(hb, &cat, &limits, 0).expect("join");
    let mut leave = beat("a1", STATIC_LEAVE_EPOCH, &Assignment::new());
    leave.instance_id = Some("pod-0".to_string());
    group
        .heartbeat(leave, &cat, &limits, 1)
        .expect("static leave");
    let epoch = group.group_epoch;
    // Another member cannot take the instance while it is held.
    let mut other = join("a2", &["orders"]);
    other.instance_id = Some("pod-0".to_string());
    let back = group.heartbeat(other, &cat, &limits, 2).expect("rejoin");
    assert_eq!(back.assignment, first.assignment);
    assert_eq!(group.group_epoch, epoch, "no rebalance for a restart");
    let mut thief = join("a3", &["orders"]);
    thief.instance_id = Some("pod-0".to_string());
    let refused = group.heartbeat(thief, &cat, &limits, 3);
    assert_eq!(
        refused.map_err(|r| r.error),
        Err(ResponseError::UnreleasedInstanceId)
    );
}

#[test]
fn the_group_is_full_at_its_maximum_size() {
    let cat = topics(&[("orders", 1, 2)]);
    let limits = ConsumerGroupLimits {
        max_size: 1,
        ..Default::default()
    };
    let mut group = ConsumerGroup::new("g");
    group
        .heartbeat(join("a", &["orders"]), &cat, &limits, 0)
        .expect("join");
    let full = group.heartbeat(join("b", &["orders"]), &cat, &limits, 0);
    assert_eq!(
        full.map_err(|r| r.error),
        Err(ResponseError::GroupMaxSizeReached)
    );
}
