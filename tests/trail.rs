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

fn diagnose_evidence(e: &stackset_doctor::evidence::Evidence) -> stackset_doctor::trace::Diagnosis {
    let catalog = stackset_doctor::classify::Catalog::builtin().expect("catalog");
    stackset_doctor::diagnose(e, &catalog, Vec::new())
}

const MEMBER: &str = "samples/member-s3-access-denied";
const DENY_EVENT: &str = "5c2e8a41-7b3d-4f9e-a1c6-0d8b2f4e6a13";

#[test]
fn a_vague_access_denied_is_decided_by_the_cloudtrail_deny_and_the_patch_is_proven() {
    let d = crate::common::diagnose(&[MEMBER]);
    assert_eq!(d.root_causes.len(), 1);
    let f = &d.failures[d.root_causes[0].failure];
    assert_eq!(f.logical_id.as_deref(), Some("LogBucket"));
    assert_eq!(f.class.category.as_str(), "scp-deny");
    assert_eq!(
        f.class.matched_by.as_deref(),
        Some("cloudtrail:scp-explicit-deny")
    );
    // The status reason stays as AWS wrote it.
    assert!(f.raw_message.contains("Access Denied (Service: Amazon S3"));
    let t = f.trail.as_ref().expect("the event is attached");
    assert_eq!(t.event_id, DENY_EVENT);
    assert!(t.decided);
    assert_eq!(
        t.status_reason_matched_by.as_deref(),
        Some("access-denied-generic")
    );
    assert!(t.matched_on.iter().any(|m| m == "resource"));
    let ex = d.root_causes[0]
        .remediation
        .scp_exemption
        .as_ref()
        .expect("an SCP exemption");
    assert!(ex.proven, "{ex:?}");
    assert_eq!(
        ex.statement.as_ref().map(|s| s.statement.as_str()),
        Some("ProtectBlockPublicAccess")
    );
    assert_eq!(
        ex.add_values,
        ["arn:aws:iam::343434343434:role/stacksets-exec-*"]
    );
}

#[test]
fn without_cloudtrail_the_access_denied_stays_what_the_status_reason_says() {
    let mut e = load(&[MEMBER]).evidence;
    e.trail_events.clear();
    e.trail_lookups.clear();
    let d = diagnose_evidence(&e);
    let f = &d.failures[d.root_causes[0].failure];
    assert_eq!(f.class.category.as_str(), "access-denied-other");
    assert!(f.trail.is_none());
    assert!(d.root_causes[0].remediation.scp_exemption.is_none());
}

#[test]
fn an_event_not_made_on_cloudformations_behalf_is_never_matched() {
    let mut e = load(&[MEMBER]).evidence;
    for t in e
        .trail_events
        .iter_mut()
        .filter(|t| t.event_id == DENY_EVENT)
    {
        t.invoked_by = None;
        t.source_ip = Some("198.51.100.24".into());
        t.principal_arn = Some("arn:aws:sts::343434343434:assumed-role/OpsReadOnly/jane".into());
        t.session_issuer_arn = Some("arn:aws:iam::343434343434:role/OpsReadOnly".into());
    }
    let d = diagnose_evidence(&e);
    let f = &d.failures[d.root_causes[0].failure];
    assert!(f.trail.is_none());
    let s = f.trail_search.as_ref().expect("searched");
    assert_eq!(s.events, 0);
    assert!(!s.matched);
    assert_eq!(s.state, stackset_doctor::trail::SearchState::Looked);
    // The stack set's own ExecutionRoleName counts as CloudFormation's.
    for s in e.stack_sets.iter_mut() {
        s.execution_role_name = Some("OpsReadOnly".into());
    }
    let d = diagnose_evidence(&e);
    let f = &d.failures[d.root_causes[0].failure];
    assert_eq!(
        f.trail.as_ref().map(|t| t.event_id.as_str()),
        Some(DENY_EVENT)
    );
}

