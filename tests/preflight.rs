//! `preflight`: the reference case (the DA template against the sample's SCP, then the patched SCP), templates and
//! policies of our own (several types, an OU level lacking an Allow, an RCP, conditions the template cannot
//! settle), the data's coverage of every sample's template, the CLI's exit codes, and a property test that a
//! predicted deny is what `scp check` says.

use std::collections::HashMap;
use std::process::Command;

use serde_json::Value;
use stackset_doctor::classify::Catalog;
use stackset_doctor::preflight::{
    self, data, input, Certainty, ExecutionRole, Group, Plan, Report,
};
use stackset_doctor::scp::{self, load_path, OrgPath};

const SAMPLE: &str = "samples/quicksetup-scp-deny";
const FIX: &str = "tests/fixtures/preflight";

fn read(p: &str) -> String {
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{p}: {e}"))
}

fn path_of(files: &[&str]) -> OrgPath {
    let files: Vec<(String, String)> = files.iter().map(|f| ((*f).to_owned(), read(f))).collect();
    load_path(&files).expect("policies load")
}

fn plan<'c>(
    catalog: &'c Catalog,
    template_file: &str,
    path: OrgPath,
    targets: &[(&str, &str)],
    parameters: &[(&str, &str)],
) -> Plan<'c> {
    let t = input::template_from_text(template_file, &read(template_file)).expect("template");
    let mut params = t.parameters;
    params.extend(
        parameters
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
    );
    Plan {
        stack_set: String::new(),
        template: t.template,
        types: &catalog.resource_types,
        parameters: params,
        role: ExecutionRole::service_managed(),
        groups: vec![Group {
            label: "test".into(),
            path,
            targets: targets
                .iter()
                .map(|(a, r)| ((*a).to_owned(), (*r).to_owned()))
                .collect(),
        }],
        unchecked: Vec::new(),
    }
}

fn denies(r: &Report) -> Vec<(String, String, Certainty)> {
    let mut v: Vec<_> = r
        .predicted_denies
        .iter()
        .map(|d| (d.logical_id.clone(), d.action.clone(), d.certainty))
        .collect();
    v.sort();
    v
}

fn da_template() -> String {
    format!("{SAMPLE}/AWS-QuickSetup-SSM-DA-abcde/describe-stack-set.json")
}

#[test]
fn reference_case_predicts_the_public_access_block_deny_and_the_patch_clears_the_template() {
    let catalog = Catalog::builtin().unwrap();
    let d = data::builtin().unwrap();
    let path = path_of(&[&format!("{SAMPLE}/scp.json")]);
    let p = plan(
        &catalog,
        &da_template(),
        path.clone(),
        &[("121212121212", "ap-northeast-1")],
        &[],
    );
    let r = preflight::run(&p, d);
    assert_eq!(
        denies(&r),
        [(
            "DiagnosisBucket".to_owned(),
            "s3:PutBucketPublicAccessBlock".to_owned(),
            Certainty::Certain
        )]
    );
    let deny = &r.predicted_denies[0];
    assert_eq!(deny.account, "121212121212");
    assert_eq!(
        deny.resource,
        "arn:aws:s3:::do-not-delete-ssm-diagnosis-121212121212-ap-northeast-1-abab"
    );
    assert!(
        deny.statement.contains("DenyS3PublicAccessBlockChanges"),
        "{}",
        deny.statement
    );
    assert_eq!(deny.deny, "explicit");
    let patch = r.groups[0].patch.as_ref().expect("a patch");
    assert!(patch.proven && patch.clears == 1);
    assert_eq!(
        patch.fix.added_values,
        ["arn:aws:iam::121212121212:role/stacksets-exec-*"]
    );
    // On the patched SCP, nothing is denied.
    let patched = patch.fix.apply(&path);
    let p2 = plan(
        &catalog,
        &da_template(),
        patched,
        &[("121212121212", "ap-northeast-1")],
        &[],
    );
    let r2 = preflight::run(&p2, d);
    assert!(r2.predicted_denies.is_empty(), "{:?}", denies(&r2));
    assert!(r2.unsettled.is_empty());
    assert!(r2.groups[0].checked_actions > 40);
}

