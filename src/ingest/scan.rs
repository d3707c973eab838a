//! A lenient, bounded-memory scan of JSON text that finds the objects in it (an event,
//! the items of an EventList or a `records` batch, the elements of an array) and each
//! object's top-level members, without parsing the member values.
//!
//! Why: kube-apiserver logs a request body as the client sent it once it passes a JSON
//! syntax check, so a body can hold what a strict parser refuses (a lone surrogate,
//! invalid UTF-8, `1e400`, nesting past 1,024, a line past `--max-line-bytes`). The
//! envelope around it is always the apiserver's own well-formed data. This scan only
//! tracks strings, escapes and bracket depth, so such a body is skipped like any other
//! value, and the envelope members around it (timestamps and annotations come after the
//! bodies) are still found. It is fed bytes in chunks (`feed`), so an over-long line or a
//! huge document streams through it: what it keeps is capped (`Limits`).

/// What the scan keeps in memory.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Largest member value kept; a larger one is only measured.
    pub member: usize,
    /// Largest body (`requestObject`, `responseObject`) kept: the part a client sends.
    pub body: usize,
    /// Member bytes kept per object, all members together.
    pub members_total: usize,
    /// Largest object kept whole (for a strict parse of the object alone); 0 keeps none.
    pub object: usize,
}

impl Limits {
    /// For one line that failed to parse (the line is in memory already).
    pub fn line(len: usize) -> Limits {
        Limits {
            member: len,
            body: len,
            members_total: len,
            object: len,
        }
    }

    /// For a line over `--max-line-bytes` or a streamed document. Envelope members
    /// are kept up to 16 MiB: the apiserver takes at most 1 MiB of headers (a URI, a
    /// userAgent, an X-Forwarded-For list), which Go's `\u0026` escapes can make six
    /// times longer in the log, and losing one would lose the request's identity.
    /// Bodies, which a client can make any size, are kept up to 1 MiB.
    pub fn streaming(object: usize) -> Limits {
        Limits {
            member: 16 << 20,
            body: 1 << 20,
            members_total: 32 << 20,
            object,
        }
    }
}

/// One member of an object: its key (decoded) and its value's text, or the size of a
/// value that was over the limits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub key: String,
    pub value: Captured,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Captured {
    Text(Vec<u8>),
    /// Over the limits: only its size and first byte (what kind of value) are known.
    Skipped {
        bytes: u64,
        first: u8,
    },
}

