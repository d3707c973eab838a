//! kaudit: reads Kubernetes apiserver audit logs into an embedded tantivy index and
//! answers an investigator's questions about them.
//!
//! Data flows one way: `model` ← `ingest` (find, read, parse, redact) → `index` (tantivy)
//! → `query` → `output` / `app`. See docs/ARCHITECTURE.md.

pub mod app;
pub mod argv;
pub mod cli;
pub mod config;
pub mod error;
// Development tools behind features (see Cargo.toml), compiled for unit tests too.
#[cfg(any(test, feature = "fuzzing"))]
#[doc(hidden)]
pub mod fuzzing;
pub mod index;
pub mod ingest;
pub mod model;
pub mod output;
pub mod podspec;
pub mod policy;
pub mod query;
pub mod report;
pub mod sanitize;
#[cfg(any(test, feature = "synth"))]
pub mod synth;
#[cfg(test)]
mod testing;
pub mod tui;
pub mod width;
