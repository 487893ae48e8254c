//! The outbox and the redial schedule under simulated time.

use proptest::prelude::*;

use super::*;
use crate::poll::OptionId;
use crate::testing::{cid, NOW};

fn vote(n: u32) -> Command {
    Command::CastVote {
        option_ids: [OptionId(n)].into_iter().collect(),
        answers: Default::default(),
    }
}

/// An outbox with commands 1..=n staged and saved; frame of `cid(k)` is `"frame k"`.
fn saved(n: u8) -> Outbox {
    let mut outbox = Outbox::new();
    for k in 1..=n {
        outbox.stage(cid(k), vote(u32::from(k)), format!("frame {k}"));
        assert!(outbox.saved(cid(k)));
    }
    outbox
}

fn frames(range: std::ops::RangeInclusive<u8>) -> Vec<String> {
    range.map(|k| format!("frame {k}")).collect()
}

#[test]
fn nothing_is_sent_before_it_is_saved() {
    let mut outbox = Outbox::new();
    assert_eq!(outbox.stage(cid(1), vote(1), "frame 1".into()), Some(0));
    assert_eq!(outbox.flush(NOW), Vec::<String>::new());
    assert_eq!(
        outbox.len(),
        1,
        "an unsaved command is still pending (and shown)"
    );
    assert!(outbox.saved(cid(1)));
    assert_eq!(outbox.flush(NOW), frames(1..=1));
}

#[test]
fn flush_keeps_order_and_stops_at_the_first_unsaved_entry() {
    let mut outbox = saved(2);
    outbox.stage(cid(3), vote(3), "frame 3".into());
    outbox.stage(cid(4), vote(4), "frame 4".into());
    outbox.saved(cid(4));
    assert_eq!(outbox.flush(NOW), frames(1..=2), "4 may not overtake 3");
    outbox.saved(cid(3));
    assert_eq!(outbox.flush(NOW + 1), frames(3..=4));
    assert_eq!(
        outbox.flush(NOW + 2),
        Vec::<String>::new(),
        "each is sent once per link"
    );
}

#[test]
fn staging_or_restoring_an_id_twice_does_nothing() {
    let mut outbox = saved(1);
    assert_eq!(outbox.stage(cid(1), vote(9), "other".into()), None);
    assert!(!outbox.restore(7, cid(1), vote(9), "other".into()));
    assert_eq!(outbox.len(), 1);
    assert_eq!(outbox.flush(NOW), frames(1..=1));
}

#[test]
fn restored_entries_are_durable_sorted_by_seq_and_new_ones_follow() {
    let mut outbox = Outbox::new();
    assert!(outbox.restore(5, cid(3), vote(3), "frame 3".into()));
    assert!(outbox.restore(1, cid(1), vote(1), "frame 1".into()));
    assert!(outbox.restore(2, cid(2), vote(2), "frame 2".into()));
    assert_eq!(outbox.stage(cid(4), vote(4), "frame 4".into()), Some(6));
    outbox.saved(cid(4));
    assert_eq!(outbox.flush(NOW), frames(1..=4));
}

#[test]
fn reconnect_flushes_everything_pending_in_order() {
    let mut outbox = saved(3);
    assert_eq!(outbox.flush(NOW), frames(1..=3));
    outbox.settle(cid(1));
    outbox.link_lost();
    outbox.stage(cid(4), vote(4), "frame 4".into());
    outbox.saved(cid(4));
    assert_eq!(outbox.flush(NOW + 10), frames(2..=4));
    let attempts: Vec<u32> = outbox.iter().map(|e| e.attempts).collect();
    assert_eq!(attempts, [2, 2, 1]);
}

#[test]
fn settle_removes_exactly_one_entry_and_a_second_or_unknown_answer_is_harmless() {
    let mut outbox = saved(3);
    outbox.flush(NOW);
    let removed = outbox.settle(cid(2)).map(|e| e.command_id);
    assert_eq!(removed, Some(cid(2)));
    let before = outbox.clone();
    assert_eq!(outbox.settle(cid(2)), None, "a second ack");
    assert_eq!(
        outbox.settle(cid(99)),
        None,
        "an ack for a command never made"
    );
    assert_eq!(outbox, before);
    let left: Vec<CommandId> = outbox.iter().map(|e| e.command_id).collect();
    assert_eq!(left, [cid(1), cid(3)]);
}

