//! Systems Manager Quick Setup: its configuration managers (evidence in themselves), the `AWS-QuickSetup-*`
//! stack sets it deploys, and the Automation executions it ran that did not succeed.

use std::ops::ControlFlow;

use chrono::{DateTime, Utc};

use super::{limits, src, time, CallAs, Ctx};
use crate::collect::aws::{describe_error, error_code};
use crate::evidence::{AutomationExecution, AutomationStep, QuickSetupManager, QuickSetupStatus};

/// Automation statuses that did not succeed.
const UNSUCCESSFUL: [&str; 3] = ["Failed", "TimedOut", "Cancelled"];

impl Ctx<'_> {
    /// Quick Setup's configuration managers and the `AWS-QuickSetup-*` stack sets (with the role the caller
    /// plays for each).
    pub(super) async fn quick_setup_stack_sets(
        &self,
    ) -> (Vec<QuickSetupManager>, Vec<(String, CallAs)>) {
        let mut managers = Vec::new();
        {
            let _p = self.sem.acquire().await;
            let qs = self.sdk.quick_setup();
            let pages = qs.list_configuration_managers().into_paginator().send();
            let region = self.sdk.region();
            self.drain(
                pages,
                |e| {
                    Some((
                        "Quick Setup configuration managers".into(),
                        format!(
                            "ssm-quicksetup:ListConfigurationManagers: {}; stack sets are found by name instead",
                            describe_error(e)
                        ),
                    ))
                },
                |p| {
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
                                format!("live:{region}/ListConfigurationManagers"),
                                format!("/ConfigurationManagersList/{}", managers.len()),
                            ),
                        });
                    }
                    ControlFlow::Continue(())
                },
            )
            .await;
        }
        let mut found: Vec<(String, CallAs)> = Vec::new();
        for &mode in self.o.call_as.modes() {
            let _p = self.sem.acquire().await;
            let items = self
                .cfn
                .list_stack_sets()
                .status(aws_sdk_cloudformation::types::StackSetStatus::Active)
                .call_as(mode.sdk())
                .into_paginator()
                .items()
                .send();
            self.drain(
                items,
                |e| {
                    // In auto mode, DELEGATED_ADMIN is refused (ValidationError) to accounts that are not one:
                    // expected. Anything else (throttling, AccessDenied) is a gap.
                    let expected = self.o.call_as == CallAs::Auto
                        && mode == CallAs::DelegatedAdmin
                        && error_code(e) == Some("ValidationError");
                    (!expected).then(|| {
                        (
                            "stack sets".into(),
                            format!("cloudformation:ListStackSets: {}", describe_error(e)),
                        )
                    })
                },
                |s| {
                    if let Some(name) = s.stack_set_name() {
                        if name.starts_with("AWS-QuickSetup-")
                            && !found.iter().any(|(n, _)| n == name)
                        {
                            found.push((name.to_owned(), mode));
                        }
                    }
                    ControlFlow::Continue(())
                },
            )
            .await;
        }
        found.sort();
        (managers, found)
    }

    /// Automation executions that did not succeed since the failed operations began, with their failed steps.
    pub(super) async fn automation_executions(
        &self,
        since: Option<DateTime<Utc>>,
    ) -> Vec<AutomationExecution> {
        use aws_sdk_ssm::types::{AutomationExecutionFilter, AutomationExecutionFilterKey};
        let ssm = self.sdk.ssm();
        let mut req = ssm.describe_automation_executions();
        let statuses = UNSUCCESSFUL
            .iter()
            .fold(
                AutomationExecutionFilter::builder()
                    .key(AutomationExecutionFilterKey::ExecutionStatus),
                |b, s| b.values(*s),
            )
            .build();
        if let Ok(f) = statuses {
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
            self.drain(
                req.into_paginator().items().send(),
                |e| {
                    Some((
                        "Automation executions".into(),
                        format!("ssm:DescribeAutomationExecutions: {}", describe_error(e)),
                    ))
                },
                |m| {
                    let quick_setup = m.document_name().is_some_and(|d| d.contains("QuickSetup"));
                    if quick_setup && metas.len() < limits::AUTOMATION_EXECUTIONS {
                        metas.push(m);
                    }
                    ControlFlow::Continue(())
                },
            )
            .await;
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
                                s.step_status()
                                    .is_some_and(|st| UNSUCCESSFUL.contains(&st.as_str()))
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