/// One object found by the scan, or an element of a list that is not an object.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// Index inside an EventList, `records` batch or array; None for a lone object.
    pub index: Option<usize>,
    /// Line breaks in the input before the object starts: where a document's item is.
    pub line: u64,
    pub shape: Shape,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Shape {
    Object {
        /// The whole object's text, when within `Limits::object`.
        text: Option<Vec<u8>>,
        /// Its size in bytes.
        bytes: u64,
        members: Vec<Member>,
    },
    /// A list element that is not an object: what it starts with.
    NotObject(&'static str),
}

/// How the scan ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct End {
    /// A value was still open at the end of the input.
    pub unclosed: bool,
    /// Text that cannot be JSON was met outside strings at the top level, or a raw
    /// newline inside a string (documents only: no writer of audit logs emits one).
    pub broken: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum At {
    /// Before a key (after `{` or `,`).
    Key,
    InKey,
    /// After a key, before `:`.
    Colon,
    /// After `:`, before the value.
    Value,
    InString,
    InContainer,
    InScalar,
    /// After a value, before `,` or `}`.
    After,
}

/// An object being scanned, and where the scan is among its members.
#[derive(Debug)]
struct Open {
    /// Bracket depth inside this object's braces.
    depth: u64,
    index: Option<usize>,
    at: At,
    key: Vec<u8>,
    value: Vec<u8>,
    value_len: u64,
    members: Vec<Member>,
    kept: usize,
    text: Vec<u8>,
    text_len: u64,
    /// This object holds the events (an EventList's `items`, a `records` batch): its
    /// own members are not an event, and the list is not kept as a member.
    container: bool,
    /// The member being read is that list.
    in_list: bool,
    /// The member being read is a body (kept up to `Limits::body`).
    body: bool,
    /// The first byte of the value being read.
    first: u8,
    /// Line breaks before the object starts.
    line: u64,
}

/// A list whose elements are events: a top-level array, or the `items`/`records` of a
/// top-level object.
#[derive(Debug, Clone, Copy)]
struct List {
    /// Bracket depth inside the list's brackets.
    depth: u64,
    index: usize,
    /// The current element has started (its first byte was seen).
    started: bool,
    /// The current element is a scalar still being read.
    scalar: bool,
}

/// See the module documentation.
#[derive(Debug)]
pub struct Scanner {
    limits: Limits,
    depth: u64,
    in_string: bool,
    escaped: bool,
    /// Rejects raw newlines in strings (a multi-line document; a line has none).
    document: bool,
    /// Objects being scanned: the outer one and, inside its list, an element.
    open: Vec<Open>,
    list: Option<List>,
    found: Vec<Found>,
    end: End,
    /// Line breaks seen so far.
    lines: u64,
}

impl Scanner {
    pub fn new(limits: Limits) -> Scanner {
        Scanner {
            limits,
            depth: 0,
            in_string: false,
            escaped: false,
            document: false,
            open: Vec::new(),
            list: None,
            found: Vec::new(),
            end: End::default(),
            lines: 0,
        }
    }

    /// A scanner for a multi-line document: see `End::broken`.
    pub fn document(limits: Limits) -> Scanner {
        Scanner {
            document: true,
            ..Scanner::new(limits)
        }
    }

    /// Starts over for a new input, keeping the limits.
    pub fn reset(&mut self) {
        *self = Scanner {
            limits: self.limits,
            document: self.document,
            ..Scanner::new(self.limits)
        };
    }

    /// Inside the list of an EventList, `records` batch or array: the input is a
    /// document of several events.
    pub fn in_list(&self) -> bool {
        self.list.is_some()
    }

    /// Objects completed so far, in order.
    pub fn take_found(&mut self) -> std::vec::Drain<'_, Found> {
        self.found.drain(..)
    }

    /// How the input ended: call after the last `feed`.
    pub fn end(&self) -> End {
        End {
            unclosed: self.end.unclosed || self.depth > 0 || self.in_string,
            broken: self.end.broken,
        }
    }

    /// Scans the next bytes of the input.
    pub fn feed(&mut self, bytes: &[u8]) {
        let mut i = 0;
        while i < bytes.len() {
            if self.in_string && !self.escaped {
                // Fast path through string content: the next quote or backslash.
                let rest = &bytes[i..];
                let stop = if self.document {
                    memchr::memchr3(b'"', b'\\', b'\n', rest)
                } else {
                    memchr::memchr2(b'"', b'\\', rest)
                };
                let n = stop.unwrap_or(rest.len());
                self.keep(&rest[..n]);
                i += n;
                if i == bytes.len() {
                    break;
                }
            }
            self.byte(bytes[i]);
            i += 1;
        }
    }

    /// Appends string content (no structure) to what the open objects keep.
    fn keep(&mut self, bytes: &[u8]) {
        if self.document {
            self.lines += memchr::memchr_iter(b'\n', bytes).count() as u64;
        }
        let limits = self.limits;
        for o in &mut self.open {
            o.keep_text(bytes, limits);
            match o.at {
                At::InKey if o.depth == self.depth => extend_capped(&mut o.key, bytes, 4096),
                At::InString | At::InContainer => o.keep_value(bytes, limits),
                _ => {}
            }
        }
    }

    fn byte(&mut self, b: u8) {
        if self.in_string {
            if self.escaped {
                self.escaped = false;
            } else if b == b'\\' {
                self.escaped = true;
            } else if b == b'"' {
                self.in_string = false;
            } else if b == b'\n' && self.document {
                self.end.broken = true;
            }
            self.keep(&[b]);
            if !self.in_string {
                self.string_closed();
            }
            return;
        }
        match b {
            b' ' | b'\t' | b'\r' | b'\n' => self.whitespace(b),
            b'"' => {
                self.end.broken |= self.depth == 0;
                self.in_string = true;
                self.value_starts(b, At::InString);
            }
            b'{' | b'[' => self.opens(b),
            b'}' | b']' => self.closes(b),
            b',' => self.comma(),
            b':' => {
                self.each_open_byte(b);
                if let Some(o) = self.innermost_at_depth()
                    && o.at == At::Colon
                {
                    o.at = At::Value;
                }
            }
            _ => self.scalar_byte(b),
        }
    }

    /// The innermost open object when the scan is directly inside it.
    fn innermost_at_depth(&mut self) -> Option<&mut Open> {
        let depth = self.depth;
        self.open.last_mut().filter(|o| o.depth == depth)
    }

    /// Keeps a structural byte in every open object's text, and in the value being
    /// read where one is.
    fn each_open_byte(&mut self, b: u8) {
        let limits = self.limits;
        for o in &mut self.open {
            o.keep_text(&[b], limits);
            if matches!(o.at, At::InContainer | At::InScalar) {
                o.keep_value(&[b], limits);
            }
        }
    }

    fn whitespace(&mut self, b: u8) {
        self.lines += u64::from(b == b'\n');
        self.list_scalar_ends();
        let depth = self.depth;
        let limits = self.limits;
        for o in &mut self.open {
            o.keep_text(&[b], limits);
            if o.at == At::InContainer {
                o.keep_value(&[b], limits);
            } else if o.at == At::InScalar && o.depth == depth {
                o.member_done();
            }
        }
    }

    /// A string or container starts: a key, a member's value, or a list element.
    fn value_starts(&mut self, b: u8, kind: At) {
        self.check_place(b);
        self.list_element_starts(b);
        let depth = self.depth;
        let limits = self.limits;
        for o in &mut self.open {
            o.keep_text(&[b], limits);
            if o.depth != depth {
                if o.at == At::InContainer {
                    o.keep_value(&[b], limits);
                }
                continue;
            }
            match o.at {
                At::Key if kind == At::InString => {
                    o.key.clear();
                    o.at = At::InKey;
                }
                At::Value => {
                    o.value_starts();
                    o.at = kind;
                    let list = kind == At::InContainer
                        && b == b'['
                        && self.list.is_none()
                        && o.index.is_none()
                        && depth == 1
                        && matches!(decode_key(&o.key).as_str(), "items" | "records");
                    if list {
                        o.container = true;
                        o.in_list = true;
                    } else {
                        o.keep_value(&[b], limits);
                    }
                }
                // Text where JSON has none (`{"a" "b"}`): leniently skipped.
                _ => {}
            }
        }
    }

    /// The first byte of an element of the events list: an object is scanned as an
    /// event, anything else is reported as not one.
    /// In a document, a value where JSON has none (an object where a key belongs, two
    /// values without a comma) breaks it: a `{` line followed by event lines is a log,
    /// not a document, and must be read as lines. A line is read leniently instead.
    fn check_place(&mut self, b: u8) {
        if !self.document {
            return;
        }
        let depth = self.depth;
        if let Some(list) = self.list
            && list.depth == depth
            && list.started
            && !list.scalar
        {
            self.end.broken = true;
        }
        if let Some(o) = self.open.last()
            && o.depth == depth
        {
            let fits = match o.at {
                At::Value | At::InScalar => true,
                At::Key => b == b'"',
                _ => false,
            };
            self.end.broken |= !fits;
        }
    }

    fn list_scalar_ends(&mut self) {
        if let Some(list) = &mut self.list
            && list.depth == self.depth
        {
            list.scalar = false;
        }
    }

    fn list_element_starts(&mut self, b: u8) {
        let Some(list) = &mut self.list else { return };
        if list.depth != self.depth || list.started {
            return;
        }
        list.started = true;
        list.scalar = !matches!(b, b'{' | b'[' | b'"');
        if b != b'{' {
            self.found.push(Found {
                index: Some(list.index),
                line: self.lines,
                shape: Shape::NotObject(starts_as(b)),
            });
        }
    }

    fn opens(&mut self, b: u8) {
        let index = self.list.filter(|l| l.depth == self.depth).map(|l| l.index);
        let opens_element = index.is_some()
            && b == b'{'
            && self.list.is_some_and(|l| !l.started)
            && self.open.len() < 2;
        let top = self.depth == 0;
        self.value_starts(b, At::InContainer);
        self.depth += 1;
        if top {
            match b {
                b'{' => self.open.push(Open::new(1, None, self.lines)),
                _ => {
                    self.list = Some(List {
                        depth: 1,
                        index: 0,
                        started: false,
                        scalar: false,
                    })
                }
            }
        } else if opens_element {
            let mut o = Open::new(self.depth, index, self.lines);
            o.keep_text(&[b], self.limits);
            self.open.push(o);
        } else if let Some(o) = self.open.last()
            && o.in_list
            && o.depth + 1 == self.depth
            && self.list.is_none()
        {
            self.list = Some(List {
                depth: self.depth,
                index: 0,
                started: false,
                scalar: false,
            });
        }
        if top && let Some(o) = self.open.last_mut() {
            o.keep_text(&[b], self.limits);
        }
    }

    fn closes(&mut self, b: u8) {
        if self.depth == 0 {
            self.end.broken = true;
            return;
        }
        self.scalar_ends();
        self.each_open_byte(b);
        // The list itself ends.
        if self.list.is_some_and(|l| l.depth == self.depth) {
            self.list = None;
            if let Some(o) = self.open.last_mut()
                && o.in_list
            {
                o.in_list = false;
                o.at = At::After;
            }
        }
        let depth = self.depth;
        // The innermost object ends.
        if self.open.last().is_some_and(|o| o.depth == depth) {
            let o = self.open.pop().expect("checked above");
            if !o.container {
                self.found.push(o.into_found(self.limits));
            }
        }
        self.depth -= 1;
        // A member's container value ends.
        if let Some(o) = self.innermost_at_depth()
            && o.at == At::InContainer
        {
            o.member_done();
        }
    }

    /// A scalar member value ends at the `,` or `}` after it.
    fn scalar_ends(&mut self) {
        if let Some(o) = self.innermost_at_depth()
            && o.at == At::InScalar
        {
            o.member_done();
        }
    }

    fn comma(&mut self) {
        self.scalar_ends();
        self.each_open_byte(b',');
        let depth = self.depth;
        if let Some(list) = &mut self.list
            && list.depth == depth
        {
            list.index += 1;
            list.started = false;
            list.scalar = false;
        }
        if let Some(o) = self.open.last_mut()
            && o.depth == depth
        {
            o.at = At::Key;
        }
    }

    fn scalar_byte(&mut self, b: u8) {
        if self.depth == 0 {
            self.end.broken = true;
            return;
        }
        self.check_place(b);
        self.list_element_starts(b);
        let depth = self.depth;
        let limits = self.limits;
        for o in &mut self.open {
            o.keep_text(&[b], limits);
            if o.depth == depth && o.at == At::Value {
                o.value_starts();
                o.at = At::InScalar;
            }
            if matches!(o.at, At::InScalar | At::InContainer) {
                o.keep_value(&[b], limits);
            }
        }
    }

    fn string_closed(&mut self) {
        let depth = self.depth;
        if let Some(o) = self.open.last_mut()
            && o.depth == depth
        {
            match o.at {
                At::InKey => o.at = At::Colon,
                At::InString => o.member_done(),
                _ => {}
            }
        }
    }
}

