//! The JSON Schemas under docs/schema/ (docs/json-contract.md): committed as the types generate them, every report
//! and bundle the tool writes validates against them, and a broken document does not.

use std::path::Path;

use serde_json::{json, Value};
use stackset_doctor::report::Format;
use stackset_doctor::schema::{self, Document};

use crate::common::{diagnose, render, run};

const REGENERATE: &str = "regenerate the committed schemas with `bash scripts/schema.sh` (it runs \
`stackset-doctor schema report > docs/schema/report-v1.schema.json` and the same for `evidence`)";

/// The committed schema of `doc`, compiled, with `format` (`date-time`) checked too.
fn validator(doc: Document) -> jsonschema::Validator {
    let text = std::fs::read_to_string(doc.committed_path())
        .unwrap_or_else(|e| panic!("{}: {e}; {REGENERATE}", doc.committed_path()));
    let schema: Value = serde_json::from_str(&text).expect("the committed schema is JSON");
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{} does not compile: {e}", doc.committed_path()))
}

/// Every way `instance` breaks the schema, with where.
fn errors(v: &jsonschema::Validator, instance: &Value) -> Vec<String> {
    v.iter_errors(instance)
        .map(|e| format!("{}: {e}", e.instance_path()))
        .collect()
}

fn assert_valid(v: &jsonschema::Validator, instance: &Value, what: &str) {
    let errs = errors(v, instance);
    assert!(
        errs.is_empty(),
        "{what} breaks its schema:\n{}",
        errs.join("\n")
    );
}

#[test]
fn committed_schemas_are_what_the_types_generate() {
    for doc in Document::ALL {
        let generated = schema::text(doc).expect("the schema generates");
        let committed = std::fs::read_to_string(doc.committed_path()).unwrap_or_default();
        assert!(
            committed == generated,
            "{} differs from what the types generate: {REGENERATE}",
            doc.committed_path()
        );
        // The subcommand prints the same bytes.
        let (code, out, err) = run(&["schema", doc.arg()], None);
        assert_eq!((code, out.as_str()), (0, generated.as_str()), "{err}");
        // A valid draft 2020-12 schema that names itself.
        let value: Value = serde_json::from_str(&generated).unwrap();
        assert!(jsonschema::meta::is_valid(&value), "{}", doc.name());
        assert_eq!(value["$id"], doc.name());
        assert_eq!(value["title"], doc.name());
        assert_eq!(value["properties"]["schema"]["const"], doc.name());
    }
}

#[test]
fn schema_subcommand_says_what_it_is_for() {
    let (code, out, _) = run(&["schema", "--help"], None);
    assert_eq!(code, 0);
    assert!(out.contains("JSON Schema"), "{out}");
    assert!(out.contains("docs/schema/report-v1.schema.json"), "{out}");
    assert_eq!(run(&["schema", "bundle"], None).0, 2);
}

/// Diagnose `path` as a user would, with `--save`: the JSON report and the bundle written, and the exit code.
fn report_and_bundle(path: &str, extra: &[&str]) -> (i32, Value, Value) {
    let dir = tempfile::tempdir().unwrap();
    let bundle = dir.path().join("bundle.json");
    let bundle_arg = bundle.to_str().unwrap();
    let mut args = vec!["diagnose", path, "--format", "json", "--save", bundle_arg];
    args.extend_from_slice(extra);
    let (code, out, err) = run(&args, None);
    if code == 1 || code == 2 {
        return (code, Value::Null, Value::Null);
    }
    let report = serde_json::from_str(&out).unwrap_or_else(|e| panic!("{path}: {e}: {err}"));
    let saved = std::fs::read_to_string(&bundle).unwrap_or_else(|e| panic!("{path}: {e}"));
    (code, report, serde_json::from_str(&saved).unwrap())
}

