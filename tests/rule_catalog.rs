//! The rule catalog as a whole: every example passes, ids are stable, the vocabulary is covered.

use stackset_doctor::classify::{ruletest, Catalog};
use stackset_doctor::vocabulary::Category;

#[test]
fn every_rule_example_and_counter_example_passes() {
    let catalog = Catalog::builtin().expect("catalog");
    let t = ruletest::run(&catalog);
    assert!(t.ok(), "rule examples failing:\n{}", t.failed.join("\n"));
    assert!(t.passed >= 2 * catalog.rules.len());
}

/// Every category but `other` (what no rule knows) has a rule.
#[test]
fn every_category_has_a_rule() {
    let catalog = Catalog::builtin().unwrap();
    for c in Category::ALL.into_iter().filter(|&c| c != Category::Other) {
        assert!(
            catalog.rules.iter().any(|r| r.category == c),
            "no rule for category {c}"
        );
    }
}

/// A rename or removal shows up in review: ids are stable and never reused.
#[test]
fn rule_ids_are_stable() {
    let catalog = Catalog::builtin().unwrap();
    let ids: Vec<&str> = catalog.rules.iter().map(|r| r.id.as_str()).collect();
    insta::assert_snapshot!("rule-ids", ids.join("\n"));
}

#[test]
fn every_rule_has_examples_counter_examples_and_sources() {
    for r in &Catalog::builtin().unwrap().rules {
        assert!(
            !r.examples.is_empty() || r.may_lack_examples(),
            "{} has no example",
            r.id
        );
        assert!(
            !r.counter_examples.is_empty(),
            "{} has no counter-example",
            r.id
        );
        for ex in &r.examples {
            assert!(
                ex.source.as_deref().is_some_and(|s| !s.is_empty()),
                "{}: an example has no source",
                r.id
            );
        }
    }
}

#[test]
fn unknown_messages_are_other_and_unknown_never_forced() {
    let catalog = Catalog::builtin().unwrap();
    for m in ["The frobnicator is out of flux capacitance", "", "✓✓✓"] {
        let u = stackset_doctor::classify::unwrap::unwrap(m);
        let c = stackset_doctor::classify::classify_unwrapped(&catalog, &u, None, None);
        assert_eq!(c.rule, None, "{m:?} was classified as {:?}", c.rule);
        assert_eq!(c.category.as_str(), "other");
        assert_eq!(c.role.as_str(), "unknown");
    }
}

/// rules/README.md is generated; regenerate with `cargo run -- rules doc > rules/README.md`.
#[test]
fn catalog_page_is_up_to_date() {
    let want = stackset_doctor::classify::rules::catalog_markdown(&Catalog::builtin().unwrap());
    let have = std::fs::read_to_string("rules/README.md").unwrap_or_default();
    assert!(
        have == want,
        "rules/README.md is stale: run `cargo run -- rules doc > rules/README.md`"
    );
}

fn write_rule(dir: &std::path::Path, id: &str, body: &str) {
    std::fs::write(
        dir.join(format!("{id}.toml")),
        format!("id = \"{id}\"\n{body}"),
    )
    .unwrap();
}

/// A rule can apply only under a handler error code, and a rule can mark a message as no failure at all.
#[test]
fn handler_error_code_filters_and_benign_rules() {
    let dir = tempfile::tempdir().unwrap();
    write_rule(
        dir.path(),
        "test-code-catch-all",
        "title = \"t\"\ncategory = \"stabilization-timeout\"\nrole = \"root\"\npriority = 1\npattern = '''(?s).+'''\n\
         handler_error_codes = [\"ZzTestCode\"]\nexplanation = '''x'''\nremediation = '''y'''\n",
    );
    write_rule(
        dir.path(),
        "test-benign",
        "title = \"t\"\ncategory = \"other\"\nrole = \"benign\"\npriority = 99\npattern = '''^Zzz quiet'''\n\
         explanation = '''x'''\nremediation = '''y'''\n",
    );
    let catalog = Catalog::load(Some(dir.path())).unwrap();
    let classify = |m: &str| {
        let u = stackset_doctor::classify::unwrap::unwrap(m);
        stackset_doctor::classify::classify_unwrapped(&catalog, &u, None, None)
    };
    let with_code = classify(
        r#"Resource handler returned message: "Qwerty plugh" (RequestToken: t, HandlerErrorCode: ZzTestCode)"#,
    );
    assert_eq!(with_code.rule.as_deref(), Some("test-code-catch-all"));
    let other_code = classify(
        r#"Resource handler returned message: "Qwerty plugh" (RequestToken: t, HandlerErrorCode: InvalidRequest)"#,
    );
    assert_ne!(other_code.rule.as_deref(), Some("test-code-catch-all"));

    let mut ev = stackset_doctor::evidence::Evidence::default();
    for (i, reason) in [
        "Zzz quiet cleanup",
        "The frobnicator is out of flux capacitance",
    ]
    .iter()
    .enumerate()
    {
        ev.stack_events.push(stackset_doctor::evidence::StackEvent {
            stack_id: "arn:aws:cloudformation:us-east-1:111122223333:stack/app/1".into(),
            stack_name: "app".into(),
            account: Some("111122223333".into()),
            region: Some("us-east-1".into()),
            logical_id: Some(format!("R{i}")),
            resource_type: Some("AWS::SQS::Queue".into()),
            timestamp: chrono::DateTime::from_timestamp(1_741_583_520 + i as i64, 0).unwrap(),
            status: "DELETE_FAILED".into(),
            status_reason: Some((*reason).into()),
            ..Default::default()
        });
    }
    let d = stackset_doctor::diagnose(&ev, &catalog, Vec::new());
    assert_eq!(d.failures.len(), 1, "the benign sighting is left out");
    assert!(d.notes.iter().any(|n| n.starts_with("1 ")));
}
