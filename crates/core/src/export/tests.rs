//! Tests of the results CSV: layout, percentages, quoting, formula injection, visibility.

use std::collections::{BTreeMap, BTreeSet};

use proptest::prelude::*;

use super::*;
use crate::poll::{
    apply, view_for, Command, Member, OptionId, Poll, PollDraft, PollKind, PollOption,
    ResultsVisibility, Role, Settings, TallyEntry,
};
use crate::testing::{identity, poll_id, NOW};

fn poll(options: &[&str], kind: PollKind, settings: Settings) -> Poll {
    let draft = PollDraft {
        title: "Lunch?".into(),
        description: String::new(),
        options: options.iter().map(|&o| o.to_owned()).collect(),
        kind,
        deadline: None,
        settings,
        owner_name: "Olga".into(),
    };
    Poll::new(poll_id(), identity(1).peer_id().clone(), draft, NOW).unwrap()
}

/// Member `n` joins as `name` and votes for `choices` (1-based option ids).
fn vote(poll: Poll, n: u8, name: &str, choices: &[u32]) -> Poll {
    let me = identity(n);
    let join = Command::Join {
        display_name: name.into(),
    };
    let (poll, _) = apply(&poll, me.peer_id(), &join, NOW).unwrap();
    let cast = Command::CastVote {
        option_ids: choices.iter().copied().map(OptionId).collect(),
        answers: Default::default(),
    };
    apply(&poll, me.peer_id(), &cast, NOW).unwrap().0
}

fn owner_view(poll: &Poll) -> PollView {
    view_for(poll, identity(1).peer_id())
}

fn lines(csv: &str) -> Vec<&str> {
    assert!(csv.ends_with("\r\n"), "{csv:?}");
    csv.strip_suffix("\r\n").unwrap().split("\r\n").collect()
}

#[test]
fn named_ballots_give_a_voters_column_in_option_order() {
    let mut p = poll(
        &["Pizza", "Sushi", "Tacos"],
        PollKind::Single,
        Settings::default(),
    );
    p = vote(p, 2, "Zoe", &[2]);
    p = vote(p, 3, "Ann", &[2]);
    p = vote(p, 4, "Bob", &[1]);
    let csv = results_csv(&owner_view(&p)).unwrap();
    assert_eq!(
        lines(&csv),
        [
            "Option,Votes,Percent,Voters",
            "Pizza,1,33.3,Bob",
            "Sushi,2,66.7,Ann; Zoe",
            "Tacos,0,0.0,",
        ]
    );
}

#[test]
fn anonymous_polls_have_no_voters_column() {
    let settings = Settings {
        anonymous: true,
        ..Settings::default()
    };
    let mut p = poll(&["Pizza", "Sushi"], PollKind::Single, settings);
    p = vote(p, 2, "Zoe", &[2]);
    p = vote(p, 3, "Ann", &[2]);
    p = vote(p, 4, "Bob", &[1]);
    p = vote(p, 5, "Cy", &[2]);
    let csv = results_csv(&owner_view(&p)).unwrap();
    assert_eq!(
        lines(&csv),
        ["Option,Votes,Percent", "Pizza,1,25.0", "Sushi,3,75.0"]
    );
    assert!(!csv.contains("Zoe"));
}

#[test]
fn multiple_choice_percentages_are_of_ballots_not_of_choices() {
    let kind = PollKind::Multiple { max: 3 };
    let mut p = poll(&["A", "B", "C"], kind, Settings::default());
    p = vote(p, 2, "Ann", &[1, 2]);
    p = vote(p, 3, "Bob", &[1]);
    p = vote(p, 4, "Cy", &[1, 2, 3]);
    let csv = results_csv(&owner_view(&p)).unwrap();
    assert_eq!(
        lines(&csv),
        [
            "Option,Votes,Percent,Voters",
            "A,3,100.0,Ann; Bob; Cy",
            "B,2,66.7,Ann; Cy",
            "C,1,33.3,Cy",
        ]
    );
    // Anonymous and multiple choice: the number of ballots is unknown, so no percent.
    let settings = Settings {
        anonymous: true,
        ..Settings::default()
    };
    let mut p = poll(&["A", "B"], kind, settings);
    p = vote(p, 2, "Ann", &[1, 2]);
    p = vote(p, 3, "Bob", &[1]);
    let csv = results_csv(&owner_view(&p)).unwrap();
    assert_eq!(lines(&csv), ["Option,Votes,Percent", "A,2,", "B,1,"]);
}

