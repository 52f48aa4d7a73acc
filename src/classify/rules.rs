//! The rule catalog: rules as data (`rules/**/<id>.toml`), embedded in the binary, extendable with `--rules DIR`.
//!
//! Takes TOML text; gives a validated [`Catalog`]. Everything that can be wrong with a rule file is caught
//! here, at load, with the file and the reason: bad TOML, unknown keys, a regex that does not compile, a
//! template placeholder that is neither a capture nor a context field, an id that is not the file name, a
//! duplicate id.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use include_dir::{include_dir, Dir};
use regex::{Regex, RegexSet};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Location};
use crate::vocabulary::{Category, Role, Topology};

static BUILTIN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// Sub-folder of `rules/` holding known deployment topologies rather than rules.
pub const TOPOLOGY_DIR: &str = "topologies";

/// Fields a template may use besides the rule's own captures.
pub const CONTEXT_FIELDS: &[&str] = &[
    "logical_id",
    "resource_type",
    "account",
    "region",
    "stack_set",
    "status",
    "service",
    "status_code",
    "error_code",
    "handler_error_code",
];

#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct Example {
    pub message: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// Captures that must come out exactly.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub expect: BTreeMap<String, String>,
    /// For rules with filters: the failing resource's type and status the example was seen with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

impl Example {
    /// The context the example was seen in; the handler error code comes from the message's own envelope.
    pub fn context<'a>(&'a self, handler_error_code: Option<&'a str>) -> MatchContext<'a> {
        MatchContext {
            resource_type: self.resource_type.as_deref(),
            status: self.status.as_deref(),
            handler_error_code,
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RuleFile {
    id: String,
    title: String,
    category: Category,
    role: Role,
    #[serde(default = "default_priority")]
    priority: i32,
    pattern: String,
    #[serde(default)]
    resource_types: Vec<String>,
    #[serde(default)]
    statuses: Vec<String>,
    #[serde(default)]
    handler_error_codes: Vec<String>,
    explanation: String,
    remediation: String,
    #[serde(default)]
    references: Vec<String>,
    #[serde(default)]
    examples: Vec<Example>,
    #[serde(default)]
    counter_examples: Vec<Example>,
}

fn default_priority() -> i32 {
    50
}

/// A validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub category: Category,
    pub role: Role,
    pub priority: i32,
    pub regex: Regex,
    /// The same pattern without Unicode classes: faster, and equal on ASCII text (see [`Prefilter`]). Built on
    /// first use, so start-up compiles only what a run needs.
    ascii_regex: std::sync::OnceLock<Option<regex::bytes::Regex>>,
    pub resource_types: Vec<String>,
    pub statuses: Vec<String>,
    /// Only when the registry handler reported one of these `HandlerErrorCode`s (for catch-alls by code).
    pub handler_error_codes: Vec<String>,
    pub explanation: String,
    pub remediation: String,
    pub references: Vec<String>,
    pub examples: Vec<Example>,
    pub counter_examples: Vec<Example>,
    /// Where the rule was loaded from (`builtin:access/x.toml` or a path).
    pub origin: String,
}

impl Rule {
    /// Whether the rule's optional filters admit a failure in this context.
    pub fn admits(&self, ctx: &MatchContext<'_>) -> bool {
        let ok = |list: &[String], v: Option<&str>| {
            list.is_empty() || v.is_some_and(|v| list.iter().any(|x| x == v))
        };
        ok(&self.resource_types, ctx.resource_type)
            && ok(&self.statuses, ctx.status)
            && ok(&self.handler_error_codes, ctx.handler_error_code)
    }

    /// Named captures that participated in the match, by name (the ASCII engine on ASCII text).
    pub fn captures(&self, text: &str) -> BTreeMap<String, String> {
        let ascii = text.is_ascii().then(|| {
            self.ascii_regex
                .get_or_init(|| {
                    regex::bytes::RegexBuilder::new(self.regex.as_str())
                        .unicode(false)
                        .build()
                        .ok()
                })
                .as_ref()
        });
        let Some(ascii) = ascii.flatten() else {
            return captures(&self.regex, text);
        };
        let mut out = BTreeMap::new();
        if let Some(c) = ascii.captures(text.as_bytes()) {
            for name in ascii.capture_names().flatten() {
                if let Some(m) = c.name(name) {
                    // ASCII text: any slice of it is UTF-8.
                    out.insert(
                        name.to_owned(),
                        String::from_utf8_lossy(m.as_bytes()).into_owned(),
                    );
                }
            }
        }
        out
    }

    pub fn capture_names(&self) -> impl Iterator<Item = &str> {
        self.regex.capture_names().flatten()
    }
}

/// All rules, with a `RegexSet` prefilter so one pass over a message finds every candidate rule.
#[derive(Debug, Clone)]
pub struct Catalog {
    pub rules: Vec<Rule>,
    pub topologies: Vec<Topology>,
    set: Prefilter,
}

/// What a rule's filters look at besides the message.
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchContext<'a> {
    pub resource_type: Option<&'a str>,
    pub status: Option<&'a str>,
    pub handler_error_code: Option<&'a str>,
}

/// Every rule's pattern in one automaton, so one pass over a message finds every candidate rule.
///
/// Two builds of the same patterns: Unicode-aware (the rules' own semantics), and ASCII-only, which is several
/// times faster and gives the same answer on ASCII text (where `\w`, `\s`, `\b` and case folding agree) — and
/// AWS messages are nearly always ASCII. Both get a generous lazy-DFA cache: with dozens of case-insensitive
/// patterns the default one thrashes and the set falls back to a far slower engine.
#[derive(Debug, Clone)]
struct Prefilter {
    patterns: Vec<String>,
    /// Built on first use: only non-ASCII messages need it, and it is the slower build.
    unicode: std::sync::OnceLock<Option<RegexSet>>,
    ascii: Option<regex::bytes::RegexSet>,
}

fn build_unicode(patterns: &[String]) -> Result<RegexSet, regex::Error> {
    regex::RegexSetBuilder::new(patterns)
        .dfa_size_limit(64 << 20)
        .size_limit(64 << 20)
        .build()
}

impl Prefilter {
    fn new(rules: &[Rule]) -> Result<Prefilter, Error> {
        let patterns: Vec<String> = rules.iter().map(|r| r.regex.as_str().to_owned()).collect();
        // A pattern that needs Unicode (a non-ASCII literal or class) cannot build in ASCII mode: then every
        // message takes the Unicode set, built now so a catalog that cannot compile together fails at load.
        let ascii = regex::bytes::RegexSetBuilder::new(&patterns)
            .unicode(false)
            .dfa_size_limit(64 << 20)
            .size_limit(64 << 20)
            .build()
            .ok();
        let unicode = std::sync::OnceLock::new();
        if ascii.is_none() {
            let set = build_unicode(&patterns).map_err(|e| Error::Rule {
                location: Location::file("<catalog>"),
                reason: format!("the rules' patterns do not compile together: {e}"),
            })?;
            let _ = unicode.set(Some(set));
        }
        Ok(Prefilter {
            patterns,
            unicode,
            ascii,
        })
    }

