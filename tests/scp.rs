//! `scp`: the reference case end to end (library and CLI runners), fix behaviour, and property tests of the patch.

use serde_json::{json, Value};
use stackset_doctor::scp::{
    evaluate, fix, load_path, principal_arn_from_message, write_check, write_fix, Expect, OrgPath,
    Policy, Request, ScpError, Verdict,
};

const SESSION: &str = "arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678";
const ACTION: &str = "s3:PutBucketPublicAccessBlock";
const BUCKET: &str = "arn:aws:s3:::do-not-delete-ssm-diagnosis-121212121212-ap-northeast-1-abab";
const EXEMPTION: &str = "arn:aws:iam::121212121212:role/stacksets-exec-*";

fn check_text(ev: &stackset_doctor::scp::Evaluation) -> String {
    let mut out = Vec::new();
    write_check(ev, &mut out).expect("renders");
    String::from_utf8(out).expect("UTF-8")
}

fn fix_text(f: &stackset_doctor::scp::Fix) -> String {
    let mut out = Vec::new();
    write_fix(f, &mut out).expect("renders");
    String::from_utf8(out).expect("UTF-8")
}

/// The reference SCP as `aws organizations describe-policy` prints it (Content is JSON text, Sid first).
fn reference_scp() -> String {
    let content = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Sid": "DenyPublicAccessBlockChanges",
      "Effect": "Deny",
      "Action": ["s3:PutBucketPublicAccessBlock", "s3:PutAccountPublicAccessBlock"],
      "Resource": "*",
      "Condition": {
        "ArnNotLike": {
          "aws:PrincipalARN": ["arn:aws:iam::*:role/test-role", "arn:aws:iam::*:user/test-user*"]
        }
      }
    }
  ]
}"#;
    json!({"Policy": {
        "PolicySummary": {
            "Id": "p-abcd1234",
            "Arn": "arn:aws:organizations::987654321098:policy/o-abcd1234/service_control_policy/p-abcd1234",
            "Name": "guardrails",
            "Description": "",
            "Type": "SERVICE_CONTROL_POLICY",
            "AwsManaged": false
        },
        "Content": content
    }})
    .to_string()
}

fn reference() -> (OrgPath, Request) {
    let path = load_path(&[("scp.json".to_owned(), reference_scp())]).expect("reference SCP loads");
    (path, Request::new(SESSION, ACTION).with_resource(BUCKET))
}

#[test]
fn reference_case_is_denied_by_the_sid_statement() {
    let p = Policy::parse("scp.json", &reference_scp()).expect("parses");
    assert_eq!(p.id.as_deref(), Some("p-abcd1234"));
    let (path, req) = reference();
    assert_eq!(
        req.principal_arn,
        "arn:aws:iam::121212121212:role/stacksets-exec-1234abcd"
    );
    let ev = evaluate(&path, &req);
    match &ev.verdict {
        Verdict::ExplicitDeny {
            policy,
            statement,
            statement_index,
        } => {
            assert_eq!(statement, "DenyPublicAccessBlockChanges");
            assert_eq!(*statement_index, 0);
            assert_eq!(policy.id.as_deref(), Some("p-abcd1234"));
        }
        other => panic!("expected an explicit deny, got {other:?}"),
    }
    assert_eq!(ev.verdict.exit_code(), 3);
    assert!(ev.assumed_full_access);
    let c = &ev.statements[0].conditions[0];
    assert_eq!(
        (c.operator.as_str(), c.key.as_str()),
        ("ArnNotLike", "aws:PrincipalARN")
    );
    assert!(c.why.contains("matches none of"), "{}", c.why);
    let text = check_text(&ev);
    assert!(
        text.contains("DENIED") && text.contains("FullAWSAccess"),
        "{text}"
    );
}

