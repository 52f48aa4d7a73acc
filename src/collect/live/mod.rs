//! Live collection: asks AWS (or an emulator at `--endpoint-url`) for the evidence of a failed StackSet
//! deployment, and gives the same [`Evidence`] the offline reader gives, ready for the rest of the pipeline.
//!
//! Takes [`Options`] (stack set names or `--quick-setup`, an operation id, a member role, ...) and an
//! [`Sdk`]; gives [`Collected`]: the evidence, its coverage notes, and how many calls it took.
//!
//! What it asks, by area (one module each):
//! - `stack_sets`, from the admin side (the management or delegated admin account): `DescribeStackSet` (a named
//!   one that does not exist is an error), the operation to explain (`DescribeStackSetOperation` for a given id,
//!   else the newest failed deployment of `ListStackSetOperations`, described; never a `DETECT_DRIFT`), its failed
//!   and cancelled results (`ListStackSetOperationResults`, filtered by status), every instance
//!   (`ListStackInstances`, unfiltered, 100 a page; `DescribeStackInstance` for each failed one), and the windows of
//!   the other operations that failed instances last ran;
//! - `members`, from each failing stack's account (the caller's own, or through `--member-role`):
//!   `DescribeStacks` and the failed events within the instance's operation's window (`DescribeEvents` with the
//!   `FailedEvents` filter, else `DescribeStackEvents`), and `GetHookResult` for a failed hook whose reason was cut;
//! - `trail`, in each account and Region with failing stacks (through the same credentials): `LookupEvents` over
//!   the failures' window, keeping the failed calls CloudFormation made (docs/cloudtrail-collection.md);
//! - `organizations`, where the caller may: the SCPs/RCPs on the path from each failing account to the root (for a
//!   preflight, `Options::preflight`: every target account's, and the accounts of a service-managed stack set's
//!   target OUs, `ListAccountsForParent`/`ListChildren`; no stack events, CloudTrail or Automation executions);
//! - `quick_setup`, with `--quick-setup`: the configuration managers, the `AWS-QuickSetup-*` stack sets and the
//!   Automation executions that did not succeed.
//!
//! So the calls grow with the failed instances and with pages of 100 instances, not with every event. What this
//! relies on is in docs/architecture.md, "Live collection". Nothing aborts the run
//! but missing credentials: an AccessDenied, a throttled call that ran out of retries, or a timeout becomes a
//! [`CoverageNote`] and the rest of the collection goes on.

mod members;
mod organizations;
mod paging;
mod quick_setup;
mod stack_sets;
mod trail;
pub mod watch;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_cloudformation::types::CallAs as SdkCallAs;
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use indicatif::ProgressBar;
use tokio::sync::{OnceCell, Semaphore};

use super::aws::{describe_error, Sdk};
use crate::error::Error;
use crate::evidence::{CollectionStats, CoverageNote, Evidence, SourceRef};
use crate::vocabulary::status;

/// How far the collection reaches, at most.
mod limits {
    /// Failed nested stacks followed below a failing stack.
    pub const NESTED_STACK_DEPTH: usize = 3;
    /// Pages of a stack's events read when no operation window bounds them.
    pub const EVENT_PAGES_WITHOUT_WINDOW: usize = 5;
    /// Levels between an account and the organization's root (AWS allows 5 OUs deep).
    pub const ORGANIZATION_DEPTH: usize = 8;
    /// Quick Setup Automation executions read in full.
    pub const AUTOMATION_EXECUTIONS: usize = 20;
    /// Operations other than the chosen one described for their windows, per stack set (auto-deployment runs one
    /// per account; the listing usually has them all already).
    pub const OTHER_OPERATIONS: usize = 25;
    /// Operations holding a stack set (RUNNING, STOPPING, QUEUED) read with their results, per stack set: one
    /// runs at a time, the rest wait queued.
    pub const HOLDERS: usize = 3;
    /// Pages of a stack's failed events (`DescribeEvents`) read at most.
    pub const FAILED_EVENT_PAGES: usize = 20;
    /// CloudFormation cuts a stack event's `HookStatusReason` at this many characters (the API models' maximum);
    /// a failed hook's reason this long is read in full with `GetHookResult`.
    pub const HOOK_REASON_MAX: usize = 1024;
    /// Hook results read in full per run.
    pub const HOOK_RESULTS: usize = 50;
    /// Pages of one CloudTrail search read at most: 500 events at LookupEvents' page size, 5 s at its rate of 2
    /// requests a second per account and Region (docs/cloudtrail-collection.md#pages).
    pub const TRAIL_PAGES: usize = 10;
    /// LookupEvents' largest page (its `MaxResults` maximum, also the default).
    pub const TRAIL_PAGE_SIZE: i32 = 50;
}

