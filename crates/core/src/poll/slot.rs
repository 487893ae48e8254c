//! The text of a date/time poll's slot, from what the creation form's date and time inputs give
//! (`YYYY-MM-DD`, `HH:MM`): `Thu 2026-12-10`, `Thu 2026-12-10 18:00` or
//! `Thu 2026-12-10 18:00–19:00`. The weekday is computed from the date (proleptic Gregorian
//! calendar); the times are the owner's local wall-clock times, written as they are.
//!
//! A slot is only text on the wire (an option like any other); [`slot_label`] just writes every
//! slot the same way, and [`SlotInput::sort_key`] lets the form list slots in time order.

/// One slot as the form holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SlotInput {
    /// `YYYY-MM-DD`, or empty.
    pub date: String,
    /// `HH:MM`, or empty for the whole day.
    pub start: String,
    /// `HH:MM` after `start`, or empty.
    pub end: String,
}

/// Why a slot has no label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SlotError {
    /// No date given.
    #[error("pick a date")]
    NoDate,
    /// The date is not a calendar date.
    #[error("that is not a date")]
    BadDate,
    /// A time is not `HH:MM`.
    #[error("that is not a time")]
    BadTime,
    /// An end without a start, or not after the start.
    #[error("the end must come after the start")]
    EndBeforeStart,
}

impl SlotError {
    /// The reason as a sentence for a form ("Pick a date.").
    pub fn sentence(self) -> &'static str {
        match self {
            Self::NoDate => "Pick a date.",
            Self::BadDate => "That is not a date.",
            Self::BadTime => "That is not a time.",
            Self::EndBeforeStart => "The end must come after the start.",
        }
    }
}

impl SlotInput {
    /// Whether nothing was filled in (a blank row, skipped like a blank option).
    pub fn is_blank(&self) -> bool {
        self.date.trim().is_empty() && self.start.trim().is_empty() && self.end.trim().is_empty()
    }

    /// The slot's text (see the module docs).
    pub fn label(&self) -> Result<String, SlotError> {
        slot_label(&self.date, &self.start, &self.end)
    }

    /// Orders slots by date, then start (a whole day first), as text compares them.
    pub fn sort_key(&self) -> (String, String) {
        (self.date.trim().to_owned(), self.start.trim().to_owned())
    }
}

/// The label of the slot on `date` from `start` to `end` (see the module docs).
pub fn slot_label(date: &str, start: &str, end: &str) -> Result<String, SlotError> {
    let (date, start, end) = (date.trim(), start.trim(), end.trim());
    if date.is_empty() {
        return Err(SlotError::NoDate);
    }
    let (year, month, day) = parse_date(date).ok_or(SlotError::BadDate)?;
    let weekday = WEEKDAYS[weekday(year, month, day)];
    let mut label = format!("{weekday} {year:04}-{month:02}-{day:02}");
    let start = parse_time(start)?;
    let end = parse_time(end)?;
    match (start, end) {
        (None, None) => {}
        (Some((h, m)), None) => label.push_str(&format!(" {h:02}:{m:02}")),
        (Some(from), Some(to)) if to > from => label.push_str(&format!(
            " {:02}:{:02}–{:02}:{:02}",
            from.0, from.1, to.0, to.1
        )),
        _ => return Err(SlotError::EndBeforeStart),
    }
    Ok(label)
}

const WEEKDAYS: [&str; 7] = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];

fn parse_date(text: &str) -> Option<(i64, u32, u32)> {
    let mut parts = text.split('-');
    let (y, m, d) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() || y.len() != 4 || m.len() != 2 || d.len() != 2 {
        return None;
    }
    let digits = |s: &str| s.bytes().all(|b| b.is_ascii_digit());
    if !(digits(y) && digits(m) && digits(d)) {
        return None;
    }
    let (year, month, day): (i64, u32, u32) = (y.parse().ok()?, m.parse().ok()?, d.parse().ok()?);
    let leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&day).then_some((year, month, day))
}

fn parse_time(text: &str) -> Result<Option<(u32, u32)>, SlotError> {
    if text.is_empty() {
        return Ok(None);
    }
    // `<input type=time>` may add seconds (`HH:MM:SS`); they are dropped.
    let mut parts = text.split(':');
    let (h, m) = (parts.next(), parts.next());
    let parse = |s: Option<&str>, max: u32| {
        s.filter(|s| s.len() == 2 && s.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|s| s.parse::<u32>().ok())
            .filter(|v| *v <= max)
    };
    match (parse(h, 23), parse(m, 59)) {
        (Some(h), Some(m)) => Ok(Some((h, m))),
        _ => Err(SlotError::BadTime),
    }
}

/// Monday = 0 (from the days since 1970-01-01, a Thursday).
fn weekday(year: i64, month: u32, day: u32) -> usize {
    // Howard Hinnant's days_from_civil.
    let y = if month <= 2 { year - 1 } else { year };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let m = i64::from(month);
    let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(day) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    let days = era * 146_097 + doe - 719_468;
    usize::try_from((days + 3).rem_euclid(7)).unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_the_weekday_and_the_times() {
        assert_eq!(
            slot_label("2026-12-10", "", ""),
            Ok("Thu 2026-12-10".into())
        );
        assert_eq!(
            slot_label("2024-02-29", "09:05", ""),
            Ok("Thu 2024-02-29 09:05".into())
        );
        assert_eq!(
            slot_label("1970-01-01", "18:00", "19:30:00"),
            Ok("Thu 1970-01-01 18:00–19:30".into())
        );
        assert_eq!(
            slot_label("2000-03-05", "", ""),
            Ok("Sun 2000-03-05".into())
        );
        assert_eq!(
            slot_label("1999-12-31", "", ""),
            Ok("Fri 1999-12-31".into())
        );
    }

    #[test]
    fn bad_slots_are_refused() {
        assert_eq!(slot_label(" ", "10:00", ""), Err(SlotError::NoDate));
        assert_eq!(slot_label("2023-02-29", "", ""), Err(SlotError::BadDate));
        assert_eq!(slot_label("2026-13-01", "", ""), Err(SlotError::BadDate));
        assert_eq!(slot_label("26-12-01", "", ""), Err(SlotError::BadDate));
        assert_eq!(
            slot_label("2026-12-01", "25:00", ""),
            Err(SlotError::BadTime)
        );
        assert_eq!(
            slot_label("2026-12-01", "10:00", "09:00"),
            Err(SlotError::EndBeforeStart)
        );
        assert_eq!(
            slot_label("2026-12-01", "", "09:00"),
            Err(SlotError::EndBeforeStart)
        );
    }
}
