//! The typed IndexedDB repository (through rexie). The only module that knows the schema.
//!
//! Schema (version 6):
//! - `identity`: one record under key `"self"`: this browser's secret seed and PeerJS token.
//! - `profile`: one record under key `"self"`: the display name.
//! - `owned_polls` (v2): the polls this browser hosts, key = poll ID, value = the poll's JSON.
//! - `processed` (v2): the hub's command records, key = `"<pollId>/<commandId>"`, value = JSON:
//!   either one record (`{pollId, record}`, as written before session 10) or, since, every record
//!   of that poll from one commit (`{pollId, records: [...]}`, keyed by the first one's command
//!   id). One row per poll per commit, not one per command: a burst of 1,000 votes is a handful
//!   of `put`s (IndexedDB's cost is per request, ~0.2 ms each on the 2-core bench machine).
//!   A command is recorded once (a resend is answered from the record, a move rewrites a poll's
//!   records only after deleting them), so rows never overlap and both shapes are read.
//! - `joined` (v2): polls this browser joined as a participant and has loaded at least once, key
//!   = `"<owner>/<pollId>"` (before v5: the poll ID alone; such records are still read, and
//!   replaced on the next save), value = JSON of [`JoinedPoll`] (the owner and the last view
//!   verified against the owner's key).
//! - `outbox` (v3): this participant's commands not yet answered by their poll's owner, key =
//!   `"<pollId>/<commandId>"`, value = JSON of [`OutboxRecord`] (its `seq` gives the order). A
//!   record is written before its command is first sent and deleted after the owner answers
//!   (possibly in the same transaction as the next command's record).
//! - `deleted_polls` (v5): the ids of the polls this browser hosted and deleted (tombstones),
//!   key = value = poll ID; written in the transaction that deletes the poll, so its
//!   participants keep hearing `poll-deleted` rather than `unknown-poll`.
//! - `hosting` (v6): how the hub holds a poll beyond the poll itself (PROTOCOL.md §8), key =
//!   poll ID, value = JSON of `{pollId, hosting}` (core [`Hosting`]): its delegation chain and whether it is served,
//!   prepared or moved away. Absent for an own poll never moved. A poll delegated to this
//!   browser has its row in `owned_polls` and its hosting here; a poll that moved away has only
//!   its hosting (deleting a poll deletes its hosting too, in the same transaction).
//! - `settings` (v4): one record under key `"self"`: JSON of [`Settings`] (signaling and ICE
//!   servers), checked by the core's deserializer when read.
//!
//! Invariants: records are read back through serde into typed structs and validated (a stored
//! identity is rebuilt with [`Identity::from_seed`] and its token re-parsed; a stored poll goes
//! through [`Poll`]'s validating deserializer), so corrupt data surfaces as
//! [`StorageError::Corrupt`], never as a panic. Writes wait for the transaction to commit (and
//! report an abort as an error) before returning. [`Repository::commit`] writes a batch of hub
//! steps — polls and their command records, and deletions of polls with all their records — in
//! one transaction: all or nothing. [`Repository::replace_identity`] clears every store but
//! `settings` and writes the new identity in one transaction, so a switch of identity never
//! leaves the old identity's polls behind.

use std::collections::BTreeMap;

use rexie::{KeyRange, ObjectStore, Rexie, Store, Transaction, TransactionMode};
use serde::{de::DeserializeOwned, Deserialize, Serialize};
use starpoll_core::delegation::SignedDelegation;
use starpoll_core::hub::{Hosting, Write};
use starpoll_core::outbox::OutboxRecord;
use starpoll_core::participant::SavedView;
use starpoll_core::poll::{CommandId, Poll, PollId, PollView, ProcessedRecord};
use starpoll_core::settings::Settings;
use starpoll_core::{hex, Identity, PeerId, PeerToken};
use wasm_bindgen::JsValue;

use crate::error::{JsError, StorageError};

