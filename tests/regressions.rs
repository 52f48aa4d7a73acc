//! Defects found by adversarial testing, each with the input that found it (under `tests/fixtures/`) and the
//! test that would have caught it, named after what it guards.

use crate::common::run;

const SESSION: &str = "arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678";

fn no_panic(what: &str, code: i32, err: &str) {
    assert_ne!(code, 101, "{what} panicked: {err}");
    assert!(!err.contains("panicked"), "{what} panicked: {err}");
}

/// `--redact` once exited 101 when a multi-byte character stood just before an organization id.
#[test]
fn redacted_ticket_survives_non_ascii_before_organization_ids() {
    for format in ["json", "markdown", "table"] {
        let (code, out, err) = run(
            &[
                "diagnose",
                "--redact",
                "--format",
                format,
                "tests/fixtures/redact-non-ascii-before-org-ids.json",
            ],
            None,
        );
        no_panic("diagnose --redact", code, &err);
        assert!(matches!(code, 3 | 4), "exit {code}: {err}");
        for id in [
            "p-12345678",
            "o-a1b2c3d4e5",
            "r-ab12",
            "ou-ab12-cdefgh34",
            "111122223333",
        ] {
            assert!(
                !out.contains(id),
                "{id} survives redaction in {format}: {out}"
            );
        }
        assert!(out.contains("p-00000001"), "{format}: {out}");
    }
}

/// Timestamps the parser accepted but the time windows overflowed on (exit 101): now the record is skipped with a
/// warning naming the file and the field, and with nothing else readable the run is an error.
#[test]
fn out_of_range_timestamps_are_errors_naming_the_field() {
    for f in [
        "timestamp-year-262142.json",
        "timestamp-epoch-out-of-range.json",
        "timestamp-epoch-negative.json",
    ] {
        let path = format!("tests/fixtures/{f}");
        let (code, _, err) = run(&["diagnose", &path], None);
        no_panic(f, code, &err);
        assert_eq!(code, 1, "{f}: {err}");
        assert!(
            err.contains(&path)
                && err.contains("/StackEvents/0: Timestamp")
                && err.contains("out of range"),
            "{f}: {err}"
        );
    }
}

/// A bundle carries chrono's own timestamps, which reach further: at the edge of their range, linking must not
/// overflow either.
#[test]
fn extreme_timestamps_in_a_bundle_do_not_overflow() {
    let dir = tempfile::tempdir().unwrap();
    let event = |t: &str, logical: &str, reason: &str| {
        serde_json::json!({
            "stack_id": "arn:aws:cloudformation:us-east-1:111122223333:stack/app/1", "stack_name": "app",
            "account": "111122223333", "region": "us-east-1", "logical_id": logical,
            "resource_type": "AWS::SQS::Queue", "timestamp": t, "status": "CREATE_FAILED", "status_reason": reason
        })
    };
    let bundle = serde_json::json!({
        "schema": "stackset-doctor/evidence/v1",
        "evidence": {"stack_events": [
            event("+262142-12-31T23:59:59Z", "A", "Resource handler returned message: \"a already exists\" (RequestToken: t, HandlerErrorCode: AlreadyExists)"),
            event("-262143-01-01T00:00:00Z", "B", "Resource creation cancelled"),
            event("+262142-12-31T23:59:59Z", "C", "Resource creation cancelled"),
        ]}
    });
    let path = dir.path().join("bundle.json");
    std::fs::write(&path, bundle.to_string()).unwrap();
    let (code, _, err) = run(&["diagnose", path.to_str().unwrap()], None);
    no_panic("bundle", code, &err);
    assert_eq!(code, 3, "{err}");
}

