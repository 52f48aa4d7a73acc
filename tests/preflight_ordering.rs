//! `preflight` across stack sets (docs/preflight.md#ordering) and what it cannot check
//! (docs/preflight.md#could-not-check), offline: the reference case (the TA template trusts the DA role, whose
//! instance FAILED), stack sets of our own where the producer is CURRENT in one account and missing in another (a
//! trusted role and an imported export), a producer `AutoDeployment.DependsOn` names that failed, a bundle without
//! any policy (exit 5, never clear), and the live options that make no sense for a preflight.

use std::path::Path;
use std::process::Command;

use serde_json::{json, Value};

const SAMPLE: &str = "samples/quicksetup-scp-deny";

fn cli(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_stackset-doctor"))
        .args(args)
        .env_remove("AWS_PROFILE")
        .output()
        .expect("runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("JSON: {e}\n{out}"))
}

/// (consumer, target account, needed, producer, producer status) of each ordering finding, sorted.
fn ordering(v: &Value) -> Vec<(String, String, String, String, String)> {
    let s = |x: &Value| x.as_str().unwrap_or_default().to_owned();
    let mut out: Vec<_> = v["ordering"]
        .as_array()
        .expect("ordering[]")
        .iter()
        .map(|f| {
            (
                s(&f["stack_set"]),
                s(&f["account"]),
                s(&f["needed"]),
                s(&f["producer"]),
                s(&f["producer_status"]),
            )
        })
        .collect();
    out.sort();
    out
}

#[test]
fn the_ta_template_needs_the_da_role_whose_instance_failed() {
    let (code, out, err) = cli(&["preflight", SAMPLE, "--format", "json"]);
    assert_eq!(code, 3, "{err}");
    let v = json_of(&out);
    let role = "arn:aws:iam::121212121212:role/ManagedInstance-CrossAccountManagementRole";
    let ta = "AWS-QuickSetup-SSM-TA-abcde";
    let da = "AWS-QuickSetup-SSM-DA-abcde";
    let want: Vec<_> = [
        "232323232323",
        "343434343434",
        "454545454545",
        "565656565656",
    ]
    .iter()
    .map(|a| {
        (
            ta.to_owned(),
            (*a).to_owned(),
            role.to_owned(),
            da.to_owned(),
            "OUTDATED (FAILED)".to_owned(),
        )
    })
    .collect();
    assert_eq!(ordering(&v), want);
    let f = &v["ordering"][0];
    // The role lives in the DA account (the trust policy names it), in any Region (IAM is global).
    assert_eq!(f["producer_account"], "121212121212");
    assert!(f.get("producer_region").is_none(), "{f:#}");
    assert_eq!(
        f["producer_resource"],
        "ManagedInstanceCrossAccountManagementRole"
    );
    assert_eq!(
        f["needed_by"],
        "ManagedInstanceCrossAccountExecutionRole.AssumeRolePolicyDocument.Statement[0].Principal.AWS"
    );
    assert!(
        f["what_to_do"][0]
            .as_str()
            .is_some_and(|w| w.contains(da) && w.contains("121212121212")),
        "{f:#}"
    );
    // The DA template needs nothing from TA.
    assert!(v["ordering"]
        .as_array()
        .is_some_and(|a| a.iter().all(|f| f["stack_set"] == ta)));
    for format in ["table", "markdown"] {
        let (code, out, _) = cli(&["preflight", SAMPLE, "--format", format]);
        assert_eq!(code, 3);
        assert!(out.contains("Order across stack sets"), "{format}: {out}");
        assert!(out.contains(da) && out.contains(role), "{format}: {out}");
        assert!(out.contains("4 ordering problems"), "{format}: {out}");
    }
}

const PRODUCER: &str = "\
Resources:
  ReaderRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: base-reader
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal: {Service: ec2.amazonaws.com}
            Action: sts:AssumeRole
Outputs:
  ReaderRoleArn:
    Value: !GetAtt ReaderRole.Arn
    Export:
      Name: base-ReaderRoleArn
";

const CONSUMER: &str = "\
Resources:
  AppRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: app-runner
      AssumeRolePolicyDocument:
        Version: '2012-10-17'
        Statement:
          - Effect: Allow
            Principal:
              AWS: !Sub 'arn:${AWS::Partition}:iam::${AWS::AccountId}:role/base-reader'
            Action: sts:AssumeRole
  ReaderArn:
    Type: AWS::SSM::Parameter
    Properties:
      Type: String
      Value: !ImportValue base-ReaderRoleArn
";

const LOGS: &str = "\
Resources:
  Trail:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: org-logs
";

fn write(path: &Path, v: &Value) {
    std::fs::create_dir_all(path.parent().expect("parent")).expect("mkdir");
    std::fs::write(path, serde_json::to_string_pretty(v).expect("json")).expect("write");
}

/// A stack set's describe-stack-set and list-stack-instances, in its own folder.
fn stack_set(
    dir: &Path,
    name: &str,
    template: &str,
    depends_on: &[&str],
    instances: &[(&str, &str, &str)],
) {
    let id = format!("{name}:0c5d6e7f-1a2b-4c3d-8e9f-0a1b2c3d4e5f");
    write(
        &dir.join(name).join("describe-stack-set.json"),
        &json!({"StackSet": {
            "StackSetName": name,
            "StackSetId": id,
            "Status": "ACTIVE",
            "TemplateBody": template,
            "PermissionModel": "SERVICE_MANAGED",
            "AutoDeployment": {"Enabled": true, "RetainStacksOnAccountRemoval": false,
                "DependsOn": depends_on.iter().map(|d| format!(
                    "arn:aws:cloudformation:eu-west-1:999999999999:stackset/{d}:0c5d6e7f-1a2b-4c3d-8e9f-0a1b2c3d4e5f"
                )).collect::<Vec<_>>()},
        }}),
    );
    let summaries: Vec<Value> = instances
        .iter()
        .map(|(account, status, detailed)| {
            json!({
                "StackSetId": id,
                "Region": "eu-west-1",
                "Account": account,
                "Status": status,
                "StackInstanceStatus": {"DetailedStatus": detailed},
                "OrganizationalUnitId": "ou-ab12-11111111",
            })
        })
        .collect();
    write(
        &dir.join(name).join("list-stack-instances.json"),
        &json!({ "Summaries": summaries }),
    );
}

fn with_scp(dir: &Path) {
    std::fs::copy(format!("{SAMPLE}/scp.json"), dir.join("scp.json")).expect("scp copied");
}

#[test]
fn a_current_producer_is_no_finding_and_a_missing_one_is() {
    let dir = tempfile::tempdir().expect("tempdir");
    stack_set(
        dir.path(),
        "net-base",
        PRODUCER,
        &[],
        &[("111111111111", "CURRENT", "SUCCEEDED")],
    );
    stack_set(
        dir.path(),
        "app",
        CONSUMER,
        &[],
        &[
            ("111111111111", "OUTDATED", "PENDING"),
            ("222222222222", "OUTDATED", "PENDING"),
        ],
    );
    with_scp(dir.path());
    let p = dir.path().to_str().expect("utf-8");
    let (code, out, err) = cli(&["preflight", p, "--format", "json"]);
    assert_eq!(code, 3, "{err}\n{out}");
    let v = json_of(&out);
    assert!(v["predicted_denies"].as_array().is_some_and(Vec::is_empty));
    let missing = "missing".to_owned();
    assert_eq!(
        ordering(&v),
        vec![
            (
                "app".into(),
                "222222222222".into(),
                "arn:aws:iam::222222222222:role/base-reader".into(),
                "net-base".into(),
                missing.clone()
            ),
            (
                "app".into(),
                "222222222222".into(),
                "base-ReaderRoleArn".into(),
                "net-base".into(),
                missing
            ),
        ],
        "{out}"
    );
    let export = v["ordering"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["needed"] == "base-ReaderRoleArn"))
        .expect("the export's finding");
    // An export lives in its account and Region.
    assert_eq!(export["producer_account"], "222222222222");
    assert_eq!(export["producer_region"], "eu-west-1");
    assert_eq!(export["needed_by"], "ReaderArn.Value");
    let todo: Vec<&str> = export["what_to_do"]
        .as_array()
        .expect("what_to_do")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    assert!(todo[0]
        .starts_with("deploy stack set net-base to account 222222222222 (eu-west-1) before app"));
    // Both are service-managed and the export lives in the account being deployed to: DependsOn would order them.
    assert!(
        todo.iter().any(|t| t.contains("AutoDeployment DependsOn")),
        "{todo:?}"
    );

    // Deployed and CURRENT in the second account too: nothing to report, exit 0.
    stack_set(
        dir.path(),
        "net-base",
        PRODUCER,
        &[],
        &[
            ("111111111111", "CURRENT", "SUCCEEDED"),
            ("222222222222", "CURRENT", "SUCCEEDED"),
        ],
    );
    let (code, out, err) = cli(&["preflight", p, "--format", "json"]);
    assert_eq!(code, 0, "{err}\n{out}");
    assert!(ordering(&json_of(&out)).is_empty(), "{out}");
}

