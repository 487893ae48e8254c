//! Fuzzes every decoder that network bytes pass through — the BinaryPack decoder, the chunk
//! reassembler, the signaling-frame parser, the envelope opener and the hub's `receive` — with a
//! seeded, structure-aware mutation fuzzer that runs on the stable toolchain (no sanitizer
//! flags, no external tools, so the test command can run it on a fresh machine).
//!
//! Each target starts from a corpus of valid inputs (encodings of random values, chunked
//! messages, real server frames, sealed frames, scripts of participants talking to a hub) and
//! mutates them: bit flips, interesting bytes (length prefixes of 0xffffffff), insertions,
//! deletions, duplications, splices and truncations. Inputs that decode are added back to the
//! corpus, so mutations keep reaching past the first checks.
//!
//! Oracles, per execution:
//! - no panic (the `fuzz` profile keeps overflow checks and debug assertions on);
//! - no allocation larger than `max(8 MiB, 64 × input length)` — a length prefix must never
//!   decide how much is allocated (the counting allocator below sees every request);
//! - no execution longer than one second;
//! - target invariants: BinaryPack re-encoding is stable, the reassembler stays within its
//!   limits, every frame the hub sends opens under the owner's key, ballots name real options.
//!
//! Usage: `starpoll-fuzz [--target NAME|all] [--execs N] [--seconds S] [--seed N]`. Prints one
//! line per target (executions, time, corpus size, findings) and exits non-zero on a finding;
//! each finding's input is written to `target/fuzz-findings/<target>/`.

mod guard;
mod mutate;
mod targets;

use std::time::{Duration, Instant};

use guard::Verdict;
use mutate::Rng;

#[global_allocator]
static ALLOCATOR: guard::Counting = guard::Counting;

/// A fuzz target: its seeds, and one execution that returns `Err` when an invariant breaks.
pub struct Target {
    /// Its name on the command line.
    pub name: &'static str,
    /// Valid inputs to start from.
    pub seeds: fn(&mut Rng) -> Vec<Vec<u8>>,
    /// Runs one input: `Ok(true)` when it decoded (kept in the corpus), `Ok(false)` when it was
    /// refused cleanly, `Err` when an invariant broke.
    pub run: fn(&[u8]) -> Result<bool, String>,
    /// Whether the mutator should treat inputs as text (JSON).
    pub text: bool,
}

struct Options {
    target: String,
    execs: Option<u64>,
    seconds: Option<f64>,
    seed: u64,
}

fn options() -> Result<Options, String> {
    let mut options = Options {
        target: "all".into(),
        execs: None,
        seconds: None,
        seed: 1,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().ok_or_else(|| format!("{arg} needs a value"));
        match arg.as_str() {
            "--target" => options.target = value()?,
            "--execs" => options.execs = Some(value()?.parse().map_err(|e| format!("{e}"))?),
            "--seconds" => options.seconds = Some(value()?.parse().map_err(|e| format!("{e}"))?),
            "--seed" => options.seed = value()?.parse().map_err(|e| format!("{e}"))?,
            "--help" | "-h" => {
                return Err(
                    "usage: starpoll-fuzz [--target NAME|all] [--execs N] [--seconds S] \
                            [--seed N]"
                        .into(),
                )
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if options.execs.is_none() && options.seconds.is_none() {
        options.seconds = Some(10.0);
    }
    Ok(options)
}

fn main() {
    let options = match options() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    // Panics are findings, reported by the loop; the default hook's message is enough context.
    let targets = targets::all();
    let chosen: Vec<&Target> = targets
        .iter()
        .filter(|t| options.target == "all" || options.target == t.name)
        .collect();
    if chosen.is_empty() {
        eprintln!("no target named {}", options.target);
        std::process::exit(2);
    }
    let mut findings = 0;
    for (i, target) in chosen.iter().enumerate() {
        let seed = options.seed.wrapping_add(i as u64);
        findings += fuzz(target, &options, seed);
    }
    if findings > 0 {
        println!("{findings} finding(s)");
        std::process::exit(1);
    }
}

/// Fuzzes one target; returns the number of findings.
fn fuzz(target: &Target, options: &Options, seed: u64) -> usize {
    let mut rng = Rng::new(seed);
    let mut corpus = (target.seeds)(&mut rng);
    let started = Instant::now();
    let budget = options.seconds.map(Duration::from_secs_f64);
    let mut execs = 0u64;
    let mut findings = Vec::new();
    let mut slowest = Duration::ZERO;
    let mut decoded = 0u64;
    loop {
        if options.execs.is_some_and(|n| execs >= n)
            || budget.is_some_and(|b| started.elapsed() >= b)
        {
            break;
        }
        let input = if execs < corpus.len() as u64 {
            corpus[execs as usize].clone()
        } else {
            mutate::mutate(&mut rng, &corpus, target.text)
        };
        let began = Instant::now();
        let verdict = guard::run(&input, target.run);
        let took = began.elapsed();
        slowest = slowest.max(took);
        execs += 1;
        let problem = match verdict {
            Verdict::Decoded => {
                decoded += 1;
                if corpus.len() < 4_096 && input.len() <= 64 * 1024 && rng.below(8) == 0 {
                    corpus.push(input.clone());
                }
                None
            }
            Verdict::Refused => None,
            Verdict::Broken(why) | Verdict::Panicked(why) | Verdict::Allocated(why) => Some(why),
        };
        let problem = problem.or_else(|| {
            (took > Duration::from_secs(1)).then(|| format!("took {} ms", took.as_millis()))
        });
        if let Some(why) = problem {
            let path = save(target.name, &input);
            let shown: String = input.iter().take(300).map(|b| format!("{b:02x}")).collect();
            println!(
                "FINDING {} (seed {seed}): {why}\n  input ({} bytes, saved as {path}): {shown}",
                target.name,
                input.len()
            );
            findings.push(why);
            if findings.len() >= 10 {
                break;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{:<10} seed {seed:<11} {:>11} execs in {:>7.1} s ({:>9.0}/s), {:>6.2} % decoded, corpus {:>5}, slowest {:>6.2} ms, biggest allocation {:>9} B, {} finding(s)",
        target.name,
        execs,
        secs,
        execs as f64 / secs.max(1e-9),
        100.0 * decoded as f64 / (execs.max(1)) as f64,
        corpus.len(),
        slowest.as_secs_f64() * 1000.0,
        guard::biggest(),
        findings.len()
    );
    findings.len()
}

/// Writes a finding's input under `target/fuzz-findings/<target>/` and returns the path.
fn save(target: &str, input: &[u8]) -> String {
    let dir = format!("target/fuzz-findings/{target}");
    let hash = input.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3)
    });
    let path = format!("{dir}/{hash:016x}.bin");
    if std::fs::create_dir_all(&dir)
        .and_then(|()| std::fs::write(&path, input))
        .is_err()
    {
        return format!("(not saved) {:?}", String::from_utf8_lossy(input));
    }
    path
}
