//! The JSON Schemas of what this tool writes for other programs: the report (`stackset-doctor/report/v1`) and the
//! evidence bundle (`stackset-doctor/evidence/v1`), generated from the types serde serialises, so they cannot
//! drift from them. `docs/schema/` holds them as committed files, `stackset-doctor schema report|evidence` prints
//! them, and a test fails when the two differ. What the schemas promise and what they leave open:
//! `docs/json-contract.md`.
//!
//! Takes the report and bundle types (each derives `schemars::JsonSchema`, which reads their serde attributes and
//! doc comments); gives one schema document (draft 2020-12) for each. What a Rust type cannot say by itself is
//! said here: the document's constant `schema` key, and the report model's fields that are strings for the
//! renderers' sake but hold a vocabulary word or an id ([`REPORT_WORDS`]).

use schemars::generate::SchemaSettings;
use schemars::transform::{transform_subschemas, Transform};
use schemars::Schema;
use serde_json::{json, Value};

use crate::evidence::{Bundle, BUNDLE_SCHEMA};
use crate::report::model::REPORT_SCHEMA;
use crate::report::Report;
use crate::vocabulary::{Category, Level};

/// The documents there is a schema of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Document {
    /// The JSON report (`diagnose --format json`).
    Report,
    /// The evidence bundle (`diagnose --save`, `collect -o`).
    Evidence,
}

impl Document {
    pub const ALL: [Document; 2] = [Document::Report, Document::Evidence];

    /// The versioned name the document carries in its `schema` key; the schema's `$id` and title.
    pub fn name(self) -> &'static str {
        match self {
            Document::Report => REPORT_SCHEMA,
            Document::Evidence => BUNDLE_SCHEMA,
        }
    }

    /// The argument of `stackset-doctor schema` that prints it.
    pub fn arg(self) -> &'static str {
        match self {
            Document::Report => "report",
            Document::Evidence => "evidence",
        }
    }

    /// Where the committed schema lives, relative to the repository's root.
    pub fn committed_path(self) -> &'static str {
        match self {
            Document::Report => "docs/schema/report-v1.schema.json",
            Document::Evidence => "docs/schema/evidence-v1.schema.json",
        }
    }

    fn description(self) -> &'static str {
        match self {
            Document::Report => {
                "The JSON report of stackset-doctor (`diagnose --format json`): the root causes of a failed \
                 StackSet deployment, every failure with its cause, the links between them and what to change. \
                 Keys are only added within v1, so its objects allow properties this version does not list."
            }
            Document::Evidence => {
                "The evidence bundle of stackset-doctor (`diagnose --save`, `collect -o`): the facts a diagnosis \
                 reads, as plain data, so that it can be re-run anywhere. This is what the tool writes; reading a \
                 bundle, it also takes the lists that are written even when empty left out."
            }
        }
    }
}

