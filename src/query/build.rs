//! Query AST → tantivy query.

use std::ops::Bound;

use tantivy::query::{
    AllQuery, BooleanQuery, EmptyQuery, ExistsQuery, Occur, PhrasePrefixQuery, PhraseQuery, Query,
    RangeQuery, RegexQuery, TermQuery,
};
use tantivy::schema::{Field as IndexField, IndexRecordOption};
use tantivy::tokenizer::TextAnalyzer;
use tantivy::{DateTime, Term};

use super::parse::{CmpOp, Expr, Field, FieldKind, Value};
use crate::error::{Error, Result};
use crate::index::schema::Fields;

/// Builds tantivy queries for one index.
pub struct Builder<'a> {
    pub fields: &'a Fields,
    /// The `default` tokenizer of the text fields (ua, uri, reason).
    pub analyzer: TextAnalyzer,
}

/// The index field a query field names.
pub fn index_field(fields: &Fields, f: Field) -> IndexField {
    match f {
        Field::Verb => fields.verb,
        Field::User => fields.user,
        Field::Group => fields.group,
        Field::ServiceAccount => fields.sa,
        Field::Pod => fields.pod,
        Field::Node => fields.node,
        Field::ImpersonatedUser => fields.impersonated,
        Field::Resource => fields.resource,
        Field::Subresource => fields.sub,
        Field::ApiGroup => fields.apigroup,
        Field::Namespace => fields.ns,
        Field::Name => fields.name,
        Field::Code => fields.code,
        Field::Decision => fields.decision,
        Field::Stage => fields.stage,
        Field::Level => fields.level,
        Field::SourceIp => fields.ip,
        Field::AuditId => fields.audit_id,
        Field::UserAgent => fields.ua,
        Field::RequestUri => fields.uri,
        Field::Reason => fields.reason,
        Field::Command => fields.command,
        Field::Image => fields.image,
        Field::Risk => fields.risk,
        Field::Cap => fields.cap,
        Field::Severity => fields.severity,
        Field::Verdict => fields.verdict,
        Field::Salvaged => fields.salvaged,
        Field::DryRun => fields.dryrun,
    }
}

