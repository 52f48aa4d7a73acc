//! What a preflight reads: a template file (a template, or `describe-stack-set` output holding one), or a bundle
//! whose stack sets carry their templates, targets (instances) and each account's SCP/RCP path
//! (docs/preflight.md#inputs). Bad input is an error naming the file.

use std::collections::{BTreeMap, HashMap};

use regex::Regex;
use serde_json::Value;

use super::{CouldNotCheck, ExecutionRole, Group, Plan};
use crate::error::{Error, Location};
use crate::evidence::Evidence;
use crate::template::{ResourceTypes, Template};
use crate::trace::remediation::EvidencePolicies;

/// A template and the parameter values it came with (a `describe-stack-set`'s `Parameters`).
pub struct TemplateInput {
    pub template: Template,
    pub parameters: HashMap<String, String>,
    /// From `describe-stack-set`: the stack set's name, permission model and execution role name.
    pub stack_set: Option<(String, Option<String>, Option<String>)>,
}

fn bad(label: &str, reason: String) -> Error {
    Error::BadValue {
        location: Location::file(label),
        reason,
    }
}

/// A template file's text: a template (YAML or JSON), or `describe-stack-set` output (its `TemplateBody`).
pub fn template_from_text(label: &str, text: &str) -> Result<TemplateInput, Error> {
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    if trimmed.starts_with('{') {
        if let Ok(v) = serde_json::from_str::<Value>(trimmed) {
            if let Some(ss) = v.get("StackSet").filter(|s| s.is_object()) {
                let body = ss["TemplateBody"].as_str().ok_or_else(|| {
                    bad(
                        label,
                        "describe-stack-set output without a TemplateBody".into(),
                    )
                })?;
                let template = Template::parse(body)
                    .map_err(|e| bad(label, format!("StackSet.TemplateBody: {e}")))?;
                let parameters = ss["Parameters"]
                    .as_array()
                    .map(|a| {
                        a.iter()
                            .filter_map(|p| {
                                Some((
                                    p["ParameterKey"].as_str()?.to_owned(),
                                    p["ParameterValue"].as_str()?.to_owned(),
                                ))
                            })
                            .collect()
                    })
                    .unwrap_or_default();
                let name = ss["StackSetName"].as_str().unwrap_or_default().to_owned();
                let str_of = |k: &str| ss[k].as_str().map(str::to_owned);
                return checked(
                    label,
                    TemplateInput {
                        template,
                        parameters,
                        stack_set: Some((
                            name,
                            str_of("PermissionModel"),
                            str_of("ExecutionRoleName"),
                        )),
                    },
                );
            }
        }
    }
    let template = Template::parse(text).map_err(|e| bad(label, format!("not a template: {e}")))?;
    checked(
        label,
        TemplateInput {
            template,
            parameters: HashMap::new(),
            stack_set: None,
        },
    )
}

fn checked(label: &str, t: TemplateInput) -> Result<TemplateInput, Error> {
    if t.template.resources.is_empty() {
        return Err(bad(
            label,
            "the template has no Resources (each needs a Type)".into(),
        ));
    }
    Ok(t)
}

/// `KEY=VALUE` parameter values from the command line.
pub fn parameters(given: &[String]) -> Result<HashMap<String, String>, Error> {
    given
        .iter()
        .map(|kv| {
            kv.split_once('=')
                .filter(|(k, _)| !k.trim().is_empty())
                .map(|(k, v)| (k.trim().to_owned(), v.to_owned()))
                .ok_or_else(|| bad("--parameter", format!("{kv:?} is not KEY=VALUE")))
        })
        .collect()
}

/// The execution role a stack set's permission model names.
pub fn role_for(
    permission_model: Option<&str>,
    execution_role_name: Option<&str>,
) -> ExecutionRole {
    if permission_model.is_some_and(|m| m.eq_ignore_ascii_case("SELF_MANAGED")) {
        ExecutionRole::self_managed(execution_role_name)
    } else {
        ExecutionRole::service_managed()
    }
}

