//! Every scenario under samples/ is a snapshot test of every output format.

use stackset_doctor::report::Format;

use crate::common::{diagnose, render};

/// Scenario folders: everything under samples/ except the broken and re-encoded inputs.
fn scenarios() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir("samples")
        .expect("samples/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| n != "invalid" && n != "encodings")
        .collect();
    v.sort();
    v
}

#[test]
fn there_are_at_least_three_scenarios() {
    assert!(scenarios().len() >= 3, "{:?}", scenarios());
}

#[test]
fn snapshots_of_every_format_for_every_scenario() {
    for name in scenarios() {
        let d = diagnose(&[&format!("samples/{name}")]);
        assert!(!d.failures.is_empty(), "{name}: no failure found");
        for (fmt, ext) in [
            (Format::Table, "table"),
            (Format::Json, "json"),
            (Format::Markdown, "md"),
            (Format::Mermaid, "mermaid"),
            (Format::Dot, "dot"),
        ] {
            insta::assert_snapshot!(format!("{name}.{ext}"), render(&d, fmt));
        }
    }
}

#[test]
fn json_report_is_the_v1_contract() {
    for name in scenarios() {
        let d = diagnose(&[&format!("samples/{name}")]);
        let v: serde_json::Value = serde_json::from_str(&render(&d, Format::Json)).unwrap();
        assert_eq!(v["schema"], "stackset-doctor/report/v1");
        for key in ["summary", "root_causes", "failures"] {
            assert!(v.get(key).is_some(), "{name}: missing {key}");
        }
        for f in v["failures"].as_array().unwrap() {
            for key in [
                "id",
                "stack_set",
                "account",
                "region",
                "logical_id",
                "resource_type",
                "status",
                "message",
                "rule",
                "category",
                "role",
                "caused_by",
                "sources",
            ] {
                assert!(f.get(key).is_some(), "{name}: failure without {key}");
            }
            assert!(f["role"] == "root" || f["role"] == "consequence");
        }
        for r in v["root_causes"].as_array().unwrap() {
            for key in [
                "failure",
                "rule",
                "category",
                "stack_set",
                "account",
                "region",
                "logical_id",
                "resource_type",
                "message",
                "fields",
                "explains",
                "confidence",
                "remediation",
            ] {
                assert!(r.get(key).is_some(), "{name}: root cause without {key}");
            }
            assert!(r["remediation"]["summary"].is_string());
            assert!(r["remediation"]["steps"].is_array());
        }
    }
}

#[test]
fn self_managed_missing_execution_role_is_its_own_root_cause() {
    let d = diagnose(&["samples/self-managed-exec-role-missing"]);
    assert!(!d.root_causes.is_empty());
    for rc in &d.root_causes {
        let f = &d.failures[rc.failure];
        assert_eq!(
            f.class.category.as_str(),
            "stackset-execution-role",
            "{:?}",
            f.message
        );
        assert_eq!(f.account.as_deref(), Some("444444444444"));
    }
}

#[test]
fn already_exists_bucket_explains_its_cancelled_siblings() {
    let d = diagnose(&["samples/bucket-already-exists"]);
    assert_eq!(d.root_causes.len(), 1);
    let rc = &d.root_causes[0];
    let f = &d.failures[rc.failure];
    assert_eq!(f.class.category.as_str(), "already-exists");
    assert_eq!(f.logical_id.as_deref(), Some("LogsBucket"));
    let cancelled: Vec<_> = d
        .failures
        .iter()
        .enumerate()
        .filter(|(_, f)| f.class.category.as_str() == "cancelled-cascade")
        .collect();
    assert!(cancelled.len() >= 2);
    for (i, _) in cancelled {
        assert!(rc.explains.contains(&i));
    }
}

#[test]
fn markdown_escapes_what_comes_from_the_input() {
    let mut ev = stackset_doctor::collect::load_paths(&["samples/bucket-already-exists".into()])
        .unwrap()
        .evidence;
    for e in &mut ev.stack_events {
        e.logical_id = e
            .logical_id
            .as_ref()
            .map(|l| format!("{l}<script>alert(1)</script>|*x*"));
    }
    let d = stackset_doctor::diagnose(&ev, &stackset_doctor::classify::Catalog::builtin().unwrap());
    let md = render(&d, Format::Markdown);
    assert!(!md.contains("<script>"));
    assert!(md.contains("&lt;script&gt;"));
    let table = render(&d, Format::Table);
    assert!(!table.contains('\u{1b}'));
}