#[test]
fn a_bucket_without_the_property_only_possibly_calls_the_action() {
    let catalog = Catalog::builtin().unwrap();
    let d = data::builtin().unwrap();
    // The same SCP denies s3:PutBucketPublicAccessBlock; baseline.yaml's buckets set no PublicAccessBlockConfiguration.
    let path = path_of(&[&format!("{SAMPLE}/scp.json")]);
    let p = plan(
        &catalog,
        &format!("{FIX}/baseline.yaml"),
        path,
        &[("343434343434", "eu-west-1")],
        &[],
    );
    let r = preflight::run(&p, d);
    let pab: Vec<_> = r
        .predicted_denies
        .iter()
        .filter(|d| d.action == "s3:PutBucketPublicAccessBlock")
        .collect();
    assert_eq!(pab.len(), 2);
    assert!(pab.iter().all(|d| d.certainty == Certainty::Possible));
    // A possible deny gets no patch.
    assert!(r.groups[0].patch.is_none());
    // The unnamed bucket's name is generated, so its ARN is not known: a wildcard.
    let scratch = pab
        .iter()
        .find(|d| d.logical_id == "ScratchBucket")
        .unwrap();
    assert_eq!(scratch.resource, "*");
}

#[test]
fn an_ou_without_an_allow_and_an_rcp_condition_the_template_cannot_settle() {
    let catalog = Catalog::builtin().unwrap();
    let d = data::builtin().unwrap();
    let path = path_of(&[&format!("{FIX}/levels.json")]);
    let p = plan(
        &catalog,
        &format!("{FIX}/baseline.yaml"),
        path,
        &[("343434343434", "eu-west-1")],
        &[],
    );
    let r = preflight::run(&p, d);
    let certain: Vec<_> = r
        .predicted_denies
        .iter()
        .filter(|d| d.certainty == Certainty::Certain)
        .map(|d| (d.logical_id.as_str(), d.action.as_str(), d.deny.as_str()))
        .collect();
    assert!(
        certain.contains(&("AppFunction", "lambda:CreateFunction", "implicit")),
        "{certain:?}"
    );
    assert!(
        certain.contains(&("AuditBucket", "s3:PutBucketVersioning", "explicit")),
        "{certain:?}"
    );
    // iam:PassRole of the function's role is certain, and iam:* is allowed: not denied.
    assert!(!certain.iter().any(|c| c.1 == "iam:PassRole"));
    // The RCP's aws:PrincipalOrgID condition: the template cannot tell it.
    let u: Vec<_> = r
        .unsettled
        .iter()
        .map(|u| (u.logical_id.as_str(), u.action.as_str()))
        .collect();
    assert_eq!(u, [("Work", "sqs:CreateQueue")]);
    assert!(
        r.unsettled[0].reasons[0].contains("aws:PrincipalOrgID"),
        "{:?}",
        r.unsettled[0].reasons
    );
    // The patch clears the explicit deny only, and says the implicit one needs an Allow.
    let g = &r.groups[0];
    assert_eq!(g.patch.as_ref().map(|p| p.clears), Some(1));
    assert!(
        g.patch_notes
            .iter()
            .any(|n| n.contains("lambda:CreateFunction")),
        "{:?}",
        g.patch_notes
    );
}

