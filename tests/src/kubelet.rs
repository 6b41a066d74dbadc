//! A kubelet stand-in, test equipment for operator end-to-end tests on the
//! real control plane ([`crate::kube::ControlPlane`], which has no kubelet,
//! scheduler, DNS or kube-proxy).
//!
//! It registers one Node and keeps it Ready, binds the namespace's pending
//! pods to it (as a scheduler would), and runs every bound pod whose image
//! it knows as a real process: the pod's env (values and `fieldRef`s),
//! its args with `$(VAR)` expanded, ConfigMap volumes copied into a folder
//! and PersistentVolumeClaim volumes as per-claim folders that outlive the
//! pod (and go when the claim is deleted). It reports the readiness probe's
//! answer in `pods/status`, restarts a process that exits (restart policy
//! `Always`), and when a pod is deleted it sends SIGTERM, SIGKILL after the
//! grace period, and removes the pod, as a kubelet does.
//!
//! Networking stands in for DNS and kube-proxy: each pod gets its own
//! loopback address (127.X.Y.N) and `/etc/hosts` maps `<pod>.<subdomain>.
//! <ns>.svc` to it and `<service>.<ns>.svc` to one ready pod the Service
//! selects. `status.podIP` gets a pod-network address (10.X.Y.N) because
//! Endpoints refuse loopback ones. Containers cannot mount, so their paths
//! are translated: a volume's mount path in args and in ConfigMap files
//! becomes its host folder, and a `0.0.0.0` bind becomes the pod's address.
//! Editing `/etc/hosts` needs root (CI has it); otherwise tests skip.
//!
//! One file, over the usual size: it is one sync loop over the pods and the
//! process, volume and address bookkeeping that loop keeps; it is test
//! equipment, kept whole so its one job reads in one place.

use std::collections::{BTreeMap, HashMap};
use std::fs::OpenOptions;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use ::kube::api::{DeleteParams, ListParams, Patch, PatchParams, PostParams};
use ::kube::config::{KubeConfigOptions, Kubeconfig};
use ::kube::{Api, Client, Config};
use k8s_openapi::api::core::v1::{
    Binding, ConfigMap, Container, Node, ObjectReference, PersistentVolumeClaim, Pod, Secret,
    Service,
};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::ObjectMeta;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;
use serde_json::json;

const HOSTS: &str = "/etc/hosts";
const NODE: &str = "weir-kubelet";

/// A running kubelet stand-in; on drop it kills every process it started
/// and removes its `/etc/hosts` lines.
pub struct Kubelet {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
    root: tempfile::TempDir,
    slot: u8,
}

/// Which program runs a container, by image: every image whose name
/// contains `weir-broker` runs the broker binary under test. Pods of other
/// images (the operator's own Deployment) stay pending.
fn program_for(image: &str) -> Option<PathBuf> {
    image.contains("weir-broker").then(crate::broker_binary)
}

impl Kubelet {
    /// Starts serving pods of `namespace`, or says why it cannot (no root
    /// to edit `/etc/hosts`; a failure under `CI=true`).
    pub fn start_or_skip(kubeconfig: &Path, namespace: &str) -> Option<Kubelet> {
        if OpenOptions::new().append(true).open(HOSTS).is_err() {
            let reason = format!("skipped: the kubelet stand-in needs to write {HOSTS} (root)");
            if std::env::var("CI").as_deref() == Ok("true") {
                panic!("{reason}");
            }
            eprintln!("{reason}");
            return None;
        }
        let slot = claim_slot();
        let root = tempfile::tempdir().expect("kubelet folder");
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let stop = stop.clone();
            let kubeconfig = kubeconfig.to_path_buf();
            let namespace = namespace.to_string();
            let root = root.path().to_path_buf();
            std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(run(kubeconfig, namespace, root, slot, stop));
            })
        };
        Some(Kubelet {
            stop,
            thread: Some(thread),
            root,
            slot,
        })
    }

    /// The host folder holding a claim's data.
    pub fn claim_dir(&self, claim: &str) -> PathBuf {
        self.root.path().join("claims").join(claim)
    }

    /// Copies every pod's log to `dest` (kept after the test, for a failed
    /// scenario's post-mortem).
    pub fn keep_logs(&self, dest: &Path) {
        let _ = std::fs::create_dir_all(dest);
        if let Ok(entries) = std::fs::read_dir(self.root.path().join("logs")) {
            for e in entries.flatten() {
                let _ = std::fs::copy(e.path(), dest.join(e.file_name()));
            }
        }
    }

    /// Everything the pod's processes wrote, across restarts.
    pub fn pod_log(&self, pod: &str) -> String {
        std::fs::read_to_string(self.root.path().join("logs").join(format!("{pod}.log")))
            .unwrap_or_default()
    }
}

