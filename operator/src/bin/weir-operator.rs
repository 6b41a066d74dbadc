//! `weir-operator`: watches KafkaClusters and runs them. Several replicas
//! may run; a Lease elects the one that acts.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use clap::Parser;
use kube::Client;
use kube_lease_manager::LeaseManagerBuilder;
use tracing_subscriber::EnvFilter;
use weir_operator::http::{router, HttpState};
use weir_operator::metrics::Metrics;

/// Kubernetes operator for weir clusters.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Address of `/metrics`, `/healthz` and `/readyz`.
    #[arg(long, env = "WEIR_HTTP_ADDR", default_value = "0.0.0.0:8080")]
    http_addr: String,
    /// Namespace to watch; all namespaces when empty.
    #[arg(long, env = "WATCH_NAMESPACE", default_value = "")]
    watch_namespace: String,
    /// This pod's name: the leader election identity.
    #[arg(long, env = "POD_NAME", default_value = "weir-operator")]
    pod_name: String,
    /// Namespace holding the leader election Lease.
    #[arg(long, env = "POD_NAMESPACE", default_value = "default")]
    pod_namespace: String,
    /// Log format: `json` or `text`.
    #[arg(long, env = "WEIR_LOG_FORMAT", default_value = "json")]
    log_format: String,
    /// Seconds a SIGTERM may take before the operator exits regardless (a
    /// hung API server must not outlast the pod's grace period, 30 s by
    /// default).
    #[arg(long, env = "WEIR_SHUTDOWN_TIMEOUT_SECONDS", default_value_t = 20)]
    shutdown_timeout_seconds: u64,
}

/// Set once elected: from then on a SIGTERM lets reconciles finish and the
/// Lease be released, within the deadline.
static LEADING: AtomicBool = AtomicBool::new(false);

/// How long releasing the leader Lease may take on the way out.
const LEASE_RELEASE_TIMEOUT: Duration = Duration::from_secs(10);

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args = Args::parse();
    let deadline = Duration::from_secs(args.shutdown_timeout_seconds);
    let work = run(args);
    tokio::pin!(work);
    tokio::select! {
        result = &mut work => return result,
        _ = shutdown_signal() => {}
    }
    if !LEADING.load(Ordering::SeqCst) {
        // Nothing to hand over: not reconciling, holding no Lease.
        return Ok(());
    }
    // The work sees the same SIGTERM and stops on its own; whatever the API
    // server does, it gets until the deadline.
    match tokio::time::timeout(deadline, work).await {
        Ok(result) => result,
        Err(_) => {
            tracing::warn!(
                seconds = deadline.as_secs(),
                "shutdown did not finish in time (is the API server reachable?); exiting"
            );
            // Not a return: dropping the runtime would wait for blocked tasks.
            std::process::exit(0)
        }
    }
}

/// Everything the operator does, from logging set-up to releasing its Lease.
async fn run(args: Args) -> anyhow::Result<()> {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match args.log_format.as_str() {
        "json" => builder.json().init(),
        "text" => builder.init(),
        other => anyhow::bail!("--log-format must be json or text, not {other:?}"),
    }

    let metrics = Arc::new(Metrics::new().context("registering metrics")?);
    let ready = Arc::new(AtomicBool::new(false));
    let listener = tokio::net::TcpListener::bind(&args.http_addr)
        .await
        .with_context(|| format!("binding {}", args.http_addr))?;
    let app = router(HttpState {
        metrics: metrics.clone(),
        ready: ready.clone(),
    });
    tokio::spawn(async move {
        if let Err(e) = axum::serve(listener, app).await {
            tracing::error!(error = %e, "HTTP server failed");
        }
    });

    let client = Client::try_default()
        .await
        .context("connecting to the Kubernetes API")?;
    client
        .apiserver_version()
        .await
        .context("reaching the Kubernetes API server")?;
    ready.store(true, Ordering::SeqCst);

    let leases = LeaseManagerBuilder::new(client.clone(), "weir-operator")
        .with_namespace(&args.pod_namespace)
        .with_identity(&args.pod_name)
        .build()
        .await
        .context("setting up leader election")?;
    let (mut leader, lease_task) = leases.watch().await;
    tracing::info!(identity = %args.pod_name, "waiting to become the leader");
    while !*leader.borrow_and_update() {
        tokio::select! {
            changed = leader.changed() => changed.context("leader election stopped")?,
            _ = shutdown_signal() => return Ok(()),
        }
    }
    tracing::info!("elected leader; reconciling");
    LEADING.store(true, Ordering::SeqCst);

    let namespace = (!args.watch_namespace.is_empty()).then_some(args.watch_namespace.clone());
    let mut lost = leader.clone();
    let stop = async move {
        tokio::select! {
            _ = shutdown_signal() => tracing::info!("shutting down"),
            _ = async { while lost.changed().await.is_ok() && *lost.borrow() {} } => {
                // Another replica may already act: stop at once (fencing).
                tracing::warn!("lost the leader lease; stopping");
            }
        }
    };
    weir_operator::controller::run(client, namespace, args.pod_name.clone(), metrics, stop).await;
    tracing::info!("controllers stopped; releasing the leader lease");
    // Dropping the last receiver makes the lease manager release the Lease
    // and end; each step is time-boxed so a slow API server is logged.
    drop(leader);
    let stopped = match tokio::time::timeout(LEASE_RELEASE_TIMEOUT, lease_task).await {
        Ok(stopped) => stopped,
        Err(_) => {
            tracing::warn!("the lease manager did not stop in time; the lease expires on its own");
            // As at the deadline: dropping the runtime would wait for the
            // blocked API calls.
            std::process::exit(0)
        }
    };
    match stopped {
        Ok(Ok(manager)) => {
            match tokio::time::timeout(LEASE_RELEASE_TIMEOUT, manager.release()).await {
                Ok(Ok(())) => tracing::info!("released the leader lease"),
                Ok(Err(e)) => tracing::warn!(error = %e, "releasing the lease failed"),
                Err(_) => tracing::warn!("releasing the lease timed out; it expires on its own"),
            }
        }
        Ok(Err(e)) => tracing::warn!(error = %e, "leader election failed"),
        Err(e) => tracing::warn!(error = %e, "leader election task failed"),
    }
    Ok(())
}

async fn shutdown_signal() {
    let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(error = %e, "cannot listen for SIGTERM");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = term.recv() => {}
        _ = tokio::signal::ctrl_c() => {}
    }
}
