//! One timer armed at a sans-IO machine's `poll_timeout` (Unix ms), for a driver that feeds the
//! machine its timeout when it fires. Invariant: the armed timer is never later than the last
//! deadline asked for — a deadline earlier than the armed one re-arms, a later one keeps it (a
//! timer that fires before the machine needs it costs one empty `handle_timeout`, after which
//! the driver arms again). Dropping the [`Wakeup`] cancels the timer (gloo's `Timeout`).

use gloo::timers::callback::Timeout;

/// The timer of one driver.
#[derive(Default)]
pub struct Wakeup {
    armed: Option<(Timeout, u64)>,
}

impl Wakeup {
    /// Arms the timer at `at` (`now` is the current time), calling `fire` then, unless one at
    /// least as early is armed; `None` (the machine needs no timer) cancels it.
    pub fn arm(&mut self, at: Option<u64>, now: u64, fire: impl FnOnce() + 'static) {
        let Some(at) = at else {
            self.armed = None;
            return;
        };
        if self.armed.as_ref().is_some_and(|(_, armed)| *armed <= at) {
            return;
        }
        let delay = u32::try_from(at.saturating_sub(now)).unwrap_or(u32::MAX);
        self.armed = Some((Timeout::new(delay, fire), at));
    }

    /// The timer fired: nothing is armed until the next [`Wakeup::arm`].
    pub fn fired(&mut self) {
        self.armed = None;
    }
}
