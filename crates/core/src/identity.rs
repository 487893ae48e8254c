//! Identities: an ed25519 key pair per browser, and the PeerJS peer ID derived from its public key.
//!
//! Invariants:
//! - A [`PeerId`] is the base58 (Bitcoin alphabet) encoding of a 32-byte ed25519 public key that is
//!   a valid curve point. The encoding is canonical: parsing accepts exactly the strings that
//!   [`PeerId::from_public_key`] produces, so two different strings never name the same key.
//! - Base58 only uses `[1-9A-HJ-NP-Za-km-z]`, so every `PeerId` matches PeerJS's ID rule
//!   `^[A-Za-z0-9]+(?:[ _-][A-Za-z0-9]+)*$`.
//! - Anyone holding a `PeerId` can verify that peer's signatures ([`PeerId::verify`]); only the
//!   holder of the [`Identity`] can make them.
//! - This module never generates randomness: callers pass the 32 seed bytes (from the browser's
//!   CSPRNG in the app, from a fixed or proptest source in tests).

use std::cmp::Ordering;
use std::fmt;
use std::hash::{Hash, Hasher};
use std::str::FromStr;
use std::sync::Arc;

use ed25519_dalek::{Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Why an identity value could not be built or checked.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum IdentityError {
    /// The text is not base58.
    #[error("peer ID is not base58: {0}")]
    NotBase58(#[source] bs58::decode::Error),
    /// The text decodes to the wrong number of bytes for an ed25519 public key.
    #[error("peer ID must encode 32 bytes, found {0}")]
    WrongLength(usize),
    /// The text is base58 but not in the canonical form this module produces.
    #[error("peer ID is not in canonical form")]
    NotCanonical,
    /// The 32 bytes are not a valid ed25519 public key.
    #[error("peer ID is not a valid ed25519 public key")]
    InvalidKey,
    /// A signature was not 64 bytes of hex.
    #[error("signature must be 128 hex digits")]
    MalformedSignature,
    /// The signature does not verify against the key and message.
    #[error("signature does not verify")]
    BadSignature,
    /// A session token is empty, too long or uses characters outside `[a-z0-9]`.
    #[error("PeerJS token must be 1..=64 characters of [a-z0-9]")]
    InvalidToken,
}

/// A peer's network name on the PeerJS server, which is also its ed25519 public key.
///
/// Construct with [`PeerId::from_public_key`] or parse with [`str::parse`]; both guarantee the
/// invariants in the module docs.
///
/// The key is kept decompressed (the curve point that parsing had to compute anyway), shared
/// between clones, so [`PeerId::verify`] does not decompress it again for every signature.
/// Equality, hashing and order look at the text only: the encoding is canonical, so the text
/// determines the key.
#[derive(Clone, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PeerId {
    text: String,
    key: Arc<VerifyingKey>,
}

impl PeerId {
    /// The peer ID for a public key (assumed valid: it came from a [`VerifyingKey`]).
    fn from_verifying_key(key: VerifyingKey) -> Self {
        Self {
            text: bs58::encode(key.as_bytes()).into_string(),
            key: Arc::new(key),
        }
    }

    /// The peer ID for a raw public key, if the bytes are a valid ed25519 point.
    pub fn from_public_key(bytes: [u8; 32]) -> Result<Self, IdentityError> {
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| IdentityError::InvalidKey)?;
        Ok(Self::from_verifying_key(key))
    }

    /// The public key this ID names.
    pub fn public_key(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The ID as it is registered on the PeerJS server.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// Checks that `signature` was made over `message` by the holder of this ID's private key.
    ///
    /// Uses strict verification (rejects small-order keys and non-canonical signatures), so a
    /// message has exactly one valid signature encoding per key.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), IdentityError> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.key
            .verify_strict(message, &sig)
            .map_err(|_| IdentityError::BadSignature)
    }
}

impl PartialEq for PeerId {
    fn eq(&self, other: &Self) -> bool {
        self.text == other.text
    }
}

impl Eq for PeerId {}

impl Hash for PeerId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.text.hash(state);
    }
}

impl PartialOrd for PeerId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PeerId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.text.cmp(&other.text)
    }
}

