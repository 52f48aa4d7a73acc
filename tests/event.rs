//! `diagnose --event` / `collect --event` end to end (docs/eventbridge.md): against the emulator for the events that
//! are failures, with no AWS call at all for the ones that are not, usage errors for the ones that are not
//! StackSets events; and `--output-dir`'s ticket bundle with its summary line.

use std::net::TcpListener;
use std::path::Path;

use serde_json::Value;

use crate::common;
use crate::live_emulator::{run_bin, Emulator};

const DA: &str = "AWS-QuickSetup-SSM-DA-abcde";
const DA_OPERATION: &str = "e6e2448c-5f70-45ca-a20d-f9e6f7d7720a";
const TA_OPERATION: &str = "35cc76fd-f03f-49fa-86a9-6e8ed38b7d66";

/// (rule, logical id, account, stack set) of each root cause.
fn root_causes(report: &Value) -> Vec<[String; 4]> {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    report["root_causes"]
        .as_array()
        .expect("root_causes")
        .iter()
        .map(|r| {
            [
                s(&r["rule"]),
                s(&r["logical_id"]),
                s(&r["account"]),
                s(&r["stack_set"]),
            ]
        })
        .collect()
}

fn json(out: &str, err: &str) -> Value {
    serde_json::from_str(out).unwrap_or_else(|e| panic!("{e}: stdout {out:?}\nstderr {err}"))
}

