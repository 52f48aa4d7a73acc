//! Live preflight against the project's emulator (docs/preflight.md#live): the reference case's Quick Setup stack
//! sets and SCP predict the `s3:PutBucketPublicAccessBlock` deny on `DiagnosisBucket` in 121212121212 with the
//! statement named, and the TA template's need of the DA role; an account of the target OU without an instance is
//! checked too (edge scenario); with Organizations refused, the accounts are "could not check" and the exit is 5;
//! the collection for a preflight makes only allow-listed calls and reads no stack events or CloudTrail.

use serde_json::Value;
use stackset_doctor::classify::Catalog;
use stackset_doctor::collect::aws::{Sdk, READ_ONLY_OPERATIONS};
use stackset_doctor::collect::live::{collect, Options};
use stackset_doctor::preflight::{input, ordering};

use crate::live_emulator::Emulator;

fn preflight(emu: &Emulator, args: &[&str]) -> (i32, String, String) {
    let mut all = vec!["preflight"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--endpoint-url", &emu.url, "--region", "ap-northeast-1"]);
    crate::live_emulator::run_bin(&all)
}

fn json_of(out: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("JSON: {e}\n{out}"))
}

#[test]
fn quick_setup_live_predicts_the_public_access_block_deny_and_the_da_role_the_ta_template_needs() {
    let emu = Emulator::start(&[]);
    let (code, out, err) = preflight(&emu, &["--quick-setup", "--format", "json"]);
    assert_eq!(code, 3, "{err}\n{out}");
    let v = json_of(&out);
    let denies = v["predicted_denies"].as_array().expect("predicted_denies");
    assert_eq!(denies.len(), 1, "{denies:#?}");
    let d = &denies[0];
    assert_eq!(d["stack_set"], "AWS-QuickSetup-SSM-DA-abcde");
    assert_eq!(d["account"], "121212121212");
    assert_eq!(d["region"], "ap-northeast-1");
    assert_eq!(d["logical_id"], "DiagnosisBucket");
    assert_eq!(d["action"], "s3:PutBucketPublicAccessBlock");
    assert_eq!(d["certainty"], "certain");
    // The statement, as Organizations holds it, at the level it is attached to.
    let statement = d["statement"].as_str().unwrap_or_default();
    assert!(
        statement.contains("p-8x2k4q7m")
            && statement.contains("\"DenyS3PublicAccessBlockChanges\"")
            && statement.contains("r-ab12 (root)"),
        "{statement}"
    );
    // The account's own role, from its failure message.
    assert_eq!(
        d["principal"],
        "arn:aws:iam::121212121212:role/stacksets-exec-1234abcd"
    );
    assert!(v["could_not_check"].as_array().is_some_and(Vec::is_empty));
    // The TA accounts share one path (the root's SCP; nothing on the accounts but FullAWSAccess): one group.
    let ta = v["stack_sets"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|r| r["stack_set"] == "AWS-QuickSetup-SSM-TA-abcde")
        })
        .expect("TA report");
    assert_eq!(ta["groups"].as_array().map(Vec::len), Some(1), "{ta:#}");
    assert_eq!(
        ta["groups"][0]["accounts"],
        serde_json::json!([
            "232323232323",
            "343434343434",
            "454545454545",
            "565656565656"
        ])
    );
    // The order: every TA target needs the DA role, whose only instance FAILED.
    let order = v["ordering"].as_array().expect("ordering");
    assert_eq!(order.len(), 4, "{order:#?}");
    for f in order {
        assert_eq!(f["producer"], "AWS-QuickSetup-SSM-DA-abcde");
        assert_eq!(
            f["needed"],
            "arn:aws:iam::121212121212:role/ManagedInstance-CrossAccountManagementRole"
        );
        assert_eq!(f["producer_status"], "OUTDATED (FAILED)");
    }
    assert!(err.contains("API calls"), "{err}");

    // The DA stack set alone: the same deny, the same statement, in the table.
    let (code, out, err) = preflight(&emu, &["--stack-set", "AWS-QuickSetup-SSM-DA-abcde"]);
    assert_eq!(code, 3, "{err}\n{out}");
    assert!(
        out.contains(
            "DENIED certain  DiagnosisBucket (AWS::S3::Bucket) s3:PutBucketPublicAccessBlock"
        ),
        "{out}"
    );
    assert!(
        out.contains("statement \"DenyS3PublicAccessBlockChanges\""),
        "{out}"
    );
    assert!(out.contains("proof holds"), "{out}");

    // The TA stack set alone: the DA stack set is not in the evidence, so the order is said not checked.
    let (code, out, err) = preflight(
        &emu,
        &[
            "--stack-set",
            "AWS-QuickSetup-SSM-TA-abcde",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 5, "{err}\n{out}");
    let v = json_of(&out);
    assert!(v["ordering"].as_array().is_some_and(Vec::is_empty));
    assert!(
        v["ordering_not_checked"][0]
            .as_str()
            .is_some_and(|n| n.contains("AWS-QuickSetup-SSM-DA-*")),
        "{v:#}"
    );
}

