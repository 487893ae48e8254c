//! [`SessionInbox`]: the one way a [`DataConnection`](super::DataConnection) talks back to its
//! peer's signaling session.
//!
//! A connection only *posts* session inputs (its offer or answer, its ICE candidates, opened,
//! closed); it never calls into the peer. The peer queues what is posted and feeds it to the
//! session in the order it was posted, also when a post happens while the peer is itself acting
//! on the session's outputs (closing a connection from inside the peer's loop, say). So the
//! connection module does not depend on the peer module, and no input can overtake another.

use std::rc::{Rc, Weak};

use crate::session::Input;

/// Where a connection posts its session inputs. Posting after the peer is gone does nothing.
#[derive(Clone)]
pub(crate) struct SessionInbox(Weak<dyn Fn(Input)>);

impl SessionInbox {
    /// An inbox that hands each input to `deliver` while the owner of `deliver` is alive.
    pub(crate) fn new(deliver: &Rc<dyn Fn(Input)>) -> Self {
        Self(Rc::downgrade(deliver))
    }

    /// Hands `input` to the session (queued behind anything posted before it).
    pub(crate) fn post(&self, input: Input) {
        if let Some(deliver) = self.0.upgrade() {
            deliver(input);
        }
    }
}
