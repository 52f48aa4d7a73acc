//! Live collection under faults, with the real SDK clients and `aws-smithy-mocks` answering for AWS:
//! throttling then success, AccessDenied on assume-role in one account, a call that never answers, and the
//! read-only guard; CloudTrail throttled, refused in one account, and empty. Each test checks what the bundle's coverage says and that the diagnosis still comes out.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_cloudformation as cfn;
use aws_sdk_cloudformation::types as ct;
use aws_sdk_cloudtrail as ctrail;
use aws_sdk_organizations as orgs;
use aws_sdk_sts as sts;
use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_runtime_api::client::orchestrator::HttpRequest;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use aws_smithy_types::DateTime;

use stackset_doctor::classify::Catalog;
use stackset_doctor::collect::aws::Sdk;
use stackset_doctor::collect::live::{collect, Collected, Options};
use stackset_doctor::vocabulary::Category;

const CALLER: &str = "111111111111";
const DENIED: &str = "222222222222";
const MEMBER: &str = "333333333333";
const HEALTHY: &str = "444444444444";
const REGION: &str = "eu-west-1";
const SET: &str = "app-baseline";
const OP: &str = "0b6e7c1a-5f1e-4b7e-9a61-8f0c2d3e4f50";
const INVALID_PRINCIPAL: &str = "Resource handler returned message: \"Invalid principal in policy: \
\"AWS\":\"arn:aws:iam::111111111111:role/app-central-role\" (Service: Iam, Status Code: 400, Request ID: \
5d0b4e8a-8f3c-4b1e-9d2a-1c2b3d4e5f60)\" (RequestToken: 7a9e1f3c-2b4d-4e6f-8a0b-1c2d3e4f5a6b, HandlerErrorCode: \
InvalidRequest)";

fn stack_id(account: &str) -> String {
    format!("arn:aws:cloudformation:{REGION}:{account}:stack/StackSet-{SET}-4d1c9b2a-7e6f-4a5b-8c9d-0e1f2a3b4c5d/9f8e7d6c-5b4a-4392-8170-6f5e4d3c2b1a")
}

fn ts(secs: i64) -> DateTime {
    DateTime::from_secs(secs)
}

const T0: i64 = 1_741_583_400; // 2025-03-10T05:10:00Z

/// The rules every scenario shares: the caller, the stack set, one failed operation, two failed instances,
/// the stack and its events in the member account. `results` and `assume` vary per test.
fn base_rules() -> Vec<Rule> {
    let mut rules = admin_rules();
    rules.push(events_rule());
    rules.extend(org_denied());
    rules
}

fn admin_rules() -> Vec<Rule> {
    vec![
        mock!(sts::Client::get_caller_identity).then_output(|| {
            sts::operation::get_caller_identity::GetCallerIdentityOutput::builder()
                .account(CALLER)
                .arn(format!("arn:aws:iam::{CALLER}:user/ops"))
                .build()
        }),
        mock!(cfn::Client::describe_stack_set).then_output(|| {
            cfn::operation::describe_stack_set::DescribeStackSetOutput::builder()
                .stack_set(
                    ct::StackSet::builder()
                        .stack_set_name(SET)
                        .stack_set_id(format!("{SET}:4d1c9b2a-7e6f-4a5b-8c9d-0e1f2a3b4c5d"))
                        .status(ct::StackSetStatus::Active)
                        .permission_model(ct::PermissionModels::ServiceManaged)
                        .parameters(ct::Parameter::builder().parameter_key("DbPassword").parameter_value("hunter2").build())
                        .parameters(ct::Parameter::builder().parameter_key("Env").parameter_value("prod").build())
                        .build(),
                )
                .build()
        }),
        mock!(cfn::Client::list_stack_set_operations).then_output(|| {
            cfn::operation::list_stack_set_operations::ListStackSetOperationsOutput::builder()
                .summaries(
                    ct::StackSetOperationSummary::builder()
                        .operation_id("1111aaaa-0000-4000-8000-000000000000")
                        .status(ct::StackSetOperationStatus::Succeeded)
                        .creation_timestamp(ts(T0 + 3600))
                        .build(),
                )
                .summaries(
                    ct::StackSetOperationSummary::builder()
                        .operation_id(OP)
                        .action(ct::StackSetOperationAction::Create)
                        .status(ct::StackSetOperationStatus::Failed)
                        .creation_timestamp(ts(T0))
                        .end_timestamp(ts(T0 + 120))
                        .build(),
                )
                .build()
        }),
        // One unfiltered listing: the two failed instances and a healthy one.
        mock!(cfn::Client::list_stack_instances)
            .match_requests(|r| r.filters().is_empty() && r.max_results() == Some(100))
            .then_output(|| {
                let inst = |a: &str, failed: bool| {
                    ct::StackInstanceSummary::builder()
                        .stack_set_id(format!("{SET}:4d1c9b2a-7e6f-4a5b-8c9d-0e1f2a3b4c5d"))
                        .account(a)
                        .region(REGION)
                        .stack_id(stack_id(a))
                        .status(if failed { ct::StackInstanceStatus::Outdated } else { ct::StackInstanceStatus::Current })
                        .set_status_reason(failed.then(|| "ResourceLogicalId:CrossAccountRole, ResourceType:AWS::IAM::Role, ResourceStatusReason:Invalid principal in policy.".to_owned()))
                        .stack_instance_status(
                            ct::StackInstanceComprehensiveStatus::builder()
                                .detailed_status(if failed { ct::StackInstanceDetailedStatus::Failed } else { ct::StackInstanceDetailedStatus::Succeeded })
                                .build(),
                        )
                        .last_operation_id(OP)
                        .build()
                };
                cfn::operation::list_stack_instances::ListStackInstancesOutput::builder()
                    .summaries(inst(DENIED, true))
                    .summaries(inst(MEMBER, true))
                    .summaries(inst(HEALTHY, false))
                    .build()
            }),
        mock!(cfn::Client::describe_stack_set_operation)
            .match_requests(|r| r.operation_id() == Some(OP))
            .then_output(|| {
                cfn::operation::describe_stack_set_operation::DescribeStackSetOperationOutput::builder()
                    .stack_set_operation(
                        ct::StackSetOperation::builder()
                            .operation_id(OP)
                            .action(ct::StackSetOperationAction::Create)
                            .status(ct::StackSetOperationStatus::Failed)
                            .creation_timestamp(ts(T0))
                            .end_timestamp(ts(T0 + 120))
                            .operation_preferences(
                                ct::StackSetOperationPreferences::builder()
                                    .failure_tolerance_count(0)
                                    .max_concurrent_percentage(25)
                                    .concurrency_mode(ct::ConcurrencyMode::StrictFailureTolerance)
                                    .region_concurrency_type(ct::RegionConcurrencyType::Sequential)
                                    .region_order(REGION)
                                    .build(),
                            )
                            .deployment_targets(
                                ct::DeploymentTargets::builder()
                                    .organizational_unit_ids("ou-ab12-11112222")
                                    .account_filter_type(ct::AccountFilterType::None)
                                    .build(),
                            )
                            .build(),
                    )
                    .build()
            }),
        // An endpoint without DescribeEvents: the stack events come from DescribeStackEvents.
        mock!(cfn::Client::describe_events).then_error(|| {
            cfn::operation::describe_events::DescribeEventsError::generic(
                ErrorMetadata::builder()
                    .code("InvalidAction")
                    .message("The action DescribeEvents is not valid for this web service.")
                    .build(),
            )
        }),
        mock!(cfn::Client::describe_stack_instance).then_compute_output(|r| {
            let a = r.stack_instance_account().unwrap_or_default().to_owned();
            cfn::operation::describe_stack_instance::DescribeStackInstanceOutput::builder()
                .stack_instance(
                    ct::StackInstance::builder()
                        .account(&a)
                        .region(REGION)
                        .stack_id(stack_id(&a))
                        .status(ct::StackInstanceStatus::Outdated)
                        .status_reason("ResourceLogicalId:CrossAccountRole, ResourceType:AWS::IAM::Role, ResourceStatusReason:Invalid principal in policy: \"AWS\":\"arn:aws:iam::111111111111:role/app-central-role\".")
                        .stack_instance_status(
                            ct::StackInstanceComprehensiveStatus::builder()
                                .detailed_status(ct::StackInstanceDetailedStatus::Failed)
                                .build(),
                        )
                        .last_operation_id(OP)
                        .build(),
                )
                .build()
        }),
        mock!(cfn::Client::describe_stacks).then_compute_output(|r| {
            let id = r.stack_name().unwrap_or_default().to_owned();
            cfn::operation::describe_stacks::DescribeStacksOutput::builder()
                .stacks(
                    ct::Stack::builder()
                        .stack_id(&id)
                        .stack_name(format!("StackSet-{SET}-4d1c9b2a-7e6f-4a5b-8c9d-0e1f2a3b4c5d"))
                        .stack_status(ct::StackStatus::RollbackComplete)
                        .creation_time(ts(T0 + 10))
                        .build(),
                )
                .build()
        }),
    ]
}

