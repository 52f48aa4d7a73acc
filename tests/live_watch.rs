//! `watch` (docs/watch.md): the polling loop with `aws-smithy-mocks` answering for AWS on paused tokio time
//! (throttling, an unknown operation, the timeout, Ctrl-C, which operation is chosen), and the real binary against
//! the emulator, whose `--running-for` keeps a seeded operation RUNNING for a few seconds before it ends.

use std::time::Duration;

use aws_config::{BehaviorVersion, Region};
use aws_credential_types::Credentials;
use aws_sdk_cloudformation as cfn;
use aws_sdk_cloudformation::types as ct;
use aws_smithy_mocks::{mock, MockResponseInterceptor, Rule, RuleMode};
use aws_smithy_runtime_api::client::interceptors::SharedInterceptor;
use aws_smithy_types::error::ErrorMetadata;
use aws_smithy_types::retry::RetryConfig;
use aws_smithy_types::timeout::TimeoutConfig;
use serde_json::Value;

use stackset_doctor::collect::aws::Sdk;
use stackset_doctor::collect::live::watch::{
    watch, Backoff, Change, Ended, Update, WatchOptions, Watcher,
};
use stackset_doctor::collect::live::CallAs;
use stackset_doctor::error::Error;

use crate::live_emulator::Emulator;

const SET: &str = "app-baseline";
const OP: &str = "0b6e7c1a-5f1e-4b7e-9a61-8f0c2d3e4f50";
const REGION: &str = "eu-west-1";

const THROTTLED: &str =
    "<ErrorResponse xmlns=\"http://cloudformation.amazonaws.com/doc/2010-05-15/\"><Error>\
<Type>Sender</Type><Code>Throttling</Code><Message>Rate exceeded</Message></Error>\
<RequestId>5d0b4e8a-0000-4b1e-9d2a-1c2b3d4e5f60</RequestId></ErrorResponse>";

/// The SDK's clock, driven by tokio's: with time paused, retry back-off passes instantly, yet the SDK sees the
/// same time it sleeps by.
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

