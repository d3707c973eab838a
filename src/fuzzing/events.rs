//! `parse_line`: one record through the path ingest takes (`ingest::handle_line`: the
//! blank-line check, parse, envelopes, redaction, normalization) into a sink that checks
//! each accepted event the way the index and the query side will read it.

use std::sync::{Arc, LazyLock};

use super::secrets;
use crate::error::Result;
use crate::index::document::{self, StageMark};
use crate::index::schema::{self, Fields};
use crate::ingest::checkpoint::FileMark;
use crate::ingest::lines::{Line, Position};
use crate::ingest::parse::{ParsedEvent, Parser};
use crate::ingest::{Location, Options, Outcome, Sink, Summary, handle_line, redact};
use crate::model::in_index_range;

static FIELDS: LazyLock<Fields> = LazyLock::new(|| schema::build().1);

/// Feeds `data` to ingest as one line, terminated when it ends in `\n` (a multi-line
/// document is read whole the same way), and returns the JSON kept for each event.
pub fn parse_line(data: &[u8]) -> Vec<Vec<u8>> {
    let (bytes, terminated) = match data.strip_suffix(b"\n") {
        Some(line) => (line, true),
        None => (data, false),
    };
    let mut sink = Checker::default();
    let mut summary = Summary::default();
    let file: Arc<str> = Arc::from("fuzz");
    let line = Line::Text { bytes, terminated };
    let options = Options::default();
    let mut parser = Parser::default();
    let at = Position::START;
    let done = handle_line(
        &mut parser,
        &mut sink,
        &mut summary,
        &options,
        &file,
        at,
        line,
    )
    .expect("the checking sink never fails");
    assert_eq!(done, terminated);
    assert_eq!((summary.lines, summary.bytes), (1, data.len() as u64));
    assert_eq!(summary.requests, sink.kept.len() as u64);
    if let [kept] = &sink.kept[..] {
        no_echo_kept(bytes, kept);
    }
    sink.kept
}

/// A Secret's values in the bodies of a line that is one event are not kept where
/// admission may echo them (annotations, responseStatus, a Status body).
fn no_echo_kept(line: &[u8], kept: &[u8]) {
    let mut original = line.to_vec();
    let mut stored = kept.to_vec();
    if let (Ok(original), Ok(kept)) = (
        simd_json::to_borrowed_value(&mut original),
        simd_json::to_borrowed_value(&mut stored),
    ) && let Some(what) = secrets::echoed(&original, &kept)
    {
        panic!(
            "secret value echoed ({what}): {}",
            String::from_utf8_lossy(line)
        );
    }
}

#[derive(Default)]
struct Checker {
    kept: Vec<Vec<u8>>,
}

impl Sink for Checker {
    fn resume_point(&self, _prefix: &[u8]) -> Option<FileMark> {
        None
    }

    fn event(&mut self, event: &ParsedEvent<'_>, _at: &Location) -> Result<Outcome> {
        check_event(event);
        self.kept.push(event.json.to_vec());
        Ok(Outcome::New)
    }

    fn reached(&mut self, _mark: FileMark, _prefix: &[u8]) -> Result<()> {
        Ok(())
    }
}

pub(super) fn check_event(event: &ParsedEvent<'_>) {
    let r = &event.request;
    let json = String::from_utf8_lossy(event.json);
    assert!(event.bytes > 0, "an event of no bytes: {json}");
    let fields = [r.audit_id, r.verb, r.request_uri, r.user, r.resource];
    assert!(
        fields.iter().any(Option::is_some),
        "no audit fields: {json}"
    );
    for t in [r.received, r.stage_time].into_iter().flatten() {
        assert!(
            in_index_range(t),
            "time {t} out of the index's range: {json}"
        );
    }

    // What a query or report shows (the kept JSON, normalized again) is what was indexed.
    let mut buf = Vec::new();
    let kept = crate::model::normalize::parse_stored(event.json, &mut buf)
        .unwrap_or_else(|| panic!("kept JSON does not parse: {json}"));
    let again = crate::model::normalize::normalize(&kept)
        .unwrap_or_else(|e| panic!("kept JSON: {e}: {json}"));
    assert_eq!(&again, r, "kept JSON normalizes to another request: {json}");

    // Secret values never leave the parser: the kept JSON is a fixed point of the
    // redactor, and the independent statement in `secrets` finds nothing left.
    let secrets_request = r.resource == Some("secrets");
    let mut twice = kept.clone();
    let changed = redact::redact_event(&mut twice, secrets_request);
    assert!(!changed, "redacting the kept JSON again changes it: {json}");
    if let Some(what) = secrets::unredacted(&kept, secrets_request) {
        panic!("secret value kept ({what}): {json}");
    }

    // The index writer's own work on the event (pod spec checks included).
    let stages = [StageMark::of(r, event.bytes)];
    document::build(&FIELDS, event.key, r, event.json, &stages);
}