#[test]
fn region_tags_and_resource_names_settle_what_they_can() {
    let catalog = Catalog::builtin().unwrap();
    let d = data::builtin().unwrap();
    let path = path_of(&[&format!("{FIX}/tag-guard.json")]);
    let run = |region: &str| {
        let p = plan(
            &catalog,
            &format!("{FIX}/baseline.yaml"),
            path.clone(),
            &[("343434343434", region)],
            &[("Retention", "30")],
        );
        preflight::run(&p, d)
    };
    let us = run("us-east-1");
    assert_eq!(
        denies(&us),
        [
            (
                "Alerts".to_owned(),
                "sns:CreateTopic".to_owned(),
                Certainty::Certain
            ),
            (
                "AuditBucket".to_owned(),
                "s3:PutBucketTagging".to_owned(),
                Certainty::Certain
            ),
        ]
    );
    // In an approved Region the topic passes.
    let eu = run("eu-west-1");
    assert_eq!(
        denies(&eu),
        [(
            "AuditBucket".to_owned(),
            "s3:PutBucketTagging".to_owned(),
            Certainty::Certain
        )]
    );
    // The tag condition cannot be told from the template (stack tags propagate); the scratch bucket's generated name
    // cannot be matched against audit-*.
    let mut u: Vec<_> = eu
        .unsettled
        .iter()
        .map(|u| (u.logical_id.as_str(), u.action.as_str()))
        .collect();
    u.sort();
    assert_eq!(
        u,
        [
            ("AppLogs", "logs:CreateLogGroup"),
            ("ScratchBucket", "s3:PutBucketTagging")
        ]
    );
    let patch = us.groups[0].patch.as_ref().unwrap();
    assert_eq!(patch.clears, 2);
    let patched = patch.fix.apply(&path);
    let p = plan(
        &catalog,
        &format!("{FIX}/baseline.yaml"),
        patched,
        &[("343434343434", "us-east-1")],
        &[("Retention", "30")],
    );
    assert!(preflight::run(&p, d).predicted_denies.is_empty());
}

#[test]
fn kms_rotation_is_certain_only_when_the_value_is_known_to_be_true() {
    let catalog = Catalog::builtin().unwrap();
    let d = data::builtin().unwrap();
    let deny_rotation = r#"{"Version":"2012-10-17","Statement":[{"Sid":"NoRotation","Effect":"Deny","Action":"kms:EnableKeyRotation","Resource":"*"}]}"#;
    let path = load_path(&[("p.json".into(), deny_rotation.into())]).unwrap();
    let certainty = |rotate: &str| {
        let p = plan(
            &catalog,
            &format!("{FIX}/baseline.yaml"),
            path.clone(),
            &[("343434343434", "eu-west-1")],
            &[("Rotate", rotate)],
        );
        let r = preflight::run(&p, d);
        r.predicted_denies
            .iter()
            .find(|x| x.action == "kms:EnableKeyRotation")
            .map(|x| x.certainty)
    };
    assert_eq!(certainty("true"), Some(Certainty::Certain));
    assert_eq!(certainty("false"), Some(Certainty::Possible));
}

#[test]
fn accounts_sharing_a_path_are_one_group_and_every_account_is_reported() {
    let catalog = Catalog::builtin().unwrap();
    let d = data::builtin().unwrap();
    let path = path_of(&[&format!("{SAMPLE}/scp.json")]);
    let targets = [
        ("111111111111", "ap-northeast-1"),
        ("222222222222", "ap-northeast-1"),
        ("333333333333", "eu-west-1"),
    ];
    let p = plan(&catalog, &da_template(), path.clone(), &targets, &[]);
    let r = preflight::run(&p, d);
    let mut accts: Vec<_> = r
        .predicted_denies
        .iter()
        .map(|d| (d.account.as_str(), d.region.as_str()))
        .collect();
    accts.sort();
    assert_eq!(accts, targets);
    // Each account's own bucket name.
    assert!(r
        .predicted_denies
        .iter()
        .all(|d| d.resource.contains(&d.account) && d.resource.contains(&d.region)));
    // One patch exempts each account's role and clears all three.
    let patch = r.groups[0].patch.as_ref().unwrap();
    assert_eq!(patch.clears, 3);
    assert_eq!(patch.fix.added_values.len(), 3);
    let p2 = plan(
        &catalog,
        &da_template(),
        patch.fix.apply(&path),
        &targets,
        &[],
    );
    assert!(preflight::run(&p2, d).predicted_denies.is_empty());
}

