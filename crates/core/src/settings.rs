//! The user's network settings: which PeerJS signaling server and which ICE (STUN/TURN) servers
//! this browser uses, the forms that edit them, and the precedence that picks the server a page
//! load uses.
//!
//! Pure parsing and validation: the shell stores [`Settings`] (serde, validated again when read
//! back), shows a [`SettingsForm`]'s [`Problems`] next to the fields they concern, and asks
//! [`choose_server`] and [`ice_servers_for`] what to use.
//!
//! Invariants:
//! - A [`Settings`] value only holds a server that [`ServerForm::parse`] accepts (non-empty host
//!   without scheme, port or path; port 1–65535; path starting and ending with `/`; a URL-safe
//!   key) and ICE servers that [`IceServerForm::parse`] accepts (one or more `stun:`/`turn:`/
//!   `turns:` URLs; TURN entries carry a username and a credential). Deserializing checks the same
//!   rules, so a stored record never smuggles in a value the form would refuse.
//! - `None` means "the default": the server for the page's host, and the default ICE servers for
//!   the chosen signaling server (none on loopback, Google's STUN server elsewhere). A saved list,
//!   even an empty one, is used exactly.
//! - Precedence for the signaling server: a valid `?peerjs=` link parameter, then the saved
//!   server, then the page host's default.

use std::fmt;

use serde::{Deserialize, Serialize};

use peerjs_client::server::{normalize_path, parse_port, valid_host, IceServerError};
pub use peerjs_client::server::{IceServer, ServerConfig, ServerUrlError};

/// Why a setting was refused. The messages are shown next to the field they concern.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SettingsError {
    /// The host field is empty.
    #[error("Enter the server's host name or IP address.")]
    HostEmpty,
    /// The host field holds a scheme, a port or a path.
    #[error("Enter the host name only: no ws://, port or path (they have their own fields).")]
    HostNotBare,
    /// The host has characters a host name cannot have.
    #[error(
        "The host may only use letters, digits, '-' and '.' (or an IPv6 address in [brackets])."
    )]
    HostInvalid,
    /// The port is not a number from 1 to 65535.
    #[error("The port must be a whole number from 1 to 65535.")]
    PortInvalid,
    /// The path does not start with `/`.
    #[error("The path must start with /.")]
    PathNoSlash,
    /// The path has spaces, `?`, `#` or `\`.
    #[error("The path may not contain spaces, '?', '#' or '\\'.")]
    PathInvalid,
    /// The key is empty.
    #[error("Enter the server's key (\"peerjs\" unless the server was set up with another).")]
    KeyEmpty,
    /// The key has characters that would need escaping in the server URL.
    #[error("The key may only use letters, digits, '-', '_', '.' and '~'.")]
    KeyInvalid,
    /// An ICE server entry has no URL.
    #[error("Enter at least one stun:, turn: or turns: URL.")]
    IceNoUrl,
    /// An ICE URL has another scheme.
    #[error("\"{0}\" must start with stun:, turn: or turns:.")]
    IceBadScheme(String),
    /// An ICE URL has no valid host after its scheme.
    #[error("\"{0}\" needs a host after the scheme, like stun:stun.example.org:3478.")]
    IceBadHost(String),
    /// An ICE URL's port is not 1–65535.
    #[error("\"{0}\" has a port that is not a number from 1 to 65535.")]
    IceBadPort(String),
    /// An ICE URL has a query other than a TURN `?transport=udp|tcp`.
    #[error("\"{0}\": only ?transport=udp or ?transport=tcp may follow a TURN address.")]
    IceBadQuery(String),
    /// A TURN entry (or one with a credential) has no username.
    #[error("TURN servers need a username (with the credential).")]
    IceUsernameMissing,
    /// A TURN entry (or one with a username) has no credential.
    #[error("TURN servers need a credential (with the username).")]
    IceCredentialMissing,
    /// The stored settings were written by a newer version.
    #[error("the settings were saved in an unknown format (version {0})")]
    UnsupportedVersion(u32),
}

