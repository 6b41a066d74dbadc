//! The broker harness: a real `weir-broker` process with its own data
//! directory and ports, started, stopped, killed and restarted as a test
//! needs, with ready-made clients for it.

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rdkafka::admin::AdminClient;
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::OwnedMessage;
use rdkafka::producer::FutureProducer;
use rdkafka::{Offset, TopicPartitionList};

use crate::raw::RawClient;

/// Finds the `weir-broker` binary next to the test executable's directory
/// (`target/<profile>/weir-broker`), or at `$WEIR_BROKER_BIN`.
pub fn broker_binary() -> PathBuf {
    workspace_binary("weir-broker", "WEIR_BROKER_BIN")
}

/// Finds the `weir-operator` binary as [`broker_binary`] does, or at
/// `$WEIR_OPERATOR_BIN`.
pub fn operator_binary() -> PathBuf {
    workspace_binary("weir-operator", "WEIR_OPERATOR_BIN")
}

fn workspace_binary(name: &str, override_var: &str) -> PathBuf {
    if let Ok(p) = std::env::var(override_var) {
        return PathBuf::from(p);
    }
    let exe = std::env::current_exe().expect("test executable path");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable lives in target/<profile>/deps");
    let bin = profile_dir.join(name);
    assert!(
        bin.exists(),
        "{} not found: run `cargo build --workspace --bins` first (or set {override_var})",
        bin.display()
    );
    bin
}

/// A free TCP port on loopback.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// A broker process with its own data directory and ports.
pub struct Broker {
    child: Option<Child>,
    dir: tempfile::TempDir,
    /// Kafka port.
    pub port: u16,
    /// HTTP port.
    pub http_port: u16,
    /// Internal (quorum and replication) port.
    pub internal_port: u16,
    /// The address its Kafka and HTTP listeners bind and advertise.
    pub host: String,
    /// The address its internal listener binds.
    pub internal_host: String,
    /// The network namespace it runs in, if not the test's own.
    pub netns: Option<String>,
    args: Vec<String>,
    starts: usize,
    fd_limit: Option<u64>,
    extra_listeners: Vec<String>,
}

impl Broker {
    /// Starts a broker with default settings.
    pub fn start() -> Broker {
        Broker::start_with(&[])
    }

    /// Starts a broker with extra command-line arguments.
    pub fn start_with(args: &[&str]) -> Broker {
        let mut broker = Broker::prepare(args);
        broker.spawn();
        broker
    }

    /// A broker with its ports and directory chosen but not started yet,
    /// for clusters whose members must know each other's ports first.
    pub fn prepare(args: &[&str]) -> Broker {
        Broker {
            child: None,
            dir: tempfile::tempdir().expect("tempdir"),
            port: free_port(),
            http_port: free_port(),
            internal_port: free_port(),
            host: "127.0.0.1".to_string(),
            internal_host: "127.0.0.1".to_string(),
            netns: None,
            args: args.iter().map(|s| s.to_string()).collect(),
            starts: 0,
            fd_limit: None,
            extra_listeners: Vec::new(),
        }
    }

    /// Adds command-line arguments for the next start.
    pub fn add_args(&mut self, args: &[String]) {
        self.args.extend(args.iter().cloned());
    }

    /// Replaces the value of `flag` for the next start (adding it if absent).
    pub fn set_arg(&mut self, flag: &str, value: &str) {
        match self.args.iter().position(|a| a == flag) {
            Some(i) if i + 1 < self.args.len() => self.args[i + 1] = value.to_string(),
            _ => self.args.extend([flag.to_string(), value.to_string()]),
        }
    }

    /// Starts the broker, from its next start on, under a soft and hard
    /// `RLIMIT_NOFILE` of `n` (through util-linux's `prlimit`, which execs
    /// the broker, so the child is still the broker itself).
    pub fn limit_descriptors(&mut self, n: u64) {
        self.fd_limit = Some(n);
    }

    /// Adds a listener `name` on a free port of the broker's host, from its
    /// next start on, beside the PLAINTEXT one; returns the port. Its
    /// protocol comes from `listener.security.protocol.map` (by default the
    /// name's own: `SSL`).
    pub fn add_listener(&mut self, name: &str) -> u16 {
        let port = free_port();
        self.extra_listeners
            .push(format!("{name}://{}:{port}", self.host));
        port
    }