/// The execution roles the evidence shows per account (`assumed-role/stacksets-exec-…/` in a failure message).
fn seen_roles(evidence: &Evidence, stack_set: &str, prefix: &str) -> BTreeMap<String, String> {
    let Ok(re) = Regex::new(r"arn:[a-z-]+:sts::(\d{12}):assumed-role/([A-Za-z0-9+=,.@_-]+)/")
    else {
        return BTreeMap::new();
    };
    let mut out = BTreeMap::new();
    let reasons = evidence
        .stack_instances
        .iter()
        .filter(|i| i.stack_set.as_deref() == Some(stack_set))
        .filter_map(|i| i.status_reason.as_deref())
        .chain(
            evidence
                .stack_events
                .iter()
                .filter(|e| e.stack_set.as_deref() == Some(stack_set))
                .filter_map(|e| e.status_reason.as_deref()),
        );
    for r in reasons {
        for c in re.captures_iter(r) {
            if c[2].starts_with(prefix) {
                out.insert(c[1].to_owned(), c[2].to_owned());
            }
        }
    }
    out
}

/// One plan per stack set of the bundle that has a template and instances; what was left out, and why.
pub fn plans_from_evidence<'t>(
    evidence: &Evidence,
    types: &'t ResourceTypes,
    role_override: Option<&str>,
) -> Result<(Vec<Plan<'t>>, Vec<String>), Error> {
    let policies = EvidencePolicies::new(evidence);
    let mut plans = Vec::new();
    let mut notes = Vec::new();
    for ss in &evidence.stack_sets {
        // The same stack set can be recorded twice (list-stack-sets and describe-stack-set): the one with the
        // template counts.
        let has_template = |n: &str| {
            evidence
                .stack_sets
                .iter()
                .any(|s| s.name == n && s.template_body.is_some())
        };
        if plans.iter().any(|p: &Plan<'_>| p.stack_set == ss.name)
            || (ss.template_body.is_none() && has_template(&ss.name))
        {
            continue;
        }
        let label = ss
            .source
            .as_ref()
            .map(|s| s.file.clone())
            .unwrap_or_else(|| ss.name.clone());
        let Some(body) = ss.template_body.as_deref() else {
            notes.push(format!(
                "{}: no template in the evidence (describe-stack-set gives it)",
                ss.name
            ));
            continue;
        };
        let template = Template::parse(body)
            .map_err(|e| bad(&label, format!("stack set {}: TemplateBody: {e}", ss.name)))?;
        let mut targets: Vec<(String, String)> = evidence
            .stack_instances
            .iter()
            .filter(|i| i.stack_set.as_deref() == Some(ss.name.as_str()))
            .map(|i| (i.account.clone(), i.region.clone()))
            .collect();
        targets.sort();
        targets.dedup();
        if targets.is_empty() {
            notes.push(format!(
                "{}: no stack instance in the evidence, so no target to check",
                ss.name
            ));
            continue;
        }
        let mut unchecked = Vec::new();
        let (joining, unlisted) = ou_targets(evidence, ss, &targets);
        if !joining.is_empty() {
            let accounts: std::collections::BTreeSet<&str> =
                joining.iter().map(|(a, _)| a.as_str()).collect();
            notes.push(format!(
                "{}: {} account(s) of its target OUs have no stack instance yet ({}): checked as targets too, in \
                 its instances' Regions",
                ss.name,
                accounts.len(),
                accounts.into_iter().collect::<Vec<_>>().join(", ")
            ));
        }
        targets.extend(joining);
        unchecked.extend(unlisted.into_iter().map(|(ou, reason)| CouldNotCheck {
            stack_set: ss.name.clone(),
            account: format!("accounts of {ou}"),
            region: "*".into(),
            reason,
        }));
        let mut role = match role_override {
            Some(n) => ExecutionRole {
                name: n.to_owned(),
                seen: BTreeMap::new(),
                why: "given with --execution-role".into(),
            },
            None => role_for(
                ss.permission_model.as_deref(),
                ss.execution_role_name.as_deref(),
            ),
        };
        if role_override.is_none() && role.name.starts_with("stacksets-exec-") {
            role.seen = seen_roles(evidence, &ss.name, "stacksets-exec-");
            if !role.seen.is_empty() {
                role.why.push_str("; where the evidence shows an account's own role (in a failure message), that one");
            }
        }
        // Group the targets by the path their account's policies form.
        let mut groups: Vec<(String, Group)> = Vec::new();
        for (account, region) in targets {
            if let Some(reason) = path_unknown(evidence, &account) {
                unchecked.push(CouldNotCheck {
                    stack_set: ss.name.clone(),
                    account,
                    region,
                    reason,
                });
                continue;
            }
            let (mut path, mut path_label) = policies
                .account_path(&account)
                .map_err(|e| bad(&label, format!("account {account}: {e}")))?;
            // The account's own level is named after it: accounts whose levels hold the same policies share a
            // path all the same (docs/preflight.md#grouping), so the level is called "the account".
            let own = format!("{account} (account)");
            if let Some(last) = path.levels.last_mut().filter(|l| l.name == own) {
                last.name = "the account".into();
                path_label = path_label.replace(&own, "the account");
            }
            let key = serde_json::to_string(&path).unwrap_or_default();
            match groups.iter_mut().find(|(k, _)| *k == key) {
                Some((_, g)) => g.targets.push((account, region)),
                None => groups.push((
                    key,
                    Group {
                        label: path_label,
                        path,
                        targets: vec![(account, region)],
                    },
                )),
            }
        }
        let mut parameters: HashMap<String, String> = ss
            .parameters
            .iter()
            .filter_map(|p| Some((p.key.clone(), p.value.clone()?)))
            .collect();
        parameters.retain(|_, v| !v.is_empty());
        plans.push(Plan {
            stack_set: ss.name.clone(),
            template,
            types,
            parameters,
            role,
            groups: groups.into_iter().map(|(_, g)| g).collect(),
            unchecked,
        });
    }
    Ok((plans, notes))
}

/// Why an account's SCP/RCP path cannot be told from the evidence (docs/preflight.md#could-not-check), or None
/// when it can: the evidence holds no SCP or RCP at all (Organizations could not be read, and no policy file was
/// given); it places other accounts in the organisation but not this one (its parents could not be read); a level
/// of its place has no SCP in the evidence, or the collector could not list a level's policies or read a policy.
fn path_unknown(evidence: &Evidence, account: &str) -> Option<String> {
    let gaps = |wanted: &dyn Fn(&str) -> bool| -> String {
        let said: Vec<String> = evidence
            .coverage
            .iter()
            .filter(|c| wanted(&c.scope))
            .map(|c| format!("{}: {}", c.scope, c.reason))
            .collect();
        if said.is_empty() {
            String::new()
        } else {
            format!(" ({})", said.join("; "))
        }
    };
    let evaluated = evidence
        .policies
        .iter()
        .any(|p| crate::scp::is_evaluated_type(&p.policy_type));
    if !evaluated {
        return Some(format!(
            "no SCP or RCP in the evidence: the organisation's policies were not read{} (run from the management \
             account or a delegated administrator for Organizations, or give them as files: preflight --template \
             FILE --policy FILE... --account ID)",
            gaps(&|s| s == "organization" || s == format!("account {account}"))
        ));
    }
    let Some(place) = evidence.account_paths.iter().find(|p| p.account == account) else {
        if evidence.account_paths.is_empty() {
            // Loose policy files: each is a level with FullAWSAccess assumed (the label says so).
            return None;
        }
        return Some(format!(
            "its place in the organisation is not in the evidence (it is for other accounts){}",
            gaps(&|s| s == format!("account {account}"))
        ));
    };
    let nodes: Vec<&String> = place
        .parents
        .iter()
        .chain(std::iter::once(&place.account))
        .collect();
    let unlisted: Vec<&String> = nodes
        .iter()
        .copied()
        .filter(|n| {
            evidence
                .coverage
                .iter()
                .any(|c| c.scope == format!("policies on {n}"))
        })
        .collect();
    if !unlisted.is_empty() {
        let names: Vec<&str> = unlisted.iter().map(|s| s.as_str()).collect();
        return Some(format!(
            "the policies attached to {} could not be listed{}",
            names.join(", "),
            gaps(&|s| names.iter().any(|n| s == format!("policies on {n}")))
        ));
    }
    if evidence
        .coverage
        .iter()
        .any(|c| c.scope.starts_with("policy "))
    {
        return Some(format!(
            "a policy attached on the accounts' paths could not be read{}",
            gaps(&|s| s.starts_with("policy "))
        ));
    }
    let bare: Vec<&str> = nodes
        .iter()
        .filter(|node| {
            !evidence.policies.iter().any(|p| {
                crate::scp::PolicyKind::from_type(&p.policy_type)
                    == Some(crate::scp::PolicyKind::Scp)
                    && p.targets.iter().any(|t| t == **node)
            })
        })
        .map(|s| s.as_str())
        .collect();
    if bare.is_empty() {
        return None;
    }
    Some(format!(
        "no SCP in the evidence is attached to {} on its path (every level has at least FullAWSAccess, so its \
         attachments were not read)",
        bare.join(", ")
    ))
}

/// For a service-managed stack set: the accounts of the OUs its newest deployment with `DeploymentTargets`
/// targeted that the evidence places in the organisation (a live preflight lists them: `ListAccountsForParent`,
/// `ListChildren`) and that have no instance yet, with the operation's account filter applied, the management
/// account left out (service-managed stack sets never deploy there), in the Regions of its instances; and the OUs
/// the collector could not list (docs/preflight.md#live).
/// (account, Region) targets, and (OU, why) for the OUs that could not be listed.
type OuTargets = (Vec<(String, String)>, Vec<(String, String)>);

fn ou_targets(
    evidence: &Evidence,
    ss: &crate::evidence::StackSet,
    targets: &[(String, String)],
) -> OuTargets {
    let service_managed = ss
        .permission_model
        .as_deref()
        .is_some_and(|m| m.eq_ignore_ascii_case("SERVICE_MANAGED"));
    if !service_managed {
        return (Vec::new(), Vec::new());
    }
    let Some(dt) = evidence
        .operations
        .iter()
        .filter(|o| {
            o.stack_set.as_deref() == Some(ss.name.as_str())
                && crate::vocabulary::status::is_deployment(o.action.as_deref())
                && o.action.as_deref() != Some("DELETE")
        })
        .filter_map(|o| Some((o.created, o.deployment_targets.as_ref()?)))
        .filter(|(_, t)| !t.organizational_units.is_empty())
        .max_by_key(|(c, _)| *c)
        .map(|(_, t)| t)
    else {
        return (Vec::new(), Vec::new());
    };
    let management = evidence
        .organization
        .as_ref()
        .and_then(|o| o.management_account.as_deref());
    let listed = |a: &str| dt.accounts.iter().any(|x| x == a);
    let filter = dt
        .account_filter_type
        .as_deref()
        .unwrap_or("NONE")
        .to_ascii_uppercase();
    let mut accounts: std::collections::BTreeSet<&str> = evidence
        .account_paths
        .iter()
        .filter(|p| {
            p.parents
                .iter()
                .any(|n| dt.organizational_units.contains(n))
        })
        .map(|p| p.account.as_str())
        .filter(|a| match filter.as_str() {
            "INTERSECTION" => listed(a),
            "DIFFERENCE" => !listed(a),
            _ => true,
        })
        .collect();
    if filter == "UNION" {
        accounts.extend(dt.accounts.iter().map(String::as_str));
    }
    let regions: std::collections::BTreeSet<&str> =
        targets.iter().map(|(_, r)| r.as_str()).collect();
    let mut joining = Vec::new();
    for a in accounts {
        if Some(a) == management || targets.iter().any(|(t, _)| t == a) {
            continue;
        }
        for r in &regions {
            joining.push((a.to_owned(), (*r).to_owned()));
        }
    }
    // With INTERSECTION the accounts are the listed ones: an OU that could not be listed hides none.
    let unlisted = dt
        .organizational_units
        .iter()
        .filter(|_| filter != "INTERSECTION")
        .filter_map(|ou| {
            let scope = format!("organizational unit {ou}");
            let said: Vec<&str> = evidence
                .coverage
                .iter()
                .filter(|c| c.scope == scope)
                .map(|c| c.reason.as_str())
                .collect();
            (!said.is_empty()).then(|| (ou.clone(), said.join("; ")))
        })
        .collect();
    (joining, unlisted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::ResourceTypes;
    use serde_json::json;

    const SCP: &str = r#"{"Version":"2012-10-17","Statement":[{"Sid":"DenyLogs","Effect":"Deny","Action":"logs:CreateLogGroup","Resource":"*"}]}"#;
    const FULL: &str =
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#;

    /// A service-managed stack set targeting OU `ou-1` (filter as given) with instances in `instances`, the
    /// organisation's policies and the account paths in `placed` (every account under `ou-1`, under `r-1`).
    fn evidence(instances: &[&str], placed: &[&str], filter: &str, listed: &[&str]) -> Evidence {
        let v = json!({
            "stack_sets": [{"name": "logs", "permission_model": "SERVICE_MANAGED",
                "template_body": "Resources:\n  G:\n    Type: AWS::Logs::LogGroup\n    Properties:\n      LogGroupName: x-logs\n"}],
            "operations": [{"stack_set": "logs", "operation_id": "op-1", "action": "CREATE", "status": "SUCCEEDED",
                "created": "2026-01-01T00:00:00Z",
                "deployment_targets": {"organizational_units": ["ou-1"], "accounts": listed,
                    "account_filter_type": filter}}],
            "stack_instances": instances.iter().map(|a| json!({"stack_set": "logs", "account": a,
                "region": "eu-west-1", "status": "CURRENT"})).collect::<Vec<_>>(),
            "policies": [
                {"id": "p-full", "policy_type": "SERVICE_CONTROL_POLICY", "content": FULL,
                 "targets": ["r-1", "ou-1", "111111111111", "222222222222", "333333333333", "999999999999"]},
                {"id": "p-deny", "policy_type": "SERVICE_CONTROL_POLICY", "content": SCP, "targets": ["ou-1"]},
            ],
            "organization": {"id": "o-1", "management_account": "999999999999"},
            "account_paths": placed.iter().map(|a| json!({"account": a, "parents": ["ou-1", "r-1"]}))
                .collect::<Vec<_>>(),
        });
        serde_json::from_value(v).expect("evidence")
    }

    fn targets(p: &Plan<'_>) -> Vec<String> {
        let mut t: Vec<String> = p
            .groups
            .iter()
            .flat_map(|g| g.targets.iter().map(|(a, _)| a.clone()))
            .collect();
        t.sort();
        t
    }

    #[test]
    fn an_account_the_evidence_does_not_place_is_could_not_check() {
        let types = ResourceTypes::default();
        let ev = evidence(
            &["111111111111", "222222222222"],
            &["111111111111"],
            "NONE",
            &[],
        );
        let (plans, _) = plans_from_evidence(&ev, &types, None).expect("plans");
        assert_eq!(targets(&plans[0]), vec!["111111111111"]);
        let u = &plans[0].unchecked;
        assert_eq!(u.len(), 1, "{u:?}");
        assert_eq!(u[0].account, "222222222222");
        assert!(u[0].reason.contains("not in the evidence"), "{u:?}");
    }

    #[test]
    fn a_node_whose_policies_were_not_listed_makes_its_accounts_could_not_check() {
        let types = ResourceTypes::default();
        let mut ev = evidence(&["111111111111"], &["111111111111"], "NONE", &[]);
        ev.coverage.push(crate::evidence::CoverageNote {
            scope: "policies on ou-1".into(),
            reason: "organizations:ListPoliciesForTarget: Throttling".into(),
        });
        let (plans, _) = plans_from_evidence(&ev, &types, None).expect("plans");
        assert!(plans[0].groups.is_empty());
        assert!(
            plans[0].unchecked[0].reason.contains("ou-1"),
            "{:?}",
            plans[0].unchecked
        );
    }

    #[test]
    fn the_accounts_of_the_target_ou_follow_the_account_filter_and_skip_the_management_account() {
        let types = ResourceTypes::default();
        let placed = [
            "111111111111",
            "222222222222",
            "333333333333",
            "999999999999",
        ];
        let ev = evidence(&["111111111111"], &placed, "NONE", &[]);
        let (plans, notes) = plans_from_evidence(&ev, &types, None).expect("plans");
        assert_eq!(
            targets(&plans[0]),
            vec!["111111111111", "222222222222", "333333333333"]
        );
        assert!(
            notes.iter().any(|n| n.contains("no stack instance yet")),
            "{notes:?}"
        );
        let ev = evidence(&["111111111111"], &placed, "DIFFERENCE", &["333333333333"]);
        let (plans, _) = plans_from_evidence(&ev, &types, None).expect("plans");
        assert_eq!(targets(&plans[0]), vec!["111111111111", "222222222222"]);
        let ev = evidence(
            &["111111111111"],
            &placed,
            "INTERSECTION",
            &["111111111111"],
        );
        let (plans, _) = plans_from_evidence(&ev, &types, None).expect("plans");
        assert_eq!(targets(&plans[0]), vec!["111111111111"]);
        // Accounts sharing the path (their own level holds only FullAWSAccess) are one group.
        let ev = evidence(&["111111111111"], &placed, "NONE", &[]);
        let (plans, _) = plans_from_evidence(&ev, &types, None).expect("plans");
        assert_eq!(plans[0].groups.len(), 1);
    }

    #[test]
    fn an_ou_that_could_not_be_listed_is_said() {
        let types = ResourceTypes::default();
        let mut ev = evidence(&["111111111111"], &["111111111111"], "NONE", &[]);
        ev.coverage.push(crate::evidence::CoverageNote {
            scope: "organizational unit ou-1".into(),
            reason: "organizations:ListAccountsForParent: AccessDenied".into(),
        });
        let (plans, _) = plans_from_evidence(&ev, &types, None).expect("plans");
        assert_eq!(targets(&plans[0]), vec!["111111111111"]);
        assert_eq!(plans[0].unchecked[0].account, "accounts of ou-1");
    }
}
