//! The rule catalog: rules as data (`rules/**/<id>.toml`), embedded in the binary, extendable with `--rules DIR`.
//!
//! Takes TOML text; gives a validated [`Catalog`]. Everything that can be wrong with a rule file is caught
//! here, at load, with the file and the reason: bad TOML, unknown keys, a regex that does not compile, a
//! template placeholder that is neither a capture nor a context field, an id that is not the file name, a
//! duplicate id.

use std::collections::BTreeMap;
use std::path::Path;

use regex::Regex;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Location};
use crate::template::ResourceTypes;
use crate::vocabulary::{Category, Layer, Role, Topology};

mod decide;
mod doc;
mod load;
pub use load::builtin_text;
mod prefilter;
mod template;

pub use decide::{tier, Candidate, MatchedBy, RuleMatch};
pub use doc::catalog_markdown;
pub use template::{placeholders, render};

use load::{collect_builtin, parse_all, read_dir, BUILTIN};
use prefilter::Prefilter;

/// Sub-folder of `rules/` holding known deployment topologies rather than rules.
pub const TOPOLOGY_DIR: &str = "topologies";
/// Sub-folder of `rules/` holding how each resource type's identifiers are formed.
pub const TYPES_DIR: &str = "resource-types";

/// Fields a template may use besides the rule's own captures.
pub const CONTEXT_FIELDS: &[&str] = &[
    "logical_id",
    "resource_type",
    "account",
    "region",
    "stack_set",
    // The stack set's administration account, from its AdministrationRoleARN (self-managed stack sets).
    "admin_account",
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

/// A validated rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub id: String,
    pub title: String,
    pub category: Category,
    pub role: Role,
    pub priority: i32,
    /// Which layer the rule belongs to (docs/classification.md#layers).
    pub layer: Layer,
    /// A wording or code that says little (decides only below wrappers).
    pub generic: bool,
    /// A code layer's codes as written (`*LimitExceeded*`); [`Rule::regex`] is built from them.
    pub codes: Vec<String>,
    /// The text pattern, or for a code layer the anchored pattern its codes make.
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

    /// The pattern with ASCII classes, as the catalog matches it (see [`Prefilter`]); built on first use, and
    /// None when the pattern needs Unicode.
    fn ascii(&self) -> Option<&regex::bytes::Regex> {
        self.ascii_regex
            .get_or_init(|| {
                regex::bytes::RegexBuilder::new(self.regex.as_str())
                    .unicode(false)
                    .build()
                    .ok()
            })
            .as_ref()
    }

    /// A handler-code rule for codes CloudFormation documents may have no public example: public messages with
    /// such a code are rare, and every documented code is tested (docs/classification.md#codes).
    pub fn may_lack_examples(&self) -> bool {
        self.layer == Layer::HandlerCode
            && self
                .codes
                .iter()
                .all(|c| crate::vocabulary::HANDLER_ERROR_CODES.contains(&c.as_str()))
    }

    /// Whether the pattern matches the text, as the catalog matches it.
    pub fn is_match(&self, text: &str) -> bool {
        match self.ascii() {
            Some(a) => a.is_match(text.as_bytes()),
            None => self.regex.is_match(text),
        }
    }

    /// Named captures that participated in the match, by name, as the catalog matches it.
    pub fn captures(&self, text: &str) -> BTreeMap<String, String> {
        let Some(ascii) = self.ascii() else {
            return captures(&self.regex, text);
        };
        let mut out = BTreeMap::new();
        if let Some(c) = ascii.captures(text.as_bytes()) {
            for name in ascii.capture_names().flatten() {
                if let Some(m) = c.name(name) {
                    // A capture of non-ASCII text may in principle cut a character: replaced, never a panic.
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
    /// How each resource type's identifiers are formed (`rules/resource-types/`).
    pub resource_types: ResourceTypes,
    /// The text layers' patterns, in the order of [`Catalog::text_rules`].
    set: Prefilter,
    text_rules: Vec<usize>,
    /// The code layers' rules, by index into `rules`.
    code_rules: Vec<usize>,
    /// Each rule's example messages as word sets, built the first time `nearest` is asked.
    example_words: std::sync::OnceLock<Vec<Vec<std::collections::BTreeSet<String>>>>,
}

/// What a rule's filters look at besides the message.
#[derive(Debug, Clone, Copy, Default)]
pub struct MatchContext<'a> {
    pub resource_type: Option<&'a str>,
    pub status: Option<&'a str>,
    pub handler_error_code: Option<&'a str>,
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
        let (mut rules, mut topologies, mut types) = parse_all(files)?;
        if let Some(dir) = extra {
            let (user_rules, user_topologies, user_types) = parse_all(read_dir(dir)?)?;
            types.extend(user_types);
            for r in user_rules {
                rules.retain(|b| b.id != r.id);
                rules.push(r);
            }
            for t in user_topologies {
                topologies.retain(|b| b.id != t.id);
                topologies.push(t);
            }
        }
        Catalog::from_rules(rules, topologies, types)
    }

    /// Only the rules under `dir` (for `rules test DIR`).
    pub fn load_dir_only(dir: &Path) -> Result<Catalog, Error> {
        let (rules, topologies, types) = parse_all(read_dir(dir)?)?;
        if rules.is_empty() {
            return Err(Error::Rule {
                location: Location::file(dir.display().to_string()),
                reason: "no rule files (*.toml) in this folder".into(),
            });
        }
        Catalog::from_rules(rules, topologies, types)
    }

    fn from_rules(
        mut rules: Vec<Rule>,
        topologies: Vec<Topology>,
        resource_types: ResourceTypes,
    ) -> Result<Catalog, Error> {
        rules.sort_by(|a, b| a.id.cmp(&b.id));
        let (code_rules, text_rules): (Vec<usize>, Vec<usize>) =
            (0..rules.len()).partition(|&i| rules[i].layer.matches_codes());
        let set = Prefilter::new(text_rules.iter().map(|&i| &rules[i]))?;
        Ok(Catalog {
            rules,
            topologies,
            resource_types,
            set,
            text_rules,
            code_rules,
            example_words: std::sync::OnceLock::new(),
        })
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|r| r.id == id)
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
