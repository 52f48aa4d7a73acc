//! Reading rule files: the catalog compiled into the binary and `--rules DIR`, each file checked at load with the
//! file and the reason (bad TOML, unknown keys, a regex that does not compile, an unknown placeholder, an id that
//! is not the file name, a duplicate id).

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use include_dir::{include_dir, Dir};
use regex::Regex;
use serde::Deserialize;

use super::{placeholders, Example, Rule, CONTEXT_FIELDS, TOPOLOGY_DIR, TYPES_DIR};
use crate::error::{Error, Location};
use crate::template::ResourceTypes;
use crate::vocabulary::{Category, Layer, Role, Topology};

pub(super) static BUILTIN: Dir<'_> = include_dir!("$CARGO_MANIFEST_DIR/rules");

/// A file of the embedded `rules/` folder as text, by its path inside it (`preflight/properties.json`): data
/// other stages read is embedded once, with the catalog.
pub fn builtin_text(path: &str) -> Option<&'static str> {
    BUILTIN.get_file(path)?.contents_utf8()
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
    #[serde(default = "default_layer")]
    layer: Layer,
    /// For wordings and the code layers: the wording or code says little (`must be`, `ValidationError`,
    /// `InvalidRequest`, status 400), so it decides only below wrappers.
    #[serde(default)]
    generic: bool,
    /// For the text layers (rule, wrapper, wording): the regex.
    #[serde(default)]
    pattern: Option<String>,
    /// For the code layers: the codes, `*` matching any run of characters and `?` one.
    #[serde(default)]
    codes: Vec<String>,
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

fn default_layer() -> Layer {
    Layer::Rule
}

/// One regex for a code list: each code anchored, `*` any run of code characters, `?` one.
fn codes_regex(codes: &[String]) -> Result<String, String> {
    let mut alts = Vec::new();
    for c in codes {
        if c.is_empty()
            || !c
                .chars()
                .all(|ch| ch.is_ascii_alphanumeric() || matches!(ch, '*' | '?' | '.' | '_' | '-'))
        {
            return Err(format!("code {c:?} is not a code (letters, digits, '.', '_', '-', and the wildcards '*' and '?')"));
        }
        let mut r = String::new();
        for ch in c.chars() {
            match ch {
                '*' => r.push_str("[\\w.-]*"),
                '?' => r.push_str("[\\w.-]"),
                other => r.push_str(&regex::escape(&other.to_string())),
            }
        }
        alts.push(r);
    }
    Ok(format!("^(?:{})$", alts.join("|")))
}

/// The pattern a rule matches with: its own regex (text layers) or one built from its codes (code layers).
fn rule_pattern(raw: &RuleFile) -> Result<String, String> {
    let code_layer = raw.layer.matches_codes();
    match (&raw.pattern, raw.codes.is_empty()) {
        (Some(_), false) => {
            Err("a rule has either a pattern (text layers) or codes (code layers), not both".into())
        }
        (Some(p), true) if !code_layer => Ok(p.clone()),
        (None, false) if code_layer => {
            if raw.layer == Layer::Status
                && !raw
                    .codes
                    .iter()
                    .all(|c| c.len() == 3 && c.chars().all(|ch| ch.is_ascii_digit() || ch == '?'))
            {
                return Err("a status rule's codes are HTTP statuses: three digits, '?' for any digit (\"5??\")".into());
            }
            codes_regex(&raw.codes)
        }
        _ if code_layer => Err(format!(
            "a rule of layer {:?} matches codes: give codes = [...] and no pattern",
            raw.layer.as_str()
        )),
        _ => Err(format!(
            "a rule of layer {:?} matches text: give a pattern and no codes",
            raw.layer.as_str()
        )),
    }
}

pub(super) struct SourceFile {
    /// Path relative to the rules root, with `/` separators.
    rel: String,
    origin: String,
    text: String,
}

pub(super) fn collect_builtin(dir: &Dir<'_>, out: &mut Vec<SourceFile>) {
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

pub(super) fn read_dir(dir: &Path) -> Result<Vec<SourceFile>, Error> {
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

/// What a folder of rule files holds: rules, topologies, and the resource-type table.
pub(super) type Parsed = (Vec<Rule>, Vec<Topology>, ResourceTypes);

pub(super) fn parse_all(mut files: Vec<SourceFile>) -> Result<Parsed, Error> {
    files.sort_by(|a, b| a.rel.cmp(&b.rel));
    let mut rules: Vec<Rule> = Vec::new();
    let mut topologies = Vec::new();
    let mut types = ResourceTypes::default();
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
        if f.rel.starts_with(&format!("{TYPES_DIR}/")) {
            types
                .add_file(&f.text, &f.origin)
                .map_err(|(span, reason)| Error::Rule {
                    location: match span {
                        Some(s) => Location::at(f.origin.clone(), f.text.as_bytes(), s.start),
                        None => Location::file(f.origin.clone()),
                    },
                    reason,
                })?;
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
    Ok((rules, topologies, types))
}

fn loc(origin: &str) -> Location {
    Location::file(origin)
}

fn toml_error(f: &SourceFile, e: &toml::de::Error) -> Error {
    let location = match e.span() {
        Some(span) => Location::at(f.origin.clone(), f.text.as_bytes(), span.start),
        None => Location::file(f.origin.clone()),
    };
    Error::Rule {
        location,
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
    let pattern = rule_pattern(&raw).map_err(bad)?;
    if raw.generic && !(raw.layer.matches_codes() || raw.layer == Layer::Wording) {
        return Err(bad(
            "only a wording or a code layer (error-code, handler-code, status) can be generic"
                .into(),
        ));
    }
    if raw.layer == Layer::HandlerCode && !raw.handler_error_codes.is_empty() {
        return Err(bad("a handler-code rule lists its codes in codes = [...]; handler_error_codes filters text rules".into()));
    }
    let regex = Regex::new(&pattern).map_err(|e| bad(format!("pattern does not compile: {e}")))?;
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
        layer: raw.layer,
        generic: raw.generic,
        codes: raw.codes,
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
