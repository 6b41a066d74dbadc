//! TLS listeners with Kafka's keys, against a real broker and real TLS
//! clients (confluent-kafka's librdkafka with OpenSSL, Python's own `ssl`):
//! an SSL listener beside the PLAINTEXT one, each advertising its own
//! port; client certificates required, refused from another CA or when
//! missing; a key store rotated on disk served to new connections without
//! a restart while an open connection keeps working.

use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::consumer::Consumer;
use weir_e2e::certs::{write_pem, TestCa};
use weir_e2e::Broker;

fn script() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("python")
        .join("tls_client.py")
}

/// Runs the confluent-kafka round trip; its one line of output.
fn roundtrip(bootstrap: &str, topic: &str, ca: &Path, client: Option<(&Path, &Path)>) -> String {
    let mut cmd = Command::new("python3");
    cmd.arg(script())
        .args(["roundtrip", bootstrap, topic])
        .arg(ca);
    if let Some((cert, key)) = client {
        cmd.arg(cert).arg(key);
    }
    let out = cmd
        .output()
        .expect("python3 runs (bash .ci/run installs confluent-kafka)");
    let stdout = String::from_utf8_lossy(&out.stdout).trim().to_string();
    assert!(
        out.status.success(),
        "tls_client.py failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    stdout
}

/// A broker with a PLAINTEXT listener and an SSL one (`extra` args added),
/// its CA file, and the SSL port.
fn tls_broker(dir: &Path, ca: &TestCa, extra: &[&str]) -> (Broker, u16) {
    let keystore = ca.broker("broker-1").write_keystore(dir, "broker.pem");
    let mut args: Vec<String> = vec![
        "--override".into(),
        "ssl.keystore.type=PEM".into(),
        "--override".into(),
        format!("ssl.keystore.location={}", keystore.display()),
    ];
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut broker = Broker::prepare(&args);
    let port = broker.add_listener("SSL");
    broker.launch();
    broker.wait_ready();
    (broker, port)
}

fn create_topic(broker: &Broker, topic: &str) {
    use rdkafka::admin::{AdminOptions, NewTopic, TopicReplication};
    let created = weir_e2e::cluster::block_on(broker.admin().create_topics(
        &[NewTopic::new(topic, 1, TopicReplication::Fixed(1))],
        &AdminOptions::new(),
    ))
    .expect("create");
    assert!(created.iter().all(Result::is_ok), "{created:?}");
}

#[test]
fn an_ssl_listener_serves_clients_that_trust_its_ca_and_advertises_its_own_port() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("weir-test-ca");
    let ca_file = write_pem(dir.path(), "ca.pem", &ca.cert_pem);
    let (broker, ssl_port) = tls_broker(dir.path(), &ca, &[]);
    create_topic(&broker, "secret");

    let answer = roundtrip(&format!("127.0.0.1:{ssl_port}"), "secret", &ca_file, None);
    assert_eq!(
        answer,
        format!("ok 20 20 {ssl_port}"),
        "produced and read over TLS, told the SSL port"
    );
    // A PLAINTEXT client is told the PLAINTEXT port.
    let md = broker
        .consumer()
        .fetch_metadata(None, Duration::from_secs(10))
        .expect("metadata");
    assert_eq!(md.brokers()[0].port(), i32::from(broker.port));

    // A client that does not trust the broker's CA is refused by its own
    // TLS check; one speaking plaintext to the SSL port gets no answer.
    let other = TestCa::new("another-ca");
    let other_file = write_pem(dir.path(), "other.pem", &other.cert_pem);
    let refused = roundtrip(
        &format!("127.0.0.1:{ssl_port}"),
        "secret",
        &other_file,
        None,
    );
    assert!(refused.starts_with("error"), "{refused}");
    // ApiVersions v0 in plaintext: the broker answers with at most a TLS
    // alert (content type 21) and closes, never with a Kafka response.
    let mut plain = std::net::TcpStream::connect(("127.0.0.1", ssl_port)).expect("connect");
    plain
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    plain
        .write_all(&[0, 0, 0, 8, 0, 18, 0, 0, 0, 0, 0, 1])
        .expect("write");
    let mut reply = Vec::new();
    std::io::Read::read_to_end(&mut plain, &mut reply).expect("the broker closes the connection");
    assert!(
        reply.first().is_none_or(|b| *b == 21),
        "plaintext on the SSL port got {reply:?}"
    );
    let (_, metrics) = broker.http_get("/metrics").expect("metrics");
    assert!(
        metrics.lines().any(|l| l
            .starts_with("kafka_server_socketservermetrics_failed_authentication_total ")
            && !l.ends_with(" 0")),
        "failed handshakes are counted"
    );
}

