//! `max.connections`, `max.connections.per.ip`, `connections.max.idle.ms`
//! and `queued.max.request.bytes` against a real broker: what is over a
//! limit waits or is closed, and everyone else goes on being served.

use std::time::{Duration, Instant};

use bytes::Bytes;
use kafka_protocol::messages::api_versions_request::ApiVersionsRequest;
use kafka_protocol::messages::join_group_request::JoinGroupRequestProtocol;
use kafka_protocol::messages::metadata_request::MetadataRequestTopic;
use kafka_protocol::messages::{
    ApiKey, ApiVersionsResponse, DescribeGroupsRequest, DescribeGroupsResponse,
    FindCoordinatorRequest, FindCoordinatorResponse, GroupId, JoinGroupRequest, JoinGroupResponse,
    MetadataRequest, MetadataResponse, TopicName,
};
use kafka_protocol::protocol::StrBytes;
use weir_e2e::{Broker, RawClient};

fn api_versions(c: &mut RawClient) -> i16 {
    let r: ApiVersionsResponse = c.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    r.error_code
}

/// Two served connections, then a third that has sent an ApiVersions.
fn two_served_and_a_third(broker: &Broker) -> (RawClient, RawClient, RawClient) {
    let mut first = broker.raw();
    let mut second = broker.raw();
    assert_eq!(api_versions(&mut first), 0);
    assert_eq!(api_versions(&mut second), 0);
    let mut third = broker.raw();
    third.send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
    (first, second, third)
}

#[test]
fn connections_past_max_connections_per_ip_are_closed_and_the_others_keep_working() {
    let broker = Broker::start_with(&["--override", "max.connections.per.ip=2"]);
    let (mut first, mut second, mut third) = two_served_and_a_third(&broker);
    assert!(
        third.is_closed_by_broker(),
        "a third connection from 127.0.0.1 is closed"
    );
    assert_eq!(
        api_versions(&mut first),
        0,
        "the admitted ones are unaffected"
    );

    drop(first);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let mut again = broker.raw();
        again.send(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default());
        if again.has_bytes_within(Duration::from_secs(5)) {
            assert_eq!(
                again
                    .receive::<ApiVersionsResponse>(ApiKey::ApiVersions, 3)
                    .map(|r| r.error_code),
                Some(0)
            );
            break;
        }
        assert!(
            Instant::now() < deadline,
            "a closed connection never gave its place back"
        );
    }
    assert_eq!(api_versions(&mut second), 0);
}

#[test]
fn a_client_past_max_connections_waits_until_a_connection_closes() {
    let broker = Broker::start_with(&["--override", "max.connections=2"]);
    let (first, mut second, mut third) = two_served_and_a_third(&broker);
    assert!(
        !third.has_bytes_within(Duration::from_secs(1)),
        "the broker does not serve a third connection while two are open"
    );
    assert_eq!(api_versions(&mut second), 0, "the open ones keep working");
    drop(first);
    let answer: Option<ApiVersionsResponse> = third.receive(ApiKey::ApiVersions, 3);
    assert_eq!(
        answer.map(|r| r.error_code),
        Some(0),
        "served once a slot frees"
    );
}

#[test]
fn a_connection_idle_past_connections_max_idle_ms_is_closed() {
    let broker = Broker::start_with(&["--override", "connections.max.idle.ms=300"]);
    let mut silent = broker.raw();
    assert!(
        silent.is_closed_by_broker(),
        "a silent connection is closed"
    );

    let mut half = broker.raw();
    half.send_raw(&[0, 0, 0, 100, 0, 18]);
    assert!(
        half.is_closed_by_broker(),
        "so is one that stops mid-request"
    );

    let mut busy = broker.raw();
    for _ in 0..3 {
        assert_eq!(api_versions(&mut busy), 0, "a connection in use stays open");
    }
}