#[test]
fn reference_case_fix_extends_the_arn_not_like_list_and_proves_it() {
    let (path, req) = reference();
    let f = fix(&path, &req).expect("a proven fix");
    assert!(f.proven);
    assert_eq!(f.added_values, vec![EXEMPTION.to_owned()]);
    assert_eq!(f.patches.len(), 1);
    let p = &f.patches[0];
    let c = &p.changes[0];
    assert_eq!(
        (
            c.statement.as_str(),
            c.operator.as_str(),
            c.key.as_str(),
            c.created
        ),
        (
            "DenyPublicAccessBlockChanges",
            "ArnNotLike",
            "aws:PrincipalARN",
            false
        )
    );
    assert_eq!(
        p.patched_document["Statement"][0]["Condition"]["ArnNotLike"]["aws:PrincipalARN"],
        json!([
            "arn:aws:iam::*:role/test-role",
            "arn:aws:iam::*:user/test-user*",
            EXEMPTION
        ])
    );
    // The diff changes exactly the list's end: one line gains a comma, one line is added.
    let minus: Vec<&str> = p
        .diff
        .lines()
        .filter(|l| l.starts_with('-') && !l.starts_with("---"))
        .collect();
    let plus: Vec<&str> = p
        .diff
        .lines()
        .filter(|l| l.starts_with('+') && !l.starts_with("+++"))
        .collect();
    assert_eq!(minus.len(), 1, "{}", p.diff);
    assert_eq!(plus.len(), 2, "{}", p.diff);
    assert!(plus[1].contains(EXEMPTION));
    // Key order of the policy is kept (Sid before Effect), and the text is the document.
    assert!(p.patched_text.find("\"Sid\"") < p.patched_text.find("\"Effect\""));
    assert_eq!(
        serde_json::from_str::<Value>(&p.patched_text).ok().as_ref(),
        Some(&p.patched_document)
    );
    assert!(f.why[0].contains("STS session") && f.why[0].contains("account 121212121212 only"));
    assert!(f
        .warnings
        .iter()
        .any(|w| w.contains("Control Tower") && w.contains("stacksets-exec-*")));
    // The proof: the request allowed, neighbours still denied.
    assert!(f.proof.iter().all(|c| c.ok));
    assert!(f.proof[0].after.is_allowed() && f.proof[0].before.is_denied());
    for needle in [
        "another role in the same account",
        "another account",
        "s3:PutAccountPublicAccessBlock",
    ] {
        let case = f
            .proof
            .iter()
            .find(|c| c.description.contains(needle))
            .unwrap_or_else(|| panic!("no proof case {needle}"));
        assert!(
            case.applicable && case.expect == Expect::Denied && case.after.is_denied(),
            "{needle}"
        );
    }
    let patched = f.apply(&path);
    assert!(evaluate(&patched, &req).verdict.is_allowed());
    let text = fix_text(&f);
    assert!(
        text.contains(&format!("+ {EXEMPTION}")) && text.contains("Proven: yes"),
        "{text}"
    );
    let report = serde_json::to_value(&f).expect("serializes");
    assert_eq!(report["proven"], json!(true));
}

#[test]
fn session_of_a_plain_role_gets_path_safe_patterns() {
    // docs/scp-semantics.md#principals: role/N and role/*/N, never role/*N.
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#;
    let path = load_path(&[("d.json".to_owned(), doc.to_owned())]).expect("loads");
    let req = Request::new(
        "arn:aws:sts::111122223333:assumed-role/Deployer/s1",
        "s3:PutObject",
    );
    let f = fix(&path, &req).expect("fix");
    assert_eq!(
        f.added_values,
        [
            "arn:aws:iam::111122223333:role/Deployer",
            "arn:aws:iam::111122223333:role/*/Deployer"
        ]
    );
    let c = &f.patches[0].changes[0];
    assert!(c.created && c.operator == "ArnNotLike" && c.key == "aws:PrincipalARN");
    assert!(f
        .proof
        .iter()
        .any(|c| c.description.contains("has a path") && c.ok));
    assert!(f
        .proof
        .iter()
        .any(|c| c.request.principal_arn.ends_with(":role/xDeployer") && c.ok && c.applicable));
    assert!(f.warnings.is_empty() || !f.warnings[0].contains("Control Tower"));
}

