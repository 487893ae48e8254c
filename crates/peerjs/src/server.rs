//! Where a peer's servers are: the PeerJS signaling server ([`ServerConfig`]) and the STUN/TURN
//! servers its connections use ([`IceServer`]) — the one definition of each for the browser
//! transport, the app's settings, the native host and the load client.
//!
//! Pure data and checks: parsing the `ws://HOST:PORT/PATH?key=KEY` form, the defaults, the
//! signaling socket URL, and the rules an ICE server must meet. Conversions to foreign types
//! (web-sys `RtcIceServer`, a native STUN client's address) happen where those types are used.
//!
//! Invariants: a [`ServerConfig`] built by [`ServerConfig::new`] or [`ServerConfig::from_url`]
//! has a `path` that starts and ends with `/` (PeerJS appends `peerjs?key=…` to it), a `host`
//! that is non-empty and has no scheme, and a non-zero `port`. An [`IceServer`] exists only if
//! [`IceServer::new`] accepted it (deserializing checks the same rules): one or more
//! `stun:`/`turn:`/`turns:` URLs (RFC 7064, 7065), and a username with a credential whenever it
//! has a TURN URL or either of the two.

use serde::{Deserialize, Serialize};

use crate::signal::PeerName;

/// The PeerJS signaling server a peer registers with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ServerConfig {
    /// Host name or IP address, without scheme or port.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// URL path prefix; starts and ends with `/`.
    pub path: String,
    /// The server's API key (PeerJS default `peerjs`).
    pub key: String,
    /// `wss://` when true, `ws://` otherwise.
    pub secure: bool,
}

/// Why a server URL was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServerUrlError {
    /// Only `ws://` and `wss://` URLs name a PeerJS server.
    #[error("signaling server URL must start with ws:// or wss://")]
    BadScheme,
    /// The host part is empty or contains characters a host cannot have.
    #[error("signaling server URL has no valid host")]
    BadHost,
    /// The port is not a number in 1..=65535.
    #[error("signaling server port must be a number from 1 to 65535")]
    BadPort,
}

impl ServerConfig {
    /// The default PeerJS key.
    pub const DEFAULT_KEY: &'static str = "peerjs";

    /// The local development server that the README's run and test commands start.
    pub fn local() -> Self {
        Self {
            host: "127.0.0.1".into(),
            port: 9000,
            path: "/".into(),
            key: Self::DEFAULT_KEY.into(),
            secure: false,
        }
    }

    /// PeerJS's public cloud server, used when the app is served from anywhere else.
    pub fn public_cloud() -> Self {
        Self {
            host: "0.peerjs.com".into(),
            port: 443,
            path: "/".into(),
            key: Self::DEFAULT_KEY.into(),
            secure: true,
        }
    }

    /// The default for a page served from `page_host` (the page's `location.hostname`).
    pub fn default_for_page_host(page_host: &str) -> Self {
        match page_host {
            "localhost" | "127.0.0.1" | "[::1]" | "::1" => Self::local(),
            _ => Self::public_cloud(),
        }
    }

    /// Parses `ws://HOST:PORT/PATH` or `wss://…` (port defaults to 80/443, path to `/`).
    ///
    /// A `?key=…` query sets the API key; other query parameters are ignored.
    pub fn from_url(url: &str) -> Result<Self, ServerUrlError> {
        let (secure, rest) = if let Some(rest) = url.strip_prefix("wss://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("ws://") {
            (false, rest)
        } else {
            return Err(ServerUrlError::BadScheme);
        };
        let (rest, query) = rest.split_once('?').unwrap_or((rest, ""));
        let (authority, path) = match rest.find('/') {
            Some(i) => rest.split_at(i),
            None => (rest, "/"),
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !host.ends_with(']') || authority.starts_with('[') => {
                let port: u16 = port.parse().map_err(|_| ServerUrlError::BadPort)?;
                (host, port)
            }
            _ => (authority, if secure { 443 } else { 80 }),
        };
        if port == 0 {
            return Err(ServerUrlError::BadPort);
        }
        let host_ok = !host.is_empty()
            && host
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-.[]:".contains(&b));
        if !host_ok {
            return Err(ServerUrlError::BadHost);
        }
        let key = query
            .split('&')
            .find_map(|pair| pair.strip_prefix("key="))
            .filter(|k| !k.is_empty())
            .unwrap_or(Self::DEFAULT_KEY);
        Ok(Self {
            host: host.to_owned(),
            port,
            path: normalize_path(path),
            key: key.to_owned(),
            secure,
        })
    }

