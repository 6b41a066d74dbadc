//! The network side of the broker: binding listeners, accepting connections,
//! and the lifecycle from start to graceful shutdown.

pub mod admission;
pub mod connection;
pub mod descriptors;
pub mod dispatch;
pub mod frame;
pub mod internal;
pub mod tls;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinSet;

use self::admission::Admission;
use self::descriptors::{DescriptorBudget, Spare};
use crate::api;
use crate::broker::{Broker, StartError};
use crate::config::BrokerConfig;

/// Starts a broker and serves until `shutdown` completes, then closes every
/// log cleanly.
pub async fn run(
    config: BrokerConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), StartError> {
    let (limit, refused) = descriptors::raise_limit();
    let budget = DescriptorBudget::new(limit.soft);
    tracing::info!(
        soft_before = limit.soft_before,
        soft = limit.soft,
        hard = limit.hard,
        client_ceiling = budget.ceiling,
        "file descriptor limit"
    );
    if let Some(e) = refused {
        tracing::warn!(error = %e, "cannot raise the file descriptor limit");
    }
    // TLS stores load before anything binds: a broker that cannot serve
    // its TLS listeners does not start.
    let mut secured = Vec::new();
    for s in &config.secured_listeners {
        let tls = match &s.tls {
            Some(settings) => Some(tls::ReloadingConfig::load(settings.clone()).map_err(
                |source| StartError::Tls {
                    listener: s.listener.to_string(),
                    source,
                },
            )?),
            None => None,
        };
        secured.push((s.listener.clone(), s.protocol, tls));
    }
    let internal = internal::bind(&config.cluster).await?;
    let broker = Broker::open(config).await?;
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut tasks = JoinSet::new();
    {
        let broker = broker.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            internal::serve(internal, broker, async move { stopped(&mut stop).await }).await;
        });
    }
    tasks.spawn(follow_metadata(broker.clone(), stop_rx.clone()));
    // The controller's duty runs on every broker and acts while it leads,
    // from before this broker joins: it may be the controller others wait on.
    spawn_until_stopped(
        &mut tasks,
        &stop_rx,
        crate::controller::liveness::fence_expired_loop(broker.clone()),
    );
    spawn_until_stopped(
        &mut tasks,
        &stop_rx,
        crate::controller::leader_balance::balance_loop(broker.clone()),
    );
    broker.join().await?;
    spawn_until_stopped(
        &mut tasks,
        &stop_rx,
        crate::controller::liveness::heartbeat_loop(broker.clone()),
    );
    let mut listeners = Vec::new();
    for (l, protocol, tls) in secured {
        let host = if l.host.is_empty() {
            "0.0.0.0"
        } else {
            l.host.as_str()
        };
        let listener =
            TcpListener::bind((host, l.port))
                .await
                .map_err(|source| StartError::Bind {
                    address: l.to_string(),
                    source,
                })?;
        tracing::info!(listener = %l, %protocol, "listening for Kafka clients");
        if let Some(tls) = &tls {
            spawn_until_stopped(
                &mut tasks,
                &stop_rx,
                reload_tls(l.name.clone(), tls.clone()),
            );
        }
        listeners.push(Bound {
            name: l.name.clone(),
            socket: listener,
            tls,
        });
    }
    let http = TcpListener::bind(broker.config.http_listener.as_str())
        .await
        .map_err(|source| StartError::Bind {
            address: broker.config.http_listener.clone(),
            source,
        })?;
    tracing::info!(address = %broker.config.http_listener, "serving /metrics, /healthz, /readyz");

    {
        let broker = broker.clone();
        let mut stop = stop_rx.clone();
        tasks.spawn(async move {
            let on_stop = async move { stopped(&mut stop).await };
            if let Err(e) = crate::http::serve(http, broker, on_stop).await {
                tracing::error!(error = %e, "HTTP server failed");
            }
        });
    }
    tasks.spawn(retention_loop(broker.clone(), stop_rx.clone()));
    tasks.spawn(group_ticker(broker.clone(), stop_rx.clone()));
    tasks.spawn(cleaner_loop(broker.clone(), stop_rx.clone()));
    spawn_until_stopped(
        &mut tasks,
        &stop_rx,
        crate::replica_manager::isr_changes::shrink_lagging(broker.clone()),
    );
    let admission = Admission::new(&broker.config.connections);
    for bound in listeners {
        tasks.spawn(accept_loop(
            broker.clone(),
            admission.clone(),
            budget,
            bound,
            stop_rx.clone(),
        ));
    }
    broker.set_ready(true);
    tracing::info!(
        node_id = broker.config.node_id,
        cluster_id = %broker.cluster_id,
        data_dir = %broker.config.data_dir.display(),
        "broker started"
    );

    shutdown.await;
    tracing::info!("shutting down");
    // Leaderships move while this broker still serves, so clients are
    // redirected by NOT_LEADER_OR_FOLLOWER instead of timing out.
    crate::controller::liveness::controlled_shutdown(&broker, CONTROLLED_SHUTDOWN_WAIT).await;
    broker.set_ready(false);
    let _ = stop_tx.send(true);
    while tasks.join_next().await.is_some() {}
    broker.quorum.shutdown().await;
    broker.replicas.shutdown();
    tracing::info!("shutdown complete");
    Ok(())
}

