//! What other stack sets provide: every identifier their templates (or a known topology) create — roles, keys
//! and aliases, topics, queues, buckets, log groups, functions, parameters, secrets, exports — as patterns over
//! the target account and Region, all in one automaton, so a failure naming one of them can be traced to the
//! stack set that should have created it (docs/cross-stack-links.md).

use std::collections::HashMap;

use regex::{Regex, RegexSet};
use serde_json::{json, Value};

use crate::evidence::Evidence;
use crate::template::provides::{provided, Provided};
use crate::template::resolve::Scope;
use crate::template::types::IdKind;
use crate::template::{Pattern, ResourceTypes, Template};
use crate::vocabulary::{confidence, LinkKind, Topology};

/// One identifier another stack set creates.
pub(super) struct Provider {
    /// Stack set name, or a pattern (`*` wildcards) for a topology.
    pub(super) stack_set: String,
    /// The creating resource (its own failure is the best link).
    pub(super) logical_id: Option<String>,
    pub(super) resource_type: String,
    pub(super) kind: IdKind,
    pub(super) pattern: Pattern,
    regex: Regex,
    pub(super) retained: bool,
    pub(super) dependants: Vec<String>,
    /// The thing lives in one account (its ARN names it), or one Region: a name that does not say which is the
    /// consumer's own.
    pub(super) account_scoped: bool,
    pub(super) regional: bool,
    /// An instance's own parameter values made this identifier: it lives only there.
    pub(super) only: Option<(String, String)>,
    pub(super) link: LinkKind,
    pub(super) confidence: f32,
    /// Where we learned it, for people: "the template of stack set X (resource Y)".
    pub(super) via: String,
}

/// Where a named identifier lives, as its match says.
#[derive(Debug, Clone)]
pub(super) struct Match {
    pub(super) provider: usize,
    pub(super) account: Option<String>,
    pub(super) region: Option<String>,
}

pub(super) struct Providers {
    pub(super) all: Vec<Provider>,
    set: Option<RegexSet>,
    /// Each stack set's parsed template, for what its own resources name.
    pub(super) templates: HashMap<String, Template>,
    /// Templates that could not be read, said in the report.
    pub(super) notes: Vec<String>,
}

/// The stack set's parameter values, then an instance's overrides.
pub(super) fn values(
    evidence: &Evidence,
    stack_set: &str,
    overrides: &[crate::evidence::Parameter],
) -> HashMap<String, String> {
    let mut v: HashMap<String, String> = HashMap::new();
    // A stack set may be in the evidence more than once (its `list-stack-sets` summary and its
    // `describe-stack-set`): every record's parameters count.
    for s in evidence.stack_sets.iter().filter(|s| s.name == stack_set) {
        for p in &s.parameters {
            if let Some(val) = &p.value {
                v.insert(p.key.clone(), val.clone());
            }
        }
    }
    for p in overrides {
        if let Some(val) = &p.value {
            v.insert(p.key.clone(), val.clone());
        }
    }
    v
}