#[test]
fn event_diagnoses_exactly_what_it_names_live() {
    let emu = Emulator::start(&[]);
    let live = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend([
            "--endpoint-url",
            &emu.url,
            "--member-role",
            "OrganizationAccountAccessRole",
        ]);
        run_bin(&a)
    };

    // A failed operation: the same diagnosis as naming the stack set and the operation.
    let (code, out, err) = live(&[
        "diagnose",
        "--event",
        "samples/events/operation-failed.json",
        "--format",
        "json",
    ]);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains(&format!(
            "event: operation {DA_OPERATION} of stack set {DA}"
        )),
        "{err}"
    );
    let by_event = json(&out, &err);
    let (code, out, err) = live(&[
        "diagnose",
        "--stack-set",
        DA,
        "--operation-id",
        DA_OPERATION,
        "--region",
        "ap-northeast-1",
        "--format",
        "json",
    ]);
    assert_eq!(code, 3, "{err}");
    let by_name = json(&out, &err);
    let rc = root_causes(&by_event);
    assert_eq!(rc, root_causes(&by_name));
    assert_eq!(
        rc,
        [[
            "scp-explicit-deny".to_owned(),
            "DiagnosisBucket".into(),
            "121212121212".into(),
            DA.into()
        ]]
    );
    assert_eq!(by_event["summary"], by_name["summary"]);

    // A failed stack instance: only that account and Region are collected (the TA stack set has four instances).
    let (code, out, err) = live(&[
        "diagnose",
        "--event",
        "samples/events/instance-failed.json",
        "--format",
        "json",
    ]);
    assert_eq!(code, 3, "{err}");
    let inst = json(&out, &err);
    assert_eq!(
        inst["summary"]["accounts"],
        serde_json::json!(["232323232323"])
    );
    assert_eq!(
        inst["summary"]["regions"],
        serde_json::json!(["ap-northeast-1"])
    );
    let instances: u64 = inst["summary"]["examined"]["instances"]
        .as_object()
        .expect("instances by status")
        .values()
        .filter_map(Value::as_u64)
        .sum();
    assert_eq!(instances, 1, "{:#}", inst["summary"]["examined"]);
    let failed: Vec<&str> = inst["failed_instances"]
        .as_array()
        .expect("failed_instances")
        .iter()
        .filter_map(|i| i["account"].as_str())
        .collect();
    assert_eq!(failed, ["232323232323"]);
    // Every failure is that instance's, but the operation's own (which has no account).
    assert!(inst["failures"]
        .as_array()
        .expect("failures")
        .iter()
        .all(|f| f["account"] == "232323232323" || f["level"] == "operation"));

    // collect --event: the bundle of the stopped operation, all four TA instances.
    let dir = tempfile::tempdir().expect("scratch");
    let bundle = dir.path().join("b.json");
    let (code, _, err) = live(&[
        "collect",
        "--event",
        "samples/events/operation-stopped.json",
        "-o",
        bundle.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    let b: Value =
        serde_json::from_str(&std::fs::read_to_string(&bundle).expect("bundle")).expect("json");
    let ops: Vec<&str> = b["evidence"]["operations"]
        .as_array()
        .or_else(|| b["operations"].as_array())
        .expect("operations in the bundle")
        .iter()
        .filter_map(|o| o["operation_id"].as_str())
        .collect();
    assert!(ops.contains(&TA_OPERATION), "{ops:?}");
}

#[test]
fn event_that_is_no_failure_makes_no_aws_call() {
    // Anything that tried AWS would connect here (or fail on the missing credentials): nothing may.
    let listener = TcpListener::bind("127.0.0.1:0").expect("loopback");
    listener.set_nonblocking(true).expect("non-blocking");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let (code, out, err) = run_bin(&[
        "diagnose",
        "--event",
        "samples/events/operation-succeeded.json",
        "--endpoint-url",
        &url,
        "--output-dir",
        "target/never-written",
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with(
            "nothing to diagnose: operation ce69adce-2221-4483-8c4b-c51f284f25e8 of stack set test1234 is SUCCEEDED"
        ),
        "{out}"
    );
    assert!(!Path::new("target/never-written").exists());
    let dir = tempfile::tempdir().expect("scratch");
    let bundle = dir.path().join("b.json");
    let (code, out, err) = run_bin(&[
        "collect",
        "--event",
        "samples/events/operation-succeeded.json",
        "--endpoint-url",
        &url,
        "-o",
        bundle.to_str().expect("utf-8"),
    ]);
    assert_eq!(code, 0, "{err}");
    assert!(
        out.is_empty() && err.contains("nothing to collect: operation"),
        "{err}"
    );
    assert!(!bundle.exists());
    assert!(
        matches!(listener.accept(), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "something connected to the endpoint"
    );

    // From stdin, a stack instance that succeeded.
    let event = std::fs::read_to_string("samples/events/instance-failed.json")
        .expect("sample")
        .replace("\"OUTDATED\"", "\"CURRENT\"")
        .replace(
            "\"detailed-status\": \"FAILED\"",
            "\"detailed-status\": \"SUCCEEDED\"",
        );
    let (code, out, err) = common::run(&["diagnose", "--event", "-"], Some(event.as_bytes()));
    assert_eq!(code, 0, "{err}");
    assert!(
        out.starts_with("nothing to diagnose: the stack instance of stack set AWS-QuickSetup-SSM-TA-abcde in 232323232323 ap-northeast-1 is CURRENT (SUCCEEDED)"),
        "{out}"
    );
}

#[test]
fn event_malformed_or_unrelated_is_a_usage_error_naming_the_file() {
    let dir = tempfile::tempdir().expect("scratch");
    let failed = std::fs::read_to_string("samples/events/operation-failed.json").expect("sample");
    let cases: [(&str, String, &str); 6] = [
        (
            "not-json.json",
            "this is not JSON".into(),
            "not-json.json:1:2: malformed JSON",
        ),
        ("list.json", format!("[{failed}]"), "an array"),
        (
            "s3.json",
            failed.replace("\"aws.cloudformation\"", "\"aws.s3\""),
            "s3.json:5:15: not a recognised input: source is \"aws.s3\"",
        ),
        (
            "no-op.json",
            failed.replace("\"stack-set-operation-id\"", "\"operation\""),
            "no \"stack-set-operation-id\" member",
        ),
        (
            "bad-arn.json",
            failed.replace(
                "\"arn:aws:cloudformation:ap-northeast-1:121212121212:stackset/",
                "\"arn:aws:cloudformation:ap-northeast-1:121212121212:stack/",
            ),
            "bad-arn.json:13:26: /detail/stack-set-arn",
        ),
        (
            "other-type.json",
            failed.replace("Operation Status Change", "Status Change"),
            "a CloudFormation event this tool does not diagnose",
        ),
    ];
    for (name, text, says) in &cases {
        let path = dir.path().join(name);
        std::fs::write(&path, text).expect("write");
        let p = path.to_str().expect("utf-8");
        for cmd in [
            vec!["diagnose", "--event", p],
            vec!["collect", "--event", p, "-o", "-"],
        ] {
            let (code, out, err) = common::run(&cmd, None);
            assert_eq!(code, 2, "{name}: {err}");
            assert!(out.is_empty(), "{name}: {out}");
            assert!(err.contains(says), "{name}: {err}");
            assert!(
                err.contains("expected") && err.contains(name),
                "{name}: {err}"
            );
        }
    }
    // With what it conflicts with.
    for (args, says) in [
        (
            vec!["diagnose", "--event", "samples/events/operation-failed.json", "--region", "us-east-1"],
            "--region us-east-1 contradicts the event: stack set AWS-QuickSetup-SSM-DA-abcde lives in ap-northeast-1",
        ),
        (
            vec!["diagnose", "--event", "samples/events/instance-failed.json", "--regions", "eu-west-1"],
            "--regions eu-west-1 leaves out the event's stack instance (232323232323 in ap-northeast-1",
        ),
        (
            vec!["diagnose", "--event", "samples/events/operation-failed.json", "samples/quicksetup-scp-deny"],
            "not both",
        ),
        (
            vec!["diagnose", "--event", "samples/events/operation-failed.json", "--stack-set", "x"],
            "cannot be used with",
        ),
        (
            vec!["collect", "--event", "samples/events/operation-failed.json", "--operation-id", "x", "-o", "-"],
            "cannot be used with",
        ),
    ] {
        let (code, _, err) = common::run(&args, None);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
    // A file that cannot be read is bad input (1), as for PATHs.
    let (code, _, err) = common::run(&["diagnose", "--event", "no/such/event.json"], None);
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("no/such/event.json"), "{err}");
}

#[test]
fn output_dir_writes_the_ticket_bundle_and_prints_one_summary_line() {
    let dir = tempfile::tempdir().expect("scratch");
    let out_dir = dir.path().join("ticket/R-42");
    let d = out_dir.to_str().expect("utf-8");
    let (code, out, err) = common::run(
        &[
            "diagnose",
            "samples/quicksetup-scp-deny",
            "--output-dir",
            d,
            "--redact",
        ],
        None,
    );
    assert_eq!(code, 3, "{err}");
    assert_eq!(out.lines().count(), 1, "{out}");
    assert!(
        out.starts_with("failures explained: 1 root cause, 10 failures in 5 accounts; R1 Service control policy explicitly denies the action (DiagnosisBucket, AWS-QuickSetup-SSM-DA-abcde, "),
        "{out}"
    );
    assert!(
        out.trim_end().ends_with(&format!(
            "; in {d}: report.json report.md report.html fixes/ (1) evidence.json"
        )),
        "{out}"
    );
    // Redacted: no real account id anywhere in the bundle, the line included.
    assert!(!out.contains("121212121212"), "{out}");
    let report: Value = serde_json::from_str(
        &std::fs::read_to_string(out_dir.join("report.json")).expect("report.json"),
    )
    .expect("JSON report");
    assert_eq!(report["schema"], "stackset-doctor/report/v1");
    assert_eq!(report["summary"]["exit_code"], 3);
    let md = std::fs::read_to_string(out_dir.join("report.md")).expect("report.md");
    assert!(
        md.contains("Service control policy explicitly denies"),
        "{md}"
    );
    let html = std::fs::read_to_string(out_dir.join("report.html")).expect("report.html");
    assert!(
        html.to_ascii_lowercase().starts_with("<!doctype html"),
        "{}",
        &html[..80.min(html.len())]
    );
    let fixes: Vec<_> = std::fs::read_dir(out_dir.join("fixes"))
        .expect("fixes/")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(fixes.len(), 1, "{fixes:?}");
    assert!(fixes[0].ends_with("-R1.json"), "{fixes:?}");
    // The report's update-policy command names the file written beside it.
    assert!(md.contains(&format!("fixes/{}", fixes[0])), "{md}");
    let evidence = std::fs::read_to_string(out_dir.join("evidence.json")).expect("evidence.json");
    assert!(evidence.contains("stackset-doctor/evidence/v1"));
    for text in [&evidence, &md, &html] {
        assert!(!text.contains("121212121212"));
    }
    let mut names: Vec<String> = std::fs::read_dir(&out_dir)
        .expect("dir")
        .filter_map(Result::ok)
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "evidence.json",
            "fixes",
            "report.html",
            "report.json",
            "report.md"
        ]
    );

    // Again without --redact, into the same folder: replaced, no temp file left; no evidence bundle is written
    // (the old one stays), and the line names the real account.
    let (code, out, err) = common::run(
        &["diagnose", "samples/quicksetup-scp-deny", "--output-dir", d],
        None,
    );
    assert_eq!(code, 3, "{err}");
    assert!(
        out.contains("121212121212") && !out.contains("evidence.json"),
        "{out}"
    );
    assert_eq!(std::fs::read_dir(&out_dir).expect("dir").count(), 5);
    assert!(std::fs::read_to_string(out_dir.join("report.md"))
        .expect("md")
        .contains("121212121212"));

    // Exit codes as diagnose: --exit-zero, and no failure at all.
    let (code, out, _) = common::run(
        &[
            "diagnose",
            "samples/quicksetup-scp-deny",
            "--output-dir",
            d,
            "--exit-zero",
        ],
        None,
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("failures explained:"), "{out}");

    // --format is for stdout; a file where the folder should be is a write error.
    let (code, _, err) = common::run(
        &[
            "diagnose",
            "samples/quicksetup-scp-deny",
            "--output-dir",
            d,
            "--format",
            "json",
        ],
        None,
    );
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("--output-dir writes report.json"), "{err}");
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").expect("write");
    let (code, _, err) = common::run(
        &[
            "diagnose",
            "samples/quicksetup-scp-deny",
            "--output-dir",
            file.to_str().expect("utf-8"),
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("a-file") && err.contains("cannot write"),
        "{err}"
    );
}