/// The database name the app uses (tests open others).
pub const DB_NAME: &str = "starpoll";
const DB_VERSION: u32 = 6;
const IDENTITY: &str = "identity";
const PROFILE: &str = "profile";
const OWNED: &str = "owned_polls";
const PROCESSED: &str = "processed";
const JOINED: &str = "joined";
const OUTBOX: &str = "outbox";
const SETTINGS: &str = "settings";
const DELETED: &str = "deleted_polls";
const HOSTING: &str = "hosting";
/// The stores that belong to an identity: cleared when it is replaced.
const IDENTITY_STORES: [&str; 8] = [
    IDENTITY, PROFILE, OWNED, PROCESSED, JOINED, OUTBOX, DELETED, HOSTING,
];
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

/// A `processed` row: which poll, and one command record (rows written before session 10) or
/// the records of that poll from one commit.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredRecords {
    poll_id: PollId,
    #[serde(default)]
    record: Option<ProcessedRecord>,
    #[serde(default)]
    records: Vec<ProcessedRecord>,
}

/// A `processed` row as written now: the records of one poll from one commit.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct RecordsRow<'a> {
    poll_id: PollId,
    records: &'a [&'a ProcessedRecord],
}

/// A poll's hosting as stored: which poll, and how the hub holds it.
#[derive(Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredHosting {
    poll_id: PollId,
    hosting: Hosting,
}

/// A poll this browser follows as a participant.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct JoinedPoll {
    /// The owner (dialed, and the key every view was verified against).
    pub owner: PeerId,
    /// The poll.
    pub poll_id: PollId,
    /// The last view received from the owner, if any.
    pub view: Option<PollView>,
    /// When `view` was received (Unix ms).
    pub saved_at: u64,
    /// The highest owner-signed delegation seen (PROTOCOL.md §8): a reload dials its hub
    /// directly. Absent while the poll is served by its owner (and in records before v6).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delegation: Option<SignedDelegation>,
}

impl From<JoinedPoll> for SavedView {
    fn from(j: JoinedPoll) -> Self {
        Self {
            owner: j.owner,
            poll_id: j.poll_id,
            view: j.view,
            saved_at: j.saved_at,
            delegation: j.delegation,
        }
    }
}

impl From<SavedView> for JoinedPoll {
    fn from(saved: SavedView) -> Self {
        Self {
            owner: saved.owner,
            poll_id: saved.poll_id,
            view: saved.view,
            saved_at: saved.saved_at,
            delegation: saved.delegation,
        }
    }
}

