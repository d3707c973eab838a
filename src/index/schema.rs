//! The tantivy schema: one document per API request.

use tantivy::schema::{
    DateOptions, DateTimePrecision, FAST, Field, INDEXED, IndexRecordOption, STORED, Schema,
    TextFieldIndexing, TextOptions,
};

/// Bumped when the schema changes incompatibly; an index of another version is refused.
pub const SCHEMA_VERSION: u32 = 7;

/// Handles to every field.
#[derive(Clone)]
pub struct Fields {
    /// The request key (see `ingest::parse::RequestKey`) folded to 64 bits, columnar
    /// only: with `bucket` it finds a request's document (`index::identity`).
    pub key: Field,
    /// The request key's top 16 bits, as a term (`index::identity`).
    pub bucket: Field,
    /// requestReceivedTimestamp, microseconds: sorting and --since/--until.
    pub time: Field,
    pub verb: Field,
    pub user: Field,
    pub group: Field,
    pub sa: Field,
    pub pod: Field,
    pub pod_uid: Field,
    pub node: Field,
    pub impersonated: Field,
    pub resource: Field,
    pub sub: Field,
    pub apigroup: Field,
    pub ns: Field,
    pub name: Field,
    pub code: Field,
    pub decision: Field,
    pub stage: Field,
    pub level: Field,
    pub ip: Field,
    pub audit_id: Field,
    pub ua: Field,
    pub agent: Field,
    pub uri: Field,
    pub reason: Field,
    /// The exec/attach command, decoded from the URI's `command=` parameters, as words.
    pub command: Field,
    /// Every container image in a pod or workload body (`podspec::images`).
    pub image: Field,
    /// Container checks failed by a pod or workload body: privileged, hostPath, ….
    pub risk: Field,
    /// Each capability a pod or workload body adds, normalized (`SYS_ADMIN`).
    pub cap: Field,
    /// The worst finding of a pod or workload write as a rank (`Severity::rank`).
    pub severity: Field,
    /// What a pod or workload write says of its workload: immutable, mutable, unknown
    /// (`podspec::Checked::verdict`).
    pub verdict: Field,
    /// Why the request's line was salvaged (`Request::salvaged`).
    pub salvaged: Field,
    /// `true` for a server-side dry run (`model::is_dry_run`): reports leave them out,
    /// and their drill-down queries must say so without matching words of the URI.
    pub dryrun: Field,
    /// Each source IP as an address (IPv4 mapped into IPv6), columnar: `ip:` blocks and
    /// classes are ranges over it (`query::cidr`).
    pub ipaddr: Field,
    /// Every value of the request and response bodies, with its path (`index::body`).
    pub body: Field,
    /// Size in the log of all the request's stages: what fills the log (`report stats`).
    pub bytes: Field,
    /// Redacted JSON of the most complete stage.
    pub event: Field,
    /// JSON list of the stages seen: `[[stage, stageTimestamp micros, code], …]`.
    pub stages: Field,
}

/// The index's schema and the handles of its fields. Exact-match fields are raw terms
/// without norms or positions; the fields reports and `query --by` group by are also
/// columnar (fast); the event and its stage list are stored. A change here that old
/// indexes cannot read needs a new schema version (`index::store`).
pub fn build() -> (Schema, Fields) {
    let mut b = Schema::builder();
    // No field norms: kaudit never ranks by relevance, and they cost indexing time.
    let exact = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("raw")
            .set_fieldnorms(false)
            .set_index_option(IndexRecordOption::Basic),
    );
    // Columnar copies of the fields reports and `query --by` group by: `report stats`,
    // `report serviceaccounts` and counts by field aggregate a million requests from
    // these without touching the document store.
    let grouped = exact.clone().set_fast("raw");
    let text = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("default")
            .set_fieldnorms(false)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let fields = Fields {
        // Not a term: a unique term per request cost ~10% of ingest CPU and ~40 MB of its
        // memory (the term dictionary).
        key: b.add_u64_field("key", FAST),
        bucket: b.add_u64_field("bucket", INDEXED),
        // Fast field only: range queries use it directly, and indexing a term per
        // microsecond would add one unique term per request to the term dictionary.
        time: b.add_date_field(
            "time",
            DateOptions::default()
                .set_fast()
                .set_precision(DateTimePrecision::Microseconds),
        ),
        verb: b.add_text_field("verb", grouped.clone()),
        user: b.add_text_field("user", grouped.clone()),
        group: b.add_text_field("group", grouped.clone()),
        sa: b.add_text_field("sa", grouped.clone()),
        pod: b.add_text_field("pod", grouped.clone()),
        pod_uid: b.add_text_field("poduid", grouped.clone()),
        node: b.add_text_field("node", grouped.clone()),
        impersonated: b.add_text_field("as", grouped.clone()),
        resource: b.add_text_field("resource", grouped.clone()),
        sub: b.add_text_field("sub", grouped.clone()),
        apigroup: b.add_text_field("apigroup", grouped.clone()),
        ns: b.add_text_field("ns", grouped.clone()),
        name: b.add_text_field("name", grouped.clone()),
        code: b.add_u64_field("code", INDEXED | FAST),
        decision: b.add_text_field("decision", grouped.clone()),
        stage: b.add_text_field("stage", grouped.clone()),
        level: b.add_text_field("level", grouped.clone()),
        ip: b.add_text_field("ip", grouped.clone()),
        risk: b.add_text_field("risk", grouped.clone()),
        cap: b.add_text_field("cap", grouped.clone()),
        // Fast for `severity:*` and `!=` (tantivy's ExistsQuery reads the column).
        severity: b.add_u64_field("severity", INDEXED | FAST),
        salvaged: b.add_text_field("salvaged", grouped.clone()),
        verdict: b.add_text_field("verdict", grouped.clone()),
        dryrun: b.add_text_field("dryrun", grouped.clone()),
        ipaddr: b.add_ip_addr_field("ipaddr", FAST),
        // Columnar only, for the same reason as `key`: one value per request. Queries
        // on it read the column (`query::column_scan`), in milliseconds.
        audit_id: b.add_text_field("auditid", TextOptions::default().set_fast("raw")),
        ua: b.add_text_field("ua", text.clone()),
        // userAgent whole, columnar only: `ua` is indexed by words for search, and
        // reports list agents as they were sent.
        agent: b.add_text_field("agent", TextOptions::default().set_fast("raw")),
        uri: b.add_text_field("uri", text.clone()),
        command: b.add_text_field("command", text.clone()),
        image: b.add_text_field("image", grouped.clone()),
        reason: b.add_text_field("reason", text),
        body: b.add_text_field("body", exact.clone()),
        bytes: b.add_u64_field("bytes", FAST),
        // Stored as text, not bytes: tantivy reads a stored bytes value one byte at a
        // time, a string with one copy. Reports read a hundred thousand events.
        event: b.add_text_field("event", STORED),
        stages: b.add_text_field("stages", STORED),
    };
    (b.build(), fields)
}
