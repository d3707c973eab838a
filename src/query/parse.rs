//! The query language.
//!
//! ```text
//! query  = [ or ]                          the empty query matches every request
//! or     = and { "OR" and }                OR binds looser than AND
//! and    = unary { [ "AND" ] unary }       adjacent terms are ANDed
//! unary  = "NOT" unary | "-" unary | "(" or ")" | term
//! term   = field ":" value | word | "quoted phrase" | "@" saved-name
//! ```
//!
//! - Keywords are upper-case only: `or` is a free word. `-` must touch what it negates.
//! - Words and values end at unquoted whitespace or `)`, so they may contain `:`, `/`,
//!   `=`, `@`, `*` and `(` (`ip:::1`, `sa:ci/deployer`). A `"` inside a bare word is an
//!   error: quote the whole value. Quoted strings know the escapes `\"` and `\\`; any
//!   other backslash is kept as is.
//! - Field names are case-insensitive (`Verb:get`), values are case-sensitive.
//! - Free words and phrases (`kubectl`, `"exec into"`) become [`Expr::Text`], taken
//!   literally (no prefix or regex); the caller matches them against uri, ua and reason.
//! - `@name` is replaced by the saved query `name`, parsed as if in parentheses. Unknown,
//!   empty and self-including saved queries are errors, as is nesting deeper than 8.
//! - Parentheses, `NOT` and `-` nest at most 64 deep, saved queries included.
//!
//! Values (`name:...`):
//! - `*` alone: the field is present. A trailing `*` on a bare value: prefix (`db-*`).
//!   Quoted values are always exact, so `name:"db-*"` matches a literal star.
//! - Regex: a bare value that starts with `/` and reaches an unescaped `/` that is directly
//!   followed by whitespace, `)` or the end of the query. Inside, `\/` is a literal slash
//!   and `)` does not end the value (`name:/(a|b)/`), but whitespace does (write `\s`).
//!   So `uri:/api/v1/pods` is an exact value while `uri:/api/` is a regex; write
//!   `uri:"/api/"` to match that literally. A value like `/a\/` is an unterminated regex.
//! - Numeric fields (`code`): `403`, `>=400`, `<=`, `>`, `<`, `!=`, `=`, `4xx` (400..=499)
//!   or `*`; quoting makes no difference there. `severity` takes the names `low`,
//!   `medium`, `high` (any case) the same way (`severity:>=medium`), and no number.
//!   Comparisons on other fields are errors, since `name:>=5` is more likely a mistake
//!   than a name starting with `>=`.
//!
//! `Display` for [`Expr`] prints a canonical query that parses back to an equal `Expr`
//! (for anything `parse` returns), e.g. to show what a saved query expanded to.

use std::fmt;

use super::body::BodyPath;
use crate::error::SyntaxError;

/// Saved queries may include each other at most this deep.
const MAX_SAVED_DEPTH: usize = 8;

/// Parentheses, `NOT` and `-` may nest at most this deep, counting the nesting inside
/// saved queries (each of which is one level itself). The parser, `Display`, the tantivy
/// query builder and tantivy all recurse once or twice per level: a query of a few
/// thousand `(` or `-` overflowed the stack, an abort that in the TUI (whose worker
/// thread has 2 MiB) also leaves the terminal in raw mode. 64 is far beyond what anyone
/// writes and well within a debug build's 2 MiB (`deepest_queries_run_on_a_small_stack`).
pub(crate) const MAX_NESTING: usize = 64;

const MINUS_NEEDS_TERM: &str = "\"-\" must be directly followed by a term, e.g. -ns:kube-system";

/// Declares [`Field`] from one table, so a field's name, kind and help stay together.
macro_rules! fields {
    ($($variant:ident $name:literal $kind:ident $help:literal;)*) => {
        /// Every field a query can name.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Field {
            $($variant,)*
        }

        impl Field {
            pub const ALL: &'static [Field] = &[$(Field::$variant,)*];

            /// The canonical name used in queries.
            pub fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)*
                }
            }

            pub fn kind(self) -> FieldKind {
                match self {
                    $(Field::$variant => FieldKind::$kind,)*
                }
            }

            /// One line of help for `--help` and the docs.
            pub fn describe(self) -> &'static str {
                match self {
                    $(Field::$variant => $help,)*
                }
            }
        }
    };
}

fields! {
    Verb             "verb"     Exact   "API verb: get, list, watch, create, update, patch, delete, ...";
    User             "user"     Exact   "authenticated user, e.g. alice@example.com or system:serviceaccount:ns:sa";
    Group            "group"    Exact   "a group of the authenticated user, e.g. system:masters";
    ServiceAccount   "sa"       Exact   "ServiceAccount as ns/name";
    Pod              "pod"      Exact   "pod (ns/name) whose ServiceAccount token made the request";
    Node             "node"     Exact   "node (name) of the token's pod, or the kubelet system:node:NAME";
    ImpersonatedUser "as"       Exact   "user being impersonated (kubectl --as)";
    Resource         "resource" Exact   "resource type, e.g. secrets, pods";
    Subresource      "sub"      Exact   "subresource, e.g. exec, log, status";
    ApiGroup         "apigroup" Exact   "API group, e.g. apps; apigroup:\"\" is the core group";
    Namespace        "ns"       Exact   "namespace of the object";
    Name             "name"     Exact   "name of the object";
    Code             "code"     Numeric "HTTP response code: 403, >=400, <500, !=200, 4xx";
    Decision         "decision" Exact   "authorization decision: allow or forbid";
    Stage            "stage"    Exact   "audit stage: RequestReceived, ResponseStarted, ResponseComplete, Panic";
    Level            "level"    Exact   "audit level: Metadata, Request, RequestResponse";
    SourceIp         "ip"       Exact   "each source IP: an address, a CIDR block (10.0.0.0/8, 2001:db8::/32), or private, loopback, linklocal, public";
    AuditId          "auditid"  Exact   "audit event ID";
    UserAgent        "ua"       Text    "user agent (matched as words)";
    RequestUri       "uri"      Text    "request URI (matched as words)";
    Reason           "reason"   Text    "authorization reason or response message (matched as words)";
    Image            "image"    Exact   "container image in a pod or workload body (containers, init and ephemeral): image:nginx:1.27 image:registry.example.com/*";
    Command          "command"  Text    "exec/attach command, decoded from the URI (matched as words and phrases: command:\"cat /var/run/secrets\")";
    Risk             "risk"     Exact   "container check failed by a pod or workload body: privileged, capabilities, hostNetwork, hostPID, hostIPC, hostPath, allowPrivilegeEscalation, runAsRoot, readOnlyRootFilesystem (as written), the last three with :default when left unset (risk:runAsRoot:default; risk:runAsRoot* for both), unchecked";
    Cap              "cap"      Exact   "each capability a pod or workload body adds (capabilities.add), upper-case without CAP_: cap:SYS_ADMIN cap:NET_ADMIN cap:ALL";
    Severity         "severity" Severity "worst finding of a pod or workload write, as report immutability ranks it: low, medium, high; severity:>=medium severity:!=low severity:*";
    Verdict          "verdict"  Exact   "what a pod or workload write (no subresource) says of its workload's immutability, as report immutability judges it: mutable (fails a check), immutable (a whole body that fails none), unknown (no body, unreadable, or a patch writing nothing risky)";
    Salvaged         "salvaged" Exact   "why a request's line could not be read whole and only its envelope was indexed: too-long, too-deep, invalid-utf8, bad-string, bad-number, invalid-json";
    DryRun           "dryrun"   Exact   "true for a server-side dry run, which changed nothing: a dryRun parameter whose every value is All, read as the apiserver reads the URI";
}

