//! Wall-clock times as people read and type them: Unix milliseconds to and from the local time
//! zone, through the browser's `Date` (the core only ever sees Unix milliseconds).

use wasm_bindgen::JsValue;

/// The value of a `<input type="datetime-local">` (`2026-11-21T14:30`, local time) as Unix ms;
/// `None` when empty or not a time.
pub fn from_local_input(value: &str) -> Option<u64> {
    let value = value.trim();
    if value.is_empty() {
        return None;
    }
    let ms = js_sys::Date::new(&JsValue::from_str(value)).get_time();
    (ms.is_finite() && ms >= 0.0).then_some(ms as u64)
}

/// Unix ms as the value of a `<input type="datetime-local" step="1">` in local time (seconds
/// shown only when not zero, as the input itself does).
pub fn to_local_input(at_ms: u64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at_ms as f64));
    let minutes = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}",
        date.get_full_year(),
        date.get_month() + 1,
        date.get_date(),
        date.get_hours(),
        date.get_minutes()
    );
    match date.get_seconds() {
        0 => minutes,
        seconds => format!("{minutes}:{seconds:02}"),
    }
}

/// Unix ms as the local wall-clock time (e.g. 14:05:09).
pub fn clock_time(at_ms: u64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at_ms as f64));
    String::from(date.to_locale_time_string("default"))
}

/// Unix ms as the local date and time, as the browser's locale writes them.
pub fn date_time(at_ms: u64) -> String {
    let date = js_sys::Date::new(&JsValue::from_f64(at_ms as f64));
    String::from(date.to_locale_string("default", &JsValue::UNDEFINED))
}
