//! Every error a person can see, in plain words, in one place.
//!
//! Pages never show an error's `Display` text (that goes to the console): they ask here. The
//! domain's errors — the owner's refusals, snapshot checks — are worded by the pure core
//! ([`starpoll_core::explain`], unit-tested natively) and re-exported; this module adds the
//! browser's own: reaching the owner, reaching the signaling server, storage.

use starpoll_core::follower::GoneReason;
use starpoll_core::participant::CommandProblem;

pub use starpoll_core::explain::{
    export_problem, identity_file_problem, refusal, refused, snapshot_problem,
};

use crate::context::IntentError;
use crate::error::StorageError;
use crate::follow::DialProblem;
use crate::hub::CreateError;
use crate::state::NetworkStatus;

/// Why a followed poll's owner cannot be reached now (a participant's page).
pub fn dial_problem(problem: &DialProblem) -> &'static str {
    match problem {
        DialProblem::OwnerOffline => {
            "The owner's browser is not online right now. Your vote and changes are kept in \
             this browser and sent by themselves when it is."
        }
        DialProblem::SelfOffline => {
            "This browser is offline: it cannot reach the signaling server, so it cannot reach \
             the owner. Your vote and changes are kept here and sent once you are back online."
        }
        DialProblem::NoAnswer => {
            "The owner's browser is online but did not answer in time (it may be asleep, or a \
             firewall is in the way). Trying again by itself."
        }
        DialProblem::Lost => {
            "The connection to the owner's browser broke. Reconnecting by itself; your changes \
             are kept here meanwhile."
        }
        DialProblem::Other(_) => {
            "Could not connect to the owner's browser. Trying again by itself; your changes are \
             kept here meanwhile."
        }
    }
}

/// A followed poll the owner does not have.
pub fn gone(reason: Option<GoneReason>) -> &'static str {
    match reason {
        Some(GoneReason::NotFound) => {
            "There is no such poll: the owner's browser answered, and it has no poll with this \
             ID. Check that the link was copied whole, or ask for a new one."
        }
        Some(GoneReason::Deleted) | None => {
            "This poll no longer exists: its owner deleted it. Nothing more can be sent to it."
        }
    }
}

/// Whether this tab is unreachable for participants, and why (`None`: others can reach it,
/// it is registering right now, or another tab of this browser is the one they reach). `server` is the signaling server's URL.
pub fn unreachable(status: &NetworkStatus, server: &str) -> Option<String> {
    match status {
        // Registering takes a moment at every load; a socket that cannot open or gets no answer
        // becomes `Unreachable` (the session's own timeout), so this is never for long.
        NetworkStatus::Online
        | NetworkStatus::OtherTab
        | NetworkStatus::TakenOver
        | NetworkStatus::Starting
        | NetworkStatus::Connecting => None,
        NetworkStatus::Unreachable | NetworkStatus::Reconnecting => Some(format!(
            "Can't reach the signaling server at {server}: participants can't connect to this \
             browser until it is back (or your network is). Retrying by itself."
        )),
        NetworkStatus::Stopped(why) => {
            Some(format!("Participants can't reach this browser: {why}"))
        }
    }
}

/// Why the participant's last command did not go through: the hub's refusal (worded by
/// `core::explain`), or why it could not be queued or stored (then it was not sent).
pub fn command_problem(problem: &CommandProblem) -> String {
    match problem {
        CommandProblem::Refused { command, code } => {
            starpoll_core::explain::refused(*code, command)
        }
        CommandProblem::Gone => "This poll is gone, so nothing more can be sent to it.".into(),
        CommandProblem::TooLarge => "This change is too large to send.".into(),
        CommandProblem::NotPrepared => {
            "This change could not be prepared. Reload the page and try again.".into()
        }
        CommandProblem::NotStored => "Your change could not be saved in this browser, so it was \
             not sent. Check that the browser lets this site store data (private windows may \
             not), then try again."
            .into(),
    }
}

