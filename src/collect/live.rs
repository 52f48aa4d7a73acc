//! Live collection: asks AWS (or an emulator at `--endpoint-url`) for the evidence of a failed StackSet
//! deployment, and gives the same [`Evidence`] the offline reader gives, ready for the rest of the pipeline.
//!
//! Takes [`Options`] (stack set names or `--quick-setup`, an operation id, a member role, ...) and an
//! [`Sdk`]; gives [`Collected`]: the evidence, its coverage notes, and how many calls it took.
//!
//! What it asks, from the admin side (the management or delegated admin account):
//! `DescribeStackSet`, the failed operation (`DescribeStackSetOperation` for a given id, else the newest
//! `ListStackSetOperations` entry that did not succeed), its failed and cancelled results
//! (`ListStackSetOperationResults`, filtered by status), the failed instances (`ListStackInstances`, filtered
//! by detailed status; `DescribeStackInstance` for each), and, where the caller may, the SCPs/RCPs on the path
//! from each failing account to the root. From each failing stack's account (the caller's own, or through
//! `--member-role`): `DescribeStacks` and `DescribeStackEvents` back to the start of the failed operation.
//! So the calls grow with the failed instances, not with every instance or every event.
//!
//! Nothing aborts the run but missing credentials: an AccessDenied, a throttled call that ran out of
//! retries, or a timeout becomes a [`CoverageNote`] and the rest of the collection goes on.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use aws_credential_types::Credentials;
use aws_sdk_cloudformation::types::{
    CallAs as SdkCallAs, OperationResultFilter, OperationResultFilterName, StackInstanceFilter,
    StackInstanceFilterName,
};
use chrono::{DateTime, Utc};
use futures_util::stream::{self, StreamExt};
use indicatif::ProgressBar;
use tokio::sync::{OnceCell, Semaphore};

use super::aws::{describe_error, error_code, Sdk};
use crate::error::Error;
use crate::evidence::{
    stack_set_from_stack_name, AccountPath, AutomationExecution, AutomationStep, CollectionStats,
    CoverageNote, Evidence, Operation, OperationResult, OrgPolicy, Organization, Parameter,
    QuickSetupManager, QuickSetupStatus, SourceRef, Stack, StackEvent, StackInstance, StackSet,
};
use crate::vocabulary::status;

/// Which role the caller plays for service-managed stack sets (the API's `CallAs`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub enum CallAs {
    /// `SELF` first; on "stack set not found", `DELEGATED_ADMIN`.
    #[default]
    Auto,
    SelfAccount,
    DelegatedAdmin,
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
    pub call_as: CallAs,
    /// Role to assume in member accounts to read their stack events.
    pub member_role: Option<String>,
    /// Requests in flight at once.
    pub concurrency: usize,
    /// Show a progress bar on stderr.
    pub progress: bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            stack_sets: Vec::new(),
            quick_setup: false,
            operation_id: None,
            regions: Vec::new(),
            call_as: CallAs::Auto,
            member_role: None,
            concurrency: 8,
            progress: false,
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
    let ctx = Ctx {
        o,
        sdk,
        cfn: sdk.cloudformation(None, None),
        sts,
        caller_account,
        partition,
        sem: Semaphore::new(o.concurrency.max(1)),
        members: Mutex::new(HashMap::new()),
        coverage: Mutex::new(Vec::new()),
        progress,
    };

    let mut ev = Evidence::default();
    let mut targets: Vec<(String, Option<CallAs>)> = Vec::new();
    for n in &o.stack_sets {
        if !targets.iter().any(|(t, _)| t == n) {
            targets.push((n.clone(), None));
        }
    }
    if o.quick_setup {
        ctx.step("finding Quick Setup stack sets");
        let (managers, found) = ctx.quick_setup_stack_sets().await;
        ev.quick_setup = managers;
        for (name, call_as) in found {
            if !targets.iter().any(|(n, _)| *n == name) {
                targets.push((name, Some(call_as)));
            }
        }
    }
    if targets.is_empty() {
        if let Some(pb) = &ctx.progress {
            pb.finish_and_clear();
        }
        let gaps = ctx.take_coverage();
        let why = gaps
            .iter()
            .map(|c| format!("{}: {}", c.scope, c.reason))
            .collect::<Vec<_>>()
            .join("; ");
        return Err(Error::Aws {
            what: "stack sets".into(),
            reason: if o.quick_setup {
                format!(
                    "no Quick Setup stack set (AWS-QuickSetup-*) found in {} as the caller ({}){}",
                    sdk.region(),
                    ctx.caller_account,
                    if why.is_empty() {
                        String::new()
                    } else {
                        format!("; {why}")
                    }
                )
            } else {
                "no stack set to collect: pass --stack-set NAME or --quick-setup".into()
            },
        });
    }

    ctx.step("reading stack sets");
    let per_set: Vec<Evidence> = stream::iter(targets)
        .map(|(name, call_as)| ctx.stack_set(name, call_as))
        .buffer_unordered(o.concurrency.max(1))
        .collect()
        .await;
    for e in per_set {
        ev.extend(e);
    }

    // Accounts whose failures an SCP may explain: every account with a failed result or instance.
    let failing: BTreeSet<String> = ev
        .operation_results
        .iter()
        .filter(|r| r.status == "FAILED")
        .map(|r| r.account.clone())
        .chain(
            ev.stack_instances
                .iter()
                .filter(|i| i.detailed_status.as_deref() == Some("FAILED"))
                .map(|i| i.account.clone()),
        )
        .collect();
    if !failing.is_empty() {
        ctx.step("reading SCPs/RCPs on the failing accounts' paths");
        ctx.organization(&failing, &mut ev).await;
    }
    if o.quick_setup {
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

/// An [`Operation`] from either SDK shape of one (`StackSetOperation` from Describe, `StackSetOperationSummary`
/// from List): the two types share these accessors but no trait.
macro_rules! operation_record {
    ($op:expr, $stack_set:expr, $id_fallback:expr, $source:expr) => {
        Operation {
            stack_set: Some($stack_set.to_owned()),
            operation_id: $op.operation_id().unwrap_or($id_fallback).to_owned(),
            action: $op.action().map(|a| a.as_str().to_owned()),
            status: $op
                .status()
                .map(|s| s.as_str().to_owned())
                .unwrap_or_default(),
            status_reason: $op.status_reason().map(str::to_owned),
            created: time($op.creation_timestamp()),
            ended: time($op.end_timestamp()),
            failed_instances: $op
                .status_details()
                .and_then(|d| d.failed_stack_instances_count())
                .and_then(|n| u64::try_from(n).ok()),
            source: $source,
        }
    };
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    t.and_then(|t| DateTime::from_timestamp(t.secs(), t.subsec_nanos()))
}

fn src(file: String, pointer: String) -> Option<SourceRef> {
    Some(SourceRef { file, pointer })
}

/// Parameter keys whose values are not stored even when AWS returns them in clear.
fn looks_secret(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    [
        "password",
        "passwd",
        "secret",
        "token",
        "apikey",
        "api_key",
        "privatekey",
        "private_key",
        "credential",
    ]
    .iter()
    .any(|w| k.contains(w))
}

/// One member account's assumed-role credentials, or why they could not be had; filled once.
type MemberCredentials = Arc<OnceCell<Result<Credentials, String>>>;

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
    progress: Option<ProgressBar>,
}

