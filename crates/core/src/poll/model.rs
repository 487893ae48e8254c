//! The poll itself: its data, its settings, its members and their ballots.
//!
//! Invariants of every [`Poll`] (checked by [`Poll::new`], kept by [`apply`](super::apply), and
//! re-checked when a poll is deserialized, so a corrupt stored poll is refused rather than used):
//! - the owner is a member with role [`Role::Owner`], and no one else has that role;
//! - option ids are distinct and below `next_option_id`; at most [`MAX_OPTIONS`] options, whose
//!   texts are distinct ignoring case and surrounding spaces;
//! - every ballot belongs to a member, is non-empty, names only existing options, and has at most
//!   as many choices as the [`PollKind`] allows;
//! - a ranked poll keeps, for exactly the voters with a ballot, their ranking (best first), whose
//!   options are exactly the ballot's; a date/time poll keeps, for exactly those voters, their
//!   answers, whose slots are exactly the ballot's; other kinds keep neither. So `ballots` always
//!   says who voted and which options their ballot names, whatever the kind;
//! - every text is clean for its [`Field`] (see [`limits`](super::limits));
//! - at most [`MAX_MEMBERS`] members.
//!
//! Maps are `BTreeMap`/`BTreeSet`, so the serialized form is deterministic: equal polls serialize
//! to equal bytes.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::ops::Deref;

use serde::{Deserialize, Deserializer, Serialize};

use super::limits::{clean, option_key, Field, MAX_MEMBERS, MAX_OPTIONS};
use super::{Answers, OptionId, PollId, Refusal, Revision};
use crate::wire::{required, unknown, WireError};
use crate::PeerId;

/// What a member may do in a poll.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Role {
    /// Created the poll; may do everything. Exactly one per poll, never reassigned.
    Owner,
    /// May vote and add options (if the settings let editors add them).
    Editor,
    /// May vote (and add options if the settings let everyone who votes add them).
    Voter,
    /// May only look and update their own profile.
    Viewer,
}

impl Role {
    /// Whether this role may cast a ballot.
    pub fn may_vote(self) -> bool {
        !matches!(self, Self::Viewer)
    }

    /// Whether this role may add options under `adders`.
    pub fn may_add_options(self, adders: OptionAdders) -> bool {
        match self {
            Self::Owner => true,
            Self::Editor => matches!(adders, OptionAdders::Editors | OptionAdders::Voters),
            Self::Voter => matches!(adders, OptionAdders::Voters),
            Self::Viewer => false,
        }
    }
}

impl Role {
    /// The indefinite article for this role's name ("an editor", "a voter").
    pub fn article(self) -> &'static str {
        match self {
            Self::Owner | Self::Editor => "an",
            Self::Voter | Self::Viewer => "a",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::Owner => "owner",
            Self::Editor => "editor",
            Self::Voter => "voter",
            Self::Viewer => "viewer",
        })
    }
}

/// The role a newcomer gets when joining.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum NewcomerRole {
    /// Newcomers may vote at once.
    Voter,
    /// Newcomers only look until the owner promotes them.
    Viewer,
}

impl From<NewcomerRole> for Role {
    fn from(role: NewcomerRole) -> Self {
        match role {
            NewcomerRole::Voter => Self::Voter,
            NewcomerRole::Viewer => Self::Viewer,
        }
    }
}

/// Who may add options after creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum OptionAdders {
    /// Only the owner.
    Owner,
    /// The owner and editors.
    Editors,
    /// Everyone who may vote (owner, editors, voters).
    Voters,
}

/// When members other than the owner see the results.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum ResultsVisibility {
    /// At all times.
    Always,
    /// Once they have a ballot in, or once the poll is closed.
    AfterVoting,
    /// Once the poll is closed.
    AfterClose,
}

/// A poll's settings, fixed at creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Settings {
    /// Who may add options.
    pub option_adders: OptionAdders,
    /// When results are visible.
    pub results: ResultsVisibility,
    /// The role of members who join.
    pub newcomer_role: NewcomerRole,
    /// Whether who voted for what is hidden from every view (tallies stay visible). The owner's
    /// browser still holds the ballots: it has to, to validate them.
    pub anonymous: bool,
    /// Whether the owner's `poll:list` shows this poll to anyone who asks. An unlisted poll (the
    /// default for new polls) is reached only by its id, i.e. by its invite link.
    ///
    /// Absent in polls, frames and snapshot files written before the setting existed; those
    /// read as listed, because every poll was in the list then and an owner may have handed out
    /// their peer ID as the way in ([`Settings::LISTED_WHEN_ABSENT`]).
    #[serde(default = "listed_when_absent")]
    pub listed: bool,
}

