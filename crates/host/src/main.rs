//! The `starpoll-host` command: parses the command line and runs one of its actions (`run`,
//! `id`, `new-poll`) on the library's modules.

use std::process::ExitCode;

use clap::Parser;

use starpoll_host::config::{self, Action, Cli, Config};
use starpoll_host::{hub, identity, log, net, output, rtc, run, store};

/// The SQLite file's name in the data directory.
const DATABASE: &str = "host.sqlite3";

/// The lock file that keeps a second host (or `new-poll`) off a data directory in use.
const LOCK: &str = "host.lock";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let config = match cli.config() {
        Ok(config) => config,
        Err(error) => {
            log!(Error, "host.config", error = error);
            return ExitCode::from(2);
        }
    };
    let result = match cli.command.clone().unwrap_or(Action::Run) {
        Action::Id => print_id(&config),
        Action::Run => serve(&config),
        Action::NewPoll(poll) => new_poll(&config, poll),
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
    #[error("another starpoll-host is using {path} (it holds {LOCK}); stop it first")]
    Locked { path: String },
    #[error("could not lock {path}: {source}")]
    Lock {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("the poll was refused: {0}")]
    Poll(#[from] starpoll_core::poll::Refusal),
    #[error("no randomness from the operating system: {0}")]
    Random(#[source] getrandom::Error),
    #[error("could not write to standard output: {0}")]
    Stdout(#[source] std::io::Error),
    #[error("could not start the runtime: {0}")]
    Runtime(#[source] std::io::Error),
}

fn data_dir(config: &Config) -> Result<(), HostError> {
    std::fs::create_dir_all(&config.data).map_err(|source| HostError::DataDir {
        path: config.data.display().to_string(),
        source,
    })
}

/// Takes the data directory's lock for as long as the returned file is open: one hub per
/// database, or two would hand out the same revisions.
fn lock(config: &Config) -> Result<std::fs::File, HostError> {
    let path = config.data.join(LOCK);
    let shown = path.display().to_string();
    let file = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|source| HostError::Lock {
            path: shown.clone(),
            source,
        })?;
    match file.try_lock() {
        Ok(()) => Ok(file),
        Err(std::fs::TryLockError::WouldBlock) => Err(HostError::Locked {
            path: config.data.display().to_string(),
        }),
        Err(std::fs::TryLockError::Error(source)) => Err(HostError::Lock {
            path: shown,
            source,
        }),
    }
}

/// Prints a subcommand's result; a reader that stopped reading (`| head -1`) is not a failure.
fn print(lines: &[String]) -> Result<(), HostError> {
    output::print_lines(lines).map_err(HostError::Stdout)
}

fn print_id(config: &Config) -> Result<(), HostError> {
    data_dir(config)?;
    let (identity, created) = identity::load_or_create(&config.data)?;
    if created {
        log!(Info, "identity.created", peer_id = identity.peer_id());
    }
    print(&[
        identity.peer_id().to_string(),
        format!("{}/o/{}", config.app_url, identity.peer_id()),
    ])
}

fn new_poll(config: &Config, poll: config::NewPoll) -> Result<(), HostError> {
    data_dir(config)?;
    let _lock = lock(config)?;
    let (identity, _) = identity::load_or_create(&config.data)?;
    let mut bytes = [0u8; 16];
    getrandom::fill(&mut bytes).map_err(HostError::Random)?;
    let id = starpoll_core::poll::PollId::from_random_bytes(bytes);
    let option_count = poll.options.len();
    let draft = starpoll_core::poll::PollDraft {
        title: poll.title,
        description: String::new(),
        options: poll.options,
        kind: if poll.multi {
            starpoll_core::poll::PollKind::Multiple {
                max: u32::try_from(option_count).unwrap_or(u32::MAX),
            }
        } else {
            starpoll_core::poll::PollKind::Single
        },
        deadline: None,
        settings: starpoll_core::poll::Settings {
            listed: poll.listed,
            ..Default::default()
        },
        owner_name: poll.owner_name,
    };
    let mut hub = starpoll_core::hub::Hub::new(identity.clone(), Default::default());
    let step = hub.create(id, draft, run::unix_ms())?;
    store::Store::open(&config.data.join(DATABASE))?.commit(&step.writes)?;
    log!(Info, "poll.created", poll = id, listed = poll.listed);
    print(&[
        id.to_string(),
        format!("{}/p/{}/{id}", config.app_url, identity.peer_id()),
    ])
}

fn serve(config: &Config) -> Result<(), HostError> {
    data_dir(config)?;
    let _lock = lock(config)?;
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
        let transport = rtc::Transport::new(sockets, extra, config.max_connections);
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
