//! [`Channel`]: the I/O of one `RTCDataChannel` — framing with the pure [`DataCodec`], sending,
//! receiving, and the liveness pings of [`Liveness`] on a 250 ms check.
//!
//! The channel decides nothing about its connection: it hands what happened to the sink it was
//! built with, as a [`ChannelEvent`] (opened, a message, a frame it could not use, the remote
//! stopped answering, closed), always after releasing its own state, so the sink may call back
//! into the channel (to close it, say).
//!
//! Invariants: liveness runs only while the channel is open; [`Channel::close`] closes the
//! browser channel and drops its listeners and timer once, after the running callback returns.

use std::cell::RefCell;
use std::rc::{Rc, Weak};

use gloo_events::EventListener;
use gloo_timers::callback::Interval;
use wasm_bindgen::{JsCast, JsValue};
use web_sys::{MessageEvent, RtcDataChannel, RtcDataChannelState, RtcDataChannelType};

use super::{defer_drop, now_ms, JsError};
use crate::chunker::CLOSE_FRAME;
use crate::data::{
    Data, DataCodec, DataError, Frame, Incoming, Liveness, LivenessAction, PING_FRAME,
};
use crate::signal::Serialization;

/// How often liveness is checked, ms.
const LIVENESS_CHECK_MS: u32 = 250;

/// What a channel tells its connection.
pub(crate) enum ChannelEvent {
    /// The channel opened (once).
    Open,
    /// A whole message arrived.
    Message(Data),
    /// A frame could not be decoded; the channel keeps working.
    BadFrame(DataError),
    /// A message was dropped for its size (once per message); the channel keeps working.
    TooLarge(String),
    /// The remote stopped answering liveness pings.
    Unresponsive,
    /// The remote closed the channel (its close frame, or the browser's `close`).
    Closed,
}

/// Where a channel hands its [`ChannelEvent`]s.
pub(crate) type ChannelSink = Box<dyn Fn(ChannelEvent)>;

/// One data channel's framing, sending, receiving and liveness. Cloning gives another handle.
#[derive(Clone)]
pub(crate) struct Channel {
    shared: Rc<Shared>,
}

struct Shared {
    channel: RtcDataChannel,
    /// Whether this side pings first once open (an answerer whose dialer advertised liveness);
    /// otherwise it answers the remote's pings only (stock PeerJS answerers never send one).
    active_pings: bool,
    sink: ChannelSink,
    state: RefCell<State>,
}

struct State {
    codec: DataCodec,
    liveness: Option<Liveness>,
    timer: Option<Interval>,
    listeners: Vec<EventListener>,
    closed: bool,
}

