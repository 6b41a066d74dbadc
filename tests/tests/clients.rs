//! Third-party clients against a real broker: kafka-python (its own
//! protocol implementation), confluent-kafka (a recent librdkafka) and kcat
//! (an older librdkafka). `.ci/run` installs them.

use std::io::Write;
use std::process::{Command, Stdio};

use weir_e2e::Broker;

fn python_script(name: &str, bootstrap: &str) {
    python_script_with(name, &[bootstrap]);
}

fn python_script_with(name: &str, args: &[&str]) {
    let script = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join(name);
    let output = Command::new("python3")
        .arg(&script)
        .args(args)
        .output()
        .expect("python3 runs (install the clients with `bash .ci/run` or `pip install confluent-kafka kafka-python`)");
    assert!(
        output.status.success(),
        "{name} failed:\nstdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn kafka_python_produces_consumes_and_administers_topics() {
    let broker = Broker::start();
    python_script("kafka_python_roundtrip.py", &broker.bootstrap());
}

#[test]
fn kafka_python_consumer_groups_share_commit_and_resume() {
    let broker = Broker::start_with(&["--override", "group.initial.rebalance.delay.ms=0"]);
    python_script("kafka_python_groups.py", &broker.bootstrap());
}

#[test]
fn topics_of_every_compression_type_are_read_back_by_confluent_kafka_and_kafka_python() {
    let broker = Broker::start();
    python_script("topic_codecs.py", &broker.bootstrap());
}

#[test]
fn kafka_python_consumes_two_thousand_partitions_over_a_fetch_session() {
    let broker = Broker::start();
    python_script_with(
        "kafka_python_fetch_sessions.py",
        &[&broker.bootstrap(), &broker.metrics_url()],
    );
}

#[test]
fn confluent_kafka_round_trips_every_codec() {
    let broker = Broker::start();
    python_script("confluent_roundtrip.py", &broker.bootstrap());
}

#[test]
fn kcat_produces_and_consumes() {
    let broker = Broker::start();
    let mut producer = Command::new("kcat")
        .args([
            "-b",
            &broker.bootstrap(),
            "-t",
            "kcat-topic",
            "-P",
            "-z",
            "lz4",
        ])
        .stdin(Stdio::piped())
        .spawn()
        .expect("kcat runs (install it with `bash .ci/run` or `apt-get install kcat`)");
    let lines: Vec<String> = (0..50).map(|i| format!("line-{i}")).collect();
    producer
        .stdin
        .take()
        .unwrap()
        .write_all(format!("{}\n", lines.join("\n")).as_bytes())
        .unwrap();
    assert!(producer.wait().unwrap().success());
    let out = Command::new("kcat")
        .args([
            "-b",
            &broker.bootstrap(),
            "-t",
            "kcat-topic",
            "-C",
            "-e",
            "-f",
            "%o %s\n",
        ])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Vec<String> = String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_string)
        .collect();
    let expected: Vec<String> = lines
        .iter()
        .enumerate()
        .map(|(i, l)| format!("{i} {l}"))
        .collect();
    assert_eq!(got, expected);
    let metadata = Command::new("kcat")
        .args(["-b", &broker.bootstrap(), "-L"])
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&metadata.stdout)
        .contains("topic \"kcat-topic\" with 1 partitions"));
}
