//! The investigation TUI (issue 5), built state first: `state` is the whole behaviour
//! as plain data, driven by tests without a terminal. The terminal side (ratatui
//! views, the crossterm event loop, the worker thread) comes on top of it.

pub mod state;
pub mod view;
pub mod worker;

#[cfg(test)]
mod tests;
