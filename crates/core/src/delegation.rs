//! Delegations: the owner's signed statement that another peer (a **hub**) serves one of its
//! polls (PROTOCOL.md §8.1).
//!
//! A delegation is an envelope (the frame format of [`crate::protocol`]) signed by the poll's
//! owner, whose body is
//! `{"v":1,"type":"poll:delegation","pollId","owner","hub","seq","fromRevision"}`. It is never a
//! message of its own: it travels as a string inside `hub:*` messages and snapshots, byte for
//! byte as the owner signed it, so anyone can check it again.
//!
//! Invariants:
//! - A [`SignedDelegation`] always holds a text that opens with the key of its `owner`, whose
//!   body is a valid `poll:delegation` with `seq` ≥ 1: [`SignedDelegation::parse`] is the only
//!   way to make one from text, and [`SignedDelegation::sign`] the only way to make a new one.
//!   Deserializing one (it serializes as its text) runs the same checks.
//! - `seq` orders the delegations of one poll: a higher one supersedes every lower one
//!   ([`Relation`]); `seq` 0 is the implicit "the owner serves it".
//! - Pure: no clock, no randomness.

use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::poll::{PollId, Revision};
use crate::protocol::{self, ProtocolError, PROTOCOL_VERSION};
use crate::{Identity, PeerId};

/// The `type` in a delegation's body.
pub const DELEGATION_TYPE: &str = "poll:delegation";

/// What a delegation says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delegation {
    /// The poll handed over.
    pub poll_id: PollId,
    /// Its owner (the signer).
    pub owner: PeerId,
    /// The peer that serves it under this delegation (`owner` = taken back).
    pub hub: PeerId,
    /// Strictly increasing per poll.
    pub seq: u64,
    /// The revision the owner knew when signing: the hub serves the poll from this one or later.
    pub from_revision: Revision,
}

#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct Body {
    v: u32,
    #[serde(rename = "type")]
    kind: String,
    poll_id: PollId,
    owner: PeerId,
    hub: PeerId,
    seq: u64,
    from_revision: Revision,
}

/// Why a delegation was refused (PROTOCOL.md §8.1, in the order checked).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DelegationError {
    /// The text does not open as an envelope (size, JSON, version, signer, signature).
    #[error("the delegation does not open: {0}")]
    Envelope(#[source] ProtocolError),
    /// The body is not a `poll:delegation` with exactly the expected fields.
    #[error("not a delegation: {0}")]
    Body(String),
    /// The body's `owner` is not the key that signed it.
    #[error("a delegation signed by {signer} for a poll of {owner}")]
    NotSignedByOwner {
        /// Who signed.
        signer: PeerId,
        /// Who the body names as owner.
        owner: PeerId,
    },
    /// `seq` 0 is reserved for "the owner serves it" and is never signed.
    #[error("a delegation with seq 0")]
    ZeroSeq,
    /// A delegation of another poll.
    #[error("a delegation of poll {got}, expected {expected}")]
    OtherPoll {
        /// The poll expected.
        expected: PollId,
        /// The poll named.
        got: PollId,
    },
    /// A delegation by someone who is not the poll's owner.
    #[error("a delegation by {got}, but the poll belongs to {expected}")]
    OtherOwner {
        /// The poll's owner.
        expected: PeerId,
        /// The delegation's signer.
        got: PeerId,
    },
    /// The delegation could not be sealed (not expected).
    #[error("could not seal a delegation: {0}")]
    Seal(#[source] ProtocolError),
}

/// How a delegation compares with the current one of the same poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Relation {
    /// A higher `seq`: it supersedes the current one.
    Newer,
    /// The same `seq` and the same hub: nothing new.
    Same,
    /// A lower `seq`, or the same `seq` naming another hub: never adopted.
    Stale,
}

/// A delegation with the exact text its owner signed. See the module docs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedDelegation {
    delegation: Delegation,
    text: String,
}

impl SignedDelegation {
    /// Signs a new delegation as `owner`.
    pub fn sign(
        owner: &Identity,
        poll_id: PollId,
        hub: PeerId,
        seq: u64,
        from_revision: Revision,
    ) -> Result<Self, DelegationError> {
        if seq == 0 {
            return Err(DelegationError::ZeroSeq);
        }
        let body = Body {
            v: PROTOCOL_VERSION,
            kind: DELEGATION_TYPE.into(),
            poll_id,
            owner: owner.peer_id().clone(),
            hub: hub.clone(),
            seq,
            from_revision,
        };
        let body = serde_json::to_string(&body)
            .map_err(|e| DelegationError::Seal(ProtocolError::Encode(e)))?;
        let text = protocol::seal_body(owner, &body).map_err(DelegationError::Seal)?;
        Ok(Self {
            delegation: Delegation {
                poll_id,
                owner: owner.peer_id().clone(),
                hub,
                seq,
                from_revision,
            },
            text,
        })
    }