/// How long a stopping broker waits for its leaderships to move.
const CONTROLLED_SHUTDOWN_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// Runs `task` until the broker stops.
fn spawn_until_stopped(
    tasks: &mut JoinSet<()>,
    stop: &watch::Receiver<bool>,
    task: impl Future<Output = ()> + Send + 'static,
) {
    let mut stop = stop.clone();
    tasks.spawn(async move {
        tokio::select! {
            () = task => {}
            () = stopped(&mut stop) => {}
        }
    });
}

/// Applies every new metadata image to the hosted partitions, so a broker
/// follows changes other brokers made through the controller.
async fn follow_metadata(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut images = broker.quorum.subscribe();
    loop {
        tokio::select! {
            changed = images.changed() => {
                if changed.is_err() {
                    break;
                }
                broker.apply_current();
            }
            _ = stopped(&mut stop) => break,
        }
    }
}

/// A bound client listener: its name, its socket and, for TLS, its
/// (reloading) configuration.
struct Bound {
    name: String,
    socket: TcpListener,
    tls: Option<Arc<tls::ReloadingConfig>>,
}

/// Re-reads a TLS listener's stores when their files change.
async fn reload_tls(listener: String, config: Arc<tls::ReloadingConfig>) {
    let mut ticker = tokio::time::interval(tls::RELOAD_CHECK);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match config.reload_if_changed() {
            None => {}
            Some(Ok(())) => tracing::info!(%listener, "TLS key or trust store reloaded"),
            Some(Err(e)) => tracing::warn!(
                %listener,
                error = %e,
                "TLS stores changed but do not load; serving the previous ones"
            ),
        }
    }
}

/// Starts serving an accepted connection: the TLS handshake first on a TLS
/// listener (bounded by `connections.max.idle.ms`), then requests.
async fn start_connection(
    broker: Arc<Broker>,
    admission: Arc<Admission>,
    socket: tokio::net::TcpStream,
    peer: std::net::SocketAddr,
    listener: &str,
    tls: Option<&tls::ReloadingConfig>,
) {
    if let Err(e) = socket.set_nodelay(true) {
        tracing::debug!(%peer, error = %e, "cannot set TCP_NODELAY");
    }
    let Some(tls) = tls else {
        let (read, write) = socket.into_split();
        let halves: (connection::ReadHalf, connection::WriteHalf) =
            (Box::new(read), Box::new(write));
        connection::serve(
            broker,
            admission,
            halves,
            api::ClientContext::anonymous(peer, listener),
        )
        .await;
        return;
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.current());
    let idle = Duration::from_millis(broker.config.connections.connections_max_idle_ms);
    let stream = match tokio::time::timeout(idle, acceptor.accept(socket)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            broker.metrics.failed_authentications.inc();
            tracing::debug!(%peer, %listener, error = %e, "TLS handshake failed");
            return;
        }
        Err(_) => {
            broker.metrics.failed_authentications.inc();
            tracing::debug!(%peer, %listener, "TLS handshake did not finish in time");
            return;
        }
    };
    let subject = tls::subject(stream.get_ref().1.peer_certificates());
    let Some(principal) = tls.mapper.principal(subject.as_deref()) else {
        broker.metrics.failed_authentications.inc();
        tracing::debug!(%peer, %listener, "no ssl.principal.mapping.rules rule matches the client certificate");
        return;
    };
    tracing::debug!(%peer, %listener, %principal, "TLS client connected");
    let client = api::ClientContext {
        peer,
        listener: listener.into(),
        principal: principal.into(),
    };
    let (read, write) = tokio::io::split(stream);
    let halves: (connection::ReadHalf, connection::WriteHalf) = (Box::new(read), Box::new(write));
    connection::serve(broker, admission, halves, client).await;
}

