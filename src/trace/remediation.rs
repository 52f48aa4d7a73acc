//! What to change for a root cause: the rule's remediation, a concrete SCP/RCP exemption for policy denies,
//! and the runbook that gets the deployment through afterwards (a known topology's, or a generic retry).

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value;

use crate::classify::rules::{self, Rule};
use crate::classify::Failure;
use crate::evidence::Evidence;
use crate::scp;
use crate::vocabulary::{Category, Topology};
use crate::wildcard;

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct Remediation {
    pub summary: String,
    pub steps: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub scp_exemption: Option<ScpExemption>,
    /// Where the retry steps (the runbook's, or the re-run of the failed instances) begin in `steps`: alike root
    /// causes shown as one replace them with one retry covering them all.
    #[serde(skip)]
    pub retry_from: usize,
    /// Documentation behind the fix: the rule's references, then the deployment topology's.
    pub references: Vec<String>,
    /// For an SCP/RCP patch: the failed stack set's whole template checked against the patched policies
    /// (docs/preflight.md#after-a-fix).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub template_check: Option<crate::preflight::after_fix::TemplateCheck>,
}

/// The exemption to add to an SCP (or RCP) statement so the denied principal gets through.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ScpExemption {
    /// As the message names it: `service control policy` or `resource control policy`.
    pub policy_type: String,
    /// The policy ARN the message carried, when it did.
    pub policy_arn_in_message: Option<String>,
    pub action: Option<String>,
    /// The principal as the message shows it (often an STS session ARN, which must NOT be used).
    pub denied_principal: String,
    pub condition_operator: String,
    pub condition_key: String,
    /// IAM ARN patterns to add to the statement's exception list.
    pub add_values: Vec<String>,
    pub why: String,
    pub warnings: Vec<String>,
    /// The statement of the evidence's policies that denies the request, found by evaluating them.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub statement: Option<StatementPatch>,
    /// The proof: the denied request is allowed after the patch, and its neighbours stay denied.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub proof: Vec<ProofStep>,
    /// Whether every proof step holds (false also when no policy was available to evaluate).
    pub proven: bool,
    /// What the evaluation could not settle (no policies in the evidence, none explains the deny, ...).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub evaluation_note: Option<String>,
}

#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct StatementPatch {
    pub policy_id: Option<String>,
    pub policy_arn: Option<String>,
    pub policy_name: Option<String>,
    /// The statement's Sid, or `#N` (its 0-based index) when it has none.
    pub statement: String,
    /// Values already in the statement's exception list.
    pub existing_values: Vec<String>,
    /// The whole policy document with the exemption added.
    pub patched: Value,
    /// A unified diff of the policy JSON.
    pub diff: String,
    /// The command that applies the patch, when the policy id is known.
    pub apply_command: Option<String>,
    /// How the statement was found: the evaluator's verdict for the denied request.
    pub located_by: String,
}

/// One request evaluated before and after the patch.
#[derive(Debug, Clone, Serialize, schemars::JsonSchema)]
pub struct ProofStep {
    pub description: String,
    pub principal: String,
    pub action: String,
    /// `allowed` or `denied`: what the request should be after the patch.
    #[schemars(with = "crate::scp::Expect")]
    pub expect: String,
    pub before: String,
    pub after: String,
    pub ok: bool,
}

/// The evidence's SCPs and RCPs, parsed once per diagnosis (on first use) and shared by every root cause: with
/// many denies and many policies, parsing them per root cause was the slow path.
pub struct EvidencePolicies<'e> {
    evidence: &'e Evidence,
    parsed: std::sync::OnceLock<Result<Vec<Attached<'e>>, String>>,
}

/// A policy and where it is attached (account, OU or root ids; empty when unknown).
type Attached<'e> = (scp::Policy, &'e [String]);

impl<'e> EvidencePolicies<'e> {
    pub fn new(evidence: &'e Evidence) -> Self {
        EvidencePolicies {
            evidence,
            parsed: std::sync::OnceLock::new(),
        }
    }