/// `--save` once replaced whatever was at the path (a symlink, a FIFO, `/dev/full`) and `--save -` wrote a file
/// named `-`.
#[cfg(unix)]
#[test]
fn save_writes_through_links_and_leaves_special_files_alone() {
    let dir = tempfile::tempdir().unwrap();
    let real = dir.path().join("real.json");
    std::fs::write(&real, "old").unwrap();
    let link = dir.path().join("link.json");
    std::os::unix::fs::symlink(&real, &link).unwrap();
    let sample = "samples/quicksetup-scp-deny";
    let (code, _, err) = run(
        &["diagnose", sample, "--save", link.to_str().unwrap()],
        None,
    );
    assert_eq!(code, 3, "{err}");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    let saved: serde_json::Value = serde_json::from_slice(&std::fs::read(&real).unwrap()).unwrap();
    assert_eq!(saved["schema"], "stackset-doctor/evidence/v1");
    // A device stays a device, and the error says "cannot write".
    let (code, _, err) = run(&["diagnose", sample, "--save", "/dev/null"], None);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("/dev/null: cannot write") && err.contains("not a regular file"),
        "{err}"
    );
    assert!(
        !err.contains(".stackset-doctor-"),
        "the temp file's name leaks: {err}"
    );
    // `-` is standard output, which the report already uses.
    let (code, _, err) = run(&["diagnose", sample, "--save", "-"], None);
    assert_eq!(code, 2, "{err}");
    assert!(!std::path::Path::new("-").exists());
    // A folder that cannot be written to says so, naming the path given.
    let (code, _, err) = run(
        &["diagnose", sample, "--save", "/nonexistent-dir/b.json"],
        None,
    );
    assert_eq!(code, 1);
    assert!(
        err.contains("/nonexistent-dir/b.json: cannot write"),
        "{err}"
    );
}

/// `scp fix` once returned a re-indented 8,393-character patch, "proven", with a command AWS would refuse.
#[test]
fn scp_fix_keeps_patches_within_the_policy_size_limit() {
    let fix = |policy: &str| {
        let (code, out, err) = run(
            &[
                "scp",
                "fix",
                "--policy",
                policy,
                "--principal",
                SESSION,
                "--action",
                "s3:PutBucketPublicAccessBlock",
                "--resource",
                "arn:aws:s3:::b",
                "--format",
                "json",
            ],
            None,
        );
        let v: serde_json::Value =
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("{e}: {err}"));
        (code, v)
    };
    // Fits only without white space: written compactly, and said so.
    let (code, v) = fix("tests/fixtures/scp-fits-only-compact.json");
    assert_eq!(code, 0);
    let p = &v["patches"][0];
    let text = p["patched_text"].as_str().unwrap();
    assert!(text.len() <= 5120 && !text.contains('\n'), "{}", text.len());
    assert_eq!(p["size"]["compact"], true);
    assert!(p["apply_command"].is_string());
    assert!(v["notes"].to_string().contains("without white space"));
    // Cannot fit at all: no command to apply it, a warning first, exit 3.
    let (code, v) = fix("tests/fixtures/scp-near-size-limit.json");
    assert_eq!(code, 3);
    let p = &v["patches"][0];
    assert_eq!(p["size"]["fits"], false);
    assert!(p["apply_command"].is_null());
    assert!(
        v["warnings"][0]
            .as_str()
            .unwrap()
            .contains("AWS would refuse it"),
        "{v}"
    );
}

/// `scp check` refused UTF-16 and BOM policy files that `diagnose` reads.
#[test]
fn scp_reads_policies_in_every_encoding_diagnose_reads() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string("samples/quicksetup-scp-deny/scp.json").unwrap();
    let mut utf16 = vec![0xFF, 0xFE];
    utf16.extend(text.encode_utf16().flat_map(|u| u.to_le_bytes()));
    let mut bom = vec![0xEF, 0xBB, 0xBF];
    bom.extend(text.as_bytes());
    for (name, bytes) in [("utf16.json", utf16), ("bom.json", bom)] {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let (code, out, err) = run(
            &[
                "scp",
                "check",
                "--policy",
                p.to_str().unwrap(),
                "--principal",
                SESSION,
                "--action",
                "s3:PutBucketPublicAccessBlock",
                "--resource",
                "arn:aws:s3:::b",
            ],
            None,
        );
        assert_eq!(code, 3, "{name}: {err}");
        assert!(
            out.contains("DenyS3PublicAccessBlockChanges"),
            "{name}: {out}"
        );
    }
}

