//! Races the message does not name (docs/races.md): the producer finished seconds before the consumer failed.

use serde_json::{json, Value};
use stackset_doctor::trace::Diagnosis;
use stackset_doctor::vocabulary::RaceKind;

use crate::common::diagnose;

const SAMPLE: &str = "samples/role-propagation-race";
const ACCOUNT: &str = "510238746192";

fn only_root(d: &Diagnosis) -> &stackset_doctor::trace::RootCause {
    assert_eq!(d.root_causes.len(), 1, "{:#?}", d.root_causes);
    &d.root_causes[0]
}

/// The sample copied to a scratch folder, with `edit` applied to its JSON files (by path below the sample).
fn sample_with(edit: impl Fn(&str, &mut Value)) -> (tempfile::TempDir, Diagnosis) {
    let dir = tempfile::tempdir().expect("scratch folder");
    for e in walkdir::WalkDir::new(SAMPLE) {
        let e = e.expect("sample readable");
        let rel = e.path().strip_prefix(SAMPLE).expect("below the sample");
        let to = dir.path().join(rel);
        if e.file_type().is_dir() {
            std::fs::create_dir_all(&to).expect("folder");
            continue;
        }
        let mut v: Value =
            serde_json::from_slice(&std::fs::read(e.path()).expect("file")).expect("JSON");
        edit(&rel.to_string_lossy(), &mut v);
        std::fs::write(&to, serde_json::to_vec_pretty(&v).expect("JSON")).expect("written");
    }
    let d = diagnose(&[dir.path().to_str().expect("utf-8 path")]);
    (dir, d)
}

#[test]
fn a_role_created_seconds_before_is_a_race_not_a_missing_role() {
    let d = diagnose(&[SAMPLE]);
    let rc = only_root(&d);
    let f = &d.failures[rc.failure];
    assert_eq!(f.logical_id.as_deref(), Some("AuditBucketPolicy"));
    assert_eq!(f.account.as_deref(), Some(ACCOUNT));
    let race = rc.race.as_ref().expect("the timeline shows a race");
    assert_eq!(race.kind, RaceKind::IamPropagation);
    assert_eq!(race.producer_stack_set.as_deref(), Some("org-audit-roles"));
    // The producer's operation ended at 09:02:31.904, the bucket policy failed at 09:03:02.271.
    assert_eq!(race.gap_seconds, 30);
    assert!(
        race.evidence.starts_with("the end of operation"),
        "{}",
        race.evidence
    );
    assert!(race.what.ends_with("OrgAuditReadRole"), "{}", race.what);
    // The fix is a retry and an order, never "create the role".
    let steps = rc.remediation.steps.join("\n");
    assert!(steps.starts_with("Nothing is missing"), "{steps}");
    assert!(steps.contains("DependsOn org-audit-roles"), "{steps}");
    assert!(steps
        .contains("aws cloudformation update-stack-instances --stack-set-name org-audit-bucket"));
    assert!(
        !rc.remediation.summary.to_lowercase().contains("create"),
        "{}",
        rc.remediation.summary
    );
    assert!(rc
        .explanation
        .as_deref()
        .unwrap_or_default()
        .contains("at least 30 s"));
    // A race is the cause: no "consequence whose cause is not in the evidence".
    assert!(
        !d.coverage
            .iter()
            .any(|c| c.contains("consequence whose cause")),
        "{:?}",
        d.coverage
    );
}

#[test]
fn the_reports_say_race_with_the_gap() {
    let d = diagnose(&[SAMPLE]);
    let json: Value = serde_json::from_str(&crate::common::render(
        &d,
        stackset_doctor::report::Format::Json,
    ))
    .expect("JSON report");
    let race = &json["root_causes"][0]["race"];
    assert_eq!(race["kind"], "iam-propagation");
    assert_eq!(race["gap_seconds"], 30);
    assert_eq!(race["producer_stack_set"], "org-audit-roles");
    let table = crate::common::render(&d, stackset_doctor::report::Format::Table);
    assert!(table.contains("race      iam-propagation"), "{table}");
    assert!(table.contains("not yet visible"), "{table}");
    let md = crate::common::render(&d, stackset_doctor::report::Format::Markdown);
    assert!(md.contains("**Race:** iam-propagation"), "{md}");
}

