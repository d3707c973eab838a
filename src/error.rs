//! Typed errors of the library. `main.rs` maps them to exit codes and messages;
//! nothing in the library uses `anyhow`.

use std::path::PathBuf;

/// Everything that can stop a kaudit command. Bad *lines* are not errors: they are
/// counted and reported by ingest (see `ingest::Rejection`) while the run goes on.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("index {path}: {source}")]
    Index {
        path: PathBuf,
        #[source]
        source: tantivy::TantivyError,
    },

    #[error(
        "index {path} is damaged ({detail}); `kaudit index rebuild --index {path}` moves it \
         aside and reads its logs again into a new one"
    )]
    IndexDamaged { path: PathBuf, detail: String },

    #[error(
        "could not write the index {path} ({detail}); is the disk full? The last commit is \
         intact: once there is room, the same command goes on from it"
    )]
    IndexWrite { path: PathBuf, detail: String },

    #[error(
        "index {path} is being written by another kaudit process{holder}; \
         wait for it to finish or stop it (only one writer per index)"
    )]
    IndexLocked { path: PathBuf, holder: String },

    #[error(
        "{path} does not look like a kaudit index ({reason}); \
         choose another --index directory or remove this one"
    )]
    NotAnIndex { path: PathBuf, reason: String },

    /// StrictModes (`index::trust`): another user could change or replace the index.
    #[error("index {path} is not safe to use: {problem}; {remedy}")]
    UnsafeIndex {
        path: PathBuf,
        problem: String,
        remedy: String,
    },

    #[error("no index at {path}: run `kaudit ingest --index {path} <logs>` first")]
    NoIndex { path: PathBuf },

    #[error("{0}")]
    Query(#[from] SyntaxError),

    #[error("invalid regex /{pattern}/ for field {field}: {reason}")]
    Regex {
        field: &'static str,
        pattern: String,
        reason: String,
    },

    #[error("saved query {path}: {reason}")]
    SavedQuery { path: PathBuf, reason: String },

    #[error("index column {field} cannot be read ({reason}); re-ingest into a new --index")]
    Column { field: String, reason: String },

    /// An audit Policy file kube-apiserver would refuse: every problem, each with its line.
    #[error("audit Policy {path} cannot be used (kube-apiserver would refuse it too); fix these lines:\n{}", .problems.iter().map(|p| format!("  {}:{p}", .path.display())).collect::<Vec<_>>().join("\n"))]
    Policy {
        path: PathBuf,
        problems: Vec<String>,
    },

    #[error("{0}")]
    Usage(String),

    /// A bug: a thread of kaudit panicked (its message was printed first).
    #[error("internal error: {0}; please report it with the message above")]
    Internal(String),

    #[error("{} line(s) were rejected and --strict is set", .0)]
    Strict(u64),
}

impl Error {
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// An error of tantivy on the index at `path`. Damage (a truncated or overwritten
    /// file, a missing segment, an unreadable meta.json) is told apart: it is not fixed
    /// by trying again, and the message says how to rebuild.
    pub fn index(path: impl Into<PathBuf>, source: tantivy::TantivyError) -> Error {
        use tantivy::TantivyError as T;
        use tantivy::directory::error::OpenReadError as R;
        let invalid = |e: &std::io::Error| e.kind() == std::io::ErrorKind::InvalidData;
        let damaged = match &source {
            T::DataCorruption(_) => true,
            T::OpenReadError(R::FileDoesNotExist(_)) => true,
            T::OpenReadError(R::IoError { io_error, .. }) => invalid(io_error),
            T::IoError(e) => invalid(e),
            _ => false,
        };
        if damaged {
            return Error::IndexDamaged {
                path: path.into(),
                detail: source.to_string(),
            };
        }
        Error::Index {
            path: path.into(),
            source,
        }
    }

    /// True when the error is a closed pipe on output (`kaudit query | head`):
    /// ripgrep's rule, such a run ends quietly.
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// A query that does not parse, with where: the query language's only error. It lives
/// here, not in `query`, so that errors depend on nothing above them.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query syntax error at column {}: {message}{}", .position + 1, in_saved(.saved.as_deref()))]
pub struct SyntaxError {
    /// 0-based char index into `query`.
    pub position: usize,
    pub message: String,
    /// The text `position` refers to: the query, or the saved query named by `saved`.
    pub query: String,
    /// `Some(name)` when the error is inside saved query `@name`.
    pub saved: Option<String>,
}

fn in_saved(saved: Option<&str>) -> String {
    saved.map_or_else(String::new, |name| format!(" (in saved query @{name})"))
}

impl SyntaxError {
    /// Two lines: the query, then a caret under the position.
    pub fn caret(&self) -> String {
        // Saved queries may span lines; show only the line holding the position.
        let before: String = self.query.chars().take(self.position).collect();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = self.query[line_start..].lines().next().unwrap_or("");
        // A saved query comes from a file: shown escaped like log text, tabs kept.
        let shown = |s: &str| {
            s.split('\t')
                .map(|part| crate::sanitize::for_terminal(part).into_owned())
                .collect::<Vec<_>>()
                .join("\t")
        };
        // Copying tabs keeps the caret aligned when the terminal expands them.
        let pad: String = shown(&before[line_start..])
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("{}\n{pad}^", shown(line))
    }
}
