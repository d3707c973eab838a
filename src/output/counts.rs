//! Counts by field (`query --by`) in the four formats. Every format has the same
//! columns: one per field (named as in queries: `ip`, `user`), `bucket` with `--every`
//! (its start, RFC 3339 UTC), and `count`. An absent value is null in JSON, empty in
//! CSV and `(none)` in the table; table and CSV cells are sanitized like query rows.

use std::io::{self, Write};

use serde_json::{Map, Value};

use super::table::{self, Align};
use super::{Format, MAX_CELL};
use crate::query::counts::{Counts, Key, Row};
use crate::query::parse::Field;
use crate::sanitize;

/// What the table shows for a request without the field.
pub const ABSENT: &str = "(none)";

/// A bucket's start as RFC 3339 UTC, `2026-11-20T10:05:00Z`.
pub fn bucket_text(micros: i64) -> String {
    chrono::DateTime::from_timestamp_micros(micros)
        .map(|t| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        .unwrap_or_else(|| micros.to_string())
}

/// Writes the rows of `counts` by `fields`; `every` says whether rows have buckets.
pub fn write(
    out: &mut dyn Write,
    format: Format,
    fields: &[Field],
    every: bool,
    counts: &Counts,
) -> io::Result<()> {
    let mut columns: Vec<&str> = fields.iter().map(|f| f.name()).collect();
    if every {
        columns.push("bucket");
    }
    columns.push("count");
    match format {
        Format::Json | Format::Ndjson => {
            let json = format == Format::Json;
            if json {
                out.write_all(b"[")?;
            }
            for (i, row) in counts.rows.iter().enumerate() {
                if json {
                    out.write_all(if i == 0 { b"\n  " } else { b",\n  " })?;
                }
                serde_json::to_writer(&mut *out, &object(fields, every, row))?;
                if !json {
                    out.write_all(b"\n")?;
                }
            }
            if json {
                out.write_all(if counts.rows.is_empty() {
                    b"]\n"
                } else {
                    b"\n]\n"
                })?;
            }
            Ok(())
        }
        Format::Csv => {
            let mut w = csv::WriterBuilder::new().from_writer(out);
            w.write_record(&columns)?;
            for row in &counts.rows {
                let cells = cells(every, row)
                    .into_iter()
                    .map(|c| sanitize::for_csv(&c.unwrap_or_default()).into_owned());
                w.write_record(cells)?;
            }
            w.flush()
        }
        Format::Table => write_table(out, &columns, every, &counts.rows),
    }
}

/// One row as a JSON object: a key per field, `bucket`, `count`.
fn object(fields: &[Field], every: bool, row: &Row) -> Value {
    let mut object = Map::new();
    for (field, value) in fields.iter().zip(&row.values) {
        let value = match value {
            None => Value::Null,
            Some(Key::Number(n)) => Value::from(*n),
            Some(Key::Text(s)) => Value::from(s.as_str()),
        };
        object.insert(field.name().to_string(), value);
    }
    if every {
        let bucket = row.bucket.map_or(Value::Null, |b| bucket_text(b).into());
        object.insert("bucket".into(), bucket);
    }
    object.insert("count".into(), row.count.into());
    Value::Object(object)
}

/// A row's cells as text, not yet sanitized; None where absent.
fn cells(every: bool, row: &Row) -> Vec<Option<String>> {
    let mut cells: Vec<Option<String>> = row
        .values
        .iter()
        .map(|v| v.as_ref().map(Key::to_string))
        .collect();
    if every {
        cells.push(row.bucket.map(bucket_text));
    }
    cells.push(Some(row.count.to_string()));
    cells
}

fn write_table(out: &mut dyn Write, columns: &[&str], every: bool, rows: &[Row]) -> io::Result<()> {
    if rows.is_empty() {
        return Ok(());
    }
    let titles: Vec<String> = columns.iter().map(|c| c.to_uppercase()).collect();
    let titles: Vec<&str> = titles.iter().map(String::as_str).collect();
    let body: Vec<Vec<String>> = rows
        .iter()
        .map(|row| {
            cells(every, row)
                .into_iter()
                .map(|c| match c {
                    None => ABSENT.to_string(),
                    Some(t) => table::cell(&t, MAX_CELL),
                })
                .collect()
        })
        .collect();
    // Counts line up on the right.
    let mut align = vec![Align::Left; columns.len()];
    if let Some(count) = align.last_mut() {
        *count = Align::Right;
    }
    table::write(out, &titles, &align, &body, true)
}
