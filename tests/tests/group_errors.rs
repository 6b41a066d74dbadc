//! What a misbehaving group member gets: Kafka's error codes for unknown
//! members, stale generations, commits during a rebalance, oversized
//! metadata, bad group ids and deletes of groups in use.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::offset_commit_request::{
    OffsetCommitRequestPartition, OffsetCommitRequestTopic,
};
use kafka_protocol::messages::offset_delete_request::{
    OffsetDeleteRequestPartition, OffsetDeleteRequestTopic,
};
use kafka_protocol::messages::sync_group_request::SyncGroupRequestAssignment;
use kafka_protocol::messages::{
    ApiKey, ConsumerProtocolSubscription, DeleteGroupsRequest, DeleteGroupsResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, GroupId, HeartbeatRequest, HeartbeatResponse,
    JoinGroupRequest, JoinGroupResponse, OffsetCommitRequest, OffsetCommitResponse,
    OffsetDeleteRequest, OffsetDeleteResponse, SyncGroupRequest, SyncGroupResponse, TopicName,
};
use kafka_protocol::protocol::{Encodable, StrBytes};
use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
use weir_e2e::{Broker, RawClient};

const OFFSET_METADATA_TOO_LARGE: i16 = 12;
const ILLEGAL_GENERATION: i16 = 22;
const INVALID_GROUP_ID: i16 = 24;
const UNKNOWN_MEMBER_ID: i16 = 25;
const INVALID_SESSION_TIMEOUT: i16 = 26;
const REBALANCE_IN_PROGRESS: i16 = 27;
const UNKNOWN_TOPIC_OR_PARTITION: i16 = 3;
const INVALID_REQUEST: i16 = 42;
const NON_EMPTY_GROUP: i16 = 68;
const GROUP_ID_NOT_FOUND: i16 = 69;
const MEMBER_ID_REQUIRED: i16 = 79;
const GROUP_SUBSCRIBED_TO_TOPIC: i16 = 86;

fn group(id: &str) -> GroupId {
    GroupId(StrBytes::from_string(id.to_string()))
}

fn subscription(topic: &str) -> Bytes {
    let sub = ConsumerProtocolSubscription::default()
        .with_topics(vec![StrBytes::from_string(topic.to_string())]);
    let mut buf = BytesMut::new();
    buf.put_i16(1);
    sub.encode(&mut buf, 1).unwrap();
    buf.freeze()
}

fn join_request(group_id: &str, member_id: &str, session_timeout_ms: i32) -> JoinGroupRequest {
    JoinGroupRequest::default()
        .with_group_id(group(group_id))
        .with_session_timeout_ms(session_timeout_ms)
        .with_rebalance_timeout_ms(8_000)
        .with_member_id(StrBytes::from_string(member_id.to_string()))
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(subscription("watched"))])
}

fn join(
    client: &mut RawClient,
    group_id: &str,
    member_id: &str,
    session_timeout_ms: i32,
) -> JoinGroupResponse {
    client.call(
        ApiKey::JoinGroup,
        5,
        &join_request(group_id, member_id, session_timeout_ms),
    )
}

/// Joins as a new member through MEMBER_ID_REQUIRED; returns the response.
fn join_new(client: &mut RawClient, group_id: &str) -> JoinGroupResponse {
    let first = join(client, group_id, "", 10_000);
    assert_eq!(first.error_code, MEMBER_ID_REQUIRED);
    let joined = join(client, group_id, first.member_id.as_str(), 10_000);
    assert_eq!(joined.error_code, 0);
    joined
}

fn heartbeat(client: &mut RawClient, group_id: &str, member: &str, generation: i32) -> i16 {
    let request = HeartbeatRequest::default()
        .with_group_id(group(group_id))
        .with_member_id(StrBytes::from_string(member.to_string()))
        .with_generation_id(generation);
    let response: HeartbeatResponse = client.call(ApiKey::Heartbeat, 4, &request);
    response.error_code
}