/// Every folder under samples/ and every file under samples/invalid/ that diagnoses (the broken ones exit 1).
#[test]
fn every_sample_report_and_bundle_validate() {
    let (report_schema, bundle_schema) =
        (validator(Document::Report), validator(Document::Evidence));
    let mut paths: Vec<String> = Vec::new();
    for dir in ["samples", "samples/invalid"] {
        for e in std::fs::read_dir(dir).unwrap().filter_map(Result::ok) {
            let p = e.path();
            // samples/events/ holds EventBridge events (`--event`), not evidence.
            if (dir == "samples") == p.is_dir() && !p.ends_with("events") {
                paths.push(p.to_string_lossy().into_owned());
            }
        }
    }
    paths.sort();
    let mut validated = Vec::new();
    for path in &paths {
        let (code, report, bundle) = report_and_bundle(path, &[]);
        if code == 1 {
            continue;
        }
        assert_valid(&report_schema, &report, &format!("{path}: the report"));
        assert_valid(
            &bundle_schema,
            &bundle,
            &format!("{path}: the saved bundle"),
        );
        assert_eq!(report["summary"]["exit_code"], code, "{path}");
        validated.push(path.clone());
    }
    // Every scenario folder (encodings included) diagnoses, and so does the edge case of a record skipped with a
    // coverage gap; the broken inputs do not, so they are no part of this.
    for e in std::fs::read_dir("samples").unwrap().filter_map(Result::ok) {
        let p = e.path().to_string_lossy().into_owned();
        if e.path().is_dir() && !p.ends_with("invalid") && !p.ends_with("events") {
            assert!(
                validated.contains(&p),
                "{p} did not diagnose: {validated:?}"
            );
        }
    }
    assert!(
        validated.iter().any(|p| p.ends_with("bad-timestamp.json")),
        "{validated:?}"
    );
    assert!(validated.len() >= 12, "{validated:?}");

    // Redacted, the same shapes.
    let (_, report, bundle) = report_and_bundle("samples/quicksetup-scp-deny", &["--redact"]);
    assert_valid(&report_schema, &report, "a redacted report");
    assert_valid(&bundle_schema, &bundle, "a redacted bundle");
    // A saved bundle read back gives a report of the same schema.
    let dir = tempfile::tempdir().unwrap();
    let saved = dir.path().join("bundle.json");
    std::fs::write(&saved, bundle.to_string()).unwrap();
    let (_, again, _) = report_and_bundle(saved.to_str().unwrap(), &[]);
    assert_valid(&report_schema, &again, "the report of a saved bundle");
}