    fn unicode(&self) -> Option<&RegexSet> {
        self.unicode
            .get_or_init(|| build_unicode(&self.patterns).ok())
            .as_ref()
    }

    fn matching(&self, text: &str) -> Vec<usize> {
        match &self.ascii {
            Some(a) if text.is_ascii() => a.matches(text.as_bytes()).into_iter().collect(),
            _ => self
                .unicode()
                .map(|u| u.matches(text).into_iter().collect())
                .unwrap_or_default(),
        }
    }

    #[cfg(test)]
    fn both(&self, text: &str) -> (Vec<usize>, Vec<usize>) {
        let u = self
            .unicode()
            .map(|u| u.matches(text).into_iter().collect())
            .unwrap_or_default();
        let a = self
            .ascii
            .as_ref()
            .map(|a| a.matches(text.as_bytes()).into_iter().collect())
            .unwrap_or_default();
        (u, a)
    }
}

/// A rule that matched, with its captures.
#[derive(Debug, Clone)]
pub struct RuleMatch<'c> {
    pub rule: &'c Rule,
    /// Index into the unwrapped layers (0 = outermost).
    pub layer: usize,
    pub captures: BTreeMap<String, String>,
}

struct SourceFile {
    /// Path relative to the rules root, with `/` separators.
    rel: String,
    origin: String,
    text: String,
}

