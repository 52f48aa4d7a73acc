//! Every family of links stays linear: each shape built at 10,000 with its link count asserted. (One stack set
//! deployed to 10,000 accounts, 500 failing and 9,500 cancelled by failure tolerance, once gave 4.75 million links
//! and a 923 MB report: each cancellation linked to every failure of the operation.)

use chrono::{DateTime, Duration, TimeZone, Utc};
use stackset_doctor::classify::Catalog;
use stackset_doctor::evidence::{Evidence, Operation, OperationResult, StackEvent, StackInstance};
use stackset_doctor::graph::MAX_FANOUT;
use stackset_doctor::report::{Format, Report};
use stackset_doctor::trace::Diagnosis;
use stackset_doctor::vocabulary::{Category, LinkKind};

const N: usize = 10_000;

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2025, 3, 10, 5, 0, 0).unwrap()
}

fn account(i: usize) -> String {
    format!("{:012}", 300_000_000_000u64 + i as u64)
}

fn diagnose(ev: &Evidence) -> Diagnosis {
    stackset_doctor::diagnose(ev, &Catalog::builtin().expect("catalog loads"), Vec::new())
}

fn count(d: &Diagnosis, kind: LinkKind) -> usize {
    d.links.iter().filter(|(_, _, l)| l.kind == kind).count()
}

fn result(ss: &str, op: &str, i: usize, status: &str, reason: &str) -> OperationResult {
    OperationResult {
        stack_set: Some(ss.into()),
        operation_id: Some(op.into()),
        account: account(i),
        region: "us-east-1".into(),
        status: status.into(),
        status_reason: Some(reason.into()),
        ..Default::default()
    }
}

/// 500 failures, each with its own message (naming its own account), and 9,500 instances cancelled since the
/// failure tolerance was exceeded.
fn tolerance_shape(with_operation: bool) -> Evidence {
    let mut ev = Evidence::default();
    if with_operation {
        ev.operations.push(Operation {
            stack_set: Some("org-baseline".into()),
            operation_id: "op-1".into(),
            action: Some("CREATE".into()),
            status: "FAILED".into(),
            created: Some(t0()),
            ended: Some(t0() + Duration::hours(1)),
            ..Default::default()
        });
    }
    for i in 0..N {
        ev.operation_results.push(if i % 20 == 0 {
            result("org-baseline", "op-1", i, "FAILED", &format!(
                "Account {} should have 'AWSCloudFormationStackSetExecutionRole' role with trust relationship to Role 'AWSCloudFormationStackSetAdministrationRole'.",
                account(i)
            ))
        } else {
            result("org-baseline", "op-1", i, "CANCELLED", "Cancelled since failure tolerance has exceeded")
        });
    }
    ev
}

#[test]
fn failure_tolerance_cancellations_link_once_through_their_operation() {
    let d = diagnose(&tolerance_shape(true));
    assert_eq!(d.failures.len(), N + 1);
    // 9,500 cancellations → the operation, and the operation → its 500 distinct causes.
    assert_eq!(count(&d, LinkKind::FailureTolerance), 9_500);
    assert_eq!(count(&d, LinkKind::OperationSummary), 500);
    assert_eq!(d.links.len(), 10_000);
    assert_eq!(d.root_causes.len(), 500);
    let explained: usize = d.root_causes.iter().map(|r| r.explains.len()).sum();
    assert_eq!(
        explained,
        N + 1 - 500,
        "each failure belongs to one root cause"
    );
    for r in &d.root_causes {
        assert_eq!(
            d.failures[r.failure].class.category,
            Category::StacksetExecutionRole
        );
    }
    // The report grows with the failures, not with their product.
    let json = serde_json::to_vec(&Report::new(&d)).unwrap();
    assert!(json.len() < 30 * 1024 * 1024, "{} bytes", json.len());
}

#[test]
fn without_the_operation_the_first_cancellation_stands_in_for_it() {
    let d = diagnose(&tolerance_shape(false));
    assert_eq!(d.failures.len(), N);
    assert_eq!(count(&d, LinkKind::FailureTolerance), 9_499 + 500);
    assert_eq!(d.links.len(), 9_999);
    let explained: usize = d.root_causes.iter().map(|r| r.explains.len()).sum();
    assert_eq!(explained, N - 500);
}