#[test]
fn a_stack_set_that_depends_on_names_is_checked_in_each_target() {
    let dir = tempfile::tempdir().expect("tempdir");
    stack_set(
        dir.path(),
        "org-logs",
        LOGS,
        &[],
        &[
            ("111111111111", "CURRENT", "SUCCEEDED"),
            ("222222222222", "OUTDATED", "FAILED"),
        ],
    );
    stack_set(
        dir.path(),
        "audit",
        LOGS.replace("org-logs", "audit-logs").as_str(),
        &["org-logs", "not-collected"],
        &[
            ("111111111111", "OUTDATED", "PENDING"),
            ("222222222222", "OUTDATED", "PENDING"),
        ],
    );
    with_scp(dir.path());
    let p = dir.path().to_str().expect("utf-8");
    let (code, out, err) = cli(&["preflight", p, "--format", "json"]);
    assert_eq!(code, 3, "{err}\n{out}");
    let v = json_of(&out);
    assert_eq!(
        ordering(&v),
        vec![(
            "audit".into(),
            "222222222222".into(),
            "org-logs".into(),
            "org-logs".into(),
            "OUTDATED (FAILED)".into()
        )]
    );
    let f = &v["ordering"][0];
    assert_eq!(f["needed_by"], "AutoDeployment.DependsOn");
    // Already declared: no advice to declare it.
    assert!(
        f["what_to_do"].as_array().is_some_and(
            |a| a.len() == 1 && a[0].as_str().is_some_and(|w| w.contains("fix org-logs"))
        ),
        "{f:#}"
    );
    // A dependency not in the evidence is said, not taken as deployed.
    let not_checked = v["ordering_not_checked"]
        .as_array()
        .expect("ordering_not_checked");
    assert!(
        not_checked
            .iter()
            .any(|n| n.as_str().is_some_and(|n| n.contains("not-collected"))),
        "{not_checked:?}"
    );
}