impl Catalog {
    /// The rules compiled into the binary.
    pub fn builtin() -> Result<Catalog, Error> {
        Catalog::load(None)
    }

    /// The built-in rules, plus (overriding by id) the rules under `extra`.
    pub fn load(extra: Option<&Path>) -> Result<Catalog, Error> {
        let mut files = Vec::new();
        collect_builtin(&BUILTIN, &mut files);
        let (mut rules, mut topologies) = parse_all(files)?;
        if let Some(dir) = extra {
            let (user_rules, user_topologies) = parse_all(read_dir(dir)?)?;
            for r in user_rules {
                rules.retain(|b| b.id != r.id);
                rules.push(r);
            }
            for t in user_topologies {
                topologies.retain(|b| b.id != t.id);
                topologies.push(t);
            }
        }
        Catalog::from_rules(rules, topologies)
    }

    /// Only the rules under `dir` (for `rules test DIR`).
    pub fn load_dir_only(dir: &Path) -> Result<Catalog, Error> {
        let (rules, topologies) = parse_all(read_dir(dir)?)?;
        if rules.is_empty() {
            return Err(Error::Rule {
                location: Location::file(dir.display().to_string()),
                reason: "no rule files (*.toml) in this folder".into(),
            });
        }
        Catalog::from_rules(rules, topologies)
    }

    fn from_rules(mut rules: Vec<Rule>, topologies: Vec<Topology>) -> Result<Catalog, Error> {
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        let set = Prefilter::new(&rules)?;
        Ok(Catalog {
            rules,
            topologies,
            set,
        })
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
    }

    /// The best rule for a message: innermost layer first; in a layer, the highest priority among rules whose
    /// filters admit the failure (ties: the smaller id, so the choice is stable).
    pub fn best_match<'c>(
        &'c self,
        layers: &[&str],
        ctx: &MatchContext<'_>,
    ) -> Option<RuleMatch<'c>> {
        for (layer, text) in layers.iter().enumerate().rev() {
            let text = &clip(text);
            let best = self
                .set
                .matching(text)
                .into_iter()
                .map(|i| &self.rules[i])
                .filter(|r| r.admits(ctx))
                .max_by(|a, b| a.priority.cmp(&b.priority).then_with(|| b.id.cmp(&a.id)));
            if let Some(rule) = best {
                return Some(RuleMatch {
                    rule,
                    layer,
                    captures: rule.captures(text),
                });
            }
        }
        None
    }

    /// Every rule matching at the layer where the best match is, highest priority first (for rule tests and
    /// for `explain`'s suggestions).
    pub fn all_matches_at<'c>(&'c self, text: &str) -> Vec<&'c Rule> {
        let mut v: Vec<&Rule> = self
            .set
            .matching(text)
            .into_iter()
            .map(|i| &self.rules[i])
            .collect();
        v.sort_by(|a, b| b.priority.cmp(&a.priority).then_with(|| a.id.cmp(&b.id)));
        v
    }
}

/// AWS status reasons are a few KB at most; a pathological megabyte-long message is classified by its start, so
/// the cost of a message stays bounded.
pub const MAX_CLASSIFIED_BYTES: usize = 16 * 1024;

fn clip(text: &str) -> &str {
    if text.len() <= MAX_CLASSIFIED_BYTES {
        return text;
    }
    let mut end = MAX_CLASSIFIED_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// Named captures that participated in the match, by name.
pub fn captures(regex: &Regex, text: &str) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if let Some(c) = regex.captures(text) {
        for name in regex.capture_names().flatten() {
            if let Some(m) = c.name(name) {
                out.insert(name.to_owned(), m.as_str().to_owned());
            }
        }
    }
    out
}

