//! Runs one input under the oracles that do not depend on the target: a panic is caught and
//! reported, and a counting allocator flags any single allocation larger than the input can
//! justify (`max(8 MiB, 64 × input length)`), so a length prefix that decides an allocation is
//! found even when the machine could satisfy it.

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::io::Write;
use std::panic::{self, AssertUnwindSafe};
use std::sync::atomic::{AtomicPtr, AtomicUsize, Ordering};

/// The biggest single allocation seen while running inputs, in bytes.
static BIGGEST: AtomicUsize = AtomicUsize::new(0);
/// The largest allowed allocation for the input being run (0: not running an input).
static LIMIT: AtomicUsize = AtomicUsize::new(0);
/// The largest allocation over the limit during the current input (0: none).
static OVER: AtomicUsize = AtomicUsize::new(0);

/// The input being run, so an allocation too large to survive can still name it.
static INPUT: AtomicPtr<u8> = AtomicPtr::new(std::ptr::null_mut());
static INPUT_LEN: AtomicUsize = AtomicUsize::new(0);

/// The global allocator: the system's, counting.
pub struct Counting;

// SAFETY: every call is forwarded unchanged to `System`; the atomics only observe sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        observe(layout.size());
        // SAFETY: the caller's contract is passed on unchanged.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        observe(layout.size());
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        observe(new_size);
        // SAFETY: as above.
        unsafe { System.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: as above.
        unsafe { System.dealloc(ptr, layout) }
    }
}

fn observe(size: usize) {
    let limit = LIMIT.load(Ordering::Relaxed);
    if limit == 0 {
        return;
    }
    BIGGEST.fetch_max(size, Ordering::Relaxed);
    if size > limit && OVER.fetch_max(size, Ordering::Relaxed) == 0 {
        // The allocation may fail and abort the process before the loop can report it: name
        // the input now, without allocating (a stack buffer, unbuffered stderr).
        report_input(size, limit);
    }
}

fn report_input(size: usize, limit: usize) {
    const HEX: &[u8; 16] = b"0123456789abcdef";
    let (ptr, len) = (
        INPUT.load(Ordering::Relaxed),
        INPUT_LEN.load(Ordering::Relaxed),
    );
    let mut stderr = std::io::stderr();
    let _ = writeln!(
        stderr,
        "FINDING: allocation of {size} bytes (limit {limit}) for a {len}-byte input; input (hex, first 300 bytes):"
    );
    if !ptr.is_null() {
        // SAFETY: `run` stores the input's pointer and length only while the input is borrowed
        // and clears them before the borrow ends.
        let input = unsafe { std::slice::from_raw_parts(ptr, len) };
        let mut line = [0u8; 601];
        let mut n = 0;
        for b in input.iter().take(300) {
            line[n] = HEX[usize::from(b >> 4)];
            line[n + 1] = HEX[usize::from(b & 15)];
            n += 2;
        }
        line[n] = b'\n';
        let _ = stderr.write_all(&line[..=n]);
    }
}

/// The biggest single allocation seen while running inputs.
pub fn biggest() -> usize {
    BIGGEST.swap(0, Ordering::Relaxed)
}

/// How one execution went.
pub enum Verdict {
    /// The input decoded and every invariant held.
    Decoded,
    /// The input was refused with an error, as it should be.
    Refused,
    /// An invariant of the target broke.
    Broken(String),
    /// The target panicked.
    Panicked(String),
    /// An allocation was larger than the input justifies.
    Allocated(String),
}

thread_local! {
    static QUIET: Cell<bool> = const { Cell::new(false) };
}

/// Runs `input` through `run` under the oracles.
pub fn run(input: &[u8], run: fn(&[u8]) -> Result<bool, String>) -> Verdict {
    install_quiet_hook();
    let limit = (8usize << 20).max(input.len().saturating_mul(64));
    OVER.store(0, Ordering::Relaxed);
    INPUT.store(input.as_ptr().cast_mut(), Ordering::Relaxed);
    INPUT_LEN.store(input.len(), Ordering::Relaxed);
    LIMIT.store(limit, Ordering::Relaxed);
    let result = panic::catch_unwind(AssertUnwindSafe(|| run(input)));
    LIMIT.store(0, Ordering::Relaxed);
    INPUT.store(std::ptr::null_mut(), Ordering::Relaxed);
    INPUT_LEN.store(0, Ordering::Relaxed);
    let over = OVER.swap(0, Ordering::Relaxed);
    match result {
        Err(payload) => {
            let message = payload
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| payload.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic".into());
            Verdict::Panicked(format!("panic: {message}"))
        }
        Ok(_) if over > 0 => Verdict::Allocated(format!(
            "allocated {over} bytes at once for a {}-byte input (limit {limit})",
            input.len()
        )),
        Ok(Ok(true)) => Verdict::Decoded,
        Ok(Ok(false)) => Verdict::Refused,
        Ok(Err(why)) => Verdict::Broken(why),
    }
}

/// Panics are reported by the fuzz loop; the default hook would print each one again.
fn install_quiet_hook() {
    QUIET.with(|quiet| {
        if !quiet.get() {
            quiet.set(true);
            panic::set_hook(Box::new(|_| {}));
        }
    });
}