fn commit(
    client: &mut RawClient,
    group_id: &str,
    member: &str,
    generation: i32,
    topic: &str,
    metadata: &str,
) -> i16 {
    let request = OffsetCommitRequest::default()
        .with_group_id(group(group_id))
        .with_generation_id_or_member_epoch(generation)
        .with_member_id(StrBytes::from_string(member.to_string()))
        .with_topics(vec![OffsetCommitRequestTopic::default()
            .with_name(TopicName(StrBytes::from_string(topic.to_string())))
            .with_partitions(vec![OffsetCommitRequestPartition::default()
                .with_partition_index(0)
                .with_committed_offset(5)
                .with_committed_metadata(Some(StrBytes::from_string(
                    metadata.to_string(),
                )))])]);
    let response: OffsetCommitResponse = client.call(ApiKey::OffsetCommit, 8, &request);
    response.topics[0].partitions[0].error_code
}

fn delete_group(client: &mut RawClient, group_id: &str) -> i16 {
    let request = DeleteGroupsRequest::default().with_groups_names(vec![group(group_id)]);
    let response: DeleteGroupsResponse = client.call(ApiKey::DeleteGroups, 2, &request);
    response.results[0].error_code
}

async fn setup() -> (Broker, RawClient) {
    let broker = Broker::start_with(&["--override", "group.initial.rebalance.delay.ms=0"]);
    let t = NewTopic::new("watched", 1, TopicReplication::Fixed(1));
    let created = broker
        .admin()
        .create_topics(&[t], &AdminOptions::new())
        .await
        .unwrap();
    assert!(created[0].is_ok(), "{created:?}");
    let mut client = broker.raw();
    let found: FindCoordinatorResponse = client.call(
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("g")),
    );
    assert_eq!(found.error_code, 0);
    (broker, client)
}