/// A Principal in a declared SCP, a Version AWS does not accept, a principal that is no ARN: bad input, not a
/// verdict.
#[test]
fn scp_input_aws_would_refuse_is_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, v: serde_json::Value| {
        let p = dir.path().join(name);
        std::fs::write(&p, v.to_string()).unwrap();
        p.display().to_string()
    };
    let doc = |extra: serde_json::Value| {
        let mut st = serde_json::json!({"Effect": "Deny", "Action": "s3:*", "Resource": "*"});
        for (k, v) in extra.as_object().unwrap() {
            st[k] = v.clone();
        }
        serde_json::json!({"Version": "2012-10-17", "Statement": [st]})
    };
    let scp_with_principal = write(
        "principal.json",
        serde_json::json!({"Policy": {"PolicySummary": {"Id": "p-1", "Type": "SERVICE_CONTROL_POLICY"},
            "Content": doc(serde_json::json!({"Principal": "*"})).to_string()}}),
    );
    let mut future = doc(serde_json::json!({}));
    future["Version"] = serde_json::json!("2099-01-01");
    let future = write("future.json", future);
    let ok = write("ok.json", doc(serde_json::json!({})));
    for (policy, principal, needle) in [
        (
            &scp_with_principal,
            SESSION,
            "an SCP cannot name a Principal",
        ),
        (&future, SESSION, "Version must be"),
        (&ok, "", "is not a principal ARN"),
        (&ok, "not-an-arn", "is not a principal ARN"),
    ] {
        let (code, _, err) = run(
            &[
                "scp",
                "check",
                "--policy",
                policy,
                "--principal",
                principal,
                "--action",
                "s3:GetObject",
                "--resource",
                "arn:aws:s3:::b",
            ],
            None,
        );
        assert_eq!(code, 1, "{needle}: {err}");
        assert!(err.contains(needle), "{err}");
    }
}

