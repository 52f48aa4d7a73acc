//! The command line end to end: exit codes, stdin, explain, rules, bundles.

use crate::common::run;

#[test]
fn reference_sample_exits_3_and_names_the_cause() {
    let (code, out, _) = run(&["diagnose", "samples/quicksetup-scp-deny"], None);
    assert_eq!(code, 3);
    assert!(
        out.contains("ROOT CAUSE R1  Service control policy explicitly denies the action"),
        "{out}"
    );
    assert!(
        out.contains("scp-deny (matched by scp-explicit-deny"),
        "{out}"
    );
    assert!(out.contains("DiagnosisBucket"));
    assert!(out.contains("arn:aws:iam::121212121212:role/stacksets-exec-*"));
}

#[test]
fn usage_errors_exit_2_and_help_exits_0() {
    assert_eq!(run(&["diagnose"], None).0, 2);
    assert_eq!(run(&["diagnose", "--format", "yaml", "x"], None).0, 2);
    assert_eq!(run(&["frobnicate"], None).0, 2);
    let (code, out, _) = run(&["diagnose", "--help"], None);
    assert_eq!(code, 0);
    assert!(out.contains("Exit codes"));
}

#[test]
fn stack_events_from_stdin() {
    let events = std::fs::read("samples/encodings/stack-events-utf8-bom.json").unwrap();
    let (code, out, err) = run(&["diagnose", "--format", "json", "-"], Some(&events));
    assert_eq!(code, 3, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["root_causes"][0]["category"], "scp-deny");
}

fn write_events(dir: &std::path::Path, status: &str, reason: &str) -> String {
    let path = dir.join("events.json");
    let doc = serde_json::json!({"StackEvents": [{
        "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/app/8c0e8d5c-2f44-4c8b-9d1e-3c1a2b3c4d5e",
        "EventId": "e1", "StackName": "app", "LogicalResourceId": "Thing", "PhysicalResourceId": "",
        "ResourceType": "AWS::SQS::Queue", "Timestamp": "2025-03-10T05:12:01.123000+00:00",
        "ResourceStatus": status, "ResourceStatusReason": reason
    }]});
    std::fs::write(&path, serde_json::to_vec_pretty(&doc).unwrap()).unwrap();
    path.display().to_string()
}

#[test]
fn healthy_evidence_exits_0() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_events(dir.path(), "CREATE_COMPLETE", "");
    let (code, out, _) = run(&["diagnose", &p], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("No failure"));
}

#[test]
fn unknown_root_cause_exits_4_and_is_shown() {
    let dir = tempfile::tempdir().unwrap();
    let p = write_events(
        dir.path(),
        "CREATE_FAILED",
        "The frobnicator is out of flux capacitance",
    );
    let (code, out, _) = run(&["diagnose", &p], None);
    assert_eq!(code, 4, "{out}");
    assert!(out.contains("frobnicator"));
    assert!(out.contains("no rule matched"));
}

#[test]
fn explain_json_one_object_per_message() {
    let input = b"Resource creation cancelled\nThe frobnicator is out of flux capacitance\n";
    let (code, out, _) = run(&["explain", "--format", "json", "-"], Some(input));
    assert_eq!(code, 4, "one message matched no rule");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["category"], "cancelled-cascade");
    assert_eq!(lines[0]["role"], "consequence");
    assert!(lines[0]["rule"].is_string());
    assert_eq!(lines[1]["rule"], serde_json::Value::Null);
    assert_eq!(lines[1]["category"], "other");
    assert_eq!(lines[1]["role"], "unknown");
}

#[test]
fn explain_says_which_layer_decided_and_keeps_going_past_a_bad_line() {
    let coded = "Resource handler returned message: \"Quota reached for widgets (Service: Widgets, Status Code: 400, Error Code: WidgetLimitExceeded, Request ID: r)\" (RequestToken: t, HandlerErrorCode: GeneralServiceException)";
    let mut input = Vec::new();
    for line in [
        coded.as_bytes(),
        b"The frobnicator is out of flux capacitance",
        b"\xff\xfe bad bytes",
        coded.as_bytes(),
    ] {
        input.extend_from_slice(line);
        input.extend_from_slice(b"\r\n");
    }
    let (code, out, err) = run(&["explain", "--format", "json", "-"], Some(&input));
    assert_eq!(code, 4, "{out}");
    assert!(err.contains("<stdin>:3: not UTF-8"), "{err}");
    let lines: Vec<serde_json::Value> = out
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines.len(), 4, "every line answered, the bad one too");
    assert_eq!(lines[0]["category"], "limit-exceeded");
    assert_eq!(lines[0]["matched_by"], "error-code:WidgetLimitExceeded");
    assert_eq!(lines[0]["layer"], "error-code");
    assert_eq!(lines[0]["rule"], "error-code-limit-exceeded");
    assert!(lines[0]["confidence"].as_f64().unwrap() < 0.9);
    assert_eq!(lines[1]["matched_by"], serde_json::Value::Null);
    assert_eq!(lines[1]["confidence"], 0.0);
    // A repeat is answered from the cache, identically.
    assert_eq!(lines[3], lines[0]);
    let (_, text, _) = run(&["explain", coded], None);
    assert!(
        text.contains("matched by   error-code:WidgetLimitExceeded  (error-code layer"),
        "{text}"
    );
}

