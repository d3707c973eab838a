//! The environment kaudit reads, in one place: read once by `main` (`Environment::read`)
//! and handed down, so the rest of the library takes values, not variables, and tests
//! can state an environment instead of setting the process's.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};

use crate::error::{Error, Result};

/// The variables kaudit looks at, as found (an empty value is kept: some checks tell
/// "set but empty" from "unset").
#[derive(Debug, Clone, Default)]
pub struct Environment {
    /// `$KAUDIT_INDEX`: the index directory when `--index` is not given.
    pub kaudit_index: Option<OsString>,
    /// `$KAUDIT_NOW`: the clock for relative times, RFC 3339.
    pub kaudit_now: Option<OsString>,
    /// `$KAUDIT_HISTORY`: the TUI's query history file.
    pub kaudit_history: Option<OsString>,
    /// `$NO_COLOR` (https://no-color.org): set and not empty, the TUI draws no colors.
    pub no_color: Option<OsString>,
    /// `$KAUDIT_TUI_TRACE`: a file the TUI appends its timings to (benches/tui.sh).
    pub kaudit_tui_trace: Option<OsString>,
    pub xdg_data_home: Option<OsString>,
    pub xdg_config_home: Option<OsString>,
    pub xdg_state_home: Option<OsString>,
    pub home: Option<OsString>,
}

impl Environment {
    /// The process's environment: the only place kaudit's commands read it.
    pub fn read() -> Environment {
        let var = std::env::var_os;
        Environment {
            kaudit_index: var("KAUDIT_INDEX"),
            kaudit_now: var("KAUDIT_NOW"),
            kaudit_history: var("KAUDIT_HISTORY"),
            no_color: var("NO_COLOR"),
            kaudit_tui_trace: var("KAUDIT_TUI_TRACE"),
            xdg_data_home: var("XDG_DATA_HOME"),
            xdg_config_home: var("XDG_CONFIG_HOME"),
            xdg_state_home: var("XDG_STATE_HOME"),
            home: var("HOME"),
        }
    }

    /// Whether colors may be used: not when `$NO_COLOR` is set to something.
    pub fn color(&self) -> bool {
        set(&self.no_color).is_none()
    }

    /// Where the TUI appends its timings: `$KAUDIT_TUI_TRACE`, if set.
    pub fn tui_trace_path(&self) -> Option<PathBuf> {
        set(&self.kaudit_tui_trace).map(PathBuf::from)
    }

    /// The index directory when `--index` is not given: `$KAUDIT_INDEX`, else
    /// `$XDG_DATA_HOME/kaudit/index` (default `~/.local/share/kaudit/index`).
    pub fn index_dir(&self) -> Option<PathBuf> {
        if let Some(dir) = set(&self.kaudit_index) {
            return Some(PathBuf::from(dir));
        }
        Some(
            self.xdg_dir(&self.xdg_data_home, ".local/share")?
                .join("index"),
        )
    }

    /// The user's directory of saved queries: `$XDG_CONFIG_HOME/kaudit/queries` (default
    /// `~/.config/kaudit/queries`).
    pub fn saved_queries_dir(&self) -> Option<PathBuf> {
        Some(
            self.xdg_dir(&self.xdg_config_home, ".config")?
                .join("queries"),
        )
    }

    /// The TUI's query history: `$KAUDIT_HISTORY`, else `$XDG_STATE_HOME/kaudit/history`
    /// (default `~/.local/state/kaudit/history`).
    pub fn history_path(&self) -> Option<PathBuf> {
        if let Some(path) = set(&self.kaudit_history) {
            return Some(PathBuf::from(path));
        }
        Some(
            self.xdg_dir(&self.xdg_state_home, ".local/state")?
                .join("history"),
        )
    }

    /// The clock for relative times (`--since 2h`): `$KAUDIT_NOW` (RFC 3339) when set, so
    /// an investigation of an old archive can say "2h" relative to the incident, else now.
    pub fn now(&self) -> Result<DateTime<Utc>> {
        let Some(text) = set(&self.kaudit_now) else {
            return Ok(Utc::now());
        };
        let text = text.to_string_lossy();
        DateTime::parse_from_rfc3339(&text)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| Error::Usage(format!("KAUDIT_NOW={text:?} is not RFC 3339: {e}")))
    }

    /// `$XDG_…_HOME/kaudit`, else `$HOME/<fallback>/kaudit`.
    fn xdg_dir(&self, xdg: &Option<OsString>, fallback: &str) -> Option<PathBuf> {
        let base = match set(xdg) {
            Some(dir) => PathBuf::from(dir),
            None => Path::new(self.home.as_ref()?).join(fallback),
        };
        Some(base.join("kaudit"))
    }
}