impl Builder<'_> {
    pub fn build(&mut self, expr: &Expr) -> Result<Box<dyn Query>> {
        Ok(match expr {
            Expr::All => Box::new(AllQuery),
            Expr::And(items) => {
                let clauses = items
                    .iter()
                    .map(|e| self.clause(e, Occur::Must))
                    .collect::<Result<Vec<_>>>()?;
                with_positive(clauses)
            }
            Expr::Or(items) => {
                let clauses = items
                    .iter()
                    .map(|e| Ok((Occur::Should, self.build(e)?)))
                    .collect::<Result<Vec<_>>>()?;
                Box::new(BooleanQuery::new(clauses))
            }
            Expr::Not(inner) => with_positive(vec![(Occur::MustNot, self.build(inner)?)]),
            Expr::Field(field, value) => self.field(*field, value)?,
            Expr::Body(path, value) => super::body::query(self.fields.body, path, value)?,
            Expr::Text(text) => {
                let clauses = [Field::RequestUri, Field::UserAgent, Field::Reason]
                    .into_iter()
                    .map(|f| Ok((Occur::Should, self.text(f, &Value::Exact(text.clone()))?)))
                    .collect::<Result<Vec<_>>>()?;
                Box::new(BooleanQuery::new(clauses))
            }
        })
    }

    /// A clause of an AND; `NOT x` inside becomes a MustNot clause.
    fn clause(&mut self, expr: &Expr, occur: Occur) -> Result<(Occur, Box<dyn Query>)> {
        match expr {
            Expr::Not(inner) => Ok((Occur::MustNot, self.build(inner)?)),
            other => Ok((occur, self.build(other)?)),
        }
    }

    fn field(&mut self, field: Field, value: &Value) -> Result<Box<dyn Query>> {
        match field.kind() {
            FieldKind::Numeric | FieldKind::Severity => self.numeric(field, value),
            FieldKind::Text => self.text(field, value),
            // A column, not a term (`index::schema`): every value form scans it.
            FieldKind::Exact if field == Field::AuditId => column_scan(field, value),
            FieldKind::Exact => {
                let f = index_field(self.fields, field);
                Ok(match value {
                    Value::Exact(v) if field == Field::SourceIp => match super::cidr::ranges(v) {
                        Some(ranges) => self.ip_ranges(&ranges),
                        None => term(Term::from_field_text(f, v)),
                    },
                    Value::Exact(v) => term(Term::from_field_text(f, v)),
                    Value::Prefix(p) => regex(field, f, &format!("{}.*", regex::escape(p)))?,
                    Value::Any => regex(field, f, ".+")?,
                    Value::Regex(r) => regex(field, f, r)?,
                    Value::SomeNot(inner) => some_not(field, f, inner)?,
                    Value::Compare(..) | Value::Range(..) | Value::Number(..) => {
                        unreachable!("parser allows comparisons only on numeric and body fields")
                    }
                })
            }
        }
    }

    /// Requests with a source IP in any of `ranges` (a CIDR block or a class).
    fn ip_ranges(&self, ranges: &[super::cidr::Range]) -> Box<dyn Query> {
        let f = self.fields.ipaddr;
        let ip = |n: u128| Term::from_field_ip_addr(f, std::net::Ipv6Addr::from(n));
        let clauses = ranges
            .iter()
            .map(|&(lo, hi)| {
                let range = RangeQuery::new(Bound::Included(ip(lo)), Bound::Included(ip(hi)));
                (Occur::Should, Box::new(range) as Box<dyn Query>)
            })
            .collect();
        Box::new(BooleanQuery::new(clauses))
    }

    fn numeric(&mut self, field: Field, value: &Value) -> Result<Box<dyn Query>> {
        let f = index_field(self.fields, field);
        let t = |n: u64| Term::from_field_u64(f, n);
        let range = |lo: Bound<Term>, hi: Bound<Term>| -> Box<dyn Query> {
            Box::new(RangeQuery::new(lo, hi))
        };
        Ok(match value {
            Value::Compare(op, n) => match op {
                CmpOp::Eq => term(t(*n)),
                CmpOp::Ne => Box::new(BooleanQuery::new(vec![
                    (Occur::Must, present(field)),
                    (Occur::MustNot, term(t(*n))),
                ])),
                CmpOp::Lt => range(Bound::Unbounded, Bound::Excluded(t(*n))),
                CmpOp::Le => range(Bound::Unbounded, Bound::Included(t(*n))),
                CmpOp::Gt => range(Bound::Excluded(t(*n)), Bound::Unbounded),
                CmpOp::Ge => range(Bound::Included(t(*n)), Bound::Unbounded),
            },
            Value::Range(lo, hi) => range(Bound::Included(t(*lo)), Bound::Included(t(*hi))),
            Value::Any => present(field),
            Value::Exact(_)
            | Value::Prefix(_)
            | Value::Regex(_)
            | Value::Number(..)
            | Value::SomeNot(_) => {
                unreachable!("parser gives numeric fields numbers")
            }
        })
    }

    /// Text fields are tokenized (lower-cased words): a value matches as a phrase of its
    /// words; a prefix applies to the last word; a regex matches one word.
    fn text(&mut self, field: Field, value: &Value) -> Result<Box<dyn Query>> {
        let f = index_field(self.fields, field);
        let words = |analyzer: &mut TextAnalyzer, s: &str| {
            let mut out = Vec::new();
            let mut stream = analyzer.token_stream(s);
            while let Some(token) = stream.next() {
                out.push(Term::from_field_text(f, &token.text));
            }
            out
        };
        Ok(match value {
            Value::Exact(v) => {
                let mut terms = words(&mut self.analyzer, v);
                match terms.len() {
                    0 => Box::new(EmptyQuery),
                    1 => term(terms.remove(0)),
                    _ => Box::new(PhraseQuery::new(terms)),
                }
            }
            Value::Prefix(p) => {
                let mut terms = words(&mut self.analyzer, p);
                match terms.len() {
                    0 => regex(field, f, ".+")?,
                    1 => {
                        let word = terms[0].value().as_str().unwrap_or_default().to_string();
                        regex(field, f, &format!("{}.*", regex::escape(&word)))?
                    }
                    _ => Box::new(PhrasePrefixQuery::new(std::mem::take(&mut terms))),
                }
            }
            Value::Any => regex(field, f, ".+")?,
            Value::Regex(r) => regex(field, f, r)?,
            Value::Compare(..) | Value::Range(..) | Value::Number(..) | Value::SomeNot(_) => {
                unreachable!("parser allows comparisons and != only on other fields")
            }
        })
    }
}

/// `field:!=v`: requests with some value of `field` that `v` does not match. The
/// values that do not match are found in the term dictionary; a request with one of
/// them matches. `v` matches as it would after `field:` (a regex whole, an `ip:` block
/// or class by address).
fn some_not(field: Field, f: IndexField, inner: &Value) -> Result<Box<dyn Query>> {
    let matches = value_test(field, inner)?;
    let test = std::sync::Arc::new(move |term: &[u8]| !matches(term));
    Ok(Box::new(super::term_scan::TermScan::new(
        f,
        vec![Vec::new()],
        test,
    )))
}

