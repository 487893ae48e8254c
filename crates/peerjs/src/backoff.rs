//! Exponential backoff with full jitter, as a pure value: the caller supplies the random number
//! and decides what to do with the delay (reconnect a socket, retry an outbox entry, …).
//!
//! Invariants: [`Backoff::next_delay`] returns a value in `0..=min(cap_ms, base_ms · 2^attempt)`
//! for the attempt count *before* the call, then counts the attempt; arithmetic saturates, so no
//! attempt count (up to `u32::MAX`) overflows or panics. [`Backoff::reset`] returns to attempt 0.

#![deny(clippy::unwrap_used, clippy::expect_used)]

/// Exponential backoff state: `attempt` delays have been handed out since the last reset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    /// The ceiling of the first delay, in milliseconds.
    pub base_ms: u64,
    /// No delay ever exceeds this, in milliseconds.
    pub cap_ms: u64,
    /// How many delays were handed out since the last [`Backoff::reset`].
    pub attempt: u32,
}

impl Backoff {
    /// A backoff at attempt 0.
    pub const fn new(base_ms: u64, cap_ms: u64) -> Self {
        Self {
            base_ms,
            cap_ms,
            attempt: 0,
        }
    }

    /// The largest delay the next call to [`Backoff::next_delay`] can return:
    /// `min(cap_ms, base_ms · 2^attempt)`, saturating.
    pub fn ceiling(&self) -> u64 {
        let factor = 1u64.checked_shl(self.attempt).unwrap_or(u64::MAX);
        self.base_ms.saturating_mul(factor).min(self.cap_ms)
    }

    /// The next delay in milliseconds, uniform over `0..=ceiling()` ("full jitter") given a
    /// uniformly random `random`, and counts one more attempt.
    pub fn next_delay(&mut self, random: u32) -> u64 {
        let ceiling = u128::from(self.ceiling());
        self.attempt = self.attempt.saturating_add(1);
        // (random / 2^32) · (ceiling + 1), floored: always <= ceiling, so it fits in u64.
        let delay = (u128::from(random) * (ceiling + 1)) >> 32;
        u64::try_from(delay).unwrap_or(u64::MAX)
    }

    /// Back to attempt 0 (after a success).
    pub fn reset(&mut self) {
        self.attempt = 0;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use proptest::prelude::*;

    #[test]
    fn ceilings_double_up_to_the_cap() {
        let mut b = Backoff::new(500, 30_000);
        let mut ceilings = Vec::new();
        for _ in 0..9 {
            ceilings.push(b.ceiling());
            b.next_delay(0);
        }
        assert_eq!(
            ceilings,
            [500, 1000, 2000, 4000, 8000, 16_000, 30_000, 30_000, 30_000]
        );
    }

    #[test]
    fn extreme_randoms_hit_both_ends() {
        let mut b = Backoff::new(500, 30_000);
        assert_eq!(b.next_delay(0), 0);
        b.reset();
        assert_eq!(b.next_delay(u32::MAX), 500);
        assert_eq!(b.next_delay(u32::MAX), 1000);
        assert_eq!(b.next_delay(u32::MAX / 2), 1000); // half of 0..=2000
    }

    #[test]
    fn reset_returns_to_the_base() {
        let mut b = Backoff::new(500, 30_000);
        for _ in 0..20 {
            b.next_delay(7);
        }
        assert_eq!(b.ceiling(), 30_000);
        b.reset();
        assert_eq!(b.attempt, 0);
        assert_eq!(b.ceiling(), 500);
    }

    #[test]
    fn huge_attempt_counts_do_not_overflow() {
        let mut b = Backoff {
            base_ms: u64::MAX,
            cap_ms: u64::MAX,
            attempt: u32::MAX,
        };
        assert_eq!(b.ceiling(), u64::MAX);
        assert_eq!(b.next_delay(u32::MAX), u64::from(u32::MAX) << 32);
        assert_eq!(b.attempt, u32::MAX);
        let mut small = Backoff {
            base_ms: 3,
            cap_ms: 10,
            attempt: 64,
        };
        assert_eq!(small.ceiling(), 10);
        assert!(small.next_delay(u32::MAX) <= 10);
    }

    #[test]
    fn zero_base_never_waits() {
        let mut b = Backoff::new(0, 30_000);
        for r in [0, 1, u32::MAX] {
            assert_eq!(b.next_delay(r), 0);
        }
    }

    proptest! {
        #[test]
        fn delay_is_within_bounds(base in 0u64..100_000, cap in 0u64..10_000_000,
                                  attempt in 0u32..200, random: u32) {
            let mut b = Backoff { base_ms: base, cap_ms: cap, attempt };
            let ceiling = b.ceiling();
            prop_assert!(ceiling <= cap);
            let delay = b.next_delay(random);
            prop_assert!(delay <= ceiling);
            prop_assert_eq!(b.attempt, attempt + 1);
        }

        #[test]
        fn delay_grows_with_random(base in 1u64..100_000, attempt in 0u32..20, a: u32, c: u32) {
            let b = Backoff { base_ms: base, cap_ms: 30_000, attempt };
            let (lo, hi) = if a <= c { (a, c) } else { (c, a) };
            let (mut x, mut y) = (b, b);
            prop_assert!(x.next_delay(lo) <= y.next_delay(hi));
        }
    }
}