/// What this browser holds for its identity, counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DataSummary {
    /// Polls this browser hosts.
    pub owned_polls: u32,
    /// Polls this browser joined as a participant.
    pub joined_polls: u32,
    /// Votes and other commands not yet confirmed by their poll's owner.
    pub unsent_commands: u32,
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
            .add_object_store(ObjectStore::new(OWNED))
            .add_object_store(ObjectStore::new(PROCESSED))
            .add_object_store(ObjectStore::new(JOINED))
            .add_object_store(ObjectStore::new(OUTBOX))
            .add_object_store(ObjectStore::new(SETTINGS))
            .add_object_store(ObjectStore::new(DELETED))
            .add_object_store(ObjectStore::new(HOSTING))
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
                    seed_hex: hex::encode(&identity.seed()),
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
        finish(tx, "commit the identity").await?;
        Ok(identity)
    }

    /// Reads the stored identity, if any.
    pub async fn identity(&self) -> Result<Option<Identity>, StorageError> {
        match self.get::<StoredIdentity>(IDENTITY, "identity").await? {
            Some(record) => decode_identity(record).map(Some),
            None => Ok(None),
        }
    }

    /// Replaces this browser's identity with `identity` and clears everything that belonged to
    /// the old one (profile, hosted polls and their records, joined polls, outbox) in one
    /// read-write transaction; the settings stay. Returns once it is committed.
    pub async fn replace_identity(&self, identity: &Identity) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(&IDENTITY_STORES, TransactionMode::ReadWrite)
            .map_err(StorageError::idb("start a transaction"))?;
        for name in IDENTITY_STORES {
            tx.store(name)
                .map_err(StorageError::idb("open a store"))?
                .clear()
                .await
                .map_err(StorageError::idb("clear a store"))?;
        }
        let record = StoredIdentity {
            seed_hex: hex::encode(&identity.seed()),
            token: identity.token().as_str().to_owned(),
        };
        tx.store(IDENTITY)
            .map_err(StorageError::idb("open a store"))?
            .put(
                &to_js(&record, "identity")?,
                Some(&JsValue::from_str(SELF_KEY)),
            )
            .await
            .map_err(StorageError::idb("write the identity"))?;
        finish(tx, "replace the identity").await
    }

    /// How much this browser holds for its identity (what replacing it would clear).
    pub async fn data_summary(&self) -> Result<DataSummary, StorageError> {
        let tx = self
            .db
            .transaction(&[OWNED, JOINED, OUTBOX], TransactionMode::ReadOnly)
            .map_err(StorageError::idb("start a transaction"))?;
        let count = |name: &'static str| {
            let store = tx.store(name);
            async move {
                store
                    .map_err(StorageError::idb("open a store"))?
                    .count(None)
                    .await
                    .map_err(StorageError::idb("count records"))
            }
        };
        Ok(DataSummary {
            owned_polls: count(OWNED).await?,
            joined_polls: count(JOINED).await?,
            unsent_commands: count(OUTBOX).await?,
        })
    }

    /// Reads the saved settings (the defaults when none were saved).
    pub async fn settings(&self) -> Result<Settings, StorageError> {
        let (_tx, store) = self.open_store(SETTINGS, TransactionMode::ReadOnly)?;
        let value = store
            .get(JsValue::from_str(SELF_KEY))
            .await
            .map_err(StorageError::idb("read the settings"))?;
        Ok(value
            .filter(|v| !v.is_undefined())
            .map(|v| parse_json(v, "settings"))
            .transpose()?
            .unwrap_or_default())
    }

    /// Saves the settings and waits for the commit.
    pub async fn save_settings(&self, settings: &Settings) -> Result<(), StorageError> {
        let (tx, store) = self.open_store(SETTINGS, TransactionMode::ReadWrite)?;
        let value = JsValue::from_str(&json(settings, "settings")?);
        store
            .put(&value, Some(&JsValue::from_str(SELF_KEY)))
            .await
            .map_err(StorageError::idb("write the settings"))?;
        finish(tx, "commit the settings").await
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
        finish(tx, "commit a write").await
    }

    /// Every hosted poll, without its command records (what a tab that does not run the hub
    /// shows).
    pub async fn stored_polls(&self) -> Result<Vec<Poll>, StorageError> {
        let tx = self
            .db
            .transaction(&[OWNED], TransactionMode::ReadOnly)
            .map_err(StorageError::idb("start a transaction"))?;
        all_json::<Poll>(&tx, OWNED, "hosted poll").await
    }

    /// Every hosted poll with its command records (the hub's state at startup).
    pub async fn hosted_polls(&self) -> Result<Vec<(Poll, Vec<ProcessedRecord>)>, StorageError> {
        let tx = self
            .db
            .transaction(&[OWNED, PROCESSED], TransactionMode::ReadOnly)
            .map_err(StorageError::idb("start a transaction"))?;
        let polls = all_json::<Poll>(&tx, OWNED, "hosted poll").await?;
        let rows = all_json::<StoredRecords>(&tx, PROCESSED, "command record").await?;
        let mut by_poll: BTreeMap<PollId, Vec<ProcessedRecord>> = BTreeMap::new();
        for row in rows {
            let records = by_poll.entry(row.poll_id).or_default();
            records.extend(row.record);
            records.extend(row.records);
        }
        Ok(polls
            .into_iter()
            .map(|poll| {
                let records = by_poll.remove(&poll.id).unwrap_or_default();
                (poll, records)
            })
            .collect())
    }

    /// Commits hub writes in one transaction (deletions, then the latest state of each poll and
    /// its new records as one row), and returns once it is durable. A deletion supersedes the
    /// writes of that poll before it in `writes`.
    pub async fn commit(&self, writes: &[Write]) -> Result<(), StorageError> {
        if writes.is_empty() {
            return Ok(());
        }
        // Only the last state of each poll matters.
        let mut polls: BTreeMap<PollId, &Poll> = BTreeMap::new();
        let mut records: BTreeMap<PollId, Vec<&ProcessedRecord>> = BTreeMap::new();
        let mut deleted = Vec::new();
        let mut tombstoned = Vec::new();
        let mut hostings: BTreeMap<PollId, &Hosting> = BTreeMap::new();
        for write in writes {
            match write {
                Write::Poll(poll) => {
                    polls.insert(poll.id, poll);
                }
                Write::Record(poll_id, record) => records.entry(*poll_id).or_default().push(record),
                Write::DeletePoll(poll_id) => {
                    polls.remove(poll_id);
                    hostings.remove(poll_id);
                    records.remove(poll_id);
                    deleted.push(*poll_id);
                }
                Write::Tombstone(poll_id) => tombstoned.push(*poll_id),
                Write::Hosting(poll_id, hosting) => {
                    hostings.insert(*poll_id, hosting);
                }
            }
        }
        let tx = self
            .db
            .transaction(
                &[OWNED, PROCESSED, DELETED, HOSTING],
                TransactionMode::ReadWrite,
            )
            .map_err(StorageError::idb("start a transaction"))?;
        let owned = tx.store(OWNED).map_err(StorageError::idb("open a store"))?;
        let hosting_store = tx
            .store(HOSTING)
            .map_err(StorageError::idb("open a store"))?;
        let processed = tx
            .store(PROCESSED)
            .map_err(StorageError::idb("open a store"))?;
        let tombstones = tx
            .store(DELETED)
            .map_err(StorageError::idb("open a store"))?;
        for poll_id in tombstoned {
            let id = JsValue::from_str(&poll_id.to_string());
            tombstones
                .put(&id, Some(&id))
                .await
                .map_err(StorageError::idb("keep a deleted poll's id"))?;
        }
        for poll_id in deleted {
            owned
                .delete(JsValue::from_str(&poll_id.to_string()))
                .await
                .map_err(StorageError::idb("delete a poll"))?;
            processed
                .delete(keys_of(poll_id)?.into())
                .await
                .map_err(StorageError::idb("delete a poll's command records"))?;
            hosting_store
                .delete(JsValue::from_str(&poll_id.to_string()))
                .await
                .map_err(StorageError::idb("delete a poll's hosting"))?;
        }
        for (id, hosting) in hostings {
            hosting_store
                .put(
                    &JsValue::from_str(&json(
                        &StoredHosting {
                            poll_id: id,
                            hosting: hosting.clone(),
                        },
                        "hosting",
                    )?),
                    Some(&JsValue::from_str(&id.to_string())),
                )
                .await
                .map_err(StorageError::idb("write a poll's hosting"))?;
        }
        let mut poll_rows = Vec::with_capacity(polls.len());
        for (id, poll) in polls {
            poll_rows.push((
                JsValue::from_str(&json(poll, "hosted poll")?),
                Some(JsValue::from_str(&id.to_string())),
            ));
        }
        let mut record_rows = Vec::with_capacity(records.len());
        for (poll_id, records) in records {
            let Some(first) = records.first() else {
                continue;
            };
            let key = format!("{poll_id}/{}", first.command_id);
            let row = RecordsRow {
                poll_id,
                records: &records,
            };
            record_rows.push((
                JsValue::from_str(&json(&row, "command records")?),
                Some(JsValue::from_str(&key)),
            ));
        }
        // Every request is made before anything is awaited, and the end of the transaction is
        // awaited with them: one wait for IndexedDB instead of one per store. While the hub
        // works off a burst, each wait costs a turn of its busy thread (B4).
        let (polls_written, records_written, done) = futures_util::future::join3(
            owned.put_all(poll_rows.into_iter()),
            processed.put_all(record_rows.into_iter()),
            finish(tx, "commit poll changes"),
        )
        .await;
        polls_written.map_err(StorageError::idb("write a poll"))?;
        records_written.map_err(StorageError::idb("write command records"))?;
        done
    }

    /// How the hub holds each poll that has a hosting (delegated to this browser, prepared
    /// here, or moved away from here), by poll id (PROTOCOL.md §8).
    pub async fn hostings(&self) -> Result<BTreeMap<PollId, Hosting>, StorageError> {
        let tx = self
            .db
            .transaction(&[HOSTING], TransactionMode::ReadOnly)
            .map_err(StorageError::idb("start a transaction"))?;
        let all: Vec<StoredHosting> = all_json(&tx, HOSTING, "hosting").await?;
        Ok(all.into_iter().map(|h| (h.poll_id, h.hosting)).collect())
    }

    /// The ids of the polls this browser hosted and deleted (the hub's tombstones).
    pub async fn deleted_polls(&self) -> Result<Vec<PollId>, StorageError> {
        let (_tx, store) = self.open_store(DELETED, TransactionMode::ReadOnly)?;
        let values = store
            .get_all(None, None)
            .await
            .map_err(StorageError::idb("read deleted polls"))?;
        values
            .into_iter()
            .map(|value| {
                value
                    .as_string()
                    .and_then(|text| text.parse().ok())
                    .ok_or_else(|| StorageError::Corrupt {
                        record: "deleted poll id",
                        message: "not a poll ID".into(),
                    })
            })
            .collect()
    }

    /// Every poll this browser joined and loaded, one per owner and poll (a record stored
    /// under the pre-v5 key and again under the new one counts once: the newer save wins).
    pub async fn joined_polls(&self) -> Result<Vec<JoinedPoll>, StorageError> {
        let tx = self
            .db
            .transaction(&[JOINED], TransactionMode::ReadOnly)
            .map_err(StorageError::idb("start a transaction"))?;
        let all: Vec<JoinedPoll> = all_json(&tx, JOINED, "joined poll").await?;
        let mut by_key: BTreeMap<(PeerId, PollId), JoinedPoll> = BTreeMap::new();
        for joined in all {
            let key = (joined.owner.clone(), joined.poll_id);
            match by_key.get(&key) {
                Some(kept) if kept.saved_at >= joined.saved_at => {}
                _ => {
                    by_key.insert(key, joined);
                }
            }
        }
        Ok(by_key.into_values().collect())
    }

    /// One followed poll of `owner`, if this browser joined and loaded it.
    pub async fn joined(
        &self,
        owner: &PeerId,
        poll: PollId,
    ) -> Result<Option<JoinedPoll>, StorageError> {
        let (_tx, store) = self.open_store(JOINED, TransactionMode::ReadOnly)?;
        for key in [joined_key(owner, poll), legacy_joined_key(poll)] {
            let value = store
                .get(key)
                .await
                .map_err(StorageError::idb("read a joined poll"))?;
            let found: Option<JoinedPoll> = value
                .filter(|v| !v.is_undefined())
                .map(|v| parse_json(v, "joined poll"))
                .transpose()?;
            if let Some(found) = found.filter(|j| j.owner == *owner && j.poll_id == poll) {
                return Ok(Some(found));
            }
        }
        Ok(None)
    }

    /// Saves (replaces) a followed poll under its owner and poll ID, and drops its record under
    /// the pre-v5 key (the poll ID alone) if there is one of the same owner.
    pub async fn save_joined(&self, joined: &JoinedPoll) -> Result<(), StorageError> {
        let (tx, store) = self.open_store(JOINED, TransactionMode::ReadWrite)?;
        let value = JsValue::from_str(&json(joined, "joined poll")?);
        store
            .put(&value, Some(&joined_key(&joined.owner, joined.poll_id)))
            .await
            .map_err(StorageError::idb("write a joined poll"))?;
        drop_legacy_joined(&store, &joined.owner, joined.poll_id).await?;
        finish(tx, "commit a joined poll").await
    }

    /// The stored outbox of `poll`, oldest first.
    pub async fn outbox(&self, poll: PollId) -> Result<Vec<OutboxRecord>, StorageError> {
        let tx = self
            .db
            .transaction(&[OUTBOX], TransactionMode::ReadOnly)
            .map_err(StorageError::idb("start a transaction"))?;
        let mut records: Vec<OutboxRecord> =
            json_in(&tx, OUTBOX, Some(keys_of(poll)?), "outbox record").await?;
        records.sort_by_key(|r| r.seq);
        Ok(records)
    }

    /// Stores a command before it is sent and, in the same transaction, deletes the records of
    /// commands of the same poll that the owner `answered` (so a participant voting again pays
    /// for one transaction, not two); returns once it is durable.
    pub async fn save_outbox(
        &self,
        record: &OutboxRecord,
        answered: &[CommandId],
    ) -> Result<(), StorageError> {
        let (tx, store) = self.open_store(OUTBOX, TransactionMode::ReadWrite)?;
        let value = JsValue::from_str(&json(record, "outbox record")?);
        let key = outbox_key(record.poll_id, record.command_id);
        let put = async {
            store
                .put(&value, Some(&key))
                .await
                .map_err(StorageError::idb("write an outbox record"))
        };
        futures_util::future::try_join(put, delete_all(&store, record.poll_id, answered)).await?;
        finish(tx, "commit an outbox record").await
    }

    /// Deletes the records of commands the owner answered, in one transaction (nothing for an
    /// id without a record).
    pub async fn delete_outbox(
        &self,
        poll: PollId,
        answered: &[CommandId],
    ) -> Result<(), StorageError> {
        if answered.is_empty() {
            return Ok(());
        }
        let (tx, store) = self.open_store(OUTBOX, TransactionMode::ReadWrite)?;
        delete_all(&store, poll, answered).await?;
        finish(tx, "commit an outbox deletion").await
    }

    /// Forgets a followed poll of `owner`: its saved view and every unsent command, in one
    /// transaction (leaving a poll; its owner is not told, and a ballot already counted stays
    /// counted).
    pub async fn leave(&self, owner: &PeerId, poll: PollId) -> Result<(), StorageError> {
        let tx = self
            .db
            .transaction(&[JOINED, OUTBOX], TransactionMode::ReadWrite)
            .map_err(StorageError::idb("start a transaction"))?;
        tx.store(OUTBOX)
            .map_err(StorageError::idb("open a store"))?
            .delete(keys_of(poll)?.into())
            .await
            .map_err(StorageError::idb("delete a poll's outbox"))?;
        let joined = tx
            .store(JOINED)
            .map_err(StorageError::idb("open a store"))?;
        joined
            .delete(joined_key(owner, poll))
            .await
            .map_err(StorageError::idb("delete a joined poll"))?;
        drop_legacy_joined(&joined, owner, poll).await?;
        finish(tx, "commit leaving a poll").await
    }
}

