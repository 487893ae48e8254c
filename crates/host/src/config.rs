//! The command line and environment: what `starpoll-host --help` documents, parsed into a
//! [`Config`] (every value checked here, before anything starts).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;

use clap::{Parser, Subcommand};
use peerjs_client::server::IceServer;
use starpoll_core::{ServerConfig, ServerUrlError};

/// starpoll-host: keeps polls online as an always-on hub (the app's hub, as a native process).
///
/// It registers on a PeerJS server under its own key-derived peer ID, answers participants'
/// WebRTC data connections, and stores its polls and every command record in SQLite. To keep a
/// poll online with it, its owner pastes the link `starpoll-host id` prints into "Keep this
/// poll online" on the poll's page; the host then serves it on the owner's behalf until the
/// owner takes it back.
/// Logs are one `key=value` line per event on standard error.
#[derive(Debug, Parser)]
#[command(name = "starpoll-host", version)]
pub struct Cli {
    /// What to do (default: run the hub).
    #[command(subcommand)]
    pub command: Option<Action>,
    /// The PeerJS signaling server: ws://HOST:PORT/PATH or wss://…; `?key=KEY` sets the API key
    /// (default `peerjs`).
    #[arg(
        long,
        env = "STARPOLL_PEERJS",
        default_value = "ws://127.0.0.1:9000/",
        global = true
    )]
    pub peerjs: String,
    /// The data directory: identity.json (the host's secret key) and host.sqlite3. Created if
    /// missing; relative paths are relative to where the host was started.
    #[arg(
        long,
        env = "STARPOLL_DATA",
        default_value = "starpoll-host-data",
        global = true
    )]
    pub data: PathBuf,
    /// ICE servers, comma-separated `stun:HOST:PORT` URLs: each is asked for the host's public
    /// address, offered as a server-reflexive candidate. Empty: host candidates only.
    #[arg(long, env = "STARPOLL_ICE", default_value = "", global = true)]
    pub ice: String,
    /// Local addresses to receive WebRTC traffic on, comma-separated `IP` or `IP:PORT` (port 0 or
    /// none: any free port). Default: every address of every interface, any free port.
    #[arg(long, env = "STARPOLL_LISTEN", default_value = "", global = true)]
    pub listen: String,
    /// The app's address, for the link `starpoll-host id` prints.
    #[arg(
        long,
        env = "STARPOLL_APP_URL",
        default_value = "http://127.0.0.1:8080",
        global = true
    )]
    pub app_url: String,
    /// Most WebRTC connections at once; further offers are refused.
    #[arg(
        long,
        env = "STARPOLL_MAX_CONNECTIONS",
        default_value_t = 2000,
        global = true
    )]
    pub max_connections: usize,
    /// Seconds between health lines (polls, connections, commands/s).
    #[arg(
        long,
        env = "STARPOLL_HEALTH_SECS",
        default_value_t = 60,
        global = true
    )]
    pub health_secs: u64,
}

/// The subcommands.
#[derive(Debug, Clone, PartialEq, Eq, Subcommand)]
pub enum Action {
    /// Run the hub until SIGTERM or Ctrl-C (the default).
    Run,
    /// Print the host's peer ID (line 1) and the link an owner pastes (line 2), creating the
    /// identity if there is none yet.
    Id,
    /// Create a poll owned by the host itself and print its ID (line 1) and invite link (line
    /// 2). Run it while the host is stopped: the host loads its polls when it starts.
    NewPoll(NewPoll),
}

/// The poll `new-poll` creates.
#[derive(Debug, Clone, PartialEq, Eq, clap::Args)]
pub struct NewPoll {
    /// The title.
    #[arg(long)]
    pub title: String,
    /// An option (give at least two).
    #[arg(long = "option", required = true)]
    pub options: Vec<String>,
    /// Allow several choices per ballot.
    #[arg(long)]
    pub multi: bool,
    /// List the poll in the host's poll list (what anyone with its peer ID sees).
    #[arg(long)]
    pub listed: bool,
    /// The name participants see for the host.
    #[arg(long, default_value = "starpoll-host")]
    pub owner_name: String,
}

/// Why the configuration was refused.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The PeerJS URL does not parse.
    #[error("--peerjs {url:?}: {source}")]
    PeerJs {
        /// What was given.
        url: String,
        /// Why.
        #[source]
        source: ServerUrlError,
    },
    /// An ICE server URL this host cannot use.
    #[error("--ice {0:?}: only stun:HOST:PORT servers are supported")]
    Ice(String),
    /// A listen address does not parse.
    #[error("--listen {0:?}: expected IP or IP:PORT")]
    Listen(String),
    /// Health interval of zero.
    #[error("--health-secs must be at least 1")]
    Health,
}

/// The checked configuration.
#[derive(Debug, Clone)]
pub struct Config {
    /// The PeerJS server.
    pub server: ServerConfig,
    /// The data directory.
    pub data: PathBuf,
    /// STUN servers (each a `stun:` [`IceServer`]), asked for the host's public address.
    pub stun: Vec<IceServer>,
    /// Explicit listen addresses (empty: every interface).
    pub listen: Vec<SocketAddr>,
    /// The app's base URL, without a trailing slash.
    pub app_url: String,
    /// Health line interval, ms.
    pub health_ms: u64,
    /// Most connections at once.
    pub max_connections: usize,
}

