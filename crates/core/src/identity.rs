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
///
/// Text and key live behind one shared pointer, so a clone costs a reference count. Parsing
/// remembers up to [`PARSED_MAX`] IDs parsed on the thread: a participant reads the same few
/// voters' IDs in every event, and each first parse costs a base58 round trip and a point
/// decompression (~60 µs in the browser's wasm).
#[derive(Clone, Deserialize)]
#[serde(try_from = "String")]
pub struct PeerId(Arc<Named>);

struct Named {
    text: String,
    key: VerifyingKey,
    /// Whether the key is canonically encoded and not of small order (the key's half of
    /// [`PeerId::plain_check_agrees`]), worked out on first use.
    plain_key: std::sync::OnceLock<bool>,
}

/// How many parsed IDs a thread remembers (then it forgets them all and starts again).
const PARSED_MAX: usize = 1024;

thread_local! {
    /// Peer IDs parsed lately on this thread, by their text (see [`PeerId`]).
    static PARSED: std::cell::RefCell<std::collections::HashMap<Box<str>, PeerId>> =
        std::cell::RefCell::new(std::collections::HashMap::new());
}

impl PeerId {
    /// The peer ID for a public key (assumed valid: it came from a [`VerifyingKey`]).
    fn from_verifying_key(key: VerifyingKey) -> Self {
        Self(Arc::new(Named {
            text: bs58::encode(key.as_bytes()).into_string(),
            key,
            plain_key: std::sync::OnceLock::new(),
        }))
    }

    /// The peer ID for a raw public key, if the bytes are a valid ed25519 point.
    pub fn from_public_key(bytes: [u8; 32]) -> Result<Self, IdentityError> {
        let key = VerifyingKey::from_bytes(&bytes).map_err(|_| IdentityError::InvalidKey)?;
        Ok(Self::from_verifying_key(key))
    }

    /// The public key this ID names.
    pub fn public_key(&self) -> [u8; 32] {
        self.0.key.to_bytes()
    }

    /// The ID as it is registered on the PeerJS server.
    pub fn as_str(&self) -> &str {
        &self.0.text
    }

    /// Checks that `signature` was made over `message` by the holder of this ID's private key.
    ///
    /// Uses strict verification (rejects small-order keys and non-canonical signatures), so a
    /// message has exactly one valid signature encoding per key.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), IdentityError> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .key
            .verify_strict(message, &sig)
            .map_err(|_| IdentityError::BadSignature)
    }

    /// Whether a *plain* RFC 8032 check of `signature` by this key answers exactly as
    /// [`PeerId::verify`] does, for every message. A plain check is the cofactorless equation
    /// `encode([s]B − [k]A) == R` with `k = SHA-512(R ‖ A ‖ M)` and `s < ℓ`, which is what the
    /// browser's WebCrypto Ed25519 computes (BoringSSL in Chromium): the driver may then have the
    /// signature checked there, off the page's thread ([`crate::protocol::SignatureJob`]).
    ///
    /// `verify_strict` runs the same equation (on the same bytes of `A` and `R`) and rejects in
    /// addition a small-order `A`, a small-order `R` and `s ≥ ℓ`; a plain check may also decode
    /// a non-canonical `A` differently. So the two agree when `A` is canonical and not of small
    /// order, `s < ℓ`, and `R` is none of the eight small-order points' canonical encodings (a
    /// non-canonical `R` never equals an encoding both compute, so both refuse it).
    pub fn plain_check_agrees(&self, signature: &Signature) -> bool {
        let (r, s) = signature.0.split_at(32);
        let plain_key = *self
            .0
            .plain_key
            .get_or_init(|| is_canonical_y(&self.0.key.to_bytes()) && !self.0.key.is_weak());
        plain_key && is_below_group_order(s) && !SMALL_ORDER_ENCODINGS.iter().any(|e| e[..] == *r)
    }
}

/// ℓ, the order of the ed25519 base point, little-endian.
const GROUP_ORDER: [u8; 32] = [
    0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14,
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10,
];

