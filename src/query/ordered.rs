//! Every match in time order, for exports of any size. Paging with an offset re-runs
//! the query and keeps `offset + page` hits per page, which grows quadratic over a
//! million hits; here the query runs once, only (time, document) pairs are kept
//! (16 bytes a hit: 16 MB per million), and the stored events are read in that order.

use tantivy::store::StoreReader;
use tantivy::{DocAddress, TantivyDocument};

use super::scan::time_values;
use super::{Engine, Search, SortOrder};
use crate::error::{Error, Result};
use crate::index::document::{self, Stored};

/// Document-store blocks kept decompressed per segment: hits in time order mostly
/// follow document order (logs are read oldest first), so a few blocks suffice.
const STORE_CACHE_BLOCKS: usize = 16;

impl Engine {
    /// Calls `visit` with the stored event of every match, in time order, until it
    /// returns false.
    pub fn for_each_in_order(
        &self,
        search: &Search,
        order: SortOrder,
        visit: &mut dyn FnMut(Stored) -> Result<bool>,
    ) -> Result<()> {
        let searcher = self.reader.searcher();
        let mut hits: Vec<(i64, DocAddress)> = Vec::new();
        let segments = searcher.segment_readers();
        self.scan(search, &mut |segment, docs| {
            let ord = segments
                .iter()
                .position(|s| s.segment_id() == segment.segment_id())
                .expect("the segment scanned is one of the searcher's")
                as u32;
            let times = time_values(segment)?;
            for &doc in docs {
                // A request without a time sorts as the oldest.
                let time = times
                    .as_ref()
                    .and_then(|c| c.first(doc))
                    .map_or(i64::MIN, |t| t.into_timestamp_micros());
                hits.push((time, DocAddress::new(ord, doc)));
            }
            Ok(())
        })?;
        // Ties on time in document order either way, as `search` (tantivy's top-docs
        // collectors) breaks them: the two give the same order.
        match order {
            SortOrder::OldestFirst => hits.sort_unstable(),
            SortOrder::NewestFirst => {
                hits.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)))
            }
        }
        let mut stores: Vec<Option<StoreReader>> = (0..segments.len()).map(|_| None).collect();
        let dir = &self.store.dir;
        for (_, address) in hits {
            let slot = &mut stores[address.segment_ord as usize];
            if slot.is_none() {
                let reader = segments[address.segment_ord as usize]
                    .get_store_reader(STORE_CACHE_BLOCKS)
                    .map_err(|e| Error::io(dir, e))?;
                *slot = Some(reader);
            }
            let store = slot.as_ref().expect("opened above");
            let doc: TantivyDocument = store
                .get(address.doc_id)
                .map_err(|e| Error::index(dir, e))?;
            if !visit(document::stored(&self.store.fields, &doc))? {
                break;
            }
        }
        Ok(())
    }
}