impl Drop for Kubelet {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        write_hosts_block(self.slot, &[]);
        let _ = std::fs::remove_file(slot_file(self.slot));
    }
}

fn slot_file(slot: u8) -> PathBuf {
    std::env::temp_dir().join(format!("weir-kubelet-slot-{slot}"))
}

/// A number no other kubelet stand-in on this machine uses, for its
/// addresses and its `/etc/hosts` block.
fn claim_slot() -> u8 {
    for slot in 1..=250u8 {
        let file = slot_file(slot);
        let stale = std::fs::read_to_string(&file)
            .ok()
            .and_then(|pid| pid.trim().parse::<u32>().ok())
            .is_some_and(|pid| !Path::new(&format!("/proc/{pid}")).exists());
        if stale {
            let _ = std::fs::remove_file(&file);
        }
        if let Ok(mut f) = OpenOptions::new().write(true).create_new(true).open(&file) {
            let _ = write!(f, "{}", std::process::id());
            return slot;
        }
    }
    panic!("no free kubelet slot in {}", std::env::temp_dir().display());
}

/// One pod's process.
struct Running {
    name: String,
    child: Option<Child>,
    command: Command,
    loopback: Ipv4Addr,
    probe: Option<(u16, String)>,
    ready: bool,
    restarts: i32,
    exited_at: Option<Instant>,
    terminate_by: Option<Instant>,
    reported: Option<(bool, i32)>,
    image: String,
}

impl Running {
    fn spawn(&mut self, logs: &Path) {
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(logs.join(format!("{}.log", self.name)))
            .expect("pod log");
        let child = self
            .command
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("pod log"))
            .stderr(log)
            .spawn()
            .expect("start the pod's program");
        self.child = Some(child);
        self.exited_at = None;
    }

    fn has_exited(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => !matches!(c.try_wait(), Ok(None)),
            None => true,
        }
    }

    fn signal(&self, signal: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .arg(format!("-{signal}"))
                .arg(c.id().to_string())
                .status();
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

async fn client(kubeconfig: &Path) -> Client {
    let kc = Kubeconfig::read_from(kubeconfig).expect("kubeconfig");
    let config = Config::from_custom_kubeconfig(kc, &KubeConfigOptions::default())
        .await
        .expect("kube config");
    Client::try_from(config).expect("kube client")
}

async fn run(kubeconfig: PathBuf, ns: String, root: PathBuf, slot: u8, stop: Arc<AtomicBool>) {
    let client = client(&kubeconfig).await;
    let logs = root.join("logs");
    std::fs::create_dir_all(&logs).expect("logs folder");
    let mut running: HashMap<String, Running> = HashMap::new();
    let mut addresses: BTreeMap<String, u8> = BTreeMap::new();
    let mut heartbeat = Instant::now() - Duration::from_secs(60);
    let mut hosts: Vec<String> = Vec::new();
    while !stop.load(Ordering::SeqCst) {
        if heartbeat.elapsed() > Duration::from_secs(10) {
            if let Err(e) = node_heartbeat(&client).await {
                eprintln!("kubelet: node heartbeat: {e}");
            } else {
                heartbeat = Instant::now();
            }
        }
        if let Err(e) = sync(
            &client,
            &ns,
            &root,
            slot,
            &mut running,
            &mut addresses,
            &mut hosts,
        )
        .await
        {
            eprintln!("kubelet: {e}");
        }
        tokio::time::sleep(Duration::from_millis(300)).await;
    }
}

async fn node_heartbeat(client: &Client) -> Result<(), ::kube::Error> {
    let nodes: Api<Node> = Api::all(client.clone());
    if nodes.get_opt(NODE).await?.is_none() {
        let node = Node {
            metadata: ObjectMeta {
                name: Some(NODE.into()),
                labels: Some(BTreeMap::from([(
                    "kubernetes.io/hostname".to_string(),
                    NODE.to_string(),
                )])),
                ..ObjectMeta::default()
            },
            ..Node::default()
        };
        match nodes.create(&PostParams::default(), &node).await {
            Ok(_) => {}
            Err(::kube::Error::Api(e)) if e.code == 409 => {}
            Err(e) => return Err(e),
        }
    }
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let status = json!({"status": {
        "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
            "message": "weir test kubelet", "lastHeartbeatTime": now, "lastTransitionTime": now}],
        "capacity": {"cpu": "64", "memory": "256Gi", "pods": "250"},
        "allocatable": {"cpu": "64", "memory": "256Gi", "pods": "250"},
    }});
    nodes
        .patch_status(NODE, &PatchParams::default(), &Patch::Merge(&status))
        .await?;
    Ok(())
}