/// Which role the caller plays for service-managed stack sets (the API's `CallAs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum CallAs {
    /// `SELF` first; on "stack set not found", `DELEGATED_ADMIN`.
    #[default]
    Auto,
    SelfAccount,
    DelegatedAdmin,
}

impl CallAs {
    /// The roles to try, in order.
    fn modes(self) -> &'static [CallAs] {
        match self {
            CallAs::Auto => &[CallAs::SelfAccount, CallAs::DelegatedAdmin],
            CallAs::SelfAccount => &[CallAs::SelfAccount],
            CallAs::DelegatedAdmin => &[CallAs::DelegatedAdmin],
        }
    }

    /// The API's name for the role.
    fn api_name(self) -> &'static str {
        match self {
            CallAs::DelegatedAdmin => "DELEGATED_ADMIN",
            _ => "SELF",
        }
    }

    fn sdk(self) -> SdkCallAs {
        match self {
            CallAs::DelegatedAdmin => SdkCallAs::DelegatedAdmin,
            _ => SdkCallAs::SelfValue,
        }
    }
}

/// What to collect.
#[derive(Debug, Clone)]
pub struct Options {
    pub stack_sets: Vec<String>,
    /// Find Quick Setup's stack sets (`AWS-QuickSetup-*`) and configuration managers.
    pub quick_setup: bool,
    pub operation_id: Option<String>,
    /// Only instances in these regions (empty: all).
    pub regions: Vec<String>,
    /// Only instances in these accounts (empty: all): an instance event names one (docs/eventbridge.md).
    pub accounts: Vec<String>,
    pub call_as: CallAs,
    /// Role to assume in member accounts to read their stack events.
    pub member_role: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Search each failing account and Region's CloudTrail event history for the calls behind the failures
    /// (docs/cloudtrail-collection.md).
    pub cloudtrail: bool,
    /// Show a progress bar on stderr.
    pub progress: bool,
    /// Collect for a preflight (docs/preflight.md#live): the descriptions and every instance, and the SCP/RCP
    /// path of every instance's account, not only the failing ones'; no failed stacks' events, no CloudTrail, no
    /// Automation executions (what a diagnosis reads and a preflight does not use).
    pub preflight: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            stack_sets: Vec::new(),
            quick_setup: false,
            operation_id: None,
            regions: Vec::new(),
            accounts: Vec::new(),
            call_as: CallAs::Auto,
            member_role: None,
            concurrency: 8,
            cloudtrail: true,
            progress: false,
            preflight: false,
        }
    }
}

/// The evidence gathered, with what it cost.
#[derive(Debug)]
pub struct Collected {
    pub evidence: Evidence,
    pub stats: CollectionStats,
}