fn event(
    ss: &str,
    i: usize,
    logical: &str,
    t: DateTime<Utc>,
    status: &str,
    reason: &str,
) -> StackEvent {
    let stack = format!("StackSet-{ss}-0b6e7c1a-5f1e-4b7e-9a61-{:012}", i);
    StackEvent {
        stack_id: format!(
            "arn:aws:cloudformation:us-east-1:{}:stack/{stack}/0b6e7c1a-5f1e-4b7e-9a61-8f0c2d3e4f50",
            account(i)
        ),
        stack_name: stack.clone(),
        stack_set: Some(ss.into()),
        account: Some(account(i)),
        region: Some("us-east-1".into()),
        logical_id: Some(logical.into()),
        resource_type: Some(if logical == stack {
            "AWS::CloudFormation::Stack".into()
        } else {
            "AWS::SQS::Queue".into()
        }),
        timestamp: t,
        status: status.into(),
        status_reason: Some(reason.into()),
        ..Default::default()
    }
}

/// 10,000 stacks, each with a failure, a cancelled sibling and the stack's rollup: one link each.
#[test]
fn cancellations_and_rollups_in_many_stacks() {
    let mut ev = Evidence::default();
    for i in 0..N {
        let stack = format!("StackSet-apps-0b6e7c1a-5f1e-4b7e-9a61-{:012}", i);
        ev.stack_events.push(event("apps", i, "Queue", t0(), "CREATE_FAILED", &format!(
            "Resource handler returned message: \"q-{i} already exists\" (RequestToken: t, HandlerErrorCode: AlreadyExists)"
        )));
        ev.stack_events.push(event(
            "apps",
            i,
            "Topic",
            t0() + Duration::seconds(1),
            "CREATE_FAILED",
            "Resource creation cancelled",
        ));
        ev.stack_events.push(event("apps", i, &stack, t0() + Duration::seconds(2), "ROLLBACK_IN_PROGRESS",
            "The following resource(s) failed to create: [Queue, Topic]. Rollback requested by user."));
    }
    let d = diagnose(&ev);
    assert_eq!(d.failures.len(), 3 * N);
    assert_eq!(count(&d, LinkKind::Cancellation), N);
    // The rollup names both the failure and the cancellation.
    assert_eq!(count(&d, LinkKind::Rollup), 2 * N);
    assert_eq!(d.links.len(), 3 * N);
    assert_eq!(d.root_causes.len(), N);
}

/// One stack with 100 distinct failures and 10,000 cancellations: each cancellation links to the earliest few.
#[test]
fn cancellations_behind_many_distinct_failures_link_to_the_earliest() {
    let mut ev = Evidence::default();
    for k in 0..100 {
        ev.stack_events.push(event("big", 0, &format!("Bucket{k}"), t0(), "CREATE_FAILED", &format!(
            "Resource handler returned message: \"bucket-{k} already exists\" (RequestToken: t, HandlerErrorCode: AlreadyExists)"
        )));
    }
    for k in 0..N {
        ev.stack_events.push(event(
            "big",
            0,
            &format!("Queue{k}"),
            t0() + Duration::seconds(5),
            "CREATE_FAILED",
            "Resource creation cancelled",
        ));
    }
    let d = diagnose(&ev);
    assert_eq!(count(&d, LinkKind::Cancellation), N * MAX_FANOUT);
    assert_eq!(d.root_causes.len(), 100);
}