#[test]
fn global_services_are_searched_in_us_east_1_and_only_they() {
    let mut e = load(&[MEMBER]).evidence;
    for t in e
        .trail_events
        .iter_mut()
        .filter(|t| t.event_id == DENY_EVENT)
    {
        t.region = Some("us-east-1".into());
    }
    // An S3 event in us-east-1 is not the eu-west-1 bucket's call.
    let d = diagnose_evidence(&e);
    assert!(d.failures[d.root_causes[0].failure].trail.is_none());
    // IAM's events are in us-east-1 whatever the Region of the stack.
    for t in e
        .trail_events
        .iter_mut()
        .filter(|t| t.event_id == DENY_EVENT)
    {
        t.event_source = "iam.amazonaws.com".into();
        t.event_name = "CreateRole".into();
        t.resources = vec!["org-log-role".into()];
        t.error_message = Some("User: arn:aws:sts::343434343434:assumed-role/stacksets-exec-5f2e9a1c7b3d4e6f8a9b0c1d2e3f4a5b/s is not authorized to perform: iam:CreateRole on resource: arn:aws:iam::343434343434:role/org-log-role with an explicit deny in a service control policy".into());
    }
    for ev in e
        .stack_events
        .iter_mut()
        .filter(|s| s.logical_id.as_deref() == Some("LogBucket"))
    {
        ev.resource_type = Some("AWS::IAM::Role".into());
        ev.physical_id = Some("org-log-role".into());
        ev.properties = None;
    }
    let d = diagnose_evidence(&e);
    let f = d
        .failures
        .iter()
        .find(|f| {
            f.logical_id.as_deref() == Some("LogBucket")
                && f.level == stackset_doctor::vocabulary::Level::Resource
        })
        .expect("the role's failure");
    let t = f.trail.as_ref().expect("matched in us-east-1");
    assert_eq!(t.region.as_deref(), Some("us-east-1"));
    assert_eq!(
        f.class.fields.get("action").map(String::as_str),
        Some("iam:CreateRole")
    );
    assert!(f
        .trail_search
        .as_ref()
        .unwrap()
        .regions
        .iter()
        .any(|r| r == "us-east-1"));
}

const LOCKED: &str = "samples/stackset-locked";
const HOLDER: &str = "3f8a6c2e-1d4b-4e7a-9b5c-8d0f2e4a6c1b";

fn refusal(d: &stackset_doctor::trace::Diagnosis) -> usize {
    d.failures
        .iter()
        .position(|f| f.class.category.as_str() == "operation-in-progress")
        .expect("the refused operation")
}

#[test]
fn a_refusal_links_to_the_running_operation_and_its_failure() {
    let d = crate::common::diagnose(&[LOCKED]);
    let i = refusal(&d);
    let (cause, link) = d.caused_by[i].as_ref().expect("linked");
    assert_eq!(link.kind.as_str(), "lock-holder");
    assert_eq!(d.failures[*cause].class.category.as_str(), "already-exists");
    let h = d.lock_holders[i].as_ref().expect("the holder");
    assert_eq!(h.operation_id, HOLDER);
    assert_eq!(h.status, "RUNNING");
    assert_eq!(h.action.as_deref(), Some("UPDATE"));
    assert_eq!(d.root_causes.len(), 1);
}

#[test]
fn a_holder_without_failures_is_named_and_one_missing_is_asked_for() {
    let mut e = load(&[LOCKED]).evidence;
    e.operation_results.clear();
    e.stack_instances.clear();
    let d = diagnose_evidence(&e);
    let i = refusal(&d);
    assert!(d.caused_by[i].is_none());
    assert_eq!(
        d.lock_holders[i]
            .as_ref()
            .map(|h| (h.operation_id.as_str(), h.failures)),
        Some((HOLDER, 0))
    );
    assert!(
        !d.coverage
            .iter()
            .any(|c| c.contains("list-stack-set-operations")),
        "{:?}",
        d.coverage
    );
    // No holder in the evidence: the coverage says which listing to collect.
    e.operations.retain(|o| o.operation_id != HOLDER);
    let d = diagnose_evidence(&e);
    let i = refusal(&d);
    assert!(d.lock_holders[i].is_none());
    assert!(
        d.coverage
            .iter()
            .any(|c| c.contains(&d.failures[i].id.to_string())
                && c.contains("list-stack-set-operations --stack-set-name org-guardrails")),
        "{:?}",
        d.coverage
    );
}

const VAGUE: &str = "samples/kms-alias-missing";

fn vague_root(d: &stackset_doctor::trace::Diagnosis) -> &stackset_doctor::trace::RootCause {
    d.root_causes
        .iter()
        .find(|r| !r.looked_for.is_empty())
        .expect("a root cause no specific rule explains")
}

#[test]
fn a_vague_root_cause_says_it_could_not_look_and_which_permission_to_add() {
    let d = crate::common::diagnose(&[VAGUE]);
    let r = vague_root(&d);
    let trail = r
        .looked_for
        .iter()
        .find(|f| f.source == "cloudtrail")
        .unwrap();
    assert_eq!(trail.outcome, "could-not-look");
    assert!(trail
        .permission
        .unwrap()
        .contains("cloudtrail:LookupEvents"));
    let stack = r
        .looked_for
        .iter()
        .find(|f| f.source == "stack-events")
        .unwrap();
    assert_eq!(stack.outcome, "found");
    // A coverage note of a refused LookupEvents in that account is the reason given.
    let mut e = load(&[VAGUE]).evidence;
    let f = &d.failures[r.failure];
    let account = f.account.clone().unwrap();
    e.coverage.push(stackset_doctor::evidence::CoverageNote {
        scope: format!("account {account}"),
        reason: "cloudtrail:LookupEvents: AccessDenied".into(),
    });
    let d2 = diagnose_evidence(&e);
    let r2 = vague_root(&d2);
    let t2 = r2
        .looked_for
        .iter()
        .find(|f| f.source == "cloudtrail")
        .unwrap();
    assert_eq!(t2.outcome, "could-not-look");
    assert!(t2.text.contains("AccessDenied"), "{}", t2.text);
}

