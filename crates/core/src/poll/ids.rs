//! Identifier newtypes of the poll domain.
//!
//! Invariants:
//! - [`PollId`] and [`CommandId`] are UUIDs, written on the wire in the hyphenated lowercase form.
//!   This crate never generates them from a random source of its own: callers pass 16 random bytes
//!   to `from_random_bytes`, which sets the version (4) and variant bits.
//! - [`OptionId`]s are assigned by the poll's owner, sequentially from 1, and never reused.
//! - A [`Revision`] counts the commands a poll has accepted; a new poll is at revision 0.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// Builds a version-4 UUID from caller-supplied random bytes.
fn uuid_v4(bytes: [u8; 16]) -> Uuid {
    uuid::Builder::from_random_bytes(bytes).into_uuid()
}

/// Why an identifier could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a UUID: {0}")]
pub struct IdError(#[source] uuid::Error);

macro_rules! uuid_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(Uuid);

        impl $name {
            /// A random (version 4) identifier made from 16 bytes of the caller's CSPRNG.
            pub fn from_random_bytes(bytes: [u8; 16]) -> Self {
                Self(uuid_v4(bytes))
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }
        }

        impl From<Uuid> for $name {
            fn from(uuid: Uuid) -> Self {
                Self(uuid)
            }
        }

        impl FromStr for $name {
            type Err = IdError;
            fn from_str(text: &str) -> Result<Self, Self::Err> {
                Uuid::parse_str(text).map(Self).map_err(IdError)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0.hyphenated(), f)
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0.hyphenated())
            }
        }
    };
}

uuid_id!(
    /// Names a poll; unique across all owners.
    PollId
);
uuid_id!(
    /// Names one command a participant sent, so the owner can recognise a resend.
    CommandId
);

/// Names an option within its poll (assigned by the owner, from 1, never reused).
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct OptionId(pub u32);

impl fmt::Display for OptionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "#{}", self.0)
    }
}

/// How many commands a poll has accepted; every accepted command adds exactly one.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize, Default,
)]
#[serde(transparent)]
pub struct Revision(pub u64);

impl Revision {
    /// The revision after this one.
    pub fn next(self) -> Self {
        Self(self.0.saturating_add(1))
    }
}

impl fmt::Display for Revision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "r{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_bytes_make_v4_uuids_that_round_trip() {
        let id = CommandId::from_random_bytes([0xab; 16]);
        assert_eq!(id.as_uuid().get_version_num(), 4);
        assert_eq!(id.to_string(), "abababab-abab-4bab-abab-abababababab");
        assert_eq!(id.to_string().parse::<CommandId>(), Ok(id));
        let json = serde_json::to_string(&id).unwrap();
        assert_eq!(json, "\"abababab-abab-4bab-abab-abababababab\"");
        assert_eq!(serde_json::from_str::<CommandId>(&json).unwrap(), id);
        assert!("nope".parse::<PollId>().is_err());
    }

    #[test]
    fn numeric_ids_are_plain_numbers_on_the_wire() {
        assert_eq!(serde_json::to_string(&OptionId(3)).unwrap(), "3");
        assert_eq!(serde_json::to_string(&Revision(7)).unwrap(), "7");
        assert_eq!(Revision(7).next(), Revision(8));
    }
}
