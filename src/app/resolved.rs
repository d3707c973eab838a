//! The validated arguments resolved into what the commands read, like ripgrep's
//! HiArgs built from its LowArgs: the index opened and the saved queries loaded once,
//! here, instead of in each command.

use std::path::Path;

use crate::config::env::Environment;
use crate::error::Result;
use crate::query::Engine;
use crate::query::saved::{self, SavedQuery};

/// What a command that searches the index works from.
pub struct Resolved {
    pub engine: Engine,
    /// The built-in saved queries and the user's, for `@name` in queries.
    pub saved: Vec<SavedQuery>,
}

impl Resolved {
    /// Opens the index at `index` (it must exist), then loads the saved queries: in
    /// this order, so a missing index is the error shown before a bad saved query.
    pub fn open(index: &Path, env: &Environment) -> Result<Resolved> {
        let engine = Engine::open(index)?;
        let saved = load_saved(env)?;
        Ok(Resolved { engine, saved })
    }
}

/// The built-in saved queries and those in the user's directory.
pub fn load_saved(env: &Environment) -> Result<Vec<SavedQuery>> {
    saved::load(env.saved_queries_dir().as_deref())
}