impl Settings {
    /// How a poll without the `listed` field reads: listed, as every poll was before the field.
    pub const LISTED_WHEN_ABSENT: bool = true;
}

fn listed_when_absent() -> bool {
    Settings::LISTED_WHEN_ABSENT
}

/// A new poll's settings unless the owner chooses otherwise: only the owner adds options, results
/// are always visible, newcomers vote, not anonymous, and unlisted.
impl Default for Settings {
    fn default() -> Self {
        Self {
            option_adders: OptionAdders::Owner,
            results: ResultsVisibility::Always,
            newcomer_role: NewcomerRole::Voter,
            anonymous: false,
            listed: false,
        }
    }
}

/// What a ballot is: a choice of options, a ranking, or an answer per time slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "camelCase", try_from = "PollKindFields")]
pub enum PollKind {
    /// At most one option.
    Single,
    /// At most `max` options (1..=[`MAX_OPTIONS`]).
    Multiple {
        /// The most options one ballot may choose.
        max: u32,
    },
    /// A date/time poll: the options are dates or time slots, and a ballot answers each slot
    /// yes / if need be / no ([`Answer`](super::Answer)); counted per slot with a best slot.
    Schedule,
    /// Ranked choice: a ballot ranks some or all options, best first; counted by instant runoff.
    Ranked,
}

impl PollKind {
    /// The most options one ballot may name (every option, for date/time and ranked polls).
    pub fn max_choices(self) -> u32 {
        match self {
            Self::Single => 1,
            Self::Multiple { max } => max,
            Self::Schedule | Self::Ranked => MAX_OPTIONS as u32,
        }
    }

    /// Whether a ballot of this kind is an answer per slot (`answers`) rather than a list of
    /// option ids (`optionIds`).
    pub fn answers_slots(self) -> bool {
        matches!(self, Self::Schedule)
    }

    pub(crate) fn check(self) -> Result<(), Refusal> {
        let max = self.max_choices();
        if max == 0 || max as usize > MAX_OPTIONS {
            return Err(Refusal::InvalidMaxChoices { max });
        }
        Ok(())
    }
}

/// A [`PollKind`] as JSON has it: `type` and every variant's fields (see [`crate::wire`]).
#[derive(Deserialize)]
struct PollKindFields {
    #[serde(rename = "type")]
    kind: String,
    max: Option<u32>,
}

impl TryFrom<PollKindFields> for PollKind {
    type Error = WireError;

    fn try_from(f: PollKindFields) -> Result<Self, WireError> {
        match f.kind.as_str() {
            "single" => Ok(Self::Single),
            "multiple" => Ok(Self::Multiple {
                max: required(f.max, "max")?,
            }),
            "schedule" => Ok(Self::Schedule),
            "ranked" => Ok(Self::Ranked),
            other => Err(unknown("type", other)),
        }
    }
}

/// Whether a poll accepts votes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum PollStatus {
    /// Accepting votes (unless the deadline has passed).
    Open,
    /// Not accepting votes or options.
    Closed,
}

/// One answer a ballot can choose.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollOption {
    /// Stable id, assigned by the owner.
    pub id: OptionId,
    /// The option's text.
    pub text: String,
    /// Who added it.
    pub added_by: PeerId,
}

/// A member of a poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Member {
    /// What the member may do.
    pub role: Role,
    /// The name others see.
    pub display_name: String,
}

/// The fields of a poll. Anyone can build one; only [`Poll`] guarantees the invariants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollData {
    /// The poll's id.
    pub id: PollId,
    /// The owner (the hub of the poll's star).
    pub owner: PeerId,
    /// One-line title.
    pub title: String,
    /// Free text, possibly empty.
    pub description: String,
    /// The options, in display order (the order they were added).
    pub options: Vec<PollOption>,
    /// The id the next added option gets.
    pub next_option_id: OptionId,
    /// Single or multiple choice.
    pub kind: PollKind,
    /// Open or closed.
    pub status: PollStatus,
    /// Votes at or after this Unix time (ms) are refused.
    pub deadline: Option<u64>,
    /// Settings fixed at creation.
    pub settings: Settings,
    /// Members by peer id.
    pub members: BTreeMap<PeerId, Member>,
    /// Each voter's current choices; withdrawing removes the entry. In ranked and date/time
    /// polls, the options the voter ranked or answered (the full ballot is in `rankings` or
    /// `answers`).
    pub ballots: BTreeMap<PeerId, BTreeSet<OptionId>>,
    /// Ranked polls: each voter's ranking, best first (absent from JSON when empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub rankings: BTreeMap<PeerId, Vec<OptionId>>,
    /// Date/time polls: each voter's answer per slot (absent from JSON when empty).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub answers: BTreeMap<PeerId, Answers>,
    /// Commands accepted so far.
    pub revision: Revision,
    /// Creation time, Unix ms.
    pub created_at: u64,
}

