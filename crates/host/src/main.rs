//! `starpoll-host`: the app's hub as a native, always-on process — the second shell around
//! `starpoll_core::hub::Hub` (the first is the browser's `src/hub.rs`).
//!
//! Modules:
//! - [`config`]: flags and environment, checked;
//! - [`identity`]: the host's key and token, created once in the data directory;
//! - [`store`]: SQLite (WAL, versioned schema, one transaction per flush);
//! - [`hub`]: the hub runtime (queue, commit, then sends) — the mirror of `src/hub.rs`;
//! - [`rtc`]: str0m WebRTC connections carrying PeerJS `binary` data channels;
//! - [`net`]: UDP sockets and STUN-learnt candidates; [`signaling`]: the PeerJS WebSocket;
//! - [`run`]: the main loop; [`log`]: structured log lines.

mod config;
mod hub;
mod identity;
mod log;
mod net;
mod rtc;
mod run;
mod signaling;
mod store;

use std::process::ExitCode;

use clap::Parser;

use crate::config::{Action, Cli, Config};

/// The SQLite file's name in the data directory.
const DATABASE: &str = "host.sqlite3";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.config() {
        Ok(config) => config,
        Err(error) => {
            log!(Error, "host.config", error = error);
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.unwrap_or(Action::Run) {
        Action::Id => print_id(&config),
        Action::Run => serve(&config),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            log!(Error, "host.failed", error = error);
            ExitCode::FAILURE
        }
    }
}

/// Why the host could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
enum HostError {
    #[error("could not create the data directory {path}: {source}")]
    DataDir {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error(transparent)]
    Identity(#[from] identity::IdentityError),
    #[error(transparent)]
    Store(#[from] store::StoreError),
    #[error(transparent)]
    Net(#[from] net::NetError),
    #[error(transparent)]
    Run(#[from] run::RunError),
    #[error("could not start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

fn data_dir(config: &Config) -> Result<(), HostError> {
    std::fs::create_dir_all(&config.data).map_err(|source| HostError::DataDir {
        path: config.data.display().to_string(),
        source,
    })
}

fn print_id(config: &Config) -> Result<(), HostError> {
    data_dir(config)?;
    let (identity, created) = identity::load_or_create(&config.data)?;
    if created {
        log!(Info, "identity.created", peer_id = identity.peer_id());
    }
    println!("{}", identity.peer_id());
    println!("{}/o/{}", config.app_url, identity.peer_id());
    Ok(())
}

fn serve(config: &Config) -> Result<(), HostError> {
    data_dir(config)?;
    let (identity, created) = identity::load_or_create(&config.data)?;
    log!(
        Info,
        "host.start",
        peer_id = identity.peer_id(),
        new_identity = created,
        data = config.data.display(),
        peerjs = format!(
            "{}://{}:{}{}",
            if config.server.secure { "wss" } else { "ws" },
            config.server.host,
            config.server.port,
            config.server.path
        ),
    );
    let store = store::Store::open(&config.data.join(DATABASE))?;
    let runtime = hub::HubRuntime::start(identity.clone(), store)?;
    log!(Info, "store.loaded", polls = runtime.hub().polls().count());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(HostError::Runtime)?;
    let local = tokio::task::LocalSet::new();
    local.block_on(&rt, async move {
        let addrs = net::listen_addresses(&config.listen)?;
        let sockets = net::bind(&addrs, !config.listen.is_empty()).await?;
        let extra = net::reflexive_candidates(&sockets, &config.stun).await;
        let (tx, rx) = tokio::sync::mpsc::unbounded_channel();
        net::spawn_readers(&sockets, &tx);
        let transport = rtc::Transport::new(sockets, extra);
        let host = run::Host::new(
            &identity,
            &config.server,
            runtime,
            transport,
            config.health_ms,
        )?;
        host.run(rx).await?;
        Ok(())
    })
}
