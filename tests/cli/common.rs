//! Running the binary against a private index, and writing audit events.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use serde_json::{Value, json};

pub const BIN: &str = env!("CARGO_BIN_EXE_kaudit");

/// A private index (and HOME, so no user configuration leaks in).
pub struct Kaudit {
    pub dir: tempfile::TempDir,
}

pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Kaudit {
    pub fn new() -> Kaudit {
        Kaudit {
            dir: tempfile::tempdir().unwrap(),
        }
    }

    pub fn index(&self) -> PathBuf {
        self.dir.path().join("index")
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    pub fn command(&self) -> Command {
        let mut c = Command::new(BIN);
        c.env("HOME", self.dir.path())
            .env("XDG_CONFIG_HOME", self.dir.path().join("config"))
            .env("XDG_DATA_HOME", self.dir.path().join("data"))
            .env("KAUDIT_INDEX", self.index())
            .env_remove("KAUDIT_NOW")
            .env("NO_COLOR", "1")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, args: &[&str]) -> Run {
        self.command().args(args).output().unwrap().into()
    }

    pub fn run_stdin(&self, args: &[&str], input: &[u8]) -> Run {
        use std::io::Write;
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(input).unwrap();
        child.wait_with_output().unwrap().into()
    }

    /// `kaudit ingest PATHS`, which must succeed.
    pub fn ingest(&self, paths: &[&Path]) -> Run {
        let mut args = vec!["ingest".to_string()];
        args.extend(paths.iter().map(|p| p.display().to_string()));
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        let run = self.run(&refs);
        assert_eq!(run.code, 0, "ingest failed: {}", run.stderr);
        run
    }

    /// `kaudit query --format ndjson --limit 0 QUERY` as parsed rows.
    pub fn rows(&self, query: &str, extra: &[&str]) -> Vec<Value> {
        let mut args = vec!["query", "--format", "ndjson", "--limit", "0"];
        args.extend_from_slice(extra);
        args.push(query);
        let run = self.run(&args);
        assert!(
            run.code == 0 || run.code == 1,
            "query {query:?} failed: {}",
            run.stderr
        );
        run.stdout
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    /// `kaudit report NAME ARGS... --format json`, parsed; the run must succeed.
    pub fn report(&self, name: &str, args: &[&str]) -> Value {
        let mut all = vec!["report", name, "--format", "json"];
        all.extend_from_slice(args);
        let run = self.run(&all);
        assert_eq!(run.code, 0, "report {name} {args:?}: {}", run.stderr);
        serde_json::from_str(&run.stdout).expect("report JSON")
    }

    pub fn count(&self, query: &str) -> u64 {
        let run = self.run(&["query", "--count", query]);
        assert!(
            run.code == 0 || run.code == 1,
            "count {query:?} failed: {}",
            run.stderr
        );
        run.stdout.trim().parse().unwrap()
    }

    pub fn write(&self, name: &str, lines: &[String]) -> PathBuf {
        let path = self.path(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        let mut text = lines.join("\n");
        text.push('\n');
        std::fs::write(&path, text).unwrap();
        path
    }
}

/// An audit event: sensible defaults overridden by `fields` (a JSON object; a null
/// value removes the key).
pub fn event(fields: Value) -> String {
    let mut base = json!({
        "kind": "Event",
        "apiVersion": "audit.k8s.io/v1",
        "level": "Metadata",
        "auditID": "00000000-0000-4000-8000-000000000000",
        "stage": "ResponseComplete",
        "requestURI": "/api/v1/namespaces/default/pods/web",
        "verb": "get",
        "user": {"username": "alice", "groups": ["system:authenticated"]},
        "sourceIPs": ["10.0.0.1"],
        "userAgent": "kubectl/v1.31.0 (linux/amd64) kubernetes/abc",
        "objectRef": {"resource": "pods", "namespace": "default", "name": "web", "apiVersion": "v1"},
        "responseStatus": {"metadata": {}, "code": 200},
        "requestReceivedTimestamp": "2026-11-20T10:00:00.000000Z",
        "stageTimestamp": "2026-11-20T10:00:00.010000Z",
        "annotations": {"authorization.k8s.io/decision": "allow", "authorization.k8s.io/reason": "RBAC: allowed by ClusterRoleBinding \"admins\""}
    });
    let obj = base.as_object_mut().unwrap();
    for (k, v) in fields.as_object().unwrap() {
        if v.is_null() {
            obj.remove(k);
        } else {
            obj.insert(k.clone(), v.clone());
        }
    }
    base.to_string()
}

/// A request id: `id(7)` → `00000000-0000-4000-8000-000000000007`.
pub fn id(n: u32) -> String {
    format!("00000000-0000-4000-8000-{n:012}")
}

/// Values of one key across rows.
pub fn column(rows: &[Value], key: &str) -> Vec<String> {
    rows.iter()
        .map(|r| match &r[key] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}
