//! Test harness: exposes `peerjs_client::web` to JavaScript (as `RustPeer`) so end-to-end tests
//! can drive the Rust client in a page next to stock `peerjs`, against a real PeerJS server.
//!
//! Every peer and connection event is handed to a JavaScript callback as a plain object
//! `{type, ...}`; messages are converted per serialization: `json` → JS value, `raw` → string or
//! `Uint8Array`, `binary` → JS value (binaries as `Uint8Array`).

use std::cell::RefCell;
use std::collections::HashMap;
use std::rc::Rc;

use futures_util::StreamExt;
use peerjs_client::binarypack::Value;
use peerjs_client::data::Data;
use peerjs_client::server::ServerConfig;
use peerjs_client::signal::Serialization;
use peerjs_client::web::{
    ConnectOptions, ConnectionEvent, DataConnection, Peer, PeerEvent, PeerOptions,
};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::spawn_local;

/// A Rust PeerJS peer, driven from JavaScript.
#[wasm_bindgen]
pub struct RustPeer {
    peer: Peer,
    connections: Rc<RefCell<HashMap<String, DataConnection>>>,
    on_event: js_sys::Function,
}

#[wasm_bindgen]
impl RustPeer {
    /// Registers `id` with `token` on `ws://host:port{path}`; events go to `on_event(obj)`.
    #[wasm_bindgen(constructor)]
    pub fn new(
        id: &str,
        token: &str,
        host: &str,
        port: u16,
        path: &str,
        on_event: js_sys::Function,
    ) -> RustPeer {
        let options = PeerOptions {
            server: ServerConfig::new(host, port, path, ServerConfig::DEFAULT_KEY, false),
            ice_servers: Vec::new(),
            ..PeerOptions::default()
        };
        let (peer, mut events) = Peer::new(id, token, options);
        let connections: Rc<RefCell<HashMap<String, DataConnection>>> = Rc::default();
        let callback = on_event.clone();
        let conns = connections.clone();
        spawn_local(async move {
            while let Some(event) = events.next().await {
                match event {
                    PeerEvent::Open => emit(&callback, "open", &[]),
                    PeerEvent::Disconnected => emit(&callback, "disconnected", &[]),
                    PeerEvent::Close => emit(&callback, "close", &[]),
                    PeerEvent::Error(e) => emit(
                        &callback,
                        "error",
                        &[
                            ("kind", e.kind.as_str().into()),
                            ("message", e.message.into()),
                        ],
                    ),
                    PeerEvent::Connection(conn) => {
                        let id = conn.connection_id().to_string();
                        let metadata = conn.metadata().map(|m| m.to_string()).unwrap_or_default();
                        emit(
                            &callback,
                            "connection",
                            &[
                                ("connectionId", id.clone().into()),
                                ("peer", conn.peer().into()),
                                ("serialization", conn.serialization().as_str().into()),
                                ("reliable", conn.reliable().into()),
                                ("metadata", metadata.into()),
                            ],
                        );
                        conns.borrow_mut().insert(id, conn.clone());
                        watch(conn, callback.clone());
                    }
                }
            }
        });
        RustPeer {
            peer,
            connections,
            on_event,
        }
    }

    /// Dials `remote` with `serialization` (`json`, `raw` or `binary`); returns the connection ID.
    pub fn connect(&self, remote: &str, serialization: &str) -> Result<String, JsError> {
        let serialization: Serialization = serialization
            .parse()
            .map_err(|e| JsError::new(&format!("{e}")))?;
        let options = ConnectOptions {
            serialization,
            ..ConnectOptions::default()
        };
        let conn = self
            .peer
            .connect(remote, options)
            .map_err(|e| JsError::new(&e.to_string()))?;
        let id = conn.connection_id().to_string();
        self.connections
            .borrow_mut()
            .insert(id.clone(), conn.clone());
        watch(conn, self.on_event.clone());
        Ok(id)
    }

    /// Sends `value` on a connection: JSON for `json`/`binary` (a `Uint8Array` becomes bytes),
    /// a string or `Uint8Array` for `raw`.
    pub fn send(&self, connection_id: &str, value: JsValue) -> Result<(), JsError> {
        let conn = self
            .connections
            .borrow()
            .get(connection_id)
            .cloned()
            .ok_or_else(|| JsError::new("no such connection"))?;
        let data = to_data(conn.serialization(), &value)?;
        conn.send(&data).map_err(|e| JsError::new(&e.to_string()))
    }

