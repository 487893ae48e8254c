//! What the subcommands print on standard output (`id`, `new-poll`): whole lines, written and
//! flushed at once.
//!
//! Invariant: a reader that went away (`starpoll-host new-poll | head -1`) ends the output
//! quietly — the lines not read are dropped and the command exits as it would have — while any
//! other write failure is an error. (Rust ignores `SIGPIPE`, so a closed pipe shows up here as
//! an `EPIPE` write error, which `println!` would turn into a panic.)

use std::io::{self, ErrorKind, Write};

/// Writes `lines` to standard output, one per line; a closed standard output is not an error.
pub fn print_lines(lines: &[String]) -> io::Result<()> {
    write_lines(io::stdout().lock(), lines)
}

/// Writes `lines` to `out` and flushes; a [`ErrorKind::BrokenPipe`] ends the writing with `Ok`.
pub fn write_lines(mut out: impl Write, lines: &[String]) -> io::Result<()> {
    let written = lines
        .iter()
        .try_for_each(|line| writeln!(out, "{line}"))
        .and_then(|()| out.flush());
    match written {
        Err(error) if error.kind() == ErrorKind::BrokenPipe => Ok(()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Accepts `room` bytes, then fails every write with `kind`.
    struct Closing {
        written: Vec<u8>,
        room: usize,
        kind: ErrorKind,
    }

    impl Write for Closing {
        fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
            if self.written.len() >= self.room {
                return Err(io::Error::from(self.kind));
            }
            let n = buf.len().min(self.room - self.written.len());
            self.written.extend_from_slice(&buf[..n]);
            Ok(n)
        }
        fn flush(&mut self) -> io::Result<()> {
            Ok(())
        }
    }

    fn lines() -> Vec<String> {
        vec!["first".to_owned(), "second".to_owned()]
    }

    #[test]
    fn every_line_is_written_when_the_reader_stays() {
        let mut out = Vec::new();
        write_lines(&mut out, &lines()).expect("written");
        assert_eq!(out, b"first\nsecond\n");
    }

    #[test]
    fn a_reader_gone_after_the_first_line_ends_the_output_quietly() {
        let mut out = Closing {
            written: Vec::new(),
            room: 6,
            kind: ErrorKind::BrokenPipe,
        };
        write_lines(&mut out, &lines()).expect("a closed pipe is not an error");
        assert_eq!(out.written, b"first\n");
    }

    #[test]
    fn other_write_failures_are_errors() {
        let mut out = Closing {
            written: Vec::new(),
            room: 0,
            kind: ErrorKind::StorageFull,
        };
        let error = write_lines(&mut out, &lines()).expect_err("a full disk is an error");
        assert_eq!(error.kind(), ErrorKind::StorageFull);
    }
}