#[test]
fn client_certificates_are_required_checked_against_the_trust_store_and_mapped() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("weir-test-ca");
    let ca_file = write_pem(dir.path(), "ca.pem", &ca.cert_pem);
    let truststore = format!("ssl.truststore.location={}", ca_file.display());
    let (broker, ssl_port) = tls_broker(
        dir.path(),
        &ca,
        &[
            "--override",
            "ssl.truststore.type=PEM",
            "--override",
            &truststore,
            "--override",
            "listener.name.ssl.ssl.client.auth=required",
            // Only Acme's people, as their common name.
            "--override",
            "ssl.principal.mapping.rules=RULE:^CN=([a-z]+),O=Acme$/$1/",
        ],
    );
    create_topic(&broker, "mutual");
    let bootstrap = format!("127.0.0.1:{ssl_port}");

    let (cert, key) = ca.client("Acme", "alice").write_pair(dir.path(), "alice");
    let answer = roundtrip(&bootstrap, "mutual", &ca_file, Some((&cert, &key)));
    assert!(answer.starts_with("ok 20 20"), "a trusted client: {answer}");

    let anonymous = roundtrip(&bootstrap, "mutual", &ca_file, None);
    assert!(
        anonymous.starts_with("error"),
        "no certificate: {anonymous}"
    );

    // Trusted, but no mapping rule matches: refused, as Kafka refuses it.
    let (cert, key) = ca.client("Other", "bob").write_pair(dir.path(), "bob");
    let unmapped = roundtrip(&bootstrap, "mutual", &ca_file, Some((&cert, &key)));
    assert!(unmapped.starts_with("error"), "no rule for bob: {unmapped}");

    let stranger = TestCa::new("another-ca").client("Evil", "mallory");
    let (cert, key) = stranger.write_pair(dir.path(), "mallory");
    let refused = roundtrip(&bootstrap, "mutual", &ca_file, Some((&cert, &key)));
    assert!(
        refused.starts_with("error"),
        "a certificate from another CA: {refused}"
    );
}

#[test]
fn a_key_store_rotated_on_disk_reaches_new_connections_without_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let ca = TestCa::new("weir-test-ca");
    let ca_file = write_pem(dir.path(), "ca.pem", &ca.cert_pem);
    let (broker, ssl_port) = tls_broker(dir.path(), &ca, &[]);
    let pid = broker.pid();

    let peer_cn = || {
        let mut child = Command::new("python3")
            .arg(script())
            .args(["peer-cn", "127.0.0.1", &ssl_port.to_string()])
            .arg(&ca_file)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("python3");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let cn = lines.next().expect("a line").expect("utf-8");
        (child, lines, cn)
    };
    let (mut before, mut before_lines, cn) = peer_cn();
    assert_eq!(cn, "broker-1");

    ca.broker("broker-2")
        .write_keystore(dir.path(), "broker.pem");
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let (mut child, _, cn) = peer_cn();
        let _ = child.kill();
        if cn == "broker-2" {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "new connections still get {cn} a minute after the rotation"
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    assert_eq!(broker.pid(), pid, "no restart");
    // The connection opened before the rotation is still served.
    writeln!(before.stdin.as_mut().expect("stdin")).expect("go on");
    let answered = before_lines.next().expect("a line").expect("utf-8");
    assert_eq!(answered, "answered");
    let _ = before.wait();
    assert!(broker.log().contains("TLS key or trust store reloaded"));
}
