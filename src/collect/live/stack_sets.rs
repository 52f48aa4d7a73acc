//! The admin side of one stack set: its description, the failed operation and its results, and the instances
//! whose stacks did not deploy.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::ops::ControlFlow;

use aws_sdk_cloudformation::types::{
    DeploymentTargets as SdkDeploymentTargets, OperationResultFilter, OperationResultFilterName,
    StackSetOperationPreferences,
};
use futures_util::stream::{self, StreamExt};

use super::{limits, src, time, CallAs, Ctx};
use crate::collect::aws::{describe_error, error_code};
use crate::evidence::{
    DeploymentTargets, Evidence, Operation, OperationPreferences, OperationResult, Parameter,
    StackInstance, StackSet, Window,
};
use crate::vocabulary::status;

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
            deployment_targets: None,
            preferences: $op.operation_preferences().map(preferences),
            source: $source,
        }
    };
}

/// An operation's `OperationPreferences`, as the evidence keeps them.
fn preferences(p: &StackSetOperationPreferences) -> OperationPreferences {
    let n = |v: Option<i32>| v.and_then(|v| u64::try_from(v).ok());
    OperationPreferences {
        failure_tolerance_count: n(p.failure_tolerance_count()),
        failure_tolerance_percentage: n(p.failure_tolerance_percentage()),
        max_concurrent_count: n(p.max_concurrent_count()),
        max_concurrent_percentage: n(p.max_concurrent_percentage()),
        concurrency_mode: p.concurrency_mode().map(|v| v.as_str().to_owned()),
        region_concurrency_type: p.region_concurrency_type().map(|v| v.as_str().to_owned()),
        region_order: p.region_order().to_vec(),
    }
}

/// An operation's `DeploymentTargets`, as the evidence keeps them.
fn deployment_targets(t: &SdkDeploymentTargets) -> DeploymentTargets {
    DeploymentTargets {
        accounts: t.accounts().to_vec(),
        organizational_units: t.organizational_unit_ids().to_vec(),
        account_filter_type: t.account_filter_type().map(|v| v.as_str().to_owned()),
    }
}

/// Whether an operation is a deployment that failed: FAILED or STOPPED, or SUCCEEDED with failed instances
/// (within the failure tolerance). `DETECT_DRIFT` is never one: it deploys nothing (docs/architecture.md,
/// "Live collection").
fn failed_deployment(op: &Operation) -> bool {
    op.action.as_deref() != Some("DETECT_DRIFT")
        && (status::operation_failed(&op.status) || op.failed_instances.is_some_and(|n| n > 0))
}

