//! The operator under test on the real control plane: the `weir-operator`
//! process, and an environment of control plane, kubelet stand-in and
//! operator with the helpers a scenario needs (apply YAML, wait for a
//! status, read it).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::kube::ControlPlane;
use crate::kubelet::Kubelet;
use crate::{free_port, operator_binary};

/// A `weir-operator` process; killed on drop.
pub struct Operator {
    child: Child,
    log: PathBuf,
    _dir: tempfile::TempDir,
}

impl Operator {
    /// Starts the operator with `kubeconfig`, its leader Lease in
    /// `lease_namespace`, under `identity`.
    pub fn start(kubeconfig: &Path, lease_namespace: &str, identity: &str) -> Operator {
        let dir = tempfile::tempdir().expect("tempdir");
        let log = dir.path().join("operator.log");
        let out = std::fs::File::create(&log).expect("log file");
        let child = Command::new(operator_binary())
            .env("KUBECONFIG", kubeconfig)
            .env("POD_NAME", identity)
            .env("POD_NAMESPACE", lease_namespace)
            .env("WEIR_HTTP_ADDR", format!("127.0.0.1:{}", free_port()))
            .env("WEIR_LOG_FORMAT", "text")
            .env("RUST_LOG", "info,weir_operator=debug")
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

    /// What the operator logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits until the operator logs `needle`; fails if it exits first.
    pub fn wait_for_log(&mut self, needle: &str) {
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

    /// Sends SIGTERM and waits for the exit, failing unless it comes within
    /// a pod's default termination grace period (30 s): after that the
    /// kubelet would SIGKILL it.
    pub fn terminate_and_wait(&mut self) -> std::process::ExitStatus {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "the operator did not exit within the 30 s grace period after SIGTERM:\n{}",
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

/// helm, from PATH or where `charts/test-chart.sh` installs it.
fn helm() -> Option<PathBuf> {
    let on_path = Command::new("sh")
        .args(["-c", "command -v helm"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let tools = std::env::var("WEIR_TOOLS")
        .map(PathBuf::from)
        .or_else(|_| std::env::var("HOME").map(|h| Path::new(&h).join(".cache/weir/tools")))
        .ok()
        .map(|t| t.join("bin/helm"))
        .filter(|p| p.exists());
    on_path.or(tools)
}

/// The repository's `crds/` folder.
pub fn crds_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../crds")
}

/// A control plane with the CRDs, a namespace, the kubelet stand-in and
/// (once started) the operator.
pub struct KubeEnv {
    /// The operator, when running.
    pub operator: Option<Operator>,
    /// The kubelet stand-in running the broker pods.
    pub kubelet: Kubelet,
    /// The control plane.
    pub plane: ControlPlane,
    /// The namespace the clusters live in.
    pub ns: String,
    kubeconfig: PathBuf,
}

impl KubeEnv {
    /// A control plane with the CRDs applied and namespace `ns`, or `None`
    /// (with the reason printed) where there is none to use.
    pub fn start_or_skip(ns: &str) -> Option<KubeEnv> {
        let plane = ControlPlane::start_or_skip()?;
        let kubelet = Kubelet::start_or_skip(&plane.kubeconfig(), ns)?;
        let env = KubeEnv {
            operator: None,
            kubelet,
            kubeconfig: plane.kubeconfig(),
            plane,
            ns: ns.to_string(),
        };
        env.kubectl_ok(&[
            "apply",
            "--server-side",
            "-f",
            &crds_dir().display().to_string(),
        ]);
        env.kubectl_ok(&["create", "namespace", ns]);
        Some(env)
    }

    /// Starts the operator with the admin kubeconfig.
    pub fn start_operator(&mut self) {
        let (config, ns) = (self.kubeconfig.clone(), self.ns.clone());
        self.launch(&config, &ns, "weir-operator-e2e");
    }

    /// Starts an operator and waits until it leads.
    fn launch(&mut self, kubeconfig: &Path, lease_namespace: &str, identity: &str) {
        let mut operator = Operator::start(kubeconfig, lease_namespace, identity);
        operator.wait_for_log("elected leader");
        self.operator = Some(operator);
    }

    /// Installs the operator's Helm chart into `weir-system` (ServiceAccount,
    /// RBAC, leader-election Role; its Deployment stays pending, since the
    /// kubelet stand-in runs only brokers) and starts the operator with the
    /// chart's ServiceAccount token: it runs with exactly the chart's
    /// permissions. Without helm (installed by `charts/test-chart.sh`)
    /// the operator runs as admin, with a printed note; under `CI=true`
    /// that fails.
    pub fn install_chart_and_start_operator(&mut self) {
        let Some(helm) = helm() else {
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "helm is missing: charts/test-chart.sh installs it"
            );
            eprintln!("note: helm is missing, so the operator runs as admin (charts/test-chart.sh installs helm)");
            self.start_operator();
            return;
        };
        let chart = Path::new(env!("CARGO_MANIFEST_DIR")).join("../charts/weir-operator");
        let rendered = Command::new(helm)
            .args(["template", "weir"])
            .arg(&chart)
            .args(["--namespace", "weir-system"])
            .output()
            .expect("run helm");
        assert!(
            rendered.status.success(),
            "helm template: {}",
            String::from_utf8_lossy(&rendered.stderr)
        );
        self.kubectl_ok(&["create", "namespace", "weir-system"]);
        let file = tempfile::NamedTempFile::new().expect("manifest file");
        std::fs::write(file.path(), &rendered.stdout).expect("write manifests");
        self.kubectl_ok(&[
            "apply",
            "--server-side",
            "-n",
            "weir-system",
            "-f",
            &file.path().display().to_string(),
        ]);
        let token = self.kubectl_ok(&[
            "create",
            "token",
            "weir-weir-operator",
            "-n",
            "weir-system",
            "--duration",
            "2h",
        ]);
        let config = self.kubeconfig.with_file_name("operator.kubeconfig");
        std::fs::copy(&self.kubeconfig, &config).expect("copy kubeconfig");
        let with = |args: &[&str]| {
            let mut all = args.to_vec();
            let path = config.display().to_string();
            all.extend(["--kubeconfig", &path]);
            let out = self.plane.kubectl(&all);
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        };
        with(&[
            "config",
            "set-credentials",
            "operator",
            &format!("--token={}", token.trim()),
        ]);
        with(&["config", "set-context", "--current", "--user=operator"]);
        self.launch(&config, "weir-system", "weir-operator-e2e");
    }

    /// Stops the operator (SIGKILL: as a crashed or evicted pod) and starts
    /// a new one with the same credentials.
    pub fn restart_operator(&mut self) {
        let chart_config = self.kubeconfig.with_file_name("operator.kubeconfig");
        self.operator = None;
        if chart_config.exists() {
            self.launch(&chart_config, "weir-system", "weir-operator-e2e-2");
        } else {
            self.start_operator();
        }
    }

    /// Runs kubectl and fails the test if it fails; returns its stdout.
    pub fn kubectl_ok(&self, args: &[&str]) -> String {
        let out = self.plane.kubectl(args);
        assert!(
            out.status.success(),
            "kubectl {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Applies YAML with kubectl (server-side, as GitOps tools do).
    pub fn apply(&self, yaml: &str) {
        let file = tempfile::NamedTempFile::new().expect("yaml file");
        std::fs::write(file.path(), yaml).expect("write yaml");
        self.kubectl_ok(&[
            "apply",
            "--server-side",
            "--force-conflicts",
            "-n",
            &self.ns,
            "-f",
            &file.path().display().to_string(),
        ]);
    }

    /// An object as JSON (`kind/name` in the namespace), if it exists.
    pub fn get(&self, what: &str) -> Option<serde_json::Value> {
        let out = self
            .plane
            .kubectl(&["get", what, "-n", &self.ns, "-o", "json"]);
        if !out.status.success() {
            return None;
        }
        serde_json::from_slice(&out.stdout).ok()
    }

    /// Waits up to `within` until `check` holds for the object, printing
    /// its status and the operator's log when it never does.
    pub fn wait_for(
        &self,
        what: &str,
        within: Duration,
        check: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + within;
        loop {
            if let Some(v) = self.get(what) {
                if check(&v) {
                    return v;
                }
                if Instant::now() > deadline {
                    panic!(
                        "{what} never reached the expected state; status:\n{}\noperator log (tail):\n{}",
                        serde_json::to_string_pretty(&v["status"]).unwrap_or_default(),
                        self.operator_log_tail()
                    );
                }
            } else if Instant::now() > deadline {
                panic!("{what} does not exist");
            }
            std::thread::sleep(Duration::from_millis(500));
        }
    }

    /// The last lines the operator logged.
    pub fn operator_log_tail(&self) -> String {
        let log = self
            .operator
            .as_ref()
            .map(Operator::log)
            .unwrap_or_default();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(400)..].join("\n")
    }

    /// The status of a condition of an object, e.g. `Ready`.
    pub fn condition(object: &serde_json::Value, type_: &str) -> Option<(String, String, String)> {
        object["status"]["conditions"]
            .as_array()?
            .iter()
            .find(|c| c["type"] == type_)
            .map(|c| {
                (
                    c["status"].as_str().unwrap_or_default().to_string(),
                    c["reason"].as_str().unwrap_or_default().to_string(),
                    c["message"].as_str().unwrap_or_default().to_string(),
                )
            })
    }

    /// Whether a condition of the object is `True` for the object's
    /// current generation.
    pub fn is_true(object: &serde_json::Value, type_: &str) -> bool {
        let generation = &object["metadata"]["generation"];
        object["status"]["conditions"].as_array().is_some_and(|cs| {
            cs.iter().any(|c| {
                c["type"] == type_
                    && c["status"] == "True"
                    && c["observedGeneration"] == *generation
            })
        })
    }

    /// Event reasons and messages recorded about `name` in the namespace.
    pub fn events(&self) -> Vec<(String, String)> {
        let out = self.kubectl_ok(&["get", "events", "-n", &self.ns, "-o", "json"]);
        let v: serde_json::Value = serde_json::from_str(&out).unwrap_or_default();
        v["items"]
            .as_array()
            .map(|items| {
                items
                    .iter()
                    .map(|e| {
                        (
                            e["reason"].as_str().unwrap_or_default().to_string(),
                            e["message"]
                                .as_str()
                                .or_else(|| e["note"].as_str())
                                .unwrap_or_default()
                                .to_string(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

/// A KafkaCluster for tests: short liveness timings so failures resolve
/// within a test's patience, RF 3 and `min.insync.replicas` 2 defaults.
pub fn cluster_yaml(
    name: &str,
    replicas: i32,
    version: &str,
    extra_config: &[(&str, &str)],
) -> String {
    let mut config = vec![
        ("broker.session.timeout.ms", "6000"),
        ("broker.heartbeat.interval.ms", "500"),
        ("replica.lag.time.max.ms", "5000"),
        ("default.replication.factor", "3"),
        ("offsets.topic.replication.factor", "3"),
        ("min.insync.replicas", "2"),
        ("num.partitions", "3"),
    ];
    for (k, v) in extra_config {
        config.retain(|(key, _)| key != k);
        config.push((k, v));
    }
    let config: String = config
        .iter()
        .map(|(k, v)| format!("    {k}: \"{v}\"\n"))
        .collect();
    format!(
        "apiVersion: weir.dev/v1alpha1
kind: KafkaCluster
metadata:
  name: {name}
spec:
  replicas: {replicas}
  version: \"{version}\"
  controllerVoters: 3
  storage:
    size: 1Gi
    deleteClaim: true
  config:
{config}"
    )
}

impl Drop for KubeEnv {
    fn drop(&mut self) {
        // A failed scenario shows what the operator did.
        if std::thread::panicking() {
            eprintln!("operator log (tail):\n{}", self.operator_log_tail());
            let dest = std::env::temp_dir().join(format!("weir-kube-logs-{}", std::process::id()));
            self.kubelet.keep_logs(&dest);
            if let Some(op) = &self.operator {
                let _ = std::fs::write(dest.join("operator.log"), op.log());
            }
            let objects = self.plane.kubectl(&[
                "get",
                "kafkaclusters,statefulsets,controllerrevisions,pods,events",
                "-n",
                &self.ns,
                "-o",
                "yaml",
            ]);
            let _ = std::fs::write(dest.join("objects.yaml"), objects.stdout);
            eprintln!("broker and operator logs kept in {}", dest.display());
        }
    }
}
