//! Waiting for a StackSet operation to end (`stackset-doctor watch`; semantics in docs/watch.md).
//!
//! Takes a stack set, optionally an operation id, and [`WatchOptions`]; polls `DescribeStackSetOperation` and
//! `ListStackSetOperationResults` until the operation's status is final, the timeout passes or the caller's `stop`
//! future resolves; gives the [`Watcher`] with everything it saw, and how the wait [`Ended`].
//!
//! The deciding is a pure state machine, [`Watcher`]: it is handed each poll's [`Observation`] and says what
//! changed ([`Change`]), the progress per Region ([`Progress`]) and when to poll next ([`Next`]), so that back-off,
//! timeouts and finish detection are tested without AWS or real time. [`watch`] is the thin loop that asks AWS and
//! sleeps (on tokio's clock, so paused time drives it in tests).

use std::collections::BTreeMap;
use std::future::Future;
use std::time::Duration;

use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};

use super::{time, CallAs};
use crate::collect::aws::{describe_error, error_code, Sdk};
use crate::error::Error;
use crate::evidence::{Evidence, Operation, OperationResult, SourceRef};
use crate::vocabulary::status;

/// `StackSetOperationStatus` values after which the operation changes no more: SUCCEEDED, FAILED, STOPPED. RUNNING,
/// STOPPING and QUEUED are still going (docs/watch.md#statuses).
pub fn operation_final(status: &str) -> bool {
    matches!(status, "SUCCEEDED" | "FAILED" | "STOPPED")
}

/// `StackSetOperationResultStatus` values after which an instance's part of the operation is over: SUCCEEDED, FAILED,
/// CANCELLED. PENDING and RUNNING are still to come.
pub fn result_final(status: &str) -> bool {
    matches!(status, "SUCCEEDED" | "FAILED" | "CANCELLED")
}

/// How often to poll: from `min`, growing by `factor` each poll that sees nothing new, never above `max`
/// (docs/watch.md#back-off).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Backoff {
    pub min: Duration,
    pub max: Duration,
    pub factor: f64,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            min: Duration::from_secs(2),
            max: Duration::from_secs(30),
            factor: 1.5,
        }
    }
}

impl Backoff {
    /// The delay after `current`: held when the poll saw a change (instances are completing: keep watching at
    /// this pace), grown when it saw none, doubled after a failed poll (the SDK's own retries are spent by then);
    /// always within `min..=max`.
    pub fn next(&self, current: Duration, seen: Seen) -> Duration {
        let grown = match seen {
            Seen::Change => current,
            Seen::Nothing => current.mul_f64(self.factor.max(1.0)),
            Seen::PollFailed => current.mul_f64(2.0),
        };
        grown.clamp(self.min, self.max.max(self.min))
    }
}

/// What one poll gave, for the back-off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Seen {
    Change,
    Nothing,
    PollFailed,
}

/// One instance's result, as `ListStackSetOperationResults` gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InstanceResult {
    pub account: String,
    pub region: String,
    pub status: String,
    pub reason: Option<String>,
    pub organizational_unit: Option<String>,
}

/// What one poll read.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Observation {
    /// `DescribeStackSetOperation`'s status.
    pub status: String,
    pub action: Option<String>,
    pub status_reason: Option<String>,
    pub created: Option<DateTime<Utc>>,
    pub ended: Option<DateTime<Utc>>,
    /// `StatusDetails.FailedStackInstancesCount`, once the operation says it.
    pub failed_instances: Option<u64>,
    /// The results, or None when they could not be listed this time (the last ones seen stand).
    pub results: Option<Vec<InstanceResult>>,
    /// The listing stopped at the page bound: the progress counts only what was read.
    pub results_truncated: bool,
}

/// Something that changed between two polls: one line each when stderr is not a terminal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// The operation's status (`from` None: the first poll).
    Status { from: Option<String>, to: String },
    /// One instance's result (`from` None: first listed).
    Instance {
        account: String,
        region: String,
        from: Option<String>,
        to: String,
        reason: Option<String>,
    },
}

/// Results by status, for the operation or one Region.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub succeeded: u64,
    pub failed: u64,
    pub cancelled: u64,
    pub running: u64,
    pub pending: u64,
    /// A status this version does not know (counted as remaining).
    pub other: u64,
}

impl Counts {
    fn add(&mut self, status: &str) {
        match status {
            "SUCCEEDED" => self.succeeded += 1,
            "FAILED" => self.failed += 1,
            "CANCELLED" => self.cancelled += 1,
            "RUNNING" => self.running += 1,
            "PENDING" => self.pending += 1,
            _ => self.other += 1,
        }
    }

    /// Instances whose part is over (succeeded, failed or cancelled).
    pub fn done(&self) -> u64 {
        self.succeeded + self.failed + self.cancelled
    }

