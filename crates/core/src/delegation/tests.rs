//! Unit tests of delegations: signing, every refusal of §8.1, ordering, chains.

use super::*;
use crate::testing::{identity, poll_id};

fn olga() -> Identity {
    identity(1)
}

fn signed(seq: u64, hub: u8) -> SignedDelegation {
    SignedDelegation::sign(
        &olga(),
        poll_id(),
        identity(hub).peer_id().clone(),
        seq,
        Revision(3),
    )
    .unwrap()
}

#[test]
fn a_signed_delegation_checks_and_round_trips_as_its_text() {
    let d = signed(1, 4);
    let checked = SignedDelegation::check(d.text(), poll_id(), olga().peer_id()).unwrap();
    assert_eq!(checked, d);
    assert_eq!(checked.hub(), identity(4).peer_id());
    assert_eq!(checked.delegation().from_revision, Revision(3));
    let json = serde_json::to_string(&d).unwrap();
    assert_eq!(json, serde_json::to_string(d.text()).unwrap());
    let back: SignedDelegation = serde_json::from_str(&json).unwrap();
    assert_eq!(back, d);
    // The body is the documented canonical form.
    let (_, body) = crate::protocol::open_body(d.text(), Some(olga().peer_id())).unwrap();
    assert_eq!(
        body,
        format!(
            r#"{{"v":1,"type":"poll:delegation","pollId":"{}","owner":"{}","hub":"{}","seq":1,"fromRevision":3}}"#,
            poll_id(),
            olga().peer_id(),
            identity(4).peer_id()
        )
    );
}

#[test]
fn a_delegation_of_another_poll_or_owner_is_refused() {
    let d = signed(1, 4);
    let other = crate::poll::PollId::from_random_bytes([0x99; 16]);
    assert!(matches!(
        SignedDelegation::check(d.text(), other, olga().peer_id()),
        Err(DelegationError::OtherPoll { .. })
    ));
    assert!(matches!(
        SignedDelegation::check(d.text(), poll_id(), identity(2).peer_id()),
        Err(DelegationError::OtherOwner { .. })
    ));
}

#[test]
fn a_forged_or_mislabelled_delegation_is_refused() {
    // Signed by Mallory but naming Olga as owner.
    let mallory = identity(9);
    let body = format!(
        r#"{{"v":1,"type":"poll:delegation","pollId":"{}","owner":"{}","hub":"{}","seq":5,"fromRevision":0}}"#,
        poll_id(),
        olga().peer_id(),
        mallory.peer_id()
    );
    let text = crate::protocol::seal_body(&mallory, &body).unwrap();
    assert!(matches!(
        SignedDelegation::parse(&text),
        Err(DelegationError::NotSignedByOwner { .. })
    ));
    // A changed body no longer verifies.
    let d = signed(1, 4);
    let tampered = d.text().replace(r#"\"seq\":1"#, r#"\"seq\":9"#);
    assert_ne!(tampered, d.text());
    assert!(matches!(
        SignedDelegation::parse(&tampered),
        Err(DelegationError::Envelope(_))
    ));
    // Seq 0, an unknown field, another type.
    for body in [
        body.replace("\"seq\":5", "\"seq\":0"),
        body.replace("\"seq\":5", "\"seq\":5,\"extra\":1"),
        body.replace("poll:delegation", "poll:vote"),
    ] {
        let text = crate::protocol::seal_body(&olga(), &body).unwrap();
        assert!(SignedDelegation::parse(&text).is_err(), "{body}");
    }
    assert!(matches!(
        SignedDelegation::sign(&olga(), poll_id(), olga().peer_id().clone(), 0, Revision(0)),
        Err(DelegationError::ZeroSeq)
    ));
    // A delegation is not a message: opened as a frame it is an unknown type.
    assert!(matches!(
        crate::protocol::open(d.text(), None),
        Err(ProtocolError::UnknownType { .. })
    ));
}

#[test]
fn a_higher_seq_supersedes_and_equal_seqs_must_agree() {
    let one = signed(1, 4);
    let two = signed(2, 5);
    assert_eq!(one.relation_to(None), Relation::Newer);
    assert_eq!(two.relation_to(Some(&one)), Relation::Newer);
    assert_eq!(one.relation_to(Some(&two)), Relation::Stale);
    assert_eq!(one.relation_to(Some(&one)), Relation::Same);
    assert_eq!(signed(2, 6).relation_to(Some(&two)), Relation::Stale);
    assert_eq!(serving_hub(olga().peer_id(), None), olga().peer_id());
    assert_eq!(
        serving_hub(olga().peer_id(), Some(&two)),
        identity(5).peer_id()
    );
}

#[test]
fn a_chain_must_be_valid_and_ascending() {
    let texts =
        |ds: &[&SignedDelegation]| ds.iter().map(|d| d.text().to_owned()).collect::<Vec<_>>();
    let (one, two) = (signed(1, 4), signed(2, 5));
    let chain = check_chain(&texts(&[&one, &two]), poll_id(), olga().peer_id()).unwrap();
    assert_eq!(chain, vec![one.clone(), two.clone()]);
    assert!(matches!(
        check_chain(&texts(&[&two, &one]), poll_id(), olga().peer_id()),
        Err(ChainError::OutOfOrder { index: 1 })
    ));
    assert!(matches!(
        check_chain(
            &[one.text().to_owned(), "x".into()],
            poll_id(),
            olga().peer_id()
        ),
        Err(ChainError::Invalid { index: 1, .. })
    ));
}

/// The example of PROTOCOL.md §8: Olga (seed 0x01) delegates poll `1111…` to Bob's peer (seed
/// 0x03) from revision 1, and redirects a participant there with `hub:delegation`.
#[test]
fn the_documented_delegation_and_redirect_are_exact() {
    let d = SignedDelegation::sign(
        &olga(),
        poll_id(),
        identity(3).peer_id().clone(),
        1,
        Revision(1),
    )
    .unwrap();
    let redirect = crate::protocol::seal(
        &olga(),
        &crate::protocol::Control::Delegation {
            poll_id: poll_id(),
            delegation: d.text().to_owned(),
        }
        .into(),
    )
    .unwrap();
    if std::env::var_os("STARPOLL_PRINT_EXAMPLES").is_some() {
        println!("{}\n{redirect}", d.text());
    }
    let doc = include_str!("../../../../PROTOCOL.md");
    let section = &doc[doc.find("## 8. Hubs").unwrap()..];
    let section = &section[..section.find("## Appendix A").unwrap()];
    assert!(
        section.contains(d.text()),
        "PROTOCOL.md §8 shows the delegation"
    );
    assert!(
        section.contains(&redirect),
        "PROTOCOL.md §8 shows the redirect"
    );
}

#[test]
fn hub_in_reads_a_peer_id_or_a_link_naming_one() {
    let peer = identity(7).peer_id().clone();
    let p = peer.as_str();
    assert_eq!(hub_in(p), Some(peer.clone()));
    assert_eq!(hub_in(&format!("  {p}\n")), Some(peer.clone()));
    assert_eq!(
        hub_in(&format!("https://x.example/o/{p}")),
        Some(peer.clone())
    );
    assert_eq!(
        hub_in(&format!("https://x.example/o/{p}?peerjs=ws")),
        Some(peer.clone())
    );
    assert_eq!(
        hub_in(&format!(
            "https://x.example/p/abc/def?peerjs=ws%3A&via={p}#x"
        )),
        Some(peer.clone())
    );
    assert_eq!(hub_in("https://x.example/o/not-a-peer"), None);
    assert_eq!(hub_in(""), None);
    assert_eq!(hub_in("hello"), None);
}