#[test]
fn new_condition_is_anded_with_existing_ones() {
    // The statement denies outside eu-west-1; the exemption is a new ArnNotLike beside the region condition.
    let doc = json!({"Version": "2012-10-17", "Statement": {"Sid": "Region", "Effect": "Deny", "NotAction": ["iam:*"], "Resource": "*",
        "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1"]}}}});
    let path = load_path(&[("d.json".to_owned(), doc.to_string())]).expect("loads");
    let req = Request::new(
        "arn:aws:iam::111122223333:role/ci/Deployer",
        "ec2:RunInstances",
    )
    .with_context("aws:RequestedRegion", "us-east-1");
    let f = fix(&path, &req).expect("fix");
    assert_eq!(
        f.added_values,
        ["arn:aws:iam::111122223333:role/ci/Deployer"]
    );
    let cond = &f.patches[0].patched_document["Statement"]["Condition"];
    assert_eq!(
        cond["StringNotEquals"]["aws:RequestedRegion"],
        json!(["eu-west-1"])
    );
    assert_eq!(
        cond["ArnNotLike"]["aws:PrincipalARN"],
        json!(["arn:aws:iam::111122223333:role/ci/Deployer"])
    );
    let patched = f.apply(&path);
    // Still denied for others outside the region, still allowed for everyone inside it.
    let other = Request::new("arn:aws:iam::111122223333:role/Other", "ec2:RunInstances")
        .with_context("aws:RequestedRegion", "us-east-1");
    assert!(evaluate(&patched, &other).verdict.is_denied());
    let inside = Request::new("arn:aws:iam::111122223333:role/Other", "ec2:RunInstances")
        .with_context("aws:RequestedRegion", "eu-west-1");
    assert!(evaluate(&patched, &inside).verdict.is_allowed());
}

#[test]
fn string_not_equals_list_and_key_spelling_are_kept() {
    let doc = r#"{"Version":"2012-10-17","Statement":[{"Sid":"S","Effect":"Deny","Action":"kms:ScheduleKeyDeletion","Resource":"*",
        "Condition":{"StringNotEquals":{"AWS:PrincipalArn":["arn:aws:iam::111122223333:role/Admin"]}}}]}"#;
    let path = load_path(&[("d.json".to_owned(), doc.to_owned())]).expect("loads");
    // Exact ARN (path known): goes into the existing StringNotEquals list with the policy's key spelling.
    let f = fix(
        &path,
        &Request::new(
            "arn:aws:iam::111122223333:role/Ops",
            "kms:ScheduleKeyDeletion",
        ),
    )
    .expect("fix");
    let c = &f.patches[0].changes[0];
    assert_eq!(
        (c.operator.as_str(), c.key.as_str(), c.created),
        ("StringNotEquals", "AWS:PrincipalArn", false)
    );
    // A wildcard cannot go into StringNotEquals: a new ArnNotLike is added beside it.
    let f = fix(
        &path,
        &Request::new(
            "arn:aws:sts::111122223333:assumed-role/Ops/x",
            "kms:ScheduleKeyDeletion",
        ),
    )
    .expect("fix");
    let c = &f.patches[0].changes[0];
    assert!(
        c.created && c.operator == "ArnNotLike" && c.note.contains("compares exactly"),
        "{c:?}"
    );
}