impl Ctx<'_> {
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

    fn sdk_call_as(c: CallAs) -> SdkCallAs {
        match c {
            CallAs::DelegatedAdmin => SdkCallAs::DelegatedAdmin,
            _ => SdkCallAs::SelfValue,
        }
    }

    /// Quick Setup's configuration managers (evidence in themselves) and the `AWS-QuickSetup-*` stack sets.
    async fn quick_setup_stack_sets(&self) -> (Vec<QuickSetupManager>, Vec<(String, CallAs)>) {
        let mut managers = Vec::new();
        {
            let _p = self.sem.acquire().await;
            let qs = self.sdk.quick_setup();
            let mut pages = qs.list_configuration_managers().into_paginator().send();
            let mut i = 0usize;
            while let Some(page) = pages.next().await {
                match page {
                    Ok(p) => {
                        for m in p.configuration_managers_list() {
                            managers.push(QuickSetupManager {
                                manager_arn: m.manager_arn().to_owned(),
                                name: m.name().map(str::to_owned),
                                definition_types: m
                                    .configuration_definition_summaries()
                                    .iter()
                                    .filter_map(|d| d.r#type().map(str::to_owned))
                                    .collect(),
                                statuses: m
                                    .status_summaries()
                                    .iter()
                                    .map(|s| QuickSetupStatus {
                                        status_type: s.status_type().as_str().to_owned(),
                                        status: s.status().map(|s| s.as_str().to_owned()),
                                        message: s.status_message().map(str::to_owned),
                                        last_updated: time(Some(s.last_updated_at())),
                                    })
                                    .collect(),
                                source: src(
                                    format!("live:{}/ListConfigurationManagers", self.sdk.region()),
                                    format!("/ConfigurationManagersList/{i}"),
                                ),
                            });
                            i += 1;
                        }
                    }
                    Err(e) => {
                        self.gap(
                            "Quick Setup configuration managers",
                            format!(
                                "ssm-quicksetup:ListConfigurationManagers: {}; stack sets are found by name instead",
                                describe_error(&e)
                            ),
                        );
                        break;
                    }
                }
            }
        }
        let mut found = Vec::new();
        let modes: &[CallAs] = match self.o.call_as {
            CallAs::Auto => &[CallAs::SelfAccount, CallAs::DelegatedAdmin],
            CallAs::SelfAccount => &[CallAs::SelfAccount],
            CallAs::DelegatedAdmin => &[CallAs::DelegatedAdmin],
        };
        for &mode in modes {
            let _p = self.sem.acquire().await;
            let mut pages = self
                .cfn
                .list_stack_sets()
                .status(aws_sdk_cloudformation::types::StackSetStatus::Active)
                .call_as(Self::sdk_call_as(mode))
                .into_paginator()
                .items()
                .send();
            while let Some(item) = pages.next().await {
                match item {
                    Ok(s) => {
                        if let Some(name) = s.stack_set_name() {
                            if name.starts_with("AWS-QuickSetup-")
                                && !found.iter().any(|(n, _)| n == name)
                            {
                                found.push((name.to_owned(), mode));
                            }
                        }
                    }
                    Err(e) => {
                        // In auto mode, DELEGATED_ADMIN is refused (ValidationError) to accounts that are not
                        // one: expected. Anything else (throttling, AccessDenied) is a gap.
                        let expected = self.o.call_as == CallAs::Auto
                            && mode == CallAs::DelegatedAdmin
                            && error_code(&e) == Some("ValidationError");
                        if !expected {
                            self.gap(
                                "stack sets",
                                format!("cloudformation:ListStackSets: {}", describe_error(&e)),
                            );
                        }
                        break;
                    }
                }
            }
        }
        found.sort();
        (managers, found)
    }

    /// Everything about one stack set; gaps are recorded, never fatal.
    async fn stack_set(&self, name: String, call_as: Option<CallAs>) -> Evidence {
        let mut ev = Evidence::default();
        let (ss, call_as) = match self.describe_stack_set(&name, call_as).await {
            Ok(x) => x,
            Err(reason) => {
                self.gap(format!("stack set {name}"), reason);
                return ev;
            }
        };
        ev.stack_sets.push(ss);
        let ca = Self::sdk_call_as(call_as);

        let op = self.failed_operation(&name, ca.clone()).await;
        // The failed operation's window, with slack for clock skew: events outside it belong to other operations.
        let window_start = op.as_ref().and_then(|o| o.created).map(|t| {
            let slack = chrono::Duration::minutes(5);
            (
                t.checked_sub_signed(slack).unwrap_or(t),
                o_end(op.as_ref()).map(|e| e.checked_add_signed(slack).unwrap_or(e)),
            )
        });
        if op.is_none() {
            self.gap(
                format!("stack set {name}"),
                "no failed operation found (none FAILED or STOPPED, none with failed instances): stack events are \
                 read without an operation window, a few pages per stack",
            );
        }
        if let Some(op) = &op {
            ev.operation_results = self
                .operation_results(&name, &op.operation_id, ca.clone())
                .await;
        }
        ev.operations.extend(op);

        let mut instances = self.failed_instances(&name, ca.clone()).await;
        self.planned(instances.len());
        // DescribeStackInstance has the full reason; the listing may hold an older one.
        let described: Vec<StackInstance> = stream::iter(instances.drain(..))
            .map(|i| self.describe_instance(&name, i, ca.clone()))
            .buffer_unordered(self.o.concurrency.max(1))
            .collect()
            .await;
        let with_stacks: Vec<(String, String, String)> = described
            .iter()
            .filter_map(|i| {
                i.stack_id
                    .clone()
                    .map(|s| (i.account.clone(), i.region.clone(), s))
            })
            .collect();
        ev.stack_instances = described;

        let stacks: Vec<Evidence> = stream::iter(with_stacks)
            .map(|(account, region, stack_id)| {
                self.member_stack(&name, account, region, stack_id, window_start)
            })
            .buffer_unordered(self.o.concurrency.max(1))
            .collect()
            .await;
        for s in stacks {
            ev.extend(s);
        }
        ev
    }

    async fn describe_stack_set(
        &self,
        name: &str,
        call_as: Option<CallAs>,
    ) -> Result<(StackSet, CallAs), String> {
        let modes: Vec<CallAs> = match call_as.unwrap_or(self.o.call_as) {
            CallAs::Auto => vec![CallAs::SelfAccount, CallAs::DelegatedAdmin],
            m => vec![m],
        };
        let mut last = String::new();
        for mode in modes {
            let _p = self.sem.acquire().await;
            let r = self
                .cfn
                .describe_stack_set()
                .stack_set_name(name)
                .call_as(Self::sdk_call_as(mode))
                .send()
                .await;
            match r {
                Ok(out) => {
                    let Some(s) = out.stack_set() else {
                        return Err("cloudformation:DescribeStackSet returned no stack set".into());
                    };
                    let ss = StackSet {
                        name: s.stack_set_name().unwrap_or(name).to_owned(),
                        id: s.stack_set_id().map(str::to_owned),
                        status: s.status().map(|v| v.as_str().to_owned()),
                        permission_model: s.permission_model().map(|v| v.as_str().to_owned()),
                        description: s.description().map(str::to_owned),
                        administration_role_arn: s.administration_role_arn().map(str::to_owned),
                        execution_role_name: s.execution_role_name().map(str::to_owned),
                        template_body: s.template_body().map(str::to_owned),
                        parameters: s
                            .parameters()
                            .iter()
                            .map(|p| {
                                let key = p.parameter_key().unwrap_or_default().to_owned();
                                // NoEcho values come back masked; secret-looking ones are not stored either.
                                let value = p
                                    .parameter_value()
                                    .filter(|v| *v != "****" && !looks_secret(&key))
                                    .map(str::to_owned);
                                Parameter { key, value }
                            })
                            .collect(),
                        source: src(
                            format!("live:{}/DescribeStackSet", self.sdk.region()),
                            format!("/StackSet ({name})"),
                        ),
                    };
                    return Ok((ss, mode));
                }
                Err(e) => {
                    last = format!("cloudformation:DescribeStackSet: {}", describe_error(&e));
                    // Only "not found as SELF" is worth a second try as DELEGATED_ADMIN.
                    if error_code(&e) != Some("StackSetNotFoundException") {
                        break;
                    }
                }
            }
        }
        Err(last)
    }

    /// The given operation, else the newest one that did not succeed (not simply the newest: that is often a
    /// later retry).
    async fn failed_operation(&self, name: &str, ca: SdkCallAs) -> Option<Operation> {
        let _p = self.sem.acquire().await;
        let source = |op: &str| {
            src(
                format!("live:{}/ListStackSetOperations", self.sdk.region()),
                format!("/{name}/{op}"),
            )
        };
        if let Some(id) = &self.o.operation_id {
            return match self
                .cfn
                .describe_stack_set_operation()
                .stack_set_name(name)
                .operation_id(id)
                .call_as(ca)
                .send()
                .await
            {
                Ok(out) => out.stack_set_operation().map(|op| {
                    operation_record!(
                        op,
                        name,
                        id,
                        src(
                            format!("live:{}/DescribeStackSetOperation", self.sdk.region()),
                            format!("/{name}/{id}"),
                        )
                    )
                }),
                Err(e) => {
                    // With several stack sets, the id belongs to one of them: not finding it elsewhere is no gap.
                    if !(error_code(&e) == Some("OperationNotFoundException")
                        && self.many_stack_sets())
                    {
                        self.gap(
                            format!("stack set {name}"),
                            format!(
                                "cloudformation:DescribeStackSetOperation {id}: {}",
                                describe_error(&e)
                            ),
                        );
                    }
                    None
                }
            };
        }
        let mut pages = self
            .cfn
            .list_stack_set_operations()
            .stack_set_name(name)
            .call_as(ca)
            .into_paginator()
            .items()
            .send();
        let mut newest: Option<Operation> = None;
        while let Some(item) = pages.next().await {
            match item {
                Ok(op) => {
                    let cand = operation_record!(
                        op,
                        name,
                        "",
                        source(op.operation_id().unwrap_or_default())
                    );
                    // A SUCCEEDED operation may still have failed instances within the failure tolerance.
                    if !matches!(cand.status.as_str(), "FAILED" | "STOPPED")
                        && cand.failed_instances.is_none_or(|n| n == 0)
                    {
                        continue;
                    }
                    // The API lists newest first, but do not rely on it.
                    if newest.as_ref().is_none_or(|n| cand.created > n.created) {
                        newest = Some(cand);
                    }
                }
                Err(e) => {
                    self.gap(
                        format!("stack set {name}"),
                        format!(
                            "cloudformation:ListStackSetOperations: {}",
                            describe_error(&e)
                        ),
                    );
                    break;
                }
            }
        }
        newest
    }

    fn many_stack_sets(&self) -> bool {
        self.o.stack_sets.len() > 1 || self.o.quick_setup
    }

    fn region_wanted(&self, region: &str) -> bool {
        self.o.regions.is_empty() || self.o.regions.iter().any(|r| r == region)
    }

    /// The operation's FAILED and CANCELLED results (filtered by the API, so succeeded ones are not paged).
    async fn operation_results(&self, name: &str, op: &str, ca: SdkCallAs) -> Vec<OperationResult> {
        let mut out = Vec::new();
        for status in ["FAILED", "CANCELLED"] {
            let _p = self.sem.acquire().await;
            let filter = OperationResultFilter::builder()
                .name(OperationResultFilterName::OperationResultStatus)
                .values(status)
                .build();
            let mut pages = self
                .cfn
                .list_stack_set_operation_results()
                .stack_set_name(name)
                .operation_id(op)
                .call_as(ca.clone())
                .filters(filter)
                .into_paginator()
                .items()
                .send();
            let mut i = 0usize;
            while let Some(item) = pages.next().await {
                match item {
                    Ok(r) => {
                        let st = r
                            .status()
                            .map(|s| s.as_str().to_owned())
                            .unwrap_or_default();
                        let region = r.region().unwrap_or_default().to_owned();
                        // An emulator (or an older API) may ignore the filter: filter here too.
                        if st != status || !self.region_wanted(&region) {
                            continue;
                        }
                        let gate = r.account_gate_result();
                        out.push(OperationResult {
                            stack_set: Some(name.to_owned()),
                            operation_id: Some(op.to_owned()),
                            account: r.account().unwrap_or_default().to_owned(),
                            region,
                            status: st,
                            status_reason: r.status_reason().map(str::to_owned),
                            account_gate_status: gate
                                .and_then(|g| g.status())
                                .map(|s| s.as_str().to_owned()),
                            account_gate_reason: gate
                                .and_then(|g| g.status_reason())
                                .map(str::to_owned),
                            organizational_unit: r.organizational_unit_id().map(str::to_owned),
                            source: src(
                                format!("live:{}/ListStackSetOperationResults", self.sdk.region()),
                                format!("/{name}/{op}/{status}/{i}"),
                            ),
                        });
                        i += 1;
                    }
                    Err(e) => {
                        self.gap(
                            format!("stack set {name}"),
                            format!(
                                "cloudformation:ListStackSetOperationResults ({status}) of {op}: {}",
                                describe_error(&e)
                            ),
                        );
                        break;
                    }
                }
            }
        }
        out
    }

    /// Instances whose stacks did not deploy, listed by detailed status so healthy ones are never paged.
    async fn failed_instances(&self, name: &str, ca: SdkCallAs) -> Vec<StackInstance> {
        let mut out: Vec<StackInstance> = Vec::new();
        for status in status::FAILED_INSTANCE_DETAILS {
            let _p = self.sem.acquire().await;
            let filter = StackInstanceFilter::builder()
                .name(StackInstanceFilterName::DetailedStatus)
                .values(status)
                .build();
            let mut pages = self
                .cfn
                .list_stack_instances()
                .stack_set_name(name)
                .call_as(ca.clone())
                .filters(filter)
                .into_paginator()
                .items()
                .send();
            while let Some(item) = pages.next().await {
                match item {
                    Ok(i) => {
                        let detailed = i
                            .stack_instance_status()
                            .and_then(|d| d.detailed_status())
                            .map(|d| d.as_str().to_owned());
                        let st = i
                            .status()
                            .map(|s| s.as_str().to_owned())
                            .unwrap_or_default();
                        let region = i.region().unwrap_or_default().to_owned();
                        let account = i.account().unwrap_or_default().to_owned();
                        if !status::instance_failed(detailed.as_deref(), &st)
                            || !self.region_wanted(&region)
                            || out
                                .iter()
                                .any(|o| o.account == account && o.region == region)
                        {
                            continue;
                        }
                        out.push(StackInstance {
                            stack_set: Some(name.to_owned()),
                            account: account.clone(),
                            region: region.clone(),
                            stack_id: i.stack_id().map(str::to_owned),
                            status: st,
                            detailed_status: detailed,
                            status_reason: i.status_reason().map(str::to_owned),
                            last_operation_id: i.last_operation_id().map(str::to_owned),
                            organizational_unit: i.organizational_unit_id().map(str::to_owned),
                            source: src(
                                format!("live:{}/ListStackInstances", self.sdk.region()),
                                format!("/{name}/{account}/{region}"),
                            ),
                        });
                    }
                    Err(e) => {
                        self.gap(
                            format!("stack set {name}"),
                            format!(
                                "cloudformation:ListStackInstances ({status}): {}",
                                describe_error(&e)
                            ),
                        );
                        break;
                    }
                }
            }
        }
        out
    }

    /// `DescribeStackInstance` for a failed instance (cancelled ones never ran: the listing says all).
    async fn describe_instance(
        &self,
        name: &str,
        mut inst: StackInstance,
        ca: SdkCallAs,
    ) -> StackInstance {
        if inst.detailed_status.as_deref() == Some("CANCELLED") {
            self.done();
            return inst;
        }
        let _p = self.sem.acquire().await;
        match self
            .cfn
            .describe_stack_instance()
            .stack_set_name(name)
            .stack_instance_account(&inst.account)
            .stack_instance_region(&inst.region)
            .call_as(ca)
            .send()
            .await
        {
            Ok(out) => {
                if let Some(i) = out.stack_instance() {
                    if let Some(r) = i.status_reason() {
                        inst.status_reason = Some(r.to_owned());
                    }
                    if let Some(s) = i.stack_id() {
                        inst.stack_id = Some(s.to_owned());
                    }
                    if let Some(d) = i.stack_instance_status().and_then(|d| d.detailed_status()) {
                        inst.detailed_status = Some(d.as_str().to_owned());
                    }
                    inst.source = src(
                        format!("live:{}/DescribeStackInstance", self.sdk.region()),
                        format!("/{name}/{}/{}", inst.account, inst.region),
                    );
                }
            }
            Err(e) => self.gap(
                format!("account {} ({})", inst.account, inst.region),
                format!(
                    "cloudformation:DescribeStackInstance: {}; the listing's reason is used",
                    describe_error(&e)
                ),
            ),
        }
        self.done();
        inst
    }

    /// Credentials for a member account: none needed for the caller's own; else the member role, once.
    async fn member_credentials(&self, account: &str) -> Result<Option<Credentials>, String> {
        if account == self.caller_account {
            return Ok(None);
        }
        let Some(role) = &self.o.member_role else {
            return Err(
                "no --member-role given, so the stack's events in this account were not read"
                    .into(),
            );
        };
        let cell = {
            let mut m = self
                .members
                .lock()
                .map_err(|_| "internal lock poisoned".to_string())?;
            m.entry(account.to_owned()).or_default().clone()
        };
        let role_arn = format!("arn:{}:iam::{account}:role/{role}", self.partition);
        cell.get_or_init(|| async {
            let _p = self.sem.acquire().await;
            match self
                .sts
                .assume_role()
                .role_arn(&role_arn)
                .role_session_name("stackset-doctor")
                .duration_seconds(3600)
                .send()
                .await
            {
                Ok(out) => match out.credentials() {
                    Some(c) => Ok(Credentials::new(
                        c.access_key_id(),
                        c.secret_access_key(),
                        Some(c.session_token().to_owned()),
                        None,
                        "stackset-doctor-member-role",
                    )),
                    None => Err(format!("sts:AssumeRole {role_arn} returned no credentials")),
                },
                Err(e) => Err(format!(
                    "could not assume {role_arn} (sts:AssumeRole: {}), so the stack's events in this account were not read",
                    describe_error(&e)
                )),
            }
        })
        .await
        .clone()
        .map(Some)
    }

    /// The failed stack's record and failure events (and those of its failed nested stacks) in its account.
    async fn member_stack(
        &self,
        stack_set: &str,
        account: String,
        region: String,
        stack_id: String,
        since: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
    ) -> Evidence {
        let mut ev = Evidence::default();
        let creds = match self.member_credentials(&account).await {
            Ok(c) => c,
            Err(reason) => {
                // Once per account, however many stacks it holds.
                let scope = format!("account {account}");
                let seen = self
                    .coverage
                    .lock()
                    .map(|c| c.iter().any(|n| n.scope == scope))
                    .unwrap_or(false);
                if !seen {
                    self.gap(scope, reason);
                }
                return ev;
            }
        };
        let cfn = self.sdk.cloudformation(Some(&region), creds.as_ref());
        let mut queue = vec![(stack_id, 0usize)];
        while let Some((id, depth)) = queue.pop() {
            let nested = self
                .stack_and_events(&cfn, stack_set, &account, &region, &id, since, &mut ev)
                .await;
            // Nested stacks that failed hold the first failure; follow them a few levels down.
            if depth < 3 {
                queue.extend(nested.into_iter().map(|n| (n, depth + 1)));
            }
        }
        ev
    }

    /// Returns the ids of failed nested stacks found in the events.
    #[allow(clippy::too_many_arguments)]
    async fn stack_and_events(
        &self,
        cfn: &aws_sdk_cloudformation::Client,
        stack_set: &str,
        account: &str,
        region: &str,
        stack_id: &str,
        since: Option<(DateTime<Utc>, Option<DateTime<Utc>>)>,
        ev: &mut Evidence,
    ) -> Vec<String> {
        let scope = || format!("account {account} ({region})");
        let file = |op: &str| format!("live:{account}/{region}/{op}");
        let _p = self.sem.acquire().await;
        match cfn.describe_stacks().stack_name(stack_id).send().await {
            Ok(out) => {
                for (i, s) in out.stacks().iter().enumerate() {
                    let name = s.stack_name().unwrap_or_default().to_owned();
                    ev.stacks.push(Stack {
                        stack_set: stack_set_from_stack_name(&name)
                            .map(str::to_owned)
                            .or_else(|| Some(stack_set.to_owned())),
                        account: Some(account.to_owned()),
                        region: Some(region.to_owned()),
                        stack_id: s.stack_id().unwrap_or(stack_id).to_owned(),
                        stack_name: name,
                        status: s
                            .stack_status()
                            .map(|v| v.as_str().to_owned())
                            .unwrap_or_default(),
                        status_reason: s.stack_status_reason().map(str::to_owned),
                        created: time(s.creation_time()),
                        parent_id: s.parent_id().map(str::to_owned),
                        source: src(file("DescribeStacks"), format!("/Stacks/{i}")),
                    });
                }
            }
            Err(e) => {
                self.gap(
                    scope(),
                    format!(
                        "cloudformation:DescribeStacks {stack_id}: {}",
                        describe_error(&e)
                    ),
                );
                return Vec::new();
            }
        }
        let mut nested = Vec::new();
        let mut pages = cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .into_paginator()
            .send();
        let mut i = 0usize;
        let mut pages_read = 0usize;
        'pages: while let Some(page) = pages.next().await {
            pages_read += 1;
            let page = match page {
                Ok(p) => p,
                Err(e) => {
                    self.gap(
                        scope(),
                        format!(
                            "cloudformation:DescribeStackEvents {stack_id}: {}",
                            describe_error(&e)
                        ),
                    );
                    break;
                }
            };
            for e in page.stack_events() {
                let ts = time(e.timestamp());
                // Events come newest first: once past the operation's start, the rest are history; events
                // after its end belong to a later operation.
                if let (Some(t), Some((start, end))) = (ts, since) {
                    if t < start {
                        break 'pages;
                    }
                    if end.is_some_and(|end| t > end) {
                        continue;
                    }
                }
                let status = e
                    .resource_status()
                    .map(|v| v.as_str().to_owned())
                    .unwrap_or_default();
                let stack_name = e.stack_name().unwrap_or_default();
                let is_stack = e.resource_type() == Some("AWS::CloudFormation::Stack")
                    && e.logical_resource_id() == Some(stack_name);
                let reason = e.resource_status_reason();
                i += 1;
                if !status::event_is_failure(&status, reason, is_stack) {
                    continue;
                }
                if !is_stack && e.resource_type() == Some("AWS::CloudFormation::Stack") {
                    if let Some(p) = e.physical_resource_id().filter(|p| p.starts_with("arn:")) {
                        if !nested.iter().any(|n| n == p) && p != stack_id {
                            nested.push(p.to_owned());
                        }
                    }
                }
                ev.stack_events.push(StackEvent {
                    stack_id: e.stack_id().unwrap_or(stack_id).to_owned(),
                    stack_name: stack_name.to_owned(),
                    stack_set: stack_set_from_stack_name(stack_name)
                        .map(str::to_owned)
                        .or_else(|| Some(stack_set.to_owned())),
                    account: Some(account.to_owned()),
                    region: Some(region.to_owned()),
                    event_id: e.event_id().map(str::to_owned),
                    logical_id: e.logical_resource_id().map(str::to_owned),
                    physical_id: e.physical_resource_id().map(str::to_owned),
                    resource_type: e.resource_type().map(str::to_owned),
                    timestamp: ts.unwrap_or_default(),
                    status,
                    status_reason: reason.map(str::to_owned),
                    stack_operation_id: e.operation_id().map(str::to_owned),
                    source: src(
                        file("DescribeStackEvents"),
                        format!("/{stack_id}/StackEvents/{}", i - 1),
                    ),
                });
            }
            // Without an operation window, a long history is cut after a few pages.
            if since.is_none() && pages_read >= 5 {
                self.gap(
                    format!("account {account} ({region})"),
                    format!("{stack_id}: only the newest 5 pages of stack events were read (no operation window)"),
                );
                break;
            }
        }
        nested
    }

    /// The organization, each failing account's path to the root, and the SCPs/RCPs attached along it.
    async fn organization(&self, accounts: &BTreeSet<String>, ev: &mut Evidence) {
        let orgs = self.sdk.organizations();
        {
            let _p = self.sem.acquire().await;
            match orgs.describe_organization().send().await {
                Ok(out) => {
                    ev.organization = out.organization().map(|o| Organization {
                        id: o.id().map(str::to_owned),
                        management_account: o.master_account_id().map(str::to_owned),
                    })
                }
                Err(e) => {
                    self.gap(
                        "organization",
                        format!(
                            "organizations:DescribeOrganization: {}; SCPs/RCPs were not collected (call from the \
                             management account or a delegated administrator for Organizations, or pass --scp FILE)",
                            describe_error(&e)
                        ),
                    );
                    return;
                }
            }
        }
        // Parents and attachments are shared by many accounts: ask once per node.
        let mut attached: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new(); // target → (policy id, type)
        for account in accounts {
            let mut path = Vec::new();
            let mut child = account.clone();
            let mut ok = true;
            for _ in 0..8 {
                let _p = self.sem.acquire().await;
                match orgs.list_parents().child_id(&child).send().await {
                    Ok(out) => match out.parents().first().and_then(|p| p.id()) {
                        Some(id) => {
                            path.push(id.to_owned());
                            if id.starts_with("r-") {
                                break;
                            }
                            child = id.to_owned();
                        }
                        None => break,
                    },
                    Err(e) => {
                        self.gap(
                            format!("account {account}"),
                            format!(
                                "organizations:ListParents {child}: {}; its SCP path is incomplete",
                                describe_error(&e)
                            ),
                        );
                        ok = false;
                        break;
                    }
                }
            }
            for target in std::iter::once(account.clone()).chain(path.iter().cloned()) {
                if attached.contains_key(&target) || !ok {
                    continue;
                }
                let mut list = Vec::new();
                for ty in [
                    aws_sdk_organizations::types::PolicyType::ServiceControlPolicy,
                    aws_sdk_organizations::types::PolicyType::ResourceControlPolicy,
                ] {
                    let _p = self.sem.acquire().await;
                    let mut pages = orgs
                        .list_policies_for_target()
                        .target_id(&target)
                        .filter(ty.clone())
                        .into_paginator()
                        .send();
                    while let Some(page) = pages.next().await {
                        match page {
                            Ok(p) => {
                                for pol in p.policies() {
                                    if let Some(id) = pol.id() {
                                        list.push((id.to_owned(), ty.as_str().to_owned()));
                                    }
                                }
                            }
                            Err(e) => {
                                // RCPs may simply not be enabled: not worth a gap of their own.
                                let rcp_off = ty == aws_sdk_organizations::types::PolicyType::ResourceControlPolicy
                                    && error_code(&e) == Some("PolicyTypeNotEnabledException");
                                if !rcp_off {
                                    self.gap(
                                        format!("policies on {target}"),
                                        format!(
                                            "organizations:ListPoliciesForTarget ({}): {}",
                                            ty.as_str(),
                                            describe_error(&e)
                                        ),
                                    );
                                }
                                break;
                            }
                        }
                    }
                }
                attached.insert(target, list);
            }
            // A path that stops short of the root would mislead the evaluator: keep complete ones only.
            if ok {
                ev.account_paths.push(AccountPath {
                    account: account.clone(),
                    parents: path,
                });
            }
        }
        let mut by_policy: BTreeMap<String, (String, Vec<String>)> = BTreeMap::new();
        for (target, list) in &attached {
            for (id, ty) in list {
                by_policy
                    .entry(id.clone())
                    .or_insert_with(|| (ty.clone(), Vec::new()))
                    .1
                    .push(target.clone());
            }
        }
        let fetched: Vec<Option<OrgPolicy>> = stream::iter(by_policy)
            .map(|(id, (ty, targets))| {
                let orgs = orgs.clone();
                async move {
                    let _p = self.sem.acquire().await;
                    match orgs.describe_policy().policy_id(&id).send().await {
                        Ok(out) => out.policy().map(|p| {
                            let s = p.policy_summary();
                            OrgPolicy {
                                id: Some(id.clone()),
                                arn: s.and_then(|s| s.arn()).map(str::to_owned),
                                name: s.and_then(|s| s.name()).map(str::to_owned),
                                policy_type: s
                                    .and_then(|s| s.r#type())
                                    .map(|t| t.as_str().to_owned())
                                    .unwrap_or(ty),
                                content: p.content().unwrap_or_default().to_owned(),
                                targets,
                                source: src(
                                    "live:organizations/DescribePolicy".into(),
                                    format!("/{id}"),
                                ),
                            }
                        }),
                        Err(e) => {
                            self.gap(
                                format!("policy {id}"),
                                format!("organizations:DescribePolicy: {}", describe_error(&e)),
                            );
                            None
                        }
                    }
                }
            })
            .buffer_unordered(self.o.concurrency.max(1))
            .collect()
            .await;
        // AWS's own FullAWSAccess is attached everywhere and denies nothing: keep it, the evaluator needs the Allow.
        ev.policies.extend(fetched.into_iter().flatten());
    }

    /// Automation executions that did not succeed since the failed operations began, with their failed steps.
    async fn automation_executions(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Vec<AutomationExecution> {
        use aws_sdk_ssm::types::{AutomationExecutionFilter, AutomationExecutionFilterKey};
        let ssm = self.sdk.ssm();
        let mut req = ssm.describe_automation_executions();
        if let Ok(f) = AutomationExecutionFilter::builder()
            .key(AutomationExecutionFilterKey::ExecutionStatus)
            .values("Failed")
            .values("TimedOut")
            .values("Cancelled")
            .build()
        {
            req = req.filters(f);
        }
        if let Some(t) = since {
            let after = (t
                .checked_sub_signed(chrono::Duration::hours(1))
                .unwrap_or(t))
            .to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
            if let Ok(f) = AutomationExecutionFilter::builder()
                .key(AutomationExecutionFilterKey::StartTimeAfter)
                .values(after)
                .build()
            {
                req = req.filters(f);
            }
        }
        let mut metas = Vec::new();
        {
            let _p = self.sem.acquire().await;
            let mut pages = req.into_paginator().items().send();
            while let Some(item) = pages.next().await {
                match item {
                    Ok(m) => {
                        let quick_setup =
                            m.document_name().is_some_and(|d| d.contains("QuickSetup"));
                        if quick_setup && metas.len() < 20 {
                            metas.push(m);
                        }
                    }
                    Err(e) => {
                        self.gap(
                            "Automation executions",
                            format!("ssm:DescribeAutomationExecutions: {}", describe_error(&e)),
                        );
                        break;
                    }
                }
            }
        }
        let mut out = Vec::new();
        for m in metas {
            let id = m.automation_execution_id().unwrap_or_default().to_owned();
            let mut exec = AutomationExecution {
                execution_id: id.clone(),
                document_name: m.document_name().map(str::to_owned),
                status: m
                    .automation_execution_status()
                    .map(|s| s.as_str().to_owned())
                    .unwrap_or_default(),
                started: time(m.execution_start_time()),
                failure_message: m.failure_message().map(str::to_owned),
                failed_steps: Vec::new(),
                source: src(
                    format!("live:{}/GetAutomationExecution", self.sdk.region()),
                    format!("/{id}"),
                ),
            };
            let _p = self.sem.acquire().await;
            match ssm
                .get_automation_execution()
                .automation_execution_id(&id)
                .send()
                .await
            {
                Ok(full) => {
                    if let Some(a) = full.automation_execution() {
                        exec.failed_steps = a
                            .step_executions()
                            .iter()
                            .filter(|s| {
                                s.step_status().is_some_and(|st| {
                                    matches!(st.as_str(), "Failed" | "TimedOut" | "Cancelled")
                                })
                            })
                            .map(|s| AutomationStep {
                                name: s.step_name().unwrap_or_default().to_owned(),
                                action: s.action().map(str::to_owned),
                                status: s
                                    .step_status()
                                    .map(|v| v.as_str().to_owned())
                                    .unwrap_or_default(),
                                failure_message: s.failure_message().map(str::to_owned),
                            })
                            .collect();
                    }
                }
                Err(e) => self.gap(
                    format!("Automation execution {id}"),
                    format!("ssm:GetAutomationExecution: {}", describe_error(&e)),
                ),
            }
            out.push(exec);
        }
        out
    }
}

fn o_end(op: Option<&Operation>) -> Option<DateTime<Utc>> {
    op.and_then(|o| o.ended)
}