fn collect_builtin(dir: &Dir<'_>, out: &mut Vec<SourceFile>) {
    for f in dir.files() {
        let rel = f.path().to_string_lossy().replace('\\', "/");
        if let Some(text) = f.contents_utf8() {
            out.push(SourceFile {
                origin: format!("rules/{rel}"),
                rel,
                text: text.to_owned(),
            });
        }
    }
    for d in dir.dirs() {
        collect_builtin(d, out);
    }
}

fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, Error> {
    let meta = std::fs::metadata(dir).map_err(|source| Error::Io {
        path: dir.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::Io {
            path: dir.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a directory of rule files",
            ),
        });
    }
    let mut out = Vec::new();
    // Symbolic links are followed (a rules folder mounted from a Kubernetes ConfigMap is all links), and hidden
    // entries skipped (that mount also holds `..data` and `..<timestamp>` copies of every file).
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| Error::from_walk(e, dir))?;
        let path = entry.path();
        if !entry.file_type().is_file() || path.extension().and_then(|e| e.to_str()) != Some("toml")
        {
            continue;
        }
        let text = std::fs::read_to_string(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let rel = path
            .strip_prefix(dir)
            .unwrap_or(path)
            .to_string_lossy()
            .replace('\\', "/");
        out.push(SourceFile {
            rel,
            origin: path.display().to_string(),
            text,
        });
    }
    Ok(out)
}

fn parse_all(mut files: Vec<SourceFile>) -> Result<(Vec<Rule>, Vec<Topology>), Error> {
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    let mut rules: Vec<Rule> = Vec::new();
    let mut topologies = Vec::new();
    let mut seen: BTreeMap<String, String> = BTreeMap::new();
    for f in files {
        if !f.rel.ends_with(".toml") {
            continue;
        }
        if f.rel.starts_with(&format!("{TOPOLOGY_DIR}/")) {
            let mut t: Topology = toml::from_str(&f.text).map_err(|e| toml_error(&f, &e))?;
            t.origin = f.origin.clone();
            topologies.push(t);
            continue;
        }
        let rule = parse_rule(&f)?;
        if let Some(first) = seen.insert(rule.id.clone(), f.origin.clone()) {
            return Err(Error::Rule {
                location: loc(&f.origin),
                reason: format!(
                    "duplicate rule id {:?}: already defined in {first}",
                    rule.id
                ),
            });
        }
        rules.push(rule);
    }
    Ok((rules, topologies))
}

fn loc(origin: &str) -> Location {
    Location::file(origin)
}

fn toml_error(f: &SourceFile, e: &toml::de::Error) -> Error {
    let (line, column) = match e.span() {
        Some(span) => {
            let (l, c) =
                crate::collect::text::line_col(&f.text.as_bytes()[..span.start.min(f.text.len())]);
            (Some(l), Some(c))
        }
        None => (None, None),
    };
    Error::Rule {
        location: Location {
            file: f.origin.clone(),
            line,
            column,
        },
        reason: e.message().to_owned(),
    }
}

