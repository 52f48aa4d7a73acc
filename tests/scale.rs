//! The synthetic organisation (examples/generate): the engine finds the shared root cause among
//! independent failures, and the terminal report stays readable at scale.

use stackset_doctor::report::Format;
use stackset_doctor::vocabulary::Category;

use crate::common::{diagnose, render};

#[test]
fn synthetic_organisation_is_diagnosed_and_summarised() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = crate::synth::SynthConfig {
        accounts: 700,
        ..Default::default()
    };
    let stats = crate::synth::generate(&cfg, dir.path()).unwrap();
    assert_eq!(stats.stacks, 700 * 2 * 3 + 1);
    let d = diagnose(&[dir.path().to_str().unwrap()]);
    let top = &d.root_causes[0];
    let f = &d.failures[top.failure];
    assert_eq!(
        (f.class.category, f.logical_id.as_deref()),
        (Category::ScpDeny, Some("DiagnosisBucket"))
    );
    assert_eq!(f.account.as_deref(), Some(crate::synth::ADMIN));
    // Every TA failure hangs off the deny; the independent failures are root causes of their own.
    for x in &d.failures {
        if x.stack_set.as_deref().is_some_and(|s| s.contains("-TA-")) {
            assert!(top.explains.contains(&x.id), "{} not explained", x.id);
        }
    }
    let independent: Vec<_> = d.root_causes[1..]
        .iter()
        .map(|r| d.failures[r.failure].class.category)
        .collect();
    assert!(
        independent
            .iter()
            .all(|c| matches!(c, Category::AlreadyExists | Category::LimitExceeded)),
        "{independent:?}"
    );
    assert!(d.all_explained());

    let table = render(&d, Format::Table);
    assert!(
        table.contains("FAILURES BY KIND"),
        "a large evidence set is summarised"
    );
    assert!(
        table.contains("alike)"),
        "alike independent root causes are grouped"
    );
    // Alike root causes and failures are grouped, so the length follows the kinds of failure, not the 700
    // accounts: three groups with chain, fix and links, the kinds table and the closing block.
    assert!(
        table.lines().count() < 250,
        "the report stays short: {} lines",
        table.lines().count()
    );
}

/// A stack where thousands of resources are cancelled after one failure: every cancellation is explained by
/// that failure, and linking stays linear (this once took minutes: each cancellation linked to every failure).
#[test]
fn thousands_of_cancellations_in_one_stack() {
    let dir = tempfile::tempdir().unwrap();
    let n = 3000;
    let mut events = Vec::new();
    for i in 0..n {
        let (reason, t) = if i == 0 {
            ("Resource handler returned message: \"acme-logs already exists\" (RequestToken: t, HandlerErrorCode: AlreadyExists)", 0)
        } else {
            ("Resource creation cancelled", 1)
        };
        events.push(serde_json::json!({
            "StackId": "arn:aws:cloudformation:us-east-1:111122223333:stack/big/1", "EventId": format!("e{i}"),
            "StackName": "big", "LogicalResourceId": format!("R{i}"), "PhysicalResourceId": "",
            "ResourceType": "AWS::SQS::Queue", "Timestamp": format!("2025-03-10T05:12:0{t}.000000+00:00"),
            "ResourceStatus": "CREATE_FAILED", "ResourceStatusReason": reason
        }));
    }
    let path = dir.path().join("events.json");
    std::fs::write(
        &path,
        serde_json::to_vec(&serde_json::json!({"StackEvents": events})).unwrap(),
    )
    .unwrap();
    let d = diagnose(&[path.to_str().unwrap()]);
    assert_eq!(d.failures.len(), n);
    assert_eq!(d.root_causes.len(), 1);
    assert_eq!(d.root_causes[0].explains.len(), n - 1);
}

