//! Reading a Policy file as kube-apiserver reads `--audit-policy-file`
//! (`LoadPolicyFromBytes`): YAML (JSON is YAML) turned into JSON values, then decoded
//! strictly; where only strictness fails (an unknown or repeated field) the apiserver
//! decodes leniently and logs a warning, so those are warnings here, each with its line,
//! and the last of repeated fields counts. Then `apiVersion` must be `audit.k8s.io/v1`,
//! the Policy must validate (`ValidatePolicy`: levels, stages, non-resource URLs, groups,
//! `resourceNames` without `resources`) and hold at least one rule.
//!
//! Plain YAML scalars are typed as the apiserver's YAML reader types them (YAML 1.1):
//! `yes`, `on`, `y` are booleans, `123` a number, `~` null, so `users: [yes]` fails to
//! decode as it does there. Every problem is told with its line.

use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser};
use yaml_rust2::scanner::{Marker, TScalarStyle};

use super::{GroupResources, Level, Policy, Rule, STAGES};

/// A value of the file, with the line it starts on.
#[derive(Debug, Clone)]
struct Node {
    line: usize,
    value: Value,
}

#[derive(Debug, Clone)]
enum Value {
    Null,
    Bool(bool),
    Number(String),
    Str(String),
    List(Vec<Node>),
    /// Keys in file order, repeats kept (they are warnings).
    Map(Vec<(String, Node)>),
}

impl Value {
    fn kind(&self) -> String {
        match self {
            Value::Null => "null".into(),
            Value::Bool(b) => format!("the boolean {b} (quote it to make it a string)"),
            Value::Number(n) => format!("the number {n} (quote it to make it a string)"),
            Value::Str(_) => "a string".into(),
            Value::List(_) => "a list".into(),
            Value::Map(_) => "a mapping".into(),
        }
    }
}

/// What loading found: errors stop the Policy, warnings do not.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Problems {
    pub errors: Vec<String>,
    pub warnings: Vec<String>,
}

/// The Policy in `text`, with the warnings the apiserver would log; or every error.
pub fn load(text: &str) -> Result<(Policy, Vec<String>), Problems> {
    let mut problems = Problems::default();
    let root = match parse(text) {
        Ok(Some(root)) => root,
        Ok(None) => {
            problems
                .errors
                .push("line 1: the file holds no Policy".into());
            return Err(problems);
        }
        Err(e) => {
            problems.errors.push(e);
            return Err(problems);
        }
    };
    let policy = Decoder {
        problems: &mut problems,
    }
    .policy(&root);
    match policy {
        Some(policy) if problems.errors.is_empty() => Ok((policy, problems.warnings)),
        _ => Err(problems),
    }
}

/// The first YAML document of `text` as a tree of nodes.
fn parse(text: &str) -> Result<Option<Node>, String> {
    let mut builder = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut builder, false)
        .map_err(|e| format!("line {}: not YAML or JSON: {}", e.marker().line(), e.info()))?;
    if let Some(error) = builder.error {
        return Err(error);
    }
    Ok(builder.root)
}

/// Values a Policy file may hold, aliases expanded: a few thousand in a real one; past
/// this the file is refused (nested aliases can make a small file expand without end).
const MAX_VALUES: usize = 1_000_000;

fn count(node: &Node) -> usize {
    1 + match &node.value {
        Value::List(items) => items.iter().map(count).sum(),
        Value::Map(entries) => entries.iter().map(|(_, n)| count(n)).sum(),
        _ => 0,
    }
}

/// Builds nodes from the parser's events.
#[derive(Default)]
struct Builder {
    /// Values built so far, aliases expanded.
    values: usize,
    /// Open lists and mappings; a mapping's pending key.
    stack: Vec<(Node, Option<String>)>,
    anchors: std::collections::HashMap<usize, Node>,
    /// Anchor ids of the open containers, to record them when they close.
    open_anchors: Vec<usize>,
    root: Option<Node>,
    error: Option<String>,
}

