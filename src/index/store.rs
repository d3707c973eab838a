//! Where the index lives and how it is opened: checked (`trust`) before anything in
//! it is read or written, created owner-only, recognized by a marker file, refused
//! when it belongs to another schema version.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use tantivy::Index;

use super::schema::{self, Fields, SCHEMA_VERSION};
use super::trust;
use crate::error::{Error, Result};
use crate::ingest::checkpoint::Checkpoint;

const MARKER: &str = "kaudit-index.json";
/// tantivy's own metadata, written (atomically) last when it creates an index.
const TANTIVY_META: &str = "meta.json";

#[derive(Serialize, Deserialize)]
struct Marker {
    schema_version: u32,
    created_by: String,
}

/// The commit payload: the checkpoint of the files read, committed with their documents.
#[derive(Serialize, Deserialize, Default)]
pub struct Payload {
    pub checkpoint: Checkpoint,
    /// When the commit was made (RFC 3339), for `kaudit status`.
    #[serde(default)]
    pub committed_at: Option<String>,
}

/// An opened index and its field handles.
pub struct Store {
    pub dir: PathBuf,
    pub index: Index,
    pub fields: Fields,
}

impl Store {
    /// Opens the index for reading; it must exist and be safe (`trust`).
    pub fn open(dir: &Path) -> Result<Store> {
        let Some(real) = trust::trusted_dir(dir, false)? else {
            return Err(Error::NoIndex {
                path: dir.to_path_buf(),
            });
        };
        Store::open_trusted(dir, real)
    }

    /// Opens a directory `trust` has checked; `real` is its path, links resolved.
    fn open_trusted(dir: &Path, real: PathBuf) -> Result<Store> {
        if !real.join(MARKER).exists() {
            return Err(if !is_empty_dir(&real) {
                Error::NotAnIndex {
                    path: dir.to_path_buf(),
                    reason: format!("no {MARKER}"),
                }
            } else {
                Error::NoIndex {
                    path: dir.to_path_buf(),
                }
            });
        }
        // A marker alone is an index whose creation was cut short: nothing is in it.
        if !real.join(TANTIVY_META).exists() {
            return Err(Error::NoIndex {
                path: dir.to_path_buf(),
            });
        }
        check_marker(&real)?;
        let index = Index::open_in_dir(&real).map_err(|e| Error::index(&real, e))?;
        let (schema, fields) = schema::build();
        // Fields are used by position: an index whose fields differ (a development
        // build with the same schema number, a hand-edited meta.json) would answer
        // every query wrongly, silently.
        if index.schema() != schema {
            return Err(Error::IndexDamaged {
                path: real,
                detail: "its fields are not the ones this kaudit writes: made by another build?"
                    .into(),
            });
        }
        Ok(Store {
            dir: real,
            index,
            fields,
        })
    }

    /// Opens the index, creating it (owner-only) when the directory is new or empty.
    ///
    /// The marker is written first, before tantivy's files: it claims the directory
    /// for kaudit, and a creation cut short (kill -9 during the first ingest) leaves a
    /// marked directory that the next run completes. Written last, as it once was, it
    /// left tantivy's files without a marker: a directory refused for good as "not a
    /// kaudit index" until removed by hand.
    pub fn open_or_create(dir: &Path) -> Result<Store> {
        let real = trust::trusted_dir(dir, true)?.expect("created when missing");
        let marked = real.join(MARKER).exists();
        if marked && real.join(TANTIVY_META).exists() {
            return Store::open_trusted(dir, real);
        }
        if !marked && !is_empty_dir(&real) {
            return Err(Error::NotAnIndex {
                path: dir.to_path_buf(),
                reason: format!("the directory is not empty and has no {MARKER}"),
            });
        }
        // Audit data is sensitive: readable by its owner only, even when the user
        // made the (empty) directory with a wider mode. `trust` checked it is ours.
        fs::set_permissions(&real, fs::Permissions::from_mode(0o700))
            .map_err(|e| Error::io(&real, e))?;
        // Also rewrites a marker cut short: tantivy's files come after it, so it is ours.
        let marker = Marker {
            schema_version: SCHEMA_VERSION,
            created_by: format!("kaudit {}", env!("CARGO_PKG_VERSION")),
        };
        let text = serde_json::to_string_pretty(&marker).expect("marker serializes");
        trust::write_file(&real, MARKER, text.as_bytes())?;
        let (schema, fields) = schema::build();
        let settings = tantivy::IndexSettings {
            docstore_compression: tantivy::store::Compressor::Lz4,
            docstore_blocksize: 64 * 1024,
            ..Default::default()
        };
        let index = Index::builder()
            .schema(schema)
            .settings(settings)
            .create_in_dir(&real)
            .map_err(|e| Error::index(&real, e))?;
        Ok(Store {
            dir: real,
            index,
            fields,
        })
    }

