//! Live collection end to end, over real HTTP: the real SDK clients and the real binary against the project's
//! emulator (moto on loopback, seeded by `scripts/emulator.sh` with the reference case's FAILED deployment).
//! The emulator is started per test and exits with it (stdin closes, or its parent dies).

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use stackset_doctor::collect::aws::{Sdk, READ_ONLY_OPERATIONS};
use stackset_doctor::collect::live::{collect, CallAs, Options};

use crate::common;

/// A running emulator; killed on drop.
pub struct Emulator {
    child: Child,
    pub url: String,
}

impl Emulator {
    pub fn start(args: &[&str]) -> Emulator {
        let mut child = Command::new("bash")
            .arg("scripts/emulator.sh")
            .arg("run")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("scripts/emulator.sh starts (needs bash and python3)");
        let stdout = child.stdout.take().expect("emulator stdout");
        let mut line = String::new();
        BufReader::new(stdout)
            .read_line(&mut line)
            .expect("emulator prints its READY line");
        let url = line
            .trim()
            .strip_prefix("READY ")
            .unwrap_or_else(|| {
                panic!("emulator did not start: first line {line:?} (its stderr is above)")
            })
            .to_owned();
        Emulator { child, url }
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Environment for a process that must talk to the emulator only: dummy keys, no profile, no IMDS.
pub const ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_SESSION_TOKEN", ""),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

pub fn run_bin(args: &[&str]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackset-doctor"));
    cmd.args(args).stdin(Stdio::null());
    for (k, v) in ENV {
        cmd.env(k, v);
    }
    cmd.env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION");
    let out = cmd.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// (rule, category, logical id, account) of each root cause in a JSON report.
fn root_causes(report: &Value) -> Vec<(String, String, String, String)> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    report["root_causes"]
        .as_array()
        .expect("root_causes")
        .iter()
        .map(|r| {
            (
                s(&r["rule"]),
                s(&r["category"]),
                s(&r["logical_id"]),
                s(&r["account"]),
            )
        })
        .collect()
}

/// How many failures each root cause explains.
fn explained(report: &Value) -> Vec<usize> {
    report["root_causes"]
        .as_array()
        .expect("root_causes")
        .iter()
        .map(|r| r["explains"].as_array().map_or(0, Vec::len))
        .collect()
}

fn offline_reference() -> Value {
    let (code, out, err) = common::run(
        &[
            "diagnose",
            "samples/quicksetup-scp-deny",
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, 3, "{err}");
    serde_json::from_str(&out).expect("offline JSON report")
}

#[test]
fn diagnose_quick_setup_live_finds_the_same_root_cause_as_the_offline_sample() {
    let emu = Emulator::start(&[]);
    let (code, out, err) = run_bin(&[
        "diagnose",
        "--quick-setup",
        "--endpoint-url",
        &emu.url,
        "--region",
        "ap-northeast-1",
        "--member-role",
        "OrganizationAccountAccessRole",
        "--format",
        "json",
    ]);
    assert_eq!(code, 3, "stderr: {err}\nstdout: {out}");
    let live: Value = serde_json::from_str(&out).expect("live JSON report");
    let offline = offline_reference();
    let rc = root_causes(&live);
    assert_eq!(rc, root_causes(&offline), "live {rc:?}");
    assert_eq!(rc.len(), 1);
    assert_eq!(rc[0].2, "DiagnosisBucket");
    assert_eq!(rc[0].3, "121212121212");
    // The SCP was collected from Organizations with its attachment, so the fix names the statement and is proven.
    let ex = &live["root_causes"][0]["remediation"]["scp_exemption"];
    assert_eq!(
        ex["statement"]["statement"], "DenyS3PublicAccessBlockChanges",
        "{ex:#}"
    );
    assert_eq!(ex["proven"], true, "{ex:#}");
    // The same chain of consequences: every TA failure is explained.
    // Live collection reads every failed stack's events (the sample saved one TA account's), so the root cause
    // explains at least as much, and every invalid-principal failure in every account.
    assert!(
        explained(&live)[0] >= explained(&offline)[0],
        "{:?} vs {:?}",
        explained(&live),
        explained(&offline)
    );
    let explains: Vec<&str> = live["root_causes"][0]["explains"]
        .as_array()
        .expect("explains")
        .iter()
        .filter_map(Value::as_str)
        .collect();
    let principals: Vec<&Value> = live["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .filter(|f| f["category"] == "invalid-principal")
        .collect();
    assert!(principals.len() >= 3);
    for f in principals {
        assert!(
            explains.contains(&f["id"].as_str().unwrap_or_default()),
            "{f:#}"
        );
    }
    // The run says what it cost on stderr.
    assert!(err.contains("API calls"), "{err}");
}

#[test]
fn collect_writes_a_bundle_that_diagnoses_like_the_live_run() {
    let emu = Emulator::start(&[]);
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("bundle.json");
    let bundle_s = bundle.to_str().expect("utf-8 path");
    let (code, _, err) = run_bin(&[
        "collect",
        "--stack-set",
        "AWS-QuickSetup-SSM-DA-abcde",
        "--stack-set",
        "AWS-QuickSetup-SSM-TA-abcde",
        "--endpoint-url",
        &emu.url,
        "--region",
        "ap-northeast-1",
        "--call-as",
        "DELEGATED_ADMIN",
        "--member-role",
        "OrganizationAccountAccessRole",
        "-o",
        bundle_s,
    ]);
    assert_eq!(code, 0, "{err}");
    let b: Value = serde_json::from_slice(&std::fs::read(&bundle).expect("bundle written"))
        .expect("bundle JSON");
    assert_eq!(b["schema"], "stackset-doctor/evidence/v1");
    let ev = &b["evidence"];
    assert_eq!(ev["stack_sets"].as_array().map(Vec::len), Some(2));
    // Member stacks' failure events came through assume-role into each account.
    let accounts: std::collections::BTreeSet<&str> = ev["stack_events"]
        .as_array()
        .expect("events")
        .iter()
        .filter_map(|e| e["account"].as_str())
        .collect();
    assert!(
        accounts.contains("121212121212") && accounts.contains("232323232323"),
        "{accounts:?}"
    );
    // The SCP and where it sits: each failing account's path to the root.
    assert!(ev["policies"]
        .as_array()
        .expect("policies")
        .iter()
        .any(|p| p["content"]
            .as_str()
            .is_some_and(|c| c.contains("DenyS3PublicAccessBlockChanges"))));
    assert!(!ev["account_paths"]
        .as_array()
        .expect("account paths")
        .is_empty());
    assert_eq!(ev["organization"]["management_account"], "909090909090");
    // No temp file is left beside the bundle.
    let left: Vec<_> = std::fs::read_dir(dir.path())
        .expect("dir")
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(left.len(), 1, "{left:?}");
    assert!(b["collection"]["total_calls"]
        .as_u64()
        .is_some_and(|n| n > 5));

    let (code, out, err) = common::run(&["diagnose", bundle_s, "--format", "json"], None);
    assert_eq!(code, 3, "{err}");
    let from_bundle: Value = serde_json::from_str(&out).expect("report");
    assert_eq!(root_causes(&from_bundle), root_causes(&offline_reference()));
}

#[test]
fn redacted_reports_leak_no_account_id_and_keep_the_chain() {
    let emu = Emulator::start(&[]);
    for format in ["json", "table", "markdown", "mermaid", "dot"] {
        let (code, out, err) = run_bin(&[
            "diagnose",
            "--quick-setup",
            "--endpoint-url",
            &emu.url,
            "--region",
            "ap-northeast-1",
            "--member-role",
            "OrganizationAccountAccessRole",
            "--redact",
            "--format",
            format,
        ]);
        assert_eq!(code, 3, "{format}: {err}");
        for real in [
            "121212121212",
            "232323232323",
            "343434343434",
            "454545454545",
            "565656565656",
            "909090909090",
        ] {
            assert!(!out.contains(real), "{format} output leaks {real}");
        }
        assert!(
            out.contains("DiagnosisBucket"),
            "{format}: the chain lost its resource names"
        );
        assert!(err.contains("redacted:"), "{err}");
    }
}

/// Library level, against the scale scenario: 1,000 instances with 5 failed. The calls grow with the failed
/// instances, every call made is on the read-only allow-list, and pagination brings every failed one.
#[test]
fn a_thousand_instances_with_five_failed_cost_calls_per_failure_not_per_instance() {
    let emu = Emulator::start(&["--scenario", "scale", "--accounts", "1000", "--failed", "5"]);
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let collected = rt.block_on(async {
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
            call_as: CallAs::Auto,
            member_role: Some("OrganizationAccountAccessRole".into()),
            concurrency: 8,
            ..Options::default()
        };
        let c = collect(&opts, &sdk).await.expect("collects");
        assert!(sdk.log.refused().is_empty(), "{:?}", sdk.log.refused());
        c
    });
    for op in collected.stats.calls.keys() {
        assert!(READ_ONLY_OPERATIONS.contains(&op.as_str()), "{op}");
    }
    let failed: Vec<_> = collected
        .evidence
        .stack_instances
        .iter()
        .filter(|i| {
            i.detailed_status.as_deref() == Some("FAILED")
                && i.stack_set.as_deref().is_some_and(|s| s.contains("-TA-"))
        })
        .collect();
    assert_eq!(failed.len(), 5, "{:#?}", collected.evidence.coverage);
    // Per failed instance: DescribeStackInstance, AssumeRole, DescribeStacks, DescribeStackEvents (+ org reads).
    assert!(
        collected.stats.total_calls < 120,
        "{} calls for 5 failures out of 1,000: {:?}",
        collected.stats.total_calls,
        collected.stats.calls
    );
    assert!(
        collected
            .stats
            .calls
            .get("CloudFormation:DescribeStackInstance")
            .copied()
            .unwrap_or(0)
            <= 10
    );
    // CloudTrail: one search per account and Region with failure events (and one in us-east-1 per account with a
    // failed IAM resource), one page each here: 6 accounts, not 1,000 instances or their events.
    let mut searched: std::collections::BTreeSet<(String, String)> =
        std::collections::BTreeSet::new();
    for e in &collected.evidence.stack_events {
        let (Some(a), Some(r)) = (e.account.clone(), e.region.clone()) else {
            continue;
        };
        if e.resource_type
            .as_deref()
            .is_some_and(|t| t.starts_with("AWS::IAM::"))
        {
            searched.insert((a.clone(), "us-east-1".into()));
        }
        searched.insert((a, r));
    }
    assert_eq!(searched.len(), 12, "{searched:?}");
    let lookups: std::collections::BTreeSet<(String, String)> = collected
        .evidence
        .trail_lookups
        .iter()
        .map(|l| (l.account.clone(), l.region.clone()))
        .collect();
    assert_eq!(lookups, searched);
    assert_eq!(
        collected
            .stats
            .calls
            .get("CloudTrail:LookupEvents")
            .copied(),
        Some(searched.len() as u64)
    );
}

/// Collect in-process against an emulator at `url`, as the delegated admin with a member role.
fn collect_at(url: &str, stack_sets: &[&str]) -> stackset_doctor::collect::live::Collected {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let config = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("ap-northeast-1"))
            .endpoint_url(url)
            .credentials_provider(aws_credential_types::Credentials::new(
                "testing", "testing", None, None, "test",
            ))
            .load()
            .await;
        let sdk = Sdk::from_config(config, Vec::new()).expect("sdk");
        let opts = Options {
            stack_sets: stack_sets.iter().map(|s| (*s).to_owned()).collect(),
            member_role: Some("OrganizationAccountAccessRole".into()),
            ..Options::default()
        };
        let c = collect(&opts, &sdk).await.expect("collects");
        assert!(sdk.log.refused().is_empty(), "{:?}", sdk.log.refused());
        c
    })
}

