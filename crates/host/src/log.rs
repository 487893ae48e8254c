//! Structured log lines: one line per event on standard error, `key=value` pairs after the
//! time, level and event name (`ts=… level=info event=conn.open peer=… conn=3`). Values with
//! spaces, quotes or `=` are quoted with JSON string escapes, so every line splits unambiguously.
//!
//! Standard output is kept for what a command prints as its result (`starpoll-host id`).

use std::fmt::Write as _;
use std::time::{SystemTime, UNIX_EPOCH};

/// How important a line is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Level {
    /// Normal operation.
    Info,
    /// Something refused or retried; the host keeps running.
    Warn,
    /// The host cannot go on as asked.
    Error,
}

impl Level {
    fn as_str(self) -> &'static str {
        match self {
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

/// Formats one line (without the newline) at Unix time `now_ms`.
pub fn format_line(
    now_ms: u64,
    level: Level,
    event: &str,
    fields: &[(&str, &dyn std::fmt::Display)],
) -> String {
    let mut line = format!("ts={now_ms} level={} event={event}", level.as_str());
    for (key, value) in fields {
        let value = value.to_string();
        let plain = !value.is_empty()
            && value
                .chars()
                .all(|c| c.is_ascii_graphic() && !matches!(c, '"' | '=' | '\\'));
        if plain {
            let _ = write!(line, " {key}={value}");
        } else {
            let quoted = serde_json::Value::String(value).to_string();
            let _ = write!(line, " {key}={quoted}");
        }
    }
    line
}

/// Writes one line to standard error.
pub fn emit(level: Level, event: &str, fields: &[(&str, &dyn std::fmt::Display)]) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
        .unwrap_or(0);
    eprintln!("{}", format_line(now, level, event, fields));
}

/// `log!(info, "event", key = value, …)`: one structured line.
#[macro_export]
macro_rules! log {
    ($level:ident, $event:expr $(, $key:ident = $value:expr)* $(,)?) => {
        $crate::log::emit(
            $crate::log::Level::$level,
            $event,
            &[$((stringify!($key), &$value as &dyn ::std::fmt::Display)),*],
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_values_stay_bare_and_others_are_quoted() {
        let line = format_line(
            5,
            Level::Warn,
            "conn.refused",
            &[
                ("peer", &"abc"),
                ("why", &"not a \"peer\" id"),
                ("n", &3),
                ("e", &""),
            ],
        );
        assert_eq!(
            line,
            r#"ts=5 level=warn event=conn.refused peer=abc why="not a \"peer\" id" n=3 e="""#
        );
    }

    proptest::proptest! {
        /// Whatever a value holds (a remote peer's text, an error), the line stays one line and
        /// its fields split back into the values.
        #[test]
        fn any_value_stays_on_one_line_and_reads_back(value in ".*") {
            let line = format_line(0, Level::Info, "e", &[("v", &value)]);
            proptest::prop_assert!(!line.contains('\n') && !line.contains('\r'));
            let raw = line.strip_prefix("ts=0 level=info event=e v=").unwrap_or_default();
            let read: String = if raw.starts_with('"') {
                serde_json::from_str(raw).unwrap_or_default()
            } else {
                raw.to_owned()
            };
            proptest::prop_assert_eq!(read, value);
        }
    }

    #[test]
    fn a_newline_in_a_value_cannot_start_a_new_line() {
        let line = format_line(1, Level::Info, "x", &[("m", &"a\nlevel=error")]);
        assert!(!line.contains('\n'));
        assert!(line.ends_with(r#"m="a\nlevel=error""#));
    }
}
