//! The reference case (DESIGN.md): an SCP deny on the Quick Setup DA stack's DiagnosisBucket explains every
//! TA stack's "Invalid principal in policy".

use stackset_doctor::classify::Catalog;
use stackset_doctor::trace::Diagnosis;
use stackset_doctor::vocabulary::{Category, FailureId, LinkKind};

use crate::common::diagnose;

const SAMPLE: &str = "samples/quicksetup-scp-deny";

fn is_ta(s: &Option<String>) -> bool {
    s.as_deref()
        .is_some_and(|s| s.starts_with("AWS-QuickSetup-SSM-TA-"))
}

/// Follow `caused_by` to the end.
fn chain_end(d: &Diagnosis, mut i: FailureId) -> FailureId {
    let mut steps = 0;
    while let Some((j, _)) = &d.caused_by[i.index()] {
        i = *j;
        steps += 1;
        assert!(steps <= d.failures.len(), "caused_by has a cycle");
    }
    i
}

#[test]
fn root_cause_is_the_scp_deny_on_diagnosis_bucket() {
    let d = diagnose(&[SAMPLE]);
    assert_eq!(
        d.root_causes.len(),
        1,
        "one root cause expected, got {:#?}",
        d.root_causes
    );
    let rc = &d.root_causes[0];
    let f = &d.failures[rc.failure];
    assert_eq!(f.class.category, Category::ScpDeny);
    assert_eq!(f.logical_id.as_deref(), Some("DiagnosisBucket"));
    assert_eq!(f.resource_type.as_deref(), Some("AWS::S3::Bucket"));
    assert_eq!(f.account.as_deref(), Some("121212121212"));
    assert!(f
        .stack_set
        .as_deref()
        .is_some_and(|s| s.starts_with("AWS-QuickSetup-SSM-DA-")));
    assert_eq!(
        f.class.fields.get("action").map(String::as_str),
        Some("s3:PutBucketPublicAccessBlock")
    );
    assert_eq!(
        f.class.fields.get("principal").map(String::as_str),
        Some("arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678")
    );
    assert!(rc.confidence >= 0.8);
}

#[test]
fn every_ta_failure_is_explained_by_the_deny_through_a_cross_stack_set_link() {
    let d = diagnose(&[SAMPLE]);
    let rc = &d.root_causes[0];
    let ta: Vec<FailureId> = d
        .failures
        .iter()
        .filter(|f| is_ta(&f.stack_set))
        .map(|f| f.id)
        .collect();
    assert!(ta.len() >= 3, "the sample has at least three TA accounts");
    let accounts: std::collections::BTreeSet<_> = ta
        .iter()
        .filter_map(|&i| d.failures[i].account.clone())
        .collect();
    assert!(accounts.len() >= 2);
    for &i in &ta {
        assert!(
            rc.explains.contains(&i),
            "{} is not explained by the root cause",
            d.failures[i].id
        );
        assert_eq!(
            chain_end(&d, i),
            rc.failure,
            "{}'s chain does not end at the deny",
            d.failures[i].id
        );
    }
    let invalid: Vec<FailureId> = ta
        .iter()
        .copied()
        .filter(|&i| d.failures[i].class.category == Category::InvalidPrincipal)
        .collect();
    assert!(!invalid.is_empty());
    for i in invalid {
        let (cause, link) = d.caused_by[i.index()]
            .as_ref()
            .expect("invalid principal has a cause");
        assert!(
            matches!(
                link.kind,
                LinkKind::TemplateReference | LinkKind::KnownTopology
            ),
            "{:?}",
            link
        );
        assert!(d.failures[*cause]
            .stack_set
            .as_deref()
            .is_some_and(|s| s.starts_with("AWS-QuickSetup-SSM-DA-")));
        assert_eq!(d.failures[*cause].account.as_deref(), Some("121212121212"));
    }
}