/// Thousands of instances cancelled by failure tolerance in one operation all hang off the failure that
/// stopped it (the operation's causes are computed once, not once per cancellation).
#[test]
fn thousands_of_failure_tolerance_cancellations() {
    use stackset_doctor::evidence::{Evidence, OperationResult};
    let mut ev = Evidence::default();
    let result = |i: usize, status: &str, reason: &str| OperationResult {
        stack_set: Some("org-baseline".into()),
        operation_id: Some("op-1".into()),
        account: format!("{:012}", 300_000_000_000u64 + i as u64),
        region: "us-east-1".into(),
        status: status.into(),
        status_reason: Some(reason.into()),
        ..Default::default()
    };
    ev.operation_results.push(result(0, "FAILED", "Account 300000000000 should have 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'."));
    for i in 1..5000 {
        ev.operation_results.push(result(
            i,
            "CANCELLED",
            "Cancelled since failure tolerance has exceeded",
        ));
    }
    let d = stackset_doctor::diagnose(
        &ev,
        &stackset_doctor::classify::Catalog::builtin().unwrap(),
        Vec::new(),
    );
    assert_eq!(d.root_causes.len(), 1);
    assert_eq!(
        d.failures[d.root_causes[0].failure].class.category,
        Category::StacksetExecutionRole
    );
    assert_eq!(d.root_causes[0].explains.len(), 4999);
}

/// The rollout shape as saved CLI files (the generator's `--tolerance`): read, linked and reported linearly.
#[test]
fn tolerance_rollout_from_saved_cli_output() {
    let dir = tempfile::tempdir().unwrap();
    let stats = crate::synth::tolerance_shape(2000, 20, dir.path()).unwrap();
    assert_eq!(stats.failed_stacks, 100);
    let d = diagnose(&[dir.path().to_str().unwrap()]);
    // 2,000 instances (each seen as a result and an instance, merged) and the operation.
    assert_eq!(d.failures.len(), 2001);
    assert_eq!(d.root_causes.len(), 100);
    assert_eq!(d.links.len(), 1900 + 100);
    assert!(d
        .root_causes
        .iter()
        .all(|r| d.failures[r.failure].class.category == Category::ScpDeny));
}

/// The 1k-account organisation draws as a small diagram: alike failures across accounts collapse (docs/diagrams.md),
/// nothing is left out by the last bound, and the Mermaid text stays under Mermaid's default size limit.
#[test]
fn organisation_diagram_collapses_to_a_few_nodes() {
    use stackset_doctor::report::graph_view::{View, MAX_NODES};
    use stackset_doctor::report::{Options, Report};
    let d = crate::common::diagnose_organisation(1000);
    let report = Report::new(&d);
    let view = View::new(&report, &Options::default());
    assert!(
        report.failures.len() > 100,
        "{} failures",
        report.failures.len()
    );
    assert!(view.nodes.len() < 60, "{} nodes", view.nodes.len());
    assert!(view.nodes.len() < MAX_NODES && view.left_out.is_none());
    assert_eq!(view.failures_shown(), report.failures.len());
    // The SCP deny stays a node of its own; the TA failures it explains are one node over many accounts.
    let deny = view
        .nodes
        .iter()
        .find(|n| n.is_root() && n.members[0].category == "scp-deny")
        .expect("the deny is drawn");
    assert_eq!(deny.members.len(), 1);
    assert!(view
        .nodes
        .iter()
        .any(|n| n.accounts().len() > 10 && n.stack_set().is_some_and(|s| s.contains("-TA-"))));

    let mermaid = render(&d, Format::Mermaid);
    let drawn = mermaid
        .lines()
        .filter(|l| {
            let l = l.trim_start();
            l.starts_with('F') && l.contains("[\"")
        })
        .count();
    assert_eq!(drawn, view.nodes.len());
    assert!(mermaid.len() < 50_000, "{} characters", mermaid.len());
    let dot = render(&d, Format::Dot);
    let failure_lines: Vec<&str> = dot
        .lines()
        .map(str::trim_start)
        .filter(|l| l.starts_with("\"F"))
        .collect();
    let edges = failure_lines.iter().filter(|l| l.contains(" -> ")).count();
    assert_eq!(failure_lines.len() - edges, view.nodes.len());
    assert_eq!(edges, view.edges.len());
}
