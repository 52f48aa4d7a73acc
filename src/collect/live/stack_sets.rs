//! The admin side of one stack set: its description, the failed operation and its results, and the instances
//! whose stacks did not deploy.

use std::ops::ControlFlow;

use aws_sdk_cloudformation::types::{
    OperationResultFilter, OperationResultFilterName, StackInstanceFilter, StackInstanceFilterName,
};
use futures_util::stream::{self, StreamExt};

use super::{src, time, CallAs, Ctx};
use crate::collect::aws::{describe_error, error_code};
use crate::evidence::{
    Evidence, Operation, OperationResult, Parameter, StackInstance, StackSet, Window,
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
            preferences: None,
            source: $source,
        }
    };
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

impl Ctx<'_> {
    /// Everything about one stack set; gaps are recorded, never fatal.
    pub(super) async fn stack_set(&self, name: String, call_as: Option<CallAs>) -> Evidence {
        let mut ev = Evidence::default();
        let (ss, call_as) = match self.describe_stack_set(&name, call_as).await {
            Ok(x) => x,
            Err(reason) => {
                self.gap(format!("stack set {name}"), reason);
                return ev;
            }
        };
        ev.stack_sets.push(ss);

        let op = self.failed_operation(&name, call_as).await;
        // The failed operation's window: events outside it belong to other operations.
        let window = op.as_ref().filter(|o| o.created.is_some()).map(|o| Window {
            start: o.created,
            end: o.ended,
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
                .operation_results(&name, &op.operation_id, call_as)
                .await;
        }
        ev.operations.extend(op);

        let instances = self.failed_instances(&name, call_as).await;
        self.planned(instances.len());
        // DescribeStackInstance has the full reason; the listing may hold an older one.
        let described: Vec<StackInstance> = stream::iter(instances)
            .map(|i| self.describe_instance(&name, i, call_as))
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
                self.member_stack(&name, account, region, stack_id, window)
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
        let mut last = String::new();
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
    async fn failed_operation(&self, name: &str, call_as: CallAs) -> Option<Operation> {
        let _p = self.sem.acquire().await;
        if let Some(id) = &self.o.operation_id {
            return match self
                .cfn
                .describe_stack_set_operation()
                .stack_set_name(name)
                .operation_id(id)
                .call_as(call_as.sdk())
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
        let items = self
            .cfn
            .list_stack_set_operations()
            .stack_set_name(name)
            .call_as(call_as.sdk())
            .into_paginator()
            .items()
            .send();
        let file = format!("live:{}/ListStackSetOperations", self.sdk.region());
        let mut newest: Option<Operation> = None;
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
                let cand = operation_record!(op, name, "", src(file.clone(), pointer));
                // A SUCCEEDED operation may still have failed instances within the failure tolerance.
                let failed = status::operation_failed(&cand.status)
                    || cand.failed_instances.is_some_and(|n| n > 0);
                // The API lists newest first, but do not rely on it.
                if failed && newest.as_ref().is_none_or(|n| cand.created > n.created) {
                    newest = Some(cand);
                }
                ControlFlow::Continue(())
            },
        )
        .await;
        newest
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
                    if st != result_status || !self.region_wanted(&region) {
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

    /// Instances whose stacks did not deploy, listed by detailed status so healthy ones are never paged.
    async fn failed_instances(&self, name: &str, call_as: CallAs) -> Vec<StackInstance> {
        let mut out: Vec<StackInstance> = Vec::new();
        for detailed_status in status::FAILED_INSTANCE_DETAILS {
            let _p = self.sem.acquire().await;
            let filter = StackInstanceFilter::builder()
                .name(StackInstanceFilterName::DetailedStatus)
                .values(detailed_status)
                .build();
            let items = self
                .cfn
                .list_stack_instances()
                .stack_set_name(name)
                .call_as(call_as.sdk())
                .filters(filter)
                .into_paginator()
                .items()
                .send();
            let file = format!("live:{}/ListStackInstances", self.sdk.region());
            self.drain(
                items,
                |e| {
                    Some((
                        format!("stack set {name}"),
                        format!(
                            "cloudformation:ListStackInstances ({detailed_status}): {}",
                            describe_error(e)
                        ),
                    ))
                },
                |i| {
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
                        return ControlFlow::Continue(());
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
                        parameter_overrides: Vec::new(),
                        source: src(file.clone(), format!("/{name}/{account}/{region}")),
                    });
                    ControlFlow::Continue(())
                },
            )
            .await;
        }
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
