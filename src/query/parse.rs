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
//! - Free words and phrases (`kubectl`, `"exec into"`) become [`Expr::Text`]; the caller
//!   matches them against uri, user agent and reason.
//! - `@name` is replaced by the saved query `name`, parsed as if in parentheses.
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
//!   or `*`; quoting makes no difference there. Comparisons on other fields are errors,
//!   since `name:>=5` is more likely a mistake than a name starting with `>=`.

use std::fmt;

/// Saved queries may include each other at most this deep.
const MAX_SAVED_DEPTH: usize = 8;

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
    Pod              "pod"      Exact   "pod whose bound service-account token made the request";
    Node             "node"     Exact   "node of the pod whose token made the request";
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
    SourceIp         "ip"       Exact   "client source IP";
    AuditId          "auditid"  Exact   "audit event ID";
    UserAgent        "ua"       Text    "user agent (matched as words)";
    RequestUri       "uri"      Text    "request URI (matched as words)";
    Reason           "reason"   Text    "authorization reason or response message (matched as words)";
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
    const ALL: [CmpOp; 6] = [
        CmpOp::Ge,
        CmpOp::Le,
        CmpOp::Ne,
        CmpOp::Gt,
        CmpOp::Lt,
        CmpOp::Eq,
    ];

    fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "=",
            CmpOp::Ne => "!=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
        }
    }

    /// Splits a leading operator off `s`.
    fn split(s: &str) -> Option<(CmpOp, &str)> {
        CmpOp::ALL
            .iter()
            .find_map(|&op| s.strip_prefix(op.symbol()).map(|rest| (op, rest)))
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
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    /// The empty query.
    All,
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Not(Box<Expr>),
    Field(Field, Value),
    /// A free word or quoted phrase; the caller matches it against uri, ua and reason.
    Text(String),
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("query syntax error at column {}: {message}{}", .position + 1, in_saved(.saved.as_deref()))]
pub struct SyntaxError {
    /// 0-based char index into `query`.
    pub position: usize,
    pub message: String,
    /// The text `position` refers to: the query, or the saved query named by `saved`.
    pub query: String,
    /// `Some(name)` when the error is inside saved query `@name`.
    pub saved: Option<String>,
}

fn in_saved(saved: Option<&str>) -> String {
    saved.map_or_else(String::new, |name| format!(" (in saved query @{name})"))
}

impl SyntaxError {
    /// Two lines: the query, then a caret under the position.
    pub fn caret(&self) -> String {
        // Saved queries may span lines; show only the line holding the position.
        let before: String = self.query.chars().take(self.position).collect();
        let line_start = before.rfind('\n').map_or(0, |i| i + 1);
        let line = self.query[line_start..].lines().next().unwrap_or("");
        // Copying tabs keeps the caret aligned when the terminal expands them.
        let pad: String = before[line_start..]
            .chars()
            .map(|c| if c == '\t' { '\t' } else { ' ' })
            .collect();
        format!("{line}\n{pad}^")
    }
}

/// Parses a query; `saved` returns the text of a saved query for `@name`.
pub fn parse(query: &str, saved: &dyn Fn(&str) -> Option<String>) -> Result<Expr, SyntaxError> {
    parse_text(query, saved, &mut Vec::new())
}

