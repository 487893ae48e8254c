//! Where the PeerJS signaling server is: parsing the `?peerjs=ws://HOST:PORT/PATH` override and
//! choosing the default from the page's own host.
//!
//! Invariants: a [`ServerConfig`]'s `path` always starts and ends with `/` (PeerJS appends
//! `peerjs?key=…` to it), `host` is non-empty and has no scheme, and `port` is non-zero.

use serde::{Deserialize, Serialize};

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
}

/// Makes a path start and end with `/`, as PeerJS does.
pub(crate) fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    if trimmed.is_empty() {
        "/".to_owned()
    } else {
        format!("/{trimmed}/")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_page_hosts_use_the_local_server() {
        assert_eq!(
            ServerConfig::default_for_page_host("127.0.0.1"),
            ServerConfig::local()
        );
        assert_eq!(
            ServerConfig::default_for_page_host("localhost"),
            ServerConfig::local()
        );
        assert_eq!(
            ServerConfig::default_for_page_host("polls.example.org"),
            ServerConfig::public_cloud()
        );
    }

    #[test]
    fn parses_urls() {
        let c = ServerConfig::from_url("ws://127.0.0.1:9123/myapp").unwrap();
        assert_eq!(
            c,
            ServerConfig {
                host: "127.0.0.1".into(),
                port: 9123,
                path: "/myapp/".into(),
                key: "peerjs".into(),
                secure: false
            }
        );
        let c = ServerConfig::from_url("wss://peer.example.org?key=abc").unwrap();
        assert_eq!(
            (c.port, c.path.as_str(), c.key.as_str(), c.secure),
            (443, "/", "abc", true)
        );
        assert_eq!(
            ServerConfig::from_url("ws://h:1/").unwrap().to_url(),
            "ws://h:1/"
        );
        assert_eq!(ServerConfig::local().to_url(), "ws://127.0.0.1:9000/");
    }

    #[test]
    fn refuses_bad_urls() {
        assert_eq!(
            ServerConfig::from_url("http://x:1/"),
            Err(ServerUrlError::BadScheme)
        );
        assert_eq!(
            ServerConfig::from_url("ws://:1/"),
            Err(ServerUrlError::BadHost)
        );
        assert_eq!(
            ServerConfig::from_url("ws://a b:1/"),
            Err(ServerUrlError::BadHost)
        );
        assert_eq!(
            ServerConfig::from_url("ws://x:0/"),
            Err(ServerUrlError::BadPort)
        );
        assert_eq!(
            ServerConfig::from_url("ws://x:99999/"),
            Err(ServerUrlError::BadPort)
        );
        assert_eq!(
            ServerConfig::from_url("ws://x:y/"),
            Err(ServerUrlError::BadPort)
        );
    }

    #[test]
    fn round_trips_through_url() {
        for url in ["ws://127.0.0.1:9000/", "wss://a.b:443/p/q/?key=k"] {
            let c = ServerConfig::from_url(url).unwrap();
            assert_eq!(ServerConfig::from_url(&c.to_url()).unwrap(), c);
        }
    }
}