/// What a report model's string field holds, beyond "a string".
#[derive(Debug, Clone, Copy)]
pub enum Word {
    /// A failure's level (`vocabulary::Level`).
    Level,
    /// A category (`vocabulary::Category`).
    Category,
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// A root cause's id, `R1`, `R2`, ... (where the field is one).
    RootCauseId,
    /// This very value.
    Const(&'static str),
}

/// The report model's string fields that hold a word of the vocabulary or an id: (`$defs` entry, property, what
/// it holds). The model keeps them as strings because that is what its renderers print; the schema lists the
/// values. A name here that the model no longer has is an error ([`schema`]), so the schema never loosens
/// silently.
pub const REPORT_WORDS: &[(&str, &str, Word)] = &[
    ("Tool", "name", Word::Const("stackset-doctor")),
    ("RootCauseOut", "id", Word::RootCauseId),
    ("RootCauseOut", "category", Word::Category),
    ("FailureOut", "level", Word::Level),
    ("FailureOut", "category", Word::Category),
    ("FailureOut", "role", Word::OneOf(&["root", "consequence"])),
    (
        "FailureOut",
        "rule_role",
        Word::OneOf(&["root", "consequence", "unknown"]),
    ),
    ("FailureOut", "root_cause", Word::RootCauseId),
    ("FailedInstance", "root_cause", Word::RootCauseId),
];

/// The schema of `doc`, as a JSON value; an error names a property of [`REPORT_WORDS`] the model no longer has.
pub fn schema(doc: Document) -> Result<Value, String> {
    let mut generator = SchemaSettings::draft2020_12()
        // What the types write (a field skipped when empty is optional, one always written is required), not
        // what reading would accept.
        .for_serialize()
        .with_transform(OneLineDescriptions)
        .into_generator();
    let schema = match doc {
        Document::Report => {
            let level = generator.subschema_for::<Level>();
            let category = generator.subschema_for::<Category>();
            let mut schema = generator.into_root_schema_for::<Report>();
            for &(def, property, word) in REPORT_WORDS {
                let pointer = format!("/$defs/{def}/properties/{property}");
                let Some(Value::Object(p)) = schema.pointer_mut(&pointer) else {
                    return Err(format!(
                        "the report schema names {def}.{property}, which the report model does not have"
                    ));
                };
                let description = p.remove("description");
                match word {
                    Word::Level | Word::Category => {
                        let target = if matches!(word, Word::Level) {
                            &level
                        } else {
                            &category
                        };
                        p.clear();
                        p.extend(target.as_object().cloned().unwrap_or_default());
                    }
                    Word::OneOf(values) => {
                        p.insert("enum".into(), json!(values));
                    }
                    Word::RootCauseId => {
                        p.insert("pattern".into(), "^R[1-9][0-9]*$".into());
                    }
                    Word::Const(value) => {
                        p.insert("const".into(), value.into());
                    }
                }
                if let Some(d) = description {
                    p.insert("description".into(), d);
                }
            }
            schema
        }
        Document::Evidence => generator.into_root_schema_for::<Bundle>(),
    };
    let mut schema = schema.to_value();
    if let Some(Value::Object(p)) = schema.pointer_mut("/properties/schema") {
        p.insert("const".into(), doc.name().into());
    }
    if let Value::Object(o) = &mut schema {
        o.insert("$id".into(), doc.name().into());
        o.insert("title".into(), doc.name().into());
        o.insert("description".into(), doc.description().into());
    }
    Ok(schema)
}

/// The schema of `doc` as the committed file holds it: indented JSON, written as every JSON this tool writes
/// (`crate::json`), its keys in [`Ordered`]'s order, and a final newline.
pub fn text(doc: Document) -> std::io::Result<String> {
    let schema = schema(doc).map_err(std::io::Error::other)?;
    let mut s = crate::json::to_string(&Ordered(&schema), true)?;
    s.push('\n');
    Ok(s)
}

/// Keys a reader looks for first, in this order; the others follow alphabetically, `$defs` last.
const FIRST_KEYS: [&str; 13] = [
    "$schema",
    "$id",
    "title",
    "description",
    "$ref",
    "type",
    "const",
    "enum",
    "pattern",
    "format",
    "minimum",
    "maximum",
    "required",
];

/// A schema serialised with its keys in one order whatever the JSON map keeps (insertion order or sorted: a
/// dependency's feature decides, and may differ between a build and a test build), so the committed files are
/// the same bytes from either.
struct Ordered<'v>(&'v Value);

impl serde::Serialize for Ordered<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        match self.0 {
            Value::Object(o) => {
                let rank = |k: &str| match FIRST_KEYS.iter().position(|f| *f == k) {
                    Some(i) => i,
                    None if k == "$defs" => FIRST_KEYS.len() + 1,
                    None => FIRST_KEYS.len(),
                };
                let mut keys: Vec<&String> = o.keys().collect();
                keys.sort_by(|a, b| rank(a).cmp(&rank(b)).then_with(|| a.cmp(b)));
                let mut map = s.serialize_map(Some(keys.len()))?;
                for k in keys {
                    map.serialize_entry(k, &Ordered(&o[k.as_str()]))?;
                }
                map.end()
            }
            Value::Array(a) => {
                let mut seq = s.serialize_seq(Some(a.len()))?;
                for v in a {
                    seq.serialize_element(&Ordered(v))?;
                }
                seq.end()
            }
            other => other.serialize(s),
        }
    }
}

/// Doc comments are wrapped to the source's width; a description is one paragraph per line.
#[derive(Clone)]
struct OneLineDescriptions;

impl Transform for OneLineDescriptions {
    fn transform(&mut self, schema: &mut Schema) {
        if let Some(Value::String(d)) = schema.get_mut("description") {
            *d = d
                .split("\n\n")
                .map(|para| {
                    para.split('\n')
                        .map(str::trim)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .collect::<Vec<_>>()
                .join("\n");
        }
        transform_subschemas(self, schema);
    }
}
