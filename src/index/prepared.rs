//! An event made ready for the writer, on an ingest worker thread when there are some
//! (`ingest::ParallelSink`): what stage collapse needs of it, and its document already
//! built when its stage is final, the one kind of stage written as it comes. The stage
//! list, known only in log order, is added by the writer (`document::add_stages`).

use tantivy::TantivyDocument;

use super::document::{self, StageMark};
use super::schema::Fields;
use crate::ingest::parse::{ParsedEvent, RequestKey};
use crate::model::Stage;

pub struct Prepared {
    pub key: RequestKey,
    pub mark: StageMark,
    /// requestReceivedTimestamp: whether the request may be in the index already.
    pub received: Option<i64>,
    /// The time the request is indexed at.
    pub time: Option<i64>,
    pub body: Body,
}

pub enum Body {
    /// A final stage's document, without its stage list.
    Document(TantivyDocument),
    /// Any other stage's redacted event JSON: written at the next commit unless a
    /// later stage comes first (`collapse::Known`), so its document is built then.
    Event(Box<[u8]>),
}

/// Prepares one event: the work that can run beside the others.
pub fn prepare(f: &Fields, event: &ParsedEvent<'_>) -> Prepared {
    let r = &event.request;
    let body = if Stage::is_final(r.stage) {
        Body::Document(document::build_request(f, event.key, r, event.json))
    } else {
        Body::Event(event.json.into())
    };
    Prepared {
        key: event.key,
        mark: StageMark::of(r, event.bytes),
        received: r.received,
        time: r.time(),
        body,
    }
}