fn pod_ready(pod: &Pod) -> bool {
    pod.status
        .as_ref()
        .and_then(|s| s.conditions.as_ref())
        .is_some_and(|cs| cs.iter().any(|c| c.type_ == "Ready" && c.status == "True"))
}

#[allow(clippy::too_many_arguments)]
async fn sync(
    client: &Client,
    ns: &str,
    root: &Path,
    slot: u8,
    running: &mut HashMap<String, Running>,
    addresses: &mut BTreeMap<String, u8>,
    hosts: &mut Vec<String>,
) -> Result<(), ::kube::Error> {
    let pods_api: Api<Pod> = Api::namespaced(client.clone(), ns);
    let pods = pods_api.list(&ListParams::default()).await?.items;
    let mut seen = Vec::new();
    for pod in &pods {
        let (Some(name), Some(uid)) = (pod.metadata.name.clone(), pod.metadata.uid.clone()) else {
            continue;
        };
        let spec = pod.spec.clone().unwrap_or_default();
        if spec.node_name.is_none() {
            bind(&pods_api, &name).await?;
            continue;
        }
        if spec.node_name.as_deref() != Some(NODE) {
            continue;
        }
        seen.push(uid.clone());
        if pod.metadata.deletion_timestamp.is_some() {
            let grace = spec.termination_grace_period_seconds.unwrap_or(30);
            let done = match running.get_mut(&uid) {
                None => true,
                Some(r) => {
                    if r.terminate_by.is_none() {
                        r.signal("TERM");
                        r.terminate_by = Some(
                            Instant::now() + Duration::from_secs(u64::try_from(grace).unwrap_or(0)),
                        );
                    }
                    if r.terminate_by.is_some_and(|t| Instant::now() > t) {
                        r.signal("KILL");
                    }
                    r.has_exited()
                }
            };
            if done {
                running.remove(&uid);
                let _ = pods_api
                    .delete(&name, &DeleteParams::default().grace_period(0))
                    .await;
            }
            continue;
        }
        if !running.contains_key(&uid) {
            let Some(container) = spec.containers.first() else {
                continue;
            };
            let Some(program) = container.image.as_deref().and_then(program_for) else {
                continue;
            };
            let next = u8::try_from(addresses.len() + 1).unwrap_or(254);
            let n = *addresses.entry(name.clone()).or_insert(next);
            let loopback = Ipv4Addr::new(127, 100 + slot / 100, slot % 100, n);
            let mut r = prepare(client, ns, pod, container, &program, root, loopback).await?;
            r.spawn(&root.join("logs"));
            running.insert(uid.clone(), r);
        }
        let Some(r) = running.get_mut(&uid) else {
            continue;
        };
        if r.has_exited() {
            r.ready = false;
            let since = *r.exited_at.get_or_insert_with(Instant::now);
            if since.elapsed() > Duration::from_secs(1) {
                r.restarts += 1;
                r.spawn(&root.join("logs"));
            }
        } else {
            r.ready = match &r.probe {
                Some((port, path)) => probe(r.loopback, *port, path),
                None => true,
            };
        }
        if r.reported != Some((r.ready, r.restarts)) {
            let n = r.loopback.octets()[3];
            let pod_ip = format!("10.{}.{}.{n}", 100 + slot / 100, slot % 100);
            report(&pods_api, &name, r, &pod_ip).await?;
            r.reported = Some((r.ready, r.restarts));
        }
    }
    running.retain(|uid, _| seen.contains(uid));
    forget_deleted_claims(client, ns, root, &pods).await?;
    let lines = host_lines(client, ns, &pods, running).await?;
    if lines != *hosts {
        write_hosts_block(slot, &lines);
        *hosts = lines;
    }
    Ok(())
}