fn parse_rule(f: &SourceFile) -> Result<Rule, Error> {
    let raw: RuleFile = toml::from_str(&f.text).map_err(|e| toml_error(f, &e))?;
    let bad = |reason: String| Error::Rule {
        location: loc(&f.origin),
        reason,
    };
    let stem = f
        .rel
        .rsplit('/')
        .next()
        .unwrap_or(&f.rel)
        .trim_end_matches(".toml");
    if raw.id != stem {
        return Err(bad(format!(
            "id {:?} does not match the file name {:?} (a rule's file is named after its id)",
            raw.id, stem
        )));
    }
    if raw.id.is_empty()
        || !raw
            .id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(bad(format!("id {:?} is not kebab-case", raw.id)));
    }
    if raw.role == Role::Unknown {
        return Err(bad(
            "role must be \"root\", \"consequence\" or \"benign\"".into()
        ));
    }
    let regex =
        Regex::new(&raw.pattern).map_err(|e| bad(format!("pattern does not compile: {e}")))?;
    let captures: BTreeSet<&str> = regex.capture_names().flatten().collect();
    for (what, template) in [
        ("explanation", &raw.explanation),
        ("remediation", &raw.remediation),
    ] {
        for name in placeholders(template).map_err(|e| bad(format!("{what}: {e}")))? {
            if !captures.contains(name.as_str()) && !CONTEXT_FIELDS.contains(&name.as_str()) {
                return Err(bad(format!(
                    "{what} uses {{{name}}}, which is neither a capture of the pattern ({}) nor a context field ({})",
                    if captures.is_empty() { "none".to_owned() } else { captures.iter().copied().collect::<Vec<_>>().join(", ") },
                    CONTEXT_FIELDS.join(", ")
                )));
            }
        }
    }
    for ex in &raw.examples {
        for k in ex.expect.keys() {
            if !captures.contains(k.as_str()) {
                return Err(bad(format!(
                    "an example expects capture {k:?}, which the pattern does not have"
                )));
            }
        }
    }
    Ok(Rule {
        id: raw.id,
        title: raw.title,
        category: raw.category,
        role: raw.role,
        priority: raw.priority,
        ascii_regex: std::sync::OnceLock::new(),
        regex,
        resource_types: raw.resource_types,
        statuses: raw.statuses,
        handler_error_codes: raw.handler_error_codes,
        explanation: raw.explanation.trim().to_owned(),
        remediation: raw.remediation.trim().to_owned(),
        references: raw.references,
        examples: raw.examples,
        counter_examples: raw.counter_examples,
        origin: f.origin.clone(),
    })
}