#[test]
fn the_producers_own_completion_event_dates_it_exactly() {
    let (_dir, d) = sample_with(|_, _| {});
    let mut ev = stackset_doctor::collect::load_paths(&[SAMPLE.into()])
        .expect("sample")
        .evidence;
    drop(d);
    // The producer's stack events, as `describe-stack-events` of its stack would give them.
    let stack = format!(
        "arn:aws:cloudformation:eu-central-1:{ACCOUNT}:stack/StackSet-org-audit-roles-0f7d2c4e-1b3a-4c5d-8e9f-a0b1c2d3e4f5/5e1c"
    );
    let text = json!({"StackEvents": [{
        "StackId": stack, "EventId": "OrgAuditReadRole-CREATE_COMPLETE-2026-11-30T09:02:50.100Z",
        "StackName": "StackSet-org-audit-roles-0f7d2c4e-1b3a-4c5d-8e9f-a0b1c2d3e4f5", "LogicalResourceId": "OrgAuditReadRole",
        "PhysicalResourceId": "OrgAuditReadRole", "ResourceType": "AWS::IAM::Role",
        "Timestamp": "2026-11-30T09:02:50.100000+00:00", "ResourceStatus": "CREATE_COMPLETE"
    }]});
    let dir = tempfile::tempdir().expect("scratch");
    let file = dir.path().join("describe-stack-events.json");
    std::fs::write(&file, text.to_string()).expect("written");
    ev.extend(
        stackset_doctor::collect::load_paths(&[file])
            .expect("events")
            .evidence,
    );
    let catalog = stackset_doctor::classify::Catalog::builtin().expect("catalog");
    let d = stackset_doctor::diagnose(&ev, &catalog, Vec::new());
    let rc = only_root(&d);
    let race = rc.race.as_ref().expect("race");
    assert_eq!(race.kind, RaceKind::IamPropagation);
    assert_eq!(race.gap_seconds, 12);
    assert_eq!(race.evidence, "its CREATE_COMPLETE event");
    assert!(rc.confidence > 0.8, "{}", rc.confidence);
}

#[test]
fn a_producer_done_long_before_is_no_race() {
    // The role existed for ten minutes: IAM had long made it visible, so the message means what it says.
    let (_dir, d) = sample_with(|path, v| {
        if path.ends_with("org-audit-roles/list-stack-set-operations.json") {
            v["Summaries"][0]["EndTimestamp"] = json!("2026-11-30T08:52:31.904000+00:00");
        }
    });
    let rc = only_root(&d);
    assert!(rc.race.is_none(), "{:?}", rc.race);
    assert!(
        d.coverage
            .iter()
            .any(|c| c.contains("consequence whose cause")),
        "{:?}",
        d.coverage
    );
}

#[test]
fn a_producer_not_deployed_in_that_account_is_no_race() {
    let (_dir, d) = sample_with(|path, v| {
        if path.starts_with("org-audit-roles") {
            if let Some(list) = v.get_mut("Summaries").and_then(Value::as_array_mut) {
                list.retain(|s| s.get("Account").is_none_or(|a| a != ACCOUNT));
            }
        }
    });
    let rc = only_root(&d);
    assert!(rc.race.is_none(), "{:?}", rc.race);
}

/// One stack set in two Regions of one account: `events` per Region (region, [(seconds, logical, type, status,
/// physical, reason, properties)]).
type Row<'a> = (
    f64,
    &'a str,
    &'a str,
    &'a str,
    &'a str,
    Option<&'a str>,
    Option<String>,
);

fn uuid_for(region: &str) -> String {
    let n = region
        .bytes()
        .fold(0u64, |a, b| a.wrapping_mul(31).wrapping_add(u64::from(b)));
    format!(
        "{:08x}-1b3a-4c5d-8e9f-{:012x}",
        n as u32,
        n & 0xffff_ffff_ffff
    )
}

