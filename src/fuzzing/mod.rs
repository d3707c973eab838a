//! Harness bodies shared by the cargo-fuzz targets (`fuzz/`) and the regression tests
//! (`tests/cli/fuzz_regressions.rs`), so the test suite replays exactly what the fuzzer
//! runs. Each harness panics when an invariant breaks: that panic is the finding.
//!
//! Not part of kaudit's interface; public only so that the fuzz crate and the
//! integration tests can reach it.

mod events;
mod lines;
mod query;
mod salvage;
#[cfg(test)]
mod salvage_props;
mod secrets;

pub use events::parse_line;
pub use lines::line_reader;
pub use query::query_parse;
pub use salvage::{PLANTED, salvage, salvage_scan};