fn events_rule() -> Rule {
    mock!(cfn::Client::describe_stack_events).then_compute_output(|r| {
            let id = r.stack_name().unwrap_or_default().to_owned();
            let name = format!("StackSet-{SET}-4d1c9b2a-7e6f-4a5b-8c9d-0e1f2a3b4c5d");
            let ev = |n: i64, logical: &str, ty: &str, status: ct::ResourceStatus, reason: Option<&str>| {
                ct::StackEvent::builder()
                    .stack_id(&id)
                    .stack_name(&name)
                    .event_id(format!("e{n}"))
                    .logical_resource_id(logical)
                    .resource_type(ty)
                    .timestamp(ts(T0 + n))
                    .resource_status(status)
                    .set_resource_status_reason(reason.map(str::to_owned))
                    .build()
            };
            cfn::operation::describe_stack_events::DescribeStackEventsOutput::builder()
                .stack_events(ev(40, &name, "AWS::CloudFormation::Stack", ct::ResourceStatus::RollbackComplete, None))
                .stack_events(ev(
                    30,
                    &name,
                    "AWS::CloudFormation::Stack",
                    ct::ResourceStatus::RollbackInProgress,
                    Some("The following resource(s) failed to create: [CrossAccountRole]. Rollback requested by user."),
                ))
                .stack_events(ev(20, "CrossAccountRole", "AWS::IAM::Role", ct::ResourceStatus::CreateFailed, Some(INVALID_PRINCIPAL)))
                .stack_events(ev(12, "CrossAccountRole", "AWS::IAM::Role", ct::ResourceStatus::CreateInProgress, None))
                // Older than the operation: history, not read.
                .stack_events(ev(-7200, "Old", "AWS::IAM::Role", ct::ResourceStatus::CreateFailed, Some("ancient failure")))
                .build()
        })
}

fn org_denied() -> Vec<Rule> {
    vec![mock!(orgs::Client::describe_organization).then_error(|| {
        orgs::operation::describe_organization::DescribeOrganizationError::generic(
            ErrorMetadata::builder()
                .code("AccessDeniedException")
                .message("You don't have permissions to access this resource.")
                .build(),
        )
    })]
}

fn assume_role_denied_in(account: &'static str) -> Rule {
    mock!(sts::Client::assume_role).then_compute_response(move |r| {
        use aws_smithy_mocks::MockResponse;
        if r.role_arn().is_some_and(|a| a.contains(account)) {
            MockResponse::Error(sts::operation::assume_role::AssumeRoleError::generic(
                ErrorMetadata::builder()
                    .code("AccessDenied")
                    .message(format!(
                        "User: arn:aws:iam::{CALLER}:user/ops is not authorized to perform: sts:AssumeRole on resource: {}",
                        r.role_arn().unwrap_or_default()
                    ))
                    .build(),
            ))
        } else {
            MockResponse::Output(
                sts::operation::assume_role::AssumeRoleOutput::builder()
                    .credentials(
                        sts::types::Credentials::builder()
                            .access_key_id("ASIAEXAMPLEMEMBER001")
                            .secret_access_key("secret")
                            .session_token("token")
                            .expiration(ts(T0 + 86_400 * 400))
                            .build()
                            .expect("credentials build"),
                    )
                    .build(),
            )
        }
    })
}