#[test]
fn requests_past_queued_max_request_bytes_wait_for_earlier_answers() {
    let broker = Broker::start_with(&[
        "--socket-request-max-bytes",
        "10000",
        "--override",
        "queued.max.request.bytes=10000",
        "--override",
        "group.initial.rebalance.delay.ms=3000",
    ]);
    // As clients do, find the coordinator first (it creates the offsets topic).
    let mut observer = broker.raw();
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let found: FindCoordinatorResponse = observer.call(
            ApiKey::FindCoordinator,
            3,
            &FindCoordinatorRequest::default().with_key(StrBytes::from_static_str("queued")),
        );
        if found.error_code == 0 {
            break;
        }
        assert!(Instant::now() < deadline, "no coordinator: {found:?}");
    }
    // The first JoinGroup of a new group is held for the initial rebalance
    // delay; padded to 6 kB, it holds 6,000 of the 10,000 queue bytes.
    let mut joining = broker.raw();
    let join = JoinGroupRequest::default()
        .with_group_id(GroupId(StrBytes::from_static_str("queued")))
        .with_session_timeout_ms(30_000)
        .with_rebalance_timeout_ms(30_000)
        .with_protocol_type(StrBytes::from_static_str("consumer"))
        .with_protocols(vec![JoinGroupRequestProtocol::default()
            .with_name(StrBytes::from_static_str("range"))
            .with_metadata(Bytes::from(vec![0u8; 6000]))]);
    joining.send(ApiKey::JoinGroup, 3, &join);
    loop {
        let described: DescribeGroupsResponse = observer.call(
            ApiKey::DescribeGroups,
            5,
            &DescribeGroupsRequest::default()
                .with_groups(vec![GroupId(StrBytes::from_static_str("queued"))]),
        );
        if described.groups[0].group_state.as_str() == "PreparingRebalance" {
            break;
        }
        assert!(Instant::now() < deadline, "the JoinGroup never arrived");
    }

    // Another 6 kB request does not fit until the JoinGroup is answered.
    let mut next = broker.raw();
    let big = MetadataRequest::default().with_topics(Some(vec![MetadataRequestTopic::default()
        .with_name(Some(TopicName(StrBytes::from_string("m".repeat(6000)))))]));
    next.send(ApiKey::Metadata, 9, &big);
    let answered: Option<MetadataResponse> = next.receive(ApiKey::Metadata, 9);
    assert!(
        answered.is_some(),
        "the queued request is answered in the end"
    );
    assert!(
        joining.has_bytes_within(Duration::from_millis(1)),
        "the JoinGroup was answered before the request that waited for its bytes"
    );
    let joined: Option<JoinGroupResponse> = joining.receive(ApiKey::JoinGroup, 3);
    assert_eq!(joined.map(|r| r.error_code), Some(0));
    assert_eq!(
        api_versions(&mut observer),
        0,
        "small requests flow as usual"
    );
}

fn open_connections(broker: &Broker) -> i64 {
    let (_, body) = broker.http_get("/metrics").expect("metrics");
    body.lines()
        .find_map(|l| l.strip_prefix("kafka_server_socketservermetrics_connections "))
        .and_then(|v| v.trim().parse().ok())
        .expect("connections gauge")
}

#[tokio::test]
async fn a_client_that_never_reads_its_responses_is_dropped_not_buffered_for() {
    use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
    use kafka_protocol::messages::{BrokerId, FetchRequest};
    use rdkafka::producer::FutureRecord;

    let broker = Broker::start_with(&["--override", "connections.max.idle.ms=1000"]);
    {
        let producer = broker.producer(&[("linger.ms", "20")]);
        let value = vec![7u8; 10_000];
        for _ in 0..400 {
            producer
                .send(
                    FutureRecord::<(), _>::to("big").payload(&value),
                    Duration::from_secs(30),
                )
                .await
                .expect("delivered");
        }
    }
    let before = broker.peak_resident_kib();
    // 200 pipelined fetches of the whole 4 MB partition, none read back:
    // answered in full they would be 800 MB.
    let mut hog = broker.raw();
    let fetch = FetchRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_max_wait_ms(0)
        .with_max_bytes(8 << 20)
        .with_topics(vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("big")))
            .with_partitions(vec![FetchPartition::default()
                .with_partition(0)
                .with_fetch_offset(0)
                .with_partition_max_bytes(8 << 20)])]);
    for _ in 0..200 {
        hog.send(ApiKey::Fetch, 12, &fetch);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while open_connections(&broker) > 0 {
        assert!(
            Instant::now() < deadline,
            "the broker kept a connection whose client never reads"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let after = broker.peak_resident_kib();
    assert!(
        after < before + 64 * 1024,
        "peak resident memory grew from {before} KiB to {after} KiB"
    );
    let mut fresh = broker.raw();
    assert_eq!(api_versions(&mut fresh), 0);
}
