//! Runs a callback in a new task of the page's event loop: after the tasks already queued
//! (IndexedDB completions, data-channel messages), so a long run of work can be cut into
//! slices without starving them. One `MessageChannel` carries the wake-ups, because chained
//! `setTimeout(0)` calls are clamped to 4 ms each after the fifth.

use std::cell::Cell;
use std::rc::Rc;

use gloo::events::EventListener;
use wasm_bindgen::JsValue;
use web_sys::{MessageChannel, MessagePort};

use crate::error::JsError;

/// A callback that can be scheduled to run in a next task (see the module docs). Dropping it
/// stops the wake-ups.
pub struct NextTask {
    sender: MessagePort,
    scheduled: Rc<Cell<bool>>,
    _listener: EventListener,
}

impl NextTask {
    /// Prepares `callback` to run once per [`NextTask::schedule`].
    pub fn new(mut callback: impl FnMut() + 'static) -> Result<Self, JsError> {
        let channel = MessageChannel::new()?;
        let receiver = channel.port1();
        let scheduled = Rc::new(Cell::new(false));
        let flag = scheduled.clone();
        let listener = EventListener::new(&receiver, "message", move |_| {
            flag.set(false);
            callback();
        });
        // A port listened to with addEventListener delivers only once started.
        receiver.start();
        Ok(Self {
            sender: channel.port2(),
            scheduled,
            _listener: listener,
        })
    }

    /// Runs the callback in a next task, unless that is already scheduled.
    pub fn schedule(&self) {
        if self.scheduled.replace(true) {
            return;
        }
        if let Err(e) = self.sender.post_message(&JsValue::NULL) {
            self.scheduled.set(false);
            gloo::console::error!(format!("could not schedule a task: {}", JsError::from(e)));
        }
    }
}