fn results_rule() -> Rule {
    mock!(cfn::Client::list_stack_set_operation_results).then_compute_output(|r| {
        let status = r.filters().first().and_then(|f| f.values()).unwrap_or_default().to_owned();
        let mut out = cfn::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput::builder();
        if status == "FAILED" {
            for a in [DENIED, MEMBER] {
                out = out.summaries(
                    ct::StackSetOperationResultSummary::builder()
                        .account(a)
                        .region(REGION)
                        .status(ct::StackSetOperationResultStatus::Failed)
                        .status_reason("ResourceLogicalId:CrossAccountRole, ResourceType:AWS::IAM::Role, ResourceStatusReason:Invalid principal in policy.")
                        .build(),
                );
            }
        }
        out.build()
    })
}

const THROTTLED: &str =
    "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error>\
<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>\
<RequestId>5d0b4e8a-0000-4b1e-9d2a-1c2b3d4e5f60</RequestId></ErrorResponse>";

/// A connector that never answers requests whose body names `hang_on`, and hands the rest to the mock client.
#[derive(Debug, Clone)]
struct Hanging {
    inner: SharedHttpClient,
    hang_on: &'static str,
}

#[derive(Debug)]
struct HangingConnector {
    inner: SharedHttpConnector,
    hang_on: &'static str,
}

impl HttpConnector for HangingConnector {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let body = request.body().bytes().unwrap_or_default();
        if String::from_utf8_lossy(body).contains(self.hang_on) {
            HttpConnectorFuture::new(async {
                tokio::time::sleep(Duration::from_secs(3600)).await;
                unreachable!("the attempt timeout ends this first")
            })
        } else {
            self.inner.call(request)
        }
    }
}

impl HttpClient for Hanging {
    fn http_connector(
        &self,
        settings: &HttpConnectorSettings,
        components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(HangingConnector {
            inner: self.inner.http_connector(settings, components),
            hang_on: self.hang_on,
        })
    }
}

/// The SDK's clock, driven by tokio's: with time paused, retry back-off and the adaptive rate limiter's waits
/// pass instantly, yet they see the same time the SDK sleeps by.
#[derive(Debug)]
struct TokioClock {
    wall: std::time::SystemTime,
    start: tokio::time::Instant,
}

impl aws_smithy_async::time::TimeSource for TokioClock {
    fn now(&self) -> std::time::SystemTime {
        self.wall + self.start.elapsed()
    }
}

fn clock(wall: std::time::SystemTime) -> TokioClock {
    TokioClock {
        wall,
        start: tokio::time::Instant::now(),
    }
}

async fn run(
    rules: Vec<Rule>,
    hang_on: Option<&'static str>,
    member_role: Option<&str>,
) -> (Collected, Sdk) {
    run_at(rules, hang_on, member_role, std::time::SystemTime::now()).await
}

/// As `run`, with the SDK's clock starting at `wall`. CloudTrail searches that no rule of `rules` answers find
/// nothing (an empty page).
async fn run_at(
    rules: Vec<Rule>,
    hang_on: Option<&'static str>,
    member_role: Option<&str>,
    wall: std::time::SystemTime,
) -> (Collected, Sdk) {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    if hang_on.is_some() {
        // Unanswered calls go on to the (hanging) HTTP client.
        interceptor = interceptor.allow_passthrough();
    }
    let nothing_in_cloudtrail = mock!(ctrail::Client::lookup_events)
        .then_output(|| ctrail::operation::lookup_events::LookupEventsOutput::builder().build());
    for r in rules.iter().chain([&nothing_in_cloudtrail]) {
        interceptor = interceptor.with_rule(r);
    }
    let mock_http = aws_smithy_mocks::create_mock_http_client();
    let http = match hang_on {
        Some(h) => SharedHttpClient::new(Hanging {
            inner: mock_http,
            hang_on: h,
        }),
        None => mock_http,
    };
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "AKIAEXAMPLE000000001",
            "secret",
            None,
            None,
            "test",
        ))
        .http_client(http)
        .time_source(clock(wall))
        .retry_config(
            RetryConfig::adaptive()
                .with_max_attempts(3)
                .with_initial_backoff(Duration::from_millis(5)),
        )
        .timeout_config(
            TimeoutConfig::builder()
                .operation_attempt_timeout(Duration::from_millis(300))
                .build(),
        )
        .load()
        .await;
    let sdk = Sdk::from_config(config, vec![SharedInterceptor::new(interceptor)]).expect("sdk");
    let opts = Options {
        stack_sets: vec![SET.into()],
        member_role: member_role.map(str::to_owned),
        concurrency: 4,
        ..Options::default()
    };
    let collected = collect(&opts, &sdk).await.expect("collection runs");
    (collected, sdk)
}

fn gap<'a>(c: &'a Collected, scope_part: &str) -> Option<&'a str> {
    c.evidence
        .coverage
        .iter()
        .find(|n| n.scope.contains(scope_part) || n.reason.contains(scope_part))
        .map(|n| n.reason.as_str())
}

/// The diagnosis of what was collected: one root cause, the invalid principal, whose cause (the role in the
/// caller's account) is named as missing evidence.
fn assert_diagnosis(c: &Collected) {
    let catalog = Catalog::builtin().expect("catalog");
    let d = stackset_doctor::diagnose(&c.evidence, &catalog, Vec::new());
    assert!(
        !d.root_causes.is_empty(),
        "no root cause from {:#?}",
        c.evidence
    );
    for r in &d.root_causes {
        let f = &d.failures[r.failure];
        assert_eq!(f.class.category, Category::InvalidPrincipal, "{f:#?}");
    }
    assert!(
        d.coverage.iter().any(|l| l.contains("app-central-role")),
        "{:#?}",
        d.coverage
    );
}

