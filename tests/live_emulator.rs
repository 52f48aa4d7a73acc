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
const ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_SESSION_TOKEN", ""),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

fn run_bin(args: &[&str]) -> (i32, String, String) {
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
}
