//! Classify: turns evidence records into classified failures.
//!
//! Takes an [`Evidence`] and a rule [`Catalog`]; gives a list of [`Failure`]s — every failed stack event,
//! operation result, stack instance and operation, with sightings of the same failure merged into one that keeps
//! all its sources — each with its message unwrapped ([`unwrap`]) and matched against the catalog ([`rules`]).

pub mod codes;
mod drafts;
mod merge;
pub mod rules;
pub mod ruletest;
pub mod unwrap;

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};
use serde::Serialize;

use crate::evidence::Evidence;
use crate::vocabulary::{Category, FailureId, Layer, Level, Role};
pub use drafts::only_warned;
pub use rules::{Catalog, Rule};
pub use unwrap::{Envelope, Unwrapped};

/// What the catalog made of a message.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Classification {
    /// The rule that decided (of any layer).
    pub rule: Option<String>,
    pub title: Option<String>,
    pub category: Category,
    pub role: Role,
    /// What decided: the rule id, `error-code:X`, `handler-error-code:X`, `status:N` or `wording:ID`.
    pub matched_by: Option<String>,
    /// The layer of the deciding rule.
    pub layer: Option<Layer>,
    /// How much the deciding layer knows (0 when nothing matched).
    pub confidence: f32,
    #[serde(skip)]
    pub priority: i32,
    /// The rule's captures plus what the envelopes carried (logical id, service, status code, ...).
    pub fields: BTreeMap<String, String>,
}

impl Classification {
    pub fn unknown(fields: BTreeMap<String, String>) -> Self {
        Classification {
            rule: None,
            title: None,
            category: Category::Other,
            role: Role::Unknown,
            matched_by: None,
            layer: None,
            confidence: 0.0,
            priority: 0,
            fields,
        }
    }
}

/// One place a failure was seen.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, schemars::JsonSchema)]
pub struct Sighting {
    /// `stack-event`, `hook`, `stack`, `operation-result`, `account-gate`, `stack-instance` or `operation`.
    #[schemars(extend("enum" = [
        "stack-event", "hook", "stack", "operation-result", "account-gate", "stack-instance", "operation"
    ]))]
    pub kind: &'static str,
    pub status: String,
    pub file: String,
    pub pointer: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Failure {
    pub id: FailureId,
    pub level: Level,
    pub stack_set: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub stack_id: Option<String>,
    pub stack_name: Option<String>,
    pub operation_id: Option<String>,
    pub logical_id: Option<String>,
    pub resource_type: Option<String>,
    pub physical_id: Option<String>,
    /// The failed resource's resolved properties (JSON text), when its stack event carried them.
    #[serde(skip)]
    pub properties: Option<String>,
    pub status: String,
    pub timestamp: Option<DateTime<Utc>>,
    /// The status reason as AWS wrote it.
    pub raw_message: String,
    /// The innermost message, after unwrapping envelopes.
    pub message: String,
    pub envelope: Envelope,
    pub class: Classification,
    pub sources: Vec<Sighting>,
    /// The CloudTrail event of the call that failed, when one matched (the `trail` stage fills it).
    pub trail: Option<crate::trail::TrailEvidence>,
    /// What the CloudTrail search of the failure's window found (the `trail` stage fills it).
    pub trail_search: Option<crate::trail::TrailSearch>,
}

/// Classifies messages, remembering each distinct (message, resource type, status): the same message repeats
/// across accounts and regions, and a rule catalog pass is the expensive part.
pub struct Classifier<'c> {
    pub catalog: &'c Catalog,
    cache: HashMap<(String, Option<String>, String), Classified>,
}

/// A message's envelope, its innermost text, and what the catalog made of it.
type Classified = (Envelope, String, Classification);

impl<'c> Classifier<'c> {
    pub fn new(catalog: &'c Catalog) -> Self {
        Classifier {
            catalog,
            cache: HashMap::new(),
        }
    }