async fn accept_loop(
    broker: Arc<Broker>,
    admission: Arc<Admission>,
    budget: DescriptorBudget,
    bound: Bound,
    mut stop: watch::Receiver<bool>,
) {
    let Bound {
        name,
        socket: listener,
        tls,
    } = bound;
    let mut connections = JoinSet::new();
    let mut spare = Spare::new();
    let mut short = Shortage::default();
    loop {
        // max.connections: wait for a free slot before accepting, so
        // further clients wait in the listen backlog.
        let slot = tokio::select! {
            slot = admission.connection_slot() => slot,
            _ = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((socket, peer)) => {
                    if !budget.admits(std::os::fd::AsRawFd::as_raw_fd(&socket)) {
                        short.refused(&peer.to_string());
                        continue;
                    }
                    short.recovered();
                    let Some(ip_slot) = admission.admit_ip(peer.ip()) else {
                        tracing::warn!(%peer, "closing connection: max.connections.per.ip reached");
                        continue;
                    };
                    let broker = broker.clone();
                    let admission = admission.clone();
                    let (name, tls) = (name.clone(), tls.clone());
                    connections.spawn(async move {
                        start_connection(broker, admission, socket, peer, &name, tls.as_deref()).await;
                        drop((slot, ip_slot));
                    });
                }
                Err(e) if descriptors::is_exhausted(&e) => {
                    // Refuse the waiting client on the spare descriptor
                    // rather than leave it, and the accept loop, stuck.
                    // Bounded, so a client that gave up meanwhile cannot
                    // keep the loop from seeing the broker stop.
                    spare.release();
                    let waiting = tokio::time::timeout(Duration::from_millis(100), listener.accept());
                    if let Ok(Ok((socket, peer))) = waiting.await {
                        drop(socket);
                        short.refused(&peer.to_string());
                    }
                    spare.restore();
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
                Err(e) => {
                    tracing::warn!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            },
            _ = stopped(&mut stop) => break,
            Some(_) = connections.join_next(), if !connections.is_empty() => {}
        }
    }
    // In-flight requests finish their current append; idle connections go.
    connections.abort_all();
    while connections.join_next().await.is_some() {}
}

/// Logs a descriptor shortage once when it starts and once when it ends,
/// with the number of connections refused, instead of once per client.
#[derive(Debug, Default)]
struct Shortage {
    refused: u64,
}

impl Shortage {
    fn refused(&mut self, peer: &str) {
        if self.refused == 0 {
            tracing::warn!(
                %peer,
                "out of file descriptors for clients: refusing new connections"
            );
        }
        self.refused += 1;
    }

    fn recovered(&mut self) {
        if self.refused > 0 {
            tracing::info!(
                refused = self.refused,
                "file descriptors free again: accepting connections"
            );
            self.refused = 0;
        }
    }
}

async fn retention_loop(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let period = Duration::from_millis(broker.config.log_retention_check_interval_ms.max(1));
    let mut ticker = tokio::time::interval(period);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let b = broker.clone();
                match tokio::task::spawn_blocking(move || b.replicas.enforce_retention()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(segments = n, "retention deleted segments"),
                    Err(e) => tracing::error!(error = %e, "retention task failed"),
                }
            }
            _ = stopped(&mut stop) => break,
        }
    }
}

/// Compacts logs of compacted topics every `log.cleaner.backoff.ms`.
async fn cleaner_loop(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(
        broker.config.log_cleaner_backoff_ms.max(1),
    ));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ticker.tick().await;
    loop {
        tokio::select! {
            _ = ticker.tick() => {
                let b = broker.clone();
                match tokio::task::spawn_blocking(move || b.replicas.clean_logs()).await {
                    Ok(0) => {}
                    Ok(n) => tracing::info!(segments = n, "log cleaner compacted segments"),
                    Err(e) => tracing::error!(error = %e, "log cleaner task failed"),
                }
            }
            _ = stopped(&mut stop) => break,
        }
    }
}

/// Moves consumer groups on in time: session expiry and rebalance deadlines.
async fn group_ticker(broker: Arc<Broker>, mut stop: watch::Receiver<bool>) {
    let mut ticker = tokio::time::interval(Duration::from_millis(100));
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = ticker.tick() => broker.groups.tick(&broker),
            _ = stopped(&mut stop) => break,
        }
    }
}

/// Completes once the stop flag is raised (or its sender is gone).
async fn stopped(stop: &mut watch::Receiver<bool>) {
    while !*stop.borrow_and_update() {
        if stop.changed().await.is_err() {
            return;
        }
    }
}