#[test]
fn percentages_round_half_up_to_one_decimal() {
    assert_eq!(percent(0, 0), "0.0");
    assert_eq!(percent(0, 3), "0.0");
    assert_eq!(percent(1, 3), "33.3");
    assert_eq!(percent(2, 3), "66.7");
    assert_eq!(percent(1, 16), "6.3"); // 6.25
    assert_eq!(percent(1, 8), "12.5");
    assert_eq!(percent(1, 2000), "0.1"); // 0.05
    assert_eq!(percent(1, 2001), "0.0");
    assert_eq!(percent(7, 7), "100.0");
}

#[test]
fn a_poll_without_votes_is_all_zero() {
    let p = poll(&["Pizza", "Sushi"], PollKind::Single, Settings::default());
    let csv = results_csv(&owner_view(&p)).unwrap();
    assert_eq!(
        lines(&csv),
        [
            "Option,Votes,Percent,Voters",
            "Pizza,0,0.0,",
            "Sushi,0,0.0,"
        ]
    );
}

#[test]
fn hidden_results_are_an_error_not_an_empty_table() {
    let settings = Settings {
        results: ResultsVisibility::AfterClose,
        ..Settings::default()
    };
    let p = vote(
        poll(&["Pizza", "Sushi"], PollKind::Single, settings),
        2,
        "Ann",
        &[1],
    );
    let ann = view_for(&p, identity(2).peer_id());
    assert_eq!(results_csv(&ann), Err(CsvError::ResultsHidden));
    // The owner always sees them.
    assert!(results_csv(&owner_view(&p)).is_ok());
}

/// A view built by hand, to reach texts the poll rules would refuse.
fn view_with(options: &[&str], names: &[&str]) -> PollView {
    let p = poll(
        &["x", "y"],
        PollKind::Multiple { max: 50 },
        Settings::default(),
    );
    let mut view = owner_view(&p);
    view.options = options
        .iter()
        .zip(1..)
        .map(|(&text, id)| PollOption {
            id: OptionId(id),
            text: text.into(),
            added_by: identity(1).peer_id().clone(),
        })
        .collect();
    let all: BTreeSet<OptionId> = view.options.iter().map(|o| o.id).collect();
    let mut ballots = BTreeMap::new();
    for (&name, n) in names.iter().zip(2..) {
        let peer = identity(n).peer_id().clone();
        view.members.insert(
            peer.clone(),
            Member {
                role: Role::Voter,
                display_name: name.into(),
            },
        );
        ballots.insert(peer, all.clone());
    }
    let tally = view
        .options
        .iter()
        .map(|o| TallyEntry {
            option_id: o.id,
            votes: u32::try_from(names.len()).unwrap(),
        })
        .collect();
    view.results = Some(ResultsView {
        tally,
        ballots: Some(ballots),
        rankings: None,
        answers: None,
        slots: None,
        runoff: None,
    });
    view
}

#[test]
fn fields_are_quoted_as_rfc_4180_says() {
    let view = view_with(
        &["plain", "a, b", "say \"hi\"", "two\nlines", "cr\rhere"],
        &["Ann"],
    );
    let csv = results_csv(&view).unwrap();
    assert_eq!(
        csv,
        "Option,Votes,Percent,Voters\r\n\
         plain,1,100.0,Ann\r\n\
         \"a, b\",1,100.0,Ann\r\n\
         \"say \"\"hi\"\"\",1,100.0,Ann\r\n\
         \"two\nlines\",1,100.0,Ann\r\n\
         \"cr\rhere\",1,100.0,Ann\r\n"
    );
}

#[test]
fn cells_that_could_start_a_formula_are_neutralised() {
    let view = view_with(
        &["=SUM(A1)", "+1", "-1", "@cmd", "\tx", "\ry", "=a,b", "a=b"],
        &["=HYPERLINK(\"http://x\")", "Bob"],
    );
    let csv = results_csv(&view).unwrap();
    let rows = lines(&csv);
    assert_eq!(
        &rows[1..],
        [
            "'=SUM(A1),2,100.0,\"'=HYPERLINK(\"\"http://x\"\"); Bob\"",
            "'+1,2,100.0,\"'=HYPERLINK(\"\"http://x\"\"); Bob\"",
            "'-1,2,100.0,\"'=HYPERLINK(\"\"http://x\"\"); Bob\"",
            "'@cmd,2,100.0,\"'=HYPERLINK(\"\"http://x\"\"); Bob\"",
            "'\tx,2,100.0,\"'=HYPERLINK(\"\"http://x\"\"); Bob\"",
            "\"'\ry\",2,100.0,\"'=HYPERLINK(\"\"http://x\"\"); Bob\"",
            "\"'=a,b\",2,100.0,\"'=HYPERLINK(\"\"http://x\"\"); Bob\"",
            "a=b,2,100.0,\"'=HYPERLINK(\"\"http://x\"\"); Bob\"",
        ]
    );
}