impl Collected {
    /// `collected 3 stack sets, 5 failed instances in 2.1 s: 41 API calls (43 attempts); 1 gap`.
    pub fn summary(&self) -> String {
        let e = &self.evidence;
        let failed = e
            .stack_instances
            .iter()
            .filter(|i| status::instance_failed(i.detailed_status.as_deref(), &i.status))
            .count();
        let mut s = format!(
            "collected {} stack set(s), {} failed instance(s), {} failure event(s) in {:.1} s: {} API calls ({} attempts)",
            e.stack_sets.len(),
            failed,
            e.stack_events.len(),
            self.stats.elapsed_ms as f64 / 1000.0,
            self.stats.total_calls,
            self.stats.attempts
        );
        if !e.coverage.is_empty() {
            s.push_str(&format!(
                "; {} gap(s), see the report's coverage",
                e.coverage.len()
            ));
        }
        s
    }
}

/// Collect the evidence. Fails only when nothing can be asked at all (no credentials, no region) or there is
/// nothing to collect (no stack set given or found).
pub async fn collect(o: &Options, sdk: &Sdk) -> Result<Collected, Error> {
    let start = Instant::now();
    let ctx = Ctx::new(o, sdk).await?;
    let mut ev = Evidence::default();
    let targets = ctx.targets(&mut ev).await?;

    ctx.step("reading stack sets");
    let per_set: Vec<(bool, stack_sets::StackSetEvidence)> = stream::iter(targets)
        .map(|(name, call_as)| {
            let ctx = &ctx;
            async move { (call_as.is_none(), ctx.stack_set(name, call_as).await) }
        })
        .buffer_unordered(o.concurrency.max(1))
        .collect()
        .await;
    let mut missing = Vec::new();
    for (named, e) in per_set {
        match e {
            stack_sets::StackSetEvidence::Found(e) => ev.extend(*e),
            // Named on the command line: that it does not exist is the answer, never "no failure found".
            stack_sets::StackSetEvidence::NotFound { name, tried } if named => {
                missing.push((name, tried))
            }
            // Found by Quick Setup's listing and gone since.
            stack_sets::StackSetEvidence::NotFound { name, .. } => ctx.gap(
                format!("stack set {name}"),
                "listed by ListStackSets, then not found by DescribeStackSet (deleted meanwhile?)",
            ),
        }
    }
    if !missing.is_empty() {
        if let Some(pb) = &ctx.progress {
            pb.finish_and_clear();
        }
        return Err(ctx.not_found(missing));
    }

    let holders = ev
        .operations
        .iter()
        .any(|op| status::holds_lock(&op.status));
    if o.cloudtrail && !o.preflight && (!ev.stack_events.is_empty() || holders) {
        ctx.step("searching CloudTrail in the failing accounts");
        ctx.trail(&mut ev).await;
    }
    let accounts: BTreeSet<String> = if o.preflight {
        ctx.step("listing the accounts of the target OUs");
        let mut a = ctx.ou_accounts(&ev).await;
        a.extend(ev.stack_instances.iter().map(|i| i.account.clone()));
        a
    } else {
        failing_accounts(&ev)
    };
    if !accounts.is_empty() {
        ctx.step(if o.preflight {
            "reading SCPs/RCPs on the target accounts' paths"
        } else {
            "reading SCPs/RCPs on the failing accounts' paths"
        });
        ctx.organization(&accounts, &mut ev).await;
    }
    if o.quick_setup && !o.preflight {
        let since = ev.operations.iter().filter_map(|op| op.created).min();
        ctx.step("reading Quick Setup's Automation executions");
        ev.automation_executions = ctx.automation_executions(since).await;
    }

    if let Some(pb) = &ctx.progress {
        pb.finish_and_clear();
    }
    ev.coverage.extend(ctx.take_coverage());
    ev.normalize();
    let calls = sdk.log.calls();
    Ok(Collected {
        evidence: ev,
        stats: CollectionStats {
            region: sdk.region(),
            caller_account: ctx.caller_account.clone(),
            total_calls: calls.values().sum(),
            calls,
            attempts: sdk.log.attempts(),
            elapsed_ms: u64::try_from(start.elapsed().as_millis()).unwrap_or(u64::MAX),
        },
    })
}

