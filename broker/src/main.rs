//! `weir-broker`: starts a broker from flags, environment and an optional
//! properties file, and stops it cleanly on SIGINT or SIGTERM.

use std::process::ExitCode;

use tracing_subscriber::EnvFilter;
use weir_broker::config::{BrokerConfig, LogFormat};

fn main() -> ExitCode {
    let config = match BrokerConfig::load() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("weir-broker: {e}");
            return ExitCode::from(2);
        }
    };
    init_tracing(config.log_format);
    for key in &config.unknown_keys {
        if weir_broker::config::kafka_broker::by_name(key).is_some() {
            tracing::info!(key = %key, "a Kafka configuration key weir has no use for: reported, not applied");
        } else {
            tracing::warn!(key = %key, "ignoring unknown configuration key");
        }
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("weir-broker: cannot start the runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(weir_broker::server::run(config, shutdown_signal())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "broker failed");
            eprintln!("weir-broker: {e}");
            ExitCode::FAILURE
        }
    }
}

fn init_tracing(format: LogFormat) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info,openraft=warn"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Json => builder.json().init(),
        LogFormat::Text => builder.init(),
    }
}

async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(e) = tokio::signal::ctrl_c().await {
            tracing::error!(error = %e, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(e) => {
                tracing::error!(error = %e, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    tokio::select! {
        _ = ctrl_c => {}
        _ = term => {}
    }
}