    /// The URL in the form [`ServerConfig::from_url`] accepts.
    pub fn to_url(&self) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        let mut url = format!("{scheme}://{}:{}{}", self.host, self.port, self.path);
        if self.key != Self::DEFAULT_KEY {
            url.push_str("?key=");
            url.push_str(&self.key);
        }
        url
    }

    /// A server address; `path` is normalised to start and end with `/` as PeerJS does.
    pub fn new(
        host: impl Into<String>,
        port: u16,
        path: &str,
        key: impl Into<String>,
        secure: bool,
    ) -> Self {
        Self {
            host: host.into(),
            port,
            path: normalize_path(path),
            key: key.into(),
            secure,
        }
    }

    /// The signaling WebSocket URL:
    /// `ws[s]://HOST:PORT{PATH}peerjs?key=KEY&id=ID&token=TOKEN&version=VERSION`.
    ///
    /// Query values are percent-encoded except for `A-Z a-z 0-9 - . _ ~`, so IDs and tokens in
    /// PeerJS's alphabet appear verbatim.
    pub fn socket_url(&self, id: &PeerName, token: &str, version: &str) -> String {
        let scheme = if self.secure { "wss" } else { "ws" };
        let mut url = format!(
            "{scheme}://{}:{}{}peerjs?key=",
            self.host, self.port, self.path
        );
        push_query_value(&mut url, &self.key);
        url.push_str("&id=");
        push_query_value(&mut url, id.as_str());
        url.push_str("&token=");
        push_query_value(&mut url, token);
        url.push_str("&version=");
        push_query_value(&mut url, version);
        url
    }
}

/// Makes a path start and end with `/`, as PeerJS does.
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        format!("/{trimmed}/")
    }
}

fn push_query_value(url: &mut String, value: &str) {
    const HEX: &[u8; 16] = b"0123456789ABCDEF";
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            url.push(char::from(b));
        } else {
            url.push('%');
            url.push(char::from(HEX[usize::from(b >> 4)]));
            url.push(char::from(HEX[usize::from(b & 0xf)]));
        }
    }
}

/// A DNS name / IPv4 address (`[A-Za-z0-9.-]`, not starting or ending with `.`/`-`) or a
/// bracketed IPv6 address.
pub fn valid_host(host: &str) -> bool {
    if let Some(inner) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return inner.contains(':')
            && inner
                .bytes()
                .all(|b| b.is_ascii_hexdigit() || b == b':' || b == b'.');
    }
    !host.is_empty()
        && host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'.')
        && !host.starts_with(['.', '-'])
        && !host.ends_with(['.', '-'])
}

/// A port number 1–65535 written with digits only.
pub fn parse_port(text: &str) -> Option<u16> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse::<u16>().ok().filter(|p| *p != 0)
}

/// The port a `stun:` URL without one means (RFC 7064).
pub const DEFAULT_STUN_PORT: u16 = 3478;

/// Why an ICE server was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IceServerError {
    /// No URL at all.
    #[error("an ICE server needs at least one URL")]
    NoUrl,
    /// A URL whose scheme is not `stun:`, `turn:` or `turns:`.
    #[error("{0:?}: not a stun:, turn: or turns: URL")]
    BadScheme(String),
    /// A URL without a valid host after its scheme.
    #[error("{0:?}: no valid host")]
    BadHost(String),
    /// A URL whose port is not 1–65535.
    #[error("{0:?}: the port is not 1-65535")]
    BadPort(String),
    /// A URL with a query other than a TURN `?transport=udp|tcp`.
    #[error("{0:?}: only ?transport=udp|tcp may follow a TURN address")]
    BadQuery(String),
    /// A TURN entry (or one with a credential) without a username.
    #[error("a TURN server needs a username")]
    UsernameMissing,
    /// A TURN entry (or one with a username) without a credential.
    #[error("a TURN server needs a credential")]
    CredentialMissing,
}

/// A STUN or TURN server, as in `RTCIceServer`; see the module's invariants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "RawIceServer", into = "RawIceServer")]
pub struct IceServer {
    urls: Vec<String>,
    username: Option<String>,
    credential: Option<String>,
}