async fn bind(pods: &Api<Pod>, name: &str) -> Result<(), ::kube::Error> {
    let binding = Binding {
        metadata: ObjectMeta {
            name: Some(name.into()),
            ..ObjectMeta::default()
        },
        target: ObjectReference {
            api_version: Some("v1".into()),
            kind: Some("Node".into()),
            name: Some(NODE.into()),
            ..ObjectReference::default()
        },
    };
    match pods
        .create_subresource::<Binding, serde_json::Value>(
            "binding",
            name,
            &PostParams::default(),
            &binding,
        )
        .await
    {
        Ok(_) => Ok(()),
        // Bound meanwhile, or gone.
        Err(::kube::Error::Api(e)) if e.code == 409 || e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// Builds the pod's process: env, args, volumes and translated paths.
async fn prepare(
    client: &Client,
    ns: &str,
    pod: &Pod,
    container: &Container,
    program: &Path,
    root: &Path,
    loopback: Ipv4Addr,
) -> Result<Running, ::kube::Error> {
    let name = pod.metadata.name.clone().unwrap_or_default();
    let uid = pod.metadata.uid.clone().unwrap_or_default();
    let spec = pod.spec.clone().unwrap_or_default();
    let pod_dir = root.join("pods").join(&uid);
    let mut volume_dirs: HashMap<String, PathBuf> = HashMap::new();
    let mut config_files: Vec<(PathBuf, String)> = Vec::new();
    for v in spec.volumes.iter().flatten() {
        let dir = if let Some(claim) = &v.persistent_volume_claim {
            root.join("claims").join(&claim.claim_name)
        } else {
            pod_dir.join("volumes").join(&v.name)
        };
        std::fs::create_dir_all(&dir).expect("volume folder");
        if let Some(cm) = &v.config_map {
            let api: Api<ConfigMap> = Api::namespaced(client.clone(), ns);
            if let Some(cm) = api.get_opt(&cm.name).await? {
                for (k, text) in cm.data.unwrap_or_default() {
                    config_files.push((dir.join(k), text));
                }
            }
        }
        if let Some(secret) = &v.secret {
            let api: Api<Secret> = Api::namespaced(client.clone(), ns);
            let name = secret.secret_name.clone().unwrap_or_default();
            if let Some(s) = api.get_opt(&name).await? {
                for (k, bytes) in s.data.unwrap_or_default() {
                    let text = String::from_utf8_lossy(&bytes.0).into_owned();
                    config_files.push((dir.join(k), text));
                }
            }
        }
        volume_dirs.insert(v.name.clone(), dir);
    }
    let mut mounts: Vec<(String, String)> = container
        .volume_mounts
        .iter()
        .flatten()
        .filter_map(|m| {
            let dir = volume_dirs.get(&m.name)?;
            Some((m.mount_path.clone(), dir.display().to_string()))
        })
        .collect();
    // Longest first, so a nested mount wins over its parent.
    mounts.sort_by_key(|(path, _)| std::cmp::Reverse(path.len()));
    let translate = |s: &str| -> String {
        let mut out = s.replace("0.0.0.0", &loopback.to_string());
        for (path, dir) in &mounts {
            out = out.replace(path.as_str(), dir);
        }
        out
    };
    for (file, text) in config_files {
        std::fs::write(&file, translate(&text)).expect("volume file");
    }
    let mut env: Vec<(String, String)> = Vec::new();
    for e in container.env.iter().flatten() {
        let value = match (&e.value, &e.value_from) {
            (Some(v), _) => expand(v, &env),
            (None, Some(from)) => from
                .field_ref
                .as_ref()
                .map(|f| field(pod, &f.field_path))
                .unwrap_or_default(),
            (None, None) => String::new(),
        };
        env.push((e.name.clone(), translate(&value)));
    }
    let args: Vec<String> = container
        .args
        .iter()
        .flatten()
        .map(|a| translate(&expand(a, &env)))
        .collect();
    let mut command = Command::new(program);
    command.args(&args).current_dir(&pod_dir).env_clear();
    if let Ok(path) = std::env::var("PATH") {
        command.env("PATH", path);
    }
    for (k, v) in &env {
        command.env(k, v);
    }
    let probe = container.readiness_probe.as_ref().and_then(|p| {
        let http = p.http_get.as_ref()?;
        let port = match &http.port {
            IntOrString::Int(n) => u16::try_from(*n).ok()?,
            IntOrString::String(named) => container
                .ports
                .iter()
                .flatten()
                .find(|cp| cp.name.as_deref() == Some(named))
                .and_then(|cp| u16::try_from(cp.container_port).ok())?,
        };
        Some((port, http.path.clone().unwrap_or_else(|| "/".into())))
    });
    Ok(Running {
        name,
        child: None,
        command,
        loopback,
        probe,
        ready: false,
        restarts: 0,
        exited_at: None,
        terminate_by: None,
        reported: None,
        image: container.image.clone().unwrap_or_default(),
    })
}

/// Kubernetes' `$(VAR)` expansion: a reference to a variable defined
/// earlier is replaced, `$$` is a literal `$`, anything else stays.
fn expand(text: &str, env: &[(String, String)]) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find('$') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(after) = tail.strip_prefix("$$") {
            out.push('$');
            rest = after;
        } else if let Some(close) = tail.strip_prefix("$(").and_then(|t| t.find(')')) {
            let var = &tail[2..2 + close];
            match env.iter().rev().find(|(k, _)| k == var) {
                Some((_, v)) => out.push_str(v),
                None => out.push_str(&tail[..3 + close]),
            }
            rest = &tail[3 + close..];
        } else {
            out.push('$');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The downward API's `fieldRef` paths a pod may use.
fn field(pod: &Pod, path: &str) -> String {
    let m = &pod.metadata;
    let from_map = |map: &Option<BTreeMap<String, String>>, prefix: &str| {
        let key = path.strip_prefix(prefix)?.strip_suffix("']")?;
        map.as_ref()?.get(key).cloned()
    };
    match path {
        "metadata.name" => m.name.clone(),
        "metadata.namespace" => m.namespace.clone(),
        "metadata.uid" => m.uid.clone(),
        "spec.nodeName" => pod.spec.as_ref().and_then(|s| s.node_name.clone()),
        "spec.serviceAccountName" => pod
            .spec
            .as_ref()
            .and_then(|s| s.service_account_name.clone()),
        _ => from_map(&m.labels, "metadata.labels['")
            .or_else(|| from_map(&m.annotations, "metadata.annotations['")),
    }
    .unwrap_or_default()
}

/// An HTTP GET readiness probe: ready on a 2xx or 3xx answer.
fn probe(ip: Ipv4Addr, port: u16, path: &str) -> bool {
    let addr = SocketAddr::from((ip, port));
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return false;
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if write!(s, "GET {path} HTTP/1.0\r\nHost: {ip}\r\n\r\n").is_err() {
        return false;
    }
    let mut head = [0u8; 12];
    if s.read_exact(&mut head).is_err() {
        return false;
    }
    matches!(head.get(9), Some(b'2' | b'3'))
}

async fn report(
    pods: &Api<Pod>,
    name: &str,
    r: &Running,
    pod_ip: &str,
) -> Result<(), ::kube::Error> {
    let now = k8s_openapi::jiff::Timestamp::now().to_string();
    let ready = if r.ready { "True" } else { "False" };
    let condition = |type_: &str, status: &str| json!({"type": type_, "status": status, "lastTransitionTime": now});
    let status = json!({"status": {
        "phase": "Running",
        "hostIP": "10.0.0.1",
        "podIP": pod_ip,
        "podIPs": [{"ip": pod_ip}],
        "startTime": now,
        "conditions": [
            condition("PodScheduled", "True"),
            condition("Initialized", "True"),
            condition("ContainersReady", ready),
            condition("Ready", ready),
        ],
        "containerStatuses": [{
            "name": "broker",
            "image": r.image,
            "imageID": "",
            "ready": r.ready,
            "started": true,
            "restartCount": r.restarts,
            "state": {"running": {"startedAt": now}},
        }],
    }});
    match pods
        .patch_status(name, &PatchParams::default(), &Patch::Merge(&status))
        .await
    {
        Ok(_) => Ok(()),
        Err(::kube::Error::Api(e)) if e.code == 404 => Ok(()),
        Err(e) => Err(e),
    }
}

/// A deleted claim's folder goes with it, once no pod uses it, so a claim
/// created again under the same name starts empty, like a new volume.
async fn forget_deleted_claims(
    client: &Client,
    ns: &str,
    root: &Path,
    pods: &[Pod],
) -> Result<(), ::kube::Error> {
    let Ok(dirs) = std::fs::read_dir(root.join("claims")) else {
        return Ok(());
    };
    let claims: Api<PersistentVolumeClaim> = Api::namespaced(client.clone(), ns);
    let existing: Vec<String> = claims
        .list(&ListParams::default())
        .await?
        .items
        .into_iter()
        .filter_map(|c| c.metadata.name)
        .collect();
    let in_use: Vec<String> = pods
        .iter()
        .flat_map(|p| p.spec.iter().flat_map(|s| s.volumes.iter().flatten()))
        .filter_map(|v| {
            v.persistent_volume_claim
                .as_ref()
                .map(|c| c.claim_name.clone())
        })
        .collect();
    for dir in dirs.flatten() {
        let name = dir.file_name().to_string_lossy().into_owned();
        if !existing.contains(&name) && !in_use.contains(&name) {
            let _ = std::fs::remove_dir_all(dir.path());
        }
    }
    Ok(())
}

/// `/etc/hosts` lines: every running pod by its DNS name, every Service of
/// the namespace by one ready pod it selects (or any, if none is ready).
async fn host_lines(
    client: &Client,
    ns: &str,
    pods: &[Pod],
    running: &HashMap<String, Running>,
) -> Result<Vec<String>, ::kube::Error> {
    let address = |pod: &Pod| {
        running
            .get(pod.metadata.uid.as_deref().unwrap_or_default())
            .map(|r| r.loopback)
    };
    let mut lines = Vec::new();
    for pod in pods {
        let (Some(ip), Some(spec)) = (address(pod), pod.spec.as_ref()) else {
            continue;
        };
        let host = spec
            .hostname
            .clone()
            .or_else(|| pod.metadata.name.clone())
            .unwrap_or_default();
        if let Some(sub) = &spec.subdomain {
            lines.push(format!(
                "{ip} {host}.{sub}.{ns}.svc {host}.{sub}.{ns}.svc.cluster.local"
            ));
        }
    }
    let services: Api<Service> = Api::namespaced(client.clone(), ns);
    for svc in services.list(&ListParams::default()).await?.items {
        let Some(name) = svc.metadata.name.clone() else {
            continue;
        };
        let Some(selector) = svc.spec.as_ref().and_then(|s| s.selector.clone()) else {
            continue;
        };
        let mut chosen: Vec<&Pod> = pods
            .iter()
            .filter(|p| p.metadata.deletion_timestamp.is_none() && address(p).is_some())
            .filter(|p| {
                let labels = p.metadata.labels.clone().unwrap_or_default();
                selector.iter().all(|(k, v)| labels.get(k) == Some(v))
            })
            .collect();
        chosen.sort_by_key(|p| (!pod_ready(p), p.metadata.name.clone()));
        if let Some(ip) = chosen.first().and_then(|p| address(p)) {
            lines.push(format!(
                "{ip} {name}.{ns}.svc {name}.{ns}.svc.cluster.local"
            ));
        }
    }
    Ok(lines)
}

/// Replaces this kubelet's block of `/etc/hosts` (in place: the file may
/// be a bind mount that cannot be renamed over), under a lock file other
/// kubelets on the machine honour.
fn write_hosts_block(slot: u8, lines: &[String]) {
    let lock = std::env::temp_dir().join("weir-kubelet-hosts.lock");
    let deadline = Instant::now() + Duration::from_secs(10);
    let held = loop {
        if OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&lock)
            .is_ok()
        {
            break true;
        }
        if Instant::now() > deadline {
            break false;
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let begin = format!("# weir-kubelet {slot} begin");
    let end = format!("# weir-kubelet {slot} end");
    let text = std::fs::read_to_string(HOSTS).unwrap_or_default();
    let mut out = String::new();
    let mut inside = false;
    for line in text.lines() {
        if line == begin {
            inside = true;
        } else if line == end {
            inside = false;
        } else if !inside {
            out.push_str(line);
            out.push('\n');
        }
    }
    if !lines.is_empty() {
        out.push_str(&begin);
        out.push('\n');
        for l in lines {
            out.push_str(l);
            out.push('\n');
        }
        out.push_str(&end);
        out.push('\n');
    }
    if let Ok(mut f) = OpenOptions::new().write(true).truncate(true).open(HOSTS) {
        let _ = f.write_all(out.as_bytes());
    }
    if held {
        let _ = std::fs::remove_file(&lock);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn args_expand_earlier_variables_and_keep_unknown_references() {
        let env = vec![("POD_NAME".to_string(), "demo-broker-1".to_string())];
        assert_eq!(
            expand("PLAINTEXT://$(POD_NAME).svc:$(PORT) $$(POD_NAME) $x", &env),
            "PLAINTEXT://demo-broker-1.svc:$(PORT) $(POD_NAME) $x"
        );
    }
}