#[tokio::test(start_paused = true)]
async fn throttling_is_retried_and_the_results_still_arrive() {
    let mut rules = base_rules();
    rules.push(assume_role_denied_in("999999999999"));
    rules.push(
        mock!(cfn::Client::list_stack_set_operation_results)
            .sequence()
            .http_status(400, Some(THROTTLED.into()))
            .http_status(400, Some(THROTTLED.into()))
            .output(|| {
                cfn::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput::builder()
                    .summaries(
                        ct::StackSetOperationResultSummary::builder()
                            .account(MEMBER)
                            .region(REGION)
                            .status(ct::StackSetOperationResultStatus::Failed)
                            .status_reason("Invalid principal in policy.")
                            .build(),
                    )
                    .build()
            })
            .build(),
    );
    rules.push(results_rule());
    let (c, sdk) = run(rules, None, Some("OrganizationAccountAccessRole")).await;
    assert!(
        gap(&c, "ListStackSetOperationResults").is_none(),
        "{:#?}",
        c.evidence.coverage
    );
    assert!(c
        .evidence
        .operation_results
        .iter()
        .any(|r| r.account == MEMBER && r.status == "FAILED"));
    // Two throttled attempts were retried: more attempts than calls.
    assert!(c.stats.attempts >= c.stats.total_calls + 2, "{:?}", c.stats);
    assert_eq!(
        c.stats
            .calls
            .get("CloudFormation:ListStackSetOperationResults"),
        Some(&2)
    );
    assert!(sdk.log.refused().is_empty());
    // The failed operation is the FAILED one, not the newer SUCCEEDED retry (which is recorded as the last one);
    // old events are not kept.
    let ops: Vec<(&str, &str)> = c
        .evidence
        .operations
        .iter()
        .map(|o| (o.operation_id.as_str(), o.status.as_str()))
        .collect();
    assert_eq!(
        ops,
        [
            (OP, "FAILED"),
            ("1111aaaa-0000-4000-8000-000000000000", "SUCCEEDED")
        ]
    );
    assert_eq!(gap(&c, "no failed operation"), None);
    // Described, so with its preferences and targets.
    let op = &c.evidence.operations[0];
    let prefs = op.preferences.as_ref().expect("preferences");
    assert_eq!(prefs.failure_tolerance_count, Some(0));
    assert_eq!(prefs.max_concurrent_percentage, Some(25));
    assert_eq!(
        prefs.concurrency_mode.as_deref(),
        Some("STRICT_FAILURE_TOLERANCE")
    );
    assert_eq!(prefs.region_concurrency_type.as_deref(), Some("SEQUENTIAL"));
    assert_eq!(prefs.region_order, [REGION]);
    let targets = op.deployment_targets.as_ref().expect("targets");
    assert_eq!(targets.organizational_units, ["ou-ab12-11112222"]);
    assert_eq!(targets.account_filter_type.as_deref(), Some("NONE"));
    // Every instance is in the evidence with its status; only the failed ones were described.
    let statuses: Vec<(&str, Option<&str>)> = c
        .evidence
        .stack_instances
        .iter()
        .map(|i| (i.account.as_str(), i.detailed_status.as_deref()))
        .collect();
    assert!(
        statuses.contains(&(HEALTHY, Some("SUCCEEDED"))),
        "{statuses:?}"
    );
    assert_eq!(statuses.len(), 3);
    assert_eq!(
        c.stats.calls.get("CloudFormation:ListStackInstances"),
        Some(&1)
    );
    assert_eq!(
        c.stats.calls.get("CloudFormation:DescribeStackInstance"),
        Some(&2)
    );
    // The endpoint had no DescribeEvents: tried, then DescribeStackEvents, and the bundle says so. The two failed
    // instances are read concurrently, so each may try before the other's answer says the action is unknown: at
    // least one try, at most one per failed instance, never a retry of a known-unknown action.
    let tries = c
        .stats
        .calls
        .get("CloudFormation:DescribeEvents")
        .copied()
        .unwrap_or(0);
    assert!((1..=2).contains(&tries), "{tries} DescribeEvents calls");
    assert!(gap(&c, "DescribeEvents is not known").is_some_and(|r| r.contains("InvalidAction")));
    assert!(c
        .evidence
        .stack_events
        .iter()
        .all(|e| e.status_reason.as_deref() != Some("ancient failure")));
    // The secret-looking parameter's value is not stored; the plain one is.
    let params = &c.evidence.stack_sets[0].parameters;
    assert!(params
        .iter()
        .any(|p| p.key == "DbPassword" && p.value.is_none()));
    assert!(params
        .iter()
        .any(|p| p.key == "Env" && p.value.as_deref() == Some("prod")));
    assert_diagnosis(&c);
}

#[tokio::test(start_paused = true)]
async fn throttling_that_outlasts_the_retries_is_a_gap_not_a_failure() {
    let mut rules = base_rules();
    rules.push(assume_role_denied_in("999999999999"));
    rules.push(
        mock!(cfn::Client::list_stack_set_operation_results)
            .sequence()
            .http_status(400, Some(THROTTLED.into()))
            .repeatedly()
            .build(),
    );
    let (c, _) = run(rules, None, Some("OrganizationAccountAccessRole")).await;
    let reason = gap(&c, "ListStackSetOperationResults").expect("a coverage note for the results");
    assert!(
        reason.contains("Throttling") && reason.contains("retries exhausted"),
        "{reason}"
    );
    // The instances and the member's events still came.
    assert_eq!(c.evidence.stack_instances.len(), 3);
    assert!(!c.evidence.stack_events.is_empty());
    assert_diagnosis(&c);
}