impl Builder {
    fn push_value(&mut self, node: Node) {
        match self.stack.last_mut() {
            None => {
                if self.root.is_none() {
                    self.root = Some(node);
                }
            }
            Some((parent, key)) => match &mut parent.value {
                Value::List(items) => items.push(node),
                Value::Map(entries) => match key.take() {
                    None => match node.value {
                        Value::Str(k) | Value::Number(k) => *key = Some(k),
                        Value::Bool(b) => *key = Some(b.to_string()),
                        Value::Null => *key = Some(String::new()),
                        _ => {
                            self.error.get_or_insert(format!(
                                "line {}: a mapping key must be a scalar",
                                node.line
                            ));
                        }
                    },
                    Some(k) => entries.push((k, node)),
                },
                _ => {}
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, event: Event, mark: Marker) {
        let line = mark.line();
        match event {
            // Once refused, the rest is not built.
            _ if self.error.is_some() => {}
            Event::Scalar(text, style, anchor, tag) => {
                self.values += 1;
                // `!!str 2024` is the string "2024".
                let string = tag.is_some_and(|t| t.suffix == "str");
                let node = Node {
                    line,
                    value: if string {
                        Value::Str(text)
                    } else {
                        scalar(text, style)
                    },
                };
                if anchor > 0 {
                    self.anchors.insert(anchor, node.clone());
                }
                self.push_value(node);
            }
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                self.values += 1;
                let value = match event {
                    Event::SequenceStart(..) => Value::List(Vec::new()),
                    _ => Value::Map(Vec::new()),
                };
                self.stack.push((Node { line, value }, None));
                self.open_anchors.push(anchor);
            }
            Event::SequenceEnd | Event::MappingEnd => {
                if let Some((mut node, _)) = self.stack.pop() {
                    merge_keys(&mut node);
                    if let Some(anchor) = self.open_anchors.pop().filter(|a| *a > 0) {
                        self.anchors.insert(anchor, node.clone());
                    }
                    self.push_value(node);
                }
            }
            Event::Alias(anchor) => match self.anchors.get(&anchor) {
                Some(node) if self.values + count(node) > MAX_VALUES => {
                    self.error.get_or_insert(format!(
                        "line {line}: aliases expand to more than {MAX_VALUES} values"
                    ));
                }
                Some(node) => {
                    let node = node.clone();
                    self.values += count(&node);
                    self.push_value(Node { line, ..node });
                }
                None => {
                    self.error
                        .get_or_insert(format!("line {line}: an alias of an unknown anchor"));
                }
            },
            _ => {}
        }
    }
}

/// Applies YAML merge keys (`<<: *defaults`, or a list of them) as the apiserver's YAML
/// reader does: the merged mappings' keys are added where the mapping does not set them
/// itself, the first merged mapping before the later ones.
fn merge_keys(node: &mut Node) {
    let Value::Map(entries) = &mut node.value else {
        return;
    };
    if !entries.iter().any(|(k, _)| k == "<<") {
        return;
    }
    let (merges, mut own): (Vec<_>, Vec<_>) = entries.drain(..).partition(|(k, _)| k == "<<");
    let mut sources = Vec::new();
    for (_, merged) in merges {
        match merged.value {
            Value::Map(map) => sources.push(map),
            Value::List(items) => sources.extend(items.into_iter().filter_map(|i| match i.value {
                Value::Map(map) => Some(map),
                _ => None,
            })),
            _ => {}
        }
    }
    for source in sources {
        for (key, value) in source {
            if !own.iter().any(|(k, _)| *k == key) {
                own.push((key, value));
            }
        }
    }
    *entries = own;
}

/// A scalar typed as YAML 1.1 types plain scalars (quoted ones are strings).
fn scalar(text: String, style: TScalarStyle) -> Value {
    if style != TScalarStyle::Plain {
        return Value::Str(text);
    }
    match text.as_str() {
        "" | "~" | "null" | "Null" | "NULL" => Value::Null,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        _ if is_number(&text) => Value::Number(text),
        _ => Value::Str(text),
    }
}

/// Whether a plain scalar is a number to the apiserver's YAML reader (go-yaml v2): it
/// tries one only for text starting with a digit, a sign or a dot, and only a number
/// that parses counts (`0xzz` and `_1` are strings).
fn is_number(text: &str) -> bool {
    if !text.starts_with(|c: char| c.is_ascii_digit() || matches!(c, '-' | '+' | '.')) {
        return false;
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(text);
    let special = [".inf", ".Inf", ".INF", ".nan", ".NaN", ".NAN"];
    if special.contains(&digits) {
        return true;
    }
    for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] {
        if let Some(rest) = digits.strip_prefix(prefix) {
            let rest = rest.replace('_', "");
            return !rest.is_empty() && rest.chars().all(|c| c.is_digit(radix));
        }
    }
    let (mantissa, exponent) = match digits.find(['e', 'E']) {
        Some(at) => (&digits[..at], Some(&digits[at + 1..])),
        None => (digits, None),
    };
    let mantissa_ok = !mantissa.is_empty()
        && mantissa != "."
        && mantissa.bytes().filter(|b| *b == b'.').count() <= 1
        && mantissa
            .bytes()
            .all(|b| b.is_ascii_digit() || b == b'.' || b == b'_');
    let exponent_ok = exponent.is_none_or(|e| {
        let e = e.strip_prefix(['-', '+']).unwrap_or(e);
        !e.is_empty() && e.bytes().all(|b| b.is_ascii_digit())
    });
    mantissa_ok && exponent_ok
}

/// Decodes the tree into a Policy, collecting problems at their lines.
struct Decoder<'p> {
    problems: &'p mut Problems,
}