impl Cli {
    /// Checks every value.
    pub fn config(&self) -> Result<Config, ConfigError> {
        let server =
            ServerConfig::from_url(&self.peerjs).map_err(|source| ConfigError::PeerJs {
                url: self.peerjs.clone(),
                source,
            })?;
        let stun = parse_ice(&self.ice)?;
        let listen = parse_listen(&self.listen)?;
        if self.health_secs == 0 {
            return Err(ConfigError::Health);
        }
        Ok(Config {
            server,
            data: self.data.clone(),
            stun,
            listen,
            app_url: self.app_url.trim_end_matches('/').to_owned(),
            health_ms: self.health_secs.saturating_mul(1000),
            max_connections: self.max_connections,
        })
    }
}

fn items(list: &str) -> impl Iterator<Item = &str> {
    list.split(',').map(str::trim).filter(|s| !s.is_empty())
}

/// `stun:HOST[:PORT]` (port defaults to 3478), comma-separated: each an [`IceServer`] with one
/// STUN URL (TURN needs a relay this host does not implement).
pub fn parse_ice(list: &str) -> Result<Vec<IceServer>, ConfigError> {
    items(list)
        .map(|url| {
            IceServer::new(vec![url.to_owned()], None, None)
                .ok()
                .filter(|server| server.stun_addresses().count() == 1)
                .ok_or_else(|| ConfigError::Ice(url.to_owned()))
        })
        .collect()
}

/// `IP` or `IP:PORT`, comma-separated.
pub fn parse_listen(list: &str) -> Result<Vec<SocketAddr>, ConfigError> {
    items(list)
        .map(|item| {
            item.parse::<SocketAddr>()
                .or_else(|_| item.parse::<IpAddr>().map(|ip| SocketAddr::new(ip, 0)))
                .map_err(|_| ConfigError::Listen(item.to_owned()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_local_server_and_a_folder_here() {
        let cli = Cli::try_parse_from(["starpoll-host"]).expect("parses");
        let config = cli.config().expect("valid");
        assert_eq!(config.server, ServerConfig::local());
        assert_eq!(config.data, PathBuf::from("starpoll-host-data"));
        assert!(config.stun.is_empty() && config.listen.is_empty());
        assert_eq!(cli.command, None);
    }

    #[test]
    fn flags_after_the_subcommand_are_read() {
        let cli = Cli::try_parse_from([
            "starpoll-host",
            "id",
            "--data",
            "/tmp/x",
            "--peerjs",
            "wss://example.org/app/?key=k",
        ])
        .expect("parses");
        assert_eq!(cli.command, Some(Action::Id));
        let config = cli.config().expect("valid");
        assert_eq!(config.data, PathBuf::from("/tmp/x"));
        assert_eq!(config.server.key, "k");
        assert!(config.server.secure);
    }

    #[test]
    fn ice_accepts_stun_and_refuses_the_rest() {
        let servers = parse_ice("stun:stun.example.org:19302, stun:10.0.0.1").expect("valid");
        let addresses: Vec<String> = servers.iter().flat_map(IceServer::stun_addresses).collect();
        assert_eq!(addresses, ["stun.example.org:19302", "10.0.0.1:3478"]);
        assert!(parse_ice("turn:relay.example.org").is_err());
        assert!(parse_ice("turn:relay.example.org?transport=udp").is_err());
        assert!(parse_ice("stun:").is_err());
        assert!(parse_ice("stun:h?x=1").is_err());
        assert!(parse_ice("stun:h/p").is_err());
        assert!(parse_ice("http://h").is_err());
    }

    #[test]
    fn listen_takes_ips_with_or_without_port() {
        let addrs = parse_listen("127.0.0.1, 0.0.0.0:5000,[::1]:7").expect("valid");
        assert_eq!(addrs[0], "127.0.0.1:0".parse().expect("addr"));
        assert_eq!(addrs[1].port(), 5000);
        assert_eq!(addrs[2], "[::1]:7".parse().expect("addr"));
        assert!(parse_listen("localhost").is_err());
    }

    #[test]
    fn new_poll_takes_its_options() {
        let cli = Cli::try_parse_from([
            "starpoll-host",
            "new-poll",
            "--title",
            "Lunch?",
            "--option",
            "A",
            "--option",
            "B",
            "--listed",
        ])
        .expect("parses");
        let Some(Action::NewPoll(poll)) = cli.command else {
            panic!("not new-poll");
        };
        assert_eq!(poll.options, vec!["A".to_owned(), "B".to_owned()]);
        assert!(poll.listed && !poll.multi);
    }

    #[test]
    fn a_bad_server_url_is_refused() {
        let cli = Cli::try_parse_from(["starpoll-host", "--peerjs", "http://x"]).expect("parses");
        assert!(matches!(cli.config(), Err(ConfigError::PeerJs { .. })));
    }
}