/// 10,000 accounts, each deployed by its own operation (auto-deployment), all at the same time: each operation
/// summarises its own instance's failure, found through the instance's operation, not by time alone.
#[test]
fn one_operation_per_account_summarises_its_own_failure() {
    let mut ev = Evidence::default();
    for i in 0..N {
        let op = format!("op-{i}");
        ev.operations.push(Operation {
            stack_set: Some("auto".into()),
            operation_id: op.clone(),
            action: Some("CREATE".into()),
            status: "FAILED".into(),
            created: Some(t0()),
            ended: Some(t0() + Duration::minutes(10)),
            ..Default::default()
        });
        ev.stack_instances.push(StackInstance {
            stack_set: Some("auto".into()),
            account: account(i),
            region: "us-east-1".into(),
            status: "OUTDATED".into(),
            detailed_status: Some("FAILED".into()),
            status_reason: Some(format!("ResourceLogicalId:Queue, ResourceType:AWS::SQS::Queue, ResourceStatusReason:Resource handler returned message: \"q-{i} already exists\" (RequestToken: t, HandlerErrorCode: AlreadyExists)")),
            last_operation_id: Some(op.clone()),
            ..Default::default()
        });
        ev.stack_events.push(event("auto", i, "Queue", t0() + Duration::minutes(1), "CREATE_FAILED", &format!(
            "Resource handler returned message: \"q-{i} already exists\" (RequestToken: t, HandlerErrorCode: AlreadyExists)"
        )));
    }
    let d = diagnose(&ev);
    // The instance's reason and the stack event are one failure; with the operation, two per account.
    assert_eq!(d.failures.len(), 2 * N);
    // Each operation → its account's failure, and nothing else.
    assert_eq!(count(&d, LinkKind::OperationSummary), N);
    assert_eq!(d.links.len(), N);
    assert_eq!(d.root_causes.len(), N);
    assert!(d.root_causes.iter().all(|r| r.explains.len() == 1));
}

/// 10,000 member accounts fail naming a role another stack set should have created in one account (as the
/// reference case's TA stacks do): one link each, to the failure that kept the role from being created.
#[test]
fn many_consumers_of_one_missing_role() {
    let mut ev = Evidence::default();
    let admin = 99_999;
    ev.stack_events.push(event("AWS-QuickSetup-SSM-DA-abcde", admin, "ManagedInstanceCrossAccountManagementRole", t0(), "CREATE_FAILED",
        "Resource handler returned message: \"User: arn:aws:sts::399999999999:assumed-role/stacksets-exec-1/s is not authorized to perform: iam:CreateRole on resource: x with an explicit deny in a service control policy\" (RequestToken: t, HandlerErrorCode: AccessDenied)"));
    for i in 0..N {
        ev.operation_results.push(result("AWS-QuickSetup-SSM-TA-abcde", "op-ta", i, "FAILED", &format!(
            "ResourceLogicalId:ManagedInstanceCrossAccountExecutionRole, ResourceType:AWS::IAM::Role, ResourceStatusReason:Resource handler returned message: \"Invalid principal in policy: \"AWS\":\"arn:aws:iam::{}:role/ManagedInstance-CrossAccountManagementRole\" (Service: Iam, Status Code: 400, Request ID: r{i})\" (RequestToken: t, HandlerErrorCode: InvalidRequest).",
            account(admin)
        )));
    }
    let d = diagnose(&ev);
    assert_eq!(d.failures.len(), N + 1);
    assert_eq!(count(&d, LinkKind::KnownTopology), N);
    assert_eq!(d.links.len(), N);
    assert_eq!(d.root_causes.len(), 1);
    assert_eq!(d.root_causes[0].explains.len(), N);
}

const FOUNDATION: &str = "AWSTemplateFormatVersion: '2010-09-09'
Parameters:
  Prefix: {Type: String, Default: org}
Resources:
  DataKey:
    Type: AWS::KMS::Key
  DataKeyAlias:
    Type: AWS::KMS::Alias
    Properties:
      AliasName: !Sub 'alias/${Prefix}-data'
      TargetKeyId: !Ref DataKey
  AlertsTopic:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub '${Prefix}-alerts'
";
const WORKLOADS: &str = "Resources:
  AppLogs:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: /org/app
      KmsKeyId: !Sub 'arn:${AWS::Partition}:kms:${AWS::Region}:${AWS::AccountId}:alias/acme-data'
  AlertsSubscription:
    Type: AWS::SNS::Subscription
    Properties:
      Protocol: email
      Endpoint: ops@example.com
      TopicArn: !Sub 'arn:${AWS::Partition}:sns:${AWS::Region}:${AWS::AccountId}:acme-alerts'
";
const MONITORING: &str = "Resources:
  ErrorsFilter:
    Type: AWS::Logs::MetricFilter
    Properties:
      LogGroupName: /org/app
      FilterPattern: ERROR
";

fn typed(
    ss: &str,
    i: usize,
    logical: &str,
    rtype: &str,
    t: DateTime<Utc>,
    reason: &str,
    props: Option<String>,
) -> StackEvent {
    let mut e = event(ss, i, logical, t, "CREATE_FAILED", reason);
    e.resource_type = Some(rtype.into());
    e.properties = props;
    e
}