impl FromStr for PeerId {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let bytes = bs58::decode(text)
            .into_vec()
            .map_err(IdentityError::NotBase58)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| IdentityError::WrongLength(bytes.len()))?;
        let id = Self::from_public_key(key)?;
        if id.text != text {
            return Err(IdentityError::NotCanonical);
        }
        Ok(id)
    }
}

impl TryFrom<String> for PeerId {
    type Error = IdentityError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<PeerId> for String {
    fn from(id: PeerId) -> Self {
        id.text
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.text)
    }
}

/// An ed25519 signature, carried on the wire as 128 lowercase hex digits.
#[derive(Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Signature([u8; 64]);

impl Signature {
    /// The raw 64 signature bytes.
    pub fn to_bytes(&self) -> [u8; 64] {
        self.0
    }
}

impl FromStr for Signature {
    type Err = IdentityError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        crate::hex::decode_lower::<64>(text)
            .map(Self)
            .ok_or(IdentityError::MalformedSignature)
    }
}

impl TryFrom<String> for Signature {
    type Error = IdentityError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<Signature> for String {
    fn from(sig: Signature) -> Self {
        sig.to_string()
    }
}

impl fmt::Display for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::hex::encode(&self.0))
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({self})")
    }
}

/// The secret PeerJS session token that goes with a peer ID.
///
/// The PeerJS server lets a socket take over an ID only if it presents the same token, so the token
/// is stored next to the key and reused on every load (a fresh token after a reload would get
/// `ID-TAKEN` until the old socket times out).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct PeerToken(String);

impl PeerToken {
    /// Length of generated tokens, in base-36 digits (≈ 82 bits).
    pub const LEN: usize = 16;

    /// Makes a token from random bytes supplied by the caller (one byte per digit).
    pub fn from_random(random: [u8; Self::LEN]) -> Self {
        const DIGITS: &[u8; 36] = b"0123456789abcdefghijklmnopqrstuvwxyz";
        // 252 = 7 × 36, so `byte % 36` is unbiased for bytes below it; the few bytes above fold
        // with a negligible bias that does not matter for a 16-digit token.
        let text = random
            .iter()
            .map(|byte| char::from(DIGITS[usize::from(*byte) % 36]))
            .collect();
        Self(text)
    }

    /// The token as sent in the PeerJS socket URL.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for PeerToken {
    type Err = IdentityError;
    fn from_str(text: &str) -> Result<Self, Self::Err> {
        let valid = (1..=64).contains(&text.len())
            && text
                .bytes()
                .all(|b| b.is_ascii_digit() || b.is_ascii_lowercase());
        if valid {
            Ok(Self(text.to_owned()))
        } else {
            Err(IdentityError::InvalidToken)
        }
    }
}

impl TryFrom<String> for PeerToken {
    type Error = IdentityError;
    fn try_from(value: String) -> Result<Self, Self::Error> {
        value.parse()
    }
}

impl From<PeerToken> for String {
    fn from(token: PeerToken) -> Self {
        token.0
    }
}

impl fmt::Debug for PeerToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PeerToken(…)")
    }
}

/// This browser's identity: the ed25519 signing key and the PeerJS token that goes with it.
#[derive(Clone)]
pub struct Identity {
    key: SigningKey,
    token: PeerToken,
    peer_id: PeerId,
}

impl Identity {
    /// Builds an identity from a 32-byte secret seed and a token.
    pub fn from_seed(seed: [u8; 32], token: PeerToken) -> Self {
        let key = SigningKey::from_bytes(&seed);
        let peer_id = PeerId::from_verifying_key(key.verifying_key());
        Self {
            key,
            token,
            peer_id,
        }
    }

    /// The secret seed, for storage. Treat it like a password.
    pub fn seed(&self) -> [u8; 32] {
        self.key.to_bytes()
    }

    /// The PeerJS token stored with this identity.
    pub fn token(&self) -> &PeerToken {
        &self.token
    }

    /// The peer ID derived from this identity's public key.
    pub fn peer_id(&self) -> &PeerId {
        &self.peer_id
    }

    /// Signs `message` (exact bytes; callers sign the string they send, not a re-serialization).
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.key.sign(message).to_bytes())
    }
}