#[test]
fn explain_captures_access_denied_fields() {
    let msg = r#"Resource handler returned message: "User: arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678 is not authorized to perform: s3:PutBucketPublicAccessBlock on resource: "arn:aws:s3:::b" with an explicit deny in a service control policy: arn:aws:organizations::987654321098:policy/o-abcd1234/service_control_policy/p-abcd1234 (Service: S3, Status Code: 403, Request ID: X)" (RequestToken: t, HandlerErrorCode: GeneralServiceException)"#;
    let (code, out, _) = run(&["explain", "--format", "json", msg], None);
    assert_eq!(code, 0);
    let v: serde_json::Value = serde_json::from_str(out.trim()).unwrap();
    assert_eq!(v["category"], "scp-deny");
    assert_eq!(v["fields"]["action"], "s3:PutBucketPublicAccessBlock");
    assert_eq!(v["fields"]["resource"], "arn:aws:s3:::b");
    assert_eq!(
        v["fields"]["policy_arn"],
        "arn:aws:organizations::987654321098:policy/o-abcd1234/service_control_policy/p-abcd1234"
    );
    assert_eq!(v["fields"]["handler_error_code"], "GeneralServiceException");
}

#[test]
fn rules_list_and_test() {
    let (code, out, _) = run(&["rules", "list"], None);
    assert_eq!(code, 0);
    assert!(out.contains("scp-deny"));
    let (code, out, _) = run(&["rules", "test"], None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(" 0 failed"));
}

#[test]
fn saved_bundle_rediagnoses_to_the_same_report() {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.json");
    let b = bundle.display().to_string();
    let (c1, direct, _) = run(
        &[
            "diagnose",
            "--format",
            "json",
            "--save",
            &b,
            "samples/quicksetup-scp-deny",
        ],
        None,
    );
    let (c2, again, _) = run(&["diagnose", "--format", "json", &b], None);
    assert_eq!((c1, c2), (3, 3));
    let a: serde_json::Value = serde_json::from_str(&direct).unwrap();
    let b: serde_json::Value = serde_json::from_str(&again).unwrap();
    assert_eq!(a["root_causes"], b["root_causes"]);
    assert_eq!(a["summary"], b["summary"]);
}

#[test]
fn folders_skip_unrecognised_files_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), "hello").unwrap();
    std::fs::write(dir.path().join("other.json"), "{\"Reservations\": []}").unwrap();
    std::fs::copy(
        "samples/encodings/stack-events-utf8-bom.json",
        dir.path().join("events.json"),
    )
    .unwrap();
    let (code, _, err) = run(&["diagnose", &dir.path().display().to_string()], None);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("notes.txt") && err.contains("other.json"),
        "{err}"
    );
}

#[test]
fn concatenated_documents_and_arrays_on_stdin() {
    let mut all = Vec::new();
    let mut files: Vec<_> = walkdir::WalkDir::new("samples/quicksetup-scp-deny")
        .into_iter()
        .filter_map(|e| e.ok())
        .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
        .map(|e| e.path().to_path_buf())
        .collect();
    files.sort();
    for f in &files {
        all.extend(std::fs::read(f).unwrap());
        all.push(b'\n');
    }
    let (code, out, err) = run(&["diagnose", "--format", "json", "-"], Some(&all));
    assert_eq!(code, 3, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["root_causes"][0]["category"], "scp-deny");
    assert_eq!(v["root_causes"].as_array().unwrap().len(), 1);

    let events = std::fs::read_to_string("samples/encodings/stack-events-utf8-bom.json").unwrap();
    let array = format!("[{}]", events.trim_start_matches('\u{feff}'));
    let (code, _, err) = run(&["diagnose", "-"], Some(array.as_bytes()));
    assert_eq!(code, 3, "{err}");
    let (code, _, err) = run(&["diagnose", "-"], Some(b"[]"));
    assert_eq!(code, 1);
    assert!(
        err.contains("no known shape") && !err.contains("CliDocument"),
        "{err}"
    );
}

#[test]
fn rules_test_on_an_empty_folder_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let (code, _, err) = run(&["rules", "test", &dir.path().display().to_string()], None);
    assert_eq!(code, 1);
    assert!(err.contains("no rule files"), "{err}");
}