async fn sdk(rules: &[Rule]) -> Sdk {
    let mut interceptor = MockResponseInterceptor::new().rule_mode(RuleMode::MatchAny);
    for r in rules {
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
        .time_source(TokioClock {
            wall: std::time::SystemTime::now(),
            start: tokio::time::Instant::now(),
        })
        // Standard, not adaptive as the tool runs: adaptive mode's client rate limiter is shared by every client of
        // the process (one retry partition per service), so another test's throttling would slow these clients
        // down, on a clock that is not this test's paused one.
        .retry_config(
            RetryConfig::standard()
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
    Sdk::from_config(config, vec![SharedInterceptor::new(interceptor)]).expect("sdk")
}

fn options(operation_id: Option<&str>, timeout: Option<Duration>) -> WatchOptions {
    WatchOptions {
        stack_set: SET.into(),
        operation_id: operation_id.map(str::to_owned),
        call_as: CallAs::Auto,
        regions: Vec::new(),
        timeout,
        backoff: Backoff::default(),
    }
}

fn described(
    status: ct::StackSetOperationStatus,
) -> cfn::operation::describe_stack_set_operation::DescribeStackSetOperationOutput {
    cfn::operation::describe_stack_set_operation::DescribeStackSetOperationOutput::builder()
        .stack_set_operation(
            ct::StackSetOperation::builder()
                .operation_id(OP)
                .action(ct::StackSetOperationAction::Create)
                .status(status)
                .build(),
        )
        .build()
}

fn results_rule(status: ct::StackSetOperationResultStatus) -> Rule {
    mock!(cfn::Client::list_stack_set_operation_results).then_output(move || {
        cfn::operation::list_stack_set_operation_results::ListStackSetOperationResultsOutput::builder()
            .summaries(
                ct::StackSetOperationResultSummary::builder()
                    .account("222222222222")
                    .region(REGION)
                    .status(status.clone())
                    .build(),
            )
            .build()
    })
}

/// Run the loop, keeping every update as text, with `stop` as Ctrl-C.
async fn run(
    sdk: &Sdk,
    o: &WatchOptions,
    stop: impl std::future::Future<Output = ()>,
) -> (Result<(Watcher, Ended), Error>, Vec<String>) {
    let mut seen = Vec::new();
    let r = watch(sdk, o, stop, &mut |u| {
        seen.push(match u {
            Update::Chosen { operation_id, .. } => format!("chosen {operation_id}"),
            Update::Changes(c, w) => format!("{} changes, {}", c.len(), w.progress().line()),
            Update::PollFailed(reason, w) => {
                format!("poll failed, next in {:?}: {reason}", w.delay())
            }
        })
    })
    .await;
    (r, seen)
}

#[tokio::test(start_paused = true)]
async fn a_throttled_describe_is_retried_and_a_poll_that_runs_out_of_retries_only_delays_the_wait()
{
    let describe = mock!(cfn::Client::describe_stack_set_operation)
        .sequence()
        .output(|| described(ct::StackSetOperationStatus::Running))
        // The next poll: throttled on every attempt (3), so that poll fails and the wait backs off.
        .http_status(400, Some(THROTTLED.into()))
        .times(3)
        // The one after: throttled once, retried by the SDK, answered.
        .http_status(400, Some(THROTTLED.into()))
        .output(|| described(ct::StackSetOperationStatus::Running))
        .output(|| described(ct::StackSetOperationStatus::Failed))
        .build();
    let rules = [
        describe,
        results_rule(ct::StackSetOperationResultStatus::Failed),
    ];
    let sdk = sdk(&rules).await;
    let started = tokio::time::Instant::now();
    let (r, seen) = run(&sdk, &options(Some(OP), None), std::future::pending()).await;
    let (w, ended) = r.expect("the wait ends");
    assert_eq!(ended, Ended::Finished, "{seen:?}");
    assert_eq!(w.status(), Some("FAILED"));
    assert_eq!(w.failed().len(), 1);
    assert!(
        seen.iter()
            .any(|s| s.starts_with("poll failed, next in 4s") && s.contains("Throttling")),
        "{seen:?}"
    );
    // 2 s, then a failed poll doubles the delay to 4 s, then a quiet one grows it to 6 s: 12 s of sleeps, and
    // the SDK's retry back-off (milliseconds here).
    let took = started.elapsed();
    assert!(
        took >= Duration::from_secs(12) && took < Duration::from_secs(13),
        "{took:?} {seen:?}"
    );
    let calls = sdk.log.calls();
    assert_eq!(
        calls.get("CloudFormation:DescribeStackSetOperation"),
        Some(&4)
    );
    // Retries: 3 attempts for the failed poll, 2 for the retried one, 1 each for the rest.
    assert!(sdk.log.attempts() >= 4 + 3, "{}", sdk.log.attempts());
    assert!(sdk.log.refused().is_empty());
}

#[tokio::test(start_paused = true)]
async fn an_operation_that_does_not_exist_is_a_clear_error() {
    let describe = mock!(cfn::Client::describe_stack_set_operation).then_error(|| {
        cfn::operation::describe_stack_set_operation::DescribeStackSetOperationError::generic(
            ErrorMetadata::builder()
                .code("OperationNotFoundException")
                .message("Operation 0b6e... not found")
                .build(),
        )
    });
    let sdk = sdk(&[describe]).await;
    let (r, seen) = run(&sdk, &options(Some(OP), None), std::future::pending()).await;
    let e = r.expect_err("an error").to_string();
    assert!(e.contains(OP) && e.contains(SET), "{e}");
    assert!(e.contains("OperationNotFoundException"), "{e}");
    assert!(e.contains("list-stack-set-operations"), "{e}");
    assert!(seen.is_empty(), "{seen:?}");
}

#[tokio::test(start_paused = true)]
async fn a_stack_set_not_found_as_self_is_looked_for_as_delegated_admin() {
    let list = mock!(cfn::Client::list_stack_set_operations)
        .match_requests(|r| r.call_as() == Some(&ct::CallAs::SelfValue))
        .then_error(|| {
            cfn::operation::list_stack_set_operations::ListStackSetOperationsError::generic(
                ErrorMetadata::builder()
                    .code("StackSetNotFoundException")
                    .message("StackSet app-baseline not found")
                    .build(),
            )
        });
    // As DELEGATED_ADMIN: a newer SUCCEEDED operation and an older one still RUNNING, which is the one watched.
    let list_da = mock!(cfn::Client::list_stack_set_operations)
        .match_requests(|r| r.call_as() == Some(&ct::CallAs::DelegatedAdmin))
        .then_output(|| {
            cfn::operation::list_stack_set_operations::ListStackSetOperationsOutput::builder()
                .summaries(
                    ct::StackSetOperationSummary::builder()
                        .operation_id("1111aaaa-0000-4000-8000-000000000000")
                        .status(ct::StackSetOperationStatus::Succeeded)
                        .creation_timestamp(aws_smithy_types::DateTime::from_secs(2_000))
                        .build(),
                )
                .summaries(
                    ct::StackSetOperationSummary::builder()
                        .operation_id(OP)
                        .status(ct::StackSetOperationStatus::Running)
                        .creation_timestamp(aws_smithy_types::DateTime::from_secs(1_000))
                        .build(),
                )
                .build()
        });
    let describe = mock!(cfn::Client::describe_stack_set_operation)
        .match_requests(|r| {
            r.operation_id() == Some(OP) && r.call_as() == Some(&ct::CallAs::DelegatedAdmin)
        })
        .then_output(|| described(ct::StackSetOperationStatus::Succeeded));
    let rules = [
        list,
        list_da,
        describe,
        results_rule(ct::StackSetOperationResultStatus::Succeeded),
    ];
    let sdk = sdk(&rules).await;
    let (r, seen) = run(&sdk, &options(None, None), std::future::pending()).await;
    let (w, ended) = r.expect("the wait ends");
    assert_eq!(ended, Ended::Finished);
    assert_eq!(w.operation_id, OP);
    assert_eq!(w.status(), Some("SUCCEEDED"));
    assert_eq!(seen[0], format!("chosen {OP}"));
    // Already ended: one look, no sleep.
    assert_eq!(w.polls(), 1);
}

#[tokio::test(start_paused = true)]
async fn the_timeout_ends_the_wait_with_what_was_seen() {
    let describe = mock!(cfn::Client::describe_stack_set_operation)
        .then_output(|| described(ct::StackSetOperationStatus::Running));
    let sdk = sdk(&[
        describe,
        results_rule(ct::StackSetOperationResultStatus::Running),
    ])
    .await;
    let started = tokio::time::Instant::now();
    let (r, seen) = run(
        &sdk,
        &options(Some(OP), Some(Duration::from_secs(60))),
        std::future::pending(),
    )
    .await;
    let (w, ended) = r.expect("the wait ends");
    assert_eq!(ended, Ended::TimedOut);
    // The last sleep is cut to the deadline, and the deadline gets one last look.
    assert_eq!(started.elapsed(), Duration::from_secs(60));
    // 2, 3, 4.5, 6.75, 10.1, 15.2 s (41.6 s), then the 18.4 s left: 8 polls, and nothing changed after the first.
    assert_eq!(w.polls(), 8, "{seen:?}");
    assert_eq!(seen.len(), 2, "{seen:?}");
    let s = w.summary();
    assert!(
        s.contains("RUNNING") && s.contains("0/1 done") && s.contains(OP),
        "{s}"
    );
}

#[tokio::test(start_paused = true)]
async fn ctrl_c_stops_the_wait_between_polls() {
    let describe = mock!(cfn::Client::describe_stack_set_operation)
        .then_output(|| described(ct::StackSetOperationStatus::Running));
    let sdk = sdk(&[
        describe,
        results_rule(ct::StackSetOperationResultStatus::Running),
    ])
    .await;
    let started = tokio::time::Instant::now();
    let (r, _) = run(
        &sdk,
        &options(Some(OP), None),
        tokio::time::sleep(Duration::from_secs(7)),
    )
    .await;
    let (w, ended) = r.expect("the wait ends");
    assert_eq!(ended, Ended::Interrupted);
    assert_eq!(started.elapsed(), Duration::from_secs(7));
    assert_eq!(w.status(), Some("RUNNING"));
    assert_eq!(w.polls(), 3);
}

#[test]
fn an_instance_that_fails_is_one_change_naming_it() {
    // The unit tests cover the state machine; this checks the change the binary prints from.
    let mut w = Watcher::new(SET, OP, Backoff::default(), None, Vec::new());
    let obs = |st: &str| stackset_doctor::collect::live::watch::Observation {
        status: "RUNNING".into(),
        results: Some(vec![
            stackset_doctor::collect::live::watch::InstanceResult {
                account: "222222222222".into(),
                region: REGION.into(),
                status: st.into(),
                reason: None,
                organizational_unit: None,
            },
        ]),
        ..Default::default()
    };
    w.observe(obs("RUNNING"));
    let c = w.observe(obs("FAILED"));
    assert!(
        matches!(&c[..], [Change::Instance { account, to, .. }] if account == "222222222222" && to == "FAILED"),
        "{c:?}"
    );
}

// ---- Against the emulator, through the binary: stderr is a pipe, so progress is one line per change.

const ENV: &[(&str, &str)] = &[
    ("AWS_ACCESS_KEY_ID", "testing"),
    ("AWS_SECRET_ACCESS_KEY", "testing"),
    ("AWS_SESSION_TOKEN", ""),
    ("AWS_CONFIG_FILE", "/dev/null"),
    ("AWS_SHARED_CREDENTIALS_FILE", "/dev/null"),
    ("AWS_EC2_METADATA_DISABLED", "true"),
];

fn run_bin(args: &[&str]) -> (i32, String, String) {
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stackset-doctor"));
    cmd.args(args).stdin(std::process::Stdio::null());
    for (k, v) in ENV {
        cmd.env(k, v);
    }
    cmd.env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION");
    let out = cmd.output().expect("binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn watch_lines(stderr: &str) -> Vec<&str> {
    stderr
        .lines()
        .filter(|l| l.starts_with("stackset-doctor: watch: "))
        .collect()
}

#[test]
fn watch_waits_for_an_operation_that_fails_then_diagnoses_its_root_cause() {
    let emu = Emulator::start(&["--running-for", "3"]);
    let (code, out, err) = run_bin(&[
        "watch",
        "--stack-set",
        "AWS-QuickSetup-SSM-DA-abcde",
        "--endpoint-url",
        &emu.url,
        "--region",
        "ap-northeast-1",
        "--member-role",
        "OrganizationAccountAccessRole",
        "--early",
        "--format",
        "json",
    ]);
    assert_eq!(code, 3, "stderr: {err}\nstdout: {out}");
    let report: Value = serde_json::from_str(&out).expect("JSON report on stdout");
    let rc = &report["root_causes"][0];
    assert_eq!(rc["logical_id"], "DiagnosisBucket", "{rc:#}");
    assert_eq!(rc["account"], "121212121212", "{rc:#}");
    let lines = watch_lines(&err);
    // One line per change, in order: chosen, RUNNING, the instance RUNNING, FAILED, the early root cause, the
    // operation FAILED, ended.
    let at = |needles: &[&str]| {
        lines
            .iter()
            .position(|l| needles.iter().all(|n| l.contains(n)))
            .unwrap_or_else(|| panic!("no line with {needles:?} in {lines:#?}"))
    };
    let running = at(&["operation ", ": RUNNING (CREATE)"]);
    let failed = at(&["121212121212 ap-northeast-1: RUNNING -> FAILED"]);
    let early = at(&["early: 121212121212 ap-northeast-1: root cause"]);
    let ended = at(&["operation ", ": RUNNING -> FAILED (1/1 done, 1 failed"]);
    assert!(
        running < failed && failed < early && early < ended,
        "{lines:#?}"
    );
    assert!(
        lines[early].contains("scp-explicit-deny") && lines[early].contains("DiagnosisBucket"),
        "{}",
        lines[early]
    );
    assert!(
        lines
            .last()
            .is_some_and(|l| l.contains("the operation ended after")),
        "{lines:#?}"
    );
    // Nothing is said twice.
    let mut sorted = lines.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), lines.len(), "{lines:#?}");
    // No progress bar escapes in a pipe.
    assert!(!err.contains('\u{1b}'), "{err}");
}

#[test]
fn watch_of_an_operation_that_succeeds_exits_0() {
    let emu = Emulator::start(&["--scenario", "healthy", "--running-for", "2"]);
    let (code, out, err) = run_bin(&[
        "watch",
        "--stack-set",
        "healthy-baseline",
        "--endpoint-url",
        &emu.url,
        "--region",
        "ap-northeast-1",
    ]);
    assert_eq!(code, 0, "stderr: {err}\nstdout: {out}");
    let lines = watch_lines(&err);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("232323232323 ap-northeast-1: RUNNING -> SUCCEEDED")),
        "{lines:#?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("RUNNING -> SUCCEEDED (2/2 done, 0 remaining")),
        "{lines:#?}"
    );
    assert!(!out.is_empty());
}