    /// Every SCP and RCP with where it is attached (empty when unknown), or why one cannot be read.
    fn all(&self) -> Result<&[Attached<'e>], String> {
        self.parsed
            .get_or_init(|| {
                let mut out = Vec::new();
                // Other Organizations policy types are not IAM documents (a note says they were left out).
                for p in self
                    .evidence
                    .policies
                    .iter()
                    .filter(|p| scp::is_evaluated_type(&p.policy_type))
                {
                    let label = p
                        .source
                        .as_ref()
                        .map(|s| s.file.clone())
                        .unwrap_or_else(|| p.id.clone().unwrap_or_default());
                    let declared = scp::PolicyKind::from_type(&p.policy_type);
                    let pol = scp::Policy::from_content(
                        &label,
                        p.id.clone(),
                        p.arn.clone(),
                        p.name.clone(),
                        declared,
                        &p.content,
                    )
                    .map_err(|e| format!("a policy in the evidence cannot be read: {e}"))?;
                    out.push((pol, p.targets.as_slice()));
                }
                Ok(out)
            })
            .as_ref()
            .map(Vec::as_slice)
            .map_err(Clone::clone)
    }

    /// The SCPs and RCPs that govern `account`, as one path (for preflight): its real levels when the evidence
    /// holds its place in the organization (every level with an SCP, RCPs beside them), else each policy as its own
    /// level with `FullAWSAccess` assumed, as the fix's evaluation reads loose evidence. The label says which.
    pub fn account_path(&self, account: &str) -> Result<(scp::OrgPath, String), String> {
        let all = self.all()?;
        let (scps, scp_at): (Vec<scp::Policy>, Vec<&[String]>) = all
            .iter()
            .filter(|(p, _)| p.kind == scp::PolicyKind::Scp)
            .map(|(p, t)| (p.clone(), *t))
            .unzip();
        if let Some(mut path) = org_path(self.evidence, &scps, &scp_at, Some(account)) {
            let nodes = self
                .evidence
                .account_paths
                .iter()
                .find(|p| p.account == account);
            let nodes: Vec<&String> = nodes
                .map(|p| {
                    p.parents
                        .iter()
                        .rev()
                        .chain(std::iter::once(&p.account))
                        .collect()
                })
                .unwrap_or_default();
            for (level, node) in path.levels.iter_mut().zip(nodes) {
                level.policies.extend(
                    all.iter()
                        .filter(|(p, t)| {
                            p.kind == scp::PolicyKind::Rcp && t.iter().any(|t| t == node)
                        })
                        .map(|(p, _)| p.clone()),
                );
            }
            let label = path
                .levels
                .iter()
                .map(|l| l.name.clone())
                .collect::<Vec<_>>()
                .join(" → ");
            return Ok((path, label));
        }
        if all.is_empty() {
            return Err("no service or resource control policy in the evidence".into());
        }
        let path = scp::OrgPath {
            levels: all
                .iter()
                .map(|(p, _)| scp::Level {
                    name: p.label.clone(),
                    policies: vec![p.clone()],
                })
                .collect(),
            assumed_full_access: true,
            management_account: self
                .evidence
                .organization
                .as_ref()
                .and_then(|o| o.management_account.clone()),
        };
        let label = format!(
            "{} (where each is attached is not in the evidence: FullAWSAccess assumed at each level)",
            path.levels.iter().map(|l| l.name.clone()).collect::<Vec<_>>().join(", ")
        );
        Ok((path, label))
    }
}

