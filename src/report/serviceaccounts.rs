//! `report serviceaccounts`: which pods used each ServiceAccount, what it did and read,
//! who acted as it by impersonation, which pods and workloads were created to run as
//! it, and who asked for its tokens.
//!
//! Usage comes from fast fields (a ServiceAccount's requests can be most of a log);
//! secrets, created pods and token requests, which need bodies or names, come from the
//! stored events of those few requests.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::secret_access::{Scope, accesses};
use super::tally::{Counter, Distinct, Span, is_forbidden};
use super::{Cell, Report, Section, each_event, has, is, str_at, within};
use crate::error::Result;
use crate::model::Actor;
use crate::podspec;
use crate::podspec::POD_RESOURCES;
use crate::query::parse::{CmpOp, Expr, Field, Value as Term};
use crate::query::{Engine, Search};

mod usage;
use usage::usage;

#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `--sa ns/name`: only this ServiceAccount.
    pub service_account: Option<String>,
}

/// Verbs and resources listed per ServiceAccount.
const TOP: usize = 5;
/// Pod and workload creates listed per ServiceAccount (in index order); the rest are
/// counted in `createdPodsOmitted`.
const CREATED_CAP: usize = 200;

#[derive(Default)]
struct PodUse {
    node: Option<String>,
    span: Span,
    requests: u64,
    forbidden: u64,
}

#[derive(Default)]
struct Account {
    requests: u64,
    forbidden: u64,
    span: Span,
    verbs: Counter,
    resources: Counter,
    /// (pod ns/name, pod uid) → use.
    pods: BTreeMap<(String, Option<String>), PodUse>,
    secrets_read: Distinct,
    /// Users who acted as this ServiceAccount by impersonation → requests.
    impersonated_by: Counter,
    created: Vec<Vec<Cell>>,
    /// Creates past `CREATED_CAP`, counted only.
    created_omitted: u64,
    /// Requester → token requests.
    tokens: BTreeMap<Option<String>, Tokens>,
}

#[derive(Default)]
struct Tokens {
    requests: u64,
    forbidden: u64,
    span: Span,
    bound_pods: Distinct,
}

/// `report serviceaccounts`: what each ServiceAccount (or only `filter`'s) did and from
/// which pods, from columns; the secrets it read, pods created to run as it, token
/// requests and impersonation of it, each from its own selection of requests.
pub fn run(engine: &Engine, filter: &Filter, scope: &Search) -> Result<Report> {
    let only = |expr: Expr| match &filter.service_account {
        Some(sa) => Expr::And(vec![expr, is(Field::ServiceAccount, sa)]),
        None => expr,
    };
    let mut accounts: BTreeMap<String, Account> = BTreeMap::new();
    usage(
        engine,
        &within(scope, only(has(Field::ServiceAccount))),
        &mut accounts,
    )?;

    // Secrets read: allowed, answered get/list/watch by the ServiceAccount itself.
    let reads = Expr::And(vec![
        is(Field::Resource, "secrets"),
        is(Field::ApiGroup, "core"),
        has(Field::ServiceAccount),
        Expr::Or(
            ["get", "list", "watch"]
                .map(|v| is(Field::Verb, v))
                .to_vec(),
        ),
        Expr::Field(Field::Code, Term::Compare(CmpOp::Lt, 400)),
        Expr::Not(Box::new(is(Field::Decision, "forbid"))),
    ]);
    for (key, access) in accesses(engine, &within(scope, only(reads)))? {
        let (Some(sa), None) = (access.service_account, &key.impersonated) else {
            continue;
        };
        let ns = key.namespace.unwrap_or_default();
        let label = match (key.scope, key.name) {
            (Scope::Object, Some(name)) => format!("{ns}/{name}"),
            (Scope::Namespace, _) => format!("{ns}/* (all)"),
            _ => "* (all namespaces)".to_string(),
        };
        accounts.entry(sa).or_default().secrets_read.add(&label);
    }

    // Requests made as a ServiceAccount by impersonation: the impersonator is who did it.
    let impersonated = Expr::Field(
        Field::ImpersonatedUser,
        crate::query::parse::Value::Prefix("system:serviceaccount:".into()),
    );
    each_event(engine, &within(scope, impersonated), &mut |e| {
        let r = e.request;
        let Some(Actor::ServiceAccount { namespace, name }) =
            r.impersonated_user.map(Actor::from_username)
        else {
            return;
        };
        let sa = format!("{namespace}/{name}");
        if filter
            .service_account
            .as_ref()
            .is_some_and(|want| *want != sa)
        {
            return;
        }
        let by = r.user.unwrap_or("-");
        accounts.entry(sa).or_default().impersonated_by.add(by, 1);
    })?;

    created_pods(engine, filter, scope, &mut accounts)?;
    token_requests(engine, filter, scope, &mut accounts)?;
    Ok(report(accounts))
}

