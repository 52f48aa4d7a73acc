//! CloudTrail: saved `lookup-events` output and trail log files as input, the matching of events to failures, the
//! enrichment that lets a more specific CloudTrail message decide, and what the report says was looked for.
//! `tests/fixtures/cloudtrail/` was written from the CloudTrail record format AWS documents (its README).

use std::path::PathBuf;

use stackset_doctor::collect::load_paths;

fn load(files: &[&str]) -> stackset_doctor::collect::Loaded {
    let paths: Vec<PathBuf> = files.iter().map(PathBuf::from).collect();
    load_paths(&paths).expect("loads")
}

#[test]
fn lookup_events_are_read_record_by_record_and_only_errors_are_kept() {
    let l = load(&["tests/fixtures/cloudtrail/lookup-events.json"]);
    let e = &l.evidence;
    // Five elements: two with an error, one without (read, not kept), two that cannot be read.
    let ids: Vec<&str> = e.trail_events.iter().map(|t| t.event_id.as_str()).collect();
    assert_eq!(
        ids,
        [
            "0a1b2c3d-0000-4000-8000-000000000001",
            "0a1b2c3d-0000-4000-8000-000000000003"
        ]
    );
    assert_eq!(e.trail_events_read, 3);
    let iam = &e.trail_events[0];
    assert_eq!(iam.event_source, "iam.amazonaws.com");
    assert_eq!(iam.region.as_deref(), Some("us-east-1"));
    assert_eq!(iam.account.as_deref(), Some("555566667777"));
    assert_eq!(iam.error_code.as_deref(), Some("AccessDenied"));
    assert_eq!(
        iam.session_issuer_arn.as_deref(),
        Some("arn:aws:iam::555566667777:role/AWSCloudFormationStackSetExecutionRole")
    );
    assert_eq!(
        iam.invoked_by.as_deref(),
        Some("cloudformation.amazonaws.com")
    );
    // Resources[] names, then the string values of requestParameters (bounded, no policy text over the limit).
    assert!(
        iam.resources.iter().any(|r| r == "app-runtime"),
        "{:?}",
        iam.resources
    );
    assert_eq!(
        iam.source.as_ref().map(|s| s.pointer.as_str()),
        Some("/Events/0")
    );
    let sns = &e.trail_events[1];
    assert!(sns
        .resources
        .iter()
        .any(|r| r == "arn:aws:sns:us-west-2:555566667777:bad topic"));
    // The two unreadable records are coverage notes with their place; the NextToken one more.
    let cov: Vec<String> = e
        .coverage
        .iter()
        .map(|c| format!("{} {}", c.scope, c.reason))
        .collect();
    assert!(
        cov.iter()
            .any(|c| c.contains("/Events/1") && c.contains("not a CloudTrail record")),
        "{cov:#?}"
    );
    assert!(
        cov.iter()
            .any(|c| c.contains("/Events/3") && c.contains("no CloudTrailEvent")),
        "{cov:#?}"
    );
    assert!(cov.iter().any(|c| c.contains("NextToken")), "{cov:#?}");
    assert!(
        cov.iter()
            .all(|c| c.starts_with("tests/fixtures/cloudtrail/lookup-events.json")),
        "{cov:#?}"
    );
    // The file is a search of each account and Region it has events of; cut short by its NextToken.
    let places: Vec<(String, String, usize, bool)> = e
        .trail_lookups
        .iter()
        .map(|l| (l.account.clone(), l.region.clone(), l.events, l.complete))
        .collect();
    assert_eq!(
        places,
        [
            ("555566667777".into(), "us-east-1".into(), 1, false),
            ("555566667777".into(), "us-west-2".into(), 1, false)
        ]
    );
}

#[test]
fn a_trail_log_file_is_its_records() {
    let l = load(&["tests/fixtures/cloudtrail/log-file.json"]);
    let e = &l.evidence;
    assert_eq!(e.trail_events.len(), 1);
    assert_eq!(e.trail_events[0].event_name, "PutBucketTagging");
    assert_eq!(
        e.trail_events[0].resources[0],
        "arn:aws:s3:::app-assets-555566667777"
    );
    assert_eq!(e.trail_events_read, 2);
    assert!(
        e.coverage
            .iter()
            .any(|c| c.reason.contains("/Records/1") && c.reason.contains("eventName")),
        "{:?}",
        e.coverage
    );
    assert!(e.trail_lookups.iter().all(|l| l.complete));
}

#[test]
fn bare_lookup_events_of_a_query_are_recognised() {
    let l = load(&["tests/fixtures/cloudtrail/query-events.json"]);
    assert_eq!(l.evidence.trail_events.len(), 1);
    assert_eq!(l.evidence.trail_events[0].event_name, "CreateTopic");
}

#[test]
fn the_bundle_keeps_the_trail_events() {
    let l = load(&["tests/fixtures/cloudtrail/lookup-events.json"]);
    let bundle = stackset_doctor::evidence::Bundle::new(l.evidence.clone(), None);
    let text = serde_json::to_string(&bundle).unwrap();
    let back = stackset_doctor::collect::load_bytes_as("bundle.json", text.as_bytes()).unwrap();
    assert_eq!(
        back.evidence.trail_events.len(),
        l.evidence.trail_events.len()
    );
    assert_eq!(
        back.evidence.trail_events_read,
        l.evidence.trail_events_read
    );
    assert!(!back.evidence.trail_events.is_empty());
}
