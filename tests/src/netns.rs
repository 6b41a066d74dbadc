//! A network namespace for partition tests: one broker runs inside it and is
//! reached over two veth pairs, one carrying its clients' traffic (Kafka and
//! HTTP) and one its traffic with the other brokers (quorum and replication),
//! so a test can really cut either, or both, and heal them. The other
//! brokers stay in the test's namespace and listen for internal traffic on
//! the host end of the internal pair, an address that stays local to them
//! while the link is down.
//!
//! Needs root (`ip netns`); the addresses are private ones on links this
//! test made, so no traffic leaves the machine.

use std::process::Command;

/// The namespace, its two links and their addresses.
pub struct Isolation {
    ns: String,
    internal_inner: String,
    clients_inner: String,
    /// Where the other brokers listen for internal traffic (host side).
    pub host_internal: String,
    /// The isolated broker's internal address (inside the namespace).
    pub inner_internal: String,
    /// The isolated broker's Kafka and HTTP address (inside the namespace).
    pub inner_clients: String,
}

fn ip(args: &[&str]) -> Result<(), String> {
    let out = Command::new("ip")
        .args(args)
        .output()
        .map_err(|e| format!("ip {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "ip {}: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Removes namespaces an earlier test process left behind when it was
/// killed before it could clean up (their names carry its pid).
fn remove_stale() {
    let Ok(out) = Command::new("ip").args(["netns", "list"]).output() else {
        return;
    };
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or_default();
        let Some(pid) = name.strip_prefix("weir-") else {
            continue;
        };
        if !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = ip(&["netns", "del", name]);
        }
    }
}

impl Isolation {
    /// Makes the namespace and its links, or says why it cannot: `None`
    /// with the reason printed when this process is not root (a developer's
    /// unprivileged run), a panic when root cannot or when `CI=true` (CI
    /// must run it).
    pub fn create_or_skip() -> Option<Isolation> {
        let uid = std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|s| {
                s.lines()
                    .find_map(|l| l.strip_prefix("Uid:"))
                    .and_then(|v| v.split_whitespace().next().map(str::to_string))
            })
            .unwrap_or_default();
        if uid != "0" {
            let reason = "network namespaces need root (bash .ci/run runs as root)";
            // CI must run it: a missing prerequisite there is a failure.
            assert!(
                std::env::var("CI").as_deref() != Ok("true"),
                "under CI=true: {reason}"
            );
            println!("skipped: {reason}");
            return None;
        }
        remove_stale();
        Some(Isolation::create().unwrap_or_else(|e| panic!("network namespace: {e}")))
    }

    fn create() -> Result<Isolation, String> {
        let pid = std::process::id();
        let subnet = pid % 250 + 1;
        let ns = format!("weir-{pid}");
        let net = Isolation {
            internal_inner: format!("wi{pid}n"),
            clients_inner: format!("wc{pid}n"),
            host_internal: format!("10.251.{subnet}.1"),
            inner_internal: format!("10.251.{subnet}.2"),
            inner_clients: format!("10.252.{subnet}.2"),
            ns,
        };
        ip(&["netns", "add", &net.ns])?;
        ip(&["-n", &net.ns, "link", "set", "lo", "up"])?;
        for (kind, inner, prefix) in [
            ("i", &net.internal_inner, "10.251"),
            ("c", &net.clients_inner, "10.252"),
        ] {
            let host = format!("w{kind}{pid}h");
            ip(&["link", "add", &host, "type", "veth", "peer", "name", inner])?;
            ip(&["link", "set", inner, "netns", &net.ns])?;
            ip(&[
                "addr",
                "add",
                &format!("{prefix}.{subnet}.1/24"),
                "dev",
                &host,
            ])?;
            ip(&["link", "set", &host, "up"])?;
            ip(&[
                "-n",
                &net.ns,
                "addr",
                "add",
                &format!("{prefix}.{subnet}.2/24"),
                "dev",
                inner,
            ])?;
            ip(&["-n", &net.ns, "link", "set", inner, "up"])?;
        }
        Ok(net)
    }

    /// The namespace's name, for `ip netns exec`.
    pub fn name(&self) -> &str {
        &self.ns
    }

    fn set(&self, link: &str, state: &str) {
        ip(&["-n", &self.ns, "link", "set", link, state])
            .unwrap_or_else(|e| panic!("setting {link} {state}: {e}"));
    }

    /// Cuts the isolated broker off from the other brokers (its clients
    /// still reach it).
    pub fn cut_internal(&self) {
        self.set(&self.internal_inner, "down");
    }

    /// Joins it to the other brokers again.
    pub fn heal_internal(&self) {
        self.set(&self.internal_inner, "up");
    }

    /// Cuts the isolated broker off from its clients.
    pub fn cut_clients(&self) {
        self.set(&self.clients_inner, "down");
    }

    /// Lets its clients reach it again.
    pub fn heal_clients(&self) {
        self.set(&self.clients_inner, "up");
    }
}

impl Drop for Isolation {
    fn drop(&mut self) {
        // Deleting the namespace deletes the veth pairs with it.
        let _ = ip(&["netns", "del", &self.ns]);
    }
}
