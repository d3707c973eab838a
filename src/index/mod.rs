//! The embedded tantivy index: opening it safely (`store`, after the StrictModes checks
//! of `trust`), writing requests into it with stage collapse (decided in `collapse`,
//! applied by `writer`, which finds a request's document again by its `identity`) and
//! checkpoints, the stored form of a request (`document`) and
//! the terms of its bodies (`body`).

pub mod body;
pub mod collapse;
#[cfg(test)]
mod collapse_props;
pub mod columns;
pub mod document;
pub mod identity;
pub mod prepared;
pub mod schema;
pub mod store;
pub mod trust;
pub mod writer;