#[test]
fn a_stack_set_that_does_not_exist_is_an_error_never_an_all_clear() {
    let emu = Emulator::start(&["--scenario", "edge"]);
    let common_args = ["--endpoint-url", &emu.url, "--region", "ap-northeast-1"];
    let (code, out, err) = run_bin(
        &[
            &["diagnose", "--stack-set", "does-not-exist"][..],
            &common_args[..],
        ]
        .concat(),
    );
    assert_eq!(code, 1, "stdout: {out}\nstderr: {err}");
    assert!(!err.contains("No failure"), "{err}");
    for part in [
        "does-not-exist",
        "StackSetNotFoundException",
        "as SELF and as DELEGATED_ADMIN",
        "--call-as auto",
        "ap-northeast-1",
        "121212121212",
    ] {
        assert!(err.contains(part), "{part:?} missing from: {err}");
    }

    // `collect` writes no bundle at all; with one role given, only that one is tried.
    let dir = tempfile::tempdir().expect("tempdir");
    let bundle = dir.path().join("bundle.json");
    let (code, _, err) = run_bin(
        &[
            &[
                "collect",
                "--stack-set",
                "does-not-exist",
                "--stack-set",
                "guarded-baseline",
                "--call-as",
                "SELF",
                "-o",
                bundle.to_str().expect("utf-8 path"),
            ][..],
            &common_args[..],
        ]
        .concat(),
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("does-not-exist") && err.contains("as SELF (--call-as SELF)"),
        "{err}"
    );
    assert!(!err.contains("DELEGATED_ADMIN ("), "{err}");
    assert!(!bundle.exists(), "no bundle is written");
    assert_eq!(std::fs::read_dir(dir.path()).expect("dir").count(), 0);

    // --quick-setup where Quick Setup made no stack set: an error that says so.
    let (code, _, err) = run_bin(&[&["diagnose", "--quick-setup"][..], &common_args[..]].concat());
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no Quick Setup stack set"), "{err}");
}