#[tokio::test]
async fn access_denied_on_assume_role_in_one_account_is_recorded_and_the_rest_goes_on() {
    let mut rules = base_rules();
    rules.push(assume_role_denied_in(DENIED));
    rules.push(results_rule());
    let (c, _) = run(rules, None, Some("OrganizationAccountAccessRole")).await;
    let reason = gap(&c, DENIED).expect("a coverage note for the denied account");
    assert!(
        reason.contains("AccessDenied") && reason.contains("not read"),
        "{reason}"
    );
    assert!(
        reason.contains(&format!(
            "arn:aws:iam::{DENIED}:role/OrganizationAccountAccessRole"
        )),
        "{reason}"
    );
    // Events came from the other account only.
    assert!(!c.evidence.stack_events.is_empty());
    assert!(c
        .evidence
        .stack_events
        .iter()
        .all(|e| e.account.as_deref() == Some(MEMBER)));
    assert!(c
        .evidence
        .stack_events
        .iter()
        .any(|e| e.status == "CREATE_FAILED"));
    // One note per account, and the organization's refusal is a gap too.
    assert_eq!(
        c.evidence
            .coverage
            .iter()
            .filter(|n| n.scope.contains(DENIED))
            .count(),
        1
    );
    assert!(gap(&c, "DescribeOrganization").is_some_and(|r| r.contains("AccessDeniedException")));
    assert_eq!(c.stats.calls.get("STS:AssumeRole"), Some(&2));
    assert_diagnosis(&c);
}

#[tokio::test]
async fn without_a_member_role_the_admin_side_still_diagnoses() {
    let mut rules = base_rules();
    rules.push(results_rule());
    let (c, _) = run(rules, None, None).await;
    assert!(c.evidence.stack_events.is_empty());
    let reason = gap(&c, MEMBER).expect("a note per member account");
    assert!(reason.contains("--member-role"), "{reason}");
    assert_eq!(c.stats.calls.get("STS:AssumeRole"), None);
    assert_diagnosis(&c);
}

#[tokio::test(start_paused = true)]
async fn a_call_that_never_answers_times_out_into_a_gap() {
    // No mock answer for the events: a mock answer would replace the timeout after the fact.
    let mut rules = admin_rules();
    rules.push(assume_role_denied_in("999999999999"));
    rules.push(results_rule());
    rules.extend(org_denied());
    let (c, _) = run(
        rules,
        Some("Action=DescribeStackEvents"),
        Some("OrganizationAccountAccessRole"),
    )
    .await;
    let reason =
        gap(&c, "cloudformation:DescribeStackEvents").expect("a coverage note for the events");
    assert!(reason.contains("timed out"), "{reason}");
    // Stacks were read; the instances' reasons carry the diagnosis.
    assert_eq!(c.evidence.stacks.len(), 2);
    assert!(c.evidence.stack_events.is_empty());
    assert_diagnosis(&c);
}

/// `DescribeEvents` where the endpoint has it: failed events only, with their type and validation details; in an
/// account whose member role may not call it, `DescribeStackEvents` instead, there only, and the coverage says so.
#[tokio::test]
async fn describe_events_pages_failures_and_a_refusing_account_falls_back_alone() {
    let describe_events = mock!(cfn::Client::describe_events).then_compute_response(|r| {
        use aws_smithy_mocks::MockResponse;
        let id = r.stack_name().unwrap_or_default().to_owned();
        if id.contains(MEMBER) {
            return MockResponse::Error(
                cfn::operation::describe_events::DescribeEventsError::generic(
                    ErrorMetadata::builder()
                        .code("AccessDenied")
                        .message("User is not authorized to perform: cloudformation:DescribeEvents")
                        .build(),
                ),
            );
        }
        assert_eq!(r.filters().and_then(|f| f.failed_events()), Some(true));
        let ev = |n: i64, kind: ct::EventType| {
            ct::OperationEvent::builder()
                .event_id(format!("oe{n}"))
                .stack_id(&id)
                .operation_id("7c9d1f2e-0000-4000-8000-00000000beef")
                .event_type(kind)
                .timestamp(ts(T0 + n))
        };
        MockResponse::Output(
            cfn::operation::describe_events::DescribeEventsOutput::builder()
                .operation_events(
                    ev(20, ct::EventType::ProvisioningError)
                        .logical_resource_id("CrossAccountRole")
                        .resource_type("AWS::IAM::Role")
                        .resource_status(ct::ResourceStatus::CreateFailed)
                        .resource_status_reason(INVALID_PRINCIPAL)
                        .build(),
                )
                .operation_events(
                    ev(11, ct::EventType::ValidationError)
                        .logical_resource_id("CrossAccountRole")
                        .resource_type("AWS::IAM::Role")
                        .detailed_status(ct::DetailedStatus::ValidationFailed)
                        .validation_name("PermissionValidation")
                        .validation_status(ct::ValidationStatus::Failed)
                        .validation_status_reason(
                            "The caller may not pass the role's trust principal",
                        )
                        .validation_failure_mode(ct::HookFailureMode::Warn)
                        .validation_path(
                            "/Resources/CrossAccountRole/Properties/AssumeRolePolicyDocument",
                        )
                        .build(),
                )
                // Older than the operation: history, not kept.
                .operation_events(
                    ev(-7200, ct::EventType::ProvisioningError)
                        .logical_resource_id("Old")
                        .resource_type("AWS::IAM::Role")
                        .resource_status(ct::ResourceStatus::CreateFailed)
                        .resource_status_reason("ancient failure")
                        .build(),
                )
                .build(),
        )
    });
    let mut rules = vec![describe_events];
    rules.extend(base_rules());
    rules.push(assume_role_denied_in("999999999999"));
    rules.push(results_rule());
    let (c, _) = run(rules, None, Some("OrganizationAccountAccessRole")).await;
    let from = |a: &'static str| {
        c.evidence
            .stack_events
            .iter()
            .filter(move |e| e.account.as_deref() == Some(a))
    };
    // The account that allows it: two failures, typed, one with its validation; the stack's name from its id.
    let typed: Vec<(Option<&str>, &str)> = from(DENIED)
        .map(|e| (e.event_type.as_deref(), e.status.as_str()))
        .collect();
    assert_eq!(
        typed,
        [
            (Some("PROVISIONING_ERROR"), "CREATE_FAILED"),
            (Some("VALIDATION_ERROR"), "VALIDATION_FAILED")
        ]
    );
    let v = from(DENIED)
        .find_map(|e| e.validation.as_ref())
        .expect("validation details");
    assert_eq!(v.name.as_deref(), Some("PermissionValidation"));
    assert_eq!(v.status.as_deref(), Some("FAILED"));
    assert_eq!(v.failure_mode.as_deref(), Some("WARN"));
    assert!(v
        .path
        .as_deref()
        .is_some_and(|p| p.ends_with("AssumeRolePolicyDocument")));
    assert!(from(DENIED).all(|e| e.stack_name.starts_with(&format!("StackSet-{SET}-"))));
    // The refusing account: DescribeStackEvents, untyped, and one note.
    assert!(from(MEMBER).any(|e| e.status == "CREATE_FAILED" && e.event_type.is_none()));
    let reason = gap(&c, "DescribeEvents refused").expect("a note for the refusing account");
    assert!(reason.contains("AccessDenied"), "{reason}");
    assert!(c
        .evidence
        .coverage
        .iter()
        .any(|n| n.scope == format!("account {MEMBER}") && n.reason.contains("DescribeEvents")));
    assert_eq!(c.stats.calls.get("CloudFormation:DescribeEvents"), Some(&2));
    assert_eq!(
        c.stats.calls.get("CloudFormation:DescribeStackEvents"),
        Some(&1)
    );
    assert!(c
        .evidence
        .stack_events
        .iter()
        .all(|e| e.status_reason.as_deref() != Some("ancient failure")));
    // (The validation event is a failure of its own; the invalid principal is still found.)
    let d = stackset_doctor::diagnose(
        &c.evidence,
        &Catalog::builtin().expect("catalog"),
        Vec::new(),
    );
    assert!(d
        .root_causes
        .iter()
        .any(|r| d.failures[r.failure].class.category == Category::InvalidPrincipal));
}