/// Any value form on `auditid`, a string column only. Its values are auditIDs as
/// `document::audit_id_value` writes them: a value asked for is turned the same way, and
/// a prefix must fit in the part of a long auditID that is kept.
fn column_scan(field: Field, value: &Value) -> Result<Box<dyn Query>> {
    let as_stored = |value: &Value| -> Result<Value> {
        use crate::index::document::{AUDIT_ID_HEAD, MAX_AUDIT_ID, audit_id_value};
        Ok(match value {
            Value::Exact(v) => Value::Exact(audit_id_value(v).into_owned()),
            Value::Prefix(p) if p.len() > AUDIT_ID_HEAD => {
                return Err(Error::Usage(format!(
                    "{}: a prefix of {} bytes is too long: auditIDs longer than {MAX_AUDIT_ID} \
                     bytes are indexed by their first {AUDIT_ID_HEAD} and a hash; ask for the \
                     whole ID, or a shorter prefix",
                    field.name(),
                    p.len()
                )));
            }
            other => other.clone(),
        })
    };
    let value = &as_stored(value)?;
    let (prefix, test): (&str, super::term_scan::TermTest) = match value {
        Value::Exact(v) | Value::Prefix(v) => (v, value_test(field, value)?),
        Value::Any => ("", std::sync::Arc::new(|_: &[u8]| true)),
        Value::Regex(_) => ("", value_test(field, value)?),
        Value::SomeNot(inner) => {
            let matches = value_test(field, &as_stored(inner)?)?;
            ("", std::sync::Arc::new(move |value: &[u8]| !matches(value)))
        }
        Value::Compare(..) | Value::Range(..) | Value::Number(..) => {
            unreachable!("parser allows comparisons only on numeric and body fields")
        }
    };
    let name = field.name();
    Ok(Box::new(super::column_scan::ColumnScan::new(
        name,
        prefix.as_bytes().to_vec(),
        test,
    )))
}

/// Whether a value (a term's or a column's bytes) is one `value` matches, as it
/// would after `field:`: equal, starting with a prefix, a regex matching it whole, in
/// an `ip:` block or class.
fn value_test(field: Field, value: &Value) -> Result<super::term_scan::TermTest> {
    let regex_error = |pattern: &str, e: regex::Error| Error::Regex {
        field: field.name(),
        pattern: pattern.to_string(),
        reason: e.to_string(),
    };
    let matches: Box<dyn Fn(&str) -> bool + Send + Sync> = match value {
        Value::Exact(v) if field == Field::SourceIp && super::cidr::ranges(v).is_some() => {
            let ranges = super::cidr::ranges(v).unwrap_or_default();
            Box::new(move |ip: &str| {
                ip.parse().is_ok_and(|ip| {
                    let n = super::cidr::number(ip);
                    ranges.iter().any(|&(lo, hi)| (lo..=hi).contains(&n))
                })
            })
        }
        Value::Exact(v) => {
            let v = v.clone();
            Box::new(move |s: &str| s == v)
        }
        Value::Prefix(p) => {
            let p = p.clone();
            Box::new(move |s: &str| s.starts_with(&p))
        }
        Value::Regex(r) => {
            let whole = regex::Regex::new(&format!("^(?:{r})$")).map_err(|e| regex_error(r, e))?;
            Box::new(move |s: &str| whole.is_match(s))
        }
        _ => unreachable!("a value, prefix or regex is tested"),
    };
    Ok(std::sync::Arc::new(move |bytes: &[u8]| {
        std::str::from_utf8(bytes).is_ok_and(&matches)
    }))
}

/// A boolean query that matches something even when all its clauses are negations.
fn with_positive(mut clauses: Vec<(Occur, Box<dyn Query>)>) -> Box<dyn Query> {
    if clauses.iter().all(|(o, _)| *o == Occur::MustNot) {
        clauses.push((Occur::Must, Box::new(AllQuery)));
    }
    Box::new(BooleanQuery::new(clauses))
}

/// Documents with any value in a numeric (fast) field.
fn present(field: Field) -> Box<dyn Query> {
    Box::new(ExistsQuery::new(field.name().to_string(), false))
}

fn term(t: Term) -> Box<dyn Query> {
    Box::new(TermQuery::new(t, IndexRecordOption::Basic))
}

fn regex(field: Field, f: IndexField, pattern: &str) -> Result<Box<dyn Query>> {
    RegexQuery::from_pattern(pattern, f)
        .map(|q| Box::new(q) as Box<dyn Query>)
        .map_err(|e| Error::Regex {
            field: field.name(),
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })
}

/// Requests received in [since, until).
pub fn time_range(
    fields: &Fields,
    since: Option<i64>,
    until: Option<i64>,
) -> Option<Box<dyn Query>> {
    if since.is_none() && until.is_none() {
        return None;
    }
    let t = |micros| Term::from_field_date(fields.time, DateTime::from_timestamp_micros(micros));
    let lo = since.map_or(Bound::Unbounded, |s| Bound::Included(t(s)));
    let hi = until.map_or(Bound::Unbounded, |u| Bound::Excluded(t(u)));
    Some(Box::new(RangeQuery::new(lo, hi)))
}
