//! Property tests of the wire protocol: any input opens to a message or a typed error (never a
//! panic), sealed frames round-trip, and no altered frame is accepted.

// Helpers outside `#[test]` functions fail the test by panicking, as tests do.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::sync::OnceLock;

use proptest::prelude::*;
use starpoll_core::poll::{Command, CommandId, OptionId, PollId};
use starpoll_core::protocol::{
    open, open_from, seal, CommandFrame, ErrorCode, Message, ProtocolError,
};
use starpoll_core::{Identity, PeerToken};

fn identities() -> &'static [Identity] {
    static IDS: OnceLock<Vec<Identity>> = OnceLock::new();
    IDS.get_or_init(|| {
        (1u8..=3)
            .map(|n| Identity::from_seed([n; 32], PeerToken::from_random([n; PeerToken::LEN])))
            .collect()
    })
}

fn vote(poll: [u8; 16], id: [u8; 16], options: Vec<u32>) -> Message {
    Message::Command(CommandFrame {
        command: Command::CastVote {
            option_ids: options.into_iter().map(OptionId).collect(),
            answers: Default::default(),
        },
        poll_id: PollId::from_random_bytes(poll),
        command_id: CommandId::from_random_bytes(id),
    })
}

/// Opening must return, and its error must map to a code; returns whether it was accepted.
fn opens(text: &str) -> bool {
    match open(text, None) {
        Ok(_) => true,
        Err(error) => {
            let _ = ErrorCode::from(&error);
            let _ = error.to_string();
            false
        }
    }
}

proptest! {
    #[test]
    fn random_text_never_panics(text in any::<String>()) {
        prop_assert!(!opens(&text));
    }

    #[test]
    fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..600)) {
        prop_assert!(!opens(&String::from_utf8_lossy(&bytes)));
    }

    #[test]
    fn json_like_noise_never_panics(text in r#"[{}\[\]":,v0-9a-z\\ ]{0,200}"#) {
        prop_assert!(!opens(&text));
    }

    #[test]
    fn envelopes_with_random_bodies_are_typed_errors(body in r#"[{}\[\]":,a-z0-9 ]{0,120}"#) {
        let signer = &identities()[0];
        let frame = format!(
            r#"{{"v":1,"signer":"{}","sig":"{}","body":{}}}"#,
            signer.peer_id(),
            signer.sign(body.as_bytes()),
            serde_json::to_string(&body).unwrap()
        );
        prop_assert!(!opens(&frame));
    }

    #[test]
    fn sealed_frames_round_trip(
        poll in any::<[u8; 16]>(),
        id in any::<[u8; 16]>(),
        options in prop::collection::vec(any::<u32>(), 0..60),
        who in 0usize..3,
    ) {
        let signer = &identities()[who];
        let message = vote(poll, id, options);
        let frame = seal(signer, &message).unwrap();
        let (got, opened) = open_from(&frame, signer.peer_id()).unwrap();
        prop_assert_eq!(&got, signer.peer_id());
        prop_assert_eq!(opened, message);
    }

    #[test]
    fn altered_frames_are_refused(
        index in any::<prop::sample::Index>(),
        replacement in prop::sample::select(vec!['0', '1', '7', 'a', 'f', 'z', 'A', '"', '{', ' ', '\\', 'é']),
    ) {
        let signer = &identities()[0];
        let frame = seal(signer, &vote([1; 16], [2; 16], vec![1, 2])).unwrap();
        let chars: Vec<char> = frame.chars().collect();
        let at = index.index(chars.len());
        prop_assume!(chars[at] != replacement);
        let mut altered = chars;
        altered[at] = replacement;
        let altered: String = altered.into_iter().collect();
        prop_assert!(!opens(&altered), "accepted {}", altered);
    }

    #[test]
    fn frames_signed_by_one_peer_are_refused_on_anothers_connection(
        signer in 0usize..3,
        remote in 0usize..3,
    ) {
        prop_assume!(signer != remote);
        let frame = seal(&identities()[signer], &vote([1; 16], [2; 16], vec![1])).unwrap();
        let refused = matches!(
            open_from(&frame, identities()[remote].peer_id()),
            Err(ProtocolError::SignerMismatch { .. })
        );
        prop_assert!(refused);
    }
}