    /// Instances still pending or running.
    pub fn remaining(&self) -> u64 {
        self.running + self.pending + self.other
    }

    pub fn total(&self) -> u64 {
        self.done() + self.remaining()
    }
}

/// The operation's results as last seen: in all, and per Region (sorted).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Progress {
    pub total: Counts,
    pub regions: BTreeMap<String, Counts>,
}

impl Progress {
    /// `3/5 done, 1 failed, 2 remaining; ap-northeast-1 2/3, us-east-1 1/2` (Regions only when there are several
    /// or any at all).
    pub fn line(&self) -> String {
        let t = &self.total;
        if t.total() == 0 {
            return "no instance results yet".into();
        }
        let mut s = format!("{}/{} done", t.done(), t.total());
        if t.failed > 0 {
            s.push_str(&format!(", {} failed", t.failed));
        }
        if t.cancelled > 0 {
            s.push_str(&format!(", {} cancelled", t.cancelled));
        }
        s.push_str(&format!(", {} remaining", t.remaining()));
        let regions: Vec<String> = self
            .regions
            .iter()
            .map(|(r, c)| {
                let mut x = format!("{r} {}/{}", c.done(), c.total());
                if c.failed > 0 {
                    x.push_str(&format!(" ({} failed)", c.failed));
                }
                x
            })
            .collect();
        if !regions.is_empty() {
            s.push_str("; ");
            s.push_str(&regions.join(", "));
        }
        s
    }
}

/// What to do after a poll.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Next {
    /// Sleep this long, then poll again.
    Poll(Duration),
    /// The operation's status is final.
    Finished,
    /// The timeout passed before it ended.
    TimedOut,
    /// So many polls in a row failed that waiting on says nothing (the last reason).
    GaveUp(String),
}

/// How the wait ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ended {
    Finished,
    TimedOut,
    Interrupted,
}

/// Polls in a row that may fail (each after the SDK's own retries) before the wait gives up.
pub const MAX_FAILED_POLLS: u32 = 5;

/// Pages of `ListStackSetOperationResults` (100 results each) read per poll at most.
pub const RESULT_PAGES: usize = 100;

/// The state of one wait: what was seen, and when to look again.
#[derive(Debug, Clone)]
pub struct Watcher {
    pub stack_set: String,
    pub operation_id: String,
    backoff: Backoff,
    timeout: Option<Duration>,
    /// Only results in these Regions count (empty: all).
    regions: Vec<String>,
    delay: Duration,
    last: Option<Observation>,
    results: BTreeMap<(String, String), InstanceResult>,
    failed_polls: u32,
    last_failure: Option<String>,
    polls: u64,
}

impl Watcher {
    pub fn new(
        stack_set: impl Into<String>,
        operation_id: impl Into<String>,
        backoff: Backoff,
        timeout: Option<Duration>,
        regions: Vec<String>,
    ) -> Watcher {
        Watcher {
            stack_set: stack_set.into(),
            operation_id: operation_id.into(),
            backoff,
            timeout,
            regions,
            delay: backoff.min,
            last: None,
            results: BTreeMap::new(),
            failed_polls: 0,
            last_failure: None,
            polls: 0,
        }
    }

    /// Take one poll's observation; gives what changed since the last one.
    pub fn observe(&mut self, obs: Observation) -> Vec<Change> {
        self.polls += 1;
        self.failed_polls = 0;
        let mut changes = Vec::new();
        let before = self.last.as_ref().map(|o| o.status.clone());
        if before.as_deref() != Some(obs.status.as_str()) {
            changes.push(Change::Status {
                from: before,
                to: obs.status.clone(),
            });
        }
        if let Some(results) = &obs.results {
            for r in results {
                if !self.regions.is_empty() && !self.regions.contains(&r.region) {
                    continue;
                }
                let key = (r.account.clone(), r.region.clone());
                let from = self.results.get(&key).map(|p| p.status.clone());
                if from.as_deref() != Some(r.status.as_str()) {
                    changes.push(Change::Instance {
                        account: r.account.clone(),
                        region: r.region.clone(),
                        from,
                        to: r.status.clone(),
                        reason: r.reason.clone(),
                    });
                }
                self.results.insert(key, r.clone());
            }
        }
        let mut obs = obs;
        if obs.results.is_none() {
            // The last listing stands; what this poll lacks is not news.
            obs.results_truncated = self.last.as_ref().is_some_and(|l| l.results_truncated);
        }
        self.last = Some(obs);
        // The first poll sets the pace, it is no change to hold it for.
        let seen = if changes.is_empty() || self.polls == 1 {
            Seen::Nothing
        } else {
            Seen::Change
        };
        if self.polls > 1 {
            self.delay = self.backoff.next(self.delay, seen);
        }
        changes
    }