impl Channel {
    /// Takes over `channel`: array-buffer frames in `serialization`, events to `sink`. Call
    /// [`Channel::start`] once the channel is stored where the sink can reach it.
    pub(crate) fn attach(
        channel: RtcDataChannel,
        serialization: Serialization,
        active_pings: bool,
        sink: ChannelSink,
    ) -> Self {
        channel.set_binary_type(RtcDataChannelType::Arraybuffer);
        let this = Self {
            shared: Rc::new(Shared {
                channel,
                active_pings,
                sink,
                state: RefCell::new(State {
                    codec: DataCodec::new(serialization),
                    liveness: None,
                    timer: None,
                    listeners: Vec::new(),
                    closed: false,
                }),
            }),
        };
        let on = |event: &'static str, handle: fn(&Rc<Shared>, &web_sys::Event)| {
            let weak: Weak<Shared> = Rc::downgrade(&this.shared);
            EventListener::new(&this.shared.channel, event, move |e| {
                if let Some(shared) = weak.upgrade() {
                    handle(&shared, e);
                }
            })
        };
        let listeners = vec![
            on("open", |shared, _| Shared::opened(shared)),
            on("message", |shared, e| {
                if let Some(e) = e.dyn_ref::<MessageEvent>() {
                    shared.received(e.data());
                }
            }),
            on("close", |shared, _| (shared.sink)(ChannelEvent::Closed)),
        ];
        this.shared.state.borrow_mut().listeners = listeners;
        this
    }

    /// Reports `Open` now if the browser channel is already open (an answerer's channel can be);
    /// otherwise its `open` event will.
    pub(crate) fn start(&self) {
        if self.shared.channel.ready_state() == RtcDataChannelState::Open {
            Shared::opened(&self.shared);
        }
    }

    /// Encodes one message into the frames that carry it.
    pub(crate) fn encode(&self, data: &Data) -> Result<Vec<Frame>, DataError> {
        self.shared.state.borrow_mut().codec.encode(data)
    }

    /// Sends `frames` in order.
    pub(crate) fn send(&self, frames: &[Frame]) -> Result<(), JsError> {
        for frame in frames {
            match frame {
                Frame::Text(text) => self.shared.channel.send_with_str(text)?,
                Frame::Bytes(bytes) => self.shared.channel.send_with_u8_array(bytes)?,
            }
        }
        Ok(())
    }

    /// Tells a PeerJS `binary` remote that we are closing, as PeerJS's `close({flush})` does.
    pub(crate) fn send_close_frame(&self) {
        let _ = self.shared.channel.send_with_u8_array(CLOSE_FRAME);
    }

    /// Stops liveness and closes the browser channel; its listeners and timer are dropped after
    /// the running callback returns (this may run inside one of them). Idempotent.
    pub(crate) fn close(&self) {
        let (listeners, timer) = {
            let mut state = self.shared.state.borrow_mut();
            state.closed = true;
            state.liveness = None;
            (std::mem::take(&mut state.listeners), state.timer.take())
        };
        defer_drop((listeners, timer));
        self.shared.channel.close();
    }
}

impl Shared {
    /// The channel opened: starts liveness, reports `Open`, then runs the first check (an active
    /// side pings at once).
    fn opened(this: &Rc<Self>) {
        {
            let mut state = this.state.borrow_mut();
            if state.closed || state.liveness.is_some() {
                return;
            }
            state.liveness = Some(Liveness::new(this.active_pings, now_ms()));
            let weak = Rc::downgrade(this);
            state.timer = Some(Interval::new(LIVENESS_CHECK_MS, move || {
                if let Some(shared) = weak.upgrade() {
                    shared.check_liveness();
                }
            }));
        }
        (this.sink)(ChannelEvent::Open);
        this.check_liveness();
    }

    fn received(&self, data: JsValue) {
        let frame = if let Some(text) = data.as_string() {
            Frame::Text(text)
        } else if let Some(buffer) = data.dyn_ref::<js_sys::ArrayBuffer>() {
            Frame::Bytes(js_sys::Uint8Array::new(buffer).to_vec())
        } else {
            return; // Blob frames are not used with binaryType = arraybuffer
        };
        let decoded = {
            let mut state = self.state.borrow_mut();
            let decoded = state.codec.decode(frame);
            let ping = matches!(decoded, Ok(Incoming::Ping));
            if let Some(liveness) = state.liveness.as_mut() {
                liveness.heard(now_ms(), ping);
            }
            decoded
        };
        let event = match decoded {
            Ok(Incoming::Message(data)) => ChannelEvent::Message(data),
            Ok(Incoming::Partial | Incoming::Ping) => return,
            Ok(Incoming::Close) => ChannelEvent::Closed,
            Ok(Incoming::TooLarge { reason, .. }) => ChannelEvent::TooLarge(reason),
            Err(e) => ChannelEvent::BadFrame(e),
        };
        (self.sink)(event);
    }

    fn check_liveness(&self) {
        let action = {
            let mut state = self.state.borrow_mut();
            state.liveness.as_mut().and_then(|l| l.poll(now_ms()))
        };
        match action {
            Some(LivenessAction::SendPing) => {
                let _ = self.channel.send_with_u8_array(PING_FRAME);
            }
            Some(LivenessAction::Dead) => (self.sink)(ChannelEvent::Unresponsive),
            None => {}
        }
    }
}