impl Open {
    fn new(depth: u64, index: Option<usize>, line: u64) -> Open {
        Open {
            body: false,
            first: 0,
            line,
            depth,
            index,
            at: At::Key,
            key: Vec::new(),
            value: Vec::new(),
            value_len: 0,
            members: Vec::new(),
            kept: 0,
            text: Vec::new(),
            text_len: 0,
            container: false,
            in_list: false,
        }
    }

    fn keep_text(&mut self, bytes: &[u8], limits: Limits) {
        self.text_len += bytes.len() as u64;
        if self.text_len <= limits.object as u64 {
            self.text.extend_from_slice(bytes);
        } else if !self.text.is_empty() {
            self.text = Vec::new();
        }
    }

    fn value_starts(&mut self) {
        self.value.clear();
        self.value_len = 0;
        self.body = matches!(
            decode_key(&self.key).as_str(),
            "requestObject" | "responseObject"
        );
    }

    fn keep_value(&mut self, bytes: &[u8], limits: Limits) {
        if self.in_list || bytes.is_empty() {
            return;
        }
        if self.value_len == 0 {
            self.first = bytes[0];
        }
        self.value_len += bytes.len() as u64;
        let cap = if self.body {
            limits.body
        } else {
            limits.member
        };
        let room = cap.min(limits.members_total.saturating_sub(self.kept));
        if self.value_len <= room as u64 {
            self.value.extend_from_slice(bytes);
        } else if !self.value.is_empty() {
            self.value = Vec::new();
        }
    }

