//! What each resource of a template will ask for when its stack is created: the create handler's actions, each
//! `certain` (the template's properties make the handler call it) or `possible` (listed, not settled by the
//! template), with the ARN it acts on as far as the template tells — docs/preflight.md#certain-and-possible.

use serde::Serialize;
use serde_json::Value;

use super::data::{Data, TypeRules};
use crate::template::resolve::{Resolved, Scope};
use crate::template::types::IdKind;
use crate::template::{Pattern, Piece, Resource};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Certainty {
    Certain,
    Possible,
}

impl Certainty {
    pub fn as_str(self) -> &'static str {
        match self {
            Certainty::Certain => "certain",
            Certainty::Possible => "possible",
        }
    }
}

/// One action one resource will need.
#[derive(Debug, Clone, PartialEq)]
pub struct Need {
    pub logical_id: String,
    pub resource_type: String,
    pub action: String,
    pub certainty: Certainty,
    /// The ARN acted on, as far as the template tells (unknown parts are `Piece::Any`); `None`: not known at all.
    pub resource: Option<Pattern>,
    /// Why certain (the property), or why only possible.
    pub because: String,
}

/// A resource the data does not know: none of its actions can be checked.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Unknown {
    pub logical_id: String,
    pub resource_type: String,
    pub reason: String,
}

/// A property's value at a dotted path (`Code.S3Bucket`); JSON null is absent.
fn at<'v>(props: &'v Value, path: &str) -> Option<&'v Value> {
    let mut v = props;
    for part in path.split('.') {
        v = v.get(part)?;
    }
    (!v.is_null()).then_some(v)
}

/// Whether a value is `Ref: AWS::NoValue` (the property is then absent).
fn no_value(v: &Value) -> bool {
    v.get("Ref").and_then(Value::as_str) == Some("AWS::NoValue")
}

/// Does the property's value equal `want`? `None` when the template cannot tell (a parameter without a value,
/// a condition).
fn equals(scope: &Scope<'_>, v: &Value, want: &Value) -> Option<bool> {
    let literal = match v {
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        Value::String(s) => Some(s.clone()),
        _ => match scope.resolve(v) {
            Resolved::Str(p) => p.as_literal().map(str::to_owned),
            _ => None,
        },
    }?;
    let want = match want {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    Some(literal.eq_ignore_ascii_case(&want))
}

/// The service prefix of an ARN pattern (`arn:{partition}:s3:::...` → `s3`), when its text fixes it.
fn arn_service(p: &Pattern) -> Option<String> {
    let mut text = String::new();
    for piece in p.pieces() {
        match piece {
            Piece::Lit(s) => text.push_str(s),
            Piece::Partition => text.push_str("aws"),
            _ => break,
        }
        if text.matches(':').count() >= 3 {
            break;
        }
    }
    let mut parts = text.split(':');
    (parts.next() == Some("arn")).then_some(())?;
    parts.next()?;
    parts.next().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The resource's own ARN (from the type table), when it has one.
fn own_arn(scope: &Scope<'_>, r: &Resource) -> Option<Pattern> {
    scope
        .identifiers(r)
        .into_iter()
        .find(|(k, _)| *k == IdKind::Arn)
        .map(|(_, p)| p)
}

/// The ARN an action acts on: a property naming it, else the resource's own ARN for an action of its service,
/// else unknown.
fn resource_for(
    scope: &Scope<'_>,
    r: &Resource,
    own: &Option<(Pattern, String)>,
    action: &str,
    from_property: Option<&str>,
) -> Option<Pattern> {
    if let Some(prop) = from_property {
        return Some(
            at(&r.properties, prop)
                .and_then(|v| scope.pattern(v))
                .unwrap_or_else(Pattern::any),
        );
    }
    let service = action.split(':').next().unwrap_or_default();
    match own {
        Some((p, s)) if s.eq_ignore_ascii_case(service) => Some(p.clone()),
        _ => None,
    }
}

/// Every action the template's resources will need on create; resources the data does not know are listed apart.
pub fn needs(scope: &Scope<'_>, data: &Data) -> (Vec<Need>, Vec<Unknown>) {
    let mut out = Vec::new();
    let mut unknown = Vec::new();
    for r in &scope.template.resources {
        if r.resource_type.starts_with("Custom::")
            || r.resource_type == "AWS::CloudFormation::CustomResource"
        {
            unknown.push(Unknown {
                logical_id: r.logical_id.clone(),
                resource_type: r.resource_type.clone(),
                reason: "a custom resource: what its function calls is its own, under its own role"
                    .into(),
            });
            continue;
        }
        let Some(h) = data.handlers.get(&r.resource_type) else {
            unknown.push(Unknown {
                logical_id: r.logical_id.clone(),
                resource_type: r.resource_type.clone(),
                reason: format!(
                    "not in the registry's resource types (cfn-lint {})",
                    data.provenance.cfn_lint
                ),
            });
            continue;
        };
        if h.create.is_empty() {
            unknown.push(Unknown {
                logical_id: r.logical_id.clone(),
                resource_type: r.resource_type.clone(),
                reason: "its registry schema lists no create handler permissions".into(),
            });
            continue;
        }
        let own = own_arn(scope, r).and_then(|p| arn_service(&p).map(|s| (p, s)));
        let rules = data.rules.get(&r.resource_type);
        let certain = certain_actions(scope, r, rules);
        for action in &h.create {
            let hit = certain
                .iter()
                .find(|(a, _, _)| a.eq_ignore_ascii_case(action));
            let (certainty, because, from) = match hit {
                Some((_, why, from)) => (Certainty::Certain, why.clone(), from.as_deref()),
                None => (
                    Certainty::Possible,
                    if rules.is_some() {
                        "listed by the create handler; no property of this resource settles it"
                            .to_owned()
                    } else {
                        "listed by the create handler; this type has no property map, so none is settled"
                            .to_owned()
                    },
                    None,
                ),
            };
            out.push(Need {
                logical_id: r.logical_id.clone(),
                resource_type: r.resource_type.clone(),
                action: action.clone(),
                certainty,
                resource: resource_for(scope, r, &own, action, from),
                because,
            });
        }
    }
    (out, unknown)
}

/// The actions the map makes certain for this resource: (action, why, the property naming its resource).
fn certain_actions(
    scope: &Scope<'_>,
    r: &Resource,
    rules: Option<&TypeRules>,
) -> Vec<(String, String, Option<String>)> {
    let Some(rules) = rules else {
        return Vec::new();
    };
    let mut out: Vec<(String, String, Option<String>)> = rules
        .base
        .iter()
        .map(|a| {
            (
                a.clone(),
                "the create handler always calls it".to_owned(),
                None,
            )
        })
        .collect();
    for p in &rules.properties {
        let Some(v) = at(&r.properties, &p.property).filter(|v| !no_value(v)) else {
            continue;
        };
        let why = match &p.equals {
            None => format!("the template sets {}", p.property),
            Some(want) => match equals(scope, v, want) {
                Some(true) => format!("the template sets {} to {want}", p.property),
                _ => continue,
            },
        };
        for a in &p.actions {
            if !out.iter().any(|(x, _, _)| x.eq_ignore_ascii_case(a)) {
                out.push((a.clone(), why.clone(), p.resource.clone()));
            }
        }
    }
    out
}
