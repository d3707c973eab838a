//! The investigation TUI. `state` is the whole behaviour as plain data, driven by
//! tests without a terminal; `view` draws it with ratatui; `worker` answers its
//! effects from the index on another thread; `terminal` runs the crossterm event loop
//! and always gives the terminal back.

pub mod actions;
pub mod background;
pub mod bar;
pub mod complete;
pub mod counts;
pub mod history;
mod input;
pub mod json;
pub mod keys;
pub mod reports;
pub mod rows;
pub mod screen;
pub mod state;
pub mod terminal;
pub mod view;
pub mod worker;

#[cfg(test)]
mod tests;