pub fn build(
    f: &Failure,
    rule: Option<&Rule>,
    fields: &BTreeMap<String, String>,
    policies: &EvidencePolicies<'_>,
    topologies: &[Topology],
    targets: &RetryTargets,
) -> Remediation {
    let mut steps = Vec::new();
    let mut scp_exemption = None;
    let summary;

    let deny = matches!(f.class.category, Category::ScpDeny | Category::RcpDeny);
    match (rule, deny.then(|| fields.get("principal")).flatten()) {
        (Some(_), Some(principal)) if exemption_for(principal).is_some() => {
            let ex = scp_exemption_for(f, principal, fields, policies);
            let values = ex.add_values.join(" and ");
            let target = match &ex.statement {
                Some(s) => format!(
                    "statement {} of {} {}",
                    s.statement,
                    ex.policy_type,
                    s.policy_name
                        .as_deref()
                        .or(s.policy_id.as_deref())
                        .unwrap_or("(unnamed)")
                ),
                None => format!(
                    "the {} statement that denies {}",
                    ex.policy_type,
                    ex.action.as_deref().unwrap_or("the action")
                ),
            };
            summary = format!("Exempt {values} in {target}, then deploy again.");
            steps.push(format!(
                "In {target}, add {values} to the `{}` `{}` exception list{}.",
                ex.condition_operator,
                ex.condition_key,
                match &ex.statement {
                    Some(s) if s.existing_values.is_empty() =>
                        " (the statement has none yet: add the condition)".to_owned(),
                    Some(s) => format!(" (today: {})", s.existing_values.join(", ")),
                    None => String::new(),
                }
            ));
            if ex.statement.is_none() {
                steps.push(format!(
                    "To find the statement: list the policies on each level from the account to the root \
                     (`aws organizations list-parents --child-id {acct}`, then `aws organizations list-policies-for-target \
                     --target-id <id> --filter {filter}`) and look for a Deny of {action}{arn}.",
                    acct = f.account.as_deref().unwrap_or("<account>"),
                    filter = if f.class.category == Category::RcpDeny { "RESOURCE_CONTROL_POLICY" } else { "SERVICE_CONTROL_POLICY" },
                    action = ex.action.as_deref().unwrap_or("the action"),
                    arn = ex.policy_arn_in_message.as_deref().map(|a| format!(" (the message names {a})")).unwrap_or_default(),
                ));
            }
            steps.push(ex.why.clone());
            scp_exemption = Some(ex);
        }
        (Some(rule), _) => {
            let text = rules::render(&rule.remediation, fields);
            summary = first_sentence(&text);
            steps.push(text);
        }
        (None, _) => {
            summary = "No rule recognises this message: read it, then teach the catalog with `--rules DIR` \
                       (see `stackset-doctor explain`)."
                .to_owned();
            steps.push(format!("Read the failure message in full: {}", f.message));
        }
    }

    let retry_from = steps.len();
    steps.extend(runbook(f, fields, topologies, targets));
    let mut references: Vec<String> = rule.map(|r| r.references.clone()).unwrap_or_default();
    if let Some(t) = topology_of(f, topologies) {
        references.extend(t.references.iter().cloned());
    }
    let mut seen = std::collections::HashSet::new();
    references.retain(|r| seen.insert(r.clone()));
    Remediation {
        summary,
        steps,
        scp_exemption,
        retry_from,
        references,
        template_check: None,
    }
}

fn first_sentence(text: &str) -> String {
    let t = text.trim();
    // The first ". " that ends a sentence, not an abbreviation such as "e.g. " or "i.e. ".
    let mut end = None;
    for (i, _) in t.match_indices(". ") {
        let word = t[..i].rsplit([' ', '(']).next().unwrap_or("");
        if !matches!(
            word.to_ascii_lowercase().as_str(),
            "e.g" | "i.e" | "etc" | "vs" | "cf" | "approx"
        ) {
            end = Some(i);
            break;
        }
    }
    match end {
        Some(i) if i < 400 => t[..=i].to_owned(),
        _ if t.chars().count() <= 400 => t.to_owned(),
        _ => format!("{}…", t.chars().take(397).collect::<String>()),
    }
}

/// What a retry must cover: per stack set among a root cause and the failures it explains, the failed accounts,
/// Regions and the OUs they were deployed through.
#[derive(Debug, Default)]
pub struct RetryTargets {
    pub stack_sets: BTreeMap<String, Targets>,
}

#[derive(Debug, Default)]
pub struct Targets {
    pub accounts: std::collections::BTreeSet<String>,
    pub regions: std::collections::BTreeSet<String>,
    pub organizational_units: std::collections::BTreeSet<String>,
    pub service_managed: bool,
    /// The earliest failure: stack sets are retried in the order they failed (a producer before its consumers).
    pub first: Option<chrono::DateTime<chrono::Utc>>,
}

