//! The embedded tantivy index: opening it safely (`store`, after the StrictModes checks
//! of `trust`), writing requests into it
//! with stage collapse and checkpoints (`writer`), and the stored form of a request (`document`).

pub mod document;
pub mod schema;
pub mod store;
pub mod trust;
pub mod writer;