    /// A poll that failed after the SDK's retries (throttled, timed out, unreachable): the last observation
    /// stands and the delay doubles.
    pub fn poll_failed(&mut self, reason: impl Into<String>) {
        self.failed_polls += 1;
        self.last_failure = Some(reason.into());
        self.delay = self.backoff.next(self.delay, Seen::PollFailed);
    }

    /// What to do now, `elapsed` after the wait began.
    pub fn next(&self, elapsed: Duration) -> Next {
        if self.finished() {
            return Next::Finished;
        }
        if self.failed_polls >= MAX_FAILED_POLLS {
            return Next::GaveUp(self.last_failure.clone().unwrap_or_default());
        }
        match self.timeout {
            Some(t) if elapsed >= t => Next::TimedOut,
            // One last look at the deadline.
            Some(t) => Next::Poll(self.delay.min(t - elapsed)),
            None => Next::Poll(self.delay),
        }
    }

    /// Whether the last status seen is final.
    pub fn finished(&self) -> bool {
        self.last
            .as_ref()
            .is_some_and(|o| operation_final(&o.status))
    }

    /// The operation's last status seen (None before the first poll).
    pub fn status(&self) -> Option<&str> {
        self.last.as_ref().map(|o| o.status.as_str())
    }

    pub fn action(&self) -> Option<&str> {
        self.last.as_ref().and_then(|o| o.action.as_deref())
    }

    /// The delay the next poll waits (before the timeout's bound).
    pub fn delay(&self) -> Duration {
        self.delay
    }

    pub fn polls(&self) -> u64 {
        self.polls
    }

    /// The results as last seen, counted.
    pub fn progress(&self) -> Progress {
        let mut p = Progress::default();
        for r in self.results.values() {
            p.total.add(&r.status);
            p.regions
                .entry(r.region.clone())
                .or_default()
                .add(&r.status);
        }
        p
    }

    /// The instances whose result is FAILED, as last seen (account, Region order).
    pub fn failed(&self) -> Vec<&InstanceResult> {
        self.results
            .values()
            .filter(|r| r.status == "FAILED")
            .collect()
    }

    /// Whether the last listing stopped at the page bound.
    pub fn truncated(&self) -> bool {
        self.last.as_ref().is_some_and(|o| o.results_truncated)
    }

    /// What was seen, in one line: `operation 1a2b… (CREATE) RUNNING: 3/5 done, 1 failed, 2 remaining; …`, and
    /// the failed instances.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "operation {} of {}{}: {}",
            if self.operation_id.is_empty() {
                "(not chosen yet)"
            } else {
                &self.operation_id
            },
            self.stack_set,
            self.action().map(|a| format!(" ({a})")).unwrap_or_default(),
            self.status().unwrap_or("not read yet"),
        );
        if self.last.is_some() {
            s.push_str(&format!("; {}", self.progress().line()));
            if self.truncated() {
                s.push_str(&format!(
                    " (of the first {} results only)",
                    RESULT_PAGES * 100
                ));
            }
            let failed = self.failed();
            if !failed.is_empty() {
                let shown: Vec<String> = failed
                    .iter()
                    .take(10)
                    .map(|r| format!("{} {}", r.account, r.region))
                    .collect();
                s.push_str(&format!(
                    "; failed: {}{}",
                    shown.join(", "),
                    if failed.len() > shown.len() {
                        format!(" and {} more", failed.len() - shown.len())
                    } else {
                        String::new()
                    }
                ));
            }
        }
        s
    }

    /// What was seen as evidence: the operation and its failed and cancelled results (their status reasons), so
    /// that a failure can be diagnosed before the operation ends (`--early`; docs/watch.md#early-diagnosis).
    pub fn evidence(&self) -> Evidence {
        let mut ev = Evidence::default();
        let source = |pointer: String| {
            Some(SourceRef {
                file: "watch:DescribeStackSetOperation".into(),
                pointer,
            })
        };
        if let Some(o) = &self.last {
            ev.operations.push(Operation {
                stack_set: Some(self.stack_set.clone()),
                operation_id: self.operation_id.clone(),
                action: o.action.clone(),
                status: o.status.clone(),
                status_reason: o.status_reason.clone(),
                created: o.created,
                ended: o.ended,
                failed_instances: o.failed_instances,
                deployment_targets: None,
                preferences: None,
                source: source(format!("/{}/{}", self.stack_set, self.operation_id)),
            });
        }
        for (i, r) in self
            .results
            .values()
            .filter(|r| matches!(r.status.as_str(), "FAILED" | "CANCELLED"))
            .enumerate()
        {
            ev.operation_results.push(OperationResult {
                stack_set: Some(self.stack_set.clone()),
                operation_id: Some(self.operation_id.clone()),
                account: r.account.clone(),
                region: r.region.clone(),
                status: r.status.clone(),
                status_reason: r.reason.clone(),
                account_gate_status: None,
                account_gate_reason: None,
                organizational_unit: r.organizational_unit.clone(),
                source: Some(SourceRef {
                    file: "watch:ListStackSetOperationResults".into(),
                    pointer: format!("/{}/{}/{i}", self.stack_set, self.operation_id),
                }),
            });
        }
        ev
    }
}