/// The edge scenario (scripts/EMULATOR.md): a hook failure whose reason is cut, a suspended account, an
/// auto-deployment's own operation, a STOPPED drift detection newer than both deployments, a healthy instance.
fn assert_edge_evidence(c: &stackset_doctor::collect::live::Collected) {
    let ev = &c.evidence;
    // Every instance with its status, the healthy and the skipped ones too.
    let mut instances: Vec<(&str, &str, Option<&str>)> = ev
        .stack_instances
        .iter()
        .map(|i| {
            (
                i.account.as_str(),
                i.status.as_str(),
                i.detailed_status.as_deref(),
            )
        })
        .collect();
    instances.sort();
    assert_eq!(
        instances,
        [
            ("232323232323", "OUTDATED", Some("FAILED")),
            (
                "343434343434",
                "OUTDATED",
                Some("SKIPPED_SUSPENDED_ACCOUNT")
            ),
            ("454545454545", "OUTDATED", Some("FAILED")),
            ("565656565656", "CURRENT", Some("SUCCEEDED")),
        ]
    );
    // The failed operation is the newest failed deployment (the auto-deployment), not the newer drift detection,
    // which is recorded all the same; so is the first deployment, the window of 232323232323's stack.
    let ops: Vec<(&str, &str)> = ev
        .operations
        .iter()
        .map(|o| (o.action.as_deref().unwrap_or(""), o.status.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            ("CREATE", "FAILED"),
            ("DETECT_DRIFT", "STOPPED"),
            ("CREATE", "FAILED")
        ],
        "{:#?}",
        ev.operations
    );
    let chosen = &ev.operations[0];
    assert_eq!(
        ev.operation_results
            .iter()
            .map(|r| r.account.as_str())
            .collect::<Vec<_>>(),
        ["454545454545"]
    );
    let prefs = chosen.preferences.as_ref().expect("preferences");
    assert_eq!(prefs.failure_tolerance_count, Some(1));
    assert_eq!(prefs.max_concurrent_count, Some(2));
    assert_eq!(
        prefs.concurrency_mode.as_deref(),
        Some("SOFT_FAILURE_TOLERANCE")
    );
    assert_eq!(prefs.region_order, ["ap-northeast-1"]);
    let targets = chosen.deployment_targets.as_ref().expect("targets");
    assert_eq!(targets.organizational_units, ["r-ab12"]);
    assert!(ev.operations[2].created < chosen.created);
    // Each failed stack's events within its own operation's window: the first deployment's hook failure (two hours
    // before the chosen operation) and the auto-deployment's bucket.
    let failed_in = |account: &str| {
        ev.stack_events
            .iter()
            .filter(|e| e.account.as_deref() == Some(account))
            .collect::<Vec<_>>()
    };
    assert!(failed_in("454545454545")
        .iter()
        .any(|e| e.status == "CREATE_FAILED"
            && e.status_reason
                .as_deref()
                .is_some_and(|r| r.contains("already exists"))));
    let hooked = failed_in("232323232323");
    let hook_event = hooked
        .iter()
        .find(|e| {
            e.hook
                .as_ref()
                .is_some_and(|h| h.status == "HOOK_COMPLETE_FAILED")
        })
        .unwrap_or_else(|| panic!("no failed hook event in {hooked:#?}"));
    let hook = hook_event.hook.as_ref().expect("hook");
    assert_eq!(
        hook.hook_type.as_deref(),
        Some("Private::Guard::BucketEncryption")
    );
    assert_eq!(hook.failure_mode.as_deref(), Some("FAIL"));
    assert_eq!(hook.invocation_point.as_deref(), Some("PRE_PROVISION"));
    assert!(hook.invocation_id.is_some());
    // The reason was cut at 1,024 characters; GetHookResult gave the rest, with the rule that failed.
    let reason = hook.status_reason.as_deref().expect("reason");
    assert!(reason.chars().count() > 1024, "{}", reason.len());
    assert!(
        reason.starts_with("S3_BUCKET_SSE_KMS (FAILED): Template failed validation"),
        "{reason}"
    );
    assert!(
        reason.contains("Rule [S3_BUCKET_SSE_KMS] FAIL") && reason.contains("alias/logging"),
        "{reason}"
    );
    assert_eq!(c.stats.calls.get("CloudFormation:GetHookResult"), Some(&1));
    // Nothing is asked of the suspended account (no stack) or the healthy one.
    assert!(failed_in("343434343434").is_empty() && failed_in("565656565656").is_empty());
    assert_eq!(
        c.stats.calls.get("CloudFormation:DescribeStackInstance"),
        Some(&2)
    );
    assert_eq!(
        c.stats.calls.get("CloudFormation:ListStackInstances"),
        Some(&1)
    );
}