#[test]
fn discard_drops_an_unsaved_entry_and_unblocks_the_queue() {
    let mut outbox = saved(1);
    outbox.stage(cid(2), vote(2), "frame 2".into());
    outbox.stage(cid(3), vote(3), "frame 3".into());
    outbox.saved(cid(3));
    assert_eq!(outbox.flush(NOW), frames(1..=1));
    assert!(outbox.discard(cid(2)).is_some());
    assert_eq!(outbox.flush(NOW), ["frame 3".to_owned()]);
}

#[test]
fn resend_delays_double_from_5_s_to_a_30_s_cap() {
    let delays: Vec<u64> = (1..=6).map(resend_delay).collect();
    assert_eq!(delays, [5_000, 10_000, 20_000, 30_000, 30_000, 30_000]);
    assert_eq!(resend_delay(0), 5_000);
    assert_eq!(resend_delay(u32::MAX), 30_000);
}

#[test]
fn an_unanswered_command_is_resent_after_its_timeout_on_the_same_link() {
    let mut outbox = saved(2);
    outbox.flush(NOW);
    assert_eq!(outbox.next_resend_at(), Some(NOW + 5_000));
    assert_eq!(outbox.due(NOW + 4_999), Vec::<String>::new());
    assert_eq!(outbox.due(NOW + 5_000), frames(1..=2));
    assert_eq!(outbox.next_resend_at(), Some(NOW + 15_000));
    outbox.settle(cid(1));
    assert_eq!(outbox.due(NOW + 14_999), Vec::<String>::new());
    assert_eq!(outbox.due(NOW + 15_000), frames(2..=2));
    outbox.link_lost();
    assert_eq!(
        outbox.next_resend_at(),
        None,
        "nothing is in flight without a link"
    );
    assert_eq!(outbox.due(NOW + 1_000_000), Vec::<String>::new());
}

/// The schedule by a full scan, as [`Outbox::next_resend_at`] must report it.
fn earliest_resend_by_scan(outbox: &Outbox) -> Option<u64> {
    outbox
        .iter()
        .filter_map(|e| match e.delivery {
            Delivery::Sent { at_ms } => Some(at_ms + resend_delay(e.attempts)),
            _ => None,
        })
        .min()
}

#[test]
fn the_next_resend_follows_answers_resends_and_lost_links() {
    let mut outbox = saved(3);
    outbox.flush(NOW);
    outbox.stage(cid(4), vote(4), "frame 4".into());
    outbox.saved(cid(4));
    assert_eq!(outbox.flush(NOW + 1_000), frames(4..=4));
    assert_eq!(outbox.next_resend_at(), Some(NOW + 5_000));
    outbox.settle(cid(1));
    outbox.settle(cid(2));
    assert_eq!(
        outbox.next_resend_at(),
        Some(NOW + 5_000),
        "3 still waits for its answer"
    );
    outbox.settle(cid(3));
    assert_eq!(
        outbox.next_resend_at(),
        Some(NOW + 6_000),
        "the answered commands no longer count: 4 is next"
    );
    assert_eq!(outbox.due(NOW + 6_000), frames(4..=4));
    assert_eq!(
        outbox.next_resend_at(),
        Some(NOW + 16_000),
        "a resend moves its own time"
    );
    outbox.link_lost();
    assert_eq!(outbox.next_resend_at(), None);
    assert_eq!(outbox.flush(NOW + 20_000), frames(4..=4));
    assert_eq!(
        outbox.next_resend_at(),
        Some(NOW + 40_000),
        "third send: 20 s"
    );
    outbox.discard(cid(4));
    assert_eq!(outbox.next_resend_at(), None);
    assert_eq!(outbox.due(NOW + 1_000_000), Vec::<String>::new());
}

#[test]
fn redial_delays_stay_within_their_bounds_and_reset_after_a_verified_link() {
    let mut redial = Redial::new();
    assert_eq!(redial.next_at(), None);
    let mut ceilings = Vec::new();
    for _ in 0..10 {
        ceilings.push(redial.failed(NOW, u32::MAX));
    }
    assert_eq!(
        ceilings,
        [500, 1_000, 2_000, 4_000, 8_000, 16_000, 30_000, 30_000, 30_000, 30_000]
    );
    assert_eq!(redial.next_at(), Some(NOW + 30_000));
    assert_eq!(redial.failures(), 10);
    redial.dialing();
    assert_eq!(redial.next_at(), None);
    redial.verified();
    assert_eq!(redial.failed(NOW, 0), 0, "full jitter reaches zero");
    assert_eq!(
        redial.failed(NOW, u32::MAX),
        1_000,
        "reset to the first step"
    );
}