impl Providers {
    pub(super) fn learn(
        evidence: &Evidence,
        topologies: &[Topology],
        types: &ResourceTypes,
    ) -> Providers {
        let mut p = Providers {
            all: Vec::new(),
            set: None,
            templates: HashMap::new(),
            notes: Vec::new(),
        };
        for s in &evidence.stack_sets {
            let Some(body) = s.template_body.as_deref() else {
                continue;
            };
            let t = match Template::parse(body) {
                Ok(t) => t,
                Err(e) => {
                    p.notes.push(format!(
                        "the template of stack set {} could not be read ({e}): what it creates is not known, so failures elsewhere cannot be traced to it",
                        s.name
                    ));
                    continue;
                }
            };
            let base = values(evidence, &s.name, &[]);
            p.add_template(&t, types, &s.name, &base, None);
            // Instances whose own parameter values change what they create.
            for i in evidence.stack_instances.iter().filter(|i| {
                i.stack_set.as_deref() == Some(s.name.as_str()) && !i.parameter_overrides.is_empty()
            }) {
                let v = values(evidence, &s.name, &i.parameter_overrides);
                p.add_template(
                    &t,
                    types,
                    &s.name,
                    &v,
                    Some((i.account.clone(), i.region.clone())),
                );
            }
            p.templates.insert(s.name.clone(), t);
        }
        for t in topologies {
            for prov in &t.provides {
                let rtype = prov.resource_type.as_deref().unwrap_or("AWS::IAM::Role");
                let Some(def) = types.get(rtype) else {
                    continue;
                };
                let name_prop = def.name.clone().unwrap_or_else(|| "Name".into());
                let doc = json!({"Resources": {prov.logical_id.as_deref().unwrap_or("Provided"): {
                    "Type": rtype,
                    "Properties": {name_prop: prov.name()},
                }}});
                let tpl = Template::parse(&doc.to_string()).unwrap_or_default();
                let values = HashMap::new();
                let scope = Scope {
                    template: &tpl,
                    types,
                    values: &values,
                    stack_set: &prov.stack_set,
                    target: None,
                };
                for x in provided(&scope) {
                    let via = format!("known topology {} (stack sets {})", t.id, prov.stack_set);
                    let logical = prov.logical_id.clone();
                    p.push(
                        x,
                        &prov.stack_set,
                        logical,
                        None,
                        LinkKind::KnownTopology,
                        confidence::KNOWN_TOPOLOGY,
                        via,
                    );
                }
            }
        }
        p.set = RegexSet::new(p.all.iter().map(|x| x.regex.as_str())).ok();
        p
    }

    fn add_template(
        &mut self,
        t: &Template,
        types: &ResourceTypes,
        stack_set: &str,
        values: &HashMap<String, String>,
        only: Option<(String, String)>,
    ) {
        let scope = Scope {
            template: t,
            types,
            values,
            stack_set,
            target: None,
        };
        for x in provided(&scope) {
            let via = match &x.output {
                Some(o) => format!("the template of stack set {stack_set} (output {o})"),
                None => format!(
                    "the template of stack set {stack_set} (resource {})",
                    x.logical_id
                ),
            };
            let logical = Some(x.logical_id.clone());
            self.push(
                x,
                stack_set,
                logical,
                only.clone(),
                LinkKind::TemplateReference,
                confidence::TEMPLATE_REFERENCE,
                via,
            );
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn push(
        &mut self,
        x: Provided,
        stack_set: &str,
        logical_id: Option<String>,
        only: Option<(String, String)>,
        link: LinkKind,
        confidence: f32,
        via: String,
    ) {
        // Where it lives, from its ARN (an export lives in its account and Region).
        let arn = x
            .ids
            .iter()
            .find(|(k, _)| *k == IdKind::Arn)
            .map(|(_, p)| p);
        let (account_scoped, regional) = match arn {
            Some(a) => (a.names_account(), a.names_region()),
            None => (true, true),
        };
        for (kind, pattern) in x.ids {
            // An instance's overrides that change nothing add nothing.
            if only.is_some()
                && self.all.iter().any(|p| {
                    p.stack_set == stack_set
                        && p.kind == kind
                        && p.pattern == pattern
                        && p.only.is_none()
                })
            {
                continue;
            }
            let Ok(regex) = Regex::new(&pattern.regex()) else {
                continue;
            };
            self.all.push(Provider {
                stack_set: stack_set.to_owned(),
                logical_id: logical_id.clone(),
                resource_type: x.resource_type.clone(),
                kind,
                pattern,
                regex,
                retained: x.retained,
                dependants: x.dependants.clone(),
                account_scoped,
                regional,
                only: only.clone(),
                link,
                confidence,
                via: via.clone(),
            });
        }
    }

    /// The providers of an identifier someone names, and where the match says it lives. `export_name`: the text
    /// may be an export's name (named in a message or by `Fn::ImportValue`); property values never are.
    pub(super) fn matching(&self, text: &str, export_name: bool, only_exports: bool) -> Vec<Match> {
        let Some(set) = &self.set else {
            return Vec::new();
        };
        // An ARN the way a log group's is written (`...:log-group:name:*`) names the same thing.
        let text = text.strip_suffix(":*").unwrap_or(text);
        set.matches(text)
            .into_iter()
            .filter_map(|i| {
                let p = &self.all[i];
                let is_export = p.kind == IdKind::Export;
                if (is_export && !export_name) || (only_exports && !is_export) {
                    return None;
                }
                let c = p.regex.captures(text)?;
                let account = c.name("account").map(|m| m.as_str().to_owned());
                let region = c.name("region").map(|m| m.as_str().to_owned());
                if let (Some((a, r)), Some(acc)) = (&p.only, &account) {
                    if a != acc || region.as_ref().is_some_and(|reg| reg != r) {
                        return None;
                    }
                }
                Some(Match {
                    provider: i,
                    account,
                    region,
                })
            })
            .collect()
    }
}

/// One stack set that creates an identifier someone names, and where the thing lives: the answer
/// [`Creators::who_creates`] gives a preflight (docs/preflight.md#ordering).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creation {
    /// Stack set name, or a pattern (`*` wildcards) for a known topology.
    pub stack_set: String,
    /// The creating resource.
    pub logical_id: Option<String>,
    pub resource_type: String,
    /// `name`, `arn`, `url`, `export`.
    pub kind: &'static str,
    /// The account and Region the identifier names (captured from the match).
    pub account: Option<String>,
    pub region: Option<String>,
    /// The thing lives in one account (its ARN names one) / one Region: a name that does not say which is the
    /// consumer's own.
    pub account_scoped: bool,
    pub regional: bool,
    /// From a known topology rather than a template in the evidence.
    pub topology: bool,
    /// Where this was learned, for people: "the template of stack set X (resource Y)".
    pub via: String,
}

/// What the evidence's stack sets (and the known topologies) create, asked one name at a time — the same
/// learning the cross-stack-set link uses, behind a question.
pub struct Creators(Providers);

impl Creators {
    pub fn learn(evidence: &Evidence, topologies: &[Topology], types: &ResourceTypes) -> Creators {
        Creators(Providers::learn(evidence, topologies, types))
    }