/// A poll whose data is known to satisfy the module's invariants. Read its fields through
/// [`Deref`] (`poll.title`); change it only through [`apply`](super::apply).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Poll(PollData);

impl Deref for Poll {
    type Target = PollData;
    fn deref(&self) -> &PollData {
        &self.0
    }
}

impl<'de> Deserialize<'de> for Poll {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let data = PollData::deserialize(deserializer)?;
        Self::try_from(data).map_err(serde::de::Error::custom)
    }
}

/// A poll's data breaks one of its invariants.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid poll: {0}")]
pub struct InvalidPoll(pub String);

impl TryFrom<PollData> for Poll {
    type Error = InvalidPoll;

    fn try_from(data: PollData) -> Result<Self, InvalidPoll> {
        check(&data).map_err(InvalidPoll)?;
        Ok(Self(data))
    }
}

impl From<Poll> for PollData {
    fn from(poll: Poll) -> Self {
        poll.0
    }
}

/// What the owner fills in to create a poll.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PollDraft {
    /// Title (trimmed; required).
    pub title: String,
    /// Description (trimmed; may be empty).
    pub description: String,
    /// Initial option texts, in order: at least two different ones ([`PollDraft::problems`]);
    /// blank rows are skipped.
    pub options: Vec<String>,
    /// Single or multiple choice.
    pub kind: PollKind,
    /// Optional closing time, Unix ms; must be in the future.
    pub deadline: Option<u64>,
    /// Settings.
    pub settings: Settings,
    /// The owner's display name.
    pub owner_name: String,
}

impl Poll {
    /// Creates a poll at revision 0, owned by `owner`, after checking every rule of the draft
    /// ([`PollDraft::problems`]).
    pub fn new(id: PollId, owner: PeerId, draft: PollDraft, now_ms: u64) -> Result<Self, Refusal> {
        // One set of rules for the form and the hub: the draft's first problem, if any.
        if let Some(problem) = draft.problems(now_ms).into_iter().next() {
            return Err(problem.refusal);
        }
        let title = clean(Field::Title, &draft.title)?;
        let description = clean(Field::Description, &draft.description)?;
        let owner_name = clean(Field::DisplayName, &draft.owner_name)?;
        let mut options: Vec<PollOption> = Vec::with_capacity(draft.options.len());
        let texts = draft.options.iter().filter(|t| !t.trim().is_empty());
        for (text, id) in texts.zip(1..) {
            options.push(PollOption {
                id: OptionId(id),
                text: clean(Field::OptionText, text)?,
                added_by: owner.clone(),
            });
        }
        let next = u32::try_from(options.len())
            .unwrap_or(u32::MAX)
            .saturating_add(1);
        let members = BTreeMap::from([(
            owner.clone(),
            Member {
                role: Role::Owner,
                display_name: owner_name,
            },
        )]);
        Ok(Self(PollData {
            id,
            owner,
            title,
            description,
            options,
            next_option_id: OptionId(next),
            kind: draft.kind,
            status: PollStatus::Open,
            deadline: draft.deadline,
            settings: draft.settings,
            members,
            ballots: BTreeMap::new(),
            rankings: BTreeMap::new(),
            answers: BTreeMap::new(),
            revision: Revision(0),
            created_at: now_ms,
        }))
    }

    /// Wraps data that [`apply`](super::apply) derived from a valid poll by a valid step.
    ///
    /// Debug builds re-check the invariants, so tests catch a step that breaks one.
    pub(crate) fn from_valid_step(data: PollData) -> Self {
        debug_assert_eq!(check(&data), Ok(()));
        Self(data)
    }

    /// The role of `peer`, if a member.
    pub fn role_of(&self, peer: &PeerId) -> Option<Role> {
        self.members.get(peer).map(|m| m.role)
    }

