//! The host's durable storage: the hub's polls and command records in one SQLite file, the
//! native counterpart of the browser's IndexedDB repository (`src/storage.rs`).
//!
//! Schema (versioned with `PRAGMA user_version`, migrated forward on open):
//! - v1: `polls(id TEXT PRIMARY KEY, body TEXT)` — a [`Poll`] as JSON;
//!   `records(poll_id TEXT, command_id TEXT, body TEXT, PRIMARY KEY(poll_id, command_id))` — a
//!   [`ProcessedRecord`] as JSON.
//! - v2: `hosting(poll_id TEXT PRIMARY KEY, body TEXT)` — how the hub holds a poll moved to or
//!   from it ([`Hosting`] as JSON, PROTOCOL.md §8); `deleted(id TEXT PRIMARY KEY)` — the ids of
//!   polls their owner deleted ([`Write::Tombstone`]).
//!
//! Invariants:
//! - [`Store::commit`] applies a batch of [`Write`]s (several hub steps) in **one** transaction
//!   and returns only once it is durable (WAL, `synchronous=FULL`): the driver sends a step's
//!   acks only after that, so a `kill -9` at any moment loses no acked command.
//! - Writes apply in order: a [`Write::DeletePoll`] removes the poll and every record of it
//!   written before it (in earlier batches or earlier in the batch); writes after it stand.
//!   Only the last state of each poll in a batch is written (the others are superseded anyway).
//! - A batch is all or nothing: a failure (or a crash) before the commit leaves the file as it
//!   was after the previous commit.
//! - Rows are read back through serde into typed values; a row that does not parse is an error
//!   naming the row, never a silently different state.

use std::collections::BTreeMap;
use std::path::Path;

use rusqlite::{params, Connection, Transaction};
use starpoll_core::hub::{Hosting, Write};
use starpoll_core::poll::{Poll, PollId, ProcessedRecord};

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = 2;