/// Where each stack set's instances were deployed, looked up once for every root cause: the OUs per (stack set,
/// account), from instances and operation results, and which stack sets are service-managed.
#[derive(Debug, Default)]
pub struct Placement<'e> {
    ous: std::collections::HashMap<(&'e str, &'e str), std::collections::BTreeSet<&'e str>>,
    service_managed: std::collections::HashSet<&'e str>,
}

impl<'e> Placement<'e> {
    pub fn new(evidence: &'e Evidence) -> Self {
        let mut p = Placement::default();
        let places = evidence
            .stack_instances
            .iter()
            .map(|i| (&i.stack_set, &i.account, &i.organizational_unit))
            .chain(
                evidence
                    .operation_results
                    .iter()
                    .map(|r| (&r.stack_set, &r.account, &r.organizational_unit)),
            );
        for (ss, account, ou) in places {
            if let (Some(ss), Some(ou)) = (ss, ou) {
                p.ous
                    .entry((ss.as_str(), account.as_str()))
                    .or_default()
                    .insert(ou.as_str());
            }
        }
        p.service_managed.extend(
            evidence
                .stack_sets
                .iter()
                .filter(|s| s.permission_model.as_deref() == Some("SERVICE_MANAGED"))
                .map(|s| s.name.as_str()),
        );
        p
    }
}

impl RetryTargets {
    /// The targets of `failures` (a root cause and what it explains), with OUs and permission models from the
    /// evidence.
    pub fn of<'f>(
        failures: impl IntoIterator<Item = &'f Failure>,
        placement: &Placement<'_>,
    ) -> RetryTargets {
        let mut out = RetryTargets::default();
        for f in failures {
            let (Some(ss), Some(a), Some(r)) = (&f.stack_set, &f.account, &f.region) else {
                continue;
            };
            let t = out.stack_sets.entry(ss.clone()).or_default();
            t.accounts.insert(a.clone());
            t.regions.insert(r.clone());
            if let Some(ts) = f.timestamp {
                t.first = Some(t.first.map_or(ts, |x| x.min(ts)));
            }
        }
        for (ss, t) in &mut out.stack_sets {
            for a in &t.accounts {
                if let Some(ous) = placement.ous.get(&(ss.as_str(), a.as_str())) {
                    t.organizational_units
                        .extend(ous.iter().map(|o| o.to_string()));
                }
            }
            // An instance deployed through an OU is service-managed even when the stack set's record is absent.
            t.service_managed = placement.service_managed.contains(ss.as_str())
                || !t.organizational_units.is_empty();
        }
        out
    }
}

/// The command that re-runs one stack set's failed instances. A service-managed stack set takes its targets as
/// OUs (`--accounts` alone is refused for it): the OUs, narrowed to the failed accounts with `INTERSECTION`.
fn retry_command(ss: &str, t: &Targets) -> String {
    let list = |s: &std::collections::BTreeSet<String>, none: &str| {
        if s.is_empty() {
            none.to_owned()
        } else {
            s.iter().cloned().collect::<Vec<_>>().join(" ")
        }
    };
    let regions = list(&t.regions, "<region>");
    if t.service_managed {
        let ous = if t.organizational_units.is_empty() {
            "<ou-id>".to_owned()
        } else {
            t.organizational_units
                .iter()
                .cloned()
                .collect::<Vec<_>>()
                .join(",")
        };
        let accounts = if t.accounts.is_empty() {
            "<account>".to_owned()
        } else {
            t.accounts.iter().cloned().collect::<Vec<_>>().join(",")
        };
        format!(
            "aws cloudformation update-stack-instances --stack-set-name {ss} --deployment-targets \
             OrganizationalUnitIds={ous},Accounts={accounts},AccountFilterType=INTERSECTION --regions {regions}"
        )
    } else {
        format!(
            "aws cloudformation update-stack-instances --stack-set-name {ss} --accounts {} --regions {regions}",
            list(&t.accounts, "<account>")
        )
    }
}