#[tokio::test]
async fn the_guard_refuses_a_mutating_call_before_it_is_sent() {
    let delete = mock!(cfn::Client::delete_stack_set)
        .then_output(|| cfn::operation::delete_stack_set::DeleteStackSetOutput::builder().build());
    let interceptor = MockResponseInterceptor::new()
        .rule_mode(RuleMode::MatchAny)
        .with_rule(&delete);
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "AKIAEXAMPLE000000001",
            "secret",
            None,
            None,
            "test",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .load()
        .await;
    let sdk = Sdk::from_config(config, vec![SharedInterceptor::new(interceptor)]).expect("sdk");
    let err = sdk
        .cloudformation(None, None)
        .delete_stack_set()
        .stack_set_name(SET)
        .send()
        .await
        .expect_err("a mutating call is refused");
    assert!(
        format!("{err:?}").contains("not a read-only operation"),
        "{err:?}"
    );
    assert_eq!(
        sdk.log.refused(),
        vec!["CloudFormation:DeleteStackSet".to_owned()]
    );
    // (The mock's own interceptor still saw the call; the HTTP client never did.)
    assert_eq!(sdk.log.attempts(), 0, "nothing was sent");
}

// ---- CloudTrail (docs/cloudtrail-collection.md). Both failing accounts' IAM role failed in REGION: each gets a
// ---- search there (writes only: the stack's own events and a global service's resource) and one in us-east-1
// ---- (IAM's event source), over its own window. MEMBER's failures are 200 s after DENIED's, so the windows (and
// ---- the requests' StartTime) tell the accounts apart.

const MEMBER_SHIFT: i64 = 200;

/// The stacks' events as `events_rule`'s, MEMBER's `MEMBER_SHIFT` seconds later (all within the operation's window).
fn staggered_events_rule() -> Rule {
    mock!(cfn::Client::describe_stack_events).then_compute_output(|r| {
        let id = r.stack_name().unwrap_or_default().to_owned();
        let shift = if id.contains(MEMBER) { MEMBER_SHIFT } else { 0 };
        let name = format!("StackSet-{SET}-4d1c9b2a-7e6f-4a5b-8c9d-0e1f2a3b4c5d");
        let ev = |n: i64, logical: &str, ty: &str, status: ct::ResourceStatus, reason: Option<&str>| {
            ct::StackEvent::builder()
                .stack_id(&id)
                .stack_name(&name)
                .event_id(format!("e{n}"))
                .logical_resource_id(logical)
                .resource_type(ty)
                .timestamp(ts(T0 + shift + n))
                .resource_status(status)
                .set_resource_status_reason(reason.map(str::to_owned))
                .build()
        };
        cfn::operation::describe_stack_events::DescribeStackEventsOutput::builder()
            .stack_events(ev(30, &name, "AWS::CloudFormation::Stack", ct::ResourceStatus::RollbackInProgress,
                Some("The following resource(s) failed to create: [CrossAccountRole]. Rollback requested by user.")))
            .stack_events(ev(20, "CrossAccountRole", "AWS::IAM::Role", ct::ResourceStatus::CreateFailed, Some(INVALID_PRINCIPAL)))
            .build()
    })
}

/// The StartTime of `account`'s searches: 5 minutes before its first failure event.
fn window_start(account: &str) -> i64 {
    T0 + 20 - 300 + if account == MEMBER { MEMBER_SHIFT } else { 0 }
}

fn searches_of(
    account: &'static str,
) -> impl Fn(&ctrail::operation::lookup_events::LookupEventsInput) -> bool {
    move |r| r.start_time().map(|t| t.secs()) == Some(window_start(account))
}

fn attribute(r: &ctrail::operation::lookup_events::LookupEventsInput) -> Option<(String, String)> {
    r.lookup_attributes().first().map(|a| {
        (
            a.attribute_key().as_str().to_owned(),
            a.attribute_value().to_owned(),
        )
    })
}