/// The key range of every `processed` record of `poll`: keys `"<pollId>/<commandId>"`, i.e. from
/// `"<pollId>/"` up to, not including, `"<pollId>0"` (`'0'` is the character after `'/'`).
/// Every key of `poll` in a store keyed `<poll id>/<…>` (command records, outbox records): from
/// `<poll>/` up to, not including, `<poll>0` (`0` is the character after `/`).
fn keys_of(poll: PollId) -> Result<KeyRange, StorageError> {
    KeyRange::bound(
        &JsValue::from_str(&format!("{poll}/")),
        &JsValue::from_str(&format!("{poll}0")),
        Some(false),
        Some(true),
    )
    .map_err(|e| StorageError::idb("select a poll's records")(e.into()))
}

/// The `joined` key of `owner`'s `poll`.
fn joined_key(owner: &PeerId, poll: PollId) -> JsValue {
    JsValue::from_str(&format!("{owner}/{poll}"))
}

/// The `joined` key before v5: the poll ID alone.
fn legacy_joined_key(poll: PollId) -> JsValue {
    JsValue::from_str(&poll.to_string())
}

/// Deletes the pre-v5 `joined` record of `poll` if it is `owner`'s (a record of another
/// owner's poll with the same ID stays).
async fn drop_legacy_joined(
    store: &Store,
    owner: &PeerId,
    poll: PollId,
) -> Result<(), StorageError> {
    let legacy = store
        .get(legacy_joined_key(poll))
        .await
        .map_err(StorageError::idb("read a joined poll"))?;
    let same_owner = legacy
        .filter(|v| !v.is_undefined())
        .and_then(|v| parse_json::<JoinedPoll>(v, "joined poll").ok())
        .is_some_and(|j| j.owner == *owner);
    if same_owner {
        store
            .delete(legacy_joined_key(poll))
            .await
            .map_err(StorageError::idb("delete a joined poll"))?;
    }
    Ok(())
}