    /// The checkpoint of the last commit.
    pub fn payload(&self) -> Result<Payload> {
        let meta = self
            .index
            .load_metas()
            .map_err(|e| Error::index(&self.dir, e))?;
        match meta.payload {
            None => Ok(Payload::default()),
            Some(text) => serde_json::from_str(&text).map_err(|e| Error::NotAnIndex {
                path: self.dir.clone(),
                reason: format!("unreadable commit payload: {e}"),
            }),
        }
    }
}

/// Moves a damaged index aside for a closer look (`kaudit index rebuild`), next to
/// itself as `NAME.damaged-STAMP`, and returns where; `None` when there is nothing
/// to move. Only a directory `trust` accepts and that kaudit made (it holds the
/// marker) is moved: a rename as root through another user's link, or of any other
/// directory or file named as the index (`--index /etc/passwd`), would move a
/// system file away. The new name is taken only if free (RENAME_NOREPLACE).
pub fn move_aside(dir: &Path, stamp: &str) -> Result<Option<PathBuf>> {
    let Some(real) = trust::trusted_dir(dir, false)? else {
        return Ok(None);
    };
    if !real.join(MARKER).exists() {
        if is_empty_dir(&real) {
            return Ok(None);
        }
        return Err(Error::NotAnIndex {
            path: dir.to_path_buf(),
            reason: format!("no {MARKER}, so it is not moved aside"),
        });
    }
    for n in 1.. {
        let mut name = real.as_os_str().to_owned();
        name.push(format!(".damaged-{stamp}"));
        if n > 1 {
            name.push(format!("-{n}"));
        }
        let aside = PathBuf::from(name);
        let flags = rustix::fs::RenameFlags::NOREPLACE;
        match rustix::fs::renameat_with(rustix::fs::CWD, &real, rustix::fs::CWD, &aside, flags) {
            Ok(()) => return Ok(Some(aside)),
            Err(rustix::io::Errno::EXIST) => continue,
            Err(e) => return Err(Error::io(&real, e.into())),
        }
    }
    unreachable!("some name is free")
}

fn check_marker(dir: &Path) -> Result<()> {
    let path = dir.join(MARKER);
    let text = trust::read_file(dir, MARKER).map_err(|e| Error::io(&path, e))?;
    let marker: Marker = serde_json::from_str(&text).map_err(|e| Error::NotAnIndex {
        path: dir.to_path_buf(),
        reason: format!("{MARKER}: {e}"),
    })?;
    if marker.schema_version != SCHEMA_VERSION {
        return Err(Error::NotAnIndex {
            path: dir.to_path_buf(),
            reason: format!(
                "made by {} with schema {}, this kaudit reads schema {SCHEMA_VERSION}; re-ingest into a new --index",
                marker.created_by, marker.schema_version
            ),
        });
    }
    Ok(())
}

/// Empty, or holding only the marker's temporary file: a first run killed while
/// writing the marker left nothing else.
fn is_empty_dir(dir: &Path) -> bool {
    let marker_temp = trust::temp_name(MARKER);
    fs::read_dir(dir)
        .map(|mut d| d.all(|e| e.is_ok_and(|e| e.file_name() == marker_temp.as_str())))
        .unwrap_or(false)
}