#[test]
fn the_data_covers_every_samples_template() {
    let catalog = Catalog::builtin().unwrap();
    let d = data::builtin().unwrap();
    let mut seen = 0;
    for entry in walkdir::WalkDir::new("samples")
        .into_iter()
        .filter_map(Result::ok)
    {
        if entry.file_name() != "describe-stack-set.json" {
            continue;
        }
        let file = entry.path().display().to_string();
        let t = input::template_from_text(&file, &read(&file)).expect("sample template");
        for r in &t.template.resources {
            let h = d
                .handlers
                .get(&r.resource_type)
                .unwrap_or_else(|| panic!("{file}: {} not in the data", r.resource_type));
            assert!(
                !h.create.is_empty(),
                "{file}: {} has no create permissions",
                r.resource_type
            );
            seen += 1;
        }
        let _ = &catalog;
    }
    assert!(seen >= 20, "{seen}");
}

#[test]
fn the_bundle_mode_reads_template_targets_roles_and_paths_from_the_evidence() {
    let catalog = Catalog::builtin().unwrap();
    let d = data::builtin().unwrap();
    let loaded = stackset_doctor::collect::load_paths(&[SAMPLE.into()]).unwrap();
    let (plans, _) =
        input::plans_from_evidence(&loaded.evidence, &catalog.resource_types, None).unwrap();
    let da = plans
        .iter()
        .find(|p| p.stack_set.ends_with("DA-abcde"))
        .expect("DA plan");
    // The failure message shows the account's real execution role.
    assert_eq!(
        da.role.arn("aws", "121212121212"),
        "arn:aws:iam::121212121212:role/stacksets-exec-1234abcd"
    );
    let r = preflight::run(da, d);
    assert_eq!(
        denies(&r),
        [(
            "DiagnosisBucket".to_owned(),
            "s3:PutBucketPublicAccessBlock".to_owned(),
            Certainty::Certain
        )]
    );
    assert_eq!(
        r.predicted_denies[0].principal,
        "arn:aws:iam::121212121212:role/stacksets-exec-1234abcd"
    );
    let ta = plans
        .iter()
        .find(|p| p.stack_set.ends_with("TA-abcde"))
        .expect("TA plan");
    assert_eq!(ta.groups.len(), 1);
    assert!(preflight::run(ta, d).predicted_denies.is_empty());
}

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stackset-doctor"))
        .args(args)
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn cli_exit_codes_and_json_contract() {
    let scp_file = format!("{SAMPLE}/scp.json");
    let da = da_template();
    let (code, out, err) = cli(&[
        "preflight",
        "--template",
        &da,
        "--policy",
        &scp_file,
        "--account",
        "121212121212",
        "--region",
        "ap-northeast-1",
        "-f",
        "json",
    ]);
    assert_eq!(code, 3, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let d = &v["predicted_denies"][0];
    for k in [
        "account",
        "region",
        "logical_id",
        "resource_type",
        "action",
        "certainty",
        "statement",
    ] {
        assert!(
            d.get(k).is_some_and(|x| x.is_string()),
            "{k} missing in {d}"
        );
    }
    assert_eq!(d["certainty"], "certain");
    assert_eq!(d["logical_id"], "DiagnosisBucket");
    // With the patched SCP written by `scp fix`, exit 0.
    let dir = tempfile::tempdir().unwrap();
    let patched = dir.path().join("patched.json");
    let (code, _, err) = cli(&[
        "scp",
        "fix",
        "--policy",
        &scp_file,
        "--principal",
        "arn:aws:iam::121212121212:role/stacksets-exec-00000000000000000000000000000000",
        "--action",
        "s3:PutBucketPublicAccessBlock",
        "--account",
        "121212121212",
        "--write",
        &patched.display().to_string(),
    ]);
    assert_eq!(code, 0, "{err}");
    let (code, out, err) = cli(&[
        "preflight",
        "--template",
        &da,
        "--policy",
        &patched.display().to_string(),
        "--account",
        "121212121212",
        "--region",
        "ap-northeast-1",
        "-f",
        "markdown",
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("No deny predicted"), "{out}");
    // Bad input names the file; a bad account is a usage error.
    let (code, _, err) = cli(&[
        "preflight",
        "--template",
        "Cargo.toml",
        "--policy",
        &scp_file,
        "--account",
        "121212121212",
    ]);
    assert_eq!(code, 1);
    assert!(err.contains("Cargo.toml"), "{err}");
    let (code, _, _) = cli(&[
        "preflight",
        "--template",
        &da,
        "--policy",
        &scp_file,
        "--account",
        "12",
    ]);
    assert_eq!(code, 2);
    let (code, out, _) = cli(&["preflight", SAMPLE]);
    assert_eq!(code, 3);
    assert!(out.contains("DiagnosisBucket"));
}

#[test]
fn input_text_is_sanitised_in_the_table() {
    let catalog = Catalog::builtin().unwrap();
    let d = data::builtin().unwrap();
    let t = "Resources:\n  \"Evil\\e[31mBucket\":\n    Type: AWS::S3::Bucket\n    Properties:\n      PublicAccessBlockConfiguration: {BlockPublicAcls: true}\n";
    let template = stackset_doctor::template::Template::parse(t).unwrap();
    let p = Plan {
        stack_set: String::new(),
        template,
        types: &catalog.resource_types,
        parameters: HashMap::new(),
        role: ExecutionRole::service_managed(),
        groups: vec![Group {
            label: "x".into(),
            path: path_of(&[&format!("{SAMPLE}/scp.json")]),
            targets: vec![("121212121212".into(), "us-east-1".into())],
        }],
        unchecked: Vec::new(),
    };
    let reports = Report::merge(vec![preflight::run(&p, d)]);
    assert_eq!(reports.predicted_denies.len(), 1);
    let mut out = Vec::new();
    preflight::write(&reports, preflight::Format::Table, &mut out).unwrap();
    let s = String::from_utf8(out).unwrap();
    assert!(s.contains("Bucket") && !s.contains('\u{1b}'), "{s:?}");
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    const ACTIONS: [&str; 6] = [
        "s3:CreateBucket",
        "s3:PutBucketPublicAccessBlock",
        "s3:PutBucketVersioning",
        "iam:CreateRole",
        "iam:TagRole",
        "s3:PutBucketTagging",
    ];

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// Whatever an SCP denies, a predicted deny is exactly what `scp check` says for that action, principal,
        /// resource and account: denied, by the statement preflight names.
        #[test]
        fn a_predicted_deny_is_what_scp_check_says(
            denied in proptest::sample::subsequence(ACTIONS.to_vec(), 1..4),
            exempt_role in proptest::bool::ANY,
            resource_scoped in proptest::bool::ANY,
            region in proptest::sample::select(vec!["us-east-1", "eu-west-1", "ap-northeast-1"]),
        ) {
            let catalog = Catalog::builtin().unwrap();
            let d = data::builtin().unwrap();
            let mut stmt = serde_json::json!({"Sid": "Guard", "Effect": "Deny", "Action": denied,
                "Resource": if resource_scoped { "arn:aws:s3:::do-not-delete-*" } else { "*" }});
            if exempt_role {
                stmt["Condition"] = serde_json::json!({"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/test-role"}});
            }
            let doc = serde_json::json!({"Version": "2012-10-17", "Statement": [stmt]}).to_string();
            let path = load_path(&[("p.json".into(), doc.clone())]).unwrap();
            let p = plan(&catalog, &da_template(), path.clone(), &[("121212121212", region)], &[]);
            let r = preflight::run(&p, d);
            for x in &r.predicted_denies {
                let mut spec = scp::RequestSpec {
                    principal: x.principal.clone(),
                    action: x.action.clone(),
                    account: Some(x.account.clone()),
                    context: vec![format!("aws:RequestedRegion={}", x.region)],
                    ..Default::default()
                };
                if !x.resource.contains('*') {
                    spec.resource = Some(x.resource.clone());
                    spec.context.push(format!("aws:ResourceAccount={}", x.account));
                }
                let (cpath, req) = scp::request(&spec, &[("p.json".into(), doc.clone())]).unwrap();
                let ev = scp::evaluate(&cpath, &req);
                prop_assert!(ev.verdict.is_denied(), "{} {}: check says {}", x.logical_id, x.action, ev.summary);
                let named = preflight::statement_of(&ev.verdict).map(|s| s.0);
                prop_assert_eq!(named.as_deref(), Some(x.statement.as_str()));
            }
            // And every action the policy denies is predicted as certain (the DA template's properties make each of
            // ACTIONS certain), unless the statement's Resource leaves the role's ARN out.
            for a in &denied {
                if a.starts_with("s3:") || !resource_scoped {
                    prop_assert!(r.predicted_denies.iter().any(|x| x.action == *a && x.certainty == Certainty::Certain), "{a} not predicted");
                }
            }
        }
    }
}

