//! Broken inputs: each gets a clear error naming the file (and position where there is one), exit code 1 (2
//! when given as an EventBridge event, `--event`), and never a panic.

use crate::common::run;

fn assert_error(args: &[&str], needles: &[&str]) {
    let (code, out, err) = run(args, None);
    assert_eq!(
        code, 1,
        "{args:?}: exit {code}\nstdout: {out}\nstderr: {err}"
    );
    assert!(!err.contains("panicked"), "{args:?} panicked: {err}");
    for n in needles {
        assert!(err.contains(n), "{args:?}: stderr lacks {n:?}: {err}");
    }
}

#[test]
fn malformed_json_names_file_line_and_column() {
    let (_, _, err) = run(&["diagnose", "samples/invalid/malformed.json"], None);
    assert!(
        regex::Regex::new(r"samples/invalid/malformed\.json:\d+:\d+: malformed JSON")
            .unwrap()
            .is_match(&err),
        "{err}"
    );
    assert_error(
        &["diagnose", "samples/invalid/malformed.json"],
        &["malformed JSON"],
    );
}

#[test]
fn unknown_shape_named_on_the_command_line_is_an_error() {
    assert_error(
        &["diagnose", "samples/invalid/unknown-shape.json"],
        &["unknown-shape.json", "not a recognised input"],
    );
}

#[test]
fn garbage_bytes_and_empty_files_are_errors() {
    assert_error(
        &["diagnose", "samples/invalid/garbage.bin"],
        &["garbage.bin"],
    );
    assert_error(
        &["diagnose", "samples/invalid/empty.json"],
        &["empty.json", "empty file"],
    );
}

/// Every broken input, given as an EventBridge event, is a usage error naming the file: never a panic, never a
/// collection (docs/eventbridge.md#what-is-refused); and an event given as a PATH says to use --event.
#[test]
fn broken_inputs_as_events_are_usage_errors_naming_the_file() {
    let mut seen = 0;
    for e in std::fs::read_dir("samples/invalid").expect("samples/invalid") {
        let p = e.expect("entry").path();
        if !p.is_file() {
            continue;
        }
        let path = p.to_str().expect("utf-8");
        let (code, out, err) = run(&["diagnose", "--event", path], None);
        assert_eq!(code, 2, "{path}: {err}");
        assert!(out.is_empty(), "{path}: {out}");
        assert!(
            err.contains(path) && !err.contains("panicked"),
            "{path}: {err}"
        );
        seen += 1;
    }
    assert!(seen >= 6, "{seen}");
    assert_error(
        &["diagnose", "samples/events/operation-failed.json"],
        &[
            "operation-failed.json",
            "an EventBridge event",
            "--event FILE",
        ],
    );
}

#[test]
fn wrong_types_and_bad_timestamps_name_the_position() {
    assert_error(
        &["diagnose", "samples/invalid/wrong-types.json"],
        &["wrong-types.json:2:", "StackEvents: invalid type"],
    );
    // One record that cannot be used is a warning naming its file, line, column and JSON path; the records
    // beside it are diagnosed.
    let (code, out, err) = run(
        &[
            "diagnose",
            "--format",
            "json",
            "samples/invalid/bad-timestamp.json",
        ],
        None,
    );
    assert!(code == 3 || code == 4, "exit {code}: {err}");
    assert!(
        err.contains(
            "bad-timestamp.json:35:9: /StackEvents/3: Timestamp: invalid timestamp \"yesterday\""
        ) && err.contains("the record was skipped"),
        "{err}"
    );
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert!(v["summary"]["failures"].as_u64().unwrap() >= 1, "{out}");
    let coverage = v["coverage"].to_string();
    assert!(coverage.contains("/StackEvents/3"), "{coverage}");
}

#[test]
fn unreadable_paths_are_errors() {
    assert_error(
        &["diagnose", "samples/does-not-exist"],
        &["samples/does-not-exist", "cannot read"],
    );
}

#[test]
fn broken_rule_files_are_rejected_with_file_and_reason() {
    let cases = [
        ("bad-toml", "bad-toml.toml:3"),
        ("bad-regex", "pattern does not compile"),
        ("unknown-placeholder", "{nonexistent}"),
        ("duplicate-id", "duplicate rule id"),
        ("id-mismatch", "does not match the file name"),
        ("unknown-key", "unknown field"),
    ];
    for (dir, needle) in cases {
        let path = format!("samples/invalid/rules/{dir}");
        assert_error(
            &["diagnose", "--rules", &path, "samples/quicksetup-scp-deny"],
            &[needle, "rule file"],
        );
        assert_error(&["rules", "test", &path], &[needle]);
    }
}

#[test]
fn other_encodings_read_the_same_as_utf8() {
    let (c1, plain, _) = run(
        &[
            "diagnose",
            "--format",
            "json",
            "samples/encodings/stack-events-utf8-bom.json",
        ],
        None,
    );
    let (c2, utf16, _) = run(
        &[
            "diagnose",
            "--format",
            "json",
            "samples/encodings/stack-events-utf16le.json",
        ],
        None,
    );
    assert_eq!((c1, c2), (3, 3));
    let strip = |s: &str| -> serde_json::Value {
        let mut v: serde_json::Value = serde_json::from_str(s).unwrap();
        for f in v["failures"].as_array_mut().unwrap() {
            f["sources"] = serde_json::Value::Null;
        }
        v
    };
    assert_eq!(strip(&plain)["failures"], strip(&utf16)["failures"]);
}