/// The deployment topology the failure's stack set belongs to.
fn topology_of<'t>(f: &Failure, topologies: &'t [Topology]) -> Option<&'t Topology> {
    let ss = f.stack_set.as_deref()?;
    topologies
        .iter()
        .find(|t| t.stack_sets.iter().any(|p| wildcard::matches(p, ss, false)))
}

/// A topology's runbook when the failure's stack set belongs to one; otherwise the generic retry: one command
/// per stack set the root cause's failures are in, covering every failed account and Region.
pub fn runbook(
    f: &Failure,
    fields: &BTreeMap<String, String>,
    topologies: &[Topology],
    targets: &RetryTargets,
) -> Vec<String> {
    if let Some(ss) = f.stack_set.as_deref() {
        if let Some(t) = topology_of(f, topologies) {
            if !t.runbook.is_empty() {
                return t.runbook.iter().map(|s| rules::render(s, fields)).collect();
            }
        }
        // The root cause's own stack set first, then those whose failures it explains, in the order they failed.
        let mut order: Vec<(&String, &Targets)> = targets.stack_sets.iter().collect();
        order.sort_by_key(|(name, t)| (name.as_str() != ss, t.first));
        let commands: Vec<String> = if order.is_empty() {
            vec![retry_command(ss, &Targets::default())]
        } else {
            order
                .iter()
                .map(|(name, t)| retry_command(name, t))
                .collect()
        };
        let what = if commands.len() > 1 {
            "Then re-run the deployment of every stack set whose instances failed, the root cause's first"
        } else {
            "Then re-run the deployment for the failed instances"
        };
        let delegated = if order.iter().any(|(_, t)| t.service_managed) {
            " (from a delegated administrator, add `--call-as DELEGATED_ADMIN`)"
        } else {
            ""
        };
        return vec![format!(
            "{what}{delegated}: {}.",
            commands
                .iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join("; then ")
        )];
    }
    match f.stack_name.as_deref() {
        Some(name) => vec![format!(
            "Then deploy stack {name} again (a stack left in ROLLBACK_COMPLETE must be deleted before it can be created again)."
        )],
        None => Vec::new(),
    }
}

/// The IAM ARN pattern(s) that `aws:PrincipalArn` will carry for this principal, why, and warnings: the SCP
/// evaluator's exemption (`scp::exemption`), so a fix reads the same whether or not the policies are in the evidence.
pub fn exemption_for(principal: &str) -> Option<(Vec<String>, String, Vec<String>)> {
    let e = scp::exemption(&scp::Request::new(principal.trim_matches('"'), "")).ok()?;
    Some((e.values, e.why, e.warnings))
}

