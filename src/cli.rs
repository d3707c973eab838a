//! Command-line arguments (clap). Nothing else in kaudit sees clap: `into_command`
//! validates the raw arguments into a `config::Command`.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand, ValueEnum};

use crate::config::env::Environment;
use crate::config::{self, Command};
use crate::error::{Error, Result};
use crate::output::Format;
use crate::report::render::Format as ReportFormat;

#[derive(Parser, Debug)]
#[command(
    name = "kaudit",
    version,
    about = "Index Kubernetes audit logs and answer who read a secret, who got a shell, what fills the log.",
    subcommand_precedence_over_arg = true,
    after_help = "Without a subcommand: ingest the given logs (if any) into the index and open the TUI\n\
                  (`kaudit tui`); when stdin or stdout is not a terminal, print an overview instead.\n\
                  Query syntax: see `kaudit query --help` or the README."
)]
pub struct Cli {
    #[command(subcommand)]
    command: Option<Sub>,
    /// Logs to ingest (files, directories) before opening the TUI or printing the overview.
    paths: Vec<PathBuf>,
    #[command(flatten)]
    index: IndexArg,
}

#[derive(Args, Debug, Clone)]
struct IndexArg {
    /// Index directory [default: $KAUDIT_INDEX, else $XDG_DATA_HOME/kaudit/index].
    #[arg(long, global = true, value_name = "DIR")]
    index: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
enum Sub {
    /// The investigation TUI: query, pivot, timeline, reports. With PATHs, ingests them
    /// in the background (results grow as they arrive); with --follow, follows the live log.
    Tui {
        /// Follow the live log (PATH: its directory or the audit.log file) while the TUI is open.
        #[arg(long)]
        follow: bool,
        /// With --follow: check the file on a timer only, without inotify.
        #[arg(long, requires = "follow")]
        poll: bool,
        /// The first query [default: all requests].
        #[arg(long, short = 'q', value_name = "QUERY", allow_hyphen_values = true)]
        query: Option<String>,
        /// An audit Policy file: `s` lists its `policy check`, and each request's
        /// detail says which of its rules takes it.
        #[arg(long, value_name = "FILE")]
        policy: Option<PathBuf>,
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Read audit logs (files, directories with rotated and gzipped backups, - for stdin) into the index.
    Ingest {
        /// Exit with status 2 if any line was rejected.
        #[arg(long)]
        strict: bool,
        /// Lines longer than this are skipped and reported (memory stays bounded).
        #[arg(long, value_name = "N", default_value_t = 16 << 20)]
        max_line_bytes: usize,
        /// Seconds between commits [default: 1 with --follow, else 10]. New requests are
        /// searchable after the next commit; a crash loses nothing (the rerun resumes).
        #[arg(long, value_name = "SECONDS")]
        commit_interval: Option<f64>,
        /// Keep following the log (PATH: its directory or the audit.log file) through
        /// rotation until SIGINT/SIGTERM, after replaying the backups not read yet.
        #[arg(long)]
        follow: bool,
        /// With --follow: check the file on a timer only, without inotify (NFS, some
        /// container mounts).
        #[arg(long, requires = "follow")]
        poll: bool,
        /// Threads that parse lines beside the one that reads them and the index's own
        /// [default: 0 on up to 2 cores, else (cores - 1) / 2]; 0 parses on the reading
        /// thread.
        #[arg(long, value_name = "N")]
        parse_threads: Option<usize>,
        #[arg(required = true, value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
    /// Search the index. Exit status 0 when something matched, 1 when nothing did.
    #[command(after_help = crate::config::QUERY_HELP)]
    Query {
        #[arg(long, value_enum, default_value_t = FormatArg::Table)]
        format: FormatArg,
        /// Print only the number of matching requests.
        #[arg(long)]
        count: bool,
        /// At most this many requests (0: no limit).
        #[arg(long, value_name = "N", default_value_t = 100)]
        limit: usize,
        /// Oldest first (default: newest first).
        #[arg(long)]
        oldest_first: bool,
        /// Requests received at or after T: RFC 3339 or an age (15m, 2h, 7d).
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Requests received before T: RFC 3339 or an age (15m, 2h, 7d).
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// One row per stage seen (RequestReceived, ResponseStarted, ...) instead of per request.
        #[arg(long)]
        all_stages: bool,
        /// Count the matching requests per value of these fields (e.g. ip, or user,verb),
        /// largest first, instead of listing them.
        #[arg(
            long,
            value_name = "FIELD[,FIELD...]",
            conflicts_with_all = ["count", "limit", "oldest_first", "all_stages"]
        )]
        by: Option<String>,
        /// With --by: count per time bucket of this width (30s, 5m, 1h, 1d, 1w), buckets
        /// aligned to multiples of it in UTC.
        #[arg(long, value_name = "DURATION", requires = "by")]
        every: Option<String>,
        /// With --by: only values counted at least N times (with --every: in some bucket,
        /// and only the buckets that reach N are shown).
        #[arg(long, value_name = "N", requires = "by")]
        min: Option<u64>,
        /// With --by: the N values with the largest counts (with --every: the largest
        /// bucket), 0 for all [default: 20].
        #[arg(long, value_name = "N", requires = "by")]
        top: Option<usize>,
        /// The query; several words are joined with spaces. Empty matches everything.
        #[arg(
            value_name = "QUERY",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        query: Vec<String>,
    },
    /// Answer an investigation's first questions from the index: secrets, serviceaccounts,
    /// immutability, stats.
    Report {
        #[command(subcommand)]
        report: ReportSub,
    },
    /// The audit Policy: the level a Policy file gives each request the index holds,
    /// as kube-apiserver would decide it.
    Policy {
        #[command(subcommand)]
        action: PolicySub,
    },
    /// Run every detection over the whole history at once: the saved queries that carry
    /// a level (the shipped ones: exec into pods, privileged pods, cluster-admin
    /// bindings, anonymous access allowed, secrets listed cluster-wide by a person,
    /// tokens requested by people, ...; and yours). Each is one query on the index.
    /// Exit status 1 with --fail-on-findings when something was found.
    Hunt {
        #[arg(long, value_enum, default_value_t = HuntFormatArg::Table)]
        format: HuntFormatArg,
        /// Only detections at this level or above.
        #[arg(long, value_enum, default_value_t = HuntLevelArg::Low)]
        min_level: HuntLevelArg,
        #[command(flatten)]
        scope: ScopeArgs,
        /// Only this table (detections or hits; CSV shows hits by default).
        #[arg(long, value_name = "NAME")]
        section: Option<String>,
        /// Print each detection's level, tags and query, and run nothing.
        #[arg(long)]
        explain: bool,
        /// Exit with status 1 when any detection found something (for cron and CI).
        #[arg(long)]
        fail_on_findings: bool,
    },
    /// List the saved queries (use them as `kaudit query @name`).
    Queries,
    /// Show what the index holds: requests, time span, files read and how far.
    Status,
    /// Index maintenance.
    Index {
        #[command(subcommand)]
        action: IndexAction,
    },
    /// Print the completion script for SHELL (commands, options, report names):
    /// e.g. `kaudit completions bash > ~/.local/share/bash-completion/completions/kaudit`.
    Completions {
        #[arg(value_enum)]
        shell: clap_complete::Shell,
    },
    /// Print the man page (roff), e.g. `kaudit man > ~/.local/share/man/man1/kaudit.1`.
    Man,
}

#[derive(Subcommand, Debug)]
enum ReportSub {
    /// Who read, tried to read, or changed which secret: one row per secret (or namespace-
    /// or cluster-wide read), user and impersonated user.
    Secrets {
        #[command(flatten)]
        common: ReportArgs,
        /// Only this secret (ns/name), with the namespace- and cluster-wide reads that returned it.
        #[arg(long, value_name = "NS/NAME")]
        secret: Option<String>,
        /// Only secrets of this namespace, with the cluster-wide reads.
        #[arg(long, value_name = "NS")]
        namespace: Option<String>,
        /// Only requests by this user, as this user (impersonated), or by this ServiceAccount (ns/name).
        #[arg(long, value_name = "USER")]
        actor: Option<String>,
        #[command(flatten)]
        fail: FailArg,
    },
    /// For each ServiceAccount: the pods that used its tokens, what it did, the secrets it
    /// read, pods created to run as it, and who requested its tokens.
    #[command(visible_alias = "sa")]
    Serviceaccounts {
        #[command(flatten)]
        common: ReportArgs,
        /// Only this ServiceAccount (ns/name).
        #[arg(long, value_name = "NS/NAME")]
        sa: Option<String>,
        #[command(flatten)]
        fail: FailArg,
    },
    /// Which workloads are immutable and why not; privileged or mutable containers in pod
    /// and workload writes; exec, attach, cp, port-forward and ephemeral containers, and
    /// which tried to change a container; and what the audit level hid.
    Immutability {
        #[command(flatten)]
        common: ReportArgs,
        /// Leave out findings below this severity.
        #[arg(long, value_enum, default_value_t = SeverityArg::Low)]
        min_severity: SeverityArg,
        /// The report as of time T: only requests received up to T (included) are read,
        /// so each workload's verdict is that of its latest spec then.
        #[arg(long, value_name = "T", conflicts_with = "until")]
        at: Option<String>,
        #[command(flatten)]
        fail: FailArg,
    },
    /// What fills the log: requests and bytes by user, ServiceAccount, verb, resource,
    /// code, decision, stage, level and hour, and the top talkers.
    Stats {
        #[command(flatten)]
        common: ReportArgs,
        /// Rows per ranked table (0: all).
        #[arg(long, value_name = "N", default_value_t = 10)]
        top: usize,
    },
}

#[derive(Subcommand, Debug)]
enum PolicySub {
    /// For each request (or each QUERY matches), oldest first: the level POLICY gives
    /// it, the rule that matched (its index, from 0; none: level None), the stages it
    /// omits. POLICY is an audit.k8s.io/v1 Policy file (YAML or JSON), read and
    /// validated as the apiserver reads --audit-policy-file. Exit status 0 when
    /// something matched, 1 when nothing did.
    #[command(after_help = crate::config::QUERY_HELP)]
    Eval {
        /// The Policy file.
        #[arg(value_name = "POLICY")]
        policy: PathBuf,
        #[arg(long, value_enum, default_value_t = FormatArg::Table)]
        format: FormatArg,
        /// Requests received at or after T: RFC 3339 or an age (15m, 2h, 7d).
        #[arg(long, value_name = "T")]
        since: Option<String>,
        /// Requests received before T: RFC 3339 or an age (15m, 2h, 7d).
        #[arg(long, value_name = "T")]
        until: Option<String>,
        /// Only requests matching this query [default: all requests].
        #[arg(
            value_name = "QUERY",
            trailing_var_arg = true,
            allow_hyphen_values = true
        )]
        query: Vec<String>,
    },
    /// What POLICY would do to the requests the index holds: per rule, the requests it
    /// takes and the bytes it would write (rules that never match, or cannot); the
    /// Secret values it would log (leaks); what an investigation would miss under it
    /// (blind spots); the log's bytes per day today and under it. Each leak and blind
    /// spot comes with the rule that fixes it.
    Check(PolicyCheckArgs),
    /// Write an audit Policy from the traffic the index holds: health checks and the
    /// read-only chatter of the system components seen at None; Secrets, tokens and
    /// ConfigMaps at Metadata; pod and workload writes and sessions into pods at
    /// Request; RBAC changes at RequestResponse; the rest at Metadata; each rule with a
    /// comment of what it took and its bytes. `policy check` on it finds no leak and no
    /// blind spot.
    Suggest {
        #[arg(long, value_enum, default_value_t = SuggestFormatArg::Yaml)]
        format: SuggestFormatArg,
        /// The traffic it learns from.
        #[command(flatten)]
        scope: ScopeArgs,
    },
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum HuntFormatArg {
    Table,
    Json,
    Ndjson,
    Csv,
    Markdown,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum HuntLevelArg {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum SuggestFormatArg {
    Yaml,
    Json,
}

#[derive(Args, Debug)]
struct PolicyCheckArgs {
    /// The Policy file.
    #[arg(value_name = "POLICY")]
    policy: PathBuf,
    #[command(flatten)]
    common: ReportArgs,
    /// Exit with status 1 when the Policy leaks Secret values or leaves a blind spot
    /// (for CI checks of a Policy).
    #[arg(long)]
    fail_on_findings: bool,
}

#[derive(Subcommand, Debug)]
enum IndexAction {
    /// Rebuild a damaged index: move it aside and read its logs again into a new one.
    /// The logs are those its last commit names, plus any PATH given (backups, or all
    /// of them when the index cannot say).
    Rebuild {
        #[arg(value_name = "PATH")]
        paths: Vec<PathBuf>,
    },
}

/// The requests a report, check or hunt reads: a time range and a query.
#[derive(Args, Debug)]
struct ScopeArgs {
    /// Only requests received at or after T: RFC 3339 or an age (15m, 2h, 7d).
    #[arg(long, value_name = "T")]
    since: Option<String>,
    /// Only requests received before T: RFC 3339 or an age (15m, 2h, 7d).
    #[arg(long, value_name = "T")]
    until: Option<String>,
    /// Only requests matching this query (the `kaudit query` syntax), e.g. 'ns:payments'.
    #[arg(long = "where", value_name = "QUERY", allow_hyphen_values = true)]
    filter: Option<String>,
}

#[derive(Args, Debug)]
struct ReportArgs {
    #[arg(long, value_enum, default_value_t = ReportFormatArg::Table)]
    format: ReportFormatArg,
    #[command(flatten)]
    scope: ScopeArgs,
    /// Only this table of the report (CSV shows one table: the main one by default).
    #[arg(long, value_name = "NAME")]
    section: Option<String>,
}

#[derive(Args, Debug)]
struct FailArg {
    /// Exit with status 1 when the report lists anything (for cron and CI).
    #[arg(long)]
    fail_on_findings: bool,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum ReportFormatArg {
    Table,
    Json,
    Csv,
    Markdown,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum SeverityArg {
    Low,
    Medium,
    High,
}

#[derive(ValueEnum, Debug, Clone, Copy)]
enum FormatArg {
    Table,
    Json,
    Ndjson,
    Csv,
}

impl From<FormatArg> for Format {
    fn from(f: FormatArg) -> Format {
        match f {
            FormatArg::Table => Format::Table,
            FormatArg::Json => Format::Json,
            FormatArg::Ndjson => Format::Ndjson,
            FormatArg::Csv => Format::Csv,
        }
    }
}

impl Cli {
    /// Validates the arguments into a command; `env` gives the default index directory
    /// and the clock of relative times.
    pub fn into_command(self, env: &Environment) -> Result<Command> {
        // These print what clap knows and need no index, so no index directory either.
        match self.command {
            Some(Sub::Completions { shell }) => return Ok(Command::Print(completions(shell))),
            Some(Sub::Man) => return Ok(Command::Print(man_page()?)),
            _ => {}
        }
        let index = match self.index.index {
            Some(dir) => dir,
            None => env.index_dir().ok_or_else(|| {
                Error::Usage("no index directory: pass --index DIR or set KAUDIT_INDEX".into())
            })?,
        };
        Ok(match self.command {
            None => {
                // Only a terminal user can drive the TUI; scripts and pipes get text.
                use std::io::IsTerminal;
                let interactive = std::io::stdin().is_terminal() && std::io::stdout().is_terminal();
                if interactive {
                    Command::Tui(config::Tui {
                        index,
                        paths: self.paths,
                        follow: None,
                        query: String::new(),
                        policy: None,
                    })
                } else {
                    Command::Overview {
                        index,
                        paths: self.paths,
                    }
                }
            }
            Some(Sub::Tui {
                follow,
                poll,
                query,
                policy,
                paths,
            }) => {
                if follow && paths.len() != 1 {
                    return Err(Error::Usage(
                        "--follow takes one PATH: the audit log directory or its audit.log".into(),
                    ));
                }
                Command::Tui(config::Tui {
                    index,
                    paths,
                    follow: follow.then_some(config::Follow { poll }),
                    query: query.unwrap_or_default(),
                    policy,
                })
            }
            Some(Sub::Ingest {
                strict,
                max_line_bytes,
                commit_interval,
                follow,
                poll,
                parse_threads,
                paths,
            }) => {
                if max_line_bytes == 0 {
                    return Err(Error::Usage("--max-line-bytes must be at least 1".into()));
                }
                if follow && paths.len() != 1 {
                    return Err(Error::Usage(
                        "--follow takes one PATH: the audit log directory or its audit.log".into(),
                    ));
                }
                let commit_interval = commit_interval.unwrap_or(if follow { 1.0 } else { 10.0 });
                if !(commit_interval.is_finite()
                    && commit_interval > 0.0
                    && commit_interval <= 86_400.0)
                {
                    return Err(Error::Usage(
                        "--commit-interval must be a number of seconds between 0 and 86400".into(),
                    ));
                }
                Command::Ingest(config::Ingest {
                    index,
                    paths,
                    strict,
                    max_line_bytes,
                    commit_interval: std::time::Duration::from_secs_f64(commit_interval),
                    follow: follow.then_some(config::Follow { poll }),
                    parse_threads: parse_threads
                        .unwrap_or_else(crate::ingest::default_parse_threads),
                })
            }
            Some(Sub::Query {
                format,
                count,
                limit,
                oldest_first,
                since,
                until,
                all_stages,
                by,
                every,
                min,
                top,
                query,
            }) => {
                let by = by
                    .map(|fields| -> Result<_> {
                        Ok(crate::query::counts::Spec {
                            fields: crate::query::counts::parse_fields(&fields)?,
                            every: every
                                .map(|e| crate::query::counts::parse_every(&e))
                                .transpose()?,
                            min: min.unwrap_or(1),
                            top: match top.unwrap_or(20) {
                                0 => None,
                                n => Some(n),
                            },
                        })
                    })
                    .transpose()?;
                let (since, until) = (time_bound(since, env)?, time_bound(until, env)?);
                Command::Query(config::Query {
                    index,
                    text: query.join(" "),
                    format: format.into(),
                    count,
                    limit: (limit > 0).then_some(limit),
                    oldest_first,
                    since,
                    until,
                    all_stages,
                    by,
                })
            }
            Some(Sub::Report { report }) => Command::Report(report_config(index, report, env)?),
            Some(Sub::Policy {
                action:
                    PolicySub::Eval {
                        policy,
                        format,
                        since,
                        until,
                        query,
                    },
            }) => {
                let time = |t: Option<String>| time_bound(t, env);
                Command::PolicyEval(config::PolicyEval {
                    index,
                    policy,
                    text: query.join(" "),
                    format: format.into(),
                    since: time(since)?,
                    until: time(until)?,
                })
            }
            Some(Sub::Policy {
                action: PolicySub::Check(args),
            }) => {
                let time = |t: Option<String>| time_bound(t, env);
                Command::PolicyCheck(config::PolicyCheck {
                    index,
                    policy: args.policy,
                    filter: args.common.scope.filter.unwrap_or_default(),
                    since: time(args.common.scope.since)?,
                    until: time(args.common.scope.until)?,
                    format: report_format(args.common.format),
                    section: args.common.section,
                    fail_on_findings: args.fail_on_findings,
                })
            }
            Some(Sub::Policy {
                action:
                    PolicySub::Suggest {
                        format,
                        scope:
                            ScopeArgs {
                                since,
                                until,
                                filter,
                            },
                    },
            }) => {
                let time = |t: Option<String>| time_bound(t, env);
                Command::PolicySuggest(config::PolicySuggest {
                    index,
                    filter: filter.unwrap_or_default(),
                    since: time(since)?,
                    until: time(until)?,
                    json: matches!(format, SuggestFormatArg::Json),
                })
            }
            Some(Sub::Hunt {
                format,
                min_level,
                scope:
                    ScopeArgs {
                        since,
                        until,
                        filter,
                    },
                section,
                explain,
                fail_on_findings,
            }) => {
                let time = |t: Option<String>| time_bound(t, env);
                let (format, ndjson) = match format {
                    HuntFormatArg::Ndjson => (ReportFormat::Json, true),
                    HuntFormatArg::Table => (ReportFormat::Table, false),
                    HuntFormatArg::Json => (ReportFormat::Json, false),
                    HuntFormatArg::Csv => (ReportFormat::Csv, false),
                    HuntFormatArg::Markdown => (ReportFormat::Markdown, false),
                };
                Command::Hunt(config::Hunt {
                    index,
                    filter: filter.unwrap_or_default(),
                    since: time(since)?,
                    until: time(until)?,
                    format,
                    ndjson,
                    section,
                    min_level: min_level as usize,
                    explain,
                    fail_on_findings,
                })
            }
            Some(Sub::Queries) => Command::Queries,
            Some(Sub::Status) => Command::Status { index },
            Some(Sub::Index {
                action: IndexAction::Rebuild { paths },
            }) => Command::Rebuild { index, paths },
            Some(Sub::Completions { .. } | Sub::Man) => unreachable!("answered above"),
        })
    }
}

/// The completion script for `shell`, from the same definition the arguments are parsed with.
fn completions(shell: clap_complete::Shell) -> Vec<u8> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "kaudit", &mut out);
    out
}

/// The roff man page of kaudit: its options, and its subcommands by name and summary.
fn man_page() -> Result<Vec<u8>> {
    let mut out = Vec::new();
    // Into memory: only a bug of clap_mangen could fail here.
    clap_mangen::Man::new(Cli::command())
        .render(&mut out)
        .map_err(|e| Error::Internal(format!("man page: {e}")))?;
    Ok(out)
}

/// `ns/name`, both parts non-empty.
fn namespaced(flag: &str, value: &str) -> Result<(String, String)> {
    match value.split_once('/') {
        Some((ns, name)) if !ns.is_empty() && !name.is_empty() && !name.contains('/') => {
            Ok((ns.to_string(), name.to_string()))
        }
        _ => Err(Error::Usage(format!(
            "{flag} {value:?}: expected NAMESPACE/NAME, e.g. {flag} payments/db-password"
        ))),
    }
}

/// The validated configuration of `kaudit report NAME`: each report's own options
/// checked and turned into its `report::Kind` filter (`--secret ns/name`, `--severity`,
/// `--fail-on-findings` ...), with the options every report shares.
fn report_config(index: PathBuf, sub: ReportSub, env: &Environment) -> Result<config::Report> {
    use crate::podspec::Severity;
    use crate::report::{Kind, immutability, secrets, serviceaccounts, stats};
    let mut as_of = None;
    let (common, kind, fail) = match sub {
        ReportSub::Secrets {
            common,
            secret,
            namespace,
            actor,
            fail,
        } => {
            let secret = secret.map(|s| namespaced("--secret", &s)).transpose()?;
            let filter = secrets::Filter {
                secret,
                namespace,
                actor,
            };
            (common, Kind::Secrets(filter), fail.fail_on_findings)
        }
        ReportSub::Serviceaccounts { common, sa, fail } => {
            if let Some(sa) = &sa {
                namespaced("--sa", sa)?;
            }
            let filter = serviceaccounts::Filter {
                service_account: sa,
            };
            (common, Kind::ServiceAccounts(filter), fail.fail_on_findings)
        }
        ReportSub::Immutability {
            common,
            min_severity,
            at,
            fail,
        } => {
            as_of = at;
            let min_severity = match min_severity {
                SeverityArg::Low => Severity::Low,
                SeverityArg::Medium => Severity::Medium,
                SeverityArg::High => Severity::High,
            };
            let filter = immutability::Filter { min_severity };
            (common, Kind::Immutability(filter), fail.fail_on_findings)
        }
        ReportSub::Stats { common, top } => {
            let top = if top == 0 { usize::MAX } else { top };
            (common, Kind::Stats(stats::Filter { top }), false)
        }
    };
    let time = |t: Option<String>| time_bound(t, env);
    Ok(config::Report {
        index,
        kind,
        filter: common.scope.filter.unwrap_or_default(),
        since: time(common.scope.since)?,
        // `--at T` reads up to T included: `--until` is exclusive.
        until: match as_of {
            Some(at) => time(Some(at))?.map(|t| t.saturating_add(1)),
            None => time(common.scope.until)?,
        },
        format: report_format(common.format),
        section: common.section,
        fail_on_findings: fail,
    })
}

fn report_format(format: ReportFormatArg) -> ReportFormat {
    match format {
        ReportFormatArg::Table => ReportFormat::Table,
        ReportFormatArg::Json => ReportFormat::Json,
        ReportFormatArg::Csv => ReportFormat::Csv,
        ReportFormatArg::Markdown => ReportFormat::Markdown,
    }
}

/// `--since`/`--until` T: RFC 3339 or an age, against the environment's now.
fn time_bound(t: Option<String>, env: &Environment) -> Result<Option<i64>> {
    let now = env.now()?;
    t.map(|t| crate::query::parse_time(&t, now)).transpose()
}
