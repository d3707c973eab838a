//! Query results as a table, JSON, NDJSON or CSV. Rows are derived from the stored
//! (redacted) event by the same normalization as ingest (`row`); every format is made
//! from one table of columns (`columns`). Table and CSV cells are sanitized for
//! terminals and spreadsheets; JSON escapes by its own rules.

pub mod columns;
pub mod counts;
pub mod row;
pub mod table;

use std::io::{self, Write};

pub use columns::{DEFAULT_COLUMNS, check_columns, short_time};
pub use row::{Row, Rows};

use crate::sanitize;
use columns::{Json, column, exported_columns};
use table::Align;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
    Ndjson,
    Csv,
}

/// Writes all rows. The table sizes its columns from the rows given, so callers pass
/// pages of rows; JSON is one array.
pub fn write_rows(
    out: &mut dyn Write,
    format: Format,
    rows: &[Row],
    columns: &[&str],
    first: bool,
    last: bool,
) -> io::Result<()> {
    match format {
        Format::Table => write_table(out, rows, columns, first),
        Format::Ndjson => {
            for row in rows {
                serde_json::to_writer(&mut *out, &Json(row))?;
                out.write_all(b"\n")?;
            }
            Ok(())
        }
        Format::Json => {
            if first {
                out.write_all(b"[")?;
            }
            for (i, row) in rows.iter().enumerate() {
                if !(first && i == 0) {
                    out.write_all(b",")?;
                }
                out.write_all(b"\n  ")?;
                serde_json::to_writer(&mut *out, &Json(row))?;
            }
            if last {
                out.write_all(if first && rows.is_empty() {
                    b"]\n"
                } else {
                    b"\n]\n"
                })?;
            }
            Ok(())
        }
        Format::Csv => write_csv(out, rows, first),
    }
}

fn write_csv(out: &mut dyn Write, rows: &[Row], header: bool) -> io::Result<()> {
    let mut w = csv::WriterBuilder::new().from_writer(out);
    if header {
        w.write_record(exported_columns().map(|c| c.key))?;
    }
    for row in rows {
        w.write_record(
            exported_columns().map(|c| sanitize::for_csv(&(c.value)(row).text()).into_owned()),
        )?;
    }
    w.flush()
}

/// Longest a table cell may be, in columns, before it is cut with `…`.
const MAX_CELL: usize = 60;

fn write_table(
    out: &mut dyn Write,
    rows: &[Row],
    columns: &[&str],
    header: bool,
) -> io::Result<()> {
    let chosen: Vec<_> = columns.iter().filter_map(|c| column(c)).collect();
    let cells: Vec<Vec<String>> = rows
        .iter()
        .map(|r| {
            chosen
                .iter()
                .map(|c| match c.cell(r) {
                    t if t.is_empty() => "-".to_string(),
                    t => table::cell(&t, MAX_CELL),
                })
                .collect()
        })
        .collect();
    let titles: Vec<&str> = chosen.iter().map(|c| c.title).collect();
    table::write(out, &titles, &[Align::Left], &cells, header)
}