fn scp_exemption_for(
    f: &Failure,
    principal: &str,
    fields: &BTreeMap<String, String>,
    policies: &EvidencePolicies<'_>,
) -> ScpExemption {
    let (mut add_values, mut why, mut warnings) = exemption_for(principal).unwrap_or_default();
    let rcp = f.class.category == Category::RcpDeny;
    let policy_type = fields.get("policy_type").cloned().unwrap_or_else(|| {
        if rcp {
            "resource control policy"
        } else {
            "service control policy"
        }
        .into()
    });
    let action = fields.get("action").cloned();
    let policy_arn = fields.get("policy_arn").cloned();
    let mut ex = ScpExemption {
        policy_type,
        policy_arn_in_message: policy_arn.clone(),
        action: action.clone(),
        denied_principal: principal.to_owned(),
        condition_operator: "ArnNotLike".into(),
        condition_key: "aws:PrincipalARN".into(),
        add_values: Vec::new(),
        why: String::new(),
        warnings: Vec::new(),
        statement: None,
        proof: Vec::new(),
        proven: false,
        evaluation_note: None,
    };
    let Some(action) = action else {
        ex.evaluation_note =
            Some("the message names no action, so the policies were not evaluated".into());
        (ex.add_values, ex.why, ex.warnings) = (add_values, why, warnings);
        return ex;
    };
    match evaluate_fix(
        policies,
        rcp,
        policy_arn.as_deref(),
        principal,
        &action,
        fields.get("resource"),
        f.account.as_deref(),
    ) {
        Ok((fix, missing_named)) => {
            if let Some(arn) = missing_named {
                ex.evaluation_note = Some(format!(
                    "the message names policy {arn}, which is not in the evidence: the patch is for the policies that \
                     are, and is not proven for the one that denied; add {arn} (aws organizations describe-policy) and \
                     diagnose again"
                ));
            }
            let named_missing = ex.evaluation_note.is_some();
            if let Some(patch) = fix.patches.first() {
                if let Some(change) = patch.changes.first() {
                    ex.condition_operator = change.operator.clone();
                    ex.condition_key = change.key.clone();
                    ex.statement = Some(StatementPatch {
                        policy_id: patch.policy.id.clone(),
                        policy_arn: patch.policy.arn.clone(),
                        policy_name: patch.policy.name.clone(),
                        statement: change.statement.clone(),
                        existing_values: change.existing_values.clone(),
                        patched: patch.patched_document.clone(),
                        diff: patch.diff.clone(),
                        apply_command: patch.apply_command.clone(),
                        located_by: format!("evaluated: {}", fix.before.summary()),
                    });
                }
            }
            if !fix.added_values.is_empty() {
                add_values = fix.added_values.clone();
            }
            // The evaluator's account of why and its warnings are the precise ones: they replace ours.
            if !fix.why.is_empty() {
                why = fix.why.join(" ");
            }
            if !fix.warnings.is_empty() {
                warnings = fix.warnings.clone();
            }
            ex.proof = proof_steps(&fix);
            ex.proven = fix.proven && !named_missing;
        }
        Err(note) => ex.evaluation_note = Some(note),
    }
    (ex.add_values, ex.why, ex.warnings) = (add_values, why, warnings);
    ex
}

fn proof_steps(fix: &scp::Fix) -> Vec<ProofStep> {
    fix.proof
        .iter()
        .filter(|c| c.applicable)
        .map(|c| ProofStep {
            description: c.description.clone(),
            principal: c.request.principal_arn.clone(),
            action: c.request.action.clone(),
            expect: format!("{:?}", c.expect).to_lowercase(),
            before: c.before.summary(),
            after: c.after.summary(),
            ok: c.ok,
        })
        .collect()
}

/// Evaluate the evidence's policies of the right kind (each as its own level of the path, `FullAWSAccess`
/// assumed, since the evidence does not say where each is attached) and propose a proven exemption.
fn evaluate_fix(
    evidence_policies: &EvidencePolicies<'_>,
    rcp: bool,
    policy_arn: Option<&str>,
    principal: &str,
    action: &str,
    resource: Option<&String>,
    account: Option<&str>,
) -> Result<(scp::Fix, Option<String>), String> {
    let kind = if rcp {
        scp::PolicyKind::Rcp
    } else {
        scp::PolicyKind::Scp
    };
    let evidence = evidence_policies.evidence;
    let mut policies = Vec::new();
    // Parallel to `policies`: where each is attached (collected live), empty when unknown.
    let mut targets: Vec<&[String]> = Vec::new();
    for (pol, at) in evidence_policies.all()? {
        if pol.kind == kind {
            policies.push(pol.clone());
            targets.push(at);
        }
    }
    let mut missing_named = policy_arn
        .filter(|arn| !policies.iter().any(|p| p.arn.as_deref() == Some(*arn)))
        .map(str::to_owned);
    // A live collection knows the account's path to the root and where each policy is attached: evaluate
    // the real levels (root first), each with its own policies, as AWS does.
    if let Some(path) = org_path(evidence, &policies, &targets, account) {
        return fix_on(&path, principal, action, resource, account).map(|f| (f, missing_named));
    }
    // Otherwise the message's policy ARN picks the policy; when that policy is not in the evidence, the
    // others are still evaluated, and the caller says the proof does not cover the one that denied.
    if let Some(arn) = policy_arn {
        let named: Vec<scp::Policy> = policies
            .iter()
            .filter(|p| p.arn.as_deref() == Some(arn))
            .cloned()
            .collect();
        if !named.is_empty() {
            policies = named;
            missing_named = None;
        }
    }
    if policies.is_empty() {
        return Err(format!(
            "no {} in the evidence to evaluate: add them (aws organizations describe-policy output) to name the \
             statement and prove the patch",
            if rcp { "resource control policies" } else { "service control policies" }
        ));
    }
    let path = scp::OrgPath {
        levels: policies
            .into_iter()
            .map(|p| scp::Level {
                name: p.label.clone(),
                policies: vec![p],
            })
            .collect(),
        assumed_full_access: true,
        management_account: None,
    };
    fix_on(&path, principal, action, resource, account).map(|f| (f, missing_named))
}

