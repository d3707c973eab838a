//! Saved queries: `queries/*.toml` shipped inside the binary, plus the user's own in
//! `$XDG_CONFIG_HOME/kaudit/queries` (default `~/.config/kaudit/queries`), which
//! override shipped ones of the same name.

use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::error::{Error, Result};

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SavedQuery {
    pub name: String,
    pub description: String,
    pub query: String,
    /// The table's columns when this query is run alone (`kaudit query @name`); see
    /// `output::TABLE_COLUMNS`.
    #[serde(default)]
    pub columns: Vec<String>,
    /// `newest-first` (the default) or `oldest-first`, when run alone.
    #[serde(default)]
    pub sort: Option<String>,
    /// A detection's severity (`low`, `medium`, `high`, `critical`): `kaudit hunt`
    /// runs the saved queries that have one.
    #[serde(default)]
    pub level: Option<String>,
    /// What a detection is about, e.g. MITRE ATT&CK ids as Sigma writes them
    /// (`attack.t1609`).
    #[serde(default)]
    pub tags: Vec<String>,
    /// Where it was read from: `built-in` or a file path.
    #[serde(skip)]
    pub origin: String,
}

macro_rules! builtin {
    ($($name:literal),* $(,)?) => {
        &[$(($name, include_str!(concat!("../../queries/", $name, ".toml")))),*]
    };
}

/// The shipped queries, embedded at build time from `queries/`.
const BUILTIN: &[(&str, &str)] = builtin!(
    "anonymous",
    "anonymous-allowed",
    "client-cert-csrs",
    "cluster-admin-bindings",
    "configmap-credentials",
    "exec-into-pods",
    "exec-proxy-roles",
    "forbidden",
    "images-outside-registry",
    "impersonation",
    "ingress-without-tls",
    "mutable-workloads",
    "node-reads-secrets",
    "nodeport-services",
    "port-forward",
    "privileged-pods",
    "rbac-changes",
    "secret-reads",
    "secret-writes",
    "secrets-listed-cluster-wide",
    "token-requests",
    "token-requests-by-people",
    "wildcard-roles",
);

/// A detection's levels, least severe first (Sigma's, without `informational`).
pub const LEVELS: [&str; 4] = ["low", "medium", "high", "critical"];

fn parse(text: &str, origin: &str) -> Result<SavedQuery> {
    let mut q: SavedQuery = toml::from_str(text).map_err(|e| Error::SavedQuery {
        path: PathBuf::from(origin),
        reason: e.to_string(),
    })?;
    if let Some(sort) = q.sort.as_deref()
        && !matches!(sort, "newest-first" | "oldest-first")
    {
        return Err(Error::SavedQuery {
            path: PathBuf::from(origin),
            reason: format!("sort = {sort:?}: use \"newest-first\" or \"oldest-first\""),
        });
    }
    if let Some(level) = q.level.as_deref()
        && !LEVELS.contains(&level)
    {
        return Err(Error::SavedQuery {
            path: PathBuf::from(origin),
            reason: format!("level = {level:?}: use one of {}", LEVELS.join(", ")),
        });
    }
    q.origin = origin.to_string();
    Ok(q)
}

/// Every saved query, sorted by name: built-ins, then the user's directory (if given).
pub fn load(user: Option<&Path>) -> Result<Vec<SavedQuery>> {
    let mut all: Vec<SavedQuery> = BUILTIN
        .iter()
        .map(|(name, text)| parse(text, &format!("built-in {name}.toml")))
        .collect::<Result<_>>()?;
    if let Some(dir) = user
        && let Ok(entries) = std::fs::read_dir(dir)
    {
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| p.extension().is_some_and(|x| x == "toml"))
            .collect();
        paths.sort();
        for path in paths {
            let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
            let q = parse(&text, &path.display().to_string())?;
            all.retain(|existing| existing.name != q.name);
            all.push(q);
        }
    }
    all.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(all)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_parse_and_every_file_is_embedded() {
        let all = load(None).unwrap();
        assert!(all.iter().any(|q| q.name == "exec-into-pods"));
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("queries");
        let files = std::fs::read_dir(dir).unwrap().count();
        assert_eq!(
            files,
            all.len(),
            "a file in queries/ is missing from BUILTIN"
        );
        for q in &all {
            assert_eq!(q.origin, format!("built-in {}.toml", q.name));
        }
    }

    #[test]
    fn detections_have_a_known_level_and_the_shipped_ones_are_marked() {
        let all = load(None).unwrap();
        let level = |name: &str| {
            all.iter()
                .find(|q| q.name == name)
                .and_then(|q| q.level.clone())
        };
        for (name, expected) in [
            ("exec-into-pods", "high"),
            ("privileged-pods", "high"),
            ("cluster-admin-bindings", "critical"),
            ("anonymous-allowed", "high"),
            ("secrets-listed-cluster-wide", "high"),
            ("token-requests-by-people", "medium"),
        ] {
            assert_eq!(level(name).as_deref(), Some(expected), "{name}");
        }
        // Broad listings are no detections.
        assert_eq!(level("secret-reads"), None);
        let bad = "name = \"x\"\ndescription = \"\"\nquery = \"verb:get\"\nlevel = \"severe\"\n";
        let e = parse(bad, "x.toml").unwrap_err().to_string();
        assert!(
            e.contains("level = \"severe\": use one of low, medium, high, critical"),
            "{e}"
        );
    }

    #[test]
    fn user_queries_override_builtins() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("forbidden.toml"),
            "name = \"forbidden\"\ndescription = \"mine\"\nquery = \"code:403\"\n",
        )
        .unwrap();
        let all = load(Some(dir.path())).unwrap();
        let q = all.iter().find(|q| q.name == "forbidden").unwrap();
        assert_eq!(q.description, "mine");
    }
}