/// IAM's CreateRole that CloudFormation's execution role made in `account`, failed on the invalid principal, and
/// the same call by someone else (not kept).
fn create_role_events(account: &str) -> ctrail::operation::lookup_events::LookupEventsOutput {
    let record = |id: &str, role: &str, invoked_by: Option<&str>| {
        let mut identity = serde_json::json!({
            "type": "AssumedRole",
            "arn": format!("arn:aws:sts::{account}:assumed-role/{role}/s1"),
            "accountId": account,
            "sessionContext": {"sessionIssuer": {"type": "Role", "arn": format!("arn:aws:iam::{account}:role/{role}")}},
        });
        if let Some(by) = invoked_by {
            identity["invokedBy"] = by.into();
        }
        serde_json::json!({
            "eventVersion": "1.09",
            "userIdentity": identity,
            "eventTime": "2025-03-10T05:10:19Z",
            "eventSource": "iam.amazonaws.com",
            "eventName": "CreateRole",
            "awsRegion": "us-east-1",
            "sourceIPAddress": invoked_by.unwrap_or("198.51.100.4"),
            "errorCode": "MalformedPolicyDocumentException",
            "errorMessage": "Invalid principal in policy: \"AWS\":\"arn:aws:iam::111111111111:role/app-central-role\"",
            "requestParameters": {"roleName": "app-cross-account"},
            "eventID": id,
            "recipientAccountId": account,
        })
        .to_string()
    };
    let event = |id: &str, role: &str, by: Option<&str>| {
        ctrail::types::Event::builder()
            .event_id(id)
            .event_name("CreateRole")
            .event_source("iam.amazonaws.com")
            .event_time(ts(T0 + 19))
            .resources(
                ctrail::types::Resource::builder()
                    .resource_type("AWS::IAM::Role")
                    .resource_name("app-cross-account")
                    .build(),
            )
            .cloud_trail_event(record(id, role, by))
            .build()
    };
    ctrail::operation::lookup_events::LookupEventsOutput::builder()
        .events(event(
            &format!("cfn-{account}"),
            "stacksets-exec-7f3e",
            Some("cloudformation.amazonaws.com"),
        ))
        .events(event(&format!("someone-{account}"), "ci-deployer", None))
        .build()
}

fn iam_search(r: &ctrail::operation::lookup_events::LookupEventsInput) -> bool {
    attribute(r) == Some(("EventSource".into(), "iam.amazonaws.com".into()))
}

const CLOUDTRAIL_THROTTLED: &str =
    "{\"__type\":\"ThrottlingException\",\"message\":\"Rate exceeded\"}";

#[tokio::test(start_paused = true)]
async fn cloudtrail_throttling_is_retried_and_the_events_arrive() {
    let mut rules = admin_rules();
    rules.push(staggered_events_rule());
    rules.extend(org_denied());
    rules.push(assume_role_denied_in("999999999999"));
    rules.push(results_rule());
    rules.push(
        mock!(ctrail::Client::lookup_events)
            .match_requests(|r| searches_of(MEMBER)(r) && iam_search(r))
            .sequence()
            .http_status(400, Some(CLOUDTRAIL_THROTTLED.into()))
            .http_status(400, Some(CLOUDTRAIL_THROTTLED.into()))
            .output(|| create_role_events(MEMBER))
            .build(),
    );
    let (c, sdk) = run(rules, None, Some("OrganizationAccountAccessRole")).await;
    let ev = &c.evidence;
    // MEMBER's CloudFormation call arrived after two throttled attempts; someone else's call was not kept.
    let kept: Vec<(&str, Option<&str>, Option<&str>)> = ev
        .trail_events
        .iter()
        .map(|e| {
            (
                e.event_id.as_str(),
                e.account.as_deref(),
                e.region.as_deref(),
            )
        })
        .collect();
    assert_eq!(
        kept,
        [(
            format!("cfn-{MEMBER}").as_str(),
            Some(MEMBER),
            Some("us-east-1")
        )]
    );
    let e = &ev.trail_events[0];
    assert_eq!(
        e.error_code.as_deref(),
        Some("MalformedPolicyDocumentException")
    );
    assert!(
        e.resources.iter().any(|r| r == "app-cross-account"),
        "{:?}",
        e.resources
    );
    assert!(
        ev.coverage.iter().all(|n| !n.reason.contains("cloudtrail")),
        "{:#?}",
        ev.coverage
    );
    // Four searches (two accounts, each in its Region and in us-east-1), one page each; five attempts.
    let lookups: Vec<Lookup> = ev
        .trail_lookups
        .iter()
        .map(|l| {
            (
                l.account.as_str(),
                l.region.as_str(),
                l.attribute.as_deref(),
                l.pages,
                l.events,
                l.complete,
            )
        })
        .collect();
    assert_eq!(
        lookups,
        [
            (DENIED, REGION, Some("ReadOnly=false"), 1, 0, true),
            (
                DENIED,
                "us-east-1",
                Some("EventSource=iam.amazonaws.com"),
                1,
                0,
                true
            ),
            (MEMBER, REGION, Some("ReadOnly=false"), 1, 0, true),
            (
                MEMBER,
                "us-east-1",
                Some("EventSource=iam.amazonaws.com"),
                1,
                1,
                true
            ),
        ]
    );
    assert_eq!(c.stats.calls.get("CloudTrail:LookupEvents"), Some(&4));
    assert!(c.stats.attempts >= c.stats.total_calls + 2, "{:?}", c.stats);
    assert!(sdk.log.refused().is_empty());
    assert_diagnosis(&c);
}