/// Names used as `{name}` in a template; `{{` and `}}` are literal braces.
pub fn placeholders(template: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
            }
            '{' => {
                let rest = &template[i + 1..];
                let end = rest
                    .find('}')
                    .ok_or_else(|| format!("unclosed {{ at byte {i}"))?;
                let name = &rest[..end];
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!(
                        "{{{name}}} is not a placeholder name (use {{{{ for a literal brace)"
                    ));
                }
                out.push(name.to_owned());
                for _ in 0..=end {
                    chars.next();
                }
            }
            '}' => {
                return Err(format!(
                    "unmatched }} at byte {i} (use }}}} for a literal brace)"
                ))
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Fill a template's placeholders; a field that is absent renders as `(unknown)`.
pub fn render(template: &str, fields: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if let (true, Some(end)) = (tail.starts_with('{'), tail.find('}')) {
            let name = &tail[1..end];
            out.push_str(fields.get(name).map(String::as_str).unwrap_or("(unknown)"));
            rest = &tail[end + 1..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The catalog page (`rules/README.md`), generated from the rule files; a test fails when it is stale.
pub fn catalog_markdown(catalog: &Catalog) -> String {
    use std::fmt::Write;
    let mut s = String::new();
    let _ = writeln!(s, "# Rule catalog\n");
    let _ = writeln!(
        s,
        "Generated from the rule files by `stackset-doctor rules doc > rules/README.md`; do not edit by hand.\n"
    );
    let mut per_cat: BTreeMap<Category, Vec<&Rule>> = BTreeMap::new();
    for r in &catalog.rules {
        per_cat.entry(r.category).or_default().push(r);
    }
    let covered = per_cat.len();
    let examples: usize = catalog.rules.iter().map(|r| r.examples.len()).sum();
    let counter: usize = catalog.rules.iter().map(|r| r.counter_examples.len()).sum();
    let _ = writeln!(
        s,
        "{} rules covering {covered} of {} categories, with {examples} example messages and {counter} counter-examples.\n",
        catalog.rules.len(),
        Category::ALL.len()
    );
    let _ = writeln!(s, "| category | rules |\n|---|---|");
    for c in Category::ALL {
        let ids = per_cat
            .get(&c)
            .map(|v| {
                v.iter()
                    .map(|r| format!("[`{}`](#{})", r.id, r.id))
                    .collect::<Vec<_>>()
                    .join(", ")
            })
            .unwrap_or_else(|| "—".into());
        let _ = writeln!(s, "| `{}` | {ids} |", c.as_str());
    }
    for r in &catalog.rules {
        let _ = writeln!(s, "\n## {}\n", r.id);
        let _ = writeln!(
            s,
            "**{}** — category `{}`, role `{}`, priority {}.\n",
            r.title,
            r.category,
            r.role.as_str(),
            r.priority
        );
        let _ = writeln!(s, "Pattern: `{}`\n", r.regex.as_str().replace('`', "\\`"));
        if !r.resource_types.is_empty() {
            let _ = writeln!(s, "Resource types: {}\n", r.resource_types.join(", "));
        }
        if !r.statuses.is_empty() {
            let _ = writeln!(s, "Statuses: {}\n", r.statuses.join(", "));
        }
        if !r.handler_error_codes.is_empty() {
            let _ = writeln!(
                s,
                "Handler error codes: {}\n",
                r.handler_error_codes.join(", ")
            );
        }
        let _ = writeln!(s, "What happened: {}\n", r.explanation.replace('\n', " "));
        let _ = writeln!(s, "How to fix: {}\n", r.remediation.replace('\n', " "));
        if !r.references.is_empty() {
            let _ = writeln!(
                s,
                "References: {}\n",
                r.references
                    .iter()
                    .map(|u| format!("<{u}>"))
                    .collect::<Vec<_>>()
                    .join(", ")
            );
        }
        let _ = writeln!(s, "Examples ({}):\n", r.examples.len());
        for ex in &r.examples {
            let src = ex
                .source
                .as_deref()
                .map(|u| format!(" — {u}"))
                .unwrap_or_default();
            let _ = writeln!(
                s,
                "- `{}`{src}",
                ex.message.replace('`', "'").replace('\n', " ")
            );
        }
    }
    s
}

fn words(s: &str) -> BTreeSet<String> {
    s.split(|c: char| !c.is_alphanumeric())
        .filter(|w| w.len() > 2 && !w.bytes().all(|b| b.is_ascii_digit()))
        .map(str::to_lowercase)
        .collect()
}

impl Catalog {
    /// Rules whose example messages share the most words with `text` (Jaccard similarity), best first:
    /// a starting point for writing a rule for a message no rule matches.
    pub fn nearest(&self, text: &str, n: usize) -> Vec<(&Rule, f32)> {
        let want = words(clip(text));
        if want.is_empty() {
            return Vec::new();
        }
        let mut scored: Vec<(&Rule, f32)> = self
            .rules
            .iter()
            .map(|r| {
                let best = r
                    .examples
                    .iter()
                    .map(|ex| {
                        let have = words(&ex.message);
                        let inter = want.intersection(&have).count() as f32;
                        let union = want.union(&have).count().max(1) as f32;
                        inter / union
                    })
                    .fold(0.0f32, f32::max);
                (r, best)
            })
            .filter(|(_, s)| *s > 0.0)
            .collect();
        scored.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.id.cmp(&b.0.id)));
        scored.truncate(n);
        scored
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_escapes() {
        assert_eq!(
            placeholders("a {x} {{literal}} {y_2}").unwrap(),
            vec!["x", "y_2"]
        );
        assert!(placeholders("a {x").is_err());
        assert!(placeholders("a }").is_err());
        assert!(placeholders("{not valid}").is_err());
    }

    #[test]
    fn render_fills_and_marks_missing() {
        let mut f = BTreeMap::new();
        f.insert("x".to_owned(), "1".to_owned());
        assert_eq!(render("{x} {y} {{z}}", &f), "1 (unknown) {z}");
    }

    /// The ASCII engines must agree with the Unicode ones on every ASCII message the catalog knows.
    #[test]
    fn ascii_prefilter_agrees_with_unicode_on_ascii_text() {
        let c = Catalog::builtin().unwrap();
        assert!(c.set.ascii.is_some(), "the catalog builds in ASCII mode");
        for r in &c.rules {
            for ex in r.examples.iter().chain(&r.counter_examples) {
                for layer in crate::classify::unwrap::unwrap(&ex.message).layers {
                    if layer.is_ascii() {
                        let (u, a) = c.set.both(layer);
                        assert_eq!(u, a, "{}: {layer}", r.id);
                        assert_eq!(
                            r.captures(layer),
                            captures(&r.regex, layer),
                            "{}: {layer}",
                            r.id
                        );
                    }
                }
            }
        }
    }
}
