//! The plain-language messages: the page's words, the thing named, the next step said.

use super::*;
use crate::poll::{Action, PollId, Role};
use crate::protocol::ErrorCode;
use crate::snapshot::verify;
use crate::testing::identity;

fn add(text: &str) -> Command {
    Command::AddOption { text: text.into() }
}

fn edit(title: Option<&str>, description: Option<&str>) -> Command {
    Command::EditPoll {
        title: title.map(str::to_owned),
        description: description.map(str::to_owned),
        deadline: None,
    }
}

#[test]
fn a_duplicate_option_is_named() {
    assert_eq!(
        refused(ErrorCode::DuplicateOption, &add("  Pizza ")),
        "“Pizza” is already an option."
    );
    assert_eq!(
        refusal(&Refusal::DuplicateOption, &add("Sushi")),
        "“Sushi” is already an option."
    );
}

#[test]
fn the_title_is_called_the_question() {
    let empty = Refusal::EmptyText {
        field: Field::Title,
    };
    // The raw refusal says "title"; the page labels the field "Question".
    assert_eq!(empty.to_string(), "the title must not be empty");
    let text = refusal(&empty, &edit(Some("  "), None));
    assert_eq!(text, "The question must not be empty.");
    // From the wire, the field is found from the command.
    assert_eq!(
        refused(ErrorCode::EmptyText, &edit(Some(" "), Some("fine"))),
        "The question must not be empty."
    );
    assert_eq!(
        refused(ErrorCode::EmptyText, &add(" ")),
        "The option must not be empty."
    );
    assert_eq!(
        refused(
            ErrorCode::EmptyText,
            &Command::Join {
                display_name: String::new()
            }
        ),
        "The name must not be empty."
    );
}

#[test]
fn too_long_text_says_how_long_and_the_limit() {
    let long = "x".repeat(250);
    assert_eq!(
        refused(ErrorCode::TextTooLong, &add(&long)),
        "The option is 250 characters long; it may have at most 200."
    );
    // An edit whose details break the limit is about the details, not the question.
    let details = "d".repeat(2001);
    assert_eq!(
        refused(ErrorCode::TextTooLong, &edit(Some("ok"), Some(&details))),
        "The details are 2001 characters long; they may have at most 2000."
    );
    assert!(refused(ErrorCode::TextTooLong, &edit(Some(&long), None)).starts_with("The question"));
}

#[test]
fn a_bad_character_names_its_field() {
    assert_eq!(
        refused(ErrorCode::InvalidCharacter, &edit(Some("a\u{7}b"), None)),
        "The question contains a character that is not allowed (such as a line break). Remove \
         it and try again."
    );
    // A line break is fine in the details but not in the question.
    let text = refused(
        ErrorCode::InvalidCharacter,
        &edit(Some("fine"), Some("bad\u{0}")),
    );
    assert!(text.starts_with("The details contain a"), "{text}");
}

#[test]
fn reopening_after_the_deadline_says_to_change_the_deadline() {
    let text = refusal(&Refusal::DeadlinePassed, &Command::Reopen);
    assert!(text.contains("change the deadline"), "{text}");
    // A vote after the deadline says it was not counted instead.
    let vote = Command::CastVote {
        option_ids: Vec::new(),
        answers: Default::default(),
    };
    let text = refused(ErrorCode::DeadlinePassed, &vote);
    assert!(text.contains("not counted") && !text.contains("change the deadline"));
}

#[test]
fn a_viewer_is_told_in_words_not_roles() {
    let refusal_of = Refusal::NotPermitted {
        role: Role::Viewer,
        action: Action::Vote,
    };
    let vote = Command::CastVote {
        option_ids: Vec::new(),
        answers: Default::default(),
    };
    assert_eq!(refusal_of.to_string(), "a viewer may not vote");
    assert_eq!(
        refusal(&refusal_of, &vote),
        "The owner has not let you vote in this poll: you can watch it only."
    );
    assert_eq!(
        refused(ErrorCode::NotPermitted, &add("x")),
        "Your role in this poll does not let you add options."
    );
}

