//! The operator against a real Kubernetes control plane: on SIGTERM it
//! releases its leader Lease, and it exits within its grace period even
//! when the API server has stopped answering.

use std::process::Command;

use weir_e2e::kube::ControlPlane;
use weir_e2e::operator::Operator;

const IDENTITY: &str = "weir-operator-test";

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
    let mut operator = Operator::start(&plane.kubeconfig(), "default", IDENTITY);
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