#[test]
fn remediation_exempts_the_iam_role_pattern_not_the_sts_session() {
    let d = diagnose(&[SAMPLE]);
    let rem = &d.root_causes[0].remediation;
    let ex = rem.scp_exemption.as_ref().expect("an SCP exemption");
    assert_eq!(
        ex.add_values,
        vec!["arn:aws:iam::121212121212:role/stacksets-exec-*".to_owned()]
    );
    assert_eq!(ex.condition_operator, "ArnNotLike");
    assert!(ex.condition_key.eq_ignore_ascii_case("aws:PrincipalArn"));
    assert!(!ex.add_values.iter().any(|v| v.contains(":sts:")));
    let st = ex
        .statement
        .as_ref()
        .expect("the sample's scp.json holds the denying statement");
    assert!(st
        .existing_values
        .iter()
        .any(|v| v == "arn:aws:iam::*:role/test-role"));
    let statements = st.patched["Statement"]
        .as_array()
        .expect("patched document has statements");
    let stmt = statements
        .iter()
        .find(|x| x["Sid"] == st.statement.as_str())
        .expect("the patched statement");
    let patched = stmt["Condition"]["ArnNotLike"]
        .as_object()
        .and_then(|m| m.values().next())
        .and_then(|v| v.as_array())
        .expect("patched ArnNotLike list");
    assert!(ex.proven, "the patch is proven");
    assert!(ex.proof.iter().all(|p| p.ok));
    assert!(ex.proof.len() >= 4, "the proof checks neighbours too");
    assert!(st.diff.contains("+") && st.diff.contains("stacksets-exec-*"));
    assert!(patched
        .iter()
        .any(|v| v == "arn:aws:iam::121212121212:role/stacksets-exec-*"));
    assert!(
        patched.iter().any(|v| v == "arn:aws:iam::*:role/test-role"),
        "existing exemptions are kept"
    );
    assert!(
        !ex.warnings.is_empty(),
        "the stacksets-exec-* exemption comes with its warning"
    );
    let steps = rem.steps.join("\n").to_lowercase();
    assert!(
        steps.contains("disable") && steps.contains("enable"),
        "Quick Setup runbook: {steps}"
    );
}

#[test]
fn sightings_of_the_same_failure_merge_into_one() {
    let d = diagnose(&[SAMPLE]);
    let bucket: Vec<_> = d
        .failures
        .iter()
        .filter(|f| f.logical_id.as_deref() == Some("DiagnosisBucket"))
        .collect();
    assert_eq!(
        bucket.len(),
        1,
        "DiagnosisBucket reported {} times",
        bucket.len()
    );
    let kinds: std::collections::BTreeSet<&str> =
        bucket[0].sources.iter().map(|s| s.kind).collect();
    for k in ["stack-event", "operation-result", "stack-instance"] {
        assert!(kinds.contains(k), "missing {k} sighting: {kinds:?}");
    }
}

fn evidence() -> stackset_doctor::evidence::Evidence {
    stackset_doctor::collect::load_paths(&[SAMPLE.into()])
        .expect("sample")
        .evidence
}

#[test]
fn admin_side_evidence_alone_finds_the_same_root_cause() {
    let mut ev = evidence();
    ev.stack_events.clear();
    let d = stackset_doctor::diagnose(&ev, &Catalog::builtin().unwrap(), Vec::new());
    assert_eq!(d.root_causes.len(), 1);
    let f = &d.failures[d.root_causes[0].failure];
    assert_eq!(
        (f.class.category, f.logical_id.as_deref()),
        (Category::ScpDeny, Some("DiagnosisBucket"))
    );
}

#[test]
fn without_templates_the_known_topology_links_ta_to_da() {
    let mut ev = evidence();
    for s in &mut ev.stack_sets {
        s.template_body = None;
    }
    let d = stackset_doctor::diagnose(&ev, &Catalog::builtin().unwrap(), Vec::new());
    assert_eq!(d.root_causes.len(), 1);
    assert!(d
        .caused_by
        .iter()
        .flatten()
        .any(|(_, l)| l.kind == LinkKind::KnownTopology));
}

#[test]
fn without_templates_or_topologies_timing_still_links_with_lower_confidence() {
    let mut ev = evidence();
    for s in &mut ev.stack_sets {
        s.template_body = None;
    }
    let mut catalog = Catalog::builtin().unwrap();
    catalog.topologies.clear();
    let d = stackset_doctor::diagnose(&ev, &catalog, Vec::new());
    assert_eq!(d.root_causes.len(), 1, "{:#?}", d.root_causes);
    let inferred: Vec<_> = d
        .caused_by
        .iter()
        .flatten()
        .filter(|(_, l)| l.kind == LinkKind::TimingInference)
        .collect();
    assert!(!inferred.is_empty());
    assert!(inferred.iter().all(|(_, l)| l.confidence < 0.8));
}