    /// Closes a connection.
    pub fn close(&self, connection_id: &str) {
        if let Some(conn) = self.connections.borrow_mut().remove(connection_id) {
            conn.close();
        }
    }

    /// Open connections (count).
    #[wasm_bindgen(js_name = openConnections)]
    pub fn open_connections(&self) -> usize {
        self.peer
            .connections()
            .iter()
            .filter(|c| c.is_open())
            .count()
    }

    /// Whether the peer is registered.
    #[wasm_bindgen(js_name = isOpen)]
    pub fn is_open(&self) -> bool {
        self.peer.is_open()
    }

    /// Reconnects with the same ID and token.
    pub fn reconnect(&self) {
        self.peer.reconnect();
    }

    /// Destroys the peer.
    pub fn destroy(&self) {
        self.peer.destroy();
    }
}

fn watch(conn: DataConnection, callback: js_sys::Function) {
    let Some(mut events) = conn.events() else {
        return;
    };
    let id = conn.connection_id().to_string();
    spawn_local(async move {
        while let Some(event) = events.next().await {
            let base = ("connectionId", JsValue::from(id.clone()));
            match event {
                ConnectionEvent::Open => emit(&callback, "conn-open", &[base]),
                ConnectionEvent::Close => emit(&callback, "conn-close", &[base]),
                ConnectionEvent::Error(e) => emit(
                    &callback,
                    "conn-error",
                    &[base, ("message", e.to_string().into())],
                ),
                ConnectionEvent::Data(data) => {
                    emit(&callback, "data", &[base, ("data", from_data(&data))])
                }
            }
        }
    });
}

fn emit(callback: &js_sys::Function, kind: &str, fields: &[(&str, JsValue)]) {
    let obj = js_sys::Object::new();
    let _ = js_sys::Reflect::set(&obj, &"type".into(), &kind.into());
    for (key, value) in fields {
        let _ = js_sys::Reflect::set(&obj, &(*key).into(), value);
    }
    let _ = callback.call1(&JsValue::NULL, &obj);
}

fn to_data(serialization: Serialization, value: &JsValue) -> Result<Data, JsError> {
    if let Some(bytes) = value.dyn_ref::<js_sys::Uint8Array>() {
        return Ok(match serialization {
            Serialization::Binary => Data::Packed(Value::Bin(bytes.to_vec())),
            _ => Data::Bytes(bytes.to_vec()),
        });
    }
    if serialization == Serialization::Raw {
        if let Some(text) = value.as_string() {
            return Ok(Data::Text(text));
        }
    }
    let text = js_sys::JSON::stringify(value)
        .map_err(|_| JsError::new("value is not JSON"))?
        .as_string()
        .unwrap_or_default();
    Ok(Data::JsonText(text))
}

fn from_data(data: &Data) -> JsValue {
    match data {
        Data::Text(text) => text.into(),
        Data::Bytes(bytes) => js_sys::Uint8Array::from(bytes.as_slice()).into(),
        Data::Json(json) => js_sys::JSON::parse(&json.to_string()).unwrap_or(JsValue::NULL),
        Data::JsonText(text) => js_sys::JSON::parse(text).unwrap_or(JsValue::NULL),
        Data::Packed(value) => packed_to_js(value),
    }
}

fn packed_to_js(value: &Value) -> JsValue {
    match value {
        Value::Nil | Value::Undefined => JsValue::NULL,
        Value::Bool(b) => (*b).into(),
        Value::Int(i) => (*i as f64).into(),
        Value::UInt(u) => (*u as f64).into(),
        Value::Float(f) => (*f).into(),
        Value::Str(s) => s.into(),
        Value::Bin(b) => js_sys::Uint8Array::from(b.as_slice()).into(),
        Value::Array(items) => items
            .iter()
            .map(packed_to_js)
            .collect::<js_sys::Array>()
            .into(),
        Value::Map(pairs) => {
            let obj = js_sys::Object::new();
            for (k, v) in pairs {
                let key = match k {
                    Value::Str(s) => JsValue::from(s),
                    other => JsValue::from(format!("{other:?}")),
                };
                let _ = js_sys::Reflect::set(&obj, &key, &packed_to_js(v));
            }
            obj.into()
        }
    }
}