/// A write or read of this browser's storage (IndexedDB) failed.
pub fn storage(error: &StorageError) -> String {
    gloo::console::error!(format!("storage: {error}"));
    match error {
        StorageError::Unavailable => "this browser does not let this site store data (private \
             windows may not)"
            .into(),
        StorageError::Corrupt { .. } => "the data stored in this browser could not be read".into(),
        _ => "this browser's storage refused it (it may be full, or the tab is closing)".into(),
    }
}

/// A file download the browser did not start.
pub fn download_failed() -> String {
    "The browser did not start the download. Try again, or allow downloads for this site.".into()
}

/// The owner's own action failed because this tab does not run the hub.
pub fn other_tab() -> String {
    "This tab does not serve your polls right now (another tab does): use that tab, or press \
     “Use this tab”."
        .into()
}

/// Why moving a poll to another hub (or taking it back) did not start (PROTOCOL.md §8).
pub fn move_problem(error: &crate::hub::MoveError) -> String {
    use starpoll_core::hub::MoveError as Core;
    match error {
        crate::hub::MoveError::Refused(e) => match e {
            Core::NotServed(_) => {
                "This browser neither serves this poll nor knows where it is served.".into()
            }
            Core::NotOwner(_) => "Only the poll's owner can move it.".into(),
            Core::Busy(_) => "A move of this poll is already under way; wait for it to end.".into(),
            Core::AlreadyThere(_) => "The poll is already served there.".into(),
            Core::Sign(_) => "This browser could not sign the move. Reload and try again.".into(),
            _ => "The move could not start. Reload and try again.".into(),
        },
        crate::hub::MoveError::Storage(_) => {
            "This browser could not store the move, so it did not start. Reload and try again."
                .into()
        }
    }
}

/// The text given as the hub to move a poll to names no peer.
pub fn not_a_hub() -> String {
    "That is not a peer ID, nor a link containing one (…/o/<peer ID> or …?via=<peer ID>).".into()
}

/// The hub did not take the poll in time: the move was called off.
pub fn move_aborted(hub: &str) -> String {
    format!(
        "{hub} did not take the poll in time (it may be offline), so the move was called off. \
         The poll is still served from this browser."
    )
}

/// A move is under way.
pub fn moving(hub: &str) -> String {
    format!("Handing the poll to {hub}… Votes wait until it is there.")
}

/// The owner's link to the hub serving its poll is not open yet.
pub fn hub_not_connected() -> String {
    "Not connected to the hub serving this poll yet. Try again once it says connected.".into()
}

/// An intent that did not do what the page asked, in plain words (the page shows this; the
/// cause stays in [`std::error::Error::source`] and the console).
impl std::fmt::Display for IntentError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = match self {
            IntentError::NotStarted => "starpoll is still starting. Try again in a moment.".into(),
            IntentError::OtherTab => other_tab(),
            IntentError::NotHosted(_) => "This browser no longer hosts this poll.".into(),
            IntentError::Refused {
                refusal: why,
                command,
            } => refusal(why, command),
            IntentError::Create(CreateError::Invalid(why)) => why.to_string(),
            IntentError::Create(CreateError::App(_)) => {
                "This browser could not create the poll (its storage or random number \
                 generator failed). Reload the page and try again."
                    .into()
            }
            IntentError::NotSaved(_) => {
                "Your change could not be saved in this browser, so it was not made.".into()
            }
            IntentError::Export(e) => export_problem(e),
            IntentError::Loading => "This poll is still loading.".into(),
            IntentError::NotPrepared(_) => {
                "This browser could not prepare your change. Reload the page and try again.".into()
            }
            IntentError::NotAHub => not_a_hub(),
            IntentError::Move(e) => move_problem(e),
            IntentError::HubNotConnected(_) => hub_not_connected(),
            IntentError::Storage(e) => storage(e),
            IntentError::NotForgotten(_) => {
                "This browser could not forget the poll (its storage failed). Try again.".into()
            }
            IntentError::IdentityNotReplaced(e) => {
                format!("The identity was not replaced: {}.", storage(e))
            }
            IntentError::Reload(_) => {
                "The identity was replaced; reload the page to continue.".into()
            }
        };
        f.write_str(&text)
    }
}
