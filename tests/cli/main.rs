//! Integration tests: the real `kaudit` binary on logs written by the tests, the
//! shipped sample logs, and the third-party corpus (`$KAUDIT_CORPUS`).

mod body_queries;
mod common;

mod completions;
mod corpus;
mod counts;
mod exit_codes;
mod follow;
mod formats;
mod fuzz_regressions;
mod gke;
mod habits;
mod hostile;
mod hunt;
mod ingest;
mod parallel;
mod policy;
mod query_syntax;
mod redaction;
mod report_goldens;
mod reports;
mod risk;
mod salvage;
mod samples;
mod stage_props;
mod trust;
mod tui;
mod workloads;