impl Field {
    /// Looks up a canonical name or alias, ignoring case.
    pub fn from_name(s: &str) -> Option<Field> {
        let lower = s.to_ascii_lowercase();
        Some(match lower.as_str() {
            "namespace" => Field::Namespace,
            "subresource" => Field::Subresource,
            "serviceaccount" => Field::ServiceAccount,
            "useragent" => Field::UserAgent,
            "requesturi" => Field::RequestUri,
            "impersonated" => Field::ImpersonatedUser,
            "sourceip" => Field::SourceIp,
            "groups" => Field::Group,
            canonical => return Field::ALL.iter().copied().find(|f| f.name() == canonical),
        })
    }
}

/// How a field's values are matched.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldKind {
    Exact,
    Text,
    Numeric,
    /// A severity name (`low`, `medium`, `high`) or a comparison of one, parsed to
    /// [`Value::Compare`] of its rank (`podspec::Severity::rank`): a number field whose
    /// numbers are written as names.
    Severity,
}

/// What a value is read for: a field, or a body path (whole values, with number
/// comparisons).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Target {
    Field(Field),
    Body,
}

impl Target {
    fn kind(self) -> FieldKind {
        match self {
            Target::Field(field) => field.kind(),
            Target::Body => FieldKind::Exact,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

impl CmpOp {
    /// Two-character operators come first so `>=` is not read as `>` then `=5`.
    const SYMBOLS: [(&str, CmpOp); 6] = [
        (">=", CmpOp::Ge),
        ("<=", CmpOp::Le),
        ("!=", CmpOp::Ne),
        (">", CmpOp::Gt),
        ("<", CmpOp::Lt),
        ("=", CmpOp::Eq),
    ];

    fn symbol(self) -> &'static str {
        // Every operator is in SYMBOLS.
        let (symbol, _) = CmpOp::SYMBOLS.iter().find(|(_, op)| *op == self).unwrap();
        symbol
    }

    /// Splits a leading operator off `s`.
    fn split(s: &str) -> Option<(CmpOp, &str)> {
        let mut ops = CmpOp::SYMBOLS.iter();
        ops.find_map(|&(symbol, op)| s.strip_prefix(symbol).map(|rest| (op, rest)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    /// A bare or quoted value.
    Exact(String),
    /// `name:db-*`, without the star.
    Prefix(String),
    /// `name:*`: the field is present.
    Any,
    /// `name:/db-.*/`: the pattern without slashes, `\/` resolved to `/`.
    Regex(String),
    /// Numeric fields only; a bare number is `Compare(Eq, n)`.
    Compare(CmpOp, u64),
    /// Inclusive, from `code:4xx`.
    Range(u64, u64),
    /// Body fields only: `<`, `<=`, `>`, `>=` and a number as written (`>10`, `<=0.5`).
    Number(CmpOp, String),
    /// `field:!=v`: some value of the field does not match `v` (an exact value, prefix or
    /// regex; never another `!=`). Fields with whole values and body fields.
    SomeNot(Box<Value>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// The empty query.
    All,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Field(Field, Value),
    /// `req.PATH:VALUE`, `resp.PATH:VALUE`, `body.PATH:VALUE` (`query::body`).
    Body(BodyPath, Value),
    /// A free word or quoted phrase; the caller matches it against uri, ua and reason.
    Text(String),
}

/// Parses a query. `@name` is resolved through `saved`, which returns the saved query's
/// text; errors inside it carry that text and `saved: Some(name)`.
pub fn parse(query: &str, saved: &dyn Fn(&str) -> Option<String>) -> Result<Expr, SyntaxError> {
    parse_text(query, saved, &mut Vec::new()).map(|(expr, _)| expr)
}

/// `expanding` holds the saved queries being expanded, outermost first: the last one is
/// the name of `text`, if it is a saved query. Returns the expression and how deep it
/// nests (see [`MAX_NESTING`]).
fn parse_text(
    text: &str,
    saved: &dyn Fn(&str) -> Option<String>,
    expanding: &mut Vec<String>,
) -> Result<(Expr, usize), SyntaxError> {
    let mut parser = Parser {
        text,
        chars: text.chars().collect(),
        i: 0,
        tokens: Vec::new(),
        saved,
        expanding,
        depth: 0,
        deepest: 0,
    };
    parser.lex()?;
    parser.tokens.reverse();
    let expr = parser.query()?;
    Ok((expr, parser.deepest))
}

#[derive(Debug, PartialEq)]
enum Tok {
    LParen,
    RParen,
    Or,
    And,
    Not,
    Minus,
    /// Terms are fully parsed while lexing, since they need only local context.
    /// `nesting` is how deep the term nests itself: above 0 only for a saved query.
    Term {
        expr: Expr,
        nesting: usize,
    },
}

struct Token {
    kind: Tok,
    pos: usize,
}

struct Parser<'p> {
    text: &'p str,
    chars: Vec<char>,
    /// Lexing cursor into `chars`.
    i: usize,
    /// Lexed tokens in reverse, so the next one is popped off the end.
    tokens: Vec<Token>,
    saved: &'p dyn Fn(&str) -> Option<String>,
    expanding: &'p mut Vec<String>,
    /// Parentheses and negations around the token being parsed.
    depth: usize,
    /// The deepest nesting reached so far, terms' own included.
    deepest: usize,
}

impl Parser<'_> {
    fn err(&self, position: usize, message: impl Into<String>) -> SyntaxError {
        SyntaxError {
            position,
            message: message.into(),
            query: self.text.to_string(),
            saved: self.expanding.last().cloned(),
        }
    }

    fn peek_char(&self) -> Option<char> {
        self.chars.get(self.i).copied()
    }

    /// Whitespace, `)` and the end of the text end words and values.
    fn at_boundary(&self, j: usize) -> bool {
        self.chars
            .get(j)
            .is_none_or(|&c| c.is_whitespace() || c == ')')
    }

    fn lex(&mut self) -> Result<(), SyntaxError> {
        loop {
            while self.peek_char().is_some_and(char::is_whitespace) {
                self.i += 1;
            }
            let pos = self.i;
            let Some(c) = self.peek_char() else {
                return Ok(());
            };
            let kind = match c {
                '(' | ')' | '-' => {
                    self.i += 1;
                    match c {
                        '(' => Tok::LParen,
                        ')' => Tok::RParen,
                        _ if self.at_boundary(self.i) => {
                            return Err(self.err(pos, MINUS_NEEDS_TERM));
                        }
                        _ => Tok::Minus,
                    }
                }
                _ => match self.keyword() {
                    Some(keyword) => keyword,
                    None if c == '@' => {
                        let (expr, nesting) = self.saved_query()?;
                        Tok::Term { expr, nesting }
                    }
                    None => Tok::Term {
                        expr: self.term()?,
                        nesting: 0,
                    },
                },
            };
            self.tokens.push(Token { kind, pos });
        }
    }

    /// `OR`, `AND` or `NOT` standing alone or before `(` (`NOT(a b)`); `ORACLE` is a word.
    fn keyword(&mut self) -> Option<Tok> {
        for (word, tok) in [("OR", Tok::Or), ("AND", Tok::And), ("NOT", Tok::Not)] {
            let end = self.i + word.len();
            let spelled = self
                .chars
                .get(self.i..end)
                .is_some_and(|s| s.iter().copied().eq(word.chars()));
            if spelled && (self.at_boundary(end) || self.chars.get(end) == Some(&'(')) {
                self.i = end;
                return Some(tok);
            }
        }
        None
    }

    fn term(&mut self) -> Result<Expr, SyntaxError> {
        let start = self.i;
        // `req.foo` without a colon is a free word, read as any other.
        match super::body::lex_path(&self.chars, start) {
            Some(Ok((path, end))) if self.chars.get(end) == Some(&':') => {
                self.i = end + 1;
                let typed: String = self.chars[start..end].iter().collect();
                return Ok(Expr::Body(path, self.value(Target::Body, &typed)?));
            }
            Some(Err((at, message))) if self.word_has_colon(start) => {
                return Err(self.err(at, message));
            }
            _ => {}
        }
        match self.chars[start] {
            '"' => Ok(Expr::Text(self.quoted()?)),
            _ => {
                let word = self.bare(true)?;
                if self.peek_char() != Some(':') {
                    return Ok(Expr::Text(word));
                }
                if word.is_empty() {
                    return Err(self.err(start, "expected a field name before \":\""));
                }
                let Some(field) = Field::from_name(&word) else {
                    let names: Vec<&str> = Field::ALL.iter().map(|f| f.name()).collect();
                    let message = format!(
                        "unknown field \"{word}\"; fields: {}; bodies: req.PATH, resp.PATH, body.PATH",
                        names.join(", ")
                    );
                    return Err(self.err(start, message));
                };
                self.i += 1;
                Ok(Expr::Field(field, self.value(Target::Field(field), &word)?))
            }
        }
    }

    /// Whether a `:` comes before the next whitespace: a broken body path is an error
    /// only when it is meant as one (`req..x:1`), not in a free word (`req..x`).
    fn word_has_colon(&self, start: usize) -> bool {
        self.chars[start..]
            .iter()
            .take_while(|c| !c.is_whitespace())
            .any(|&c| c == ':')
    }

    /// An unquoted word up to a boundary, or up to `:` when reading a field name.
    fn bare(&mut self, stop_at_colon: bool) -> Result<String, SyntaxError> {
        let start = self.i;
        while !self.at_boundary(self.i) {
            match self.chars[self.i] {
                ':' if stop_at_colon => break,
                '"' => {
                    let message = "unexpected quote inside a word; quote the whole value instead";
                    return Err(self.err(self.i, message));
                }
                _ => self.i += 1,
            }
        }
        Ok(self.chars[start..self.i].iter().collect())
    }

    /// A `"..."` string at the cursor, which must end at a boundary.
    fn quoted(&mut self) -> Result<String, SyntaxError> {
        let open = self.i;
        let mut out = String::new();
        self.i += 1;
        loop {
            match self.peek_char() {
                None => return Err(self.err(open, "unclosed quote")),
                Some('"') => break,
                Some('\\') if matches!(self.chars.get(self.i + 1), Some('"' | '\\')) => {
                    self.i += 1;
                    out.push(self.chars[self.i]);
                }
                Some(c) => out.push(c),
            }
            self.i += 1;
        }
        self.i += 1;
        if !self.at_boundary(self.i) {
            let message = "expected a space or \")\" after the closing quote";
            return Err(self.err(self.i, message));
        }
        Ok(out)
    }

    /// The value after `field:`; `typed` is the field name as written, for messages.
    fn value(&mut self, target: Target, typed: &str) -> Result<Value, SyntaxError> {
        let start = self.i;
        if self.at_boundary(start) {
            return Err(self.err(start, format!("expected a value after \"{typed}:\"")));
        }
        let kind = target.kind();
        let ordered = matches!(kind, FieldKind::Numeric | FieldKind::Severity);
        // `!=` on a field with several values: some value does not match.
        let some_not = !ordered && self.chars.get(start..start + 2) == Some(&['!', '='][..]);
        if some_not {
            if kind == FieldKind::Text {
                let message = format!(
                    "\"!=\" needs whole values; \"{typed}\" is matched by words: write -{typed}:VALUE"
                );
                return Err(self.err(start, message));
            }
            self.i += 2;
            if self.at_boundary(self.i) {
                return Err(self.err(self.i, format!("expected a value after \"{typed}:!=\"")));
            }
        }
        let value = self.plain_value(target, typed)?;
        if !some_not {
            return Ok(value);
        }
        match value {
            Value::Exact(_) | Value::Prefix(_) | Value::Regex(_) => {
                Ok(Value::SomeNot(Box::new(value)))
            }
            _ => Err(self.err(
                start,
                "\"!=\" takes a value, a prefix (x*) or a /regex/, e.g. image:!=registry.example.com/*",
            )),
        }
    }

    /// A value without `!=`.
    fn plain_value(&mut self, target: Target, typed: &str) -> Result<Value, SyntaxError> {
        let start = self.i;
        let ordered = matches!(target.kind(), FieldKind::Numeric | FieldKind::Severity);
        let quoted = self.peek_char() == Some('"');
        let text = if quoted {
            self.quoted()?
        } else {
            // Ordered fields take no regex, so `code:/4../` gets the numeric message.
            if let Some(pattern) = if ordered { None } else { self.regex() } {
                return Ok(Value::Regex(pattern));
            }
            self.bare(false)?
        };
        match target.kind() {
            FieldKind::Numeric => {
                return numeric_value(&text).ok_or_else(|| {
                    let message = format!(
                        "\"{typed}\" takes a number, comparison (>=400) or 4xx; got \"{text}\""
                    );
                    self.err(start, message)
                });
            }
            FieldKind::Severity => {
                return severity_value(&text).ok_or_else(|| {
                    let message = format!(
                        "\"{typed}\" takes low, medium or high, or a comparison of them \
                         (>=medium, !=low), or *; got \"{text}\""
                    );
                    self.err(start, message)
                });
            }
            FieldKind::Exact | FieldKind::Text => {}
        }
        if quoted {
            return Ok(Value::Exact(text));
        }
        if text == "*" {
            return Ok(Value::Any);
        }
        if let Some((op, number)) = CmpOp::split(&text) {
            if target == Target::Body {
                return match op {
                    CmpOp::Eq => Ok(Value::Exact(number.to_string())),
                    CmpOp::Ne => Ok(Value::SomeNot(Box::new(Value::Exact(number.to_string())))),
                    _ if super::body::parse_number(number).is_some() => {
                        Ok(Value::Number(op, number.to_string()))
                    }
                    _ => Err(self.err(
                        start,
                        format!(
                            "\"{}\" takes a number on a body field, e.g. {typed}:>10; quote the value to match it literally",
                            op.symbol()
                        ),
                    )),
                };
            }
            let ordered = Field::ALL
                .iter()
                .filter(|f| matches!(f.kind(), FieldKind::Numeric | FieldKind::Severity));
            let names: Vec<&str> = ordered.map(|f| f.name()).collect();
            let message = format!(
                "comparison \"{}\" only works on ordered fields ({}) and body fields; quote the value to match it literally",
                op.symbol(),
                names.join(", ")
            );
            return Err(self.err(start, message));
        }
        // `regex` found no closing slash, so a final `/` here must be an escaped one.
        if text.len() >= 2 && text.starts_with('/') && text.ends_with('/') {
            return Err(self.err(start, "invalid regex: unterminated \"/\""));
        }
        Ok(match text.strip_suffix('*') {
            Some(prefix) => Value::Prefix(prefix.to_string()),
            None => Value::Exact(text),
        })
    }

    /// A `/pattern/` at the cursor (see the module docs), or None leaving the cursor alone.
    fn regex(&mut self) -> Option<String> {
        if self.peek_char() != Some('/') {
            return None;
        }
        let mut pattern = String::new();
        let mut j = self.i + 1;
        while let Some(&c) = self.chars.get(j) {
            let next = self.chars.get(j + 1).copied();
            match c {
                _ if c.is_whitespace() => return None,
                '\\' if next.is_some_and(|n| !n.is_whitespace()) => {
                    // Only `\/` belongs to our syntax; other escapes are the regex's own.
                    if next != Some('/') {
                        pattern.push('\\');
                    }
                    pattern.extend(next);
                    j += 2;
                    continue;
                }
                '/' if self.at_boundary(j + 1) => {
                    self.i = j + 1;
                    return Some(pattern);
                }
                _ => pattern.push(c),
            }
            j += 1;
        }
        None
    }

    /// `@name` at the cursor: the saved query's expression and how deep it nests.
    fn saved_query(&mut self) -> Result<(Expr, usize), SyntaxError> {
        let at = self.i;
        self.i += 1;
        let name = self.bare(false)?;
        if name.is_empty() {
            return Err(self.err(at, "expected a saved query name after \"@\""));
        }
        if let Some(first) = self.expanding.iter().position(|n| *n == name) {
            let chain = self.expanding[first..].join(" -> @");
            let message = format!("saved query @{name} includes itself: @{chain} -> @{name}");
            return Err(self.err(at, message));
        }
        if self.expanding.len() >= MAX_SAVED_DEPTH {
            let message =
                format!("saved queries are nested more than {MAX_SAVED_DEPTH} deep at @{name}");
            return Err(self.err(at, message));
        }
        let Some(body) = (self.saved)(&name) else {
            return Err(self.err(at, format!("unknown saved query @{name}")));
        };
        // Expr::All inside a larger query would have no written form.
        if body.trim().is_empty() {
            return Err(self.err(at, format!("saved query @{name} is empty")));
        }
        self.expanding.push(name);
        let parsed = parse_text(&body, self.saved, self.expanding);
        self.expanding.pop();
        // As if in parentheses: one level more than the saved query nests inside.
        parsed.map(|(expr, nesting)| (expr, nesting + 1))
    }

    /// Pops the next token if it is `kind`, returning its position.
    fn eat(&mut self, kind: &Tok) -> Option<usize> {
        if self.tokens.last().is_some_and(|t| t.kind == *kind) {
            self.tokens.pop().map(|t| t.pos)
        } else {
            None
        }
    }

    fn query(&mut self) -> Result<Expr, SyntaxError> {
        if self.tokens.is_empty() {
            return Ok(Expr::All);
        }
        // The "missing" error cannot happen: there is a token.
        let expr = self.or((0, "expected a term"))?;
        // `or` stops only at the end or at a `)` without a matching `(`.
        match self.tokens.pop() {
            None => Ok(expr),
            Some(tok) => Err(self.err(tok.pos, "unexpected \")\"")),
        }
    }

    /// `missing` is the error (position, message) when the input ends before the first term.
    fn or(&mut self, missing: (usize, &str)) -> Result<Expr, SyntaxError> {
        let mut alternatives = vec![self.and(missing)?];
        while let Some(pos) = self.eat(&Tok::Or) {
            alternatives.push(self.and((pos, "OR needs a term on both sides"))?);
        }
        Ok(join(alternatives, true))
    }

    fn and(&mut self, missing: (usize, &str)) -> Result<Expr, SyntaxError> {
        let mut terms = vec![self.unary(missing)?];
        loop {
            let missing = if let Some(pos) = self.eat(&Tok::And) {
                (pos, "AND needs a term on both sides")
            } else if matches!(
                self.tokens.last().map(|t| &t.kind),
                None | Some(Tok::Or | Tok::RParen)
            ) {
                break;
            } else {
                // Implicit AND: a term follows, so `missing` goes unused.
                missing
            };
            terms.push(self.unary(missing)?);
        }
        Ok(join(terms, false))
    }

    fn unary(&mut self, missing: (usize, &str)) -> Result<Expr, SyntaxError> {
        let Some(Token { kind, pos }) = self.tokens.pop() else {
            return Err(self.err(missing.0, missing.1));
        };
        match kind {
            Tok::Term { expr, nesting } => {
                self.reach(pos, nesting)?;
                Ok(expr)
            }
            Tok::Not => self.negation(pos, "NOT needs a term after it"),
            Tok::Minus => self.negation(pos, MINUS_NEEDS_TERM),
            Tok::LParen => {
                if self.eat(&Tok::RParen).is_some() {
                    return Err(self.err(pos, "empty parentheses \"()\""));
                }
                self.reach(pos, 1)?;
                self.depth += 1;
                let unclosed = format!("unclosed parenthesis opened at column {}", pos + 1);
                let end = self.chars.len();
                let inner = self.or((end, &unclosed))?;
                self.depth -= 1;
                match self.eat(&Tok::RParen) {
                    Some(_) => Ok(inner),
                    None => Err(self.err(end, unclosed)),
                }
            }
            Tok::Or => Err(self.err(pos, "OR needs a term on both sides")),
            Tok::And => Err(self.err(pos, "AND needs a term on both sides")),
            Tok::RParen => Err(self.err(pos, "unexpected \")\"")),
        }
    }

    /// `NOT x` or `-x` for the operator at `pos`; `missing` is the error without an x.
    fn negation(&mut self, pos: usize, missing: &str) -> Result<Expr, SyntaxError> {
        self.reach(pos, 1)?;
        self.depth += 1;
        let inner = self.unary((pos, missing))?;
        self.depth -= 1;
        Ok(Expr::Not(Box::new(inner)))
    }

    /// Notes that the token at `pos` nests `levels` deeper than the current depth, and
    /// refuses it past [`MAX_NESTING`] before the parser recurses into it.
    fn reach(&mut self, pos: usize, levels: usize) -> Result<(), SyntaxError> {
        let depth = self.depth + levels;
        if depth > MAX_NESTING {
            let message = format!(
                "parentheses, NOT and \"-\" nest more than {MAX_NESTING} deep here (saved queries included)"
            );
            return Err(self.err(pos, message));
        }
        self.deepest = self.deepest.max(depth);
        Ok(())
    }
}

/// Builds an Or (or an And), flattening children of the same kind and returning a
/// single child as is.
fn join(items: Vec<Expr>, or: bool) -> Expr {
    let mut flat = Vec::new();
    for item in items {
        match item {
            Expr::Or(children) if or => flat.extend(children),
            Expr::And(children) if !or => flat.extend(children),
            item => flat.push(item),
        }
    }
    match (flat.len(), or) {
        (1, _) => flat.remove(0),
        (_, true) => Expr::Or(flat),
        (_, false) => Expr::And(flat),
    }
}

/// A value of a numeric field, None when it is not one.
fn numeric_value(text: &str) -> Option<Value> {
    if text == "*" {
        return Some(Value::Any);
    }
    if let Some((op, number)) = CmpOp::split(text) {
        return number.parse().ok().map(|n| Value::Compare(op, n));
    }
    if let [d @ b'0'..=b'9', b'x' | b'X', b'x' | b'X'] = text.as_bytes() {
        let low = u64::from(d - b'0') * 100;
        return Some(Value::Range(low, low + 99));
    }
    text.parse().ok().map(|n| Value::Compare(CmpOp::Eq, n))
}

/// A value of a severity field, None when it is not one: a name (any case), a
/// comparison of a name, or `*`. Numbers are refused: `severity:2` would say nothing
/// about which severity it means.
fn severity_value(text: &str) -> Option<Value> {
    use crate::podspec::Severity;
    if text == "*" {
        return Some(Value::Any);
    }
    let (op, name) = CmpOp::split(text).unwrap_or((CmpOp::Eq, text));
    let severity = Severity::ALL
        .into_iter()
        .find(|s| s.as_str().eq_ignore_ascii_case(name))?;
    Some(Value::Compare(op, severity.rank()))
}

/// Whether `s` must be quoted to read back as the same exact value (or free word).
fn needs_quotes(s: &str, free_word: bool) -> bool {
    let special = s.is_empty()
        || s.starts_with(['<', '>', '='])
        || s.starts_with("!=")
        || (s.len() >= 2 && s.starts_with('/') && s.ends_with('/'))
        || s.ends_with('*')
        || s.contains(|c: char| c.is_whitespace() || matches!(c, '"' | '(' | ')'));
    let free_special =
        s.starts_with(['-', '@']) || s.contains(':') || ["OR", "AND", "NOT"].contains(&s);
    special || (free_word && free_special)
}

fn write_maybe_quoted(f: &mut fmt::Formatter<'_>, s: &str, free_word: bool) -> fmt::Result {
    if !needs_quotes(s, free_word) {
        return f.write_str(s);
    }
    write!(f, "\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}

/// Prints a canonical query that parses back to the same Expr, for every Expr that
/// `parse` can return.
impl fmt::Display for Expr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Expr::All => Ok(()),
            Expr::And(items) | Expr::Or(items) => {
                let and = matches!(self, Expr::And(_));
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_str(if and { " " } else { " OR " })?;
                    }
                    if and && matches!(item, Expr::Or(_)) {
                        write!(f, "({item})")?;
                    } else {
                        write!(f, "{item}")?;
                    }
                }
                Ok(())
            }
            Expr::Not(inner) if matches!(**inner, Expr::And(_) | Expr::Or(_)) => {
                write!(f, "-({inner})")
            }
            Expr::Not(inner) => write!(f, "-{inner}"),
            Expr::Text(text) => write_maybe_quoted(f, text, true),
            Expr::Field(field, value) => {
                if field.kind() == FieldKind::Severity
                    && let Value::Compare(op, rank) = value
                    && let Some(severity) = crate::podspec::Severity::from_rank(*rank)
                {
                    let op = if *op == CmpOp::Eq { "" } else { op.symbol() };
                    return write!(f, "{}:{op}{}", field.name(), severity.as_str());
                }
                write_value(f, field.name(), value)
            }
            Expr::Body(path, value) => write_value(f, &path.to_string(), value),
        }
    }
}

fn write_value(f: &mut fmt::Formatter<'_>, name: &str, value: &Value) -> fmt::Result {
    match value {
        // Only `Nxx` ranges have syntax; print others as two comparisons.
        Value::Range(low, high) if !(low % 100 == 0 && *low < 1000 && *high == low + 99) => {
            write!(f, "({name}:>={low} {name}:<={high})")
        }
        _ => {
            write!(f, "{name}:")?;
            write_after_colon(f, value)
        }
    }
}

/// A value as written after `field:`.
fn write_after_colon(f: &mut fmt::Formatter<'_>, value: &Value) -> fmt::Result {
    match value {
        Value::Exact(s) => write_maybe_quoted(f, s, false),
        Value::Prefix(p) => write!(f, "{p}*"),
        Value::Any => f.write_str("*"),
        Value::Regex(p) => write!(f, "/{}/", p.replace('/', "\\/")),
        Value::Compare(CmpOp::Eq, n) => write!(f, "{n}"),
        Value::Compare(op, n) => write!(f, "{}{n}", op.symbol()),
        Value::Range(low, _) => write!(f, "{}xx", low / 100),
        Value::Number(op, n) => write!(f, "{}{n}", op.symbol()),
        Value::SomeNot(inner) => {
            f.write_str("!=")?;
            write_after_colon(f, inner)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use Field::*;

    fn no_saved(_: &str) -> Option<String> {
        None
    }

    fn p(query: &str) -> Expr {
        parse(query, &no_saved).unwrap_or_else(|e| panic!("{query}: {e}"))
    }

    fn err(query: &str) -> SyntaxError {
        parse(query, &no_saved).expect_err(query)
    }

    fn exact(field: Field, value: &str) -> Expr {
        Expr::Field(field, Value::Exact(value.to_string()))
    }

    fn text(s: &str) -> Expr {
        Expr::Text(s.to_string())
    }

    fn not(e: Expr) -> Expr {
        Expr::Not(Box::new(e))
    }

    #[test]
    fn terms_and_values() {
        let s = |v: &str| v.to_string();
        let cases = [
            ("", Expr::All),
            (" \t\n ", Expr::All),
            ("kubectl", text("kubectl")),
            ("\"exec into\"", text("exec into")),
            ("sa:ci/deployer", exact(ServiceAccount, "ci/deployer")),
            ("ip:::1", exact(SourceIp, "::1")),
            ("name:a=b", exact(Name, "a=b")),
            ("VERB:GET", exact(Verb, "GET")),
            ("Namespace:x", exact(Namespace, "x")),
            (
                "user:\"system:serviceaccount:ns:sa\"",
                exact(User, "system:serviceaccount:ns:sa"),
            ),
            (
                r#"reason:"say \"hi\" \\o/ \d""#,
                exact(Reason, r#"say "hi" \o/ \d"#),
            ),
            ("name:\"db-*\"", exact(Name, "db-*")),
            ("name:db-*", Expr::Field(Name, Value::Prefix(s("db-")))),
            ("name:*", Expr::Field(Name, Value::Any)),
            ("uri:/api/v1/pods", exact(RequestUri, "/api/v1/pods")),
            ("(uri:/api/v1/pods)", exact(RequestUri, "/api/v1/pods")),
            ("uri:/", exact(RequestUri, "/")),
            ("uri:/api/", Expr::Field(RequestUri, Value::Regex(s("api")))),
            ("name:/db-.*/", Expr::Field(Name, Value::Regex(s("db-.*")))),
            (
                r"uri:/a\/b\d/",
                Expr::Field(RequestUri, Value::Regex(s(r"a/b\d"))),
            ),
            (
                "(name:/(a|b)/)",
                Expr::Field(Name, Value::Regex(s("(a|b)"))),
            ),
            (
                "verb:get or ORACLE",
                Expr::And(vec![exact(Verb, "get"), text("or"), text("ORACLE")]),
            ),
        ];
        for (query, want) in cases {
            assert_eq!(p(query), want, "{query}");
        }
        for &field in Field::ALL {
            assert_eq!(Field::from_name(&field.name().to_uppercase()), Some(field));
        }
        assert_eq!(Field::from_name("Groups"), Some(Group));
        assert_eq!(Field::from_name("nmae"), None);
        assert_eq!(
            (Code.kind(), Reason.kind(), Verb.kind()),
            (FieldKind::Numeric, FieldKind::Text, FieldKind::Exact)
        );
    }

    #[test]
    fn numeric_values() {
        let cases = [
            ("code:403", Value::Compare(CmpOp::Eq, 403)),
            ("code:=403", Value::Compare(CmpOp::Eq, 403)),
            ("code:\"404\"", Value::Compare(CmpOp::Eq, 404)),
            ("code:>=400", Value::Compare(CmpOp::Ge, 400)),
            ("code:<500", Value::Compare(CmpOp::Lt, 500)),
            ("code:>399", Value::Compare(CmpOp::Gt, 399)),
            ("code:<=499", Value::Compare(CmpOp::Le, 499)),
            ("code:!=200", Value::Compare(CmpOp::Ne, 200)),
            ("code:4xx", Value::Range(400, 499)),
            ("CODE:5XX", Value::Range(500, 599)),
            ("code:*", Value::Any),
        ];
        for (query, want) in cases {
            assert_eq!(p(query), Expr::Field(Code, want), "{query}");
        }
        for bad in ["code:>=", "code:4*", "code:/4../", "code:44xx", "code:-1"] {
            assert!(
                err(bad).message.starts_with("\"code\" takes a number"),
                "{bad}"
            );
        }
        let e = err("name:>=5");
        assert!(
            e.message.starts_with(
                "comparison \">=\" only works on ordered fields (code, severity) and body fields;"
            ),
            "{}",
            e.message
        );
    }

    #[test]
    fn body_paths_and_their_values() {
        use crate::query::body::{BodyPath, Root, Segment};
        let key = |k: &str| Segment::Key(k.to_string());
        let body =
            |root, segments: Vec<Segment>, value| Expr::Body(BodyPath { root, segments }, value);
        let s = |v: &str| v.to_string();
        let cases = [
            (
                "req.spec.containers.image:nginx*",
                body(
                    Root::Request,
                    vec![key("spec"), key("containers"), key("image")],
                    Value::Prefix(s("nginx")),
                ),
            ),
            (
                r#"req.metadata.labels."app.kubernetes.io/name":web"#,
                body(
                    Root::Request,
                    vec![
                        key("metadata"),
                        key("labels"),
                        key("app.kubernetes.io/name"),
                    ],
                    Value::Exact(s("web")),
                ),
            ),
            (
                r#"RESP.data.*:/AKIA[0-9A-Z]{16}/"#,
                body(
                    Root::Response,
                    vec![key("data"), Segment::Any],
                    Value::Regex(s("AKIA[0-9A-Z]{16}")),
                ),
            ),
            (
                r#"body.rules."*":"*""#,
                body(
                    Root::Either,
                    vec![key("rules"), key("*")],
                    Value::Exact(s("*")),
                ),
            ),
            (
                "req.spec.replicas:>10",
                body(
                    Root::Request,
                    vec![key("spec"), key("replicas")],
                    Value::Number(CmpOp::Gt, s("10")),
                ),
            ),
            (
                "req.a:<=-1.5e3",
                body(
                    Root::Request,
                    vec![key("a")],
                    Value::Number(CmpOp::Le, s("-1.5e3")),
                ),
            ),
            (
                "req.a:=3",
                body(Root::Request, vec![key("a")], Value::Exact(s("3"))),
            ),
            (
                "req.a:!=3",
                body(
                    Root::Request,
                    vec![key("a")],
                    Value::SomeNot(Box::new(Value::Exact(s("3")))),
                ),
            ),
            ("req.a:*", body(Root::Request, vec![key("a")], Value::Any)),
            (
                r"req.data./(?i)pass\/w.d/.x:1",
                body(
                    Root::Request,
                    vec![key("data"), Segment::Pattern(s("(?i)pass/w.d")), key("x")],
                    Value::Exact(s("1")),
                ),
            ),
            (
                "image:!=registry.example.com/*",
                Expr::Field(
                    Image,
                    Value::SomeNot(Box::new(Value::Prefix(s("registry.example.com/")))),
                ),
            ),
            (
                r#"image:!="a b""#,
                Expr::Field(Image, Value::SomeNot(Box::new(Value::Exact(s("a b"))))),
            ),
            (
                "group:!=/system:.*/",
                Expr::Field(
                    Group,
                    Value::SomeNot(Box::new(Value::Regex(s("system:.*")))),
                ),
            ),
            // Not body paths: free words.
            ("req.spec", text("req.spec")),
            ("req..x", text("req..x")),
        ];
        for (query, want) in cases {
            let got = p(query);
            assert_eq!(got, want, "{query}");
            assert_eq!(p(&got.to_string()), got, "{query} printed as {got}");
        }
        for (bad, message) in [
            ("req..x:1", "expected a key"),
            ("req.a.:1", "expected a key"),
            (r#"req."a:1"#, "unclosed quote"),
            ("req.a:>x", "takes a number on a body field"),
            ("req./a:1", "unterminated /regex/ key"),
            ("req.a:!=*", "\"!=\" takes a value"),
            ("req.a:!=!=1", "\"!=\" takes a value"),
            ("ua:!=curl", "matched by words"),
            ("image:!=", "expected a value after"),
            ("request.spec:x", "req.PATH, resp.PATH, body.PATH"),
        ] {
            let e = err(bad);
            assert!(e.message.contains(message), "{bad}: {}", e.message);
        }
    }

    #[test]
    fn severity_values_are_names() {
        let cases = [
            ("severity:high", Value::Compare(CmpOp::Eq, 3)),
            ("severity:=low", Value::Compare(CmpOp::Eq, 1)),
            ("Severity:HIGH", Value::Compare(CmpOp::Eq, 3)),
            ("severity:\"medium\"", Value::Compare(CmpOp::Eq, 2)),
            ("severity:>=medium", Value::Compare(CmpOp::Ge, 2)),
            ("severity:>low", Value::Compare(CmpOp::Gt, 1)),
            ("severity:<high", Value::Compare(CmpOp::Lt, 3)),
            ("severity:<=Medium", Value::Compare(CmpOp::Le, 2)),
            ("severity:!=low", Value::Compare(CmpOp::Ne, 1)),
            ("severity:*", Value::Any),
        ];
        for (query, want) in cases {
            assert_eq!(p(query), Expr::Field(Severity, want), "{query}");
        }
        // Printed back by name, lower-case.
        assert_eq!(p("severity:>=Medium").to_string(), "severity:>=medium");
        assert_eq!(p("severity:\"HIGH\"").to_string(), "severity:high");
        for bad in [
            "severity:2",
            "severity:>=2",
            "severity:critical",
            "severity:hi*",
            "severity:/h.*/",
            "severity:4xx",
            "severity:>=",
            "severity:\" high\"",
        ] {
            let e = err(bad);
            assert_eq!(e.position, 9, "{bad}");
            assert!(
                e.message.starts_with(
                    "\"severity\" takes low, medium or high, or a comparison of them \
                     (>=medium, !=low), or *; got "
                ),
                "{bad}: {}",
                e.message
            );
        }
    }

    #[test]
    fn precedence_and_negation() {
        let [a, b, c] = ["a", "b", "c"].map(text);
        let and = |v: &[&Expr]| Expr::And(v.iter().map(|&e| e.clone()).collect());
        let or = |v: &[&Expr]| Expr::Or(v.iter().map(|&e| e.clone()).collect());
        assert_eq!(p("a OR b c"), or(&[&a, &and(&[&b, &c])]));
        assert_eq!(p("a b OR c"), or(&[&and(&[&a, &b]), &c]));
        assert_eq!(p("a AND b OR c"), p("a b OR c"));
        assert_eq!(p("(a OR b) c"), and(&[&or(&[&a, &b]), &c]));
        assert_eq!(p("a (b c)"), and(&[&a, &b, &c]));
        assert_eq!(p("a OR (b OR c)"), or(&[&a, &b, &c]));
        assert_eq!(p("((a))"), a);
        assert_eq!(p("NOT decision:forbid"), not(exact(Decision, "forbid")));
        assert_eq!(p("-ns:kube-system"), not(exact(Namespace, "kube-system")));
        assert_eq!(p("-(a OR b)"), not(or(&[&a, &b])));
        assert_eq!(p("NOT(a) -\"b\""), and(&[&not(a.clone()), &not(b.clone())]));
        assert_eq!(
            p("--a db-password"),
            and(&[&not(not(a)), &text("db-password")])
        );
        let q = "user:\"system:serviceaccount:ns:sa\" (verb:get OR verb:list) -ns:kube-system";
        let verbs = or(&[&exact(Verb, "get"), &exact(Verb, "list")]);
        let sa = exact(User, "system:serviceaccount:ns:sa");
        assert_eq!(
            p(q),
            and(&[&sa, &verbs, &not(exact(Namespace, "kube-system"))])
        );
    }

    #[test]
    fn errors() {
        let e = err("verb:get nmae:x");
        assert_eq!(e.position, 9);
        assert!(
            e.message
                .starts_with("unknown field \"nmae\"; fields: verb, user, group, sa, pod,")
        );
        assert_eq!(
            e.to_string(),
            format!("query syntax error at column 10: {}", e.message)
        );
        let cases = [
            ("name:", 5, "expected a value after \"name:\""),
            ("Name: x", 5, "expected a value after \"Name:\""),
            ("(name:)", 6, "expected a value after \"name:\""),
            ("verb:\"get", 5, "unclosed quote"),
            ("x \"exec into", 2, "unclosed quote"),
            (
                "verb:get (a OR b",
                16,
                "unclosed parenthesis opened at column 10",
            ),
            ("a)", 1, "unexpected \")\""),
            ("a () b", 2, "empty parentheses \"()\""),
            ("OR a", 0, "OR needs a term on both sides"),
            ("a OR", 2, "OR needs a term on both sides"),
            ("a OR OR b", 5, "OR needs a term on both sides"),
            ("a AND", 2, "AND needs a term on both sides"),
            ("a NOT", 2, "NOT needs a term after it"),
            ("a - b", 2, MINUS_NEEDS_TERM),
            ("a -", 2, MINUS_NEEDS_TERM),
            (
                "code:abc",
                5,
                "\"code\" takes a number, comparison (>=400) or 4xx; got \"abc\"",
            ),
            ("name:/a\\/", 5, "invalid regex: unterminated \"/\""),
            (":x", 0, "expected a field name before \":\""),
            (
                "\"a\"b",
                3,
                "expected a space or \")\" after the closing quote",
            ),
            (
                "name:a\"b\"",
                6,
                "unexpected quote inside a word; quote the whole value instead",
            ),
            ("@", 0, "expected a saved query name after \"@\""),
        ];
        for (query, position, message) in cases {
            let e = err(query);
            assert_eq!(
                (e.position, e.message.as_str()),
                (position, message),
                "{query}"
            );
            assert_eq!((e.query.as_str(), e.saved), (query, None));
        }
        assert_eq!(err("a  nmae:x").caret(), "a  nmae:x\n   ^");
        assert_eq!(err("\tnmae:x").caret(), "\tnmae:x\n\t^");
        // Escapes are shown as text, and the caret stays under the error.
        assert_eq!(
            err("\u{1b}[2J nmae:x").caret(),
            "\\x1b[2J nmae:x\n        ^"
        );
        let e = SyntaxError {
            position: 6,
            message: String::new(),
            query: "a b\ncd ef\ng".into(),
            saved: None,
        };
        assert_eq!(e.caret(), "cd ef\n  ^");
    }

    fn library(name: &str) -> Option<String> {
        if let Some(n) = name.strip_prefix("level") {
            let n: usize = n.parse().ok()?;
            return Some(if n == 0 {
                "leaf".into()
            } else {
                format!("@level{}", n - 1)
            });
        }
        let text = match name {
            "exec-into-pods" => "resource:pods sub:exec",
            "secrets" => "resource:secrets (verb:get OR verb:list)",
            "uses-secrets" => "@secrets -user:admin",
            "outer" => "x @broken",
            "broken" => "verb:get (",
            "a" => "verb:get @b",
            "b" => "(@a)",
            "self" => "x @self",
            "empty" => "  ",
            _ => return None,
        };
        Some(text.to_string())
    }

    #[test]
    fn saved_queries() {
        let lib = |q: &str| parse(q, &library);
        let exec = Expr::And(vec![exact(Resource, "pods"), exact(Subresource, "exec")]);
        assert_eq!(lib("@exec-into-pods"), Ok(exec.clone()));
        assert_eq!(lib("-@exec-into-pods"), Ok(not(exec)));
        let shown = |q: &str| lib(q).unwrap().to_string();
        assert_eq!(
            shown("@exec-into-pods OR code:403"),
            "resource:pods sub:exec OR code:403"
        );
        let expanded = "resource:secrets (verb:get OR verb:list) -user:admin ns:x";
        assert_eq!(shown("@uses-secrets ns:x"), expanded);
        assert_eq!(lib("@level7"), Ok(text("leaf")));

        let e = lib("verb:get @nope").unwrap_err();
        assert_eq!(
            (e.position, e.message.as_str(), e.saved),
            (9, "unknown saved query @nope", None)
        );
        let e = lib("ok @outer").unwrap_err();
        assert_eq!(
            (e.position, e.query.as_str(), e.saved.as_deref()),
            (10, "verb:get (", Some("broken"))
        );
        assert!(e.to_string().ends_with("(in saved query @broken)"), "{e}");
        let e = lib("@a").unwrap_err();
        assert_eq!(
            (e.position, e.query.as_str(), e.saved.as_deref()),
            (1, "(@a)", Some("b"))
        );
        assert_eq!(e.message, "saved query @a includes itself: @a -> @b -> @a");
        let message = |q: &str| lib(q).unwrap_err().message;
        assert_eq!(
            message("@self"),
            "saved query @self includes itself: @self -> @self"
        );
        assert!(message("@level8").starts_with("saved queries are nested more than 8 deep"));
        assert_eq!(message("x @empty"), "saved query @empty is empty");
    }

    #[test]
    fn nesting_is_limited() {
        // Found with the property tests (parse_props.rs): a query of a few thousand `(`
        // or `-` overflowed the stack (an abort, not an error) in the parser on the CLI's
        // main thread, and one of a few hundred did in the query builder on the TUI
        // worker's 2 MiB stack (debug builds).
        let deep =
            |open: &str, n: usize, close: &str| format!("{}x{}", open.repeat(n), close.repeat(n));
        let at = |e: SyntaxError| (e.position, e.message.starts_with("parentheses, NOT and"));
        assert_eq!(p(&deep("(", MAX_NESTING, ")")), text("x"));
        assert_eq!(
            at(err(&deep("(", MAX_NESTING + 1, ")"))),
            (MAX_NESTING, true)
        );
        assert!(matches!(p(&deep("-", MAX_NESTING, "")), Expr::Not(_)));
        assert_eq!(
            at(err(&deep("-", MAX_NESTING + 1, ""))),
            (MAX_NESTING, true)
        );
        assert_eq!(
            at(err(&deep("NOT ", MAX_NESTING + 1, ""))),
            (4 * MAX_NESTING, true)
        );
        // `-(` is two levels; the OR and the AND inside the group add none.
        assert!(parse(&deep("-(a OR b ", MAX_NESTING / 2, ")"), &no_saved).is_ok());
        assert!(parse(&deep("-(a OR b ", MAX_NESTING / 2 + 1, ")"), &no_saved).is_err());
        // Far deeper, like the queries that crashed: an error, not an abort.
        for open in ["(", "-", "NOT ", "-(", "(a OR "] {
            assert!(at(err(&deep(open, 100_000, ""))).1, "{open}");
        }

        // A saved query is one level, plus its own nesting, wherever it is used.
        let saved = |name: &str| (name == "s").then(|| deep("(a OR b ", 30, ")"));
        let within = format!("{}@s", "-".repeat(MAX_NESTING - 31));
        assert!(parse(&within, &saved).is_ok());
        let e = parse(&format!("-{within}"), &saved).unwrap_err();
        assert_eq!(at(e), (MAX_NESTING - 30, true));
    }

    #[test]
    fn display_round_trips() {
        let queries = [
            "",
            "\"exec into\" kubectl",
            "user:\"system:serviceaccount:ns:sa\" (verb:get OR verb:list) -ns:kube-system",
            "NOT decision:forbid OR -(a b) c",
            "code:>=400 code:<500 code:>399 code:<=499 code:!=200 code:=3 code:4xx code:*",
            "severity:high severity:>=medium severity:>low severity:<=medium severity:!=low severity:*",
            "risk:runAsRoot:default risk:runAsRoot* cap:SYS_ADMIN cap:NET_*",
            "name:db-* name:* name:\"db-*\" name:\"*\" name:** name:\"\" apigroup:\"\"",
            r"name:/db-.*/ uri:/a\/b/ name:/(a|b)/ name:/x\\\// reason:/\s/ name://",
            "uri:/api/v1/pods uri:\"/api/\" name:\"/a\\\\/\" name:\">=5\" name:\"!=x\" name:!x",
            r#"reason:"say \"hi\" \\o/" "OR" "NOT" "-x" "@x" "a:b" "(" ")" or --x"#,
            "ip:::1 sa:ci/deployer name:a=b ua:kubectl/v1.30 name:a(b name:-x name:@y",
            "a OR b OR (c d) OR -(e OR f) g",
            "((a OR b) (c OR d)) OR e",
        ];
        for query in queries {
            let expr = p(query);
            let shown = expr.to_string();
            assert_eq!(p(&shown), expr, "{query} -> {shown}");
        }
        assert_eq!(p("verb:GET Or x").to_string(), "verb:GET Or x");
        let odd_range = Expr::Field(Code, Value::Range(401, 403));
        assert_eq!(odd_range.to_string(), "(code:>=401 code:<=403)");
    }
}
