//! The host's identity: an ed25519 key and PeerJS token created once from OS randomness and kept
//! in the data directory as a `starpoll-identity` file (the format the app exports and imports,
//! `starpoll_core::identity_file`), so its peer ID is the same across restarts.
//!
//! Invariants: an existing file is only ever read, never replaced (a damaged one is an error, not
//! a new identity); a new file is written to a temporary name, flushed and renamed into place,
//! readable by its owner only.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use starpoll_core::identity_file::{self, IdentityFileError};
use starpoll_core::{Identity, PeerToken};

/// The identity file's name in the data directory.
pub const FILE_NAME: &str = "identity.json";

/// Why the identity could not be loaded or created.
#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    /// Reading or writing the file failed.
    #[error("could not {what} {path}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The file exists but is not a valid identity file.
    #[error("{path} is not a usable identity file: {source}")]
    Damaged {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: Box<IdentityFileError>,
    },
    /// The OS gave no randomness.
    #[error("no randomness from the operating system: {0}")]
    Random(#[source] getrandom::Error),
}

/// The identity stored in `dir`, created there first if there is none. The flag is true when it
/// was just created.
pub fn load_or_create(dir: &Path) -> Result<(Identity, bool), IdentityError> {
    let path = dir.join(FILE_NAME);
    match fs::read_to_string(&path) {
        Ok(text) => identity_file::decode(&text)
            .map(|identity| (identity, false))
            .map_err(|source| IdentityError::Damaged {
                path,
                source: Box::new(source),
            }),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => {
            let identity = fresh()?;
            write_new(&path, &identity_file::encode(&identity))?;
            Ok((identity, true))
        }
        Err(source) => Err(IdentityError::Io {
            what: "read",
            path,
            source,
        }),
    }
}

/// A new identity from OS randomness.
fn fresh() -> Result<Identity, IdentityError> {
    let mut seed = [0u8; 32];
    let mut token = [0u8; PeerToken::LEN];
    getrandom::fill(&mut seed).map_err(IdentityError::Random)?;
    getrandom::fill(&mut token).map_err(IdentityError::Random)?;
    Ok(Identity::from_seed(seed, PeerToken::from_random(token)))
}

fn write_new(path: &Path, text: &str) -> Result<(), IdentityError> {
    let io = |what: &'static str| {
        let path = path.to_path_buf();
        move |source| IdentityError::Io { what, path, source }
    };
    let tmp = path.with_extension("json.tmp");
    let mut options = fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        options.mode(0o600);
    }
    let mut file = options.open(&tmp).map_err(io("create"))?;
    file.write_all(text.as_bytes()).map_err(io("write"))?;
    file.sync_all().map_err(io("flush"))?;
    drop(file);
    // Never replace an identity that appeared meanwhile (another process created it first).
    fs::hard_link(&tmp, path).map_err(io("create"))?;
    fs::remove_file(&tmp).map_err(io("clean up after writing"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn created_once_then_read_back_identically() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (first, created) = load_or_create(dir.path()).expect("create");
        assert!(created);
        let (again, created) = load_or_create(dir.path()).expect("read");
        assert!(!created);
        assert_eq!(again.peer_id(), first.peer_id());
        assert_eq!(again.token(), first.token());
        assert_eq!(again.seed(), first.seed());
    }

    #[test]
    fn two_hosts_get_different_identities() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = tempfile::tempdir().expect("tempdir");
        let (a, _) = load_or_create(a.path()).expect("create");
        let (b, _) = load_or_create(b.path()).expect("create");
        assert_ne!(a.peer_id(), b.peer_id());
    }

    #[test]
    fn a_damaged_file_is_an_error_and_is_left_alone() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join(FILE_NAME);
        fs::write(&path, "{\"format\":\"starpoll-identity\",\"v\":1}").expect("write");
        let error = load_or_create(dir.path()).expect_err("damaged");
        assert!(matches!(error, IdentityError::Damaged { .. }), "{error}");
        let text = fs::read_to_string(&path).expect("still there");
        assert_eq!(text, "{\"format\":\"starpoll-identity\",\"v\":1}");
    }

    #[cfg(unix)]
    #[test]
    fn the_file_is_private() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().expect("tempdir");
        load_or_create(dir.path()).expect("create");
        let mode = fs::metadata(dir.path().join(FILE_NAME))
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