    /// Who creates `text`, a name a template uses (`import`: through `Fn::ImportValue`, so only an export).
    pub fn who_creates(&self, text: &str, import: bool) -> Vec<Creation> {
        self.0
            .matching(text, import, import)
            .into_iter()
            .map(|m| {
                let p = &self.0.all[m.provider];
                Creation {
                    stack_set: p.stack_set.clone(),
                    logical_id: p.logical_id.clone(),
                    resource_type: p.resource_type.clone(),
                    kind: p.kind.as_str(),
                    account: m.account,
                    region: m.region,
                    account_scoped: p.account_scoped,
                    regional: p.regional,
                    topology: p.link == LinkKind::KnownTopology,
                    via: p.via.clone(),
                }
            })
            .collect()
    }
}

/// The consumer's resource as its stack set's template declares it, for what it names when the stack event does
/// not carry its properties.
pub(super) fn template_resource<'t>(
    templates: &'t HashMap<String, Template>,
    stack_set: &str,
    logical_id: &str,
) -> Option<(&'t Template, &'t crate::template::Resource)> {
    let t = templates.get(stack_set)?;
    Some((t, t.resource(logical_id)?))
}

/// Properties JSON text as a value (a stack event's `ResourceProperties`).
pub(super) fn properties(text: &str) -> Option<Value> {
    serde_json::from_str(text).ok()
}

/// `arn:aws:iam::121212121212:role/path/Name` → ("121212121212", "Name").
pub fn parse_role_arn(arn: &str) -> Option<(&str, &str)> {
    let arn = arn.trim_matches('"');
    let parts = crate::ids::Arn::parse(arn)?;
    if parts.service != "iam" {
        return None;
    }
    let path = parts.resource.strip_prefix("role/")?;
    let name = path.rsplit('/').next()?;
    (!name.is_empty() && parts.account.len() == 12).then_some((parts.account, name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_parse_with_and_without_path() {
        assert_eq!(
            parse_role_arn(
                "arn:aws:iam::121212121212:role/ManagedInstance-CrossAccountManagementRole"
            ),
            Some(("121212121212", "ManagedInstance-CrossAccountManagementRole"))
        );
        assert_eq!(
            parse_role_arn("arn:aws-cn:iam::121212121212:role/a/b/Name"),
            Some(("121212121212", "Name"))
        );
        assert_eq!(
            parse_role_arn("arn:aws:sts::121212121212:assumed-role/x/y"),
            None
        );
        assert_eq!(parse_role_arn("arn:aws:iam::1212:role/x"), None);
    }
}