impl Decoder<'_> {
    fn error(&mut self, line: usize, path: &str, message: impl std::fmt::Display) {
        self.problems
            .errors
            .push(format!("line {line}: {path}: {message}"));
    }

    fn warn(&mut self, line: usize, message: impl std::fmt::Display) {
        self.problems
            .warnings
            .push(format!("line {line}: {message}"));
    }

    /// The entries of a mapping, each key once (the last copy, as JSON decoding takes
    /// it); unknown and repeated keys are warnings.
    fn fields<'n>(
        &mut self,
        node: &'n Node,
        path: &str,
        known: &[&str],
    ) -> Option<Vec<(&'n str, &'n Node)>> {
        let Value::Map(entries) = &node.value else {
            if !matches!(node.value, Value::Null) {
                let got = node.value.kind();
                self.error(node.line, path, format!("a mapping is expected, got {got}"));
            }
            return None;
        };
        let mut out: Vec<(&str, &Node)> = Vec::new();
        for (key, value) in entries {
            let at = |p: &str| {
                if p.is_empty() {
                    key.clone()
                } else {
                    format!("{p}.{key}")
                }
            };
            if !known.contains(&key.as_str()) {
                self.warn(
                    value.line,
                    format!(
                        "{}: unknown field (the apiserver ignores it and logs a warning; keys are case-sensitive)",
                        at(path)
                    ),
                );
                continue;
            }
            if let Some(slot) = out.iter_mut().find(|(k, _)| k == key) {
                self.warn(
                    value.line,
                    format!("{}: repeated field (the last one counts)", at(path)),
                );
                slot.1 = value;
            } else {
                out.push((key, value));
            }
        }
        Some(out)
    }

    fn string(&mut self, node: &Node, path: &str) -> String {
        match &node.value {
            Value::Str(s) => s.clone(),
            Value::Null => String::new(),
            other => {
                let got = other.kind();
                self.error(node.line, path, format!("a string is expected, got {got}"));
                String::new()
            }
        }
    }

    fn strings(&mut self, node: &Node, path: &str) -> Vec<String> {
        match &node.value {
            Value::Null => Vec::new(),
            Value::List(items) => items
                .iter()
                .enumerate()
                .map(|(i, item)| self.string(item, &format!("{path}[{i}]")))
                .collect(),
            other => {
                let got = other.kind();
                self.error(
                    node.line,
                    path,
                    format!("a list of strings is expected, got {got}"),
                );
                Vec::new()
            }
        }
    }

    fn boolean(&mut self, node: &Node, path: &str) -> Option<bool> {
        match &node.value {
            Value::Bool(b) => Some(*b),
            Value::Null => None,
            other => {
                let got = other.kind();
                self.error(
                    node.line,
                    path,
                    format!("true or false is expected, got {got}"),
                );
                None
            }
        }
    }

    fn stages(&mut self, node: &Node, path: &str) -> Vec<String> {
        let stages = self.strings(node, path);
        for (i, stage) in stages.iter().enumerate() {
            if !STAGES.contains(&stage.as_str()) {
                let line = match &node.value {
                    Value::List(items) => items.get(i).map_or(node.line, |n| n.line),
                    _ => node.line,
                };
                self.error(
                    line,
                    &format!("{path}[{i}]"),
                    format!("{stage:?}: allowed stages are {}", STAGES.join(",")),
                );
            }
        }
        stages
    }

    fn policy(&mut self, root: &Node) -> Option<Policy> {
        const KNOWN: [&str; 6] = [
            "apiVersion",
            "kind",
            "metadata",
            "rules",
            "omitStages",
            "omitManagedFields",
        ];
        let Some(fields) = self.fields(root, "", &KNOWN) else {
            self.error(root.line, "Policy", "the file holds no mapping");
            return None;
        };
        let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, n)| *n);
        match get("apiVersion").map(|n| (n, self.string(n, "apiVersion"))) {
            Some((_, v)) if v == "audit.k8s.io/v1" => {}
            Some((n, v)) => self.error(
                n.line,
                "apiVersion",
                format!("{v:?} is not audit.k8s.io/v1, the only version a current apiserver reads (v1beta1 and v1alpha1 were removed in 1.24)"),
            ),
            None => self.error(root.line, "apiVersion", "missing: write apiVersion: audit.k8s.io/v1"),
        }
        match get("kind").map(|n| (n, self.string(n, "kind"))) {
            Some((_, k)) if k == "Policy" => {}
            Some((n, k)) => self.error(n.line, "kind", format!("{k:?} is not Policy")),
            None => self.error(root.line, "kind", "missing: write kind: Policy"),
        }
        let omit_stages = get("omitStages").map_or_else(Vec::new, |n| self.stages(n, "omitStages"));
        let omit_managed_fields = get("omitManagedFields")
            .and_then(|n| self.boolean(n, "omitManagedFields"))
            .unwrap_or(false);
        let mut rules = Vec::new();
        match get("rules").map(|n| (n, &n.value)) {
            Some((_, Value::List(items))) => {
                for (i, item) in items.iter().enumerate() {
                    rules.extend(self.rule(item, &format!("rules[{i}]")));
                }
            }
            Some((_, Value::Null)) | None => {}
            Some((n, other)) => {
                let got = other.kind();
                self.error(
                    n.line,
                    "rules",
                    format!("a list of rules is expected, got {got}"),
                );
            }
        }
        if rules.is_empty() && self.problems.errors.is_empty() {
            self.error(
                root.line,
                "rules",
                "a Policy with no rules is refused by the apiserver",
            );
        }
        Some(Policy {
            rules,
            omit_stages,
            omit_managed_fields,
        })
    }

    fn rule(&mut self, node: &Node, path: &str) -> Option<Rule> {
        const KNOWN: [&str; 9] = [
            "level",
            "users",
            "userGroups",
            "verbs",
            "resources",
            "namespaces",
            "nonResourceURLs",
            "omitStages",
            "omitManagedFields",
        ];
        let fields = self.fields(node, path, &KNOWN).unwrap_or_default();
        let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, n)| *n);
        let at = |name: &str| format!("{path}.{name}");
        let list = |this: &mut Self, name: &str| {
            get(name).map_or_else(Vec::new, |n| this.strings(n, &at(name)))
        };
        let users = list(self, "users");
        let user_groups = list(self, "userGroups");
        let verbs = list(self, "verbs");
        let namespaces = list(self, "namespaces");
        let non_resource_urls = list(self, "nonResourceURLs");
        let level_name = get("level")
            .map(|n| self.string(n, &at("level")))
            .unwrap_or_default();
        let level_line = get("level").map_or(node.line, |n| n.line);
        let level = match Level::from_name(&level_name) {
            Some(level) => level,
            None if level_name.is_empty() => {
                self.error(level_line, &at("level"), "Required value: every rule needs a level (None, Metadata, Request, RequestResponse)");
                Level::None
            }
            None => {
                self.error(
                    level_line,
                    &at("level"),
                    format!(
                        "Unsupported value: {level_name:?}: supported values: {}",
                        Level::NAMES.join(", ")
                    ),
                );
                Level::None
            }
        };
        let omit_stages =
            get("omitStages").map_or_else(Vec::new, |n| self.stages(n, &at("omitStages")));
        let omit_managed_fields =
            get("omitManagedFields").and_then(|n| self.boolean(n, &at("omitManagedFields")));
        let resources =
            get("resources").map_or_else(Vec::new, |n| self.resources(n, &at("resources")));
        let urls_line = get("nonResourceURLs").map_or(node.line, |n| n.line);
        for (i, url) in non_resource_urls.iter().enumerate() {
            if url == "*" {
                continue;
            }
            let field = format!("{}[{i}]", at("nonResourceURLs"));
            if !url.starts_with('/') {
                self.error(
                    urls_line,
                    &field,
                    format!("{url:?}: non-resource URL rules must begin with a '/' character"),
                );
            }
            // Bytes, as Go does: `*` is ASCII, so its index says where it is.
            if url.find('*').is_some_and(|at| at + 1 != url.len()) {
                self.error(urls_line, &field, format!("{url:?}: non-resource URL wildcards '*' must be the final character of the rule"));
            }
        }
        if !non_resource_urls.is_empty() && (!resources.is_empty() || !namespaces.is_empty()) {
            self.error(
                urls_line,
                &at("nonResourceURLs"),
                "rules cannot apply to both regular resources and non-resource URLs",
            );
        }
        Some(Rule {
            line: node.line,
            level,
            users,
            user_groups,
            verbs,
            resources,
            namespaces,
            non_resource_urls,
            omit_stages,
            omit_managed_fields,
        })
    }

    fn resources(&mut self, node: &Node, path: &str) -> Vec<GroupResources> {
        let items = match &node.value {
            Value::List(items) => items,
            Value::Null => return Vec::new(),
            other => {
                let got = other.kind();
                self.error(node.line, path, format!("a list is expected, got {got}"));
                return Vec::new();
            }
        };
        let mut out = Vec::new();
        for (i, item) in items.iter().enumerate() {
            let at = format!("{path}[{i}]");
            let fields = self
                .fields(item, &at, &["group", "resources", "resourceNames"])
                .unwrap_or_default();
            let get = |name: &str| fields.iter().find(|(k, _)| *k == name).map(|(_, n)| *n);
            let group = get("group")
                .map(|n| self.string(n, &format!("{at}.group")))
                .unwrap_or_default();
            let resources = get("resources")
                .map_or_else(Vec::new, |n| self.strings(n, &format!("{at}.resources")));
            let resource_names = get("resourceNames").map_or_else(Vec::new, |n| {
                self.strings(n, &format!("{at}.resourceNames"))
            });
            if !group.is_empty() && group != "*" && !is_dns_subdomain(&group) {
                let line = get("group").map_or(item.line, |n| n.line);
                self.error(line, &format!("{at}.group"), format!("{group:?}: a group is a DNS subdomain (lower-case letters, digits, '-' and '.'), \"\" for the core group or \"*\" for any"));
            }
            if !resource_names.is_empty() && resources.is_empty() {
                let line = get("resourceNames").map_or(item.line, |n| n.line);
                self.error(
                    line,
                    &format!("{at}.resourceNames"),
                    "using resourceNames requires at least one resource",
                );
            }
            out.push(GroupResources {
                group,
                resources,
                resource_names,
            });
        }
        out
    }
}

/// A DNS subdomain as Kubernetes validates one (RFC 1123): at most 253 characters,
/// dot-separated labels of lower-case alphanumerics and '-', each starting and ending
/// with an alphanumeric.
fn is_dns_subdomain(name: &str) -> bool {
    name.len() <= 253
        && name.split('.').all(|label| {
            let bytes = label.as_bytes();
            !bytes.is_empty()
                && bytes
                    .iter()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || *b == b'-')
                && bytes[0] != b'-'
                && bytes[bytes.len() - 1] != b'-'
        })
}

#[cfg(test)]
mod tests;