impl IceServer {
    /// The server with `urls`, or every problem, URLs first, in order. An empty or blank
    /// `username`, or an empty `credential`, counts as none.
    pub fn new(
        urls: Vec<String>,
        username: Option<String>,
        credential: Option<String>,
    ) -> Result<Self, Vec<IceServerError>> {
        let mut problems = Vec::new();
        if urls.is_empty() {
            problems.push(IceServerError::NoUrl);
        }
        let mut turn = false;
        for url in &urls {
            match check_ice_url(url) {
                Ok(is_turn) => turn |= is_turn,
                Err(e) => problems.push(e),
            }
        }
        let username = username.filter(|u| !u.trim().is_empty());
        let credential = credential.filter(|c| !c.is_empty());
        if (turn || credential.is_some()) && username.is_none() {
            problems.push(IceServerError::UsernameMissing);
        }
        if (turn || username.is_some()) && credential.is_none() {
            problems.push(IceServerError::CredentialMissing);
        }
        if problems.is_empty() {
            Ok(Self {
                urls,
                username,
                credential,
            })
        } else {
            Err(problems)
        }
    }

    /// Google's public STUN server (the usual default away from loopback).
    pub fn google_stun() -> Self {
        Self {
            urls: vec!["stun:stun.l.google.com:19302".into()],
            username: None,
            credential: None,
        }
    }

    /// Its `stun:`/`turn:`/`turns:` URLs (at least one).
    pub fn urls(&self) -> &[String] {
        &self.urls
    }

    /// The TURN username, if any.
    pub fn username(&self) -> Option<&str> {
        self.username.as_deref()
    }

    /// The TURN credential, if any.
    pub fn credential(&self) -> Option<&str> {
        self.credential.as_deref()
    }

    /// The `HOST:PORT` of each `stun:` URL (port [`DEFAULT_STUN_PORT`] when none is given), for
    /// a STUN client that asks for this side's public address.
    pub fn stun_addresses(&self) -> impl Iterator<Item = String> + '_ {
        self.urls.iter().filter_map(|url| {
            let rest = url
                .get(..5)?
                .eq_ignore_ascii_case("stun:")
                .then(|| &url[5..])?;
            let has_port = rest
                .rfind(':')
                .is_some_and(|i| !rest.starts_with('[') || rest[..i].ends_with(']'));
            Some(if has_port {
                rest.to_owned()
            } else {
                format!("{rest}:{DEFAULT_STUN_PORT}")
            })
        })
    }
}

/// An [`IceServer`] as stored, before the checks.
#[derive(Serialize, Deserialize)]
struct RawIceServer {
    urls: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    credential: Option<String>,
}

impl TryFrom<RawIceServer> for IceServer {
    type Error = IceServerError;
    fn try_from(raw: RawIceServer) -> Result<Self, Self::Error> {
        IceServer::new(raw.urls, raw.username, raw.credential)
            .map_err(|problems| problems.into_iter().next().unwrap_or(IceServerError::NoUrl))
    }
}

impl From<IceServer> for RawIceServer {
    fn from(server: IceServer) -> Self {
        Self {
            urls: server.urls,
            username: server.username,
            credential: server.credential,
        }
    }
}

/// Checks one ICE URL (`stun:host[:port]`, `turn[s]:host[:port][?transport=udp|tcp]`, RFC 7064
/// and 7065); `Ok(true)` for a TURN URL.
fn check_ice_url(url: &str) -> Result<bool, IceServerError> {
    let lower = url.to_ascii_lowercase();
    let (turn, rest) = if lower.starts_with("stun:") {
        (false, url.get(5..).unwrap_or_default())
    } else if lower.starts_with("turns:") {
        (true, url.get(6..).unwrap_or_default())
    } else if lower.starts_with("turn:") {
        (true, url.get(5..).unwrap_or_default())
    } else {
        return Err(IceServerError::BadScheme(url.to_owned()));
    };
    let (authority, query) = match rest.split_once('?') {
        Some((authority, query)) => (authority, Some(query)),
        None => (rest, None),
    };
    if let Some(query) = query {
        let transport = query.to_ascii_lowercase();
        if !turn || !matches!(transport.as_str(), "transport=udp" | "transport=tcp") {
            return Err(IceServerError::BadQuery(url.to_owned()));
        }
    }
    // `host`, `host:port`, `[v6]` or `[v6]:port`.
    let (host, port) = match authority.rfind(':') {
        Some(i) if !authority.starts_with('[') || authority[..i].ends_with(']') => {
            (&authority[..i], Some(&authority[i + 1..]))
        }
        _ => (authority, None),
    };
    if !valid_host(host) {
        return Err(IceServerError::BadHost(url.to_owned()));
    }
    if port.is_some_and(|p| parse_port(p).is_none()) {
        return Err(IceServerError::BadPort(url.to_owned()));
    }
    Ok(turn)
}

#[cfg(test)]
mod tests;