/// The canonical encodings of the eight points of small order (the curve's torsion).
const SMALL_ORDER_ENCODINGS: [[u8; 32]; 8] = {
    /// An encoding whose bytes are `low`, then 30 × `middle`, then `high`.
    const fn y(low: u8, middle: u8, high: u8) -> [u8; 32] {
        let mut bytes = [middle; 32];
        bytes[0] = low;
        bytes[31] = high;
        bytes
    }
    /// The same `y` with x's sign bit set: the point's negative.
    const fn negative(mut bytes: [u8; 32]) -> [u8; 32] {
        bytes[31] |= 0x80;
        bytes
    }
    /// The two `y`s of the points of order 8.
    const ORDER_8: [[u8; 32]; 2] = [
        [
            0xc7, 0x17, 0x6a, 0x70, 0x3d, 0x4d, 0xd8, 0x4f, 0xba, 0x3c, 0x0b, 0x76, 0x0d, 0x10,
            0x67, 0x0f, 0x2a, 0x20, 0x53, 0xfa, 0x2c, 0x39, 0xcc, 0xc6, 0x4e, 0xc7, 0xfd, 0x77,
            0x92, 0xac, 0x03, 0x7a,
        ],
        [
            0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0, 0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef,
            0x98, 0xf0, 0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39, 0xb1, 0x38, 0x02, 0x88,
            0x6d, 0x53, 0xfc, 0x05,
        ],
    ];
    [
        y(1, 0, 0),          // the identity (0, 1)
        y(0xec, 0xff, 0x7f), // (0, −1), order 2
        y(0, 0, 0),          // (±√−1, 0), order 4
        negative(y(0, 0, 0)),
        ORDER_8[0],
        negative(ORDER_8[0]),
        ORDER_8[1],
        negative(ORDER_8[1]),
    ]
};

/// Whether the 255-bit `y` of a point encoding (the top bit is x's sign) is below p = 2²⁵⁵ − 19.
fn is_canonical_y(encoding: &[u8; 32]) -> bool {
    let all_ones = encoding[1..31].iter().all(|&b| b == 0xff);
    !(encoding[31] & 0x7f == 0x7f && all_ones && encoding[0] >= 0xed)
}

/// Whether the little-endian 256-bit number `s` is below ℓ.
fn is_below_group_order(s: &[u8]) -> bool {
    for (byte, order) in s.iter().rev().zip(GROUP_ORDER.iter().rev()) {
        if byte != order {
            return byte < order;
        }
    }
    false
}

impl PartialEq for PeerId {
    fn eq(&self, other: &Self) -> bool {
        self.0.text == other.0.text
    }
}

impl Eq for PeerId {}

impl Hash for PeerId {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.0.text.hash(state);
    }
}

impl PartialOrd for PeerId {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for PeerId {
    fn cmp(&self, other: &Self) -> Ordering {
        self.0.text.cmp(&other.0.text)
    }
}

impl FromStr for PeerId {
    type Err = IdentityError;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Some(id) = PARSED.with(|parsed| parsed.borrow().get(text).cloned()) {
            return Ok(id);
        }
        let bytes = bs58::decode(text)
            .into_vec()
            .map_err(IdentityError::NotBase58)?;
        let key: [u8; 32] = bytes
            .as_slice()
            .try_into()
            .map_err(|_| IdentityError::WrongLength(bytes.len()))?;
        let id = Self::from_public_key(key)?;
        if id.0.text != text {
            return Err(IdentityError::NotCanonical);
        }
        PARSED.with(|parsed| {
            let mut parsed = parsed.borrow_mut();
            if parsed.len() >= PARSED_MAX {
                parsed.clear();
            }
            parsed.insert(text.into(), id.clone());
        });
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
        id.0.text.clone()
    }
}

impl Serialize for PeerId {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0.text)
    }
}

impl fmt::Display for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.text)
    }
}