#[test]
fn watch_times_out_or_is_interrupted_with_what_was_seen_and_an_unknown_operation_is_an_error() {
    let emu = Emulator::start(&["--running-for", "60"]);
    let base = [
        "watch",
        "--stack-set",
        "AWS-QuickSetup-SSM-TA-abcde",
        "--endpoint-url",
        &emu.url,
        "--region",
        "ap-northeast-1",
    ];
    let mut args = base.to_vec();
    args.extend(["--timeout", "1500ms", "--format", "json"]);
    let started = std::time::Instant::now();
    let (code, out, err) = run_bin(&args);
    assert_eq!(code, 6, "stderr: {err}\nstdout: {out}");
    assert!(started.elapsed() < Duration::from_secs(20));
    assert!(out.is_empty(), "nothing diagnosed: {out}");
    let last = *watch_lines(&err).last().expect("lines");
    assert!(
        last.contains("timed out after") && last.contains("--timeout 1.5 s"),
        "{last}"
    );
    assert!(
        last.contains("RUNNING") && last.contains("remaining"),
        "{last}"
    );

    // Ctrl-C (SIGINT) while waiting: what was seen, exit 130.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_stackset-doctor"));
    cmd.args(base)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    for (k, v) in ENV {
        cmd.env(k, v);
    }
    cmd.env_remove("AWS_PROFILE")
        .env_remove("AWS_ENDPOINT_URL")
        .env_remove("AWS_REGION");
    let mut child = cmd.spawn().expect("binary runs");
    let mut stderr = std::io::BufReader::new(child.stderr.take().expect("stderr"));
    let mut first = String::new();
    // The first line comes once the operation is chosen (and SIGINT is tokio's to handle).
    std::io::BufRead::read_line(&mut stderr, &mut first).expect("a line");
    assert!(first.contains("waiting for operation"), "{first}");
    let killed = std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(killed.success());
    let status = child.wait().expect("it ends");
    let mut rest = String::new();
    std::io::Read::read_to_string(&mut stderr, &mut rest).expect("stderr");
    assert_eq!(status.code(), Some(130), "{first}{rest}");
    assert!(
        rest.contains("interrupted after") && rest.contains("nothing diagnosed"),
        "{rest}"
    );

    let mut args = base.to_vec();
    args.extend(["--operation-id", "00000000-0000-4000-8000-00000000dead"]);
    let (code, _, err) = run_bin(&args);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("OperationNotFoundException")
            && err.contains("00000000-0000-4000-8000-00000000dead"),
        "{err}"
    );
}

#[test]
fn watch_refuses_what_it_cannot_wait_for_as_usage_errors() {
    for (args, says) in [
        (&["watch", "--quick-setup"][..], "--stack-set"),
        (
            &["watch", "--stack-set", "a", "--quick-setup"][..],
            "--quick-setup does not apply",
        ),
        (
            &["watch", "--stack-set", "a", "--stack-set", "b"][..],
            "once",
        ),
        (
            &["watch", "--stack-set", "a", "--timeout", "0s"][..],
            "zero",
        ),
        (
            &["watch", "--stack-set", "a", "--timeout", "soon"][..],
            "not a duration",
        ),
    ] {
        let (code, _, err) = crate::common::run(args, None);
        assert_eq!(code, 2, "{args:?}: {err}");
        assert!(err.contains(says), "{args:?}: {err}");
    }
}
