//! The signaling WebSocket: one task per socket the PeerJS [`Session`] machine asks for, moving
//! text frames between the socket and the main loop. Every decision (register, heartbeat,
//! reconnect, route OFFER/CANDIDATE) is the session machine's; this module only does the I/O.
//!
//! Invariants: each socket has a generation number; its events carry it, so the main loop can
//! ignore a socket it has already replaced or closed (the session's "report events for the latest
//! socket only" rule). A socket reports `Closed` exactly once.
//!
//! [`Session`]: peerjs_client::session::Session

use futures_util::{SinkExt, StreamExt};
use tokio::sync::mpsc::{unbounded_channel, UnboundedReceiver, UnboundedSender};
use tokio_tungstenite::tungstenite::Message;

/// Something that happened on socket number `generation`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SocketEvent {
    /// It opened.
    Opened(u64),
    /// It received a text frame.
    Text(u64, String),
    /// It closed or failed (once), with the reason.
    Closed(u64, String),
}

/// What the main loop asks a socket to do.
#[derive(Debug)]
enum Command {
    Send(String),
    Close,
}

/// The main loop's handle on the current socket.
pub struct SocketHandle {
    commands: UnboundedSender<Command>,
}

impl SocketHandle {
    /// Sends a text frame (dropped if the socket has ended; the session learns of it by
    /// `Closed`).
    pub fn send(&self, text: String) {
        let _ = self.commands.send(Command::Send(text));
    }

    /// Closes the socket cleanly (frees the ID on the server at once).
    pub fn close(&self) {
        let _ = self.commands.send(Command::Close);
    }
}

/// Opens a WebSocket to `url` in a task of the current runtime, reporting to `events`.
pub fn open(url: String, generation: u64, events: UnboundedSender<SocketEvent>) -> SocketHandle {
    let (commands, rx) = unbounded_channel();
    tokio::task::spawn_local(run(url, generation, events, rx));
    SocketHandle { commands }
}

async fn run(
    url: String,
    generation: u64,
    events: UnboundedSender<SocketEvent>,
    mut commands: UnboundedReceiver<Command>,
) {
    let connecting = tokio_tungstenite::connect_async(url.as_str());
    let mut socket = tokio::select! {
        result = connecting => match result {
            Ok((socket, _)) => socket,
            Err(error) => {
                let _ = events.send(SocketEvent::Closed(generation, error.to_string()));
                return;
            }
        },
        // Closed (or the handle dropped) before it opened.
        _ = wait_close(&mut commands) => {
            let _ = events.send(SocketEvent::Closed(generation, "closed before open".into()));
            return;
        }
    };
    let _ = events.send(SocketEvent::Opened(generation));
    let reason = loop {
        tokio::select! {
            incoming = socket.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let _ = events.send(SocketEvent::Text(generation, text.as_str().to_owned()));
                }
                Some(Ok(Message::Close(frame))) => {
                    break frame.map(|f| f.reason.to_string()).unwrap_or_else(|| "closed by the server".into());
                }
                Some(Ok(_)) => {} // ping/pong handled by tungstenite; binary is not PeerJS
                Some(Err(error)) => break error.to_string(),
                None => break "closed".into(),
            },
            command = commands.recv() => match command {
                Some(Command::Send(text)) => {
                    if let Err(error) = socket.send(Message::text(text)).await {
                        break error.to_string();
                    }
                }
                Some(Command::Close) | None => {
                    let _ = socket.close(None).await;
                    break "closed by the host".into();
                }
            },
        }
    };
    let _ = events.send(SocketEvent::Closed(generation, reason));
}

/// Resolves when a `Close` arrives or the handle is dropped (sends before open are kept by the
/// session machine, which only sends once open).
async fn wait_close(commands: &mut UnboundedReceiver<Command>) {
    loop {
        match commands.recv().await {
            Some(Command::Close) | None => return,
            Some(Command::Send(_)) => {}
        }
    }
}

/// A channel for socket events.
pub fn channel() -> (UnboundedSender<SocketEvent>, UnboundedReceiver<SocketEvent>) {
    unbounded_channel()
}