/// An operation's window, when its start is known.
fn op_window(o: &Operation) -> Option<Window> {
    o.created.map(|start| Window {
        start: Some(start),
        end: o.ended,
    })
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

/// Why a stack set could not be described.
pub(super) enum NotDescribed {
    /// `StackSetNotFoundException` in every role tried (in that order).
    NotFound(Vec<CallAs>),
    /// Anything else (AccessDenied, throttling, a timeout): a coverage gap.
    Other(String),
}

/// What one stack set gave: its evidence, or that it does not exist (an error when it was named: never an empty
/// bundle that reads as "no failure").
pub(super) enum StackSetEvidence {
    Found(Box<Evidence>),
    NotFound { name: String, tried: Vec<CallAs> },
}

/// The operations read for a stack set: the one whose failure is explained, and what else is known of the rest
/// (for the windows of instances whose last operation is another one).
struct Operations {
    chosen: Option<Operation>,
    /// The newest operation whatever its status, failed `DETECT_DRIFT` operations newer than the chosen one.
    also: Vec<Operation>,
    /// Every listed operation, by id.
    listed: HashMap<String, Operation>,
}

impl Ctx<'_> {
    /// Everything about one stack set; gaps are recorded, never fatal, but a stack set that does not exist is
    /// said so.
    pub(super) async fn stack_set(
        &self,
        name: String,
        call_as: Option<CallAs>,
    ) -> StackSetEvidence {
        let mut ev = Evidence::default();
        let (ss, call_as) = match self.describe_stack_set(&name, call_as).await {
            Ok(x) => x,
            Err(NotDescribed::NotFound(tried)) => {
                return StackSetEvidence::NotFound { name, tried }
            }
            Err(NotDescribed::Other(reason)) => {
                self.gap(format!("stack set {name}"), reason);
                return StackSetEvidence::Found(Box::new(ev));
            }
        };
        ev.stack_sets.push(ss);

        let ops = self.operations(&name, call_as).await;
        let op = ops.chosen.clone();
        // The failed operation's window: events outside it belong to other operations.
        let window = op.as_ref().and_then(op_window);
        // A preflight reads no stack's events, and needs no failed operation: none is no gap.
        if op.is_none() && !self.o.preflight {
            self.gap(
                format!("stack set {name}"),
                "no failed operation found (none FAILED or STOPPED, none with failed instances; DETECT_DRIFT \
                 operations are not deployments): stack events are read without an operation window, a few pages \
                 per stack",
            );
        }
        if let Some(op) = op.as_ref().filter(|_| !self.o.preflight) {
            ev.operation_results = self
                .operation_results(&name, &op.operation_id, call_as)
                .await;
        }
        ev.operations.extend(op.clone());
        // `also` never holds the chosen operation, whose results are read above.
        for o in ops
            .also
            .iter()
            .filter(|o| !self.o.preflight && status::holds_lock(&o.status))
        {
            let results = self
                .operation_results(&name, &o.operation_id, call_as)
                .await;
            ev.operation_results.extend(results);
        }
        for o in ops.also {
            if !ev
                .operations
                .iter()
                .any(|e| e.operation_id == o.operation_id)
            {
                ev.operations.push(o);
            }
        }

        let instances = self.instances(&name, call_as).await;
        let (failed, rest): (Vec<StackInstance>, Vec<StackInstance>) = instances
            .into_iter()
            .partition(|i| status::instance_failed(i.detailed_status.as_deref(), &i.status));
        self.planned(failed.len());
        // DescribeStackInstance has the full reason; the listing may hold an older one.
        let described: Vec<StackInstance> = stream::iter(failed)
            .map(|i| self.describe_instance(&name, i, call_as))
            .buffer_unordered(self.o.concurrency.max(1))
            .collect()
            .await;

        // Each failed stack is read within its own last operation's window (auto-deployment runs one operation
        // per account, so that is often not the chosen one).
        let chosen_id = op.as_ref().map(|o| o.operation_id.clone());
        let others: BTreeSet<String> = described
            .iter()
            .filter(|i| i.stack_id.is_some())
            .filter_map(|i| i.last_operation_id.clone())
            .filter(|id| Some(id) != chosen_id.as_ref())
            .collect();
        let mut windows: HashMap<String, Option<Window>> = HashMap::new();
        for (n, id) in others.into_iter().enumerate() {
            let other = match ops.listed.get(&id) {
                Some(o) => Some(o.clone()),
                None if n < limits::OTHER_OPERATIONS => {
                    self.describe_operation(&name, &id, call_as).await
                }
                None => None,
            };
            if let Some(o) = &other {
                windows.insert(id.clone(), op_window(o));
                if !ev
                    .operations
                    .iter()
                    .any(|e| e.operation_id == o.operation_id)
                {
                    ev.operations.push(o.clone());
                }
            } else {
                windows.insert(id.clone(), None);
                if n >= limits::OTHER_OPERATIONS {
                    self.gap(
                        format!("stack set {name}"),
                        format!(
                            "operation {id}: more than {} other operations hold failed instances; the stacks of \
                             this one are read without its window",
                            limits::OTHER_OPERATIONS
                        ),
                    );
                }
            }
        }
        let with_stacks: Vec<(String, String, String, Option<Window>)> = described
            .iter()
            .filter_map(|i| {
                let w = match &i.last_operation_id {
                    Some(id) if Some(id) != chosen_id.as_ref() => {
                        windows.get(id).copied().flatten()
                    }
                    _ => window,
                };
                i.stack_id
                    .clone()
                    .map(|s| (i.account.clone(), i.region.clone(), s, w))
            })
            .collect();
        ev.stack_instances = described;
        ev.stack_instances.extend(rest);

        // A preflight reads no stack's events: what failed before is not what it predicts.
        let with_stacks = if self.o.preflight {
            Vec::new()
        } else {
            with_stacks
        };
        let stacks: Vec<Evidence> = stream::iter(with_stacks)
            .map(|(account, region, stack_id, w)| {
                self.member_stack(&name, account, region, stack_id, w)
            })
            .buffer_unordered(self.o.concurrency.max(1))
            .collect()
            .await;
        for s in stacks {
            ev.extend(s);
        }
        StackSetEvidence::Found(Box::new(ev))
    }

    async fn describe_stack_set(
        &self,
        name: &str,
        call_as: Option<CallAs>,
    ) -> Result<(StackSet, CallAs), NotDescribed> {
        let mut tried = Vec::new();
        for &mode in call_as.unwrap_or(self.o.call_as).modes() {
            let _p = self.sem.acquire().await;
            let r = self
                .cfn
                .describe_stack_set()
                .stack_set_name(name)
                .call_as(mode.sdk())
                .send()
                .await;
            match r {
                Ok(out) => {
                    let Some(s) = out.stack_set() else {
                        return Err(NotDescribed::Other(
                            "cloudformation:DescribeStackSet returned no stack set".into(),
                        ));
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
                        auto_deployment: s.auto_deployment().map(|a| {
                            crate::evidence::AutoDeployment {
                                enabled: a.enabled(),
                                retain_stacks_on_account_removal: a
                                    .retain_stacks_on_account_removal(),
                                depends_on: a.depends_on().to_vec(),
                            }
                        }),
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
                    // Only "not found as SELF" is worth a second try as DELEGATED_ADMIN.
                    if error_code(&e) != Some("StackSetNotFoundException") {
                        return Err(NotDescribed::Other(format!(
                            "cloudformation:DescribeStackSet: {}",
                            describe_error(&e)
                        )));
                    }
                    tried.push(mode);
                }
            }
        }
        Err(NotDescribed::NotFound(tried))
    }

    /// The operation to explain — the given one, else the newest failed deployment (not simply the newest: that
    /// is often a later retry, or a drift detection) — and what else the listing says.
    async fn operations(&self, name: &str, call_as: CallAs) -> Operations {
        if let Some(id) = &self.o.operation_id {
            return Operations {
                chosen: self.describe_operation(name, id, call_as).await,
                also: Vec::new(),
                listed: HashMap::new(),
            };
        }
        let items = self
            .cfn
            .list_stack_set_operations()
            .stack_set_name(name)
            .call_as(call_as.sdk())
            .into_paginator()
            .items()
            .send();
        let file = format!("live:{}/ListStackSetOperations", self.sdk.region());
        let mut listed: Vec<Operation> = Vec::new();
        {
            let _p = self.sem.acquire().await;
            self.drain(
                items,
                |e| {
                    Some((
                        format!("stack set {name}"),
                        format!(
                            "cloudformation:ListStackSetOperations: {}",
                            describe_error(e)
                        ),
                    ))
                },
                |op| {
                    let pointer = format!("/{name}/{}", op.operation_id().unwrap_or_default());
                    listed.push(operation_record!(op, name, "", src(file.clone(), pointer)));
                    ControlFlow::Continue(())
                },
            )
            .await;
        }
        // The API lists newest first, but do not rely on it.
        let newest = |pick: &dyn Fn(&Operation) -> bool| {
            listed
                .iter()
                .filter(|o| pick(o))
                .max_by_key(|o| o.created)
                .cloned()
        };
        let mut chosen = newest(&failed_deployment);
        // A preflight wants the targets of the newest deployment, failed or not (its DeploymentTargets).
        if chosen.is_none() && self.o.preflight {
            chosen = newest(&|o: &Operation| {
                matches!(o.action.as_deref(), Some("CREATE") | Some("UPDATE"))
            });
        }
        let mut also: Vec<Operation> = Vec::new();
        // The last operation, whatever it did: a healthy stack set's evidence says what ran last.
        also.extend(newest(&|_| true));
        // The operations that hold the stack set (RUNNING, STOPPING, QUEUED): a refused request's cause, and their
        // results say how far they got (docs/cloudtrail.md#the-lock-holder).
        also.extend(
            listed
                .iter()
                .filter(|o| status::holds_lock(&o.status))
                .take(limits::HOLDERS)
                .cloned(),
        );
        // Drift detections that did not succeed since: not the failure, but worth a word in the report.
        let since = chosen.as_ref().and_then(|c| c.created);
        for o in &listed {
            if o.action.as_deref() == Some("DETECT_DRIFT")
                && status::operation_failed(&o.status)
                && (since.is_none() || o.created > since)
            {
                also.push(o.clone());
            }
        }
        // The summary has no DeploymentTargets (and older answers no OperationPreferences): describe the one.
        if let Some(c) = &chosen {
            if let Some(full) = self
                .describe_operation(name, &c.operation_id, call_as)
                .await
            {
                chosen = Some(full);
            }
        }
        let chosen_id = chosen.as_ref().map(|c| c.operation_id.clone());
        // Once each: the newest operation may also hold the stack set (not always next to it in `also`).
        let mut seen: std::collections::HashSet<String> = chosen_id.into_iter().collect();
        also.retain(|o| seen.insert(o.operation_id.clone()));
        Operations {
            chosen,
            also,
            listed: listed
                .into_iter()
                .map(|o| (o.operation_id.clone(), o))
                .collect(),
        }
    }

    /// `DescribeStackSetOperation`: the operation with its preferences and deployment targets; None (and a gap,
    /// unless the id belongs to another of several stack sets) when it cannot be read.
    async fn describe_operation(&self, name: &str, id: &str, call_as: CallAs) -> Option<Operation> {
        let _p = self.sem.acquire().await;
        match self
            .cfn
            .describe_stack_set_operation()
            .stack_set_name(name)
            .operation_id(id)
            .call_as(call_as.sdk())
            .send()
            .await
        {
            Ok(out) => out.stack_set_operation().map(|op| {
                let mut rec = operation_record!(
                    op,
                    name,
                    id,
                    src(
                        format!("live:{}/DescribeStackSetOperation", self.sdk.region()),
                        format!("/{name}/{id}"),
                    )
                );
                rec.deployment_targets = op.deployment_targets().map(deployment_targets);
                rec
            }),
            Err(e) => {
                // With several stack sets, a given id belongs to one of them: not finding it elsewhere is no gap.
                let elsewhere = self.o.operation_id.as_deref() == Some(id)
                    && error_code(&e) == Some("OperationNotFoundException")
                    && self.many_stack_sets();
                if !elsewhere {
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
        }
    }

    /// The operation's FAILED and CANCELLED results (filtered by the API, so succeeded ones are not paged).
    async fn operation_results(
        &self,
        name: &str,
        op: &str,
        call_as: CallAs,
    ) -> Vec<OperationResult> {
        let mut out = Vec::new();
        for result_status in ["FAILED", "CANCELLED"] {
            let _p = self.sem.acquire().await;
            let filter = OperationResultFilter::builder()
                .name(OperationResultFilterName::OperationResultStatus)
                .values(result_status)
                .build();
            let items = self
                .cfn
                .list_stack_set_operation_results()
                .stack_set_name(name)
                .operation_id(op)
                .call_as(call_as.sdk())
                .filters(filter)
                .into_paginator()
                .items()
                .send();
            let file = format!("live:{}/ListStackSetOperationResults", self.sdk.region());
            let mut i = 0usize;
            self.drain(
                items,
                |e| {
                    Some((
                        format!("stack set {name}"),
                        format!(
                            "cloudformation:ListStackSetOperationResults ({result_status}) of {op}: {}",
                            describe_error(e)
                        ),
                    ))
                },
                |r| {
                    let st = r
                        .status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default();
                    let region = r.region().unwrap_or_default().to_owned();
                    // An emulator (or an older API) may ignore the filter: filter here too.
                    if st != result_status
                        || !self.instance_wanted(r.account().unwrap_or_default(), &region)
                    {
                        return ControlFlow::Continue(());
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
                        account_gate_reason: gate.and_then(|g| g.status_reason()).map(str::to_owned),
                        organizational_unit: r.organizational_unit_id().map(str::to_owned),
                        source: src(file.clone(), format!("/{name}/{op}/{result_status}/{i}")),
                    });
                    i += 1;
                    ControlFlow::Continue(())
                },
            )
            .await;
        }
        out
    }

    /// Every instance with its status, unfiltered (100 a page: far fewer calls than one per instance, and a
    /// healthy stack set's evidence says what was examined: CURRENT, OUTDATED, INOPERABLE, skipped suspended
    /// accounts).
    async fn instances(&self, name: &str, call_as: CallAs) -> Vec<StackInstance> {
        let mut out: Vec<StackInstance> = Vec::new();
        let _p = self.sem.acquire().await;
        let items = self
            .cfn
            .list_stack_instances()
            .stack_set_name(name)
            .call_as(call_as.sdk())
            .max_results(100)
            .into_paginator()
            .items()
            .send();
        let file = format!("live:{}/ListStackInstances", self.sdk.region());
        let mut seen: HashSet<(String, String)> = HashSet::new();
        self.drain(
            items,
            |e| {
                Some((
                    format!("stack set {name}"),
                    format!("cloudformation:ListStackInstances: {}", describe_error(e)),
                ))
            },
            |i| {
                let region = i.region().unwrap_or_default().to_owned();
                let account = i.account().unwrap_or_default().to_owned();
                if !self.instance_wanted(&account, &region)
                    || !seen.insert((account.clone(), region.clone()))
                {
                    return ControlFlow::Continue(());
                }
                out.push(StackInstance {
                    stack_set: Some(name.to_owned()),
                    account: account.clone(),
                    region: region.clone(),
                    stack_id: i.stack_id().map(str::to_owned),
                    status: i
                        .status()
                        .map(|s| s.as_str().to_owned())
                        .unwrap_or_default(),
                    detailed_status: i
                        .stack_instance_status()
                        .and_then(|d| d.detailed_status())
                        .map(|d| d.as_str().to_owned()),
                    status_reason: i.status_reason().map(str::to_owned),
                    last_operation_id: i.last_operation_id().map(str::to_owned),
                    organizational_unit: i.organizational_unit_id().map(str::to_owned),
                    parameter_overrides: Vec::new(),
                    source: src(file.clone(), format!("/{name}/{account}/{region}")),
                });
                ControlFlow::Continue(())
            },
        )
        .await;
        out
    }

    /// `DescribeStackInstance` for a failed instance (cancelled ones never ran: the listing says all).
    async fn describe_instance(
        &self,
        name: &str,
        mut inst: StackInstance,
        call_as: CallAs,
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
            .call_as(call_as.sdk())
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
                    inst.parameter_overrides = i
                        .parameter_overrides()
                        .iter()
                        .filter_map(|p| {
                            Some(crate::evidence::Parameter {
                                key: p.parameter_key()?.to_owned(),
                                value: p.parameter_value().map(str::to_owned),
                            })
                        })
                        .collect();
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
}