/// A form field a [`SettingsError`] belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Field {
    /// The signaling server's host.
    Host,
    /// The signaling server's port.
    Port,
    /// The signaling server's path.
    Path,
    /// The signaling server's key.
    Key,
    /// The URLs of ICE server entry `.0` (0-based).
    IceUrls(usize),
    /// The username of ICE server entry `.0`.
    IceUsername(usize),
    /// The credential of ICE server entry `.0`.
    IceCredential(usize),
}

impl fmt::Display for Field {
    /// The field's short name as the UI uses it in ids: `host`, `ice-url-0`, ….
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Host => f.write_str("host"),
            Self::Port => f.write_str("port"),
            Self::Path => f.write_str("path"),
            Self::Key => f.write_str("key"),
            Self::IceUrls(n) => write!(f, "ice-url-{n}"),
            Self::IceUsername(n) => write!(f, "ice-username-{n}"),
            Self::IceCredential(n) => write!(f, "ice-credential-{n}"),
        }
    }
}

/// One refused field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// Where to show it.
    pub field: Field,
    /// What is wrong.
    pub error: SettingsError,
}

/// Every refused field of a form, at most one error per field, in field order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems(Vec<Problem>);

impl Problems {
    /// The error shown next to `field`, if any.
    pub fn get(&self, field: Field) -> Option<&SettingsError> {
        self.0.iter().find(|p| p.field == field).map(|p| &p.error)
    }

    /// Whether the form is valid.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// All problems, in field order.
    pub fn iter(&self) -> impl Iterator<Item = &Problem> {
        self.0.iter()
    }

    fn push(&mut self, field: Field, error: SettingsError) {
        if self.get(field).is_none() {
            self.0.push(Problem { field, error });
        }
    }

    fn extend(&mut self, other: Problems) {
        for p in other.0 {
            self.push(p.field, p.error);
        }
    }

    fn into_result<T>(self, value: impl FnOnce() -> T) -> Result<T, Problems> {
        if self.is_empty() {
            Ok(value())
        } else {
            Err(self)
        }
    }
}

/// The signaling-server fields as typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServerForm {
    /// Host name or address.
    pub host: String,
    /// Port, as typed.
    pub port: String,
    /// Path prefix.
    pub path: String,
    /// API key.
    pub key: String,
    /// `wss://` rather than `ws://`.
    pub secure: bool,
}

impl ServerForm {
    /// The form showing `server`.
    pub fn from_config(server: &ServerConfig) -> Self {
        Self {
            host: server.host.clone(),
            port: server.port.to_string(),
            path: server.path.clone(),
            key: server.key.clone(),
            secure: server.secure,
        }
    }

    /// The server the form describes (surrounding spaces ignored, the path normalised to end
    /// with `/`), or every field's problem.
    pub fn parse(&self) -> Result<ServerConfig, Problems> {
        let mut problems = Problems::default();
        let host = self.host.trim();
        if let Err(e) = check_server_host(host) {
            problems.push(Field::Host, e);
        }
        let port = parse_port(self.port.trim());
        if port.is_none() {
            problems.push(Field::Port, SettingsError::PortInvalid);
        }
        let path = self.path.trim();
        if !path.starts_with('/') {
            problems.push(Field::Path, SettingsError::PathNoSlash);
        } else if path
            .chars()
            .any(|c| c.is_whitespace() || matches!(c, '?' | '#' | '\\'))
        {
            problems.push(Field::Path, SettingsError::PathInvalid);
        }
        let key = self.key.trim();
        if key.is_empty() {
            problems.push(Field::Key, SettingsError::KeyEmpty);
        } else if !key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.~".contains(&b))
        {
            problems.push(Field::Key, SettingsError::KeyInvalid);
        }
        problems.into_result(|| ServerConfig {
            host: host.to_owned(),
            port: port.unwrap_or_default(),
            path: normalize_path(path),
            key: key.to_owned(),
            secure: self.secure,
        })
    }
}