/// The SCP parser's duplicate-key check was quadratic (80,000 keys in one object: 54 s).
#[test]
fn duplicate_keys_are_found_in_objects_of_any_size() {
    let mut obj = serde_json::Map::new();
    for i in 0..80_000 {
        obj.insert(format!("k{i}"), serde_json::json!(i));
    }
    let mut text = serde_json::json!({"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"StringEquals": obj}}]}).to_string();
    // One key twice, at the very end.
    text = text.replacen("\"k79999\":79999", "\"k79999\":79999,\"k0\":1", 1);
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("wide.json");
    std::fs::write(&p, text).unwrap();
    let (code, _, err) = run(
        &[
            "scp",
            "check",
            "--policy",
            p.to_str().unwrap(),
            "--principal",
            SESSION,
            "--action",
            "s3:GetObject",
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("duplicate JSON key") && err.contains("k0"),
        "{err}"
    );
}

/// JSON output carried raw C1 controls and bidi overrides; DOT turned a literal `\n` into a line break.
#[test]
fn control_characters_never_reach_a_terminal_in_any_format() {
    let f = "tests/fixtures/control-characters-in-messages.json";
    let (_, json, _) = run(&["diagnose", "--format", "json", f], None);
    assert!(!json.contains('\u{9b}') && !json.contains('\u{202e}') && !json.contains('\u{2066}'));
    assert!(
        json.contains("\\u009b") && json.contains("\\u202e"),
        "escaped, not lost: {json}"
    );
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert!(v["failures"][0]["message"]
        .as_str()
        .unwrap()
        .contains('\u{202e}'));
    for format in ["table", "markdown", "mermaid", "dot"] {
        let (_, out, _) = run(&["diagnose", "--format", format, f], None);
        assert!(
            !out.contains('\u{9b}') && !out.contains('\u{202e}'),
            "{format}"
        );
    }
    let (_, dot, _) = run(&["diagnose", "--format", "dot", f], None);
    assert!(dot.contains("C:\\\\new\\\\Bucket"), "{dot}");
}

/// A FIFO without a writer blocked forever; `/dev/zero` grew until memory ran out.
#[cfg(unix)]
#[test]
fn unbounded_and_unwritten_inputs_end_with_an_error() {
    let (code, _, err) = run(&["diagnose", "/dev/zero", "--max-input-size", "1M"], None);
    assert_eq!(code, 1);
    assert!(
        err.contains("larger than the input limit of 1 MiB"),
        "{err}"
    );
    // A FIFO inside a folder is skipped with a warning (reading it could block).
    let dir = tempfile::tempdir().unwrap();
    std::fs::copy(
        "samples/encodings/stack-events-utf8-bom.json",
        dir.path().join("events.json"),
    )
    .unwrap();
    let fifo = dir.path().join("pipe");
    assert!(std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());
    let (code, _, err) = run(&["diagnose", dir.path().to_str().unwrap()], None);
    assert_eq!(code, 3, "{err}");
    assert!(
        err.contains("pipe: skipped: a FIFO, not a regular file"),
        "{err}"
    );
    // Process substitution (a pipe with a writer) is read as any file.
    let out = std::process::Command::new("bash")
        .arg("-c")
        .arg("exec \"$0\" diagnose <(cat samples/encodings/stack-events-utf8-bom.json)")
        .arg(env!("CARGO_BIN_EXE_stackset-doctor"))
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `--rules DIR` ignored symlinked rule files (a folder mounted from a Kubernetes ConfigMap is all links).
#[cfg(unix)]
#[test]
fn rules_folders_of_symlinks_load_as_a_configmap_mounts_them() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("..2026_12_01_00_00_00.1");
    std::fs::create_dir(&data).unwrap();
    let rule = r#"id = "frobnicator-flux"
title = "The frobnicator is out of flux"
category = "other"
role = "root"
pattern = '''frobnicator is out of flux'''
explanation = '''It ran out.'''
remediation = '''Refill it.'''
[[examples]]
message = '''The frobnicator is out of flux capacitance'''
"#;
    std::fs::write(data.join("frobnicator-flux.toml"), rule).unwrap();
    std::os::unix::fs::symlink(&data, dir.path().join("..data")).unwrap();
    std::os::unix::fs::symlink(
        "..data/frobnicator-flux.toml",
        dir.path().join("frobnicator-flux.toml"),
    )
    .unwrap();
    let (code, out, err) = run(
        &[
            "explain",
            "--rules",
            dir.path().to_str().unwrap(),
            "The frobnicator is out of flux capacitance",
        ],
        None,
    );
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("frobnicator-flux"), "{out}");
}

/// A 10 MB policy name once came back 17 times in 168 MB of `scp fix` output: a name AWS would never give is bad
/// input.
#[test]
fn absurdly_long_policy_names_are_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let content = std::fs::read_to_string("samples/quicksetup-scp-deny/scp.json").unwrap();
    let mut v: serde_json::Value = serde_json::from_str(&content).unwrap();
    v["Policy"]["PolicySummary"]["Name"] = serde_json::json!("N".repeat(10 << 20));
    let p = dir.path().join("long-name.json");
    std::fs::write(&p, v.to_string()).unwrap();
    let (code, out, err) = run(
        &[
            "scp",
            "fix",
            "--policy",
            p.to_str().unwrap(),
            "--principal",
            SESSION,
            "--action",
            "s3:PutBucketPublicAccessBlock",
        ],
        None,
    );
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("its Name is 10485760 characters long"),
        "{}",
        &err[..err.len().min(300)]
    );
    assert!(out.len() + err.len() < 4096);
}