#[test]
fn edge_cases_with_describe_events() {
    let emu = Emulator::start(&["--scenario", "edge"]);
    let c = collect_at(&emu.url, &["guarded-baseline"]);
    assert_edge_evidence(&c);
    // Failed events only, typed; DescribeStackEvents once, for the hook's invocation id that DescribeEvents lacks.
    assert_eq!(c.stats.calls.get("CloudFormation:DescribeEvents"), Some(&2));
    assert_eq!(
        c.stats.calls.get("CloudFormation:DescribeStackEvents"),
        Some(&1)
    );
    assert!(c
        .evidence
        .stack_events
        .iter()
        .all(|e| e.event_type.is_some()));
    assert!(c
        .evidence
        .stack_events
        .iter()
        .any(|e| e.event_type.as_deref() == Some("HOOK_INVOCATION_ERROR")));
    assert!(
        !c.evidence
            .coverage
            .iter()
            .any(|n| n.reason.contains("DescribeEvents")),
        "{:#?}",
        c.evidence.coverage
    );
}

#[test]
fn edge_cases_without_describe_events_fall_back_to_describe_stack_events() {
    let emu = Emulator::start(&["--scenario", "edge", "--without-describe-events"]);
    let c = collect_at(&emu.url, &["guarded-baseline"]);
    assert_edge_evidence(&c);
    // Asked at most once per stack (stacks read side by side may both ask before the first answer), then never
    // again; every stack through DescribeStackEvents; the bundle says why, once.
    let asked = c.stats.calls.get("CloudFormation:DescribeEvents").copied();
    assert!(matches!(asked, Some(1 | 2)), "{asked:?}");
    assert_eq!(
        c.stats.calls.get("CloudFormation:DescribeStackEvents"),
        Some(&2)
    );
    assert!(c
        .evidence
        .stack_events
        .iter()
        .all(|e| e.event_type.is_none()));
    let notes: Vec<_> = c
        .evidence
        .coverage
        .iter()
        .filter(|n| n.reason.contains("DescribeEvents is not known"))
        .collect();
    assert_eq!(notes.len(), 1, "{notes:#?}");
    let note = notes[0];
    assert!(note.reason.contains("InvalidAction"), "{}", note.reason);
}