    /// The value being read is complete: it becomes a member.
    fn member_done(&mut self) {
        self.at = At::After;
        if self.in_list {
            return;
        }
        let value = if self.value.len() as u64 == self.value_len {
            self.kept += self.value.len();
            Captured::Text(std::mem::take(&mut self.value))
        } else {
            Captured::Skipped {
                bytes: self.value_len,
                first: self.first,
            }
        };
        self.members.push(Member {
            key: decode_key(&self.key),
            value,
        });
        self.value_len = 0;
    }

    fn into_found(self, limits: Limits) -> Found {
        let text =
            (self.text_len <= limits.object as u64 && self.text_len > 0).then_some(self.text);
        Found {
            index: self.index,
            line: self.line,
            shape: Shape::Object {
                text,
                bytes: self.text_len,
                members: self.members,
            },
        }
    }
}

fn extend_capped(buf: &mut Vec<u8>, bytes: &[u8], cap: usize) {
    let room = cap.saturating_sub(buf.len());
    buf.extend_from_slice(&bytes[..bytes.len().min(room)]);
}

/// A key's text as JSON decodes it (`"request\u004fbject"` is `requestObject`); a key
/// that does not decode strictly is read as Go reads it: U+FFFD for invalid UTF-8 and
/// for a lone surrogate escape.
pub fn decode_key(raw: &[u8]) -> String {
    // `raw` holds the key's content and its closing quote.
    let content = raw.strip_suffix(b"\"").unwrap_or(raw);
    let mut quoted = Vec::with_capacity(content.len() + 2);
    quoted.push(b'"');
    quoted.extend_from_slice(content);
    quoted.push(b'"');
    serde_json::from_slice::<String>(&quoted)
        .unwrap_or_else(|_| unescape_as_go(&String::from_utf8_lossy(content)))
}