    /// Reads a delegation from its text: it must open as an envelope signed by the `owner` its
    /// body names, with a valid `poll:delegation` body and `seq` ≥ 1. It is not yet known to be
    /// about a given poll: see [`SignedDelegation::check`].
    pub fn parse(text: &str) -> Result<Self, DelegationError> {
        let (signer, body) = protocol::open_body(text, None).map_err(DelegationError::Envelope)?;
        protocol::check_object(&body).map_err(|e| DelegationError::Body(e.to_string()))?;
        let body: Body =
            serde_json::from_str(&body).map_err(|e| DelegationError::Body(e.to_string()))?;
        if body.v != PROTOCOL_VERSION {
            return Err(DelegationError::Envelope(
                ProtocolError::UnsupportedVersion { got: body.v },
            ));
        }
        if body.kind != DELEGATION_TYPE {
            return Err(DelegationError::Body(format!(
                "type {:?}, expected {DELEGATION_TYPE:?}",
                body.kind
            )));
        }
        if body.owner != signer {
            return Err(DelegationError::NotSignedByOwner {
                signer,
                owner: body.owner,
            });
        }
        if body.seq == 0 {
            return Err(DelegationError::ZeroSeq);
        }
        Ok(Self {
            delegation: Delegation {
                poll_id: body.poll_id,
                owner: body.owner,
                hub: body.hub,
                seq: body.seq,
                from_revision: body.from_revision,
            },
            text: text.to_owned(),
        })
    }

    /// Reads a delegation of `poll`, whose owner is `owner` (PROTOCOL.md §8.1 checks 1–4).
    pub fn check(text: &str, poll: PollId, owner: &PeerId) -> Result<Self, DelegationError> {
        let signed = Self::parse(text)?;
        if signed.delegation.poll_id != poll {
            return Err(DelegationError::OtherPoll {
                expected: poll,
                got: signed.delegation.poll_id,
            });
        }
        if signed.delegation.owner != *owner {
            return Err(DelegationError::OtherOwner {
                expected: owner.clone(),
                got: signed.delegation.owner,
            });
        }
        Ok(signed)
    }

    /// What it says.
    pub fn delegation(&self) -> &Delegation {
        &self.delegation
    }

    /// The text the owner signed, to pass on unchanged.
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The poll.
    pub fn poll_id(&self) -> PollId {
        self.delegation.poll_id
    }

    /// The hub it names.
    pub fn hub(&self) -> &PeerId {
        &self.delegation.hub
    }

    /// The owner who signed it.
    pub fn owner(&self) -> &PeerId {
        &self.delegation.owner
    }

    /// Its sequence number.
    pub fn seq(&self) -> u64 {
        self.delegation.seq
    }

    /// How this delegation compares with `current` (`None`: the owner serves the poll, seq 0).
    pub fn relation_to(&self, current: Option<&SignedDelegation>) -> Relation {
        match current {
            None => Relation::Newer,
            Some(current) if self.seq() > current.seq() => Relation::Newer,
            Some(current) if self.seq() == current.seq() && self.hub() == current.hub() => {
                Relation::Same
            }
            Some(_) => Relation::Stale,
        }
    }
}

impl Serialize for SignedDelegation {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.text)
    }
}

impl<'de> Deserialize<'de> for SignedDelegation {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = String::deserialize(deserializer)?;
        Self::parse(&text).map_err(serde::de::Error::custom)
    }
}

/// The peer serving a poll of `owner` whose current delegation is `current`.
pub fn serving_hub<'a>(owner: &'a PeerId, current: Option<&'a SignedDelegation>) -> &'a PeerId {
    current.map_or(owner, SignedDelegation::hub)
}

/// Checks a delegation chain of `poll` (owner `owner`), oldest first: every element valid for
/// this poll and owner, `seq`s strictly increasing. Returns the parsed chain.
pub fn check_chain(
    texts: &[String],
    poll: PollId,
    owner: &PeerId,
) -> Result<Vec<SignedDelegation>, ChainError> {
    let mut chain: Vec<SignedDelegation> = Vec::with_capacity(texts.len());
    for (index, text) in texts.iter().enumerate() {
        let signed =
            SignedDelegation::check(text, poll, owner).map_err(|source| ChainError::Invalid {
                index,
                source: Box::new(source),
            })?;
        if let Some(before) = chain.last() {
            if signed.seq() <= before.seq() {
                return Err(ChainError::OutOfOrder { index });
            }
        }
        chain.push(signed);
    }
    Ok(chain)
}

/// Why a delegation chain was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ChainError {
    /// An element is not a valid delegation of the poll.
    #[error("delegation {index} of the chain: {source}")]
    Invalid {
        /// Its position, from 0.
        index: usize,
        /// Why.
        #[source]
        source: Box<DelegationError>,
    },
    /// An element's `seq` is not above the one before it.
    #[error("delegation {index} of the chain does not have a higher seq than the one before")]
    OutOfOrder {
        /// Its position, from 0.
        index: usize,
    },
}

/// The hub a person named to move a poll to: a bare peer ID, or a link that contains one — an
/// owner page `…/o/<peerId>` or an invite with `?via=<peerId>` (its hub). `None` if the text
/// names no valid peer ID.
pub fn hub_in(text: &str) -> Option<PeerId> {
    let text = text.trim();
    if let Ok(peer) = text.parse() {
        return Some(peer);
    }
    let after = |marker: &str| {
        text.find(marker).map(|at| {
            let rest = &text[at + marker.len()..];
            let end = rest.find(['/', '?', '&', '#']).unwrap_or(rest.len());
            &rest[..end]
        })
    };
    ["via=", "/o/"]
        .into_iter()
        .filter_map(after)
        .find_map(|candidate| candidate.parse().ok())
}

#[cfg(test)]
mod tests;