#[test]
fn edge_cases_diagnose_with_the_suspended_account_and_no_all_clear() {
    let emu = Emulator::start(&["--scenario", "edge"]);
    let (code, out, err) = run_bin(&[
        "diagnose",
        "--stack-set",
        "guarded-baseline",
        "--endpoint-url",
        &emu.url,
        "--region",
        "ap-northeast-1",
        "--member-role",
        "OrganizationAccountAccessRole",
        "--format",
        "json",
    ]);
    assert!(code == 3 || code == 4, "code {code}: {err}");
    let report: Value = serde_json::from_str(&out).expect("JSON report");
    let accounts: std::collections::BTreeSet<&str> = report["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .filter_map(|f| f["account"].as_str())
        .collect();
    for a in ["232323232323", "454545454545"] {
        assert!(accounts.contains(a), "{a} not among {accounts:?}");
    }
    // The suspended account is a skip, reported as such, and the healthy one is no failure.
    assert!(!accounts.contains("343434343434"), "{accounts:?}");
    assert!(!accounts.contains("565656565656"), "{accounts:?}");
    let notes = report["notes"].to_string();
    assert!(
        notes.contains("because the account is suspended") && notes.contains("343434343434"),
        "{notes}"
    );
    assert!(notes.contains("drift detection"), "{notes}");
    assert_eq!(
        report["summary"]["examined"]["instances"]["OUTDATED/SKIPPED_SUSPENDED_ACCOUNT"], 1,
        "{}",
        report["summary"]["examined"]
    );
}

/// The reference case's CloudTrail (scripts/EMULATOR.md): the DA's SCP-denied `PutBucketPublicAccessBlock` is in the
/// bundle for 121212121212 in ap-northeast-1, with the SCP's message; the TA's `CreateRole` for 232323232323 in
/// us-east-1 (IAM's events are there); calls that were not CloudFormation's, did not fail, or fall outside the
/// window are not. Every search is recorded, complete.
#[test]
fn the_reference_case_brings_the_calls_behind_its_failures_from_cloudtrail() {
    let emu = Emulator::start(&["--trail-page-size", "1"]);
    let c = collect_at(
        &emu.url,
        &["AWS-QuickSetup-SSM-DA-abcde", "AWS-QuickSetup-SSM-TA-abcde"],
    );
    let ev = &c.evidence;
    let kept: Vec<(&str, &str, &str, &str)> = ev
        .trail_events
        .iter()
        .map(|e| {
            (
                e.account.as_deref().unwrap_or_default(),
                e.region.as_deref().unwrap_or_default(),
                e.event_name.as_str(),
                e.error_code.as_deref().unwrap_or_default(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [
            (
                "121212121212",
                "ap-northeast-1",
                "PutBucketPublicAccessBlock",
                "AccessDenied"
            ),
            (
                "232323232323",
                "us-east-1",
                "CreateRole",
                "MalformedPolicyDocumentException"
            ),
        ],
        "{:#?}",
        ev.coverage
    );
    let deny = &ev.trail_events[0];
    // The same message the DA stack event carries inside its handler's envelope.
    let message = deny.error_message.as_deref().unwrap_or_default();
    assert!(
        message.ends_with("with an explicit deny in a service control policy"),
        "{message}"
    );
    assert!(ev.stack_events.iter().any(|e| e
        .status_reason
        .as_deref()
        .is_some_and(|r| r.contains(message))));
    assert_eq!(
        deny.principal_arn.as_deref(),
        Some("arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678")
    );
    assert!(deny
        .resources
        .iter()
        .any(|r| r == "arn:aws:s3:::do-not-delete-ssm-diagnosis-121212121212-ap-northeast-1-abab"));
    assert!(deny.event_time.is_some() && deny.source.is_some());
    // One search per failing account and Region, and one in us-east-1 per account with a failed IAM role.
    let lookups: Vec<Lookup> = ev
        .trail_lookups
        .iter()
        .map(|l| {
            (
                l.account.as_str(),
                l.region.as_str(),
                l.attribute.as_deref(),
                l.pages,
                l.events,
                l.complete,
            )
        })
        .collect();
    let s3 = Some("EventSource=s3.amazonaws.com");
    let iam = Some("EventSource=iam.amazonaws.com");
    let writes = Some("ReadOnly=false");
    // Pages of 1: the DA's window holds the denied call, CloudFormation's CreateBucket and a person's denied call.
    assert_eq!(
        lookups,
        [
            ("121212121212", "ap-northeast-1", s3, 3, 1, true),
            ("121212121212", "us-east-1", iam, 1, 0, true),
            ("232323232323", "ap-northeast-1", writes, 1, 0, true),
            ("232323232323", "us-east-1", iam, 1, 1, true),
            ("343434343434", "ap-northeast-1", writes, 1, 0, true),
            ("343434343434", "us-east-1", iam, 1, 0, true),
            ("454545454545", "ap-northeast-1", writes, 1, 0, true),
            ("454545454545", "us-east-1", iam, 1, 0, true),
        ]
    );
    assert_eq!(c.stats.calls.get("CloudTrail:LookupEvents"), Some(&10));
    assert!(
        ev.coverage.iter().all(|n| !n.reason.contains("cloudtrail")),
        "{:#?}",
        ev.coverage
    );
}

/// `--scenario vague-deny`: the stack event says only `Access Denied`; the bundle holds CloudTrail's explicit SCP
/// deny of the same call in the same account and Region, found through the member role.
#[test]
fn a_vague_access_denied_comes_with_the_explicit_scp_deny_from_cloudtrail() {
    let emu = Emulator::start(&["--scenario", "vague-deny", "--trail-page-size", "2"]);
    let c = collect_at(&emu.url, &["bucket-baseline"]);
    let ev = &c.evidence;
    let failed = ev
        .stack_events
        .iter()
        .find(|e| e.status == "CREATE_FAILED")
        .expect("the bucket's failure");
    let reason = failed.status_reason.as_deref().unwrap_or_default();
    assert!(
        reason.contains(
            "Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied;"
        ),
        "{reason}"
    );
    assert!(!reason.contains("service control policy"), "{reason}");
    assert_eq!(failed.account.as_deref(), Some("232323232323"));
    // The three denied attempts, not the CreateBucket that succeeded; in time order.
    assert_eq!(ev.trail_events.len(), 3, "{:#?}", ev.trail_events);
    for e in &ev.trail_events {
        assert_eq!(
            (e.account.as_deref(), e.region.as_deref()),
            (Some("232323232323"), Some("ap-northeast-1"))
        );
        assert_eq!(
            (e.event_source.as_str(), e.event_name.as_str()),
            ("s3.amazonaws.com", "PutBucketPublicAccessBlock")
        );
        assert_eq!(e.error_code.as_deref(), Some("AccessDenied"));
        let m = e.error_message.as_deref().unwrap_or_default();
        assert!(
            m.contains("s3:PutBucketPublicAccessBlock")
                && m.ends_with("with an explicit deny in a service control policy"),
            "{m}"
        );
        assert!(
            e.session_issuer_arn
                .as_deref()
                .is_some_and(|a| a.contains(":role/stacksets-exec-")),
            "{e:?}"
        );
        assert!(
            e.resources
                .iter()
                .any(|r| r == "arn:aws:s3:::artifacts-232323232323-ap-northeast-1"),
            "{e:?}"
        );
        // Within the failure's window.
        let t = e.event_time.expect("time");
        assert!(
            t <= failed.timestamp && failed.timestamp - t < chrono::Duration::minutes(5),
            "{t}"
        );
    }
    assert!(ev
        .trail_events
        .windows(2)
        .all(|w| w[0].event_time < w[1].event_time));
    // One search, paged with NextToken (4 events in the window at 2 a page), complete; none for the healthy account.
    assert_eq!(ev.trail_lookups.len(), 1, "{:?}", ev.trail_lookups);
    let l = &ev.trail_lookups[0];
    assert_eq!(
        (l.account.as_str(), l.region.as_str()),
        ("232323232323", "ap-northeast-1")
    );
    assert_eq!(l.attribute.as_deref(), Some("EventSource=s3.amazonaws.com"));
    assert_eq!((l.pages, l.events, l.complete), (2, 3, true));
    assert!(
        l.start <= failed.timestamp - chrono::Duration::minutes(5) && l.end >= failed.timestamp
    );
    assert_eq!(c.stats.calls.get("CloudTrail:LookupEvents"), Some(&2));
    // The diagnosis: CloudTrail's message decides, so the deny is an SCP deny with principal, action and resource.
    let catalog = stackset_doctor::classify::Catalog::builtin().expect("catalog");
    let d = stackset_doctor::diagnose(ev, &catalog, Vec::new());
    let r = &d.root_causes[0];
    let f = &d.failures[r.failure];
    assert_eq!(
        f.class.category,
        stackset_doctor::vocabulary::Category::ScpDeny,
        "{f:#?}"
    );
    assert!(
        f.class
            .matched_by
            .as_deref()
            .is_some_and(|m| m.starts_with("cloudtrail:")),
        "{:?}",
        f.class.matched_by
    );
    assert!(
        f.raw_message.contains("Access Denied (Service: Amazon S3"),
        "AWS's words are kept"
    );
    let ex = r
        .remediation
        .scp_exemption
        .as_ref()
        .expect("an SCP exemption");
    assert_eq!(ex.action.as_deref(), Some("s3:PutBucketPublicAccessBlock"));
    assert_eq!(
        ex.add_values,
        ["arn:aws:iam::232323232323:role/stacksets-exec-*"]
    );
    // The SCPs were collected too: the evaluator names the statement CloudTrail's message points at, and proves the
    // patch.
    assert!(!ev.policies.is_empty(), "the SCPs are in the evidence");
    let st = ex
        .statement
        .as_ref()
        .expect("the denying statement is named");
    assert_eq!(st.statement, "DenyS3PublicAccessBlockChanges");
    assert!(ex.proven, "{:#?}", ex.proof);
}

/// A CloudTrail search as the bundle records it: account, Region, attribute, pages, events kept, complete.
type Lookup<'a> = (&'a str, &'a str, Option<&'a str>, u32, usize, bool);

/// `--scenario race`: org-audit-roles created the role and SUCCEEDED; org-audit-bucket's bucket policy naming it
/// failed 30 s after that operation ended. Collected live, the diagnosis is a race, not a missing role.
#[test]
fn a_role_created_seconds_before_is_diagnosed_live_as_a_race() {
    let emu = Emulator::start(&["--scenario", "race"]);
    let c = collect_at(&emu.url, &["org-audit-roles", "org-audit-bucket"]);
    // The producer's instances and operation are in the bundle, with the operation's end.
    let op = c
        .evidence
        .operations
        .iter()
        .find(|o| o.stack_set.as_deref() == Some("org-audit-roles"))
        .expect("the producer's operation");
    assert_eq!(op.status, "SUCCEEDED");
    assert!(op.ended.is_some());
    let catalog = stackset_doctor::classify::Catalog::builtin().expect("catalog");
    let d = stackset_doctor::diagnose(&c.evidence, &catalog, Vec::new());
    assert_eq!(d.root_causes.len(), 1, "{:#?}", d.root_causes);
    let rc = &d.root_causes[0];
    let f = &d.failures[rc.failure];
    assert_eq!(f.logical_id.as_deref(), Some("AuditBucketPolicy"));
    let race = rc.race.as_ref().expect("a race");
    assert_eq!(
        race.kind,
        stackset_doctor::vocabulary::RaceKind::IamPropagation
    );
    assert_eq!(race.producer_stack_set.as_deref(), Some("org-audit-roles"));
    assert_eq!(race.gap_seconds, 30);
    assert!(rc.remediation.steps[0].starts_with("Nothing is missing"));
}