#[test]
fn every_denying_statement_is_patched() {
    let doc = r#"{"Version":"2012-10-17","Statement":[
        {"Sid":"A","Effect":"Deny","Action":"s3:*","Resource":"*"},
        {"Sid":"B","Effect":"Deny","Action":"s3:Put*","Resource":"*","Condition":{"ArnNotLike":{"aws:PrincipalArn":"arn:aws:iam::*:role/x"}}},
        {"Sid":"C","Effect":"Deny","Action":"ec2:*","Resource":"*"}]}"#;
    let path = load_path(&[("d.json".to_owned(), doc.to_owned())]).expect("loads");
    let f = fix(&path, &Request::new(SESSION, ACTION)).expect("fix");
    let stmts: Vec<&str> = f.patches[0]
        .changes
        .iter()
        .map(|c| c.statement.as_str())
        .collect();
    assert_eq!(stmts, ["A", "B"]);
    // The same principal on ec2 (statement C, outside the fix) stays denied.
    assert!(f
        .proof
        .iter()
        .any(|c| c.description.contains("statement C") && c.after.is_denied()));
}

#[test]
fn what_cannot_be_fixed_is_said() {
    let (path, _) = reference();
    let allowed = Request::new(SESSION, "s3:GetObject");
    assert!(matches!(
        fix(&path, &allowed),
        Err(ScpError::NothingToFix(_))
    ));
    // A level without an Allow: an exemption in a Deny cannot help.
    let levels = r#"{"levels":[{"name":"root","policies":["FullAWSAccess"]},{"name":"ou","policies":[{"Statement":{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}]}]}"#;
    let path = load_path(&[("l.json".to_owned(), levels.to_owned())]).expect("loads");
    let e = fix(&path, &Request::new(SESSION, ACTION)).expect_err("no fix");
    assert!(
        matches!(&e, ScpError::NoPatch(m) if m.contains("level ou")),
        "{e}"
    );
    assert_eq!(e.exit_code(), 3);
    // An explicit deny plus a level lacking an Allow: the patch would not make the request allowed, so it is
    // not offered, and the failed proof is kept for the report.
    let levels = format!(
        r#"{{"levels":[{{"name":"root","policies":[{}]}},{{"name":"ou","policies":[{{"Statement":{{"Effect":"Allow","Action":"ec2:*","Resource":"*"}}}}]}}]}}"#,
        r#"{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"},{"Effect":"Deny","Action":"s3:*","Resource":"*"}]}"#
    );
    let path = load_path(&[("l.json".to_owned(), levels)]).expect("loads");
    match fix(&path, &Request::new(SESSION, ACTION)) {
        Err(ScpError::Unproven { fix, .. }) => {
            assert!(!fix.proven && !fix.proof[0].ok);
            assert!(fix_text(&fix).contains("NO PATCH OFFERED"));
        }
        other => panic!("expected an unproven patch, got {other:?}"),
    }
}

#[test]
fn principal_view_of_the_reference_session() {
    let v = principal_arn_from_message(SESSION);
    assert_eq!(
        v.principal_arn,
        "arn:aws:iam::121212121212:role/stacksets-exec-1234abcd"
    );
    assert!(v.stacksets_exec && !v.path_known);
}

// ---- The command line ---------------------------------------------------------------------------------------