/// Copy a sample folder, changing one file's text.
fn sample_with(dir: &std::path::Path, file: &str, change: impl Fn(String) -> String) {
    for e in walkdir::WalkDir::new(SAMPLE) {
        let e = e.unwrap();
        let rel = e.path().strip_prefix(SAMPLE).unwrap();
        let to = dir.join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else if rel == std::path::Path::new(file) {
            std::fs::write(&to, change(read(e.path().to_str().unwrap()))).unwrap();
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

#[test]
fn diagnose_checks_the_whole_template_against_the_patched_policies() {
    let catalog = Catalog::builtin().unwrap();
    let diagnose = |path: &str| {
        let loaded = stackset_doctor::collect::load_paths(&[path.into()]).unwrap();
        stackset_doctor::diagnose(&loaded.evidence, &catalog, Vec::new())
    };
    // The reference case: the patch clears the DA template's every certain action.
    let d = diagnose(SAMPLE);
    let c = d.root_causes[0]
        .remediation
        .template_check
        .clone()
        .expect("the DA template is in the evidence");
    assert_eq!(c.stack_set, "AWS-QuickSetup-SSM-DA-abcde");
    assert_eq!(c.accounts, ["121212121212"]);
    assert!(c.still_denied.is_empty(), "{c:?}");
    assert!(c.checked_actions > 10 && c.checked_resources >= 2, "{c:?}");
    // A second statement denies what the bucket's VersioningConfiguration needs: the patch of the first does not
    // clear it, and the check says so — the next failure, before the redeploy.
    let dir = tempfile::tempdir().unwrap();
    sample_with(dir.path(), "scp.json", |text| {
        let mut v: Value = serde_json::from_str(&text).unwrap();
        let mut doc: Value =
            serde_json::from_str(v["Policy"]["Content"].as_str().unwrap()).unwrap();
        doc["Statement"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "Sid": "DenyVersioningChanges",
                "Effect": "Deny",
                "Action": "s3:PutBucketVersioning",
                "Resource": "*"
            }));
        v["Policy"]["Content"] = doc.to_string().into();
        v.to_string()
    });
    let d = diagnose(dir.path().to_str().unwrap());
    let c = d.root_causes[0]
        .remediation
        .template_check
        .clone()
        .expect("checked");
    assert_eq!(c.still_denied.len(), 1, "{c:?}");
    assert!(
        c.still_denied[0].starts_with(
            "s3:PutBucketVersioning on arn:aws:s3:::do-not-delete-ssm-diagnosis-121212121212-ap-northeast-1-abab (DiagnosisBucket)"
        ) && c.still_denied[0].contains("DenyVersioningChanges"),
        "{c:?}"
    );
    assert!(c.sentence().starts_with(
        "after this fix, the template of AWS-QuickSetup-SSM-DA-abcde would still be denied"
    ));
}