/// Pods and workloads created to run as a ServiceAccount (from create bodies).
fn created_pods(
    engine: &Engine,
    filter: &Filter,
    scope: &Search,
    accounts: &mut BTreeMap<String, Account>,
) -> Result<()> {
    let creates = Expr::And(vec![
        Expr::Or(
            POD_RESOURCES
                .iter()
                .map(|r| is(Field::Resource, r))
                .collect(),
        ),
        is(Field::Verb, "create"),
        Expr::Not(Box::new(has(Field::Subresource))),
        // Server-side dry runs created nothing. Not `-uri:dryRun`, a word match that
        // also hid real creates in a namespace `dryrun` or with `?fieldManager=dryRun`.
        Expr::Not(Box::new(is(Field::DryRun, "true"))),
    ]);
    each_event(engine, &within(scope, creates), &mut |e| {
        let r = e.request;
        let resource = r.resource.unwrap_or_default();
        if r.code.is_some_and(|c| c >= 400) {
            return;
        }
        let Some(name) = podspec::created_service_account(r, e.json) else {
            return;
        };
        // No serviceAccountName: admission gives the pod its namespace's `default`.
        let name = name.unwrap_or_else(|| "default".into());
        let sa = format!("{}/{name}", r.namespace.unwrap_or_default());
        if filter
            .service_account
            .as_ref()
            .is_some_and(|want| *want != sa)
        {
            return;
        }
        let object_name = r
            .name
            .or_else(|| str_at(e.value, &["requestObject", "metadata", "name"]))
            .or_else(|| str_at(e.value, &["responseObject", "metadata", "name"]));
        let account = accounts.entry(sa).or_default();
        // Bounded: a controller creates every pod of a busy ServiceAccount.
        if account.created.len() >= CREATED_CAP {
            account.created_omitted += 1;
            return;
        }
        account.created.push(vec![
            Cell::text(resource),
            Cell::opt(r.namespace),
            Cell::opt(object_name),
            Cell::opt(r.user),
            Cell::opt(r.impersonated_user),
            Cell::Time(r.time()),
            Cell::opt(r.audit_id),
        ]);
    })
}

/// `serviceaccounts/token` creates: who obtained tokens for each ServiceAccount.
fn token_requests(
    engine: &Engine,
    filter: &Filter,
    scope: &Search,
    accounts: &mut BTreeMap<String, Account>,
) -> Result<()> {
    let tokens = Expr::And(vec![
        is(Field::Resource, "serviceaccounts"),
        is(Field::Subresource, "token"),
        is(Field::Verb, "create"),
    ]);
    each_event(engine, &within(scope, tokens), &mut |e| {
        let r = e.request;
        let sa = format!(
            "{}/{}",
            r.namespace.unwrap_or_default(),
            r.name.unwrap_or_default()
        );
        if filter
            .service_account
            .as_ref()
            .is_some_and(|want| *want != sa)
        {
            return;
        }
        let by = accounts
            .entry(sa)
            .or_default()
            .tokens
            .entry(r.user.map(str::to_string))
            .or_default();
        by.requests += 1;
        by.forbidden += u64::from(is_forbidden(r.code, r.decision));
        by.span.add(r.time());
        if str_at(
            e.value,
            &["requestObject", "spec", "boundObjectRef", "kind"],
        ) == Some("Pod")
            && let Some(pod) = str_at(
                e.value,
                &["requestObject", "spec", "boundObjectRef", "name"],
            )
        {
            by.bound_pods.add(pod);
        }
    })
}