/// Saved files need not sit in per-stack-set folders: results take their stack set from matching instances.
#[test]
fn a_flat_folder_of_the_same_files_gives_the_same_diagnosis() {
    let flat = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(SAMPLE)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
    {
        let name = entry
            .path()
            .strip_prefix(SAMPLE)
            .unwrap()
            .to_string_lossy()
            .replace('/', "_");
        std::fs::copy(entry.path(), flat.path().join(name)).unwrap();
    }
    let nested = diagnose(&[SAMPLE]);
    let d = diagnose(&[flat.path().to_str().unwrap()]);
    assert_eq!(d.failures.len(), nested.failures.len());
    assert_eq!(d.root_causes.len(), 1);
    let f = &d.failures[d.root_causes[0].failure];
    assert_eq!(
        (f.class.category, f.logical_id.as_deref()),
        (Category::ScpDeny, Some("DiagnosisBucket"))
    );
    assert!(d.failures.iter().all(|f| f
        .stack_set
        .as_deref()
        .is_some_and(|s| s.starts_with("AWS-QuickSetup-SSM-"))));
}

fn copy_without_scp() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for entry in walkdir::WalkDir::new(SAMPLE)
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.file_type().is_file())
    {
        let rel = entry.path().strip_prefix(SAMPLE).unwrap();
        if rel.to_str() == Some("scp.json") {
            continue;
        }
        let to = dir.path().join(rel);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(entry.path(), to).unwrap();
    }
    dir
}

#[test]
fn without_policies_the_exemption_is_given_and_the_gap_is_said() {
    let dir = copy_without_scp();
    let d = diagnose(&[dir.path().to_str().unwrap()]);
    let ex = d.root_causes[0].remediation.scp_exemption.as_ref().unwrap();
    assert_eq!(
        ex.add_values,
        vec!["arn:aws:iam::121212121212:role/stacksets-exec-*".to_owned()]
    );
    assert!(ex.statement.is_none() && !ex.proven);
    assert!(ex
        .evaluation_note
        .as_deref()
        .is_some_and(|n| n.contains("no service control policies in the evidence")));
}

#[test]
fn scp_flag_supplies_the_policies() {
    let dir = copy_without_scp();
    let (code, out, err) = crate::common::run(
        &[
            "diagnose",
            "--format",
            "json",
            "--scp",
            &format!("{SAMPLE}/scp.json"),
            dir.path().to_str().unwrap(),
        ],
        None,
    );
    assert_eq!(code, 3, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ex = &v["root_causes"][0]["remediation"]["scp_exemption"];
    assert_eq!(
        ex["statement"]["statement"],
        "DenyS3PublicAccessBlockChanges"
    );
    assert_eq!(ex["proven"], true);
}

#[test]
fn a_policy_that_does_not_deny_is_reported_as_not_explaining_the_deny() {
    let dir = copy_without_scp();
    let allow = dir.path().join("allow-all.json");
    std::fs::write(&allow, r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#).unwrap();
    let d = diagnose(&[dir.path().to_str().unwrap()]);
    let ex = d.root_causes[0].remediation.scp_exemption.as_ref().unwrap();
    assert!(ex.statement.is_none());
    assert!(
        ex.evaluation_note
            .as_deref()
            .is_some_and(|n| n.contains("no policy in the evidence explains this deny")),
        "{:?}",
        ex.evaluation_note
    );
}

#[test]
fn a_policy_named_by_the_message_but_missing_is_not_claimed_proven() {
    let mut ev = evidence();
    let arn = "arn:aws:organizations::999999999999:policy/o-zzzz/service_control_policy/p-zzzz";
    for r in &mut ev.operation_results {
        if let Some(reason) = &mut r.status_reason {
            *reason = reason.replace(
                "in a service control policy",
                &format!("in a service control policy: {arn}"),
            );
        }
    }
    for i in &mut ev.stack_instances {
        if let Some(reason) = &mut i.status_reason {
            *reason = reason.replace(
                "in a service control policy",
                &format!("in a service control policy: {arn}"),
            );
        }
    }
    ev.stack_events.clear();
    let d = stackset_doctor::diagnose(&ev, &Catalog::builtin().unwrap(), Vec::new());
    let ex = d.root_causes[0].remediation.scp_exemption.as_ref().unwrap();
    assert_eq!(ex.policy_arn_in_message.as_deref(), Some(arn));
    assert!(!ex.proven);
    assert!(ex
        .evaluation_note
        .as_deref()
        .is_some_and(|n| n.contains(arn)));
}

#[test]
fn ta_evidence_alone_says_what_evidence_is_missing() {
    let d = diagnose(&["samples/quicksetup-scp-deny/AWS-QuickSetup-SSM-TA-abcde"]);
    assert!(
        d.coverage
            .iter()
            .any(|c| c.contains("ManagedInstance-CrossAccountManagementRole")
                && c.contains("collect")),
        "{:?}",
        d.coverage
    );
}