#[test]
fn without_any_policy_every_target_is_could_not_check_and_the_exit_is_5() {
    let dir = tempfile::tempdir().expect("tempdir");
    stack_set(
        dir.path(),
        "org-logs",
        LOGS,
        &[],
        &[("111111111111", "CURRENT", "SUCCEEDED")],
    );
    let p = dir.path().to_str().expect("utf-8");
    let (code, out, err) = cli(&["preflight", p, "--format", "json"]);
    assert_eq!(code, 5, "{err}\n{out}");
    let v = json_of(&out);
    assert!(v["predicted_denies"].as_array().is_some_and(Vec::is_empty));
    let c = &v["could_not_check"];
    assert_eq!(c.as_array().map(Vec::len), Some(1), "{c:#}");
    assert_eq!(c[0]["account"], "111111111111");
    assert!(
        c[0]["reason"]
            .as_str()
            .is_some_and(|r| r.contains("no SCP or RCP in the evidence")),
        "{c:#}"
    );
    let (code, out, _) = cli(&["preflight", p]);
    assert_eq!(code, 5);
    assert!(out.contains("COULD NOT CHECK"), "{out}");
    assert!(
        !out.contains("No deny predicted.\n") || out.contains("not an all-clear"),
        "{out}"
    );
    assert!(out.contains("not an all-clear"), "{out}");
}

#[test]
fn live_options_that_mean_nothing_to_a_preflight_are_usage_errors() {
    for extra in [
        &["--member-role", "OrganizationAccountAccessRole"][..],
        &["--operation-id", "0b6e7c1a-5f1e-4b7e-9a61-8f0c2d3e4f50"],
        &["--no-cloudtrail"],
        &["--redact"],
        &["--event", "-"],
        &["--account", "121212121212"],
        &["--policy", "samples/quicksetup-scp-deny/scp.json"],
    ] {
        let mut args = vec![
            "preflight",
            "--stack-set",
            "x",
            "--endpoint-url",
            "http://127.0.0.1:9",
        ];
        args.extend_from_slice(extra);
        let (code, _, err) = cli(&args);
        assert_eq!(code, 2, "{extra:?}: {err}");
        assert!(err.contains(extra[0]), "{extra:?}: {err}");
    }
    let (code, _, err) = cli(&["preflight", SAMPLE, "--quick-setup"]);
    assert_eq!(code, 2, "{err}");
}