    /// The envelope, the innermost message and its classification; a message seen before is neither unwrapped
    /// nor matched again.
    pub fn classify(
        &mut self,
        raw: &str,
        resource_type: Option<&str>,
        status: &str,
    ) -> (Envelope, String, Classification) {
        let key = (
            raw.to_owned(),
            resource_type.map(str::to_owned),
            status.to_owned(),
        );
        let catalog = self.catalog;
        self.cache
            .entry(key)
            .or_insert_with(|| classify_message(catalog, raw, resource_type, Some(status)))
            .clone()
    }
}

/// Unwrap and classify one message as written (used by `explain` and the [`Classifier`]): line breaks a terminal
/// or a copy put inside it are folded to spaces first (docs/classification.md#normalising).
pub fn classify_message(
    catalog: &Catalog,
    raw: &str,
    resource_type: Option<&str>,
    status: Option<&str>,
) -> (Envelope, String, Classification) {
    let text = crate::text::fold_whitespace(raw);
    let u = unwrap::unwrap(&text);
    let c = classify_unwrapped(catalog, &u, resource_type, status);
    (u.envelope.clone(), u.innermost().to_owned(), c)
}

/// Classify one unwrapped message (used by `explain` and by the [`Classifier`]).
pub fn classify_unwrapped(
    catalog: &Catalog,
    u: &Unwrapped<'_>,
    resource_type: Option<&str>,
    status: Option<&str>,
) -> Classification {
    let mut fields = envelope_fields(&u.envelope);
    let ctx = rules::MatchContext {
        resource_type: resource_type.or(u.envelope.resource_type.as_deref()),
        status,
        handler_error_code: u.envelope.handler_error_code.as_deref(),
    };
    let codes = codes::codes(u);
    match catalog.decide(u, &codes, &ctx) {
        Some(m) => {
            fields.extend(m.captures);
            Classification {
                rule: Some(m.rule.id.clone()),
                title: Some(m.rule.title.clone()),
                category: m.rule.category,
                role: m.rule.role,
                matched_by: Some(m.matched_by.to_string()),
                layer: Some(m.rule.layer),
                confidence: m.confidence,
                priority: m.rule.priority,
                fields,
            }
        }
        None => Classification::unknown(fields),
    }
}

fn envelope_fields(e: &Envelope) -> BTreeMap<String, String> {
    let mut f = BTreeMap::new();
    let mut put = |k: &str, v: &Option<String>| {
        if let Some(v) = v {
            f.insert(k.to_owned(), v.clone());
        }
    };
    put("logical_id", &e.logical_id);
    put("resource_type", &e.resource_type);
    put("handler_error_code", &e.handler_error_code);
    put("service", &e.service);
    put("status_code", &e.status_code);
    put("error_code", &e.error_code);
    put("request_id", &e.request_id);
    f
}
/// Every failure in the evidence, merged and classified, in a stable order; each failure's id is its position.
/// Sightings that a rule calls benign (not a failure at all) are dropped; their count is returned too.
pub fn extract_failures(evidence: &Evidence, catalog: &Catalog) -> (Vec<Failure>, usize) {
    let drafts = drafts::drafts(evidence);
    let mut classifier = Classifier::new(catalog);
    let mut failures = merge::merge(drafts, &mut classifier);
    merge::assign_operations(&mut failures, evidence);
    let before = failures.len();
    failures.retain(|f| f.class.role != Role::Benign);
    let benign = before - failures.len();
    failures.sort_by(|a, b| {
        (
            a.timestamp.is_none(),
            a.timestamp,
            &a.stack_set,
            &a.account,
            &a.region,
            a.level,
            &a.logical_id,
            &a.message,
        )
            .cmp(&(
                b.timestamp.is_none(),
                b.timestamp,
                &b.stack_set,
                &b.account,
                &b.region,
                b.level,
                &b.logical_id,
                &b.message,
            ))
    });
    for (i, f) in failures.iter_mut().enumerate() {
        f.id = FailureId(i);
        f.sources.sort();
        f.sources.dedup();
    }
    (failures, benign)
}

/// Failures by id.
impl std::ops::Index<FailureId> for [Failure] {
    type Output = Failure;
    fn index(&self, id: FailureId) -> &Failure {
        &self[id.0]
    }
}

impl std::ops::Index<FailureId> for Vec<Failure> {
    type Output = Failure;
    fn index(&self, id: FailureId) -> &Failure {
        &self[id.0]
    }
}