    /// The option with this id, if any.
    pub fn option(&self, id: OptionId) -> Option<&PollOption> {
        self.options.iter().find(|o| o.id == id)
    }

    /// Whether `voter`'s ballot in this poll is exactly what a `poll:vote` with these fields
    /// casts: the same options, and in a ranked poll the same ranking, in a date/time poll the
    /// same answers. (A snapshot checks each voter's signed vote with it.)
    pub fn holds_ballot(&self, voter: &PeerId, option_ids: &[OptionId], answers: &Answers) -> bool {
        let Some(choices) = self.ballots.get(voter) else {
            return false;
        };
        match self.kind {
            PollKind::Single | PollKind::Multiple { .. } => {
                answers.is_empty()
                    && option_ids.iter().copied().collect::<BTreeSet<_>>() == *choices
            }
            PollKind::Ranked => {
                answers.is_empty()
                    && self.rankings.get(voter).map(Vec::as_slice) == Some(option_ids)
            }
            PollKind::Schedule => option_ids.is_empty() && self.answers.get(voter) == Some(answers),
        }
    }

    /// Whether a vote at `now_ms` would be too late.
    pub fn deadline_passed(&self, now_ms: u64) -> bool {
        self.deadline.is_some_and(|deadline| now_ms >= deadline)
    }
}

/// Checks every invariant in the module docs.
fn check(data: &PollData) -> Result<(), String> {
    let clean_as = |field, text: &str| match clean(field, text) {
        Ok(cleaned) if cleaned == text => Ok(()),
        _ => Err(format!("{field} is not clean: {text:?}")),
    };
    clean_as(Field::Title, &data.title)?;
    clean_as(Field::Description, &data.description)?;
    data.kind.check().map_err(|e| e.to_string())?;
    match data.members.get(&data.owner) {
        Some(member) if member.role == Role::Owner => {}
        _ => return Err("the owner is not a member with the owner role".into()),
    }
    if data.members.len() > MAX_MEMBERS {
        return Err("too many members".into());
    }
    for (peer, member) in &data.members {
        clean_as(Field::DisplayName, &member.display_name)?;
        if member.role == Role::Owner && *peer != data.owner {
            return Err(format!("{peer} has the owner role but is not the owner"));
        }
    }
    if data.options.len() > MAX_OPTIONS {
        return Err("too many options".into());
    }
    let mut ids = BTreeSet::new();
    let mut keys = BTreeSet::new();
    for option in &data.options {
        clean_as(Field::OptionText, &option.text)?;
        if option.id >= data.next_option_id || !ids.insert(option.id) {
            return Err(format!(
                "option id {} is reused or not yet issued",
                option.id
            ));
        }
        if !keys.insert(option_key(&option.text)) {
            return Err(format!("duplicate option {:?}", option.text));
        }
    }
    let max = data.kind.max_choices() as usize;
    for (voter, choices) in &data.ballots {
        if !data.members.contains_key(voter) {
            return Err(format!("ballot from non-member {voter}"));
        }
        if choices.is_empty() || choices.len() > max {
            return Err(format!("ballot of {voter} has {} choices", choices.len()));
        }
        if let Some(unknown) = choices.iter().find(|id| !ids.contains(id)) {
            return Err(format!("ballot of {voter} names unknown option {unknown}"));
        }
        let detail_matches = match data.kind {
            PollKind::Ranked => data.rankings.get(voter).is_some_and(|ranking| {
                ranking.len() == choices.len()
                    && ranking.iter().copied().collect::<BTreeSet<_>>() == *choices
            }),
            PollKind::Schedule => data
                .answers
                .get(voter)
                .is_some_and(|answers| answers.keys().eq(choices.iter())),
            PollKind::Single | PollKind::Multiple { .. } => true,
        };
        if !detail_matches {
            return Err(format!(
                "the {} of {voter} does not match their ballot",
                if data.kind.answers_slots() {
                    "answers"
                } else {
                    "ranking"
                }
            ));
        }
    }
    let ranked = matches!(data.kind, PollKind::Ranked);
    let schedule = data.kind.answers_slots();
    if data.rankings.len() != if ranked { data.ballots.len() } else { 0 } {
        return Err("rankings do not match the ballots".into());
    }
    if data.answers.len() != if schedule { data.ballots.len() } else { 0 } {
        return Err("answers do not match the ballots".into());
    }
    Ok(())
}