fn outbox_key(poll: PollId, command_id: CommandId) -> JsValue {
    JsValue::from_str(&format!("{poll}/{command_id}"))
}

/// Deletes the outbox records of `ids` (of `poll`) in `store`'s transaction: every request is
/// issued at once, then all are awaited.
async fn delete_all(store: &Store, poll: PollId, ids: &[CommandId]) -> Result<(), StorageError> {
    futures_util::future::try_join_all(ids.iter().map(|id| store.delete(outbox_key(poll, *id))))
        .await
        .map(drop)
        .map_err(StorageError::idb("delete an outbox record"))
}

/// Waits for `tx` to finish; an aborted transaction is an error.
async fn finish(tx: Transaction, action: &'static str) -> Result<(), StorageError> {
    let result = tx.done().await.map_err(StorageError::idb(action))?;
    if result.is_committed() {
        Ok(())
    } else {
        Err(StorageError::Aborted { action })
    }
}

/// Reads every value of `store_name` (JSON text) as `T`.
async fn all_json<T: DeserializeOwned>(
    tx: &Transaction,
    store_name: &str,
    record: &'static str,
) -> Result<Vec<T>, StorageError> {
    json_in(tx, store_name, None, record).await
}

/// The records of `store_name` whose keys are in `range` (all of them with `None`), in key order.
async fn json_in<T: DeserializeOwned>(
    tx: &Transaction,
    store_name: &str,
    range: Option<KeyRange>,
    record: &'static str,
) -> Result<Vec<T>, StorageError> {
    let store = tx
        .store(store_name)
        .map_err(StorageError::idb("open a store"))?;
    let values = store
        .get_all(range, None)
        .await
        .map_err(StorageError::idb("read records"))?;
    values
        .into_iter()
        .map(|value| parse_json(value, record))
        .collect()
}

