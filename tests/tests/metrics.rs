//! The HTTP endpoint: health, readiness and Prometheus metrics that
//! `promtool check metrics` accepts.

use std::io::Write;
use std::process::{Command, Stdio};
use std::time::Duration;

use rdkafka::producer::FutureRecord;
use weir_e2e::Broker;

#[tokio::test]
async fn metrics_use_kafka_names_and_pass_promtool() {
    let broker = Broker::start();
    assert_eq!(broker.http_get("/healthz").unwrap().0, 200);
    assert_eq!(broker.http_get("/readyz").unwrap().0, 200);
    let producer = broker.producer(&[]);
    for i in 0..10 {
        producer
            .send(
                FutureRecord::<(), _>::to("measured").payload(&format!("{i}")),
                Duration::from_secs(30),
            )
            .await
            .expect("delivered");
    }
    let (status, body) = broker.http_get("/metrics").unwrap();
    assert_eq!(status, 200);
    assert!(
        body.contains("kafka_server_brokertopicmetrics_messagesin_total 10"),
        "{body}"
    );
    assert!(
        body.contains("kafka_server_replicamanager_partitioncount 1"),
        "{body}"
    );
    assert!(
        body.contains("kafka_network_requestmetrics_requests_total{request=\"Produce\"}"),
        "{body}"
    );
    assert!(
        body.contains("kafka_controller_kafkacontroller_activecontrollercount 1"),
        "{body}"
    );

    let mut promtool = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool runs (install it with `bash .ci/run` or `apt-get install prometheus`)");
    promtool
        .stdin
        .take()
        .unwrap()
        .write_all(body.as_bytes())
        .unwrap();
    let out = promtool.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "promtool: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn an_unreachable_http_port_fails_the_start_with_a_message() {
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(weir_e2e::broker_binary())
        .args(["--http-listener", &format!("127.0.0.1:{port}")])
        .args([
            "--listeners",
            &format!("PLAINTEXT://127.0.0.1:{}", weir_e2e::free_port()),
        ])
        .arg("--data-dir")
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot bind"));
}

#[test]
fn bad_flags_are_refused_with_a_message() {
    let out = Command::new(weir_e2e::broker_binary())
        .args(["--override", "log.retention.ms=soon"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("log.retention.ms"));
}
