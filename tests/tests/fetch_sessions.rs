//! Fetch sessions (KIP-227) for a consumer of 2,000 partitions: one full
//! fetch opens the session, later fetches name nothing and are answered
//! with only the partitions that have news; wrong epochs and unknown
//! sessions get Kafka's errors. Prints the request and response sizes per
//! poll with and without a session (docs/benchmarks.md quotes them).

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, TopicName};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use weir_e2e::cluster::create_topic;
use weir_e2e::{record_batch, Broker, RawClient};

const PARTITIONS: i32 = 2_000;
const VERSION: i16 = 12;

fn fetch(session_id: i32, epoch: i32, partitions: &[(i32, i64)]) -> FetchRequest {
    let topics = if partitions.is_empty() {
        Vec::new()
    } else {
        vec![FetchTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("many")))
            .with_partitions(
                partitions
                    .iter()
                    .map(|(p, offset)| {
                        FetchPartition::default()
                            .with_partition(*p)
                            .with_fetch_offset(*offset)
                            .with_partition_max_bytes(1 << 20)
                    })
                    .collect(),
            )]
    };
    FetchRequest::default()
        .with_replica_id(kafka_protocol::messages::BrokerId(-1))
        .with_max_wait_ms(0)
        .with_min_bytes(0)
        .with_max_bytes(50 << 20)
        .with_session_id(session_id)
        .with_session_epoch(epoch)
        .with_topics(topics)
}

/// Sends a fetch; the answer, and the request and response sizes in bytes.
fn exchange(client: &mut RawClient, request: &FetchRequest) -> (FetchResponse, usize, usize) {
    let request_size = request.compute_size(VERSION).expect("size");
    client.send(ApiKey::Fetch, VERSION, request);
    let mut frame: Bytes = client.read_frame().expect("answer");
    let response_size = frame.len();
    let _header = kafka_protocol::messages::ResponseHeader::decode(
        &mut frame,
        ApiKey::Fetch.response_header_version(VERSION),
    )
    .expect("header");
    let response = FetchResponse::decode(&mut frame, VERSION).expect("response");
    (response, request_size, response_size)
}

fn partitions_in(response: &FetchResponse) -> Vec<i32> {
    response
        .responses
        .iter()
        .flat_map(|t| t.partitions.iter().map(|p| p.partition_index))
        .collect()
}

#[test]
fn a_consumer_of_two_thousand_partitions_fetches_incrementally() {
    let broker = Broker::start();
    create_topic(&broker.bootstrap(), "many", PARTITIONS, 1, &[]);
    let mut producer = RawClient::connect(&broker.bootstrap());
    let mut client = RawClient::connect(&broker.bootstrap());
    let everything: Vec<(i32, i64)> = (0..PARTITIONS).map(|p| (p, 0)).collect();

    let (sessionless, full_request, full_response) =
        exchange(&mut client, &fetch(0, -1, &everything));
    assert_eq!(sessionless.session_id, 0);
    assert_eq!(partitions_in(&sessionless).len(), PARTITIONS as usize);

    let (opened, _, _) = exchange(&mut client, &fetch(0, 0, &everything));
    assert_eq!(opened.error_code, 0);
    let session = opened.session_id;
    assert_ne!(session, 0, "the broker opened a session");
    assert_eq!(partitions_in(&opened).len(), PARTITIONS as usize);

    // Nothing changed: an empty request gets an empty answer.
    let (quiet, idle_request, idle_response) = exchange(&mut client, &fetch(session, 1, &[]));
    assert_eq!((quiet.error_code, quiet.session_id), (0, session));
    assert!(partitions_in(&quiet).is_empty(), "{quiet:?}");

    // A record in partition 9: only partition 9 comes back, with it.
    let produced = producer.produce("many", 9, record_batch(&[b"news"], None));
    assert_eq!(produced.error_code, 0);
    let (news, _, _) = exchange(&mut client, &fetch(session, 2, &[]));
    assert_eq!(partitions_in(&news), [9]);
    let p9 = &news.responses[0].partitions[0];
    assert_eq!(p9.high_watermark, 1);
    assert!(p9.records.as_ref().is_some_and(|r| !r.is_empty()));

    // The consumer moves on in partition 9 and forgets partition 0.
    let mut moved = fetch(session, 3, &[(9, 1)]);
    moved.forgotten_topics_data = vec![
        kafka_protocol::messages::fetch_request::ForgottenTopic::default()
            .with_topic(TopicName(StrBytes::from_static_str("many")))
            .with_partitions(vec![0]),
    ];
    let (after, _, _) = exchange(&mut client, &moved);
    assert_eq!(after.error_code, 0);
    assert!(partitions_in(&after).is_empty(), "{after:?}");

    // Kafka's errors for a wrong epoch and an unknown session.
    let (stale, _, _) = exchange(&mut client, &fetch(session, 3, &[]));
    assert_eq!(stale.error_code, 71, "INVALID_FETCH_SESSION_EPOCH");
    let (unknown, _, _) = exchange(&mut client, &fetch(session ^ 1, 1, &[]));
    assert_eq!(unknown.error_code, 70, "FETCH_SESSION_ID_NOT_FOUND");

    println!(
        "fetch of {PARTITIONS} partitions with nothing new: without a session request {full_request} B, response {full_response} B; incremental request {idle_request} B, response {idle_response} B"
    );
    assert!(idle_request * 100 < full_request && idle_response * 100 < full_response);
}
