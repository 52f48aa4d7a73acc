//! Every shape the AWS CLI prints, and never a false all-clear. `tests/fixtures/cli/` was captured with the AWS
//! CLI against the emulator (`--query`, `--max-items`, `--output text|table`); `tests/fixtures/shapes/` was written
//! from botocore's service model where the emulator cannot produce the shape (describe-events, hook members,
//! members the model makes optional, suspended accounts, drift detection, an OU-only result, a tag policy, the
//! CLI v2's YAML) — `tests/fixtures/shapes/README.md` says which file is which.

use crate::common::run;
use serde_json::Value;

fn json(args: &[&str]) -> (i32, Value, String) {
    let mut a = vec!["diagnose", "--format", "json"];
    a.extend_from_slice(args);
    let (code, out, err) = run(&a, None);
    assert!(!err.contains("panicked"), "{args:?}: {err}");
    let v = serde_json::from_str(&out).unwrap_or(Value::Null);
    (code, v, err)
}

fn categories(v: &Value) -> Vec<String> {
    let mut c: Vec<String> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {}",
                f["status"].as_str().unwrap(),
                f["category"].as_str().unwrap()
            )
        })
        .collect();
    c.sort();
    c
}

fn notes(v: &Value) -> String {
    v["notes"].to_string()
}

