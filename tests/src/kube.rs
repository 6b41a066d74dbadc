//! A real Kubernetes control plane (etcd, kube-apiserver,
//! kube-controller-manager) for operator tests, started with
//! `control-plane.sh` from `$WEIR_KUBE_ASSETS` or `../shared/kube`.
//!
//! Where neither is there, tests skip with the reason printed; under
//! `CI=true` they fail instead, because CI has `../shared`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use crate::free_port;

/// A running control plane; stopped on drop.
pub struct ControlPlane {
    script: PathBuf,
    dir: tempfile::TempDir,
    cache: PathBuf,
}

fn script() -> Result<PathBuf, String> {
    let script = match std::env::var("WEIR_KUBE_ASSETS") {
        Ok(dir) => Path::new(&dir).join("control-plane.sh"),
        Err(_) => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../shared/kube/control-plane.sh"),
    };
    if !script.exists() {
        return Err(format!(
            "no control plane: {} is missing (set WEIR_KUBE_ASSETS to a folder with control-plane.sh)",
            script.display()
        ));
    }
    for tool in ["etcd", "xz", "openssl", "curl", "flock"] {
        let found = Command::new("sh")
            .args(["-c", &format!("command -v {tool}")])
            .output()
            .is_ok_and(|o| o.status.success());
        if !found {
            return Err(format!(
                "no control plane: `{tool}` is not installed (bash .ci/run installs it)"
            ));
        }
    }
    Ok(script)
}

impl ControlPlane {
    /// Starts a control plane on free ports, or says why it cannot (and
    /// panics with that reason under `CI=true`).
    pub fn start_or_skip() -> Option<ControlPlane> {
        let script = match script() {
            Ok(s) => s,
            Err(reason) if std::env::var("CI").as_deref() == Ok("true") => {
                panic!("{reason}")
            }
            Err(reason) => {
                eprintln!("skipped: {reason}");
                return None;
            }
        };
        let cache = std::env::var("HOME")
            .map(|h| Path::new(&h).join(".cache/weir/kube-bin"))
            .unwrap_or_else(|_| std::env::temp_dir().join("weir-kube-bin"));
        // Ports are picked free, but another test can take one before a
        // server binds it: such a start is retried on fresh ports in a fresh
        // directory (the failed plane is stopped as it drops).
        let mut attempts = 0;
        loop {
            attempts += 1;
            let dir = tempfile::tempdir().expect("tempdir");
            let plane = ControlPlane {
                script: script.clone(),
                dir,
                cache: cache.clone(),
            };
            if plane.script_command("start") {
                return Some(plane);
            }
            let output = std::fs::read_to_string(plane.dir.path().join("control-plane.out"))
                .unwrap_or_default();
            if attempts < 3 && output.contains("address already in use") {
                eprintln!("control plane ports were taken; starting again on fresh ones");
                continue;
            }
            panic!("control-plane.sh start failed:\n{output}");
        }
    }

    /// Runs the script; its output goes to a file, not a pipe, because the
    /// servers it starts inherit it and a pipe would never close.
    fn script_command(&self, verb: &str) -> bool {
        // Tests start control planes side by side; the script unpacks the
        // shared binary cache without locking, so starts take turns. `-o`
        // keeps the lock out of the servers it starts, or it would be held
        // as long as they run.
        std::fs::create_dir_all(&self.cache).expect("binary cache");
        let mut cmd = Command::new("flock");
        cmd.arg("-o")
            .arg(self.cache.join(".lock"))
            .arg("bash")
            .arg(&self.script)
            .arg(verb)
            .arg(self.dir.path())
            .env("KUBE_BIN_CACHE", &self.cache);
        if verb == "start" {
            for var in [
                "APISERVER_PORT",
                "ETCD_PORT",
                "ETCD_PEER_PORT",
                "KCM_PORT",
                "SCHED_PORT",
            ] {
                cmd.env(var, free_port().to_string());
            }
        }
        let out = std::fs::File::create(self.dir.path().join("control-plane.out"))
            .expect("control-plane.sh output file");
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone().expect("output file"))
            .stderr(out)
            .status()
            .is_ok_and(|s| s.success())
    }

    /// The admin (`system:masters`) kubeconfig.
    pub fn kubeconfig(&self) -> PathBuf {
        self.dir.path().join("admin.kubeconfig")
    }

    /// Runs kubectl against this control plane.
    pub fn kubectl(&self, args: &[&str]) -> Output {
        Command::new(self.cache.join("kubectl"))
            .args(args)
            .env("KUBECONFIG", self.kubeconfig())
            .output()
            .expect("run kubectl")
    }

    /// The kube-apiserver's process id, to pause it as a hung server.
    pub fn apiserver_pid(&self) -> u32 {
        std::fs::read_to_string(self.dir.path().join("pids/kube-apiserver.pid"))
            .ok()
            .and_then(|p| p.trim().parse().ok())
            .expect("kube-apiserver pid file")
    }
}

impl Drop for ControlPlane {
    fn drop(&mut self) {
        // A paused API server would not stop on SIGTERM.
        if let Ok(pid) = std::fs::read_to_string(self.dir.path().join("pids/kube-apiserver.pid")) {
            let _ = Command::new("kill").args(["-CONT", pid.trim()]).status();
        }
        let _ = self.script_command("stop");
    }
}
