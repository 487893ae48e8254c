//! The identity file: this browser's identity (secret seed and PeerJS token) as a JSON file the
//! user can download and load into another browser.
//!
//! Format (version 1):
//! `{"format":"starpoll-identity","v":1,"peerId":"<base58>","seed":"<64 hex digits>","token":"<token>"}`
//!
//! Invariants: [`decode`] accepts only files that [`encode`] could have written for some
//! identity: the format tag and version match, the seed is 32 bytes of hex, the token is a valid
//! [`PeerToken`], and the stated `peerId` is exactly the one the seed derives. A file whose peer ID
//! was edited, or whose seed was, is refused rather than silently switching to another identity.
//! The file holds the secret key: whoever has it can act as this identity.

use serde::{Deserialize, Serialize};

use crate::hex;
use crate::identity::{Identity, IdentityError, PeerId, PeerToken};

/// The `format` tag of an identity file.
pub const FORMAT: &str = "starpoll-identity";
/// The version this module writes and reads.
pub const VERSION: u64 = 1;

/// Why a text is not a usable identity file. The messages are shown to the user.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityFileError {
    /// Not JSON, or JSON of the wrong shape.
    #[error("This is not a starpoll identity file (it is not readable JSON: {0}).")]
    NotJson(String),
    /// JSON, but its `format` is not `starpoll-identity`.
    #[error("This is not a starpoll identity file (its format is not \"starpoll-identity\").")]
    WrongFormat,
    /// A version this module cannot read.
    #[error("This identity file has version {0}; this version of starpoll reads version 1.")]
    UnsupportedVersion(String),
    /// The seed is not 64 hex digits.
    #[error("The identity file is damaged: its seed must be 64 hex digits.")]
    BadSeed,
    /// The token is not a valid PeerJS token.
    #[error("The identity file is damaged: its token is invalid.")]
    BadToken(#[source] IdentityError),
    /// The stated peer ID is not a peer ID at all.
    #[error("The identity file is damaged: its peer ID is invalid ({0}).")]
    BadPeerId(#[source] IdentityError),
    /// The stated peer ID is not the one the seed gives.
    #[error(
        "The identity file was altered or damaged: it says peer ID {stated}, but its key \
         belongs to {derived}."
    )]
    Mismatch {
        /// The peer ID written in the file.
        stated: PeerId,
        /// The peer ID the file's seed derives.
        derived: PeerId,
    },
}

/// The file's fields as written.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Wire {
    format: String,
    v: u64,
    peer_id: String,
    seed: String,
    token: String,
}

/// Only the fields that say what a JSON text is, read before the rest.
#[derive(Deserialize)]
struct Header {
    format: Option<serde_json::Value>,
    v: Option<serde_json::Value>,
}

/// The identity file for `identity` (pretty JSON, ending with a newline).
pub fn encode(identity: &Identity) -> String {
    let wire = Wire {
        format: FORMAT.to_owned(),
        v: VERSION,
        peer_id: identity.peer_id().to_string(),
        seed: hex::encode(&identity.seed()),
        token: identity.token().as_str().to_owned(),
    };
    // Serializing a struct of strings and a number cannot fail; fall back to the compact
    // form anyway rather than panic.
    let mut text = serde_json::to_string_pretty(&wire).unwrap_or_default();
    text.push('\n');
    text
}

/// The identity in an identity file, after every check in the module docs.
pub fn decode(text: &str) -> Result<Identity, IdentityFileError> {
    let header: Header =
        serde_json::from_str(text).map_err(|e| IdentityFileError::NotJson(e.to_string()))?;
    if header.format.as_ref().and_then(|f| f.as_str()) != Some(FORMAT) {
        return Err(IdentityFileError::WrongFormat);
    }
    match header.v {
        Some(v) if v.as_u64() == Some(VERSION) => {}
        Some(v) => return Err(IdentityFileError::UnsupportedVersion(v.to_string())),
        None => return Err(IdentityFileError::UnsupportedVersion("(none)".into())),
    }
    let wire: Wire =
        serde_json::from_str(text).map_err(|e| IdentityFileError::NotJson(e.to_string()))?;
    let seed = hex::decode::<32>(&wire.seed).ok_or(IdentityFileError::BadSeed)?;
    let token: PeerToken = wire.token.parse().map_err(IdentityFileError::BadToken)?;
    let stated: PeerId = wire.peer_id.parse().map_err(IdentityFileError::BadPeerId)?;
    let identity = Identity::from_seed(seed, token);
    if *identity.peer_id() != stated {
        return Err(IdentityFileError::Mismatch {
            stated,
            derived: identity.peer_id().clone(),
        });
    }
    Ok(identity)
}

