//! Hooks for the end-to-end tests, off unless a test switches one on. A test sets the
//! `localStorage` key `starpoll.test.<name>` to `"1"`; the app takes (reads and removes) it at
//! the moment the hook applies, so it fires once, and marks `<html data-<name>>` so the test
//! knows it fired.
//!
//! The only hook: `freeze-after-commit` — the hub commits a batch that records a command, then
//! sends nothing more (the acks are never sent), as if the tab died between the durable commit
//! and the ack (issue 5's third scenario).

/// Whether the test switched the hook `name` on; switches it off.
pub fn take(name: &str) -> bool {
    let key = format!("starpoll.test.{name}");
    let Some(storage) = web_sys::window().and_then(|w| w.local_storage().ok().flatten()) else {
        return false;
    };
    let on = storage.get_item(&key).ok().flatten().as_deref() == Some("1");
    if on {
        let _ = storage.remove_item(&key);
    }
    on
}

/// Marks `<html data-<name>="1">`.
pub fn mark(name: &str) {
    if let Some(root) = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| d.document_element())
    {
        let _ = root.set_attribute(&format!("data-{name}"), "1");
    }
}