#[test]
fn every_code_has_a_sentence_without_raw_codes() {
    let codes = [
        ErrorCode::NotAMember,
        ErrorCode::NotPermitted,
        ErrorCode::PollClosed,
        ErrorCode::DeadlinePassed,
        ErrorCode::DeadlineInPast,
        ErrorCode::UnknownOption,
        ErrorCode::DuplicateChoice,
        ErrorCode::TooManyChoices,
        ErrorCode::EmptyText,
        ErrorCode::TextTooLong,
        ErrorCode::InvalidCharacter,
        ErrorCode::DuplicateOption,
        ErrorCode::TooManyOptions,
        ErrorCode::TooManyMembers,
        ErrorCode::InvalidMaxChoices,
        ErrorCode::UnknownMember,
        ErrorCode::CannotChangeOwnerRole,
        ErrorCode::CannotMakeOwner,
        ErrorCode::AlreadyClosed,
        ErrorCode::AlreadyOpen,
        ErrorCode::CommandIdReused,
        ErrorCode::UnknownPoll,
        ErrorCode::PollDeleted,
        ErrorCode::TooLarge,
        ErrorCode::BadJson,
        ErrorCode::UnsupportedVersion,
        ErrorCode::BadSignature,
        ErrorCode::SignerMismatch,
        ErrorCode::UnknownType,
        ErrorCode::InvalidField,
        ErrorCode::Internal,
        ErrorCode::RateLimited,
    ];
    for code in codes {
        let text = refused(code, &Command::Close);
        let wire = serde_json::to_string(&code).unwrap();
        assert!(!text.contains(wire.trim_matches('"')), "{code:?}: {text}");
        assert!(text.ends_with('.'), "{code:?}: {text}");
        assert!(text.starts_with(char::is_uppercase), "{code:?}: {text}");
    }
}

#[test]
fn a_file_that_is_not_json_is_not_a_parser_message() {
    let error = verify("hello").unwrap_err();
    assert!(error.to_string().contains("line 1 column 1"));
    let text = snapshot_problem(&error);
    assert!(text.contains("not a starpoll snapshot"), "{text}");
    assert!(!text.contains("line 1"), "{text}");
}

#[test]
fn a_tampered_snapshot_says_the_signature_does_not_match() {
    let owner = identity(1);
    let poll = crate::poll::Poll::new(
        PollId::from_random_bytes([1; 16]),
        owner.peer_id().clone(),
        crate::testing::lunch_draft(),
        1,
    )
    .unwrap();
    let file = crate::snapshot::export(&owner, &poll, &[], 2).unwrap();
    let mut raw: serde_json::Value = serde_json::from_str(&file).unwrap();
    let body = raw["body"].as_str().unwrap().replace("Lunch", "Brunch");
    raw["body"] = serde_json::Value::String(body);
    let error = verify(&raw.to_string()).unwrap_err();
    let text = snapshot_problem(&error);
    assert!(text.contains("signature does not match"), "{error}: {text}");
}

#[test]
fn an_export_of_an_unsigned_ballot_says_who_must_vote_again() {
    let voter = identity(3).peer_id().clone();
    let text = export_problem(&ExportError::UnsignedBallot {
        voter: voter.clone(),
    });
    assert!(text.contains(&voter.as_str()[..8]), "{text}");
    assert!(text.contains("vote again"), "{text}");
    assert!(
        !text.contains(voter.as_str()),
        "the whole peer ID is not shown: {text}"
    );
}

#[test]
fn an_identity_file_that_is_not_json_is_not_a_parser_message() {
    let error = crate::identity_file::decode("hello").unwrap_err();
    assert!(error.to_string().contains("line 1 column 1"), "{error}");
    let text = identity_file_problem(&error);
    assert!(text.contains("not a starpoll identity file"), "{text}");
    assert!(!text.contains("line 1"), "{text}");
}