/// Checks a signaling server host: a DNS name or IPv4 address, or an IPv6 address in brackets.
fn check_server_host(host: &str) -> Result<(), SettingsError> {
    if host.is_empty() {
        return Err(SettingsError::HostEmpty);
    }
    if host.contains('/') || (host.contains(':') && !host.starts_with('[')) {
        return Err(SettingsError::HostNotBare);
    }
    if valid_host(host) {
        Ok(())
    } else {
        Err(SettingsError::HostInvalid)
    }
}

/// The first problem's error (for a stored record, where there is no form to show them in).
fn first_error(problems: Problems) -> SettingsError {
    problems
        .0
        .into_iter()
        .next()
        .map_or(SettingsError::IceNoUrl, |p| p.error)
}

/// One ICE server entry's fields as typed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IceServerForm {
    /// One or more URLs, separated by spaces or commas.
    pub urls: String,
    /// TURN username (empty: none).
    pub username: String,
    /// TURN credential (empty: none).
    pub credential: String,
}

impl IceServerForm {
    /// The form showing `server`.
    pub fn from_server(server: &IceServer) -> Self {
        Self {
            urls: server.urls().join(" "),
            username: server.username().unwrap_or_default().to_owned(),
            credential: server.credential().unwrap_or_default().to_owned(),
        }
    }

    /// The entry the form describes, or its problems (reported under entry number `row`).
    ///
    /// A username and a credential go together; TURN URLs need both.
    pub fn parse(&self, row: usize) -> Result<IceServer, Problems> {
        let urls = self
            .urls
            .split(|c: char| c.is_whitespace() || c == ',')
            .filter(|u| !u.is_empty())
            .map(str::to_owned)
            .collect();
        let username = Some(self.username.clone());
        let credential = Some(self.credential.clone());
        IceServer::new(urls, username, credential).map_err(|errors| {
            let mut problems = Problems::default();
            for error in errors {
                let field = match error {
                    IceServerError::UsernameMissing => Field::IceUsername(row),
                    IceServerError::CredentialMissing => Field::IceCredential(row),
                    _ => Field::IceUrls(row),
                };
                problems.push(field, SettingsError::from(error));
            }
            problems
        })
    }
}

impl From<IceServerError> for SettingsError {
    /// The same refusal, in the words the settings page shows.
    fn from(error: IceServerError) -> Self {
        match error {
            IceServerError::BadScheme(url) => Self::IceBadScheme(url),
            IceServerError::BadHost(url) => Self::IceBadHost(url),
            IceServerError::BadPort(url) => Self::IceBadPort(url),
            IceServerError::BadQuery(url) => Self::IceBadQuery(url),
            IceServerError::UsernameMissing => Self::IceUsernameMissing,
            IceServerError::CredentialMissing => Self::IceCredentialMissing,
            // `NoUrl`, and any refusal added to the type later.
            _ => Self::IceNoUrl,
        }
    }
}

/// The ICE servers for connections through `server` when the user saved `saved`: exactly the
/// saved list when there is one, else none on loopback (host candidates suffice there, and a
/// STUN lookup would only slow things down) and Google's STUN server elsewhere.
pub fn ice_servers_for(saved: Option<&[IceServer]>, server: &ServerConfig) -> Vec<IceServer> {
    match saved {
        Some(list) => list.to_vec(),
        None => default_ice_servers(server),
    }
}

/// The ICE servers used when none are saved (see [`ice_servers_for`]).
pub fn default_ice_servers(server: &ServerConfig) -> Vec<IceServer> {
    if is_loopback(&server.host) {
        Vec::new()
    } else {
        vec![IceServer::google_stun()]
    }
}

fn is_loopback(host: &str) -> bool {
    matches!(host, "127.0.0.1" | "localhost" | "::1" | "[::1]")
}

/// This browser's saved network settings (`None` fields follow the defaults).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawSettings", into = "RawSettings")]
pub struct Settings {
    /// The signaling server the user chose; `None`: the default for the page's host.
    pub server: Option<ServerConfig>,
    /// The ICE servers the user chose; `None`: [`default_ice_servers`].
    pub ice_servers: Option<Vec<IceServer>>,
}

