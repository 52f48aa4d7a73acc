//! A failing stack in its own account: the credentials to read it (the caller's own account, or the member
//! role), the stack's record, and its failure events (and those of its failed nested stacks).

use std::ops::ControlFlow;

use aws_credential_types::Credentials;

use super::{limits, src, time, Ctx};
use crate::collect::aws::describe_error;
use crate::evidence::{stack_set_from_stack_name, Evidence, Stack, StackEvent, Window};
use crate::vocabulary::status;

impl Ctx<'_> {
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
    pub(super) async fn member_stack(
        &self,
        stack_set: &str,
        account: String,
        region: String,
        stack_id: String,
        window: Option<Window>,
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
        let stack = MemberStack {
            cfn: self.sdk.cloudformation(Some(&region), creds.as_ref()),
            stack_set,
            account: &account,
            region: &region,
            window,
        };
        let mut queue = vec![(stack_id, 0usize)];
        while let Some((id, depth)) = queue.pop() {
            if !self.describe_stack(&stack, &id, &mut ev).await {
                continue;
            }
            let nested = self.stack_events(&stack, &id, &mut ev).await;
            // Nested stacks that failed hold the first failure; follow them a few levels down.
            if depth < limits::NESTED_STACK_DEPTH {
                queue.extend(nested.into_iter().map(|n| (n, depth + 1)));
            }
        }
        ev
    }

    /// The stack's record; false (and a gap) when it cannot be read.
    async fn describe_stack(&self, m: &MemberStack<'_>, stack_id: &str, ev: &mut Evidence) -> bool {
        let _p = self.sem.acquire().await;
        match m.cfn.describe_stacks().stack_name(stack_id).send().await {
            Ok(out) => {
                for (i, s) in out.stacks().iter().enumerate() {
                    let name = s.stack_name().unwrap_or_default().to_owned();
                    ev.stacks.push(Stack {
                        stack_set: m.stack_set_of(&name),
                        account: Some(m.account.to_owned()),
                        region: Some(m.region.to_owned()),
                        stack_id: s.stack_id().unwrap_or(stack_id).to_owned(),
                        stack_name: name,
                        status: s
                            .stack_status()
                            .map(|v| v.as_str().to_owned())
                            .unwrap_or_default(),
                        status_reason: s.stack_status_reason().map(str::to_owned),
                        created: time(s.creation_time()),
                        root_id: s.root_id().map(str::to_owned),
                        parameters: s
                            .parameters()
                            .iter()
                            .filter_map(|p| {
                                Some(crate::evidence::Parameter {
                                    key: p.parameter_key()?.to_owned(),
                                    value: p.parameter_value().map(str::to_owned),
                                })
                            })
                            .collect(),
                        parent_id: s.parent_id().map(str::to_owned),
                        source: src(m.file("DescribeStacks"), format!("/Stacks/{i}")),
                    });
                }
                true
            }
            Err(e) => {
                self.gap(
                    m.scope(),
                    format!(
                        "cloudformation:DescribeStacks {stack_id}: {}",
                        describe_error(&e)
                    ),
                );
                false
            }
        }
    }

    /// The stack's failure events within the operation's window (or its newest pages); gives the ids of the failed
    /// nested stacks they name.
    async fn stack_events(
        &self,
        m: &MemberStack<'_>,
        stack_id: &str,
        ev: &mut Evidence,
    ) -> Vec<String> {
        let _p = self.sem.acquire().await;
        let pages = m
            .cfn
            .describe_stack_events()
            .stack_name(stack_id)
            .into_paginator()
            .send();
        let mut nested = Vec::new();
        let mut i = 0usize;
        let mut pages_read = 0usize;
        let mut cut_short = false;
        self.drain(
            pages,
            |e| {
                Some((
                    m.scope(),
                    format!(
                        "cloudformation:DescribeStackEvents {stack_id}: {}",
                        describe_error(e)
                    ),
                ))
            },
            |page| {
                pages_read += 1;
                for e in page.stack_events() {
                    let ts = time(e.timestamp());
                    // Events come newest first: once past the operation's start, the rest are history; events
                    // after its end belong to a later operation.
                    if let (Some(t), Some(w)) = (ts, m.window) {
                        if w.is_before(t) {
                            return ControlFlow::Break(());
                        }
                        if w.is_after(t) {
                            continue;
                        }
                    }
                    let event_status = e
                        .resource_status()
                        .map(|v| v.as_str().to_owned())
                        .unwrap_or_default();
                    let stack_name = e.stack_name().unwrap_or_default();
                    let is_stack = e.resource_type() == Some("AWS::CloudFormation::Stack")
                        && e.logical_resource_id() == Some(stack_name);
                    let reason = e.resource_status_reason();
                    i += 1;
                    if !status::event_is_failure(
                        &event_status,
                        reason,
                        is_stack,
                        e.hook_status().map(|h| h.as_str()),
                    ) {
                        continue;
                    }
                    if !is_stack && e.resource_type() == Some("AWS::CloudFormation::Stack") {
                        if let Some(p) = e.physical_resource_id().filter(|p| p.starts_with("arn:"))
                        {
                            if !nested.iter().any(|n| n == p) && p != stack_id {
                                nested.push(p.to_owned());
                            }
                        }
                    }
                    ev.stack_events.push(StackEvent {
                        stack_id: e.stack_id().unwrap_or(stack_id).to_owned(),
                        stack_name: stack_name.to_owned(),
                        stack_set: m.stack_set_of(stack_name),
                        account: Some(m.account.to_owned()),
                        region: Some(m.region.to_owned()),
                        event_id: e.event_id().map(str::to_owned),
                        logical_id: e.logical_resource_id().map(str::to_owned),
                        physical_id: e.physical_resource_id().map(str::to_owned),
                        resource_type: e.resource_type().map(str::to_owned),
                        timestamp: ts.unwrap_or_default(),
                        status: event_status,
                        status_reason: reason.map(str::to_owned),
                        stack_operation_id: e.operation_id().map(str::to_owned),
                        properties: e.resource_properties().map(str::to_owned),
                        hook: hook_invocation(e),
                        event_type: None,
                        validation: None,
                        source: src(
                            m.file("DescribeStackEvents"),
                            format!("/{stack_id}/StackEvents/{}", i - 1),
                        ),
                    });
                }
                // Without an operation window, a long history is cut after a few pages.
                if m.window.is_none() && pages_read >= limits::EVENT_PAGES_WITHOUT_WINDOW {
                    cut_short = true;
                    return ControlFlow::Break(());
                }
                ControlFlow::Continue(())
            },
        )
        .await;
        if cut_short {
            self.gap(
                m.scope(),
                format!(
                    "{stack_id}: only the newest {} pages of stack events were read (no operation window)",
                    limits::EVENT_PAGES_WITHOUT_WINDOW
                ),
            );
        }
        nested
    }
}

