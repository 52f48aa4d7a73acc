//! Templates: what a stack set's template creates and what its resources name, for a given account and Region
//! (docs/cross-stack-links.md).
//!
//! Takes a template's text (YAML with short-form tags, or JSON) and the type table (`rules/resource-types/`);
//! gives its parameters, resources and exports ([`Template`]), the identifiers each resource will have once
//! deployed — names, ARNs and URLs as [`Pattern`]s over the target account, Region and partition, with parameters
//! and pseudo parameters substituted ([`resolve`]) — and the identifiers a resource's properties name
//! ([`needs`]). The graph uses both sides to follow a failure from one stack set into another.

pub mod needs;
pub mod pattern;
pub mod provides;
pub mod resolve;
pub mod types;
pub mod yaml;

use std::collections::BTreeMap;

use serde_json::Value;

pub use pattern::{Pattern, Piece};
pub use types::ResourceTypes;

/// A parsed template: the parts the links need.
#[derive(Debug, Clone, Default)]
pub struct Template {
    /// Parameters and their defaults.
    pub parameters: BTreeMap<String, Option<String>>,
    pub mappings: Value,
    pub resources: Vec<Resource>,
    pub outputs: Vec<Output>,
}

#[derive(Debug, Clone)]
pub struct Resource {
    pub logical_id: String,
    pub resource_type: String,
    pub properties: Value,
    /// `DeletionPolicy: Retain` (or `RetainExceptOnCreate`): a rollback leaves the resource in place.
    pub retained: bool,
}

#[derive(Debug, Clone)]
pub struct Output {
    pub name: String,
    pub value: Value,
    /// `Export.Name`, when the output is exported.
    pub export: Option<Value>,
}

impl Template {
    /// Read a template's text, JSON or YAML; the error says where it is broken.
    pub fn parse(text: &str) -> Result<Template, String> {
        let trimmed = text.trim_start_matches('\u{feff}').trim_start();
        let doc: Value = if trimmed.starts_with('{') {
            serde_json::from_str(trimmed)
                .map_err(|e| format!("line {}, column {}: {e}", e.line(), e.column()))?
        } else {
            yaml::parse(text)?
        };
        Ok(Template::from_value(&doc))
    }

    fn from_value(doc: &Value) -> Template {
        let scalar = |v: &Value| match v {
            Value::String(s) => Some(s.clone()),
            Value::Number(n) => Some(n.to_string()),
            Value::Bool(b) => Some(b.to_string()),
            _ => None,
        };
        let parameters = doc["Parameters"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| (k.clone(), scalar(&v["Default"])))
                    .collect()
            })
            .unwrap_or_default();
        let resources = doc["Resources"]
            .as_object()
            .map(|m| {
                m.iter()
                    .filter_map(|(k, v)| {
                        let policy = v["DeletionPolicy"].as_str().unwrap_or("");
                        Some(Resource {
                            logical_id: k.clone(),
                            resource_type: v["Type"].as_str()?.to_owned(),
                            properties: v["Properties"].clone(),
                            retained: policy.starts_with("Retain"),
                        })
                    })
                    .collect()
            })
            .unwrap_or_default();
        let outputs = doc["Outputs"]
            .as_object()
            .map(|m| {
                m.iter()
                    .map(|(k, v)| Output {
                        name: k.clone(),
                        value: v["Value"].clone(),
                        export: v.get("Export").map(|e| e["Name"].clone()),
                    })
                    .collect()
            })
            .unwrap_or_default();
        Template {
            parameters,
            mappings: doc["Mappings"].clone(),
            resources,
            outputs,
        }
    }

    pub fn resource(&self, logical_id: &str) -> Option<&Resource> {
        self.resources.iter().find(|r| r.logical_id == logical_id)
    }
}

/// Every logical id a value refers to (`Ref`, `Fn::GetAtt`, `${Res}` and `${Res.Attr}` in `Fn::Sub`), for the
/// resources that depend on another (a bucket's policy, a key's alias).
pub fn references(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(m) => {
            for (k, inner) in m {
                match (k.as_str(), inner) {
                    ("Ref", Value::String(s)) => out.push(s.clone()),
                    ("Fn::GetAtt", Value::Array(a)) => {
                        if let Some(s) = a.first().and_then(Value::as_str) {
                            out.push(s.to_owned());
                        }
                    }
                    ("Fn::GetAtt", Value::String(s)) => {
                        out.push(s.split('.').next().unwrap_or(s).to_owned());
                    }
                    ("Fn::Sub", _) => {
                        let s = match inner {
                            Value::String(s) => Some(s.as_str()),
                            Value::Array(a) => a.first().and_then(Value::as_str),
                            _ => None,
                        };
                        for var in s.map(resolve::sub_variables).unwrap_or_default() {
                            out.push(var.split('.').next().unwrap_or(var).to_owned());
                        }
                        references(inner, out);
                    }
                    _ => references(inner, out),
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| references(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests;