fn two_regions(rows: &[(&str, Vec<Row<'_>>)]) -> Diagnosis {
    let dir = tempfile::tempdir().expect("scratch");
    let t0 = chrono::DateTime::parse_from_rfc3339("2026-11-30T10:00:00Z").expect("time");
    for (region, events) in rows {
        // Member stacks are named `StackSet-<stack set>-<uuid>`: the stack set is `edge-functions` in both Regions.
        let name = format!("StackSet-edge-functions-{}", uuid_for(region));
        let stack = format!("arn:aws:cloudformation:{region}:{ACCOUNT}:stack/{name}/9f{region}");
        let evs: Vec<Value> = events
            .iter()
            .rev()
            .map(|(dt, logical, ty, status, physical, reason, props)| {
                let at = t0 + chrono::Duration::milliseconds((dt * 1000.0) as i64);
                let mut e = json!({
                    "StackId": stack, "EventId": format!("{logical}-{status}-{dt}"), "StackName": name,
                    "LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": ty,
                    "Timestamp": at.to_rfc3339(), "ResourceStatus": status,
                });
                if let Some(r) = reason {
                    e["ResourceStatusReason"] = json!(r);
                }
                if let Some(p) = props {
                    e["ResourceProperties"] = json!(p);
                }
                e
            })
            .collect();
        std::fs::write(
            dir.path()
                .join(format!("describe-stack-events-{region}.json")),
            json!({ "StackEvents": evs }).to_string(),
        )
        .expect("written");
    }
    diagnose(&[dir.path().to_str().expect("utf-8")])
}

#[test]
fn a_region_that_needed_what_another_region_had_just_created_raced_it() {
    let role = "arn:aws:iam::510238746192:role/edge-functions-exec";
    let props = Some(format!(
        "{{\"FunctionName\":\"edge-auth\",\"Role\":\"{role}\",\"Runtime\":\"python3.12\"}}"
    ));
    let d = two_regions(&[
        (
            "us-east-1",
            vec![
                (0.0, "ExecRole", "AWS::IAM::Role", "CREATE_IN_PROGRESS", "", None, None),
                (14.2, "ExecRole", "AWS::IAM::Role", "CREATE_COMPLETE", "edge-functions-exec", None, None),
            ],
        ),
        (
            "eu-west-1",
            vec![
                (20.0, "AuthFunction", "AWS::Lambda::Function", "CREATE_IN_PROGRESS", "", None, props.clone()),
                (
                    21.5,
                    "AuthFunction",
                    "AWS::Lambda::Function",
                    "CREATE_FAILED",
                    "",
                    Some("Resource handler returned message: \"The role defined for the function cannot be assumed by Lambda. (Service: Lambda, Status Code: 400, Request ID: 5c2e)\" (RequestToken: 1f, HandlerErrorCode: InvalidRequest)"),
                    props,
                ),
            ],
        ),
    ]);
    let rc = d
        .root_causes
        .iter()
        .find(|r| d.failures[r.failure].logical_id.as_deref() == Some("AuthFunction"))
        .expect("the function's failure is a root cause");
    let race = rc.race.as_ref().expect("race");
    assert_eq!(race.kind, RaceKind::ParallelRegions);
    assert_eq!(race.producer_region.as_deref(), Some("us-east-1"));
    assert_eq!(race.gap_seconds, 7);
    let steps = rc.remediation.steps.join("\n");
    assert!(
        steps.contains("RegionConcurrencyType=SEQUENTIAL,RegionOrder=us-east-1,eu-west-1"),
        "{steps}"
    );
}

#[test]
fn a_global_resource_every_region_creates_exists_after_the_first() {
    let d = two_regions(&[
        (
            "us-east-1",
            vec![(9.0, "ExecRole", "AWS::IAM::Role", "CREATE_COMPLETE", "edge-functions-exec", None, None)],
        ),
        (
            "eu-west-1",
            vec![(
                10.4,
                "ExecRole",
                "AWS::IAM::Role",
                "CREATE_FAILED",
                "edge-functions-exec",
                Some("Resource handler returned message: \"Role with name edge-functions-exec already exists. (Service: Iam, Status Code: 409, Request ID: 77aa)\" (RequestToken: 2e, HandlerErrorCode: AlreadyExists)"),
                None,
            )],
        ),
    ]);
    let rc = only_root(&d);
    let race = rc.race.as_ref().expect("race");
    assert_eq!(race.kind, RaceKind::GlobalInParallelRegions);
    assert_eq!(race.producer_region.as_deref(), Some("us-east-1"));
    assert!(
        rc.remediation.steps[0].contains("a Condition on AWS::Region"),
        "{:?}",
        rc.remediation.steps
    );
}

#[test]
fn a_regional_resource_that_already_exists_is_no_race() {
    // A log group is regional: the other Region's is another log group.
    let d = two_regions(&[
        ("us-east-1", vec![(9.0, "Logs", "AWS::Logs::LogGroup", "CREATE_COMPLETE", "/edge", None, None)]),
        (
            "eu-west-1",
            vec![(
                10.4,
                "Logs",
                "AWS::Logs::LogGroup",
                "CREATE_FAILED",
                "/edge",
                Some("Resource handler returned message: \"Resource of type 'AWS::Logs::LogGroup' with identifier '/edge' already exists.\" (RequestToken: 3a, HandlerErrorCode: AlreadyExists)"),
                None,
            )],
        ),
    ]);
    let rc = only_root(&d);
    assert!(rc.race.is_none(), "{:?}", rc.race);
}

#[test]
fn a_create_that_finds_what_a_running_delete_has_not_removed_raced_it() {
    // An account moved between OUs: auto-deployment deletes its stack for the old OU and creates one for the new,
    // at once; the CREATE finds the log group the DELETE has not removed yet.
    let dir = tempfile::tempdir().expect("scratch");
    let set = dir.path().join("org-baseline");
    std::fs::create_dir_all(&set).expect("folder");
    let delete = "6d1e7a52-0b3c-4d9e-8f21-3a4b5c6d7e8f";
    let create = "7e2f8b63-1c4d-4eaf-9032-4b5c6d7e8f90";
    let ops = json!({"Summaries": [
        {"OperationId": create, "Action": "CREATE", "Status": "FAILED",
         "CreationTimestamp": "2026-11-30T11:00:04.500000+00:00", "EndTimestamp": "2026-11-30T11:01:40.000000+00:00",
         "StatusDetails": {"FailedStackInstancesCount": 1}},
        {"OperationId": delete, "Action": "DELETE", "Status": "RUNNING",
         "CreationTimestamp": "2026-11-30T11:00:02.100000+00:00"}
    ]});
    let reason = "ResourceLogicalId:BaselineLogs, ResourceType:AWS::Logs::LogGroup, ResourceStatusReason:Resource \
                  handler returned message: \"Resource of type 'AWS::Logs::LogGroup' with identifier '/org/baseline' \
                  already exists.\" (RequestToken: 5b1c, HandlerErrorCode: AlreadyExists)";
    let results = |op: &str, status: &str, why: Option<&str>| {
        let mut r = json!({"Account": ACCOUNT, "Region": "eu-central-1", "Status": status,
                           "AccountGateResult": {"Status": "SKIPPED"}, "OrganizationalUnitId": "ou-w7q2-new00001"});
        if let Some(w) = why {
            r["StatusReason"] = json!(w);
        }
        (
            format!("list-stack-set-operation-results-{op}.json"),
            json!({ "Summaries": [r] }),
        )
    };
    for (name, v) in [
        ("list-stack-set-operations.json".to_owned(), ops),
        results(create, "FAILED", Some(reason)),
        results(delete, "RUNNING", None),
    ] {
        std::fs::write(set.join(name), v.to_string()).expect("written");
    }
    let d = diagnose(&[dir.path().to_str().expect("utf-8")]);
    let rc = d
        .root_causes
        .iter()
        .find(|r| d.failures[r.failure].class.category.as_str() == "already-exists")
        .expect("the CREATE's failure");
    let race = rc.race.as_ref().expect("race");
    assert_eq!(race.kind, RaceKind::ConcurrentDelete);
    assert_eq!(race.operation.as_deref(), Some(delete));
    assert!(
        rc.remediation.steps[0].contains(&format!("--operation-id {delete}")),
        "{:?}",
        rc.remediation.steps
    );
    // Without the DELETE, the same failure is what it says: a log group that exists.
    std::fs::remove_file(set.join(format!("list-stack-set-operation-results-{delete}.json")))
        .expect("removed");
    let d = diagnose(&[dir.path().to_str().expect("utf-8")]);
    assert!(d.root_causes.iter().all(|r| r.race.is_none()));
}

#[test]
fn an_assume_role_denial_seconds_after_the_role_was_created_is_a_race_too() {
    let denied = "Resource handler returned message: \"User: arn:aws:sts::510238746192:assumed-role/\
                  stacksets-exec-4f1e/7c2d is not authorized to perform: sts:AssumeRole on resource: \
                  arn:aws:iam::510238746192:role/OrgAuditReadRole (Service: Sts, Status Code: 403, Request ID: 9a1b)\" \
                  (RequestToken: 0d2e, HandlerErrorCode: AccessDenied)";
    let (_dir, d) = sample_with(|path, v| {
        if !path.starts_with("org-audit-bucket") {
            return;
        }
        let swap = |s: &mut Value| {
            if let Some(t) = s.as_str() {
                if t.contains("Invalid principal in policy") {
                    let composite = t.starts_with("ResourceLogicalId:");
                    *s = json!(if composite {
                        format!(
                            "ResourceLogicalId:AuditBucketPolicy, ResourceType:AWS::S3::BucketPolicy, \
                             ResourceStatusReason:{denied}."
                        )
                    } else {
                        denied.to_owned()
                    });
                }
            }
        };
        for key in ["StackEvents", "Summaries"] {
            for e in v
                .get_mut(key)
                .and_then(Value::as_array_mut)
                .into_iter()
                .flatten()
            {
                for k in ["ResourceStatusReason", "StatusReason"] {
                    if let Some(s) = e.get_mut(k) {
                        swap(s);
                    }
                }
            }
        }
    });
    let rc = only_root(&d);
    let f = &d.failures[rc.failure];
    assert_eq!(
        f.class.category.as_str(),
        "identity-policy-missing",
        "{}",
        f.message
    );
    let race = rc.race.as_ref().expect("a race");
    assert_eq!(race.kind, RaceKind::IamPropagation);
    assert_eq!(race.producer_stack_set.as_deref(), Some("org-audit-roles"));
}