/// The account's real policy path (root, OUs, account), when the evidence holds it and every level has a
/// policy of this kind (a level without one would deny everything, so a gap means the collection missed it).
fn org_path(
    evidence: &Evidence,
    policies: &[scp::Policy],
    targets: &[&[String]],
    account: Option<&str>,
) -> Option<scp::OrgPath> {
    let account = account?;
    let path = evidence
        .account_paths
        .iter()
        .find(|p| p.account == account)?;
    let nodes: Vec<&String> = path
        .parents
        .iter()
        .rev()
        .chain(std::iter::once(&path.account))
        .collect();
    let mut levels = Vec::new();
    for node in nodes {
        let here: Vec<scp::Policy> = policies
            .iter()
            .zip(targets)
            .filter(|(_, t)| t.iter().any(|t| t == node))
            .map(|(p, _)| p.clone())
            .collect();
        if here.is_empty() {
            return None;
        }
        let name = if node.starts_with("r-") {
            format!("{node} (root)")
        } else if node.starts_with("ou-") {
            format!("{node} (OU)")
        } else {
            format!("{node} (account)")
        };
        levels.push(scp::Level {
            name,
            policies: here,
        });
    }
    Some(scp::OrgPath {
        levels,
        assumed_full_access: false,
        management_account: evidence
            .organization
            .as_ref()
            .and_then(|o| o.management_account.clone()),
    })
}

fn fix_on(
    path: &scp::OrgPath,
    principal: &str,
    action: &str,
    resource: Option<&String>,
    account: Option<&str>,
) -> Result<scp::Fix, String> {
    let mut req = scp::Request::new(principal, action);
    if let Some(r) = resource {
        req = req.with_resource(r);
    }
    if let Some(a) = account {
        req = req.with_account(a);
    }
    match scp::fix(path, &req) {
        Ok(fix) => Ok(fix),
        Err(scp::ScpError::NothingToFix(why)) => Err(format!(
            "no policy in the evidence explains this deny ({why}); it may come from a level with no Allow, or a \
             policy the caller could not read"
        )),
        Err(e) => Err(e.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stacksets_exec_session_becomes_account_pinned_role_pattern() {
        let (v, why, warn) = exemption_for(
            "arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678",
        )
        .unwrap();
        assert_eq!(v, vec!["arn:aws:iam::121212121212:role/stacksets-exec-*"]);
        assert!(
            why.contains("aws:PrincipalArn carries the IAM role ARN"),
            "{why}"
        );
        assert_eq!(warn.len(), 1);
    }

    #[test]
    fn other_role_sessions_cover_path_and_no_path() {
        let (v, _, _) =
            exemption_for("arn:aws-us-gov:sts::111122223333:assumed-role/Deployer/s").unwrap();
        assert_eq!(
            v,
            vec![
                "arn:aws-us-gov:iam::111122223333:role/Deployer",
                "arn:aws-us-gov:iam::111122223333:role/*/Deployer"
            ]
        );
    }

    #[test]
    fn summaries_do_not_stop_at_abbreviations() {
        assert_eq!(
            first_sentence("Make it unique (e.g. add the account). Then retry."),
            "Make it unique (e.g. add the account)."
        );
        assert_eq!(first_sentence("One. Two."), "One.");
    }

    #[test]
    fn non_arns_have_no_exemption() {
        assert!(exemption_for("111122223333").is_none());
        assert!(exemption_for("arn:aws:sts::1:assumed-role/x/y").is_none());
    }
}