/// Three stack sets deployed to 10,000 accounts: the foundation (a KMS key and alias, a topic, named from a
/// parameter the stack set overrides) fails in every 20th account; there the workloads' log group (its KMS alias in
/// its properties) and subscription (its topic only in its template) fail, and the monitoring's metric filter on
/// that log group; 100 other accounts have a workload failure of their own. Every consumer traces to its own
/// account's foundation failure, through the chain, and the links stay linear.
#[test]
fn dependencies_of_every_kind_trace_across_three_stack_sets() {
    use stackset_doctor::evidence::{Parameter, StackSet};
    let mut ev = Evidence::default();
    for (name, body) in [
        ("org-foundation", FOUNDATION),
        ("org-workloads", WORKLOADS),
        ("org-monitoring", MONITORING),
    ] {
        ev.stack_sets.push(StackSet {
            name: name.into(),
            template_body: Some(body.into()),
            parameters: if name == "org-foundation" {
                vec![Parameter {
                    key: "Prefix".into(),
                    value: Some("acme".into()),
                }]
            } else {
                Vec::new()
            },
            ..Default::default()
        });
    }
    let deny = |i: usize| {
        format!("Resource handler returned message: \"User: arn:aws:sts::{}:assumed-role/stacksets-exec-1/s is not authorized to perform: kms:CreateKey on resource: * with an explicit deny in a service control policy (Service: Kms, Status Code: 400, Request ID: r)\" (RequestToken: t, HandlerErrorCode: AccessDenied)", account(i))
    };
    let mut independent = 0;
    for i in 0..N {
        let t = t0() + Duration::seconds((i % 600) as i64);
        if i % 20 == 0 {
            ev.stack_events.push(typed(
                "org-foundation",
                i,
                "DataKey",
                "AWS::KMS::Key",
                t,
                &deny(i),
                None,
            ));
            ev.stack_events.push(typed(
                "org-foundation",
                i,
                "DataKeyAlias",
                "AWS::KMS::Alias",
                t,
                "Resource creation cancelled",
                None,
            ));
            let later = t + Duration::minutes(10);
            let props = format!(
                r#"{{"LogGroupName":"/org/app","KmsKeyId":"arn:aws:kms:us-east-1:{}:alias/acme-data"}}"#,
                account(i)
            );
            ev.stack_events.push(typed("org-workloads", i, "AppLogs", "AWS::Logs::LogGroup", later, &format!("Resource handler returned message: \"The specified KMS key does not exist or is not allowed to be used with Arn 'arn:aws:logs:us-east-1:{}:log-group:/org/app' (Service: CloudWatchLogs, Status Code: 400, Request ID: r)\" (RequestToken: t, HandlerErrorCode: InvalidRequest)", account(i)), Some(props)));
            ev.stack_events.push(typed("org-workloads", i, "AlertsSubscription", "AWS::SNS::Subscription", later, "Resource handler returned message: \"Topic does not exist (Service: Sns, Status Code: 404, Request ID: r)\" (RequestToken: t, HandlerErrorCode: NotFound)", None));
            let latest = later + Duration::minutes(10);
            ev.stack_events.push(typed("org-monitoring", i, "ErrorsFilter", "AWS::Logs::MetricFilter", latest, "Resource handler returned message: \"The specified log group does not exist. (Service: CloudWatchLogs, Status Code: 400, Request ID: r)\" (RequestToken: t, HandlerErrorCode: NotFound)", Some(r#"{"LogGroupName":"/org/app","FilterPattern":"ERROR"}"#.into())));
        } else if i % 100 == 7 {
            independent += 1;
            ev.stack_events.push(typed("org-workloads", i, "AppLogs", "AWS::Logs::LogGroup", t, "Resource handler returned message: \"Resource of type 'AWS::Logs::LogGroup' with identifier '/org/app' already exists.\" (RequestToken: t, HandlerErrorCode: AlreadyExists)", None));
        }
    }
    let d = diagnose(&ev);
    let failing = N / 20;
    assert_eq!(d.failures.len(), failing * 5 + independent);
    assert_eq!(
        d.root_causes.len(),
        failing + independent,
        "one root per failing foundation, plus the independent ones"
    );
    for rc in &d.root_causes {
        let f = &d.failures[rc.failure];
        match f.stack_set.as_deref() {
            Some("org-foundation") => {
                assert_eq!(f.logical_id.as_deref(), Some("DataKey"));
                assert_eq!(
                    rc.explains.len(),
                    4,
                    "the alias, the log group, the subscription, the filter"
                );
                for &x in &rc.explains {
                    assert_eq!(
                        d.failures[x].account, f.account,
                        "nothing links across accounts"
                    );
                }
            }
            Some("org-workloads") => assert_eq!(f.class.category, Category::AlreadyExists),
            other => panic!("unexpected root in {other:?}"),
        }
    }
    // The filter links through the log group, not past it.
    let filter = d
        .failures
        .iter()
        .find(|f| f.logical_id.as_deref() == Some("ErrorsFilter"))
        .unwrap();
    let (cause, link) = d.caused_by[filter.id.index()].as_ref().unwrap();
    assert_eq!(
        d.failures[cause.index()].logical_id.as_deref(),
        Some("AppLogs")
    );
    assert_eq!(
        link.matched.as_ref().map(|m| m.identifier.as_str()),
        Some("/org/app")
    );
    // The subscription names nothing: its template does, with the foundation's parameter.
    let sub = d
        .failures
        .iter()
        .find(|f| f.logical_id.as_deref() == Some("AlertsSubscription"))
        .unwrap();
    let (_, link) = d.caused_by[sub.id.index()].as_ref().unwrap();
    let m = link.matched.as_ref().unwrap();
    assert!(m.identifier.ends_with(":acme-alerts"), "{m:?}");
    assert!(
        m.consumer
            .starts_with("the template of stack set org-workloads"),
        "{m:?}"
    );
    assert!(
        d.links.len() <= failing * 4 * MAX_FANOUT,
        "{} links",
        d.links.len()
    );
}

/// No known provider, and an account where another stack set failed 100 different ways: each consumer links to a
/// bounded number of them, by timing.
#[test]
fn timing_inference_is_bounded() {
    let mut ev = Evidence::default();
    let central = 99_999;
    for k in 0..100 {
        ev.stack_events.push(event("central", central, &format!("Key{k}"), t0(), "CREATE_FAILED", &format!(
            "Resource handler returned message: \"key-{k} already exists\" (RequestToken: t, HandlerErrorCode: AlreadyExists)"
        )));
    }
    for i in 0..N {
        ev.operation_results.push(result("members", "op-m", i, "FAILED", &format!(
            "ResourceLogicalId:Role, ResourceType:AWS::IAM::Role, ResourceStatusReason:Resource handler returned message: \"Invalid principal in policy: \"AWS\":\"arn:aws:iam::{}:role/CentralAuditRole\" (Service: Iam, Status Code: 400, Request ID: r{i})\" (RequestToken: t, HandlerErrorCode: InvalidRequest).",
            account(central)
        )));
    }
    let d = diagnose(&ev);
    assert_eq!(count(&d, LinkKind::TimingInference), N * MAX_FANOUT);
    assert_eq!(d.links.len(), N * MAX_FANOUT);
}

/// Every renderer is linear in the failures: 20,000 cancellations of one root in each format.
#[test]
fn every_format_renders_a_wide_tree() {
    let mut ev = Evidence::default();
    ev.stack_events.push(event("big", 0, "Bucket", t0(), "CREATE_FAILED",
        "Resource handler returned message: \"b already exists\" (RequestToken: t, HandlerErrorCode: AlreadyExists)"));
    for k in 0..2 * N {
        ev.stack_events.push(event(
            "big",
            0,
            &format!("Queue{k}"),
            t0() + Duration::seconds(5),
            "CREATE_FAILED",
            "Resource creation cancelled",
        ));
    }
    let d = diagnose(&ev);
    assert_eq!(d.root_causes[0].explains.len(), 2 * N);
    for fmt in [
        Format::Table,
        Format::Json,
        Format::Markdown,
        Format::Mermaid,
        Format::Dot,
    ] {
        let out = crate::common::render(&d, fmt);
        assert!(out.contains("Bucket"), "{fmt:?}");
    }
}