/// `30m`, `90s`, `1h30m`, `2h`, `500ms`, or plain seconds (`45`); at least one unit, no sign, at most a week.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let t = s.trim();
    let bad = || {
        format!(
            "{s:?} is not a duration: give a number with a unit, e.g. 90s, 30m, 1h30m (h, m, s, ms), or plain seconds"
        )
    };
    if t.is_empty() {
        return Err(bad());
    }
    if t.bytes().all(|b| b.is_ascii_digit()) {
        return t
            .parse::<u64>()
            .ok()
            .filter(|&n| n <= 7 * 24 * 3600)
            .map(Duration::from_secs)
            .ok_or_else(|| format!("{s:?}: at most a week (604800 s)"));
    }
    let mut total = Duration::ZERO;
    let mut rest = t;
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 || digits > 9 {
            return Err(bad());
        }
        let n: u64 = rest[..digits].parse().map_err(|_| bad())?;
        rest = &rest[digits..];
        let unit_len = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        total += match unit {
            "h" => Duration::from_secs(n * 3600),
            "m" | "min" => Duration::from_secs(n * 60),
            "s" => Duration::from_secs(n),
            "ms" => Duration::from_millis(n),
            _ => return Err(bad()),
        };
    }
    if total > Duration::from_secs(7 * 24 * 3600) {
        return Err(format!("{s:?}: at most a week (604800 s)"));
    }
    if total.is_zero() {
        return Err(format!(
            "{s:?}: a timeout of zero would end the wait before the first poll"
        ));
    }
    Ok(total)
}

/// What to wait on, and how.
#[derive(Debug, Clone)]
pub struct WatchOptions {
    pub stack_set: String,
    /// The operation (None: the newest RUNNING, STOPPING or QUEUED one, else the newest).
    pub operation_id: Option<String>,
    pub call_as: CallAs,
    /// Only results in these Regions count in the progress (empty: all).
    pub regions: Vec<String>,
    pub timeout: Option<Duration>,
    pub backoff: Backoff,
}

/// What the loop tells its caller as it goes.
pub enum Update<'a> {
    /// The operation chosen, and as whom it is read.
    Chosen {
        operation_id: &'a str,
        call_as: &'static str,
        /// It was picked from the listing (no `--operation-id`): how.
        picked: Option<&'static str>,
    },
    /// A poll saw these changes; the watcher holds the progress.
    Changes(&'a [Change], &'a Watcher),
    /// A poll failed after the SDK's retries; the wait goes on.
    PollFailed(&'a str, &'a Watcher),
}

/// Errors that no waiting mends: the stack set or operation is not there, or the caller may not read it.
fn fatal(code: Option<&str>) -> bool {
    code.is_some_and(|c| {
        c == "StackSetNotFoundException"
            || c == "OperationNotFoundException"
            || c == "ValidationError"
            || c.starts_with("AccessDenied")
            || c == "UnauthorizedOperation"
            || c == "ExpiredToken"
            || c == "InvalidClientTokenId"
    })
}

fn aws_error(what: &str, reason: String) -> Error {
    Error::Aws {
        what: what.into(),
        reason,
    }
}