/// Why storage failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// SQLite failed (open, migrate, read, write or commit).
    #[error("sqlite: could not {what}: {source}")]
    Sqlite {
        /// What was being done.
        what: &'static str,
        /// The cause.
        #[source]
        source: rusqlite::Error,
    },
    /// A stored row does not parse.
    #[error("stored {what} {key} is damaged: {source}")]
    Corrupt {
        /// The kind of row.
        what: &'static str,
        /// Its key.
        key: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A value could not be encoded.
    #[error("could not encode {what}: {source}")]
    Encode {
        /// The kind of value.
        what: &'static str,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// The file was written by a newer build.
    #[error("the database has schema version {found}; this build knows up to {SCHEMA_VERSION}")]
    TooNew {
        /// The file's version.
        found: i64,
    },
}

fn sqlite(what: &'static str) -> impl FnOnce(rusqlite::Error) -> StoreError {
    move |source| StoreError::Sqlite { what, source }
}

/// A hosted poll with its command records, as loaded at startup.
pub type Hosted = (Poll, Vec<ProcessedRecord>);

/// The SQLite store. See the module docs.
pub struct Store {
    conn: Connection,
}

impl Store {
    /// Opens (creating if needed) the database at `path` and migrates it to [`SCHEMA_VERSION`].
    pub fn open(path: &Path) -> Result<Self, StoreError> {
        let conn = Connection::open(path).map_err(sqlite("open the database"))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sqlite("switch to WAL"))?;
        conn.pragma_update(None, "synchronous", "FULL")
            .map_err(sqlite("set synchronous=FULL"))?;
        conn.busy_timeout(std::time::Duration::from_secs(5))
            .map_err(sqlite("set the busy timeout"))?;
        let mut store = Self { conn };
        store.migrate()?;
        Ok(store)
    }

    /// The schema version of the open file.
    pub fn schema_version(&self) -> Result<i64, StoreError> {
        self.conn
            .pragma_query_value(None, "user_version", |row| row.get(0))
            .map_err(sqlite("read the schema version"))
    }

    fn migrate(&mut self) -> Result<(), StoreError> {
        let found = self.schema_version()?;
        if found > SCHEMA_VERSION {
            return Err(StoreError::TooNew { found });
        }
        let tx = self
            .conn
            .transaction()
            .map_err(sqlite("start the migration"))?;
        if found < 1 {
            tx.execute_batch(
                "CREATE TABLE polls (id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);
                 CREATE TABLE records (
                     poll_id TEXT NOT NULL,
                     command_id TEXT NOT NULL,
                     body TEXT NOT NULL,
                     PRIMARY KEY (poll_id, command_id)
                 ) WITHOUT ROWID;
                 PRAGMA user_version = 1;",
            )
            .map_err(sqlite("create the schema v1"))?;
        }
        if found < 2 {
            tx.execute_batch(
                "CREATE TABLE hosting (poll_id TEXT PRIMARY KEY NOT NULL, body TEXT NOT NULL);
                 CREATE TABLE deleted (id TEXT PRIMARY KEY NOT NULL) WITHOUT ROWID;
                 PRAGMA user_version = 2;",
            )
            .map_err(sqlite("migrate to schema v2"))?;
        }
        tx.commit().map_err(sqlite("commit the migration"))
    }

    /// Every hosted poll with its command records.
    pub fn load(&self) -> Result<Vec<Hosted>, StoreError> {
        let mut polls: BTreeMap<String, Hosted> = BTreeMap::new();
        let mut statement = self
            .conn
            .prepare("SELECT id, body FROM polls")
            .map_err(sqlite("read the polls"))?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(sqlite("read the polls"))?;
        for row in rows {
            let (id, body) = row.map_err(sqlite("read a poll"))?;
            let poll: Poll = serde_json::from_str(&body).map_err(|source| StoreError::Corrupt {
                what: "poll",
                key: id.clone(),
                source,
            })?;
            polls.insert(id, (poll, Vec::new()));
        }
        let mut statement = self
            .conn
            .prepare("SELECT poll_id, command_id, body FROM records")
            .map_err(sqlite("read the command records"))?;
        let rows = statement
            .query_map([], |row| {
                Ok((
                    row.get::<_, String>(0)?,
                    row.get::<_, String>(1)?,
                    row.get::<_, String>(2)?,
                ))
            })
            .map_err(sqlite("read the command records"))?;
        for row in rows {
            let (poll_id, command_id, body) = row.map_err(sqlite("read a command record"))?;
            let record: ProcessedRecord =
                serde_json::from_str(&body).map_err(|source| StoreError::Corrupt {
                    what: "command record",
                    key: format!("{poll_id}/{command_id}"),
                    source,
                })?;
            // A record of a poll that is not stored cannot be served: it is left alone.
            if let Some((_, records)) = polls.get_mut(&poll_id) {
                records.push(record);
            }
        }
        Ok(polls.into_values().collect())
    }

    /// How the hub holds each poll moved to or from it, by poll.
    pub fn load_hosting(&self) -> Result<BTreeMap<PollId, Hosting>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT poll_id, body FROM hosting")
            .map_err(sqlite("read the hosting rows"))?;
        let rows = statement
            .query_map([], |row| {
                Ok((row.get::<_, String>(0)?, row.get::<_, String>(1)?))
            })
            .map_err(sqlite("read the hosting rows"))?;
        let mut out = BTreeMap::new();
        for row in rows {
            let (id, body) = row.map_err(sqlite("read a hosting row"))?;
            let corrupt = |source| StoreError::Corrupt {
                what: "hosting row",
                key: id.clone(),
                source,
            };
            let poll_id: PollId =
                serde_json::from_value(serde_json::Value::String(id.clone())).map_err(corrupt)?;
            let hosting: Hosting = serde_json::from_str(&body).map_err(corrupt)?;
            out.insert(poll_id, hosting);
        }
        Ok(out)
    }

    /// The ids of the polls their owner deleted.
    pub fn load_deleted(&self) -> Result<Vec<PollId>, StoreError> {
        let mut statement = self
            .conn
            .prepare("SELECT id FROM deleted")
            .map_err(sqlite("read the deleted polls"))?;
        let rows = statement
            .query_map([], |row| row.get::<_, String>(0))
            .map_err(sqlite("read the deleted polls"))?;
        let mut out = Vec::new();
        for row in rows {
            let id = row.map_err(sqlite("read a deleted poll"))?;
            let poll_id = serde_json::from_value(serde_json::Value::String(id.clone())).map_err(
                |source| StoreError::Corrupt {
                    what: "deleted poll id",
                    key: id,
                    source,
                },
            )?;
            out.push(poll_id);
        }
        Ok(out)
    }

    /// Commits `writes` in one transaction, durably. See the module docs for the order rules.
    pub fn commit(&mut self, writes: &[Write]) -> Result<(), StoreError> {
        if writes.is_empty() {
            return Ok(());
        }
        let tx = self
            .conn
            .transaction()
            .map_err(sqlite("start a transaction"))?;
        apply(&tx, writes)?;
        tx.commit().map_err(sqlite("commit"))
    }
}

