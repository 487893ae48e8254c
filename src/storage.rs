//! The typed IndexedDB repository (through rexie). The only module that knows the schema.
//!
//! Schema (version 1):
//! - `identity`: one record under key `"self"`: this browser's secret seed and PeerJS token.
//! - `profile`: one record under key `"self"`: the display name.
//!
//! Invariants: records are read back through serde into typed structs and validated (a stored
//! identity is rebuilt with [`Identity::from_seed`] and its token re-parsed), so corrupt data
//! surfaces as [`StorageError::Corrupt`], never as a panic. Writes wait for the transaction to
//! commit before returning.

use rexie::{ObjectStore, Rexie, Store, Transaction, TransactionMode};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use starpoll_core::{Identity, PeerToken};
use wasm_bindgen::JsValue;

use crate::error::StorageError;

/// The database name the app uses (tests open others).
pub const DB_NAME: &str = "starpoll";
const DB_VERSION: u32 = 1;
const IDENTITY: &str = "identity";
const PROFILE: &str = "profile";
const SELF_KEY: &str = "self";

/// The identity as stored: the 32-byte seed in hex and the PeerJS token.
#[derive(Serialize, Deserialize)]
struct StoredIdentity {
    seed_hex: String,
    token: String,
}

/// This browser's profile as shown to others.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// The display name; may be empty (then the UI shows a short form of the peer ID).
    pub display_name: String,
}

/// An open starpoll database.
pub struct Repository {
    db: Rexie,
}

impl Repository {
    /// Opens (creating or upgrading) the database called `name`.
    pub async fn open(name: &str) -> Result<Self, StorageError> {
        if !indexed_db_present() {
            return Err(StorageError::Unavailable);
        }
        let db = Rexie::builder(name)
            .version(DB_VERSION)
            .add_object_store(ObjectStore::new(IDENTITY))
            .add_object_store(ObjectStore::new(PROFILE))
            .build()
            .await
            .map_err(StorageError::idb("open the database"))?;
        Ok(Self { db })
    }

    /// Closes the connection (other tabs can then upgrade the schema).
    pub fn close(self) {
        self.db.close();
    }

    /// Deletes the database called `name` (tests use this to start clean).
    pub async fn delete(name: &str) -> Result<(), StorageError> {
        Rexie::delete(name)
            .await
            .map_err(StorageError::idb("delete the database"))
    }

    /// Returns the stored identity, or stores and returns the one `make` builds when there is
    /// none yet. Read and write happen in one transaction, so two tabs opening the app for the
    /// first time at once end up with the same identity.
    pub async fn identity_or_insert(
        &self,
        make: impl FnOnce() -> Result<Identity, crate::error::AppError>,
    ) -> Result<Identity, crate::error::AppError> {
        let (tx, store) = self.open_store(IDENTITY, TransactionMode::ReadWrite)?;
        let existing = store
            .get(JsValue::from_str(SELF_KEY))
            .await
            .map_err(StorageError::idb("read the identity"))?;
        let identity = match existing.filter(|v| !v.is_undefined()) {
            Some(value) => decode_identity(from_js(value, "identity")?)?,
            None => {
                let identity = make()?;
                let record = StoredIdentity {
                    seed_hex: hex(&identity.seed()),
                    token: identity.token().as_str().to_owned(),
                };
                store
                    .put(
                        &to_js(&record, "identity")?,
                        Some(&JsValue::from_str(SELF_KEY)),
                    )
                    .await
                    .map_err(StorageError::idb("write the identity"))?;
                identity
            }
        };
        tx.done()
            .await
            .map_err(StorageError::idb("commit the identity"))?;
        Ok(identity)
    }

    /// Reads the stored identity, if any.
    pub async fn identity(&self) -> Result<Option<Identity>, StorageError> {
        match self.get::<StoredIdentity>(IDENTITY, "identity").await? {
            Some(record) => decode_identity(record).map(Some),
            None => Ok(None),
        }
    }

    /// Reads the profile (the default, empty profile when none was saved).
    pub async fn profile(&self) -> Result<Profile, StorageError> {
        Ok(self.get(PROFILE, "profile").await?.unwrap_or_default())
    }

    /// Saves the profile and waits for the commit.
    pub async fn save_profile(&self, profile: &Profile) -> Result<(), StorageError> {
        self.put(PROFILE, "profile", profile).await
    }

    /// Starts a transaction on one store and opens that store.
    fn open_store(
        &self,
        store_name: &str,
        mode: TransactionMode,
    ) -> Result<(Transaction, Store), StorageError> {
        let tx = self
            .db
            .transaction(&[store_name], mode)
            .map_err(StorageError::idb("start a transaction"))?;
        let store = tx
            .store(store_name)
            .map_err(StorageError::idb("open a store"))?;
        Ok((tx, store))
    }

    async fn get<T: DeserializeOwned>(
        &self,
        store_name: &str,
        record: &'static str,
    ) -> Result<Option<T>, StorageError> {
        // `_tx` keeps the transaction alive until the read completes.
        let (_tx, store) = self.open_store(store_name, TransactionMode::ReadOnly)?;
        let value = store
            .get(JsValue::from_str(SELF_KEY))
            .await
            .map_err(StorageError::idb("read a record"))?;
        value
            .filter(|v| !v.is_undefined())
            .map(|v| from_js(v, record))
            .transpose()
    }

    async fn put<T: Serialize>(
        &self,
        store_name: &str,
        record: &'static str,
        value: &T,
    ) -> Result<(), StorageError> {
        let (tx, store) = self.open_store(store_name, TransactionMode::ReadWrite)?;
        store
            .put(&to_js(value, record)?, Some(&JsValue::from_str(SELF_KEY)))
            .await
            .map_err(StorageError::idb("write a record"))?;
        tx.done()
            .await
            .map_err(StorageError::idb("commit a write"))?;
        Ok(())
    }
}

/// Whether `indexedDB` exists on the global object (it is missing or null in some locked-down
/// contexts, where calling it would throw a less helpful error).
fn indexed_db_present() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .map(|v| !v.is_undefined() && !v.is_null())
        .unwrap_or(false)
}

fn to_js<T: Serialize>(value: &T, record: &'static str) -> Result<JsValue, StorageError> {
    serde_wasm_bindgen::to_value(value).map_err(|e| StorageError::Corrupt {
        record,
        message: e.to_string(),
    })
}

fn from_js<T: DeserializeOwned>(value: JsValue, record: &'static str) -> Result<T, StorageError> {
    serde_wasm_bindgen::from_value(value).map_err(|e| StorageError::Corrupt {
        record,
        message: e.to_string(),
    })
}

fn decode_identity(record: StoredIdentity) -> Result<Identity, StorageError> {
    let corrupt = |message: &str| StorageError::Corrupt {
        record: "identity",
        message: message.to_owned(),
    };
    let seed = unhex32(&record.seed_hex).ok_or_else(|| corrupt("seed is not 64 hex digits"))?;
    let token: PeerToken = record
        .token
        .parse()
        .map_err(|_| corrupt("token is invalid"))?;
    Ok(Identity::from_seed(seed, token))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 || !text.is_ascii() {
        return None;
    }
    let mut out = [0u8; 32];
    for (i, slot) in out.iter_mut().enumerate() {
        *slot = u8::from_str_radix(text.get(2 * i..2 * i + 2)?, 16).ok()?;
    }
    Some(out)
}