/// JSON string escapes decoded leniently, as Go's decoder does: a lone surrogate is
/// U+FFFD; an escape that is not one is kept as written.
fn unescape_as_go(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    let hex4 = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>| -> Option<u32> {
        let digits: String = chars.clone().take(4).collect();
        let n = u32::from_str_radix(&digits, 16)
            .ok()
            .filter(|_| digits.len() == 4)?;
        chars.nth(3);
        Some(n)
    };
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('b') => out.push('\u{8}'),
            Some('f') => out.push('\u{c}'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('t') => out.push('\t'),
            Some('u') => match hex4(&mut chars) {
                Some(high @ 0xd800..=0xdbff) => {
                    let mut rest = chars.clone();
                    let low = (rest.next() == Some('\\') && rest.next() == Some('u'))
                        .then(|| hex4(&mut rest))
                        .flatten()
                        .filter(|low| (0xdc00..=0xdfff).contains(low));
                    match low {
                        Some(low) => {
                            chars = rest;
                            let n = 0x10000 + ((high - 0xd800) << 10) + (low - 0xdc00);
                            out.push(char::from_u32(n).unwrap_or('\u{fffd}'));
                        }
                        None => out.push('\u{fffd}'),
                    }
                }
                Some(n) => out.push(char::from_u32(n).unwrap_or('\u{fffd}')),
                None => out.push_str("\\u"),
            },
            Some(other) => out.push(other),
            None => out.push('\\'),
        }
    }
    out
}