/// Splits RFC 4180 text into records of fields (a reader for the property test).
fn parse(csv: &str) -> Vec<Vec<String>> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = csv.chars().peekable();
    let mut quoted = false;
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                chars.next();
                field.push('"');
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') if chars.peek() == Some(&'\n') => {
                chars.next();
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    assert!(field.is_empty() && record.is_empty(), "unterminated record");
    records
}

proptest! {
    /// Whatever the texts, a CSV reader gets back one record per option with each text intact
    /// (after the `'` guard), and no cell starts a formula.
    #[test]
    fn any_texts_read_back_intact(
        options in proptest::collection::vec("[a-z=+@\\-\t\r\n\",; ]{0,12}", 1..6),
        names in proptest::collection::vec("[A-Za-z=+@\\-\t\",; ]{1,8}", 0..4),
    ) {
        let options: Vec<&str> = options.iter().map(String::as_str).collect();
        let names: Vec<&str> = names.iter().map(String::as_str).collect();
        let view = view_with(&options, &names);
        let records = parse(&results_csv(&view).unwrap());
        prop_assert_eq!(records.len(), options.len() + 1);
        for (record, text) in records[1..].iter().zip(&options) {
            prop_assert_eq!(record.len(), 4);
            let guarded = text.starts_with(['=', '+', '-', '@', '\t', '\r']);
            let expected = if guarded { format!("'{text}") } else { (*text).to_owned() };
            prop_assert_eq!(&record[0], &expected);
            for cell in record {
                prop_assert!(!cell.starts_with(['=', '+', '-', '@', '\t', '\r']), "{:?}", cell);
            }
        }
    }
}

#[test]
fn iso_times_are_utc_calendar_dates() {
    assert_eq!(iso_utc(0), "1970-01-01T00:00:00Z");
    assert_eq!(iso_utc(951_782_400_000), "2000-02-29T00:00:00Z");
    assert_eq!(iso_utc(1_700_000_000_999), "2023-11-14T22:13:20Z");
    assert_eq!(iso_utc(4_107_542_399_000), "2100-02-28T23:59:59Z");
    assert_eq!(iso_utc(4_107_542_400_000), "2100-03-01T00:00:00Z");
}

#[test]
fn the_file_starts_with_a_bom_and_names_the_poll_and_the_time() {
    let p = poll(&["A", "B"], PollKind::Single, Settings::default());
    let view = owner_view(&p);
    let file = results_file(&view, 1_700_000_000_000).unwrap();
    let table = results_csv(&view).unwrap();
    let expected = format!(
        "\u{feff}Poll,{}\r\nExported,2023-11-14T22:13:20Z\r\n\r\n{table}",
        view.title
    );
    assert_eq!(file, expected);
    // A title that would start a formula is neutralised like any text cell.
    let mut hostile = view.clone();
    hostile.title = "=HYPERLINK(\"x\")".into();
    assert!(results_file(&hostile, 0)
        .unwrap()
        .starts_with("\u{feff}Poll,\"'=HYPERLINK(\"\"x\"\")\"\r\n"));
}

#[test]
fn screens_and_csv_share_one_percentage() {
    let anonymous = Settings {
        anonymous: true,
        ..Settings::default()
    };
    let cases = [
        (PollKind::Single, Settings::default()),
        (PollKind::Single, anonymous),
        (PollKind::Multiple { max: 3 }, Settings::default()),
        (PollKind::Multiple { max: 3 }, anonymous),
    ];
    for (kind, settings) in cases {
        let mut p = poll(&["A", "B", "C"], kind, settings);
        let multi = matches!(kind, PollKind::Multiple { .. });
        p = vote(p, 2, "Ann", if multi { &[1, 2] } else { &[1] });
        p = vote(p, 3, "Bob", &[1]);
        p = vote(p, 4, "Cy", &[3]);
        let view = owner_view(&p);
        let csv = results_csv(&view).unwrap();
        for (option, line) in view.options.iter().zip(lines(&csv).into_iter().skip(1)) {
            let cell = line.split(',').nth(2).unwrap();
            let shown = view
                .share_tenths(option.id)
                .map_or_else(String::new, |t| format!("{}.{}", t / 10, t % 10));
            assert_eq!(cell, shown, "{kind:?} anonymous={}", settings.anonymous);
        }
        // Only an anonymous multiple-choice view does not know how many ballots were cast.
        let unknown = multi && settings.anonymous;
        assert_eq!(view.ballots_cast().is_none(), unknown);
        if !unknown {
            assert_eq!(view.share_tenths(OptionId(1)), Some(667));
        }
    }
}