#[test]
fn an_account_of_the_target_ou_without_an_instance_is_a_target_too() {
    let emu = Emulator::start(&["--scenario", "edge"]);
    let (code, out, err) = preflight(
        &emu,
        &["--stack-set", "guarded-baseline", "--format", "json"],
    );
    assert_eq!(code, 3, "{err}\n{out}");
    let v = json_of(&out);
    let accounts: Vec<&str> = v["stack_sets"][0]["groups"]
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["accounts"].as_array().into_iter().flatten())
        .filter_map(Value::as_str)
        .collect();
    // 121212121212 sits under the root the stack set targets (AccountFilterType NONE) and has no instance; the
    // management account 909090909090 is never a service-managed target.
    assert!(accounts.contains(&"121212121212"), "{accounts:?}");
    assert!(!accounts.contains(&"909090909090"), "{accounts:?}");
    assert!(
        err.contains("have no stack instance yet (121212121212)"),
        "{err}"
    );
}

#[test]
fn without_organizations_access_the_accounts_are_could_not_check_never_clear() {
    let emu = Emulator::start(&["--deny-organizations"]);
    let (code, out, err) = preflight(
        &emu,
        &[
            "--stack-set",
            "AWS-QuickSetup-SSM-DA-abcde",
            "--format",
            "json",
        ],
    );
    assert_eq!(code, 5, "{err}\n{out}");
    let v = json_of(&out);
    assert!(v["predicted_denies"].as_array().is_some_and(Vec::is_empty));
    let c = v["could_not_check"].as_array().expect("could_not_check");
    assert_eq!(c.len(), 1, "{c:#?}");
    assert_eq!(c[0]["account"], "121212121212");
    assert!(
        c[0]["reason"].as_str().is_some_and(
            |r| r.contains("organizations:DescribeOrganization") && r.contains("AccessDenied")
        ),
        "{c:#?}"
    );
    let (code, out, _) = preflight(&emu, &["--stack-set", "AWS-QuickSetup-SSM-DA-abcde"]);
    assert_eq!(code, 5);
    assert!(out.contains("COULD NOT CHECK"), "{out}");
    assert!(!out.contains("no deny predicted ("), "{out}");
}

/// Library level: what a preflight collects, and that live and offline share the plan builder.
#[test]
fn collecting_for_a_preflight_reads_every_targets_path_and_no_stack_events() {
    let emu = Emulator::start(&[]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let (collected, calls) = rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("ap-northeast-1"))
            .endpoint_url(&emu.url)
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await;
        let sdk = Sdk::from_config(config, Vec::new()).expect("sdk");
        let opts = Options {
            quick_setup: true,
            preflight: true,
            ..Options::default()
        };
        let c = collect(&opts, &sdk).await.expect("collects");
        assert!(sdk.log.refused().is_empty(), "{:?}", sdk.log.refused());
        (c, sdk.log.calls())
    });
    for op in calls.keys() {
        assert!(READ_ONLY_OPERATIONS.contains(&op.as_str()), "{op}");
    }
    for never in [
        "CloudFormation:DescribeStackEvents",
        "CloudFormation:DescribeEvents",
        "CloudFormation:ListStackSetOperationResults",
        "CloudTrail:LookupEvents",
        "SSM:DescribeAutomationExecutions",
    ] {
        assert!(!calls.contains_key(never), "{never}: {calls:?}");
    }
    assert!(
        calls.contains_key("Organizations:ListAccountsForParent"),
        "{calls:?}"
    );
    let ev = &collected.evidence;
    assert!(ev.stack_events.is_empty());
    // Every target's path, healthy or failed, not only the failing ones'.
    let mut placed: Vec<&str> = ev
        .account_paths
        .iter()
        .map(|p| p.account.as_str())
        .collect();
    placed.sort();
    for a in [
        "121212121212",
        "232323232323",
        "343434343434",
        "454545454545",
        "565656565656",
    ] {
        assert!(placed.contains(&a), "{a}: {placed:?}");
    }
    let catalog = Catalog::builtin().expect("catalog");
    let (plans, _) = input::plans_from_evidence(ev, &catalog.resource_types, None).expect("plans");
    assert_eq!(plans.len(), 2);
    assert!(plans.iter().all(|p| p.unchecked.is_empty()));
    let order = ordering::check(ev, &catalog.topologies, &catalog.resource_types, &plans);
    assert_eq!(order.findings.len(), 4);
    assert!(order.not_checked.is_empty());
}