fn starts_as(b: u8) -> &'static str {
    match b {
        b'[' => "an array",
        b'"' => "a string",
        b't' | b'f' => "a boolean",
        b'n' => "null",
        _ => "a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(input: &[u8], chunk: usize) -> (Vec<Found>, End) {
        let mut s = Scanner::new(Limits::line(input.len()));
        for part in input.chunks(chunk.max(1)) {
            s.feed(part);
        }
        let found = s.take_found().collect();
        (found, s.end())
    }

    fn members(found: &Found) -> Vec<(String, String)> {
        match &found.shape {
            Shape::Object { members, .. } => members
                .iter()
                .map(|m| {
                    let v = match &m.value {
                        Captured::Text(t) => String::from_utf8_lossy(t).into_owned(),
                        Captured::Skipped { bytes, .. } => format!("<{bytes}>"),
                    };
                    (m.key.clone(), v)
                })
                .collect(),
            Shape::NotObject(what) => vec![("!".into(), what.to_string())],
        }
    }

    #[test]
    fn members_of_an_event_whatever_its_body_holds() {
        let line = b"{\"auditID\":\"a\",\"n\":12, \"requestObject\":{\"x\":[\"\\ud800\",1e400,\"\xff\",{\"}\":\"]\"}]},\"ok\":true,\"s\":\"q\\\"\"}";
        for chunk in [1, 3, 7, line.len()] {
            let (found, end) = scan(line, chunk);
            assert_eq!(end, End::default());
            assert_eq!(found.len(), 1);
            let got = members(&found[0]);
            let keys: Vec<&str> = got.iter().map(|(k, _)| k.as_str()).collect();
            assert_eq!(
                keys,
                ["auditID", "n", "requestObject", "ok", "s"],
                "{chunk}"
            );
            assert_eq!(got[0].1, "\"a\"");
            assert_eq!(got[1].1, "12");
            assert!(got[2].1.starts_with("{\"x\":[") && got[2].1.ends_with("]}"));
            assert_eq!(got[3].1, "true");
            assert_eq!(got[4].1, "\"q\\\"\"");
            match &found[0].shape {
                Shape::Object { text, bytes, .. } => {
                    assert_eq!(text.as_deref(), Some(&line[..]));
                    assert_eq!(*bytes, line.len() as u64);
                }
                other => panic!("{other:?}"),
            }
        }
    }

    #[test]
    fn deep_nesting_costs_no_memory_and_hides_nothing_after_it() {
        let mut line = b"{\"requestObject\":".to_vec();
        line.extend(std::iter::repeat_n(b'[', 100_000));
        line.extend(std::iter::repeat_n(b']', 100_000));
        line.extend(b",\"stageTimestamp\":\"t\"}");
        let mut s = Scanner::new(Limits {
            member: 1000,
            body: 1000,
            members_total: 10_000,
            object: 0,
        });
        s.feed(&line);
        let found: Vec<Found> = s.take_found().collect();
        assert_eq!(
            members(&found[0]),
            vec![
                ("requestObject".into(), "<200000>".into()),
                ("stageTimestamp".into(), "\"t\"".into())
            ]
        );
    }

    #[test]
    fn event_lists_records_and_arrays_are_split_into_their_items() {
        let list =
            br#"{"kind":"EventList","items":[{"auditID":"1"},7,{"auditID":"2","x":[1,{"a":2}]}]}"#;
        let (found, end) = scan(list, 5);
        assert_eq!(end, End::default());
        let got: Vec<_> = found.iter().map(|f| (f.index, members(f))).collect();
        assert_eq!(got.len(), 3, "{got:?}");
        assert_eq!(got[0], (Some(0), vec![("auditID".into(), "\"1\"".into())]));
        assert_eq!(got[1], (Some(1), vec![("!".into(), "a number".into())]));
        assert_eq!(got[2].0, Some(2));
        assert_eq!(got[2].1[1], ("x".into(), "[1,{\"a\":2}]".into()));
        let array = br#" [ {"a":1} , {"b":"}"} ] "#;
        let (found, end) = scan(array, 2);
        assert_eq!(end, End::default());
        assert_eq!(found.len(), 2);
        assert_eq!(found[1].index, Some(1));
        assert_eq!(members(&found[1]), vec![("b".into(), "\"}\"".into())]);
        match &found[1].shape {
            Shape::Object { text, .. } => assert_eq!(text.as_deref(), Some(&br#"{"b":"}"}"#[..])),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn cut_short_and_broken_input_is_told() {
        assert!(scan(br#"{"a":"b"#, 4).1.unclosed);
        assert!(scan(br#"{"a":[1,2"#, 4).1.unclosed);
        assert!(scan(b"x{}", 1).1.broken);
        let mut doc = Scanner::document(Limits::streaming(100));
        doc.feed(b"{\"a\":\"b\ncd\"}");
        assert!(doc.end().broken);
    }

    #[test]
    fn a_document_breaks_where_json_has_no_place_for_a_value() {
        let broken = |text: &[u8]| {
            let mut doc = Scanner::document(Limits::streaming(1 << 20));
            doc.feed(text);
            doc.end().broken
        };
        // A `{` or `[` line followed by event lines is a log, not a document.
        assert!(broken(b"{\n{\"a\":1}\n{\"b\":2}\n"));
        assert!(broken(b"[\n{\"a\":1}\n{\"b\":2}\n]\n"));
        assert!(broken(b"[1 2]"));
        assert!(broken(b"{\"a\" \"b\"}"));
        assert!(broken(b"{\"a\":1 2}"));
        for fine in [
            &b"{\n  \"kind\": \"EventList\",\n  \"items\": [\n    {\"a\": [1, 2 ,3]},\n    {}\n  ]\n}\n"[..],
            b"[ 1 , -2.5e3 ,\"x\", true ]",
            b"{\"a\":{\"b\":[{},[]]}}\n{\"c\":null}",
        ] {
            assert!(!broken(fine), "{}", String::from_utf8_lossy(fine));
        }
    }

    #[test]
    fn a_key_a_strict_parser_refuses_is_read_as_go_reads_it() {
        assert_eq!(decode_key(b"a\\ud800b\""), "a\u{fffd}b");
        assert_eq!(
            decode_key(b"\\ud83d\\ude00\\udc00\xff\""),
            "\u{1f600}\u{fffd}\u{fffd}"
        );
        assert_eq!(decode_key(b"q\\\"\\n\\x\xff\""), "q\"\nx\u{fffd}");
    }

    #[test]
    fn escaped_keys_are_decoded_and_values_over_the_limits_measured() {
        let line = br#"{"request\u004fbject":"xxxxxxxxxx","b":1}"#;
        let mut s = Scanner::new(Limits {
            member: 5,
            body: 5,
            members_total: 100,
            object: 10,
        });
        s.feed(line);
        let found: Vec<Found> = s.take_found().collect();
        assert_eq!(
            members(&found[0]),
            vec![
                ("requestObject".into(), "<12>".into()),
                ("b".into(), "1".into())
            ]
        );
        match &found[0].shape {
            Shape::Object { text, .. } => assert!(text.is_none()),
            other => panic!("{other:?}"),
        }
    }
}
