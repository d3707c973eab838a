//! Streaming over every match: what reports are built on. Hits are never collected;
//! each segment is walked in document order (so the document store decompresses each
//! block once) and deleted documents (stage rewrites) are skipped. Memory stays bounded
//! at any index size. Reports drive the same walk through a tantivy collector with a
//! visitor per segment (`visit`); the columns they read are opened here by typed
//! handle (`index::columns`).

use std::collections::HashMap;
use tantivy::columnar::{Column, StrColumn};
use tantivy::query::EnableScoring;
use tantivy::store::StoreReader;

use tantivy::{DocId, Searcher, SegmentReader, TantivyDocument};

use super::{Engine, Search};
use crate::error::{Error, Result};
use crate::index::columns::{self, NumberColumn, TextColumn};
use crate::index::document::{self, Stored};

/// Longest value tantivy keeps in a string column.
const COLUMN_VALUE_LIMIT: usize = u16::MAX as usize;

/// Document-store blocks each segment's reader keeps decompressed.
const STORE_CACHE_BLOCKS: usize = 8;

impl Engine {
    /// Calls `visit` with the matching live documents of each segment, in blocks.
    pub fn scan(
        &self,
        search: &Search,
        visit: &mut dyn FnMut(&SegmentReader, &[DocId]) -> Result<()>,
    ) -> Result<()> {
        self.scan_in(&self.reader.searcher(), search, visit)
    }

    /// `scan` over the segments `searcher` holds.
    fn scan_in(
        &self,
        searcher: &Searcher,
        search: &Search,
        visit: &mut dyn FnMut(&SegmentReader, &[DocId]) -> Result<()>,
    ) -> Result<()> {
        let query = self.to_query(search)?;
        let weight = query
            .weight(EnableScoring::disabled_from_searcher(searcher))
            .map_err(|e| self.err(e))?;
        let mut live = Vec::new();
        for segment in searcher.segment_readers() {
            let alive = segment.alive_bitset();
            let mut failed = None;
            weight
                .for_each_no_score(segment, &mut |docs| {
                    if failed.is_some() {
                        return;
                    }
                    live.clear();
                    live.extend(
                        docs.iter()
                            .copied()
                            .filter(|&d| alive.is_none_or(|a| a.is_alive(d))),
                    );
                    if let Err(e) = visit(segment, &live) {
                        failed = Some(e);
                    }
                })
                .map_err(|e| self.err(e))?;
            if let Some(e) = failed {
                return Err(e);
            }
        }
        Ok(())
    }

    /// Calls `visit` with the stored (redacted) event of every matching request.
    pub fn scan_stored(
        &self,
        search: &Search,
        visit: &mut dyn FnMut(Stored) -> Result<()>,
    ) -> Result<()> {
        let fields = self.store.fields.clone();
        let dir = self.store.dir.clone();
        let mut open: Option<(tantivy::index::SegmentId, StoreReader)> = None;
        self.scan(search, &mut |segment, docs| {
            let id = segment.segment_id();
            if open.as_ref().is_none_or(|(open_id, _)| *open_id != id) {
                let reader = segment
                    .get_store_reader(STORE_CACHE_BLOCKS)
                    .map_err(|e| Error::io(&dir, e))?;
                open = Some((id, reader));
            }
            let (_, store) = open.as_ref().expect("opened above");
            for &doc in docs {
                let doc: TantivyDocument = store.get(doc).map_err(|e| Error::index(&dir, e))?;
                visit(document::stored(&fields, &doc))?;
            }
            Ok(())
        })
    }

    /// `scan_stored` in the order requests were received (ties in index order): for a
    /// caller that tells each request against the ones before it. Index order is not
    /// time order (parallel indexing threads, merged segments, logs of several
    /// apiservers); a segment's documents are mostly runs in time order, so reading
    /// them merged by time decompresses about as many store blocks as a plain scan.
    /// Holds the matches' times and addresses (16 bytes each), not their events.
    pub fn scan_stored_by_time(
        &self,
        search: &Search,
        visit: &mut dyn FnMut(Stored) -> Result<()>,
    ) -> Result<()> {
        let searcher = self.reader.searcher();
        let segments = searcher.segment_readers();
        let mut ords: HashMap<tantivy::index::SegmentId, u32> = HashMap::new();
        for (ord, segment) in segments.iter().enumerate() {
            ords.insert(segment.segment_id(), ord as u32);
        }
        let mut matches: Vec<(i64, u32, DocId)> = Vec::new();
        let mut times = None;
        self.scan_in(&searcher, search, &mut |segment, docs| {
            let ord = ords[&segment.segment_id()];
            if times.as_ref().is_none_or(|(o, _)| *o != ord) {
                times = Some((ord, time_values(segment)?));
            }
            let column = times.as_ref().and_then(|(_, c)| c.as_ref());
            for &doc in docs {
                let time = column.and_then(|c| c.first(doc));
                let micros = time.map_or(i64::MIN, |t| t.into_timestamp_micros());
                matches.push((micros, ord, doc));
            }
            Ok(())
        })?;
        matches.sort_unstable();
        let mut stores: Vec<Option<StoreReader>> = segments.iter().map(|_| None).collect();
        for (_, ord, doc) in matches {
            let store = match &mut stores[ord as usize] {
                Some(store) => store,
                slot => slot.insert(
                    segments[ord as usize]
                        .get_store_reader(STORE_CACHE_BLOCKS)
                        .map_err(|e| Error::io(&self.store.dir, e))?,
                ),
            };
            let doc: TantivyDocument = store
                .get(doc)
                .map_err(|e| Error::index(&self.store.dir, e))?;
            visit(document::stored(&self.store.fields, &doc))?;
        }
        Ok(())
    }
}