/// `scp check`/`scp fix` through the binary: (exit code, stdout, stderr).
fn scp_cli(sub: &str, policies: &[&std::path::Path], extra: &[&str]) -> (i32, String, String) {
    let mut args: Vec<String> = vec!["scp".into(), sub.into(), "--policy".into()];
    args.extend(policies.iter().map(|p| p.display().to_string()));
    for a in [
        "--principal",
        SESSION,
        "--action",
        ACTION,
        "--resource",
        BUCKET,
        "--context",
        "aws:RequestedRegion=ap-northeast-1",
    ] {
        args.push(a.into());
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    crate::common::run(&args, None)
}

#[test]
fn cli_check_and_fix_on_the_reference_case() {
    let dir = tempfile::tempdir().expect("tempdir");
    let scp = dir.path().join("scp.json");
    std::fs::write(&scp, reference_scp()).expect("write");
    let (code, text, _) = scp_cli("check", &[&scp], &[]);
    assert_eq!(code, 3, "{text}");
    assert!(
        text.contains("DenyPublicAccessBlockChanges")
            && text.contains("assuming the AWS-managed FullAWSAccess"),
        "{text}"
    );

    let target = dir.path().join("patched.json");
    let (code, text, _) = scp_cli("fix", &[&scp], &["--write", target.to_str().unwrap()]);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains("--- a/p-abcd1234") && text.contains("Proven: yes"),
        "{text}"
    );
    assert!(
        text.contains(&format!("file://{}", target.display())),
        "{text}"
    );
    let written: Value =
        serde_json::from_str(&std::fs::read_to_string(&target).expect("written")).expect("JSON");
    assert_eq!(
        written["Statement"][0]["Condition"]["ArnNotLike"]["aws:PrincipalARN"][2],
        json!(EXEMPTION)
    );

    // The patched file, checked again, allows the request.
    let (code, out, _) = scp_cli("check", &[&target], &["--format", "json"]);
    let report: Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!(
        (code, report["verdict"]["kind"].as_str()),
        (0, Some("allowed"))
    );

    let (code, out, _) = scp_cli("fix", &[&scp], &["--format", "json"]);
    let report: Value = serde_json::from_str(&out).expect("JSON report");
    assert_eq!((code, &report["added_values"]), (0, &json!([EXEMPTION])));
}

#[test]
fn cli_bad_input_is_an_error_with_exit_code_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "{\"Statement\": [").expect("write");
    let (code, _, err) = scp_cli("check", &[&bad], &[]);
    assert_eq!(code, 1);
    assert!(err.contains("malformed JSON"), "{err}");
    let (code, _, err) = scp_cli("check", &[&dir.path().join("missing.json")], &[]);
    assert_eq!(code, 1, "{err}");
    let good = dir.path().join("scp.json");
    std::fs::write(&good, reference_scp()).expect("write");
    let (code, _, err) = scp_cli("check", &[&good], &["--context", "novalue"]);
    assert_eq!(code, 1, "{err}");
    let (code, _, err) = scp_cli("check", &[&good], &["--account", "12"]);
    assert_eq!(code, 1, "{err}");
}

#[test]
fn cli_levels_file_checks_allows_and_management_account() {
    let dir = tempfile::tempdir().expect("tempdir");
    let levels = dir.path().join("levels.json");
    std::fs::write(
        &levels,
        r#"{"management_account": "999999999999", "levels": [
            {"name": "root", "policies": ["FullAWSAccess"]},
            {"name": "Workloads", "policies": [{"name": "S3Only", "type": "SCP", "document": {"Version": "2012-10-17", "Statement": {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}}}]}]}"#,
    )
    .expect("write");
    let run = |sub: &str, principal: &str| {
        crate::common::run(
            &[
                "scp",
                sub,
                "--policy",
                levels.to_str().unwrap(),
                "--principal",
                principal,
                "--action",
                "ec2:RunInstances",
                "--resource",
                BUCKET,
            ],
            None,
        )
    };
    let (code, text, _) = run("check", SESSION);
    assert_eq!(code, 3);
    assert!(
        text.contains("implicitly denied: level Workloads") && !text.contains("assuming"),
        "{text}"
    );
    let (code, text, _) = run("fix", SESSION);
    assert_eq!(code, 3);
    assert!(text.contains("no patch can be proposed"), "{text}");
    let (code, _, _) = run("check", "arn:aws:iam::999999999999:role/Admin");
    assert_eq!(code, 0);
}

// ---- Property tests -----------------------------------------------------------------------------------------

mod properties {
    use super::*;
    use proptest::prelude::*;