/// Wait for the operation to end: choose it, then poll with back-off until it is final, the timeout passes, or
/// `stop` resolves (Ctrl-C). Errors only when nothing can be waited on (no such stack set or operation, access
/// denied, or [`MAX_FAILED_POLLS`] failed polls in a row).
pub async fn watch<F>(
    sdk: &Sdk,
    o: &WatchOptions,
    stop: F,
    on: &mut dyn FnMut(Update<'_>),
) -> Result<(Watcher, Ended), Error>
where
    F: Future<Output = ()>,
{
    let start = tokio::time::Instant::now();
    let cfn = sdk.cloudformation(None, None);
    tokio::pin!(stop);
    let chosen = tokio::select! {
        r = choose(&cfn, o) => r?,
        _ = &mut stop => {
            let w = Watcher::new(&o.stack_set, o.operation_id.clone().unwrap_or_default(), o.backoff, o.timeout, o.regions.clone());
            return Ok((w, Ended::Interrupted));
        }
    };
    let (operation_id, call_as, picked, first) = chosen;
    on(Update::Chosen {
        operation_id: &operation_id,
        call_as: call_as.api_name(),
        picked,
    });
    let mut w = Watcher::new(
        &o.stack_set,
        &operation_id,
        o.backoff,
        o.timeout,
        o.regions.clone(),
    );
    let mut pending_first = Some(first);
    loop {
        let polled = match pending_first.take() {
            // The operation was just described to choose it: its results are all this first poll still needs.
            Some(described) => tokio::select! {
                r = with_results(&cfn, o, &operation_id, call_as, described) => r,
                _ = &mut stop => return Ok((w, Ended::Interrupted)),
            },
            None => tokio::select! {
                r = poll(&cfn, o, &operation_id, call_as) => r,
                _ = &mut stop => return Ok((w, Ended::Interrupted)),
            },
        };
        match polled {
            Ok(obs) => {
                let changes = w.observe(obs);
                if !changes.is_empty() {
                    on(Update::Changes(&changes, &w));
                }
            }
            Err(Polled::Fatal(e)) => return Err(e),
            Err(Polled::Transient(reason)) => {
                w.poll_failed(reason.clone());
                on(Update::PollFailed(&reason, &w));
            }
        }
        match w.next(start.elapsed()) {
            Next::Finished => return Ok((w, Ended::Finished)),
            Next::TimedOut => return Ok((w, Ended::TimedOut)),
            Next::GaveUp(reason) => {
                return Err(aws_error(
                    &format!("operation {operation_id} of stack set {}", o.stack_set),
                    format!(
                        "{MAX_FAILED_POLLS} polls in a row failed, the last with: {reason}; seen so far: {}",
                        w.summary()
                    ),
                ))
            }
            Next::Poll(d) => {
                tokio::select! {
                    _ = tokio::time::sleep(d) => {}
                    _ = &mut stop => return Ok((w, Ended::Interrupted)),
                }
            }
        }
    }
}

/// Why a poll gave no observation.
enum Polled {
    /// Nothing to wait on: end with this error.
    Fatal(Error),
    /// Worth another try later (throttled past the SDK's retries, timed out, unreachable).
    Transient(String),
}

fn polled<E, R>(e: &SdkError<E, R>, what: &str, o: &WatchOptions, id: &str) -> Polled
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let reason = format!("cloudformation:{what}: {}", describe_error(e));
    if fatal(error_code(e)) {
        Polled::Fatal(aws_error(
            &format!("operation {id} of stack set {}", o.stack_set),
            reason,
        ))
    } else {
        Polled::Transient(reason)
    }
}

/// The operation to watch, as whom, how it was picked, and its description (the first poll's half).
async fn choose(
    cfn: &aws_sdk_cloudformation::Client,
    o: &WatchOptions,
) -> Result<(String, CallAs, Option<&'static str>, Observation), Error> {
    let modes = o.call_as.modes();
    let mut tried: Vec<&str> = Vec::new();
    for (n, &mode) in modes.iter().enumerate() {
        let last = n + 1 == modes.len();
        let not_found = |code: Option<&str>| code == Some("StackSetNotFoundException") && !last;
        let (id, picked) = match &o.operation_id {
            Some(id) => (id.clone(), None),
            None => match newest(cfn, o, mode).await {
                Ok(Some(x)) => (x.0, Some(x.1)),
                Ok(None) => {
                    return Err(aws_error(
                        &format!("stack set {}", o.stack_set),
                        "cloudformation:ListStackSetOperations lists no operation: nothing to wait for (give \
                         --operation-id, or start the operation first)"
                            .into(),
                    ))
                }
                Err(e) if not_found(error_code(&e)) => {
                    tried.push(mode.api_name());
                    continue;
                }
                Err(e) => return Err(not_there(o, &e, "ListStackSetOperations", mode, &tried)),
            },
        };
        match describe(cfn, o, &id, mode).await {
            Ok(obs) => return Ok((id, mode, picked, obs)),
            Err(e) if not_found(error_code(&e)) => {
                tried.push(mode.api_name());
                continue;
            }
            Err(e) => return Err(not_there(o, &e, "DescribeStackSetOperation", mode, &tried)),
        }
    }
    Err(aws_error(
        &format!("stack set {}", o.stack_set),
        "not found".into(),
    ))
}

/// A clear error for a first call that failed: which stack set or operation, where, as whom.
fn not_there<E, R>(
    o: &WatchOptions,
    e: &SdkError<E, R>,
    what: &str,
    mode: CallAs,
    tried: &[&str],
) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
    R: std::fmt::Debug + 'static,
{
    let mut roles: Vec<&str> = tried.to_vec();
    roles.push(mode.api_name());
    let hint = match error_code(e) {
        Some("StackSetNotFoundException") => {
            "; check the name, --region (the stack set's home Region) and the account (the management account, a \
             delegated administrator with --call-as DELEGATED_ADMIN, or the stack set's own account)"
        }
        Some("OperationNotFoundException") => {
            "; check --operation-id (`aws cloudformation list-stack-set-operations` lists the stack set's operations)"
        }
        _ => "",
    };
    aws_error(
        &match &o.operation_id {
            Some(id) => format!("operation {id} of stack set {}", o.stack_set),
            None => format!("stack set {}", o.stack_set),
        },
        format!(
            "cloudformation:{what} as {}: {}{hint}",
            roles.join(" and as "),
            describe_error(e)
        ),
    )
}