#[test]
fn huge_messages_are_classified_by_their_start() {
    let msg = format!(
        "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: s3:PutObject {}",
        "x ".repeat(500_000)
    );
    let (code, out, _) = run(&["explain", "--format", "json", "-"], Some(msg.as_bytes()));
    assert_eq!(code, 0);
    assert!(
        out.contains("\"category\":\"identity-policy-missing\""),
        "{}",
        &out[..200.min(out.len())]
    );
}

/// AWS CLI habits: `--output json` names the format; `--exit-zero` keeps pipelines going with the code in the
/// report; `collect --output json` is not a file called `json`; `--regions` takes a space-separated list; a
/// profile that does not exist is said as such; a reader that closes the pipe early ends the run quietly.
#[test]
fn aws_cli_habits_work() {
    let (code, out, _) = run(
        &[
            "diagnose",
            "--output",
            "json",
            "samples/quicksetup-scp-deny",
        ],
        None,
    );
    assert_eq!(code, 3);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["exit_code"], 3);

    let (code, out, err) = run(
        &[
            "diagnose",
            "--exit-zero",
            "--format",
            "json",
            "samples/quicksetup-scp-deny",
        ],
        None,
    );
    assert_eq!(code, 0, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["summary"]["exit_code"], 3, "the report keeps the code");
    let (code, _, _) = run(
        &["diagnose", "--exit-zero", "samples/invalid/malformed.json"],
        None,
    );
    assert_eq!(code, 1, "bad input still fails");

    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stackset-doctor"))
        .args(["collect", "--stack-set", "x", "--output", "json"])
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("-o bundle.json"));
    assert!(!dir.path().join("json").exists());

    let home = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_stackset-doctor"))
        .args([
            "diagnose",
            "--stack-set",
            "x",
            "--regions",
            "us-east-1",
            "eu-west-1",
            "--profile",
            "nope",
            "--region",
            "us-east-1",
        ])
        .env("HOME", home.path())
        .env_remove("AWS_CONFIG_FILE")
        .env_remove("AWS_SHARED_CREDENTIALS_FILE")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("profile \"nope\" is not defined"), "{err}");

    let out = std::process::Command::new("bash")
        .arg("-c")
        // More than a pipe's buffer (64 KiB), so the write after `head` has gone fails.
        .arg("\"$0\" diagnose --format json samples/quicksetup-scp-deny samples/bucket-already-exists samples/unrelated-simultaneous samples/kms-alias-missing samples/three-stack-set-chain samples/export-missing | head -c 10 >/dev/null; echo ${PIPESTATUS[0]}")
        .arg(env!("CARGO_BIN_EXE_stackset-doctor"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stderr.contains("Broken pipe"), "{stderr}");
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0", "{stderr}");
}

#[test]
fn completions_and_the_manual_page_come_from_the_same_definitions() {
    let (code, out, _) = run(&["completions", "bash"], None);
    assert_eq!(code, 0);
    assert!(
        out.contains("stackset-doctor")
            && out.contains("--write-fixes")
            && out.contains("--exit-zero")
    );
    let (code, out, _) = run(&["man"], None);
    assert_eq!(code, 0);
    assert!(
        out.starts_with(".ie") && out.contains(".TH stackset-doctor 1"),
        "{}",
        &out[..out.len().min(200)]
    );
    let (code, _, err) = run(&["completions", "tcsh"], None);
    assert_eq!(code, 2, "{err}");
}

/// Diagrams draw best causes; `--all-links` every link (the DA deny also explains the TA failures through the
/// known topology, a link that is not their best cause).
#[test]
fn all_links_draws_every_link_in_the_diagrams() {
    let extra = "F2 -->|\"known-topology\"| F6";
    let (code, best, err) = run(
        &[
            "diagnose",
            "--format",
            "mermaid",
            "samples/quicksetup-scp-deny",
        ],
        None,
    );
    assert_eq!(code, 3, "{err}");
    assert!(!best.contains(extra), "{best}");
    let (code, all, err) = run(
        &[
            "diagnose",
            "--format",
            "mermaid",
            "--all-links",
            "samples/quicksetup-scp-deny",
        ],
        None,
    );
    assert_eq!(code, 3, "{err}");
    assert!(all.contains(extra), "{all}");
    assert!(all.matches(" -->|").count() > best.matches(" -->|").count());
    let (_, dot, _) = run(
        &[
            "diagnose",
            "-f",
            "dot",
            "--all-links",
            "samples/quicksetup-scp-deny",
        ],
        None,
    );
    assert!(
        dot.contains("\"F2\" -> \"F6\" [label=\"known-topology\"]"),
        "{dot}"
    );
}