/// The suggested file name: `starpoll-identity-<first 8 characters of the peer ID>.json`.
pub fn file_name(peer_id: &PeerId) -> String {
    let short: String = peer_id.as_str().chars().take(8).collect();
    format!("starpoll-identity-{short}.json")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::identity;
    use proptest::prelude::*;

    /// The identity file of identity `n` as a JSON object, to tamper with.
    fn file_json(n: u8) -> serde_json::Map<String, serde_json::Value> {
        match serde_json::from_str(&encode(&identity(n))).unwrap() {
            serde_json::Value::Object(map) => map,
            other => panic!("not an object: {other}"),
        }
    }

    fn decode_json(
        map: serde_json::Map<String, serde_json::Value>,
    ) -> Result<Identity, IdentityFileError> {
        decode(&serde_json::Value::Object(map).to_string())
    }

    proptest! {
        #[test]
        fn round_trips(seed in any::<[u8; 32]>(), token in any::<[u8; PeerToken::LEN]>()) {
            let original = Identity::from_seed(seed, PeerToken::from_random(token));
            let back = decode(&encode(&original)).unwrap();
            prop_assert_eq!(back.seed(), original.seed());
            prop_assert_eq!(back.token(), original.token());
            prop_assert_eq!(back.peer_id(), original.peer_id());
        }
    }

    #[test]
    fn the_file_has_the_documented_fields() {
        let me = identity(1);
        let map = file_json(1);
        assert_eq!(map["format"], "starpoll-identity");
        assert_eq!(map["v"], 1);
        assert_eq!(map["peerId"], me.peer_id().as_str());
        assert_eq!(map["seed"], hex::encode(&me.seed()));
        assert_eq!(map["token"], me.token().as_str());
        assert_eq!(map.len(), 5);
    }

    #[test]
    fn the_file_name_has_the_peer_id_prefix() {
        let me = identity(1);
        let name = file_name(me.peer_id());
        assert_eq!(
            name,
            format!("starpoll-identity-{}.json", &me.peer_id().as_str()[..8])
        );
    }

    #[test]
    fn a_changed_peer_id_is_refused() {
        let mut map = file_json(1);
        map.insert("peerId".into(), identity(2).peer_id().as_str().into());
        assert_eq!(
            decode_json(map).unwrap_err(),
            IdentityFileError::Mismatch {
                stated: identity(2).peer_id().clone(),
                derived: identity(1).peer_id().clone(),
            }
        );
    }

    #[test]
    fn a_changed_seed_is_refused() {
        let mut map = file_json(1);
        map.insert("seed".into(), hex::encode(&identity(3).seed()).into());
        assert!(matches!(
            decode_json(map),
            Err(IdentityFileError::Mismatch { .. })
        ));
    }

    #[test]
    fn a_peer_id_that_is_not_one_is_refused() {
        let mut map = file_json(1);
        map.insert("peerId".into(), "not-a-peer-id".into());
        assert!(matches!(
            decode_json(map),
            Err(IdentityFileError::BadPeerId(_))
        ));
    }

    #[test]
    fn bad_hex_is_refused() {
        for seed in [
            "",
            "abc",
            &"g".repeat(64),
            &"0".repeat(63),
            &"0".repeat(66),
            &"é".repeat(32),
        ] {
            let mut map = file_json(1);
            map.insert("seed".into(), seed.into());
            assert_eq!(
                decode_json(map).unwrap_err(),
                IdentityFileError::BadSeed,
                "{seed:?}"
            );
        }
        // Upper-case hex is fine.
        let mut map = file_json(1);
        let upper = hex::encode(&identity(1).seed()).to_uppercase();
        map.insert("seed".into(), upper.into());
        assert_eq!(decode_json(map).unwrap().peer_id(), identity(1).peer_id());
    }

    #[test]
    fn a_bad_token_is_refused() {
        let mut map = file_json(1);
        map.insert("token".into(), "NOT VALID".into());
        assert!(matches!(
            decode_json(map),
            Err(IdentityFileError::BadToken(_))
        ));
    }

    #[test]
    fn wrong_format_or_version_is_refused() {
        let mut map = file_json(1);
        map.insert("format".into(), "something-else".into());
        assert_eq!(
            decode_json(map).unwrap_err(),
            IdentityFileError::WrongFormat
        );
        let mut map = file_json(1);
        map.remove("format");
        assert_eq!(
            decode_json(map).unwrap_err(),
            IdentityFileError::WrongFormat
        );
        let mut map = file_json(1);
        map.insert("v".into(), 2.into());
        assert_eq!(
            decode_json(map).unwrap_err(),
            IdentityFileError::UnsupportedVersion("2".into())
        );
        let mut map = file_json(1);
        map.insert("v".into(), "1".into());
        assert!(matches!(
            decode_json(map),
            Err(IdentityFileError::UnsupportedVersion(_))
        ));
        let mut map = file_json(1);
        map.remove("v");
        assert!(matches!(
            decode_json(map),
            Err(IdentityFileError::UnsupportedVersion(_))
        ));
    }

    #[test]
    fn non_json_and_missing_fields_are_refused() {
        assert!(matches!(
            decode("hello"),
            Err(IdentityFileError::NotJson(_))
        ));
        assert!(decode("[1,2]").is_err());
        assert_eq!(decode("{}").unwrap_err(), IdentityFileError::WrongFormat);
        let mut map = file_json(1);
        map.remove("seed");
        assert!(matches!(
            decode_json(map),
            Err(IdentityFileError::NotJson(_))
        ));
    }

    #[test]
    fn messages_say_what_is_wrong() {
        let mut map = file_json(1);
        map.insert("peerId".into(), identity(2).peer_id().as_str().into());
        let message = decode_json(map).unwrap_err().to_string();
        assert!(message.contains("altered"), "{message}");
        assert!(
            message.contains(identity(2).peer_id().as_str()),
            "{message}"
        );
        assert!(IdentityFileError::WrongFormat
            .to_string()
            .contains("not a starpoll identity file"));
    }
}