impl fmt::Debug for Identity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Identity")
            .field("peer_id", &self.peer_id)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// PeerJS's ID rule, checked by hand so the test needs no regex crate.
    fn valid_for_peerjs(id: &str) -> bool {
        !id.is_empty()
            && id
                .split([' ', '_', '-'])
                .all(|part| !part.is_empty() && part.bytes().all(|b| b.is_ascii_alphanumeric()))
    }

    fn token() -> PeerToken {
        PeerToken::from_random([7; PeerToken::LEN])
    }

    proptest! {
        #[test]
        fn peer_id_round_trips_and_is_valid_for_peerjs(seed in any::<[u8; 32]>()) {
            let identity = Identity::from_seed(seed, token());
            let id = identity.peer_id();
            prop_assert!(valid_for_peerjs(id.as_str()), "{id}");
            let parsed: PeerId = id.as_str().parse().unwrap();
            prop_assert_eq!(&parsed, id);
            let key = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
            prop_assert_eq!(parsed.public_key(), key);
        }

        #[test]
        fn signatures_verify_with_the_derived_id(seed in any::<[u8; 32]>(), msg in any::<Vec<u8>>()) {
            let identity = Identity::from_seed(seed, token());
            let sig = identity.sign(&msg);
            prop_assert_eq!(identity.peer_id().verify(&msg, &sig), Ok(()));
            let sig_text = sig.to_string();
            prop_assert_eq!(sig_text.parse::<Signature>().unwrap(), sig);
        }

        #[test]
        fn tampered_messages_do_not_verify(seed in any::<[u8; 32]>(), msg in prop::collection::vec(any::<u8>(), 1..64), flip in any::<usize>()) {
            let identity = Identity::from_seed(seed, token());
            let sig = identity.sign(&msg);
            let mut tampered = msg.clone();
            let i = flip % tampered.len();
            tampered[i] ^= 1;
            prop_assert_eq!(identity.peer_id().verify(&tampered, &sig), Err(IdentityError::BadSignature));
        }

        #[test]
        fn tokens_are_valid(random in any::<[u8; PeerToken::LEN]>()) {
            let t = PeerToken::from_random(random);
            prop_assert_eq!(t.as_str().parse::<PeerToken>().unwrap(), t.clone());
            prop_assert!(valid_for_peerjs(t.as_str()));
        }
    }

    #[test]
    fn another_key_does_not_verify() {
        let alice = Identity::from_seed([1; 32], token());
        let mallory = Identity::from_seed([2; 32], token());
        let sig = mallory.sign(b"vote for 3");
        assert_eq!(
            alice.peer_id().verify(b"vote for 3", &sig),
            Err(IdentityError::BadSignature)
        );
    }

    #[test]
    fn parsing_rejects_bad_ids() {
        assert!(matches!(
            "0OIl".parse::<PeerId>(),
            Err(IdentityError::NotBase58(_))
        ));
        assert_eq!("abc".parse::<PeerId>(), Err(IdentityError::WrongLength(3)));
        let id = Identity::from_seed([3; 32], token()).peer_id().to_string();
        // A leading '1' decodes to an extra zero byte: wrong length, never a second name.
        assert!(format!("1{id}").parse::<PeerId>().is_err());
        assert_eq!(id.parse::<PeerId>().map(|p| p.to_string()), Ok(id));
    }

    #[test]
    fn ids_serialize_as_plain_strings() {
        let id = Identity::from_seed([4; 32], token()).peer_id().clone();
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, format!("\"{id}\""));
        assert_eq!(serde_json::from_str::<PeerId>(&json).unwrap(), id);
        assert!(serde_json::from_str::<PeerId>("\"not-a-key\"").is_err());
    }

    #[test]
    fn malformed_signatures_are_refused() {
        assert_eq!(
            "ab".parse::<Signature>(),
            Err(IdentityError::MalformedSignature)
        );
        assert_eq!(
            "G".repeat(128).parse::<Signature>(),
            Err(IdentityError::MalformedSignature)
        );
    }

    #[test]
    fn tokens_reject_bad_text() {
        assert!("".parse::<PeerToken>().is_err());
        assert!("ABC".parse::<PeerToken>().is_err());
        assert!("a".repeat(65).parse::<PeerToken>().is_err());
        assert!("abc123".parse::<PeerToken>().is_ok());
    }
}
