//! Validated settings for each command: what the rest of kaudit works from.

use std::path::PathBuf;
use std::time::Duration;

use crate::output::Format;

pub mod env;

pub enum Command {
    /// `kaudit [PATH...]`: ingest (if paths are given), then show an overview.
    Overview {
        index: PathBuf,
        paths: Vec<PathBuf>,
    },
    Ingest(Ingest),
    Tui(Tui),
    Query(Query),
    Report(Report),
    PolicyEval(PolicyEval),
    PolicyCheck(PolicyCheck),
    PolicySuggest(PolicySuggest),
    Hunt(Hunt),
    Queries,
    Status {
        index: PathBuf,
    },
    /// Text to print as is, needing no index: `kaudit completions SHELL` (the script)
    /// and `kaudit man` (the roff man page), both generated in `cli` from its definition.
    Print(Vec<u8>),
    /// `kaudit index rebuild [PATH...]`.
    Rebuild {
        index: PathBuf,
        paths: Vec<PathBuf>,
    },
}

pub struct Ingest {
    pub index: PathBuf,
    pub paths: Vec<PathBuf>,
    pub strict: bool,
    pub max_line_bytes: usize,
    pub commit_interval: Duration,
    /// Keep following the live log after replaying.
    pub follow: Option<Follow>,
    /// See `ingest::Options::parse_threads`.
    pub parse_threads: usize,
}

impl Ingest {
    /// `kaudit ingest PATHS` with every option at its default.
    pub fn of(index: PathBuf, paths: Vec<PathBuf>) -> Ingest {
        let options = crate::ingest::Options::default();
        Ingest {
            index,
            paths,
            strict: false,
            max_line_bytes: options.max_line_bytes,
            commit_interval: Duration::from_secs(10),
            follow: None,
            parse_threads: options.parse_threads,
        }
    }
}

/// `kaudit tui`: the index, logs to ingest meanwhile, and the first query.
pub struct Tui {
    pub index: PathBuf,
    pub paths: Vec<PathBuf>,
    pub follow: Option<Follow>,
    pub query: String,
    /// `--policy FILE`: read when the TUI starts.
    pub policy: Option<PathBuf>,
}

pub struct Follow {
    pub poll: bool,
}

pub struct Query {
    pub index: PathBuf,
    pub text: String,
    pub format: Format,
    pub count: bool,
    pub limit: Option<usize>,
    pub oldest_first: bool,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub all_stages: bool,
    /// `--by`: counts by field instead of requests.
    pub by: Option<crate::query::counts::Spec>,
}

pub struct Report {
    pub index: PathBuf,
    pub kind: crate::report::Kind,
    /// `--where`: a query every report row must come from.
    pub filter: String,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub format: crate::report::render::Format,
    /// `--section`: only this table of the report.
    pub section: Option<String>,
    /// Exit 1 when the report flags something.
    pub fail_on_findings: bool,
}

/// `kaudit policy eval POLICY [QUERY]`.
pub struct PolicyEval {
    pub index: PathBuf,
    /// The Policy file, read when the command runs.
    pub policy: PathBuf,
    /// The query selecting the requests ("" for all).
    pub text: String,
    pub format: Format,
    pub since: Option<i64>,
    pub until: Option<i64>,
}

/// `kaudit policy check POLICY`.
pub struct PolicyCheck {
    pub index: PathBuf,
    pub policy: PathBuf,
    /// `--where`: the requests judged ("" for all).
    pub filter: String,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub format: crate::report::render::Format,
    pub section: Option<String>,
    /// Exit 1 on any leak or blind spot.
    pub fail_on_findings: bool,
}

/// `kaudit policy suggest`.
pub struct PolicySuggest {
    pub index: PathBuf,
    pub filter: String,
    pub since: Option<i64>,
    pub until: Option<i64>,
    /// JSON instead of commented YAML.
    pub json: bool,
}

/// `kaudit hunt`.
pub struct Hunt {
    pub index: PathBuf,
    pub filter: String,
    pub since: Option<i64>,
    pub until: Option<i64>,
    pub format: crate::report::render::Format,
    /// One JSON object per hit and line, instead of `format`.
    pub ndjson: bool,
    pub section: Option<String>,
    /// Index into `query::saved::LEVELS`.
    pub min_level: usize,
    pub explain: bool,
    pub fail_on_findings: bool,
}

pub const QUERY_HELP: &str = "\
Query syntax:
  field:value          exact match            resource:secrets  verb:get
  field:\"a b:c\"        quoted value           user:\"system:serviceaccount:ci:deployer\"
  field:pre*           prefix                 name:db-*
  field:/regex/        regex (whole value)    name:/db-.*/
  field:*              field present          as:*
  code:>=400           comparison             code:403  code:4xx  code:!=200
  severity:>=medium    severity, or compared  severity:high  severity:!=low  severity:*
  field:!=value        some value does not    image:!=registry.example.com/*
                       match (several values: image, group, ip, body lists)
  req.PATH:value       request body field     req.spec.type:NodePort  req.spec.replicas:>10
  resp.PATH:value      response body field    resp.status.phase:Running
  body.PATH:value      either body            body.roleRef.name:cluster-admin
                       PATH: keys joined by dots, \"quoted\" when they hold dots,
                       * for any one key, /regex/ for keys it finds: req.data.*:/AKIA/
                       (a body regex searches inside the value; -req.spec.tls:* is
                       absent or null; req.rules.verbs:\"*\" is a literal star)
  word  \"two words\"    free text in uri, userAgent and authorization reason
  a b                  both (AND)             a OR b   NOT a   -a   (a OR b) c
  @name                a saved query          @exec-into-pods (see `kaudit queries`)
Fields: verb user group sa pod node as resource sub apigroup ns name code decision
        stage level ip auditid ua uri reason command image risk cap severity salvaged
        dryrun
        (sa and pod are ns/name; apigroup core is the core group; ua, uri, reason and
        command, an exec's decoded command, are matched by words; image is each
        container image of a pod or workload body; risk is a container check a pod or
        workload body fails: privileged, hostPath, runAsRoot, runAsRoot:default, ...;
        cap is each capability it adds: SYS_ADMIN, NET_ADMIN, ...; severity its worst
        finding: low, medium, high (severity:>=medium); salvaged is why only a
        request's envelope could be read: too-long, too-deep, ...; dryrun:true is a
        server-side dry run, told as the apiserver reads the URI, not by the word
        dryRun; ip also takes CIDR blocks and classes: ip:10.0.0.0/8 ip:private)";
