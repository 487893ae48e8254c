//! The subcommands that print (`id`, `new-poll`) end quietly and normally when standard output
//! is a pipe nobody reads any more (`starpoll-host new-poll | head -1`).

#![allow(clippy::expect_used)]

use std::process::{Command, Output, Stdio};

/// Runs `starpoll-host ARGS --data DIR` with standard output a pipe whose reader is already
/// closed, so every write to it fails with `EPIPE`.
fn run_into_closed_pipe(data: &std::path::Path, args: &[&str]) -> Output {
    let (reader, writer) = std::io::pipe().expect("a pipe");
    drop(reader);
    Command::new(env!("CARGO_BIN_EXE_starpoll-host"))
        .args(args)
        .arg("--data")
        .arg(data)
        .env_remove("STARPOLL_APP_URL")
        .stdin(Stdio::null())
        .stdout(writer)
        .stderr(Stdio::piped())
        .output()
        .expect("the host runs")
}

fn assert_quiet_success(output: &Output) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "exit {:?}: {stderr}",
        output.status
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
}

#[test]
fn id_into_a_closed_pipe_exits_normally() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let output = run_into_closed_pipe(data.path(), &["id"]);
    assert_quiet_success(&output);
    // The identity was still created, and a reader that stays gets both lines.
    let read = Command::new(env!("CARGO_BIN_EXE_starpoll-host"))
        .args(["id", "--data"])
        .arg(data.path())
        .output()
        .expect("the host runs");
    assert!(read.status.success());
    assert_eq!(String::from_utf8_lossy(&read.stdout).lines().count(), 2);
}

#[test]
fn new_poll_into_a_closed_pipe_still_creates_the_poll() {
    let data = tempfile::tempdir().expect("a temporary directory");
    let output = run_into_closed_pipe(
        data.path(),
        &[
            "new-poll", "--title", "Lunch?", "--option", "A", "--option", "B",
        ],
    );
    assert_quiet_success(&output);
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("poll.created"),
        "the poll was stored before printing"
    );
}