/// `expanding` holds the saved queries being expanded, outermost first: the last one is
/// the name of `text`, if it is a saved query.
fn parse_text(
    text: &str,
    saved: &dyn Fn(&str) -> Option<String>,
    expanding: &mut Vec<String>,
) -> Result<Expr, SyntaxError> {
    let mut parser = Parser {
        text,
        chars: text.chars().collect(),
        i: 0,
        tokens: Vec::new(),
        saved,
        expanding,
    };
    parser.lex()?;
    parser.tokens.reverse();
    parser.query()
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
    Term(Expr),
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
                    None => Tok::Term(self.term()?),
                },
            };
            self.tokens.push(Token { kind, pos });
        }
    }

    /// `OR`, `AND` or `NOT` standing alone or before `(` (`NOT(a b)`); `ORACLE` is a word.
    fn keyword(&mut self) -> Option<Tok> {
        for (word, tok) in [("OR", Tok::Or), ("AND", Tok::And), ("NOT", Tok::Not)] {
            let end = self.i + word.len();
            let spelled = self.chars[self.i..]
                .iter()
                .copied()
                .take(word.len())
                .eq(word.chars());
            if spelled && (self.at_boundary(end) || self.chars.get(end) == Some(&'(')) {
                self.i = end;
                return Some(tok);
            }
        }
        None
    }

    fn term(&mut self) -> Result<Expr, SyntaxError> {
        let start = self.i;
        match self.chars[start] {
            '"' => Ok(Expr::Text(self.quoted()?)),
            '@' => self.saved_query(),
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
                    let message = format!("unknown field \"{word}\"; fields: {}", names.join(", "));
                    return Err(self.err(start, message));
                };
                self.i += 1;
                Ok(Expr::Field(field, self.value(field, &word)?))
            }
        }
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
    fn value(&mut self, field: Field, typed: &str) -> Result<Value, SyntaxError> {
        let start = self.i;
        if self.at_boundary(start) {
            return Err(self.err(start, format!("expected a value after \"{typed}:\"")));
        }
        let numeric = field.kind() == FieldKind::Numeric;
        let quoted = self.peek_char() == Some('"');
        let text = if quoted {
            self.quoted()?
        } else {
            if !numeric && self.peek_char() == Some('/') {
                if let Some(pattern) = self.regex() {
                    return Ok(Value::Regex(pattern));
                }
            }
            self.bare(false)?
        };
        if numeric {
            return numeric_value(&text).ok_or_else(|| {
                let name = field.name();
                let message =
                    format!("\"{name}\" takes a number, comparison (>=400) or 4xx; got \"{text}\"");
                self.err(start, message)
            });
        }
        if quoted {
            return Ok(Value::Exact(text));
        }
        if text == "*" {
            return Ok(Value::Any);
        }
        if let Some((op, _)) = CmpOp::split(&text) {
            let numeric: Vec<&str> = Field::ALL
                .iter()
                .filter(|f| f.kind() == FieldKind::Numeric)
                .map(|f| f.name())
                .collect();
            let message = format!(
                "comparison \"{}\" only works on numeric fields ({}); quote the value to match it literally",
                op.symbol(),
                numeric.join(", ")
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

    fn saved_query(&mut self) -> Result<Expr, SyntaxError> {
        let at = self.i;
        self.i += 1;
        let name = self.bare(false)?;
        if name.is_empty() {
            return Err(self.err(at, "expected a saved query name after \"@\""));
        }
        if let Some(first) = self.expanding.iter().position(|n| *n == name) {
            let chain: Vec<String> = self.expanding[first..]
                .iter()
                .chain([&name])
                .map(|n| format!("@{n}"))
                .collect();
            let message = format!(
                "saved query @{name} includes itself: {}",
                chain.join(" -> ")
            );
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
        let expr = parse_text(&body, self.saved, self.expanding);
        self.expanding.pop();
        expr
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
            Tok::Term(expr) => Ok(expr),
            Tok::Not => Ok(Expr::Not(Box::new(
                self.unary((pos, "NOT needs a term after it"))?,
            ))),
            Tok::Minus => Ok(Expr::Not(Box::new(self.unary((pos, MINUS_NEEDS_TERM))?))),
            Tok::LParen => {
                if self.eat(&Tok::RParen).is_some() {
                    return Err(self.err(pos, "empty parentheses \"()\""));
                }
                let unclosed = format!("unclosed parenthesis opened at column {}", pos + 1);
                let end = self.chars.len();
                let inner = self.or((end, &unclosed))?;
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
                let name = field.name();
                match value {
                    Value::Exact(s) => {
                        write!(f, "{name}:")?;
                        write_maybe_quoted(f, s, false)
                    }
                    Value::Prefix(p) => write!(f, "{name}:{p}*"),
                    Value::Any => write!(f, "{name}:*"),
                    Value::Regex(p) => write!(f, "{name}:/{}/", p.replace('/', "\\/")),
                    Value::Compare(CmpOp::Eq, n) => write!(f, "{name}:{n}"),
                    Value::Compare(op, n) => write!(f, "{name}:{}{n}", op.symbol()),
                    Value::Range(low, high)
                        if low % 100 == 0 && *low < 1000 && *high == low + 99 =>
                    {
                        write!(f, "{name}:{}xx", low / 100)
                    }
                    // Only `Nxx` ranges have syntax; print others as two comparisons.
                    Value::Range(low, high) => write!(f, "({name}:>={low} {name}:<={high})"),
                }
            }
        }
    }
}