/// Reads a stored value (JSON text) as `T`.
fn parse_json<T: DeserializeOwned>(
    value: JsValue,
    record: &'static str,
) -> Result<T, StorageError> {
    let text = value.as_string().ok_or_else(|| StorageError::Corrupt {
        record,
        message: "not a JSON string".into(),
    })?;
    serde_json::from_str(&text).map_err(|e| StorageError::Corrupt {
        record,
        message: e.to_string(),
    })
}

fn json<T: Serialize>(value: &T, record: &'static str) -> Result<String, StorageError> {
    serde_json::to_string(value).map_err(|e| StorageError::Corrupt {
        record,
        message: e.to_string(),
    })
}

/// Whether `indexedDB` exists on the global object (it is missing or null in some locked-down
/// contexts, where calling it would throw a less helpful error).
fn indexed_db_present() -> bool {
    js_sys::Reflect::get(&js_sys::global(), &JsValue::from_str("indexedDB"))
        .map(|v| !v.is_undefined() && !v.is_null())
        .unwrap_or(false)
}

/// A record stored as a plain object (the identity and the profile, both flat records of
/// strings): its JSON text, parsed by the browser.
fn to_js<T: Serialize>(value: &T, record: &'static str) -> Result<JsValue, StorageError> {
    js_sys::JSON::parse(&json(value, record)?).map_err(|e| StorageError::Corrupt {
        record,
        message: JsError::from(e).to_string(),
    })
}

/// A record stored as a plain object, read back through its JSON text.
fn from_js<T: DeserializeOwned>(value: JsValue, record: &'static str) -> Result<T, StorageError> {
    let corrupt = |message: String| StorageError::Corrupt { record, message };
    let text =
        js_sys::JSON::stringify(&value).map_err(|e| corrupt(JsError::from(e).to_string()))?;
    serde_json::from_str(&String::from(text)).map_err(|e| corrupt(e.to_string()))
}

fn decode_identity(record: StoredIdentity) -> Result<Identity, StorageError> {
    let corrupt = |message: &str| StorageError::Corrupt {
        record: "identity",
        message: message.to_owned(),
    };
    let seed =
        hex::decode::<32>(&record.seed_hex).ok_or_else(|| corrupt("seed is not 64 hex digits"))?;
    let token: PeerToken = record
        .token
        .parse()
        .map_err(|_| corrupt("token is invalid"))?;
    Ok(Identity::from_seed(seed, token))
}