/// A variable's value unless it is unset or empty (an empty one counts as unset).
fn set(value: &Option<OsString>) -> Option<&OsString> {
    value.as_ref().filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn home_only() -> Environment {
        Environment {
            home: Some("/home/ann".into()),
            ..Environment::default()
        }
    }

    #[test]
    fn no_color_set_to_anything_but_empty_turns_colors_off() {
        assert!(home_only().color());
        let empty = Environment {
            no_color: Some("".into()),
            ..home_only()
        };
        assert!(empty.color(), "an empty NO_COLOR is unset (no-color.org)");
        let set = Environment {
            no_color: Some("1".into()),
            ..home_only()
        };
        assert!(!set.color());
    }

    #[test]
    fn the_tui_trace_is_written_only_when_asked_for() {
        assert_eq!(home_only().tui_trace_path(), None);
        let env = Environment {
            kaudit_tui_trace: Some("/tmp/trace".into()),
            ..home_only()
        };
        assert_eq!(env.tui_trace_path(), Some(PathBuf::from("/tmp/trace")));
    }

    #[test]
    fn directories_default_under_home() {
        let env = home_only();
        assert_eq!(
            env.index_dir(),
            Some(PathBuf::from("/home/ann/.local/share/kaudit/index"))
        );
        assert_eq!(
            env.saved_queries_dir(),
            Some(PathBuf::from("/home/ann/.config/kaudit/queries"))
        );
        assert_eq!(
            env.history_path(),
            Some(PathBuf::from("/home/ann/.local/state/kaudit/history"))
        );
    }

    #[test]
    fn xdg_variables_take_precedence_over_home() {
        let env = Environment {
            xdg_data_home: Some("/data".into()),
            xdg_config_home: Some("/conf".into()),
            xdg_state_home: Some("/state".into()),
            ..home_only()
        };
        assert_eq!(env.index_dir(), Some(PathBuf::from("/data/kaudit/index")));
        assert_eq!(
            env.saved_queries_dir(),
            Some(PathBuf::from("/conf/kaudit/queries"))
        );
        assert_eq!(
            env.history_path(),
            Some(PathBuf::from("/state/kaudit/history"))
        );
    }

    #[test]
    fn kaudit_variables_name_the_paths_and_empty_ones_do_not() {
        let env = Environment {
            kaudit_index: Some("/idx".into()),
            kaudit_history: Some("/hist".into()),
            xdg_data_home: Some(OsString::new()),
            ..home_only()
        };
        assert_eq!(env.index_dir(), Some(PathBuf::from("/idx")));
        assert_eq!(env.history_path(), Some(PathBuf::from("/hist")));
        let empty = Environment {
            kaudit_index: Some(OsString::new()),
            xdg_data_home: Some(OsString::new()),
            ..home_only()
        };
        assert_eq!(
            empty.index_dir(),
            Some(PathBuf::from("/home/ann/.local/share/kaudit/index"))
        );
    }

    #[test]
    fn no_home_means_no_default_directories() {
        let env = Environment::default();
        assert_eq!(env.index_dir(), None);
        assert_eq!(env.saved_queries_dir(), None);
        assert_eq!(env.history_path(), None);
    }

    #[test]
    fn kaudit_now_sets_the_clock_or_is_a_usage_error() {
        let env = Environment {
            kaudit_now: Some("2026-11-21T10:00:00Z".into()),
            ..Environment::default()
        };
        assert_eq!(env.now().unwrap().to_rfc3339(), "2026-11-21T10:00:00+00:00");
        let bad = Environment {
            kaudit_now: Some("yesterday".into()),
            ..Environment::default()
        };
        assert!(matches!(bad.now(), Err(Error::Usage(m)) if m.contains("KAUDIT_NOW")));
    }
}
