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
use crate::vocabulary::{Category, Role, Topology};

mod doc;
mod load;
mod prefilter;
mod template;

pub use doc::catalog_markdown;
pub use template::{placeholders, render};

use load::{collect_builtin, parse_all, read_dir, BUILTIN};
use prefilter::Prefilter;

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

/// A rule that matched, with its captures.
#[derive(Debug, Clone)]
pub struct RuleMatch<'c> {
    pub rule: &'c Rule,
    /// Index into the unwrapped layers (0 = outermost).
    pub layer: usize,
    pub captures: BTreeMap<String, String>,
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
