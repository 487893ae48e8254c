//! Pure arithmetic of the measurements: quantiles, per-vote fan-out times, the check of a
//! drained queue's answers, and reading a process's memory from `/proc/<pid>/status` text.

use std::collections::BTreeSet;

use starpoll_core::poll::{CommandId, Revision};

/// The `q` quantile (0..=1) of `samples` by nearest rank; `None` when there are none.
pub fn quantile(samples: &[f64], q: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = samples.iter().copied().filter(|x| x.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted
        .get(rank.saturating_sub(1).min(sorted.len() - 1))
        .copied()
}

/// p50, p99 and max of `samples` as a JSON object (nulls when empty).
pub fn summary(samples: &[f64]) -> serde_json::Value {
    let round = |x: Option<f64>| x.map(|x| (x * 100.0).round() / 100.0);
    serde_json::json!({
        "n": samples.len(),
        "p50": round(quantile(samples, 0.5)),
        "p99": round(quantile(samples, 0.99)),
        "max": round(quantile(samples, 1.0)),
    })
}

/// What a drained queue's answers say.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DrainCheck {
    /// Commands with no answer.
    pub lost: usize,
    /// Answers beyond the first for a command, plus revisions produced twice.
    pub duplicated: usize,
    /// Commands refused.
    pub refused: usize,
    /// Whether the applied commands' revisions follow each other without a gap, in order.
    pub consecutive: bool,
}

/// Checks the `answers` (command, revision if applied) to the `sent` commands.
pub fn check_drain(sent: &[CommandId], answers: &[(CommandId, Option<Revision>)]) -> DrainCheck {
    let mut seen = BTreeSet::new();
    let mut revisions = BTreeSet::new();
    let mut duplicated = 0;
    let mut refused = 0;
    let mut applied = Vec::new();
    for (command, revision) in answers {
        if !seen.insert(*command) {
            duplicated += 1;
            continue;
        }
        match revision {
            Some(revision) => {
                if !revisions.insert(*revision) {
                    duplicated += 1;
                }
                applied.push(revision.0);
            }
            None => refused += 1,
        }
    }
    let lost = sent.iter().filter(|c| !seen.contains(c)).count();
    let consecutive = applied.windows(2).all(|w| w[1] == w[0] + 1);
    DrainCheck {
        lost,
        duplicated,
        refused,
        consecutive,
    }
}

/// `VmRSS` and `VmHWM` in KiB from the text of `/proc/<pid>/status`.
pub fn memory_kib(status: &str) -> (Option<u64>, Option<u64>) {
    let field = |name: &str| {
        status.lines().find_map(|line| {
            let rest = line.strip_prefix(name)?.strip_prefix(':')?;
            rest.trim().strip_suffix("kB")?.trim().parse().ok()
        })
    };
    (field("VmRSS"), field("VmHWM"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_the_nearest_rank() {
        let xs: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(quantile(&xs, 0.5), Some(50.0));
        assert_eq!(quantile(&xs, 0.99), Some(99.0));
        assert_eq!(quantile(&xs, 1.0), Some(100.0));
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[], 0.5), None);
        assert_eq!(quantile(&[f64::NAN, 4.0], 0.99), Some(4.0));
    }

    fn id(n: u8) -> CommandId {
        CommandId::from_random_bytes([n; 16])
    }

    #[test]
    fn a_drain_check_counts_lost_duplicated_and_gaps() {
        let sent = [id(1), id(2), id(3), id(4)];
        let clean = [
            (id(1), Some(Revision(5))),
            (id(2), Some(Revision(6))),
            (id(3), None),
            (id(4), Some(Revision(7))),
        ];
        assert_eq!(
            check_drain(&sent, &clean),
            DrainCheck {
                lost: 0,
                duplicated: 0,
                refused: 1,
                consecutive: true
            }
        );
        let bad = [
            (id(1), Some(Revision(5))),
            (id(1), Some(Revision(5))),
            (id(2), Some(Revision(7))),
            (id(3), Some(Revision(7))),
        ];
        let check = check_drain(&sent, &bad);
        assert_eq!(check.lost, 1, "id(4) has no answer");
        assert_eq!(check.duplicated, 2, "a second answer and a revision twice");
        assert!(!check.consecutive, "5 then 7");
    }

    #[test]
    fn memory_is_read_from_proc_status() {
        let status =
            "Name:\tstarpoll-host\nVmHWM:\t   51234 kB\nVmRSS:\t   40960 kB\nThreads:\t1\n";
        assert_eq!(memory_kib(status), (Some(40960), Some(51234)));
        assert_eq!(memory_kib("Name: x\n"), (None, None));
    }
}
