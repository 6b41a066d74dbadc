use super::*;

const LIMITS: GroupLimits = GroupLimits {
    min_session_timeout_ms: 6_000,
    max_session_timeout_ms: 1_800_000,
    initial_rebalance_delay_ms: 0,
    max_size: 3,
};

fn join_request(member_id: &str, instance: Option<&str>, protocols: &[&str]) -> JoinRequest {
    JoinRequest {
        member_id: member_id.to_string(),
        instance_id: instance.map(str::to_string),
        client_id: "client".into(),
        client_host: "/127.0.0.1".into(),
        session_timeout_ms: 10_000,
        rebalance_timeout_ms: 30_000,
        protocol_type: "consumer".into(),
        protocols: protocols
            .iter()
            .map(|p| (p.to_string(), Bytes::from(format!("meta-{p}"))))
            .collect(),
        requires_known_member_id: true,
    }
}

/// Joins a new dynamic member through MEMBER_ID_REQUIRED; returns its id.
fn join_new(group: &mut Group, n: u32, now: i64, out: &mut Vec<Delivery>) -> String {
    let first = group.join(
        &join_request("", None, &["range", "roundrobin"]),
        &n.to_string(),
        &LIMITS,
        now,
        out,
    );
    let Reply::Now(JoinResult {
        error: Some(ResponseError::MemberIdRequired),
        member_id,
        ..
    }) = first
    else {
        panic!("expected MEMBER_ID_REQUIRED, got {first:?}");
    };
    let again = group.join(
        &join_request(&member_id, None, &["range", "roundrobin"]),
        "x",
        &LIMITS,
        now,
        out,
    );
    assert_eq!(again, Reply::Later(member_id.clone()));
    member_id
}

fn joins(out: &[Delivery]) -> Vec<(String, JoinResult)> {
    out.iter()
        .filter_map(|d| match d {
            Delivery::Join(m, r) => Some((m.clone(), r.clone())),
            Delivery::Sync(..) => None,
        })
        .collect()
}

/// Brings a group of `n` dynamic members to Stable; returns member ids.
fn stable_group(n: u32) -> (Group, Vec<String>) {
    let mut group = Group::new("g", 0);
    let mut out = Vec::new();
    let mut ids = Vec::new();
    for i in 0..n {
        ids.push(join_new(&mut group, i, 0, &mut out));
    }
    group.maybe_complete_join(&LIMITS, 0, &mut out);
    assert_eq!(group.state, GroupState::CompletingRebalance);
    let leader = group.leader.clone().unwrap();
    let assignments = ids
        .iter()
        .map(|m| (m.clone(), Bytes::from(format!("asg-{m}"))))
        .collect();
    let reply = group.sync(
        &leader,
        None,
        group.generation_id,
        None,
        None,
        assignments,
        0,
        &mut out,
    );
    assert_eq!(reply, Reply::Later(leader));
    assert_eq!(group.state, GroupState::Stable);
    (group, ids)
}

#[test]
fn members_join_get_one_generation_and_the_leader_sees_everyone() {
    let mut group = Group::new("g", 0);
    let mut out = Vec::new();
    let a = join_new(&mut group, 1, 0, &mut out);
    let b = join_new(&mut group, 2, 0, &mut out);
    group.maybe_complete_join(&LIMITS, 0, &mut out);
    let results = joins(&out);
    assert_eq!(results.len(), 2);
    for (_, r) in &results {
        assert_eq!(r.generation_id, 1);
        assert_eq!(r.protocol_name.as_deref(), Some("range"));
    }
    let leader = group.leader.clone().unwrap();
    let (_, leader_result) = results.iter().find(|(m, _)| *m == leader).unwrap();
    assert_eq!(leader_result.members.len(), 2);
    let follower = if leader == a { &b } else { &a };
    let (_, follower_result) = results.iter().find(|(m, _)| m == follower).unwrap();
    assert!(follower_result.members.is_empty());
}

#[test]
fn the_protocol_all_members_support_is_chosen() {
    let mut group = Group::new("g", 0);
    let mut out = Vec::new();
    group.join(
        &join_request("", None, &["cooperative-sticky", "range"]),
        "1",
        &LIMITS,
        0,
        &mut out,
    );
    let Some((first_id, _)) = group.pending.iter().next().map(|(k, v)| (k.clone(), *v)) else {
        panic!("no pending member")
    };
    group.join(
        &join_request(&first_id, None, &["cooperative-sticky", "range"]),
        "x",
        &LIMITS,
        0,
        &mut out,
    );
    let second = join_request("", None, &["range"]);
    let Reply::Now(r) = group.join(&second, "2", &LIMITS, 0, &mut out) else {
        panic!()
    };
    group.join(
        &join_request(&r.member_id, None, &["range"]),
        "x",
        &LIMITS,
        0,
        &mut out,
    );
    group.maybe_complete_join(&LIMITS, 0, &mut out);
    assert_eq!(group.protocol_name.as_deref(), Some("range"));
    let odd = join_request("", None, &["roundrobin"]);
    let Reply::Now(r) = group.join(&odd, "3", &LIMITS, 0, &mut out) else {
        panic!()
    };
    assert_eq!(r.error, Some(ResponseError::InconsistentGroupProtocol));
}