proptest! {
    /// Full jitter: every delay is in `0..=min(cap, base · 2^attempt)` and, over many draws, the
    /// delays spread over that range rather than bunching at one end.
    #[test]
    fn redial_jitter_is_in_range(randoms in prop::collection::vec(any::<u32>(), 1..60)) {
        let mut redial = Redial::new();
        for (attempt, random) in randoms.into_iter().enumerate() {
            let ceiling = (REDIAL_BASE_MS << attempt.min(20)).min(REDIAL_CAP_MS);
            let delay = redial.failed(NOW, random);
            prop_assert!(delay <= ceiling, "attempt {attempt}: {delay} > {ceiling}");
            prop_assert_eq!(redial.next_at(), Some(NOW + delay));
        }
    }

    /// A simulated session: commands are made, saved, sent, answered (some twice, some never,
    /// some before they were sent), links drop and time passes. Whatever happens: the pending
    /// commands are exactly those made and not answered, in the order made; each answer removes
    /// its command once; every frame sent belongs to a pending, durable command; the frames of
    /// one flush or resend are in outbox order; and when the owner finally answers everything
    /// on a fresh link, the outbox drains.
    #[test]
    fn a_simulated_session_keeps_order_and_loses_nothing(
        ops in prop::collection::vec((0u8..6, any::<u8>()), 1..200)
    ) {
        let mut outbox = Outbox::new();
        let mut made: Vec<CommandId> = Vec::new();
        let mut gone: Vec<CommandId> = Vec::new();
        let mut now = NOW;
        let mut link_up = false;
        for (op, arg) in ops {
            now += u64::from(arg) * 100;
            let sent = match op {
                0 => {
                    let n = made.len() as u16;
                    let mut bytes = [7u8; 16];
                    bytes[..2].copy_from_slice(&n.to_le_bytes());
                    let id = CommandId::from_random_bytes(bytes);
                    prop_assert!(outbox.stage(id, vote(u32::from(arg)), id.to_string()).is_some());
                    made.push(id);
                    Vec::new()
                }
                1 => {
                    // Saves complete in the order they were started.
                    let first_unsaved = outbox
                        .iter()
                        .find(|e| e.delivery == Delivery::Unsaved)
                        .map(|e| e.command_id);
                    if let Some(id) = first_unsaved {
                        prop_assert!(outbox.saved(id));
                    }
                    if link_up { outbox.flush(now) } else { Vec::new() }
                }
                2 => {
                    link_up = !link_up;
                    if link_up { outbox.flush(now) } else { outbox.link_lost(); Vec::new() }
                }
                3 if !made.is_empty() => {
                    let id = made[usize::from(arg) % made.len()];
                    let was_pending = outbox.contains(id);
                    let removed = outbox.settle(id);
                    prop_assert_eq!(removed.map(|e| e.command_id), was_pending.then_some(id));
                    if was_pending { gone.push(id); }
                    Vec::new()
                }
                4 if link_up => outbox.due(now),
                _ => {
                    let unknown = CommandId::from_random_bytes([0xee; 16]);
                    prop_assert!(outbox.settle(unknown).is_none());
                    Vec::new()
                }
            };
            prop_assert_eq!(
                outbox.next_resend_at(),
                earliest_resend_by_scan(&outbox),
                "the indexed schedule is stale"
            );
            let mut last_seq = None;
            for frame in &sent {
                let entry = outbox.iter().find(|e| e.frame == *frame);
                prop_assert!(entry.is_some_and(|e| e.delivery != Delivery::Unsaved));
                let seq = entry.map(|e| e.seq);
                prop_assert!(seq > last_seq, "sent out of order");
                last_seq = seq;
            }
            let pending: Vec<CommandId> = outbox.iter().map(|e| e.command_id).collect();
            let expected: Vec<CommandId> =
                made.iter().copied().filter(|id| !gone.contains(id)).collect();
            prop_assert_eq!(&pending, &expected);
        }
        let durable: Vec<CommandId> = outbox.iter().map(|e| e.command_id).collect();
        for id in &durable { outbox.saved(*id); }
        outbox.link_lost();
        prop_assert_eq!(outbox.flush(now).len(), durable.len(), "a new link sends all");
        for id in &made { outbox.settle(*id); }
        prop_assert!(outbox.is_empty());
    }
}