/// Performs `writes` inside `tx` (without committing it).
fn apply(tx: &Transaction<'_>, writes: &[Write]) -> Result<(), StoreError> {
    // Only the last state of each poll in the batch is written.
    let mut last_state: BTreeMap<PollId, usize> = BTreeMap::new();
    for (index, write) in writes.iter().enumerate() {
        if let Write::Poll(poll) = write {
            last_state.insert(poll.id, index);
        }
    }
    let mut put_poll = tx
        .prepare_cached("INSERT OR REPLACE INTO polls (id, body) VALUES (?1, ?2)")
        .map_err(sqlite("prepare a poll write"))?;
    let mut put_record = tx
        .prepare_cached(
            "INSERT OR REPLACE INTO records (poll_id, command_id, body) VALUES (?1, ?2, ?3)",
        )
        .map_err(sqlite("prepare a record write"))?;
    for (index, write) in writes.iter().enumerate() {
        match write {
            Write::Poll(poll) => {
                if last_state.get(&poll.id) != Some(&index) {
                    continue;
                }
                let body = serde_json::to_string(poll).map_err(|source| StoreError::Encode {
                    what: "a poll",
                    source,
                })?;
                put_poll
                    .execute(params![poll.id.to_string(), body])
                    .map_err(sqlite("write a poll"))?;
            }
            Write::Record(poll_id, record) => {
                let body = serde_json::to_string(record).map_err(|source| StoreError::Encode {
                    what: "a command record",
                    source,
                })?;
                put_record
                    .execute(params![
                        poll_id.to_string(),
                        record.command_id.to_string(),
                        body
                    ])
                    .map_err(sqlite("write a command record"))?;
            }
            Write::DeletePoll(poll_id) => {
                let id = poll_id.to_string();
                tx.execute("DELETE FROM records WHERE poll_id = ?1", params![id])
                    .map_err(sqlite("delete a poll's records"))?;
                tx.execute("DELETE FROM polls WHERE id = ?1", params![id])
                    .map_err(sqlite("delete a poll"))?;
                tx.execute("DELETE FROM hosting WHERE poll_id = ?1", params![id])
                    .map_err(sqlite("delete a poll's hosting"))?;
            }
            Write::Tombstone(poll_id) => {
                tx.execute(
                    "INSERT OR REPLACE INTO deleted (id) VALUES (?1)",
                    params![poll_id.to_string()],
                )
                .map_err(sqlite("keep a deleted poll's id"))?;
            }
            Write::Hosting(poll_id, hosting) => {
                let body = serde_json::to_string(hosting).map_err(|source| StoreError::Encode {
                    what: "a hosting row",
                    source,
                })?;
                tx.execute(
                    "INSERT OR REPLACE INTO hosting (poll_id, body) VALUES (?1, ?2)",
                    params![poll_id.to_string(), body],
                )
                .map_err(sqlite("write a hosting row"))?;
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