/// The newest operation still RUNNING, STOPPING or QUEUED, else the newest; and which of the two it is.
async fn newest(
    cfn: &aws_sdk_cloudformation::Client,
    o: &WatchOptions,
    mode: CallAs,
) -> Result<
    Option<(String, &'static str)>,
    SdkError<
        aws_sdk_cloudformation::operation::list_stack_set_operations::ListStackSetOperationsError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
> {
    let mut pages = cfn
        .list_stack_set_operations()
        .stack_set_name(&o.stack_set)
        .call_as(mode.sdk())
        .max_results(100)
        .into_paginator()
        .send();
    let mut ops: Vec<(Option<DateTime<Utc>>, String, String)> = Vec::new();
    // Newest first in AWS's listing: a few pages hold any operation still going.
    let mut n = 0;
    while let Some(page) = pages.next().await {
        let page = page?;
        for s in page.summaries() {
            if let Some(id) = s.operation_id() {
                ops.push((
                    time(s.creation_timestamp()),
                    id.to_owned(),
                    s.status()
                        .map(|v| v.as_str().to_owned())
                        .unwrap_or_default(),
                ));
            }
        }
        n += 1;
        if n >= 10 {
            break;
        }
    }
    let pick = |going: bool| {
        ops.iter()
            .filter(|(_, _, st)| !going || status::holds_lock(st))
            .max_by_key(|(t, _, _)| *t)
            .map(|(_, id, _)| id.clone())
    };
    Ok(match pick(true) {
        Some(id) => Some((id, "the newest operation still running")),
        None => pick(false).map(|id| (id, "the newest operation (none is running)")),
    })
}

async fn describe(
    cfn: &aws_sdk_cloudformation::Client,
    o: &WatchOptions,
    id: &str,
    mode: CallAs,
) -> Result<
    Observation,
    SdkError<
        aws_sdk_cloudformation::operation::describe_stack_set_operation::DescribeStackSetOperationError,
        aws_smithy_runtime_api::client::orchestrator::HttpResponse,
    >,
>{
    let out = cfn
        .describe_stack_set_operation()
        .stack_set_name(&o.stack_set)
        .operation_id(id)
        .call_as(mode.sdk())
        .send()
        .await?;
    let op = out.stack_set_operation();
    Ok(Observation {
        status: op
            .and_then(|op| op.status())
            .map(|s| s.as_str().to_owned())
            .unwrap_or_default(),
        action: op.and_then(|op| op.action()).map(|a| a.as_str().to_owned()),
        status_reason: op.and_then(|op| op.status_reason()).map(str::to_owned),
        created: time(op.and_then(|op| op.creation_timestamp())),
        ended: time(op.and_then(|op| op.end_timestamp())),
        failed_instances: op
            .and_then(|op| op.status_details())
            .and_then(|d| d.failed_stack_instances_count())
            .and_then(|n| u64::try_from(n).ok()),
        results: None,
        results_truncated: false,
    })
}

/// One poll: the operation's status, then its results.
async fn poll(
    cfn: &aws_sdk_cloudformation::Client,
    o: &WatchOptions,
    id: &str,
    mode: CallAs,
) -> Result<Observation, Polled> {
    let obs = describe(cfn, o, id, mode)
        .await
        .map_err(|e| polled(&e, "DescribeStackSetOperation", o, id))?;
    with_results(cfn, o, id, mode, obs).await
}

/// The observation with the operation's results listed (every status: the progress counts them all). A listing
/// that fails leaves `results` None (the last ones seen stand) unless nothing else can be waited on.
async fn with_results(
    cfn: &aws_sdk_cloudformation::Client,
    o: &WatchOptions,
    id: &str,
    mode: CallAs,
    mut obs: Observation,
) -> Result<Observation, Polled> {
    let mut pages = cfn
        .list_stack_set_operation_results()
        .stack_set_name(&o.stack_set)
        .operation_id(id)
        .call_as(mode.sdk())
        .max_results(100)
        .into_paginator()
        .send();
    let mut results = Vec::new();
    let mut n = 0;
    while let Some(page) = pages.next().await {
        let page = match page {
            Ok(p) => p,
            Err(e) => match polled(&e, "ListStackSetOperationResults", o, id) {
                Polled::Fatal(e) => return Err(Polled::Fatal(e)),
                // The status was read: this poll counts, with the last results.
                Polled::Transient(_) => return Ok(obs),
            },
        };
        for r in page.summaries() {
            results.push(InstanceResult {
                account: r.account().unwrap_or_default().to_owned(),
                region: r.region().unwrap_or_default().to_owned(),
                status: r
                    .status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                reason: r.status_reason().map(str::to_owned),
                organizational_unit: r.organizational_unit_id().map(str::to_owned),
            });
        }
        n += 1;
        if n >= RESULT_PAGES {
            obs.results_truncated = page.next_token().is_some();
            break;
        }
    }
    obs.results = Some(results);
    Ok(obs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(account: &str, region: &str, status: &str) -> InstanceResult {
        InstanceResult {
            account: account.into(),
            region: region.into(),
            status: status.into(),
            reason: (status == "FAILED").then(|| format!("failed in {account}")),
            organizational_unit: None,
        }
    }

    fn obs(status: &str, results: Vec<InstanceResult>) -> Observation {
        Observation {
            status: status.into(),
            action: Some("CREATE".into()),
            results: Some(results),
            ..Observation::default()
        }
    }

    fn watcher(timeout: Option<Duration>) -> Watcher {
        Watcher::new("set", "op-1", Backoff::default(), timeout, Vec::new())
    }

    const S: fn(u64) -> Duration = Duration::from_secs;

    #[test]
    fn backoff_grows_while_nothing_changes_and_caps_at_the_maximum() {
        let b = Backoff::default();
        let mut d = b.min;
        let mut seen = vec![d];
        for _ in 0..12 {
            d = b.next(d, Seen::Nothing);
            seen.push(d);
        }
        assert_eq!(seen[0], S(2));
        assert_eq!(seen[1], S(3));
        assert_eq!(seen[2], Duration::from_millis(4500));
        assert!(seen.windows(2).all(|w| w[1] >= w[0]), "{seen:?}");
        assert_eq!(*seen.last().unwrap(), S(30));
        // A change holds the pace; a failed poll doubles it, within the cap.
        assert_eq!(b.next(S(6), Seen::Change), S(6));
        assert_eq!(b.next(S(6), Seen::PollFailed), S(12));
        assert_eq!(b.next(S(20), Seen::PollFailed), S(30));
        assert_eq!(b.next(Duration::ZERO, Seen::Change), S(2));
    }

    #[test]
    fn the_watcher_slows_down_on_quiet_polls_and_holds_while_instances_complete() {
        let mut w = watcher(None);
        w.observe(obs("RUNNING", vec![r("1", "eu-west-1", "RUNNING")]));
        assert_eq!(w.next(S(0)), Next::Poll(S(2)));
        w.observe(obs("RUNNING", vec![r("1", "eu-west-1", "RUNNING")]));
        assert_eq!(w.next(S(2)), Next::Poll(S(3)));
        let changes = w.observe(obs("RUNNING", vec![r("1", "eu-west-1", "SUCCEEDED")]));
        assert_eq!(changes.len(), 1);
        assert_eq!(w.next(S(5)), Next::Poll(S(3)));
    }

    #[test]
    fn finished_only_on_a_final_status() {
        for (st, done) in [
            ("RUNNING", false),
            ("QUEUED", false),
            ("STOPPING", false),
            ("SUCCEEDED", true),
            ("FAILED", true),
            ("STOPPED", true),
        ] {
            let mut w = watcher(None);
            w.observe(obs(st, Vec::new()));
            assert_eq!(w.finished(), done, "{st}");
            assert_eq!(w.next(S(1)) == Next::Finished, done, "{st}");
        }
    }

    #[test]
    fn the_timeout_bounds_the_last_sleep_then_ends_the_wait() {
        let mut w = watcher(Some(S(10)));
        w.observe(obs("RUNNING", Vec::new()));
        assert_eq!(w.next(S(0)), Next::Poll(S(2)));
        // 9 s in: the next poll waits only for the deadline, one last look.
        assert_eq!(w.next(S(9)), Next::Poll(S(1)));
        assert_eq!(w.next(S(10)), Next::TimedOut);
        // A final status at the deadline is a finish, not a timeout.
        w.observe(obs("FAILED", Vec::new()));
        assert_eq!(w.next(S(11)), Next::Finished);
    }

    #[test]
    fn changes_are_the_status_and_each_instance_that_moved() {
        let mut w = watcher(None);
        let c = w.observe(obs(
            "RUNNING",
            vec![
                r("1", "eu-west-1", "PENDING"),
                r("2", "eu-west-1", "RUNNING"),
            ],
        ));
        assert_eq!(c.len(), 3, "{c:?}");
        assert_eq!(
            c[0],
            Change::Status {
                from: None,
                to: "RUNNING".into()
            }
        );
        // Nothing moved: nothing to say.
        assert!(w
            .observe(obs(
                "RUNNING",
                vec![
                    r("1", "eu-west-1", "PENDING"),
                    r("2", "eu-west-1", "RUNNING")
                ]
            ))
            .is_empty());
        let c = w.observe(obs(
            "FAILED",
            vec![
                r("1", "eu-west-1", "CANCELLED"),
                r("2", "eu-west-1", "FAILED"),
            ],
        ));
        assert_eq!(c.len(), 3, "{c:?}");
        assert!(c.contains(&Change::Instance {
            account: "2".into(),
            region: "eu-west-1".into(),
            from: Some("RUNNING".into()),
            to: "FAILED".into(),
            reason: Some("failed in 2".into()),
        }));
    }

    #[test]
    fn progress_counts_per_region() {
        let mut w = watcher(None);
        w.observe(obs(
            "RUNNING",
            vec![
                r("1", "us-east-1", "SUCCEEDED"),
                r("2", "us-east-1", "FAILED"),
                r("1", "eu-west-1", "RUNNING"),
                r("2", "eu-west-1", "PENDING"),
                r("3", "eu-west-1", "SUCCEEDED"),
            ],
        ));
        let p = w.progress();
        assert_eq!(p.total.done(), 3);
        assert_eq!(p.total.failed, 1);
        assert_eq!(p.total.remaining(), 2);
        assert_eq!(p.regions["us-east-1"].done(), 2);
        assert_eq!(p.regions["eu-west-1"].remaining(), 2);
        assert_eq!(
            p.line(),
            "3/5 done, 1 failed, 2 remaining; eu-west-1 1/3, us-east-1 2/2 (1 failed)"
        );
    }

    #[test]
    fn regions_outside_the_filter_do_not_count() {
        let mut w = Watcher::new(
            "set",
            "op",
            Backoff::default(),
            None,
            vec!["eu-west-1".into()],
        );
        let c = w.observe(obs(
            "RUNNING",
            vec![
                r("1", "us-east-1", "FAILED"),
                r("1", "eu-west-1", "RUNNING"),
            ],
        ));
        assert_eq!(c.len(), 2);
        assert_eq!(w.progress().total.total(), 1);
        assert!(w.failed().is_empty());
    }

    #[test]
    fn an_early_failure_is_evidence_before_the_operation_ends() {
        let mut w = watcher(None);
        w.observe(obs("RUNNING", vec![r("1", "eu-west-1", "RUNNING")]));
        let c = w.observe(obs(
            "RUNNING",
            vec![
                r("1", "eu-west-1", "FAILED"),
                r("2", "eu-west-1", "RUNNING"),
            ],
        ));
        assert!(c
            .iter()
            .any(|c| matches!(c, Change::Instance { to, .. } if to == "FAILED")));
        assert!(!w.finished());
        let ev = w.evidence();
        assert_eq!(ev.operations[0].status, "RUNNING");
        assert_eq!(ev.operation_results.len(), 1);
        assert_eq!(ev.operation_results[0].account, "1");
        assert_eq!(
            ev.operation_results[0].status_reason.as_deref(),
            Some("failed in 1")
        );
        assert!(
            w.summary().contains("failed: 1 eu-west-1"),
            "{}",
            w.summary()
        );
    }

    #[test]
    fn failed_polls_keep_what_was_seen_back_off_and_give_up_after_a_few() {
        let mut w = watcher(None);
        w.observe(obs("RUNNING", vec![r("1", "eu-west-1", "RUNNING")]));
        for n in 1..MAX_FAILED_POLLS {
            w.poll_failed("Throttling (throttled: retries exhausted)");
            assert!(matches!(w.next(S(1)), Next::Poll(_)), "{n}");
        }
        assert_eq!(w.delay(), S(30));
        w.poll_failed("Throttling (throttled: retries exhausted)");
        assert!(matches!(w.next(S(1)), Next::GaveUp(r) if r.contains("Throttling")));
        assert_eq!(w.progress().total.running, 1);
        // A poll that works again resets the count.
        let mut w = watcher(None);
        w.poll_failed("x");
        w.observe(obs("RUNNING", Vec::new()));
        assert!(matches!(w.next(S(1)), Next::Poll(_)));
    }

    #[test]
    fn durations_parse_with_units_and_refuse_the_rest() {
        assert_eq!(parse_duration("90s"), Ok(S(90)));
        assert_eq!(parse_duration("30m"), Ok(S(1800)));
        assert_eq!(parse_duration("1h30m"), Ok(S(5400)));
        assert_eq!(parse_duration("45"), Ok(S(45)));
        assert_eq!(parse_duration("1500ms"), Ok(Duration::from_millis(1500)));
        for bad in [
            "",
            "m",
            "10x",
            "-5s",
            "1.5h",
            "0s",
            "9999h",
            "99999999999999",
        ] {
            assert!(parse_duration(bad).is_err(), "{bad}");
        }
    }
}