fn column_error(field: &str, e: tantivy::TantivyError) -> Error {
    Error::Column {
        field: field.to_string(),
        reason: e.to_string(),
    }
}

/// A numeric column of one segment; None when no document of the segment has it.
pub fn u64_values(segment: &SegmentReader, column: NumberColumn) -> Result<Option<Column<u64>>> {
    u64_values_named(segment, column.name())
}

/// A numeric column named at run time (`query --by`, whose field the user chose).
pub fn u64_values_named(segment: &SegmentReader, field: &str) -> Result<Option<Column<u64>>> {
    segment
        .fast_fields()
        .column_opt(field)
        .map_err(|e| column_error(field, e))
}

/// The request times of one segment.
pub fn time_values(segment: &SegmentReader) -> Result<Option<Column<tantivy::DateTime>>> {
    segment
        .fast_fields()
        .column_opt(columns::TIME)
        .map_err(|e| column_error(columns::TIME, e))
}

/// A column value as text. The cut may split a character: decoded lossily.
fn value_text(bytes: &[u8]) -> String {
    let mut out = String::from_utf8_lossy(bytes).into_owned();
    if bytes.len() >= COLUMN_VALUE_LIMIT {
        out.push_str("…[cut: longer than 64 KiB]");
    }
    out
}

/// A string fast field of one segment: values as dictionary ordinals, so grouping
/// compares integers and decodes each distinct value once.
pub struct StrValues {
    column: Option<StrColumn>,
}

impl StrValues {
    pub fn open(segment: &SegmentReader, column: TextColumn) -> Result<StrValues> {
        StrValues::open_named(segment, column.name())
    }

    /// A string column named at run time (`query --by`, whose field the user chose).
    pub fn open_named(segment: &SegmentReader, field: &str) -> Result<StrValues> {
        let column = segment
            .fast_fields()
            .str(field)
            .map_err(|e| column_error(field, e))?;
        Ok(StrValues { column })
    }

    /// The ordinal of the document's (first) value.
    pub fn ord(&self, doc: DocId) -> Option<u64> {
        self.column.as_ref()?.term_ords(doc).next()
    }

    /// The ordinals of all the document's values (source IPs are several).
    pub fn ords(&self, doc: DocId) -> impl Iterator<Item = u64> + '_ {
        self.column.iter().flat_map(move |c| c.term_ords(doc))
    }

    /// The value of an ordinal. tantivy keeps at most 64 KiB of a value in a column
    /// (a hostile userAgent can be megabytes): a value cut there says so.
    pub fn text(&self, ord: u64) -> String {
        let mut bytes = Vec::new();
        if let Some(column) = &self.column {
            // An ordinal read from this column is always in its dictionary.
            let _ = column.ord_to_bytes(ord, &mut bytes);
        }
        value_text(&bytes)
    }

    /// The values of `ords` (sorted, distinct), in their order: one walk through the
    /// dictionary, where `text` looks each one up (a block decoded per call: seconds
    /// for a million distinct values).
    pub fn texts(&self, ords: &[u64]) -> Vec<String> {
        let mut out = Vec::with_capacity(ords.len());
        if let Some(column) = &self.column {
            // Ordinals read from this column are all in its dictionary.
            let _ = column.dictionary().sorted_ords_to_term_cb(ords, |bytes| {
                out.push(value_text(bytes));
            });
        }
        // Never fewer than asked for, whatever the dictionary said.
        out.resize(ords.len(), String::new());
        out
    }

    /// The ordinal of a value, if this segment has it.
    pub fn ord_of(&self, text: &str) -> Option<u64> {
        self.column
            .as_ref()?
            .dictionary()
            .term_ord(text)
            .ok()
            .flatten()
    }

    /// Number of distinct values: sizes per-ordinal tallies.
    pub fn distinct(&self) -> usize {
        self.column.as_ref().map_or(0, |c| c.num_terms())
    }
}