#[test]
fn sync_hands_each_member_its_assignment() {
    let (mut group, ids) = stable_group(2);
    let mut out = Vec::new();
    for id in &ids {
        let reply = group.sync(
            id,
            None,
            group.generation_id,
            None,
            None,
            vec![],
            0,
            &mut out,
        );
        let Reply::Now(r) = reply else { panic!() };
        assert_eq!(r.assignment, Bytes::from(format!("asg-{id}")));
    }
}

#[test]
fn stale_generations_unknown_members_and_rebalances_get_kafka_errors() {
    let (mut group, ids) = stable_group(2);
    let generation = group.generation_id;
    assert_eq!(group.heartbeat(&ids[0], None, generation, 1), None);
    assert_eq!(
        group.heartbeat(&ids[0], None, generation - 1, 1),
        Some(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        group.heartbeat("nobody", None, generation, 1),
        Some(ResponseError::UnknownMemberId)
    );
    assert_eq!(group.check_commit(&ids[0], None, generation), Ok(()));
    assert_eq!(
        group.check_commit(&ids[0], None, generation + 1),
        Err(ResponseError::IllegalGeneration)
    );
    assert_eq!(
        group.check_commit("", None, -1),
        Err(ResponseError::IllegalGeneration)
    );

    let mut out = Vec::new();
    assert_eq!(group.leave(&ids[1], None, 2, &mut out), None);
    assert_eq!(group.state, GroupState::PreparingRebalance);
    assert_eq!(
        group.heartbeat(&ids[0], None, generation, 3),
        Some(ResponseError::RebalanceInProgress)
    );
    assert_eq!(
        group.check_commit(&ids[0], None, generation),
        Err(ResponseError::RebalanceInProgress)
    );
}

#[test]
fn an_expired_member_is_removed_and_the_rest_rebalance() {
    let (mut group, ids) = stable_group(3);
    let mut out = Vec::new();
    for id in &ids[..2] {
        group.heartbeat(id, None, group.generation_id, 9_000);
    }
    group.expire_members(10_000, &mut out);
    assert_eq!(group.members.len(), 2);
    assert_eq!(group.state, GroupState::PreparingRebalance);
    for id in &ids[..2] {
        let r = group.join(
            &join_request(id, None, &["range", "roundrobin"]),
            "x",
            &LIMITS,
            10_001,
            &mut out,
        );
        assert_eq!(r, Reply::Later(id.clone()));
    }
    group.maybe_complete_join(&LIMITS, 10_001, &mut out);
    assert_eq!(group.state, GroupState::CompletingRebalance);
    assert_eq!(group.generation_id, 2);
}

#[test]
fn members_that_do_not_rejoin_in_the_rebalance_timeout_are_dropped() {
    let (mut group, ids) = stable_group(2);
    let mut out = Vec::new();
    group.join(
        &join_request(&ids[0], None, &["roundrobin"]),
        "x",
        &LIMITS,
        100,
        &mut out,
    );
    assert_eq!(group.state, GroupState::PreparingRebalance);
    group.maybe_complete_join(&LIMITS, 1_000, &mut out);
    assert_eq!(
        group.state,
        GroupState::PreparingRebalance,
        "waits for the other member"
    );
    group.maybe_complete_join(&LIMITS, 100 + 30_000, &mut out);
    assert_eq!(group.state, GroupState::CompletingRebalance);
    assert_eq!(
        group.members.keys().cloned().collect::<Vec<_>>(),
        vec![ids[0].clone()]
    );
}

#[test]
fn a_static_member_rejoining_a_stable_group_keeps_its_assignment_without_rebalance() {
    let mut group = Group::new("g", 0);
    let mut out = Vec::new();
    let r = group.join(
        &join_request("", Some("pod-0"), &["range"]),
        "1",
        &LIMITS,
        0,
        &mut out,
    );
    let Reply::Later(first_id) = r else {
        panic!("{r:?}")
    };
    group.maybe_complete_join(&LIMITS, 0, &mut out);
    let generation = group.generation_id;
    group.sync(
        &first_id,
        Some("pod-0"),
        generation,
        None,
        None,
        vec![(first_id.clone(), Bytes::from_static(b"p0"))],
        0,
        &mut out,
    );
    assert_eq!(group.state, GroupState::Stable);

    // The pod restarts and joins again with no member id.
    let r = group.join(
        &join_request("", Some("pod-0"), &["range"]),
        "2",
        &LIMITS,
        5,
        &mut out,
    );
    let Reply::Now(result) = r else {
        panic!("{r:?}")
    };
    assert_eq!(result.error, None);
    assert_eq!(result.generation_id, generation);
    assert_ne!(result.member_id, first_id);
    assert_eq!(group.state, GroupState::Stable);
    let Reply::Now(sync) = group.sync(
        &result.member_id,
        Some("pod-0"),
        generation,
        None,
        None,
        vec![],
        6,
        &mut out,
    ) else {
        panic!()
    };
    assert_eq!(sync.assignment, Bytes::from_static(b"p0"));
    // The old incarnation is fenced.
    assert_eq!(
        group.heartbeat(&first_id, Some("pod-0"), generation, 7),
        Some(ResponseError::FencedInstanceId)
    );
}

#[test]
fn bad_session_timeouts_and_full_groups_are_refused() {
    let mut group = Group::new("g", 0);
    let mut out = Vec::new();
    let mut short = join_request("", None, &["range"]);
    short.session_timeout_ms = 100;
    let Reply::Now(r) = group.join(&short, "1", &LIMITS, 0, &mut out) else {
        panic!()
    };
    assert_eq!(r.error, Some(ResponseError::InvalidSessionTimeout));
    for i in 0..3 {
        join_new(&mut group, i, 0, &mut out);
    }
    let Reply::Now(r) = group.join(
        &join_request("", None, &["range"]),
        "9",
        &LIMITS,
        0,
        &mut out,
    ) else {
        panic!()
    };
    assert_eq!(r.error, Some(ResponseError::GroupMaxSizeReached));
}

#[test]
fn standalone_commits_need_an_empty_group() {
    let group = Group::new("g", 0);
    assert_eq!(group.check_commit("", None, -1), Ok(()));
    let (group, _) = stable_group(1);
    assert_eq!(
        group.check_commit("", None, -1),
        Err(ResponseError::IllegalGeneration)
    );
}

#[test]
fn a_member_that_goes_silent_during_a_rebalance_is_dropped_by_its_session() {
    let (mut group, ids) = stable_group(2);
    let mut out = Vec::new();
    group.join(
        &join_request(&ids[0], None, &["range"]),
        "x",
        &LIMITS,
        100,
        &mut out,
    );
    assert_eq!(group.state, GroupState::PreparingRebalance);
    group.expire_members(9_999, &mut out);
    group.maybe_complete_join(&LIMITS, 9_999, &mut out);
    assert_eq!(group.state, GroupState::PreparingRebalance);
    // The silent member's session (10 s from its last sign of life at 0)
    // ends long before the rebalance timeout (30 s from 100).
    group.expire_members(10_000, &mut out);
    group.maybe_complete_join(&LIMITS, 10_000, &mut out);
    assert_eq!(group.state, GroupState::CompletingRebalance);
    assert_eq!(
        group.members.keys().cloned().collect::<Vec<_>>(),
        vec![ids[0].clone()]
    );
}

#[test]
fn a_leader_that_closes_before_its_sync_does_not_leave_followers_waiting() {
    let mut group = Group::new("g", 0);
    let mut out = Vec::new();
    let a = join_new(&mut group, 0, 0, &mut out);
    let b = join_new(&mut group, 1, 0, &mut out);
    group.maybe_complete_join(&LIMITS, 0, &mut out);
    assert_eq!(group.state, GroupState::CompletingRebalance);
    let leader = group.leader.clone().unwrap();
    let follower = if leader == a { b } else { a };
    let generation = group.generation_id;
    let reply = group.sync(
        &follower,
        None,
        generation,
        None,
        None,
        vec![],
        500,
        &mut out,
    );
    assert_eq!(reply, Reply::Later(follower.clone()));
    out.clear();
    group.heartbeat(&follower, None, generation, 9_000);
    group.expire_members(10_000, &mut out);
    assert!(!group.members.contains_key(&leader), "the leader expired");
    assert_eq!(group.state, GroupState::PreparingRebalance);
    assert!(
        out.iter().any(|d| matches!(d,
            Delivery::Sync(m, r) if *m == follower && r.error == Some(ResponseError::RebalanceInProgress))),
        "the waiting follower is told to rejoin: {out:?}"
    );
}