    const OTHER_ACTIONS: [&str; 5] = [
        "s3:PutAccountPublicAccessBlock",
        "s3:DeleteBucket",
        "iam:CreateRole",
        "ec2:RunInstances",
        "kms:ScheduleKeyDeletion",
    ];
    const KEYS: [&str; 4] = [
        "aws:PrincipalArn",
        "aws:PrincipalARN",
        "AWS:PRINCIPALARN",
        "aws:principalarn",
    ];
    const OPS: [&str; 4] = [
        "ArnNotLike",
        "ArnNotEquals",
        "StringNotLike",
        "StringNotEquals",
    ];

    #[derive(Debug, Clone)]
    struct Scenario {
        account: String,
        name: String,
        /// None: an STS session; Some(dir): an IAM role ARN with that path ("" or "team/").
        iam_path: Option<String>,
        other_actions: Vec<usize>,
        existing: Option<(usize, usize, Vec<String>)>,
        region_condition: bool,
        neighbours: Vec<String>,
        other_accounts: Vec<String>,
    }

    fn role_name() -> impl Strategy<Value = String> {
        prop_oneof![
            "[A-Za-z0-9+=,.@_-]{1,20}",
            "[0-9a-f]{8,16}".prop_map(|h| format!("stacksets-exec-{h}")),
        ]
    }

    fn scenario() -> impl Strategy<Value = Scenario> {
        (
            "[0-9]{12}",
            role_name(),
            prop_oneof![
                Just(None),
                Just(Some(String::new())),
                Just(Some("team/".to_owned()))
            ],
            proptest::sample::subsequence(vec![0usize, 1, 2, 3, 4], 0..=5),
            proptest::option::of((
                0..4usize,
                0..4usize,
                proptest::collection::vec("[a-z]{3,8}", 1..3),
            )),
            any::<bool>(),
            proptest::collection::vec("[A-Za-z0-9+=,.@_-]{1,20}", 1..4),
            proptest::collection::vec("[0-9]{12}", 1..3),
        )
            .prop_map(
                |(
                    account,
                    name,
                    iam_path,
                    other_actions,
                    existing,
                    region_condition,
                    neighbours,
                    other_accounts,
                )| Scenario {
                    account,
                    name,
                    iam_path,
                    other_actions,
                    existing,
                    region_condition,
                    neighbours,
                    other_accounts,
                },
            )
    }