/// No failure: the verdict's `examined`, with the last operation; then the same with a file of no known shape
/// beside it (coverage, exit 5).
#[test]
fn healthy_and_incomplete_reports_validate() {
    let report_schema = validator(Document::Report);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("app");
    std::fs::create_dir(&dir).unwrap();
    let uuid = "8c0e8d5c-2f44-4c8b-9d1e-3c1a2b3c4d5e";
    let instances = json!({"Summaries": [{
        "StackSetId": format!("app:{uuid}"), "Account": "111122223333", "Region": "us-east-1",
        "Status": "CURRENT", "StackInstanceStatus": {"DetailedStatus": "SUCCEEDED"}
    }]});
    let operations = json!({"Summaries": [{
        "OperationId": uuid, "Action": "CREATE", "Status": "SUCCEEDED",
        "CreationTimestamp": "2025-03-10T05:10:00+00:00", "EndTimestamp": "2025-03-10T05:12:00+00:00"
    }]});
    std::fs::write(dir.join("instances.json"), instances.to_string()).unwrap();
    std::fs::write(dir.join("operations.json"), operations.to_string()).unwrap();
    let path = dir.to_str().unwrap();
    let (code, report, _) = report_and_bundle(path, &[]);
    assert_eq!(code, 0, "{report}");
    assert_eq!(
        report["summary"]["examined"]["last_operation"]["operation_id"],
        uuid
    );
    assert_valid(&report_schema, &report, "a healthy report");

    std::fs::write(dir.join("other.json"), r#"{"Something": []}"#).unwrap();
    let (code, report, _) = report_and_bundle(path, &[]);
    assert_eq!(code, 5, "{report}");
    assert!(!report["coverage"].as_array().unwrap().is_empty());
    assert_valid(&report_schema, &report, "an incomplete report");
}

/// The synthetic organisation (1,000 accounts × 2 Regions; the scale tests' shape): its report and its bundle.
#[test]
fn synthetic_organisation_report_and_bundle_validate() {
    let dir = tempfile::tempdir().unwrap();
    crate::synth::generate(&crate::synth::SynthConfig::default(), dir.path()).unwrap();
    let path = dir.path().to_str().unwrap();
    let d = diagnose(&[path]);
    assert!(d.failures.len() > 100, "{}", d.failures.len());
    let report: Value = serde_json::from_str(&render(&d, Format::Json)).unwrap();
    assert_valid(
        &validator(Document::Report),
        &report,
        "the synthetic organisation's report",
    );
    let loaded = stackset_doctor::collect::load_paths(&[dir.path().to_path_buf()]).unwrap();
    let bundle = stackset_doctor::evidence::Bundle::new(loaded.evidence, None);
    let bundle = serde_json::to_value(&bundle).unwrap();
    assert_valid(
        &validator(Document::Evidence),
        &bundle,
        "the synthetic organisation's bundle",
    );
}

/// A live collection's bundle also says when it was collected and what it cost.
#[test]
fn a_live_collection_bundle_validates() {
    let loaded =
        stackset_doctor::collect::load_paths(&[Path::new("samples/quicksetup-scp-deny").into()])
            .unwrap();
    let stats = stackset_doctor::evidence::CollectionStats {
        region: "us-east-1".into(),
        caller_account: "121212121212".into(),
        calls: [("cloudformation:ListStackInstances".to_owned(), 3)].into(),
        total_calls: 3,
        attempts: 4,
        elapsed_ms: 1200,
    };
    let bundle = stackset_doctor::evidence::Bundle::new(loaded.evidence, Some(stats));
    let bundle = serde_json::to_value(&bundle).unwrap();
    assert!(bundle["collected_at"].is_string());
    assert_valid(
        &validator(Document::Evidence),
        &bundle,
        "a live collection's bundle",
    );
}

/// Set the value at a JSON pointer (its parent must exist), or remove it with `None`.
fn mutate(doc: &Value, pointer: &str, value: Option<Value>) -> Value {
    let mut doc = doc.clone();
    let (parent, key) = pointer.rsplit_once('/').unwrap();
    match doc
        .pointer_mut(parent)
        .unwrap_or_else(|| panic!("{pointer}"))
    {
        Value::Object(o) => {
            assert!(
                o.contains_key(key) || value.is_some(),
                "{pointer} is not there"
            );
            match value {
                Some(v) => o.insert(key.to_owned(), v),
                None => o.remove(key),
            };
        }
        Value::Array(a) => {
            let i: usize = key.parse().unwrap();
            match value {
                Some(v) => a[i] = v,
                None => {
                    a.remove(i);
                }
            }
        }
        other => panic!("{pointer}: {other}"),
    }
    doc
}

#[test]
fn broken_reports_are_rejected() {
    let v = validator(Document::Report);
    let (_, report, _) = report_and_bundle("samples/quicksetup-scp-deny", &[]);
    assert_valid(&v, &report, "the report before it is broken");
    let broken = [
        ("/summary/verdict", None, "a required field removed"),
        ("/failures/0/sources", None, "a required field removed"),
        (
            "/root_causes/0/remediation/summary",
            None,
            "a required field removed",
        ),
        (
            "/summary/failures",
            Some(json!("12")),
            "a count as a string",
        ),
        (
            "/failures/0/timestamp",
            Some(json!(1741583521)),
            "a timestamp as a number",
        ),
        (
            "/failures/0/timestamp",
            Some(json!("yesterday")),
            "a timestamp that is no date-time",
        ),
        (
            "/failures/0/level",
            Some(json!("galaxy")),
            "a level outside the vocabulary",
        ),
        (
            "/failures/0/category",
            Some(json!("scp-denied")),
            "a category outside the vocabulary",
        ),
        (
            "/failures/0/role",
            Some(json!("unknown")),
            "a role that is neither root nor consequence",
        ),
        (
            "/failures/0/id",
            Some(json!("X1")),
            "a failure id that is not F<n>",
        ),
        (
            "/failures/0/root_cause",
            Some(json!("F1")),
            "a root cause id that is not R<n>",
        ),
        (
            "/links/0/kind",
            Some(json!("telepathy")),
            "a link kind outside the vocabulary",
        ),
        (
            "/schema",
            Some(json!("stackset-doctor/report/v2")),
            "another schema",
        ),
        ("/tool/name", Some(json!("other-tool")), "another tool"),
    ];
    for (pointer, value, what) in broken {
        let doc = mutate(&report, pointer, value);
        assert!(
            !errors(&v, &doc).is_empty(),
            "{what} ({pointer}) was accepted"
        );
    }
    // Keys are only added within v1: a reader of this version's schema accepts a report with one more.
    let newer = mutate(&report, "/summary/added_later", Some(json!(1)));
    assert_valid(&v, &newer, "a report with a key added within v1");
}

#[test]
fn broken_bundles_are_rejected() {
    let v = validator(Document::Evidence);
    let (_, _, bundle) = report_and_bundle("samples/quicksetup-scp-deny", &[]);
    assert_valid(&v, &bundle, "the bundle before it is broken");
    let broken = [
        ("/evidence", None, "the evidence removed"),
        (
            "/evidence/stack_events/0/timestamp",
            None,
            "a required field removed",
        ),
        (
            "/evidence/stack_events/0/timestamp",
            Some(json!("yesterday")),
            "a timestamp that is no date-time",
        ),
        (
            "/evidence/stack_events/0/status",
            Some(json!(3)),
            "a status as a number",
        ),
        (
            "/evidence/stack_sets",
            Some(json!({})),
            "a list as an object",
        ),
        (
            "/evidence/stack_events/0/colour",
            Some(json!("red")),
            "a key the reader refuses",
        ),
        (
            "/schema",
            Some(json!("stackset-doctor/evidence/v0")),
            "another schema",
        ),
    ];
    for (pointer, value, what) in broken {
        let doc = mutate(&bundle, pointer, value);
        assert!(
            !errors(&v, &doc).is_empty(),
            "{what} ({pointer}) was accepted"
        );
    }
}