/// Accounts whose failures an SCP may explain: every account with a failed result or instance.
fn failing_accounts(ev: &Evidence) -> BTreeSet<String> {
    ev.operation_results
        .iter()
        .filter(|r| r.status == "FAILED")
        .map(|r| r.account.clone())
        .chain(
            ev.stack_instances
                .iter()
                .filter(|i| i.detailed_status.as_deref() == Some("FAILED"))
                .map(|i| i.account.clone()),
        )
        .collect()
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn src(file: String, pointer: String) -> Option<SourceRef> {
    Some(SourceRef { file, pointer })
}

/// One member account's assumed-role credentials, or why they could not be had; filled once.
type MemberCredentials = Arc<OnceCell<Result<Credentials, String>>>;

/// What every part of a collection shares: the options, the clients, the bound on requests in flight, the
/// member accounts' credentials and the coverage gaps found so far.
struct Ctx<'a> {
    o: &'a Options,
    sdk: &'a Sdk,
    cfn: aws_sdk_cloudformation::Client,
    sts: aws_sdk_sts::Client,
    caller_account: String,
    partition: String,
    /// Bounds the requests in flight across every level of the collection.
    sem: Semaphore,
    /// Assumed-role credentials per member account, obtained once (and a failure recorded once).
    members: Mutex<HashMap<String, MemberCredentials>>,
    coverage: Mutex<Vec<CoverageNote>>,
    /// Where `DescribeEvents` cannot be used (then `DescribeStackEvents` is).
    describe_events: Mutex<DescribeEventsState>,
    /// `GetHookResult` calls made (bounded per run).
    hook_results: AtomicUsize,
    progress: Option<ProgressBar>,
}

/// Whether the endpoint knows `DescribeEvents` (None: as far as known, yes), and the accounts that refused it.
#[derive(Default)]
struct DescribeEventsState {
    unknown: Option<String>,
    denied: HashSet<String>,
}