    fn build(s: &Scenario) -> (OrgPath, Request, Vec<String>) {
        let mut actions = vec![ACTION.to_owned()];
        actions.extend(s.other_actions.iter().map(|i| OTHER_ACTIONS[*i].to_owned()));
        let mut cond = serde_json::Map::new();
        if let Some((op, key, vals)) = &s.existing {
            let vals: Vec<String> = vals
                .iter()
                .map(|v| format!("arn:aws:iam::*:role/keep-{v}"))
                .collect();
            // StringNotEquals holds exact values only.
            let vals: Vec<String> = if *op == 3 {
                vals.iter()
                    .map(|v| v.replace('*', "000000000000"))
                    .collect()
            } else {
                vals
            };
            cond.insert(OPS[*op].to_owned(), json!({ KEYS[*key]: vals }));
        }
        if s.region_condition {
            cond.insert(
                "StringEquals".to_owned(),
                json!({"aws:RequestedRegion": "eu-west-1"}),
            );
        }
        let mut stmt =
            json!({"Sid": "Guard", "Effect": "Deny", "Action": actions, "Resource": "*"});
        if !cond.is_empty() {
            stmt["Condition"] = Value::Object(cond);
        }
        let doc = json!({"Version": "2012-10-17", "Statement": [stmt, {"Sid": "Other", "Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]});
        let path =
            load_path(&[("p.json".to_owned(), doc.to_string())]).expect("generated policy loads");
        let principal = match &s.iam_path {
            None => format!("arn:aws:sts::{}:assumed-role/{}/session", s.account, s.name),
            Some(dir) => format!("arn:aws:iam::{}:role/{dir}{}", s.account, s.name),
        };
        let mut req = Request::new(&principal, ACTION);
        if s.region_condition {
            req = req.with_context("aws:RequestedRegion", "eu-west-1");
        }
        (path, req, actions)
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, failure_persistence: None, ..ProptestConfig::default() })]

        #[test]
        fn patch_allows_target_and_no_neighbour(s in scenario()) {
            let (path, req, actions) = build(&s);
            prop_assume!(s.existing.as_ref().is_none_or(|(_, _, v)| !v.iter().any(|x| s.name == format!("keep-{x}"))));
            prop_assert!(evaluate(&path, &req).verdict.is_denied());
            let f = match fix(&path, &req) {
                Ok(f) => f,
                Err(e) => return Err(TestCaseError::fail(format!("no fix: {e}"))),
            };
            prop_assert!(f.proven);
            for v in &f.added_values {
                prop_assert!(f.patches[0].diff.lines().any(|l| l.starts_with('+') && l.contains(v.as_str())), "{} not added in diff", v);
            }
            let patched = f.apply(&path);
            prop_assert!(evaluate(&patched, &req).verdict.is_allowed(), "target still denied");

            let dir = s.iam_path.clone().unwrap_or_default();
            let stacksets = s.name.starts_with("stacksets-exec-");
            let mut neighbours: Vec<(String, Option<String>)> = Vec::new();
            for n in &s.neighbours {
                // Role names are unique per account ignoring case; stacksets-exec-* is the intended scope.
                if n.eq_ignore_ascii_case(&s.name) || (stacksets && n.starts_with("stacksets-exec-")) {
                    continue;
                }
                neighbours.push((format!("arn:aws:iam::{}:role/{n}", s.account), None));
                neighbours.push((format!("arn:aws:iam::{}:role/{dir}{n}", s.account), None));
                neighbours.push((format!("arn:aws:iam::{}:role/x{}", s.account, s.name), None));
            }
            for b in &s.other_accounts {
                if *b == s.account {
                    continue;
                }
                neighbours.push((format!("arn:aws:iam::{b}:role/{dir}{}", s.name), Some(b.clone())));
                neighbours.push((format!("arn:aws:iam::{b}:role/{}", s.name), Some(b.clone())));
            }
            for (arn, acct) in &neighbours {
                for a in &actions {
                    let mut r = Request::new(arn, a);
                    if let Some(acct) = acct {
                        r = r.with_account(acct);
                    }
                    if s.region_condition {
                        r = r.with_context("aws:RequestedRegion", "eu-west-1");
                    }
                    if evaluate(&path, &r).verdict.is_denied() {
                        prop_assert!(evaluate(&patched, &r).verdict.is_denied(), "neighbour {} on {} allowed by {:?}", arn, a, f.added_values);
                    }
                }
            }
            // The same principal on the action of the other statement stays denied.
            let mut other = req.clone();
            other.action = "organizations:LeaveOrganization".into();
            prop_assert!(evaluate(&patched, &other).verdict.is_denied());
        }

        #[test]
        fn evaluation_never_panics_on_generated_conditions(
            op in "(ForAnyValue:|ForAllValues:)?(String|Numeric|Date|Arn|Bool|Ip|Null|Binary)[A-Za-z]{0,12}(IfExists)?",
            key in "[A-Za-z:/]{1,20}",
            vals in proptest::collection::vec(".{0,12}", 0..3),
            ctx in proptest::collection::vec(".{0,12}", 0..3),
        ) {
            let doc = json!({"Version": "2012-10-17", "Statement": {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {op: {key.clone(): vals}}}});
            let path = load_path(&[("g.json".to_owned(), doc.to_string())]).expect("loads");
            let mut r = Request::new("arn:aws:iam::111122223333:role/R", "s3:GetObject");
            for c in &ctx {
                r = r.with_context(&key, c);
            }
            let ev = evaluate(&path, &r);
            let _ = check_text(&ev);
        }
    }
}
