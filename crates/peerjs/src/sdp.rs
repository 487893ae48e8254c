//! Reading a connection's DTLS certificate fingerprint out of an SDP description.
//!
//! WebRTC authenticates the DTLS handshake of a data connection against the certificate
//! fingerprint each side put in its SDP (`a=fingerprint:<hash> <hex>`, RFC 8122). An
//! application that authenticates the two SDP fingerprints of a connection by other means (a
//! signature, for starpoll's channel binding) knows who is at the other end of the channel.
//!
//! [`dtls_fingerprint`] returns the description's fingerprint in one normal form — the hash
//! name in lowercase, one space, the bytes as uppercase hex pairs joined by `:` — so the two ends
//! of a connection can compare what they read byte for byte. Pure; no input panics.

/// The DTLS fingerprint of `sdp` in normal form (`sha-256 AB:CD:…`), or `None` when the
/// description has none, has several different ones (a session-level and media-level line that
/// disagree, or several certificates), or one that is not well formed.
pub fn dtls_fingerprint(sdp: &str) -> Option<String> {
    let mut found: Option<String> = None;
    for line in sdp.lines() {
        let Some(value) = line.trim_end_matches('\r').strip_prefix("a=fingerprint:") else {
            continue;
        };
        let normal = normalize(value)?;
        match &found {
            Some(previous) if *previous != normal => return None,
            _ => found = Some(normal),
        }
    }
    found
}

fn normalize(value: &str) -> Option<String> {
    let mut parts = value.split_ascii_whitespace();
    let hash = parts.next()?.to_ascii_lowercase();
    let hex = parts.next()?;
    if parts.next().is_some()
        || hash.is_empty()
        || !hash.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
    {
        return None;
    }
    let mut bytes = Vec::new();
    for pair in hex.split(':') {
        if pair.len() != 2 || !pair.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        bytes.push(pair.to_ascii_uppercase());
    }
    Some(format!("{hash} {}", bytes.join(":")))
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDP: &str = "v=0\r\no=- 1 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n\
        a=fingerprint:SHA-256 ab:cd:EF:01\r\nm=application 9 UDP/DTLS/SCTP webrtc-datachannel\r\n\
        a=fingerprint:sha-256 AB:CD:ef:01\r\na=setup:actpass\r\n";

    #[test]
    fn reads_and_normalizes_the_fingerprint() {
        assert_eq!(
            dtls_fingerprint(SDP).as_deref(),
            Some("sha-256 AB:CD:EF:01")
        );
    }

    #[test]
    fn refuses_missing_conflicting_or_malformed_fingerprints() {
        assert_eq!(dtls_fingerprint("v=0\r\ns=-\r\n"), None);
        assert_eq!(
            dtls_fingerprint("a=fingerprint:sha-256 AB:CD\r\na=fingerprint:sha-256 AB:CE\r\n"),
            None
        );
        assert_eq!(dtls_fingerprint("a=fingerprint:sha-256 ABC:D\r\n"), None);
        assert_eq!(dtls_fingerprint("a=fingerprint:sha-256\r\n"), None);
        assert_eq!(
            dtls_fingerprint("a=fingerprint:sha-256 AB:CD extra\r\n"),
            None
        );
        assert_eq!(dtls_fingerprint("a=fingerprint:sha-256 AB:ZZ\r\n"), None);
    }
}
