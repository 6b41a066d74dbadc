//! The operator against a real Kubernetes control plane: on SIGTERM it
//! releases its leader Lease, and it exits within its grace period even
//! when the API server has stopped answering.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use weir_e2e::kube::ControlPlane;
use weir_e2e::{free_port, operator_binary};

const IDENTITY: &str = "weir-operator-test";

struct Operator {
    child: Child,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Operator {
    fn start(plane: &ControlPlane) -> Operator {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("operator.log");
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(operator_binary())
            .env("KUBECONFIG", plane.kubeconfig())
            .env("POD_NAME", IDENTITY)
            .env("POD_NAMESPACE", "default")
            .env("WEIR_HTTP_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("WEIR_LOG_FORMAT", "text")
            // Generous: the API server shares two cores with the whole
            // suite, and each shutdown step is logged if it is slow.
            .env("WEIR_SHUTDOWN_TIMEOUT_SECONDS", "25")
            .stdin(Stdio::null())
            .stdout(out.try_clone().expect("log file"))
            .stderr(out)
            .spawn()
            .expect("spawn weir-operator");
        Operator {
            child,
            log,
            _dir: dir,
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_for_log(&mut self, needle: &str) {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !self.log().contains(needle) {
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!("the operator exited with {status}:\n{}", self.log());
            }
            assert!(
                Instant::now() < deadline,
                "the operator never logged {needle:?}:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn terminate_and_wait(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the operator did not exit after SIGTERM:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for Operator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn lease_holder(plane: &ControlPlane) -> String {
    let out = plane.kubectl(&[
        "get",
        "lease",
        "weir-operator",
        "-n",
        "default",
        "-o",
        "jsonpath={.spec.holderIdentity}",
    ]);
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn leading_operator(plane: &ControlPlane) -> Operator {
    let crds = concat!(env!("CARGO_MANIFEST_DIR"), "/../crds");
    let applied = plane.kubectl(&["apply", "-f", crds]);
    assert!(
        applied.status.success(),
        "{}",
        String::from_utf8_lossy(&applied.stderr)
    );
    let mut operator = Operator::start(plane);
    operator.wait_for_log("elected leader");
    assert_eq!(lease_holder(plane), IDENTITY);
    operator
}

#[test]
fn the_operator_releases_its_lease_on_sigterm() {
    let Some(plane) = ControlPlane::start_or_skip() else {
        return;
    };
    let mut operator = leading_operator(&plane);
    let status = operator.terminate_and_wait();
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        operator.log()
    );
    let log = operator.log();
    assert!(log.contains("released the leader lease"), "{log}");
    assert_eq!(
        lease_holder(&plane),
        "",
        "another replica can take over at once"
    );
}

#[test]
fn the_operator_exits_on_sigterm_while_the_api_server_hangs() {
    let Some(plane) = ControlPlane::start_or_skip() else {
        return;
    };
    let mut operator = leading_operator(&plane);
    let apiserver = plane.apiserver_pid().to_string();
    let paused = Command::new("kill").args(["-STOP", &apiserver]).status();
    assert!(paused.is_ok_and(|s| s.success()));
    let status = operator.terminate_and_wait();
    let _ = Command::new("kill").args(["-CONT", &apiserver]).status();
    assert!(
        status.success(),
        "exit status {status}:\n{}",
        operator.log()
    );
}