#[tokio::test(start_paused = true)]
async fn cloudtrail_refused_in_one_account_is_a_note_naming_the_permission_and_the_other_account_is_searched(
) {
    let mut rules = admin_rules();
    rules.push(staggered_events_rule());
    rules.extend(org_denied());
    rules.push(assume_role_denied_in("999999999999"));
    rules.push(results_rule());
    rules.push(
        mock!(ctrail::Client::lookup_events)
            .match_requests(searches_of(DENIED))
            .then_error(|| {
                ctrail::operation::lookup_events::LookupEventsError::generic(
                    ErrorMetadata::builder()
                        .code("AccessDeniedException")
                        .message(format!(
                            "User: arn:aws:sts::{DENIED}:assumed-role/OrganizationAccountAccessRole/stackset-doctor is \
                             not authorized to perform: cloudtrail:LookupEvents"
                        ))
                        .build(),
                )
            }),
    );
    rules.push(
        mock!(ctrail::Client::lookup_events)
            .match_requests(|r| searches_of(MEMBER)(r) && iam_search(r))
            .then_output(|| create_role_events(MEMBER)),
    );
    let (c, _) = run(rules, None, Some("OrganizationAccountAccessRole")).await;
    let ev = &c.evidence;
    for region in [REGION, "us-east-1"] {
        let note = ev
            .coverage
            .iter()
            .find(|n| n.scope == format!("account {DENIED} ({region})"))
            .unwrap_or_else(|| panic!("a note for {DENIED} in {region}: {:#?}", ev.coverage));
        assert!(
            note.reason
                .starts_with("cloudtrail:LookupEvents: AccessDeniedException"),
            "{}",
            note.reason
        );
        assert!(note.reason.contains("not searched"), "{}", note.reason);
        assert!(
            note.reason.contains(
                "allow cloudtrail:LookupEvents to the member role OrganizationAccountAccessRole"
            ),
            "{}",
            note.reason
        );
    }
    // DENIED could not be searched: no lookup recorded for it, so "not searched" is not "searched, nothing found".
    assert!(
        ev.trail_lookups.iter().all(|l| l.account == MEMBER),
        "{:?}",
        ev.trail_lookups
    );
    assert_eq!(ev.trail_lookups.len(), 2);
    assert_eq!(ev.trail_events.len(), 1);
    assert_eq!(ev.trail_events[0].account.as_deref(), Some(MEMBER));
    // The rest of the evidence stands: both accounts' stack events, and the diagnosis.
    for a in [DENIED, MEMBER] {
        assert!(ev
            .stack_events
            .iter()
            .any(|e| e.account.as_deref() == Some(a) && e.status == "CREATE_FAILED"));
    }
    assert_diagnosis(&c);
}

#[tokio::test(start_paused = true)]
async fn an_empty_window_is_a_complete_search_with_nothing_found() {
    let mut rules = base_rules();
    rules.push(assume_role_denied_in("999999999999"));
    rules.push(results_rule());
    let (c, _) = run(rules, None, Some("OrganizationAccountAccessRole")).await;
    let ev = &c.evidence;
    assert!(ev.trail_events.is_empty());
    assert_eq!(ev.trail_lookups.len(), 4, "{:?}", ev.trail_lookups);
    for l in &ev.trail_lookups {
        assert!(l.complete && l.pages == 1 && l.events == 0, "{l:?}");
        // The window: 5 minutes before the first failure (the role, T0 + 20) to 2 after the last: in the stack's
        // Region the rollback (T0 + 30); in us-east-1, where only the IAM role's calls are, the role.
        assert_eq!(l.start.timestamp(), T0 + 20 - 300, "{l:?}");
        let last = if l.region == "us-east-1" {
            T0 + 20
        } else {
            T0 + 30
        };
        assert_eq!(l.end.timestamp(), last + 120, "{l:?}");
    }
    // Long ago: no note that events may still arrive.
    assert!(
        ev.coverage.iter().all(|n| !n.reason.contains("CloudTrail")),
        "{:#?}",
        ev.coverage
    );
    assert_diagnosis(&c);
}

#[tokio::test(start_paused = true)]
async fn a_window_that_just_ended_says_events_may_still_arrive() {
    let mut rules = base_rules();
    rules.push(assume_role_denied_in("999999999999"));
    rules.push(results_rule());
    // The SDK's clock: 10 minutes after the failures.
    let wall = std::time::UNIX_EPOCH + Duration::from_secs((T0 + 30 + 600) as u64);
    let (c, _) = run_at(rules, None, Some("OrganizationAccountAccessRole"), wall).await;
    let notes: Vec<&str> = c
        .evidence
        .coverage
        .iter()
        .filter(|n| n.reason.contains("CloudTrail delivers events"))
        .map(|n| n.scope.as_str())
        .collect();
    assert_eq!(notes.len(), 4, "{:#?}", c.evidence.coverage);
    assert!(notes
        .iter()
        .all(|s| s.contains(DENIED) || s.contains(MEMBER)));
}

#[tokio::test(start_paused = true)]
async fn no_cloudtrail_makes_no_search() {
    let mut rules = base_rules();
    rules.push(assume_role_denied_in("999999999999"));
    rules.push(results_rule());
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in &rules {
        interceptor = interceptor.with_rule(r);
    }
    let config = aws_config::defaults(BehaviorVersion::latest())
        .region(Region::new(REGION))
        .credentials_provider(Credentials::new(
            "AKIAEXAMPLE000000001",
            "secret",
            None,
            None,
            "test",
        ))
        .http_client(aws_smithy_mocks::create_mock_http_client())
        .load()
        .await;
    let sdk = Sdk::from_config(config, vec![SharedInterceptor::new(interceptor)]).expect("sdk");
    let opts = Options {
        stack_sets: vec![SET.into()],
        member_role: Some("OrganizationAccountAccessRole".into()),
        cloudtrail: false,
        ..Options::default()
    };
    let c = collect(&opts, &sdk).await.expect("collects");
    assert_eq!(c.stats.calls.get("CloudTrail:LookupEvents"), None);
    assert!(c.evidence.trail_lookups.is_empty());
    assert!(!c.evidence.stack_events.is_empty());
}

/// A CloudTrail search as the bundle records it: account, Region, attribute, pages, events kept, complete.
type Lookup<'a> = (&'a str, &'a str, Option<&'a str>, u32, usize, bool);