#[tokio::test]
async fn bad_group_ids_timeouts_and_unknown_members_are_refused() {
    let (_broker, mut client) = setup().await;
    assert_eq!(
        join(&mut client, "", "", 10_000).error_code,
        INVALID_GROUP_ID
    );
    // Only flexible versions (compact strings) can carry an id this long.
    let too_long: JoinGroupResponse = client.call(
        ApiKey::JoinGroup,
        6,
        &join_request(&"g".repeat(40_000), "", 10_000),
    );
    assert_eq!(too_long.error_code, INVALID_GROUP_ID);
    assert_eq!(
        join(&mut client, "g", "", 10).error_code,
        INVALID_SESSION_TIMEOUT
    );
    assert_eq!(
        join(&mut client, "g", "nobody", 10_000).error_code,
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(heartbeat(&mut client, "g", "nobody", 1), UNKNOWN_MEMBER_ID);
    assert_eq!(
        delete_group(&mut client, "never-existed"),
        GROUP_ID_NOT_FOUND
    );
}

#[tokio::test]
async fn stale_generations_rebalances_and_oversized_metadata_get_kafka_errors() {
    let (broker, mut client) = setup().await;
    let joined = join_new(&mut client, "g");
    let member = joined.member_id.to_string();
    let generation = joined.generation_id;
    assert_eq!(joined.leader, joined.member_id);
    let sync: SyncGroupResponse = client.call(
        ApiKey::SyncGroup,
        3,
        &SyncGroupRequest::default()
            .with_group_id(group("g"))
            .with_generation_id(generation)
            .with_member_id(joined.member_id.clone())
            .with_assignments(vec![SyncGroupRequestAssignment::default()
                .with_member_id(joined.member_id.clone())
                .with_assignment(Bytes::from_static(b"assignment"))]),
    );
    assert_eq!(sync.error_code, 0);
    assert_eq!(sync.assignment, Bytes::from_static(b"assignment"));

    assert_eq!(heartbeat(&mut client, "g", &member, generation), 0);
    assert_eq!(
        heartbeat(&mut client, "g", &member, generation - 1),
        ILLEGAL_GENERATION
    );
    assert_eq!(
        commit(&mut client, "g", &member, generation + 1, "watched", ""),
        ILLEGAL_GENERATION
    );
    assert_eq!(
        commit(&mut client, "g", "nobody", generation, "watched", ""),
        UNKNOWN_MEMBER_ID
    );
    assert_eq!(
        commit(
            &mut client,
            "g",
            &member,
            generation,
            "watched",
            &"m".repeat(5_000)
        ),
        OFFSET_METADATA_TOO_LARGE
    );
    assert_eq!(
        commit(&mut client, "g", &member, generation, "no-such-topic", ""),
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(
        commit(&mut client, "g", &member, generation, "watched", "fine"),
        0
    );

    // The group is in use: its offsets and the group itself stay.
    let deleted: OffsetDeleteResponse = client.call(
        ApiKey::OffsetDelete,
        0,
        &OffsetDeleteRequest::default()
            .with_group_id(group("g"))
            .with_topics(vec![OffsetDeleteRequestTopic::default()
                .with_name(TopicName(StrBytes::from_static_str("watched")))
                .with_partitions(vec![
                    OffsetDeleteRequestPartition::default().with_partition_index(0)
                ])]),
    );
    assert_eq!(
        deleted.topics[0].partitions[0].error_code,
        GROUP_SUBSCRIBED_TO_TOPIC
    );
    assert_eq!(delete_group(&mut client, "g"), NON_EMPTY_GROUP);

    // A second member joins: the group rebalances, and until the first
    // member rejoins its commits and heartbeats are told so.
    let mut second = broker.raw();
    let first_try = join(&mut second, "g", "", 10_000);
    assert_eq!(first_try.error_code, MEMBER_ID_REQUIRED);
    second.send(
        ApiKey::JoinGroup,
        5,
        &join_request("g", first_try.member_id.as_str(), 10_000),
    );
    // The join is parked, not answered; wait until the coordinator has
    // taken it and moved the group into a rebalance.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while heartbeat(&mut client, "g", &member, generation) != REBALANCE_IN_PROGRESS {
        assert!(
            std::time::Instant::now() < deadline,
            "the second join never started a rebalance"
        );
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    assert_eq!(
        commit(&mut client, "g", &member, generation, "watched", ""),
        REBALANCE_IN_PROGRESS
    );
    let rejoined = join(&mut client, "g", &member, 10_000);
    assert_eq!(rejoined.error_code, 0);
    assert_eq!(rejoined.generation_id, generation + 1);
    let second_joined: JoinGroupResponse =
        second.receive(ApiKey::JoinGroup, 5).expect("join response");
    assert_eq!(second_joined.error_code, 0);
    assert_eq!(second_joined.generation_id, generation + 1);
}

#[tokio::test]
async fn find_coordinator_answers_batched_lookups_and_refuses_unknown_key_types() {
    let (broker, mut client) = setup().await;
    let request = FindCoordinatorRequest::default()
        .with_key_type(0)
        .with_coordinator_keys(vec![
            StrBytes::from_static_str("one"),
            StrBytes::from_static_str("two"),
        ]);
    let found: FindCoordinatorResponse = client.call(ApiKey::FindCoordinator, 4, &request);
    assert_eq!(found.coordinators.len(), 2);
    let port: i32 = broker
        .bootstrap()
        .rsplit(':')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    for c in &found.coordinators {
        assert_eq!((c.error_code, c.node_id.0, c.port), (0, 0, port));
    }
    let odd: FindCoordinatorResponse = client.call(
        ApiKey::FindCoordinator,
        3,
        &FindCoordinatorRequest::default()
            .with_key(StrBytes::from_static_str("x"))
            .with_key_type(7),
    );
    assert_eq!(odd.error_code, INVALID_REQUEST);
}

#[tokio::test]
async fn offsets_of_an_empty_group_can_be_deleted_and_then_the_group() {
    let (_broker, mut client) = setup().await;
    assert_eq!(
        commit(&mut client, "idle", "", -1, "watched", "standalone"),
        0
    );
    let deleted: OffsetDeleteResponse = client.call(
        ApiKey::OffsetDelete,
        0,
        &OffsetDeleteRequest::default()
            .with_group_id(group("idle"))
            .with_topics(vec![
                OffsetDeleteRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str("watched")))
                    .with_partitions(vec![
                        OffsetDeleteRequestPartition::default().with_partition_index(0)
                    ]),
                OffsetDeleteRequestTopic::default()
                    .with_name(TopicName(StrBytes::from_static_str("no-such-topic")))
                    .with_partitions(vec![
                        OffsetDeleteRequestPartition::default().with_partition_index(0)
                    ]),
            ]),
    );
    assert_eq!(deleted.error_code, 0);
    assert_eq!(deleted.topics[0].partitions[0].error_code, 0);
    assert_eq!(
        deleted.topics[1].partitions[0].error_code,
        UNKNOWN_TOPIC_OR_PARTITION
    );
    assert_eq!(delete_group(&mut client, "idle"), 0);
    assert_eq!(delete_group(&mut client, "idle"), GROUP_ID_NOT_FOUND);
}