impl Settings {
    /// The stored format's version.
    pub const VERSION: u32 = 1;
}

/// [`Settings`] as stored, before the checks.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawSettings {
    v: u32,
    server: Option<ServerConfig>,
    ice_servers: Option<Vec<IceServer>>,
}

impl TryFrom<RawSettings> for Settings {
    type Error = SettingsError;
    fn try_from(raw: RawSettings) -> Result<Self, Self::Error> {
        if raw.v != Settings::VERSION {
            return Err(SettingsError::UnsupportedVersion(raw.v));
        }
        let server = raw
            .server
            .map(|s| ServerForm::from_config(&s).parse().map_err(first_error))
            .transpose()?;
        Ok(Self {
            server,
            ice_servers: raw.ice_servers,
        })
    }
}

impl From<Settings> for RawSettings {
    fn from(settings: Settings) -> Self {
        Self {
            v: Settings::VERSION,
            server: settings.server,
            ice_servers: settings.ice_servers,
        }
    }
}

/// The settings page's form: the server fields, and the ICE entries (`None`: use the defaults).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsForm {
    /// The signaling server.
    pub server: ServerForm,
    /// The ICE server entries, or `None` for the defaults.
    pub ice_servers: Option<Vec<IceServerForm>>,
}

impl SettingsForm {
    /// The form showing `saved`, with `default_server` in the server fields when none is saved.
    pub fn new(saved: &Settings, default_server: &ServerConfig) -> Self {
        Self {
            server: ServerForm::from_config(saved.server.as_ref().unwrap_or(default_server)),
            ice_servers: saved
                .ice_servers
                .as_ref()
                .map(|list| list.iter().map(IceServerForm::from_server).collect()),
        }
    }

    /// The settings to save, or every problem. A server equal to `default_server` is saved as
    /// `None` (follow the default), which is the same thing for this origin.
    pub fn parse(&self, default_server: &ServerConfig) -> Result<Settings, Problems> {
        let mut problems = Problems::default();
        let server = self.server.parse().map_err(|p| problems.extend(p)).ok();
        let mut ice = Vec::new();
        for (row, form) in self.ice_servers.iter().flatten().enumerate() {
            match form.parse(row) {
                Ok(server) => ice.push(server),
                Err(p) => problems.extend(p),
            }
        }
        problems.into_result(|| Settings {
            server: server.filter(|s| s != default_server),
            ice_servers: self.ice_servers.as_ref().map(|_| ice),
        })
    }
}

/// Where the signaling server of this page load came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerSource {
    /// The page's `?peerjs=` parameter.
    Link,
    /// The saved settings.
    Saved,
    /// The default for the page's host.
    Default,
}

/// The signaling server a page load uses and why.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerChoice {
    /// The server to use.
    pub server: ServerConfig,
    /// Where it came from.
    pub source: ServerSource,
    /// Set when `?peerjs=` was given but could not be used.
    pub rejected_override: Option<ServerUrlError>,
}

/// Picks the signaling server: a valid `?peerjs=` `link` parameter, else the `saved` server,
/// else the default for `page_host` (the page's `location.hostname`).
pub fn choose_server(
    page_host: &str,
    link: Option<&str>,
    saved: Option<&ServerConfig>,
) -> ServerChoice {
    let parsed = link.map(ServerConfig::from_url);
    let rejected_override = parsed.clone().and_then(Result::err);
    let (server, source) = match (parsed, saved) {
        (Some(Ok(server)), _) => (server, ServerSource::Link),
        (_, Some(saved)) => (saved.clone(), ServerSource::Saved),
        _ => (
            ServerConfig::default_for_page_host(page_host),
            ServerSource::Default,
        ),
    };
    ServerChoice {
        server,
        source,
        rejected_override,
    }
}

#[cfg(test)]
mod tests;