#[test]
fn bare_records_of_a_query_are_read_by_their_members() {
    let (code, v, err) = json(&["tests/fixtures/cli/query-failed-events.json"]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(v["root_causes"][0]["category"], "scp-deny");
    let (code, v, err) = json(&["tests/fixtures/cli/query-instance-summaries.json"]);
    assert!(code == 3 || code == 4, "{err}");
    assert_eq!(
        v["summary"]["examined"]["instances"]["OUTDATED/FAILED"], 3,
        "{v}"
    );
    // Strings, or records renamed by the projection: refused, saying why.
    for f in [
        "query-projection-strings.json",
        "query-projection-unknown.json",
    ] {
        let (code, _, err) = json(&[&format!("tests/fixtures/cli/{f}")]);
        assert_eq!(code, 1, "{f}: {err}");
        assert!(
            err.contains("not records with the CLI's member names"),
            "{f}: {err}"
        );
    }
}

#[test]
fn text_and_table_output_are_refused_naming_the_output_to_use() {
    for (f, output) in [("events.text", "text"), ("events.table", "table")] {
        let (code, _, err) = json(&[&format!("tests/fixtures/cli/{f}")]);
        assert_eq!(code, 1, "{err}");
        assert!(
            err.contains(&format!("--output {output}")) && err.contains("--output json"),
            "{err}"
        );
    }
}

#[test]
fn a_listing_with_next_token_is_incomplete_never_an_all_clear() {
    let (code, v, err) = json(&["tests/fixtures/cli/max-items-events.json"]);
    assert_eq!(code, 5, "{err}");
    let verdict = v["summary"]["verdict"].as_str().unwrap();
    assert!(verdict.contains("not an all-clear"), "{verdict}");
    let coverage = v["coverage"].to_string();
    assert!(
        coverage.contains("max-items-events.json") && coverage.contains("--starting-token"),
        "{coverage}"
    );
}

#[test]
fn nothing_about_a_deployment_is_an_error_and_a_healthy_verdict_says_what_it_examined() {
    for only in [
        "tests/fixtures/shapes/tag-policy.json",
        "tests/fixtures/cli/query-stack-set.json",
    ] {
        let (code, _, err) = json(&[only]);
        assert_eq!(code, 1, "{only}: {err}");
        assert!(err.contains("no deployment evidence"), "{only}: {err}");
    }
    let (code, v, err) = json(&["tests/fixtures/shapes/healthy"]);
    assert_eq!(code, 0, "{err}");
    let s = &v["summary"];
    let verdict = s["verdict"].as_str().unwrap();
    assert!(
        verdict.starts_with("No failure found; examined 1 stack set (org-baseline); 6 stack instances: 6 CURRENT/SUCCEEDED; 3 accounts × 2 Regions; the last operation 44444444-5555-4666-8777-888888888888 (CREATE) SUCCEEDED"),
        "{verdict}"
    );
    assert_eq!(s["examined"]["accounts"], 3);
    assert_eq!(s["examined"]["regions"], 2);
    assert_eq!(s["examined"]["last_operation"]["status"], "SUCCEEDED");
}

#[test]
fn describe_events_gives_provisioning_and_hook_errors_and_a_warned_validation_is_a_note() {
    let (code, v, err) = json(&["tests/fixtures/shapes/describe-events.json"]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        categories(&v),
        [
            "CREATE_FAILED scp-deny",
            "HOOK_COMPLETE_FAILED hook-failure"
        ]
    );
    let n = notes(&v);
    assert!(
        n.contains("validation PropertyValidation (FailureMode WARN)"),
        "{n}"
    );
    // describe-events has no StackName: it comes from the stack id.
    assert!(v["failures"][0]["stack_name"]
        .as_str()
        .unwrap()
        .starts_with("StackSet-org-baseline-"));
}

#[test]
fn a_hooks_reason_is_the_failures_message_and_a_warn_hook_is_a_note() {
    let (code, v, err) = json(&["tests/fixtures/shapes/stack-events-hooks.json"]);
    assert_eq!(code, 3, "{err}");
    let f = v["failures"].as_array().unwrap();
    assert_eq!(
        f.len(),
        1,
        "one failure per resource, not one per event: {v}"
    );
    assert_eq!(f[0]["logical_id"], "AuditTopic");
    assert_eq!(f[0]["rule"], "hook-non-compliant");
    assert!(f[0]["message"]
        .as_str()
        .unwrap()
        .contains("sns_topic_encrypted"));
    let n = notes(&v);
    assert!(
        n.contains("hook Private::Guard::SqsEncryptionHook (FailureMode WARN) warned on Queue"),
        "{n}"
    );
}

#[test]
fn yaml_and_yaml_stream_read_as_their_json() {
    let (_, json_v, _) = json(&["tests/fixtures/shapes/stack-events-hooks.json"]);
    for f in [
        "describe-stack-events.yaml",
        "describe-stack-events.yaml-stream",
    ] {
        let (code, v, err) = json(&[&format!("tests/fixtures/shapes/{f}")]);
        assert_eq!(code, 3, "{f}: {err}");
        let c = categories(&v);
        assert_eq!(
            c,
            ["CREATE_FAILED hook-failure", "CREATE_FAILED scp-deny"],
            "{f}"
        );
        assert_eq!(
            v["failures"][1]["account"], "111122223333",
            "{f}: account ids stay text"
        );
        assert!(categories(&json_v)
            .iter()
            .all(|c| categories(&v).contains(c)));
    }
}

#[test]
fn a_record_without_what_it_needs_is_a_warning_with_its_place_and_the_rest_is_diagnosed() {
    let (code, v, err) = json(&["tests/fixtures/shapes/optional-members-events.json"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("optional-members-events.json:13:9: /StackEvents/1: no ResourceStatus; the record was skipped"),
        "{err}"
    );
    assert!(
        err.contains("optional-members-events.json:23:9: /StackEvents/3: Timestamp: invalid type"),
        "{err}"
    );
    assert!(
        err.contains("1 null element(s) of StackEvents were ignored"),
        "{err}"
    );
    assert_eq!(categories(&v), ["CREATE_FAILED scp-deny"]);
    assert_eq!(v["coverage"].as_array().unwrap().len(), 2);

    let (code, v, err) = json(&["tests/fixtures/shapes/optional-members-instances.json"]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("/Summaries/0: a stack instance needs Account, Region and Status"),
        "{err}"
    );
    assert_eq!(categories(&v), ["FAILED scp-deny"]);
}

#[test]
fn a_suspended_account_is_a_skip_not_a_failure() {
    let (_, v, err) = json(&["tests/fixtures/shapes/optional-members-instances.json"]);
    let accounts = v["summary"]["accounts"].to_string();
    assert!(!accounts.contains("444455556666"), "{accounts} {err}");
    let n = notes(&v);
    assert!(
        n.contains("skipped 1 instance because the account is suspended")
            && n.contains("444455556666 us-east-1"),
        "{n}"
    );
    assert_eq!(
        v["summary"]["examined"]["instances"]["CURRENT/SKIPPED_SUSPENDED_ACCOUNT"],
        1
    );
}

#[test]
fn drift_detection_is_no_deployment_and_the_tolerance_is_explained() {
    let (_, v, err) = json(&["tests/fixtures/shapes"]);
    let ops: Vec<&Value> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["level"] == "operation")
        .collect();
    assert_eq!(ops.len(), 1, "{err}");
    assert_eq!(
        ops[0]["operation_id"],
        "22222222-3333-4444-8555-666666666666"
    );
    let n = notes(&v);
    assert!(
        n.contains("drift detection 33333333-4444-4555-8666-777777777777 STOPPED"),
        "{n}"
    );
    assert!(
        n.contains("failure tolerance 0 (STRICT_FAILURE_TOLERANCE), so the first failed account stopped the operation"),
        "{n}"
    );
    // The last operation is the deployment, not the drift detection that came after it.
    assert_eq!(
        v["summary"]["examined"]["last_operation"]["action"],
        "CREATE"
    );
}

#[test]
fn a_result_naming_only_its_ou_is_kept() {
    let (_, v, err) = json(&["tests/fixtures/shapes/list-stack-set-operation-results.json"]);
    assert!(!err.contains("no known shape"), "{err}");
    let ou: Vec<&Value> = v["failures"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["category"] == "stackset-execution-role")
        .collect();
    assert_eq!(ou.len(), 1, "{v}");
    assert!(
        ou[0]["account"].is_null(),
        "an OU-only result has no account: {}",
        ou[0]
    );
}

#[test]
fn another_policy_type_beside_the_scps_leaves_the_proof_alone() {
    let dir = tempfile::tempdir().unwrap();
    for e in walkdir::WalkDir::new("samples/quicksetup-scp-deny") {
        let e = e.unwrap();
        let rel = e
            .path()
            .strip_prefix("samples/quicksetup-scp-deny")
            .unwrap();
        let to = dir.path().join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&to).unwrap();
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
    std::fs::copy(
        "tests/fixtures/shapes/tag-policy.json",
        dir.path().join("tag-policy.json"),
    )
    .unwrap();
    let (code, v, err) = json(&[dir.path().to_str().unwrap()]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(
        v["root_causes"][0]["remediation"]["scp_exemption"]["proven"],
        true
    );
    let n = notes(&v);
    assert!(
        n.contains("policy cost-center-tags is a TAG_POLICY, not an SCP or RCP"),
        "{n}"
    );
}

#[test]
fn a_declared_dependency_links_across_stack_sets_and_a_nested_stack_belongs_to_its_root() {
    let (code, v, err) = json(&["tests/fixtures/shapes/depends-on"]);
    assert_eq!(code, 3, "{err}");
    assert_eq!(v["summary"]["root_causes"], 1, "{v}");
    let f = v["failures"].as_array().unwrap();
    // The nested stack's resource: its stack set comes from the root stack (RootId), not its own name.
    let subnet = f
        .iter()
        .find(|f| f["logical_id"] == "PrivateSubnet")
        .unwrap();
    assert_eq!(subnet["stack_set"], "org-network");
    assert_eq!(subnet["role"], "root");
    let sg = f
        .iter()
        .find(|f| f["logical_id"] == "AppSecurityGroup")
        .unwrap();
    assert_eq!(sg["link"]["kind"], "depends-on", "{sg}");
    assert_eq!(sg["caused_by"], subnet["id"]);
    // Without the declaration the two stay independent: nothing they name connects them.
    let dir = tempfile::tempdir().unwrap();
    for e in std::fs::read_dir("tests/fixtures/shapes/depends-on").unwrap() {
        let p = e.unwrap().path();
        let text = std::fs::read_to_string(&p)
            .unwrap()
            .replace("\"DependsOn\"", "\"Unrelated\"");
        std::fs::write(dir.path().join(p.file_name().unwrap()), text).unwrap();
    }
    let (_, v, _) = json(&[dir.path().to_str().unwrap()]);
    assert_eq!(v["summary"]["root_causes"], 2, "{v}");
}

/// The retry pastes and works: a service-managed stack set is targeted by OU narrowed to the failed accounts
/// (`--accounts` alone is refused for it), every failed Region is covered, the stack sets whose failures the root
/// cause explains are retried after it in the order they failed, and a self-managed stack set's fix names its
/// administration account from `AdministrationRoleARN`.
#[test]
fn retry_commands_cover_every_failed_place_and_target_service_managed_stack_sets_by_ou() {
    let (_, v, _) = json(&["samples/three-stack-set-chain"]);
    let last = v["root_causes"][0]["remediation"]["steps"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .as_str()
        .unwrap()
        .to_owned();
    let commands: Vec<&str> = last
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|c| c.starts_with("aws "))
        .collect();
    assert!(commands.len() >= 2, "{last}");
    for c in &commands {
        assert!(
            c.contains("--deployment-targets OrganizationalUnitIds=ou-")
                && c.contains("AccountFilterType=INTERSECTION")
                && !c.contains("<"),
            "{c}"
        );
    }
    let root_ss = v["root_causes"][0]["stack_set"].as_str().unwrap();
    assert!(
        commands[0].contains(&format!("--stack-set-name {root_ss} ")),
        "{last}"
    );

    let (_, v, _) = json(&["samples/self-managed-exec-role-missing"]);
    let steps = v["root_causes"][0]["remediation"]["steps"].to_string();
    assert!(
        steps.contains("arn:aws:iam::111111111111:role/") && !steps.contains("<admin"),
        "{steps}"
    );
    assert!(
        steps.contains("--accounts 444444444444 --regions"),
        "{steps}"
    );
}

/// What a retry script needs, without jq tricks: one entry per failed stack instance with its root cause, and each
/// root cause's affected accounts and Regions.
#[test]
fn failed_instances_are_a_list_of_their_own() {
    let (_, v, _) = json(&["samples/quicksetup-scp-deny"]);
    let list = v["failed_instances"].as_array().unwrap();
    let places: Vec<String> = list
        .iter()
        .map(|i| {
            format!(
                "{} {} {}",
                i["stack_set"].as_str().unwrap(),
                i["account"].as_str().unwrap(),
                i["region"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        places,
        [
            "AWS-QuickSetup-SSM-DA-abcde 121212121212 ap-northeast-1",
            "AWS-QuickSetup-SSM-TA-abcde 232323232323 ap-northeast-1",
            "AWS-QuickSetup-SSM-TA-abcde 343434343434 ap-northeast-1",
            "AWS-QuickSetup-SSM-TA-abcde 454545454545 ap-northeast-1",
            "AWS-QuickSetup-SSM-TA-abcde 565656565656 ap-northeast-1",
        ]
    );
    assert!(list.iter().all(|i| i["root_cause"] == "R1"));
    assert_eq!(list[4]["status"], "CANCELLED");
    let impact = &v["root_causes"][0]["impact"];
    assert_eq!(impact["affected_accounts"].as_array().unwrap().len(), 5);
    assert_eq!(
        impact["affected_regions"],
        serde_json::json!(["ap-northeast-1"])
    );
}

/// The SCP apply command points at a file that exists: `--write-fixes DIR` writes the patched policy there, and
/// that file lets the denied call through where the original denies it.
#[test]
fn write_fixes_writes_the_patched_policy_the_apply_command_names() {
    let dir = tempfile::tempdir().unwrap();
    let fixes = dir.path().join("fixes");
    let (code, v, err) = json(&[
        "--write-fixes",
        fixes.to_str().unwrap(),
        "samples/quicksetup-scp-deny",
    ]);
    assert_eq!(code, 3, "{err}");
    let file = fixes.join("p-8x2k4q7m-R1.json");
    assert!(file.exists(), "{err}");
    let cmd = v["root_causes"][0]["remediation"]["scp_exemption"]["statement"]["apply_command"]
        .as_str()
        .unwrap();
    assert!(
        cmd.ends_with(&format!("--content file://{}", file.display())),
        "{cmd}"
    );
    let check = |policy: &str| {
        run(
            &[
                "scp",
                "check",
                "--policy",
                policy,
                "--principal",
                "arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678",
                "--action",
                "s3:PutBucketPublicAccessBlock",
                "--resource",
                "arn:aws:s3:::do-not-delete-ssm-diagnosis-121212121212-ap-northeast-1-abab",
            ],
            None,
        )
        .0
    };
    assert_eq!(
        check("samples/quicksetup-scp-deny/scp.json"),
        3,
        "the original denies"
    );
    assert_eq!(check(file.to_str().unwrap()), 0, "the written patch allows");
}