impl fmt::Debug for PeerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "PeerId({})", self.0.text)
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
    fn parsing_remembers_ids_and_no_more_than_its_bound() {
        let id = Identity::from_seed([5; 32], token()).peer_id().clone();
        let first: PeerId = id.as_str().parse().unwrap();
        let again: PeerId = id.as_str().parse().unwrap();
        assert!(
            Arc::ptr_eq(&first.0, &again.0),
            "the second parse is remembered"
        );
        // A refused text is refused every time.
        let not_canonical = format!("1{id}");
        for _ in 0..2 {
            assert!(not_canonical.parse::<PeerId>().is_err());
        }
        for n in 0..=PARSED_MAX {
            let mut seed = [0; 32];
            seed[..8].copy_from_slice(&(n as u64).to_le_bytes());
            let text = Identity::from_seed(seed, token()).peer_id().to_string();
            assert_eq!(text.parse::<PeerId>().unwrap().as_str(), text);
            assert!(PARSED.with(|p| p.borrow().len()) <= PARSED_MAX);
        }
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

    /// A plain RFC 8032 check, written out: `encode([s]B − [k]A) == R`, `s < ℓ`, `k` over the
    /// bytes of `R`, `A` and the message as given (what WebCrypto's Ed25519 computes).
    fn plain_check(key: &[u8; 32], message: &[u8], signature: &[u8; 64]) -> bool {
        use curve25519_dalek::edwards::CompressedEdwardsY;
        use curve25519_dalek::scalar::Scalar;
        use sha2::{Digest, Sha512};
        let Some(a) = CompressedEdwardsY(*key).decompress() else {
            return false;
        };
        let mut s_bytes = [0; 32];
        s_bytes.copy_from_slice(&signature[32..]);
        let Some(s) = Option::<Scalar>::from(Scalar::from_canonical_bytes(s_bytes)) else {
            return false;
        };
        let digest: [u8; 64] = Sha512::new()
            .chain_update(&signature[..32])
            .chain_update(key)
            .chain_update(message)
            .finalize()
            .into();
        let k = Scalar::from_bytes_mod_order_wide(&digest);
        let r = curve25519_dalek::EdwardsPoint::vartime_double_scalar_mul_basepoint(&k, &-a, &s);
        r.compress().as_bytes()[..] == signature[..32]
    }

    /// A signature a plain check accepts and `verify_strict` refuses: `R` the identity and
    /// `s = k·a`, so `[s]B − [k]A` is the identity.
    fn identity_r_signature(seed: [u8; 32], message: &[u8]) -> [u8; 64] {
        use curve25519_dalek::scalar::Scalar;
        use sha2::{Digest, Sha512};
        let signing = SigningKey::from_bytes(&seed);
        let mut r = [0; 32];
        r[0] = 1;
        let digest: [u8; 64] = Sha512::new()
            .chain_update(r)
            .chain_update(signing.verifying_key().to_bytes())
            .chain_update(message)
            .finalize()
            .into();
        let s = Scalar::from_bytes_mod_order_wide(&digest) * signing.to_scalar();
        let mut signature = [0; 64];
        signature[..32].copy_from_slice(&r);
        signature[32..].copy_from_slice(s.as_bytes());
        signature
    }

    #[test]
    fn the_small_order_encodings_are_the_eight_torsion_points() {
        let mut derived: Vec<[u8; 32]> = curve25519_dalek::constants::EIGHT_TORSION
            .iter()
            .map(|p| p.compress().to_bytes())
            .collect();
        let mut listed = SMALL_ORDER_ENCODINGS.to_vec();
        derived.sort_unstable();
        listed.sort_unstable();
        assert_eq!(listed, derived);
    }

    #[test]
    fn group_order_and_field_bounds_are_exact() {
        use curve25519_dalek::scalar::Scalar;
        let below = |bytes: [u8; 32]| Option::<Scalar>::from(Scalar::from_canonical_bytes(bytes));
        assert!(below(GROUP_ORDER).is_none());
        assert!(!is_below_group_order(&GROUP_ORDER));
        let mut one_less = GROUP_ORDER;
        one_less[0] -= 1;
        assert!(below(one_less).is_some());
        assert!(is_below_group_order(&one_less));
        // p − 1 = 2²⁵⁵ − 20 is a canonical y, p and 2²⁵⁵ − 1 are not, whatever x's sign bit.
        let mut p = [0xff; 32];
        p[0] = 0xed;
        p[31] = 0x7f;
        assert!(!is_canonical_y(&p));
        p[31] = 0xff;
        assert!(!is_canonical_y(&p));
        p[0] = 0xec;
        assert!(is_canonical_y(&p));
        assert!(!is_canonical_y(&[0xff; 32]));
    }

    #[test]
    fn a_plain_check_would_accept_what_strict_refuses_and_the_gate_sends_it_home() {
        let seed = [9; 32];
        let id = Identity::from_seed(seed, token()).peer_id().clone();
        let message = b"vote for 2";
        let forged = identity_r_signature(seed, message);
        assert!(plain_check(&id.public_key(), message, &forged));
        let forged = Signature(forged);
        assert_eq!(
            id.verify(message, &forged),
            Err(IdentityError::BadSignature)
        );
        assert!(!id.plain_check_agrees(&forged));
    }

    #[test]
    fn a_key_encoded_above_the_field_prime_is_not_let_through() {
        let mut tried = 0;
        for k in 2u8..19 {
            // y = p + k, the same y as k once reduced: decoders may differ on it.
            let mut bytes = [0xff; 32];
            bytes[31] = 0x7f;
            bytes[0] = 0xed + k;
            let Ok(id) = PeerId::from_public_key(bytes) else {
                continue;
            };
            if id.0.key.is_weak() {
                continue;
            }
            tried += 1;
            assert!(!id.plain_check_agrees(&Signature([1; 64])), "y = p + {k}");
        }
        assert!(tried > 0, "no such key decodes: the test tests nothing");
    }

    proptest! {
        /// Wherever the gate lets a signature through, the plain check answers as strict does:
        /// honest signatures, tampered messages, `s + ℓ`, small-order `R`s (with `s = k·a` for
        /// the identity) and random bytes.
        #[test]
        fn where_the_gate_agrees_a_plain_check_answers_as_strict(
            seed in any::<[u8; 32]>(),
            message in proptest::collection::vec(any::<u8>(), 0..64),
            junk in any::<[u8; 64]>(),
            torsion in 0usize..8,
            kind in 0u8..5,
        ) {
            let identity = Identity::from_seed(seed, token());
            let id = identity.peer_id().clone();
            let honest = identity.sign(&message).0;
            let signature = match kind {
                0 => honest,
                1 => {
                    // s + ℓ: the same s modulo ℓ, not canonical.
                    let mut sig = honest;
                    let mut carry = 0u16;
                    for (byte, order) in sig[32..].iter_mut().zip(GROUP_ORDER) {
                        let sum = u16::from(*byte) + u16::from(order) + carry;
                        *byte = sum.to_le_bytes()[0];
                        carry = sum >> 8;
                    }
                    sig
                }
                2 => identity_r_signature(seed, &message),
                3 => {
                    let mut sig = junk;
                    sig[..32].copy_from_slice(&SMALL_ORDER_ENCODINGS[torsion]);
                    sig
                }
                _ => junk,
            };
            let strict = id.verify(&message, &Signature(signature)).is_ok();
            if kind < 4 {
                prop_assert_eq!(strict, kind == 0, "kind {}", kind);
            }
            if id.plain_check_agrees(&Signature(signature)) {
                prop_assert_eq!(plain_check(&id.public_key(), &message, &signature), strict);
            }
            let mut tampered = message.clone();
            tampered.push(1);
            if id.plain_check_agrees(&Signature(signature)) {
                prop_assert_eq!(
                    plain_check(&id.public_key(), &tampered, &signature),
                    id.verify(&tampered, &Signature(signature)).is_ok()
                );
            }
            prop_assert_eq!(id.plain_check_agrees(&Signature(honest)), true);
        }
    }
}
