//! Every scenario under samples/ is a snapshot test of every output format.

use stackset_doctor::report::Format;

use crate::common::{diagnose, render};

use crate::common::scenarios;

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
            (Format::Html, "html"),
            (Format::Mermaid, "mermaid"),
            (Format::Dot, "dot"),
        ] {
            insta::assert_snapshot!(format!("{name}.{ext}"), render(&d, fmt));
        }
        // The terminal report at the widths of a narrow and a wide terminal (the above is the piped default).
        for width in [80, 120] {
            let opts = stackset_doctor::report::Options::piped().with_width(width);
            insta::assert_snapshot!(
                format!("{name}.table-{width}"),
                crate::common::render_with(&d, Format::Table, opts)
            );
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
        .filter(|f| f.class.category.as_str() == "cancelled-cascade")
        .collect();
    assert!(cancelled.len() >= 2);
    for f in cancelled {
        assert!(rc.explains.contains(&f.id));
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
    let d = stackset_doctor::diagnose(
        &ev,
        &stackset_doctor::classify::Catalog::builtin().unwrap(),
        Vec::new(),
    );
    let md = render(&d, Format::Markdown);
    assert!(!md.contains("<script>"));
    assert!(md.contains("&lt;script&gt;"));
    let table = render(&d, Format::Table);
    assert!(!table.contains('\u{1b}'));
}

/// A nested stack whose resources were all cancelled is explained through its parent's resource for it.
#[test]
fn cancelled_nested_stacks_link_through_their_parent() {
    let dir = tempfile::tempdir().unwrap();
    let ev = |stack: &str,
              id: &str,
              logical: &str,
              rtype: &str,
              phys: &str,
              t: u32,
              reason: &str| {
        serde_json::json!({
            "StackId": format!("arn:aws:cloudformation:eu-west-1:444455556666:stack/{stack}/{id}"), "EventId": format!("{logical}{t}"),
            "StackName": stack, "LogicalResourceId": logical, "PhysicalResourceId": phys, "ResourceType": rtype,
            "Timestamp": format!("2025-03-10T05:12:{t:02}.000000+00:00"), "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": reason
        })
    };
    let child_a = "arn:aws:cloudformation:eu-west-1:444455556666:stack/parent-ChildA/a1";
    let child_b = "arn:aws:cloudformation:eu-west-1:444455556666:stack/parent-ChildB/b1";
    let parent = serde_json::json!({"StackEvents": [
        ev("parent", "p1", "ChildA", "AWS::CloudFormation::Stack", child_a, 10, &format!("Embedded stack {child_a} was not successfully created: The following resource(s) failed to create: [Queue].")),
        ev("parent", "p1", "ChildB", "AWS::CloudFormation::Stack", child_b, 11, "Resource creation cancelled"),
    ]});
    let a = serde_json::json!({"StackEvents": [ev("parent-ChildA", "a1", "Queue", "AWS::SQS::Queue", "", 5, "Resource handler returned message: \"User: arn:aws:sts::444455556666:assumed-role/deployer/s is not authorized to perform: sqs:createqueue on resource: arn:aws:sqs:eu-west-1:444455556666:q because no identity-based policy allows the sqs:createqueue action\" (RequestToken: t, HandlerErrorCode: AccessDenied)")]});
    let b = serde_json::json!({"StackEvents": [ev("parent-ChildB", "b1", "Fn", "AWS::Lambda::Function", "", 12, "Resource creation cancelled")]});
    for (name, doc) in [("parent.json", parent), ("a.json", a), ("b.json", b)] {
        std::fs::write(dir.path().join(name), serde_json::to_vec(&doc).unwrap()).unwrap();
    }
    let d = diagnose(&[dir.path().to_str().unwrap()]);
    assert_eq!(d.root_causes.len(), 1, "{:#?}", d.root_causes);
    let root = &d.failures[d.root_causes[0].failure];
    assert_eq!(root.logical_id.as_deref(), Some("Queue"));
    assert_eq!(d.root_causes[0].explains.len(), d.failures.len() - 1);
}