/// The report's sections from the accounts gathered: the summary, then per ServiceAccount
/// the pods that used its tokens, the secrets it read, the pods created to run as it,
/// who requested its tokens, and who impersonated it.
fn report(accounts: BTreeMap<String, Account>) -> Report {
    let mut summary = Section::new(
        "serviceAccounts",
        "ServiceAccounts",
        &[
            "serviceAccount",
            "requests",
            "forbidden",
            "first",
            "last",
            "pods",
            "topVerbs",
            "topResources",
            "secretsRead",
            "impersonatedBy",
        ],
    );
    let mut pods = Section::new(
        "pods",
        "Pods that used their tokens",
        &[
            "serviceAccount",
            "pod",
            "uid",
            "node",
            "first",
            "last",
            "requests",
            "forbidden",
        ],
    );
    let mut created = Section::new(
        "createdPods",
        "Pods and workloads created to run as them",
        &[
            "serviceAccount",
            "resource",
            "namespace",
            "name",
            "by",
            "impersonatedUser",
            "time",
            "auditID",
        ],
    );
    let mut tokens = Section::new(
        "tokenRequests",
        "Token requests (serviceaccounts/token)",
        &[
            "serviceAccount",
            "by",
            "requests",
            "forbidden",
            "first",
            "last",
            "boundPods",
        ],
    );
    let mut omitted = 0;
    let mut rows = Vec::new();
    for (sa, a) in accounts {
        let row_of = |section: &Section, cells: &[Cell]| -> Value {
            let object: Map<String, Value> = section.columns[1..]
                .iter()
                .zip(cells)
                .map(|(k, c)| (k.to_string(), c.to_json()))
                .collect();
            Value::Object(object)
        };
        let mut json = Map::new();
        json.insert("serviceAccount".into(), Value::from(sa.as_str()));
        let totals = [
            Cell::Count(a.requests),
            Cell::Count(a.forbidden),
            Cell::Time(a.span.first),
            Cell::Time(a.span.last),
        ];
        for (key, cell) in ["requests", "forbidden", "first", "last"]
            .iter()
            .zip(&totals)
        {
            json.insert(key.to_string(), cell.to_json());
        }
        let mut pod_rows = Vec::new();
        for ((pod, uid), u) in &a.pods {
            let cells = [
                Cell::text(pod),
                Cell::Text(uid.clone()),
                Cell::Text(u.node.clone()),
                Cell::Time(u.span.first),
                Cell::Time(u.span.last),
                Cell::Count(u.requests),
                Cell::Count(u.forbidden),
            ];
            pod_rows.push(row_of(&pods, &cells));
            pods.rows
                .push([vec![Cell::text(&sa)], cells.to_vec()].concat());
        }
        json.insert("pods".into(), Value::Array(pod_rows));
        let extra = [
            ("topVerbs", Cell::Counts(a.verbs.top(TOP))),
            ("topResources", Cell::Counts(a.resources.top(TOP))),
            ("secretsRead", Cell::List(a.secrets_read.list())),
            (
                "impersonatedBy",
                Cell::Counts(a.impersonated_by.top(usize::MAX)),
            ),
        ];
        for (key, cell) in &extra {
            json.insert(key.to_string(), cell.to_json());
        }
        let created_rows: Vec<Value> = a.created.iter().map(|c| row_of(&created, c)).collect();
        json.insert("createdPods".into(), Value::Array(created_rows));
        json.insert("createdPodsOmitted".into(), Value::from(a.created_omitted));
        omitted += a.created_omitted;
        for cells in a.created {
            created.rows.push([vec![Cell::text(&sa)], cells].concat());
        }
        let mut token_rows = Vec::new();
        for (by, t) in a.tokens {
            let cells = [
                Cell::Text(by),
                Cell::Count(t.requests),
                Cell::Count(t.forbidden),
                Cell::Time(t.span.first),
                Cell::Time(t.span.last),
                Cell::List(t.bound_pods.list()),
            ];
            token_rows.push(row_of(&tokens, &cells));
            tokens
                .rows
                .push([vec![Cell::text(&sa)], cells.to_vec()].concat());
        }
        json.insert("tokenRequests".into(), Value::Array(token_rows));
        let mut row = vec![Cell::text(&sa)];
        row.extend(totals);
        row.push(Cell::Count(a.pods.len() as u64));
        row.extend(extra.into_iter().map(|(_, c)| c));
        summary.rows.push(row);
        rows.push(Value::Object(json));
    }
    if omitted > 0 {
        created.note = Some(format!(
            "{omitted} more create(s) not listed: at most {CREATED_CAP} per ServiceAccount \
             (JSON: createdPodsOmitted)."
        ));
    }
    let flagged = rows.len() as u64;
    let mut json = Map::new();
    json.insert("report".into(), Value::from("serviceaccounts"));
    json.insert("rows".into(), Value::Array(rows));
    Report {
        name: "serviceaccounts",
        sections: vec![summary, pods, created, tokens],
        primary: "pods",
        json: Some(json),
        flagged,
    }
}