/// Where a failing stack lives and how to read it.
struct MemberStack<'a> {
    cfn: aws_sdk_cloudformation::Client,
    stack_set: &'a str,
    account: &'a str,
    region: &'a str,
    window: Option<Window>,
}

impl MemberStack<'_> {
    fn scope(&self) -> String {
        format!("account {} ({})", self.account, self.region)
    }

    fn file(&self, op: &str) -> String {
        format!("live:{}/{}/{op}", self.account, self.region)
    }

    /// A stack's stack set: from its name when it is a member stack, else the one being collected.
    fn stack_set_of(&self, stack_name: &str) -> Option<String> {
        stack_set_from_stack_name(stack_name)
            .map(str::to_owned)
            .or_else(|| Some(self.stack_set.to_owned()))
    }
}

/// The hook invocation a stack event reports, if any.
fn hook_invocation(
    e: &aws_sdk_cloudformation::types::StackEvent,
) -> Option<crate::evidence::HookInvocation> {
    let status = e.hook_status()?.as_str().to_owned();
    Some(crate::evidence::HookInvocation {
        hook_type: e.hook_type().map(str::to_owned),
        status,
        status_reason: e.hook_status_reason().map(str::to_owned),
        invocation_point: e.hook_invocation_point().map(|v| v.as_str().to_owned()),
        invocation_id: e.hook_invocation_id().map(str::to_owned),
        failure_mode: e.hook_failure_mode().map(|v| v.as_str().to_owned()),
    })
}
