//! Native side of B7: `crypto-bench [iterations] [reps]` (defaults 2000 and 5) prints the same
//! JSON report as the wasm `run` export, timed with `std::time::Instant`.

use std::time::Instant;

fn main() {
    let mut args = std::env::args().skip(1);
    let iterations = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let reps = args.next().and_then(|a| a.parse().ok()).unwrap_or(5);
    let origin = Instant::now();
    let report = starpoll_bench_crypto::run_with(iterations, reps, || {
        origin.elapsed().as_secs_f64() * 1000.0
    });
    println!("{report}");
}