#[test]
fn a_vague_root_cause_says_it_looked_and_found_nothing() {
    let d = crate::common::diagnose(&[VAGUE]);
    let r = vague_root(&d);
    let f = &d.failures[r.failure];
    let s = f.trail_search.clone().unwrap();
    let mut e = load(&[VAGUE]).evidence;
    e.trail_lookups
        .push(stackset_doctor::evidence::TrailLookup {
            account: s.account.clone(),
            region: f.region.clone().unwrap(),
            start: s.start,
            end: s.end,
            attribute: None,
            pages: 1,
            events: 1,
            complete: true,
        });
    // One event with an error, on CloudFormation's behalf, about something else.
    e.trail_events.push(stackset_doctor::evidence::TrailEvent {
        event_id: "0a1b2c3d-0000-4000-8000-0000000000c1".into(),
        event_time: Some(s.start + chrono::Duration::minutes(1)),
        event_source: "sns.amazonaws.com".into(),
        event_name: "CreateTopic".into(),
        account: Some(s.account.clone()),
        region: f.region.clone(),
        error_code: Some("InvalidParameter".into()),
        error_message: Some("Invalid parameter: Topic Name".into()),
        invoked_by: Some("cloudformation.amazonaws.com".into()),
        resources: vec!["unrelated-topic".into()],
        ..Default::default()
    });
    let d = diagnose_evidence(&e);
    let r = vague_root(&d);
    let t = r
        .looked_for
        .iter()
        .find(|f| f.source == "cloudtrail")
        .unwrap();
    assert_eq!(t.outcome, "nothing-found");
    assert!(t.permission.is_none());
    assert!(
        t.text
            .contains("1 event with an error in the window, none matched"),
        "{}",
        t.text
    );
}

#[test]
fn a_vague_root_cause_lists_the_stacks_failed_hooks() {
    let stack = "arn:aws:cloudformation:us-east-1:111122223333:stack/StackSet-org-baseline-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9/5d6c7b8a";
    let name = "StackSet-org-baseline-0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9";
    let events = serde_json::json!({"StackEvents": [
        {"StackId": stack, "EventId": "e2", "StackName": name, "LogicalResourceId": "Queue",
         "PhysicalResourceId": "", "ResourceType": "AWS::SQS::Queue", "Timestamp": "2025-11-20T10:00:09.000Z",
         "ResourceStatus": "CREATE_FAILED",
         "ResourceStatusReason": "Resource handler returned message: \"null\" (RequestToken: 0c1d, HandlerErrorCode: GeneralServiceException)"},
        {"StackId": stack, "EventId": "e1", "StackName": name, "LogicalResourceId": "AuditTopic",
         "PhysicalResourceId": "", "ResourceType": "AWS::SNS::Topic", "Timestamp": "2025-11-20T10:00:05.000Z",
         "ResourceStatus": "CREATE_IN_PROGRESS", "HookType": "Private::Guard::SnsEncryptionHook",
         "HookStatus": "HOOK_COMPLETE_FAILED",
         "HookStatusReason": "Hook failed with message: Template failed validation, the following rule(s) failed: sns_topic_encrypted.",
         "HookInvocationPoint": "PRE_PROVISION", "HookInvocationId": "4f3e2d1c-0b9a-4877-a665-544332211000",
         "HookFailureMode": "FAIL"}
    ]});
    let dir = tempfile::tempdir().expect("scratch");
    std::fs::write(dir.path().join("events.json"), events.to_string()).expect("written");
    let d = crate::common::diagnose(&[dir.path().to_str().expect("utf-8")]);
    let r = vague_root(&d);
    assert_eq!(d.failures[r.failure].logical_id.as_deref(), Some("Queue"));
    let hooks = r
        .looked_for
        .iter()
        .find(|f| f.source == "hooks")
        .expect("hooks looked for");
    assert_eq!(hooks.outcome, "found", "{}", hooks.text);
    let hook_failure = d
        .failures
        .iter()
        .find(|f| f.logical_id.as_deref() == Some("AuditTopic"))
        .expect("the hook's failure");
    assert!(
        hooks.text.contains(&hook_failure.id.to_string()),
        "{}",
        hooks.text
    );
    // Where no hook failed, it says so.
    let d = crate::common::diagnose(&[VAGUE]);
    let hooks = vague_root(&d)
        .looked_for
        .iter()
        .find(|f| f.source == "hooks")
        .cloned()
        .expect("hooks");
    assert_eq!(hooks.outcome, "nothing-found", "{}", hooks.text);
}