impl<'a> Ctx<'a> {
    /// Who the caller is (the one call that must succeed), and the shared state.
    async fn new(o: &'a Options, sdk: &'a Sdk) -> Result<Ctx<'a>, Error> {
        let sts = sdk.sts();
        let ident = sts.get_caller_identity().send().await.map_err(|e| Error::Aws {
            what: "sts:GetCallerIdentity".into(),
            reason: format!(
                "{} (credentials come from --profile, AWS_PROFILE, AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, `aws sso login`, \
                 or the instance role)",
                describe_error(&e)
            ),
        })?;
        let caller_account = ident.account().unwrap_or_default().to_owned();
        let partition = ident
            .arn()
            .and_then(crate::ids::Arn::parse)
            .map(|p| p.partition.to_owned())
            .unwrap_or_else(|| "aws".into());
        let progress = o.progress.then(|| {
            let pb = ProgressBar::new(0);
            pb.set_style(
                indicatif::ProgressStyle::with_template("{spinner} {msg} [{pos}/{len}] {elapsed}")
                    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar()),
            );
            pb.enable_steady_tick(Duration::from_millis(120));
            pb
        });
        Ok(Ctx {
            o,
            sdk,
            cfn: sdk.cloudformation(None, None),
            sts,
            caller_account,
            partition,
            sem: Semaphore::new(o.concurrency.max(1)),
            members: Mutex::new(HashMap::new()),
            coverage: Mutex::new(Vec::new()),
            describe_events: Mutex::new(DescribeEventsState::default()),
            hook_results: AtomicUsize::new(0),
            progress,
        })
    }

    /// The stack sets to collect: the ones named, and with `--quick-setup` the ones Quick Setup made (whose
    /// configuration managers go into `ev`). None at all is an error that says why.
    async fn targets(&self, ev: &mut Evidence) -> Result<Vec<(String, Option<CallAs>)>, Error> {
        let mut targets: Vec<(String, Option<CallAs>)> = Vec::new();
        for n in &self.o.stack_sets {
            if !targets.iter().any(|(t, _)| t == n) {
                targets.push((n.clone(), None));
            }
        }
        if self.o.quick_setup {
            self.step("finding Quick Setup stack sets");
            let (managers, found) = self.quick_setup_stack_sets().await;
            ev.quick_setup = managers;
            for (name, call_as) in found {
                if !targets.iter().any(|(n, _)| *n == name) {
                    targets.push((name, Some(call_as)));
                }
            }
        }
        if !targets.is_empty() {
            return Ok(targets);
        }
        if let Some(pb) = &self.progress {
            pb.finish_and_clear();
        }
        let why = self
            .take_coverage()
            .iter()
            .map(|c| format!("{}: {}", c.scope, c.reason))
            .collect::<Vec<_>>()
            .join("; ");
        Err(Error::Aws {
            what: "stack sets".into(),
            reason: if self.o.quick_setup {
                format!(
                    "no Quick Setup stack set (AWS-QuickSetup-*) found in {} as the caller ({}){}",
                    self.sdk.region(),
                    self.caller_account,
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!("; {why}")
                    }
                )
            } else {
                "no stack set to collect: pass --stack-set NAME or --quick-setup".into()
            },
        })
    }

    /// The error for named stack sets that do not exist: which, where, as whom, and what was tried.
    fn not_found(&self, missing: Vec<(String, Vec<CallAs>)>) -> Error {
        let mut missing = missing;
        missing.sort();
        let names: Vec<&str> = missing.iter().map(|(n, _)| n.as_str()).collect();
        let tried = |t: &[CallAs]| {
            t.iter()
                .map(|m| m.api_name())
                .collect::<Vec<_>>()
                .join(" and as ")
        };
        let how = match self.o.call_as {
            CallAs::Auto => "--call-as auto",
            CallAs::SelfAccount => "--call-as SELF",
            CallAs::DelegatedAdmin => "--call-as DELEGATED_ADMIN",
        };
        Error::Aws {
            what: format!(
                "stack set{} {}",
                if names.len() == 1 { "" } else { "s" },
                names.join(", ")
            ),
            reason: format!(
                "not found in {} by account {}: cloudformation:DescribeStackSet answered StackSetNotFoundException                  as {} ({how}); check the name, --region (the stack set's home region) and the account (the                  management account, a delegated administrator with --call-as DELEGATED_ADMIN, or the stack set's                  own account for a self-managed one)",
                self.sdk.region(),
                self.caller_account,
                missing
                    .first()
                    .map(|(_, t)| tried(t))
                    .unwrap_or_default(),
            ),
        }
    }

    fn gap(&self, scope: impl Into<String>, reason: impl Into<String>) {
        if let Ok(mut c) = self.coverage.lock() {
            c.push(CoverageNote {
                scope: scope.into(),
                reason: reason.into(),
            });
        }
    }

    fn take_coverage(&self) -> Vec<CoverageNote> {
        self.coverage
            .lock()
            .map(|mut c| std::mem::take(&mut *c))
            .unwrap_or_default()
    }

    fn step(&self, msg: &'static str) {
        if let Some(pb) = &self.progress {
            pb.set_message(msg);
        }
    }

    fn planned(&self, n: usize) {
        if let Some(pb) = &self.progress {
            pb.inc_length(n as u64);
        }
    }

    fn done(&self) {
        if let Some(pb) = &self.progress {
            pb.inc(1);
        }
    }

    fn many_stack_sets(&self) -> bool {
        self.o.stack_sets.len() > 1 || self.o.quick_setup
    }

    fn region_wanted(&self, region: &str) -> bool {
        self.o.regions.is_empty() || self.o.regions.iter().any(|r| r == region)
    }

    /// Whether an instance (or result) in `account` and `region` is collected.
    fn instance_wanted(&self, account: &str, region: &str) -> bool {
        self.region_wanted(region)
            && (self.o.accounts.is_empty() || self.o.accounts.iter().any(|a| a == account))
    }
}