    /// The process id, while running.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    fn log_path(&self) -> PathBuf {
        self.dir.path().join(format!("broker-{}.log", self.starts))
    }

    fn spawn(&mut self) {
        self.launch();
        self.wait_ready();
    }

    /// Starts the process without waiting for it to become ready.
    pub fn launch(&mut self) {
        self.starts += 1;
        let log = std::fs::File::create(self.log_path()).expect("log file");
        let err = log.try_clone().expect("log file");
        // `ip netns exec` enters the namespace and execs the broker, so the
        // child is the broker process itself.
        let mut command = match &self.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns]).arg(broker_binary());
                c
            }
            None => match self.fd_limit {
                Some(n) => {
                    let mut c = Command::new("prlimit");
                    c.arg(format!("--nofile={n}:{n}"))
                        .arg("--")
                        .arg(broker_binary());
                    c
                }
                None => Command::new(broker_binary()),
            },
        };
        let child = command
            .arg("--listeners")
            .arg(
                std::iter::once(format!("PLAINTEXT://{}:{}", self.host, self.port))
                    .chain(self.extra_listeners.iter().cloned())
                    .collect::<Vec<_>>()
                    .join(","),
            )
            .arg("--http-listener")
            .arg(format!("{}:{}", self.host, self.http_port))
            .arg("--data-dir")
            .arg(self.data_dir())
            .arg("--internal-listener")
            .arg(format!("{}:{}", self.internal_host, self.internal_port))
            .args(&self.args)
            // Group transitions at debug: a failed group test shows why.
            .env(
                "RUST_LOG",
                std::env::var("WEIR_TEST_LOG")
                    .unwrap_or_else(|_| "info,openraft=warn,weir_broker::group=debug".into()),
            )
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(err)
            .spawn()
            .expect("spawn weir-broker");
        self.child = Some(child);
    }

    /// Whether the process is running (not exited or killed).
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// Waits for the process to exit on its own; returns its status and log.
    pub fn wait_exit(&mut self, within: Duration) -> Option<(std::process::ExitStatus, String)> {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    return Some((status, self.log()));
                }
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Waits until `/readyz` answers 200.
    pub fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let mut port_retries = 0;
        loop {
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    self.child = None;
                    // A port picked free may be taken by another test's
                    // connection before the broker binds it: pick again.
                    let log = std::fs::read_to_string(self.log_path()).unwrap_or_default();
                    if log.contains("Address already in use") && port_retries < 3 {
                        port_retries += 1;
                        self.port = free_port();
                        self.http_port = free_port();
                        if !self.args.iter().any(|a| a == "--controller-voters") {
                            self.internal_port = free_port();
                        }
                        self.launch();
                        continue;
                    }
                    panic!("broker exited with {status}:\n{}", self.log());
                }
            }
            if matches!(self.http_get("/readyz"), Ok((200, _))) {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "broker not ready in time:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// The broker's log output so far.
    pub fn log(&self) -> String {
        (1..=self.starts)
            .map(|i| {
                let p = self.dir.path().join(format!("broker-{i}.log"));
                format!(
                    "--- start {i} ---\n{}",
                    std::fs::read_to_string(p).unwrap_or_default()
                )
            })
            .collect()
    }

    /// `host:port` for clients.
    pub fn bootstrap(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// The data directory.
    pub fn data_dir(&self) -> PathBuf {
        self.dir.path().join("data")
    }

    /// The URL of the broker's `/metrics`.
    pub fn metrics_url(&self) -> String {
        format!("http://{}:{}/metrics", self.host, self.http_port)
    }

    /// A plain HTTP/1.1 GET against the broker's HTTP port.
    pub fn http_get(&self, path: &str) -> std::io::Result<(u16, String)> {
        let mut s = TcpStream::connect((self.host.as_str(), self.http_port))?;
        s.set_read_timeout(Some(Duration::from_secs(5)))?;
        write!(
            s,
            "GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
        )?;
        let mut text = String::new();
        s.read_to_string(&mut text)?;
        let status = text
            .split_whitespace()
            .nth(1)
            .and_then(|c| c.parse().ok())
            .unwrap_or(0);
        let body = text
            .split_once("\r\n\r\n")
            .map(|(_, b)| b.to_string())
            .unwrap_or_default();
        Ok((status, body))
    }

    /// The broker's peak resident memory in KiB (`VmHWM`), to prove that
    /// hostile input did not make it allocate.
    pub fn peak_resident_kib(&self) -> u64 {
        self.status_kib("VmHWM")
    }

    /// The broker's resident memory now in KiB (`VmRSS`).
    pub fn resident_kib(&self) -> u64 {
        self.status_kib("VmRSS")
    }

    /// A KiB figure of the broker's `/proc/<pid>/status`.
    fn status_kib(&self, field: &str) -> u64 {
        let pid = self.child.as_ref().expect("broker running").id();
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap_or_else(|| panic!("{field} in /proc status"))
    }

    /// How many descriptors the broker has open.
    pub fn open_descriptors(&self) -> usize {
        let pid = self.child.as_ref().expect("broker running").id();
        std::fs::read_dir(format!("/proc/{pid}/fd"))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Kills the process with SIGKILL, as a crash would.
    pub fn kill9(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the process with SIGTERM and waits for a clean exit.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .arg("-TERM")
                .arg(child.id().to_string())
                .status();
            let status = child.wait().expect("wait for broker");
            assert!(
                status.success(),
                "broker exited with {status}:\n{}",
                self.log()
            );
        }
    }

    /// Starts the broker again on the same ports and data directory.
    pub fn restart(&mut self) {
        self.kill9();
        self.spawn();
    }

    /// Starts a stopped broker again.
    pub fn start_again(&mut self) {
        assert!(self.child.is_none(), "broker is still running");
        self.spawn();
    }

    /// An admin client.
    pub fn admin(&self) -> AdminClient<DefaultClientContext> {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .create()
            .expect("admin client")
    }

    /// A producer with test-friendly settings plus `extra`.
    pub fn producer(&self, extra: &[(&str, &str)]) -> FutureProducer {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", self.bootstrap())
            .set("message.timeout.ms", "30000")
            .set("linger.ms", "5");
        for (k, v) in extra {
            cfg.set(*k, *v);
        }
        cfg.create().expect("producer")
    }

    /// A consumer that reads assigned partitions and never commits.
    pub fn consumer(&self) -> BaseConsumer {
        ClientConfig::new()
            .set("bootstrap.servers", self.bootstrap())
            .set("group.id", "weir-e2e-reader")
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "false")
            .set("fetch.wait.max.ms", "100")
            .create()
            .expect("consumer")
    }

    /// A consumer in `group` that subscribes (group management), with short
    /// session timeouts so tests see failover quickly, plus `extra`.
    pub fn group_consumer(&self, group: &str, extra: &[(&str, &str)]) -> BaseConsumer {
        let mut cfg = ClientConfig::new();
        cfg.set("bootstrap.servers", self.bootstrap())
            .set("group.id", group)
            .set("enable.auto.commit", "false")
            .set("auto.offset.reset", "earliest")
            .set("session.timeout.ms", "6000")
            .set("heartbeat.interval.ms", "500")
            .set("fetch.wait.max.ms", "100");
        for (k, v) in extra {
            cfg.set(*k, *v);
        }
        cfg.create().expect("group consumer")
    }

    /// Reads `count` messages of one partition from `from`, failing after a
    /// generous deadline.
    pub fn read_partition(
        &self,
        topic: &str,
        partition: i32,
        from: Offset,
        count: usize,
    ) -> Vec<OwnedMessage> {
        let consumer = self.consumer();
        let mut tpl = TopicPartitionList::new();
        tpl.add_partition_offset(topic, partition, from)
            .expect("partition offset");
        consumer.assign(&tpl).expect("assign");
        let deadline = Instant::now() + Duration::from_secs(30);
        let mut out = Vec::new();
        while out.len() < count {
            assert!(
                Instant::now() < deadline,
                "read only {} of {count} messages from {topic}-{partition}",
                out.len()
            );
            if let Some(m) = consumer.poll(Duration::from_millis(200)) {
                out.push(m.expect("consume").detach());
            }
        }
        out
    }

    /// Opens a raw protocol connection.
    pub fn raw(&self) -> RawClient {
        RawClient::connect(&self.bootstrap())
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.kill9();
        if std::thread::panicking() {
            eprintln!("broker log:\n{}", self.log());
        }
    }
}
