//! A failing stack in its own account: the credentials to read it (the caller's own account, or the member
//! role), the stack's record, and its failure events (and those of its failed nested stacks).

use std::ops::ControlFlow;
use std::sync::atomic::Ordering;

use aws_credential_types::Credentials;
use aws_sdk_cloudformation::operation::describe_events::DescribeEventsOutput;
use aws_sdk_cloudformation::operation::get_hook_result::GetHookResultOutput;
use aws_sdk_cloudformation::types::{EventFilter, OperationEvent};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;

use super::{limits, src, time, Ctx};
use crate::collect::aws::{describe_error, error_code};
use crate::evidence::{
    stack_set_from_stack_name, Evidence, HookInvocation, Stack, StackEvent, Validation, Window,
};
use crate::vocabulary::status;

impl Ctx<'_> {
    /// Credentials for a member account: none needed for the caller's own; else the member role, once.
    pub(super) async fn member_credentials(
        &self,
        account: &str,
    ) -> Result<Option<Credentials>, String> {
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

    /// The stack's failure events: `DescribeEvents` with the `FailedEvents` filter where the endpoint has it (only
    /// failures are paged, with their event type and validation details), else `DescribeStackEvents`; then the full
    /// reason of each failed hook whose reason was cut. Gives the ids of the failed nested stacks they name.
    async fn stack_events(
        &self,
        m: &MemberStack<'_>,
        stack_id: &str,
        ev: &mut Evidence,
    ) -> Vec<String> {
        let from = ev.stack_events.len();
        let nested = if self.describe_events_usable(m.account) {
            match self.failed_events(m, stack_id, ev).await {
                Ok(nested) => nested,
                Err(why) => {
                    self.describe_events_unusable(m.account, why);
                    self.all_stack_events(m, stack_id, ev).await
                }
            }
        } else {
            self.all_stack_events(m, stack_id, ev).await
        };
        self.full_hook_reasons(m, stack_id, ev, from).await;
        nested
    }

    /// Whether `DescribeEvents` is worth asking in this account: not once the endpoint said it does not know it,
    /// nor in an account whose role may not call it.
    fn describe_events_usable(&self, account: &str) -> bool {
        self.describe_events
            .lock()
            .map(|d| d.unknown.is_none() && !d.denied.contains(account))
            .unwrap_or(false)
    }

    /// Remember why `DescribeEvents` cannot be used (endpoint-wide, or in one account) and say so once.
    fn describe_events_unusable(&self, account: &str, why: Unusable) {
        let Ok(mut d) = self.describe_events.lock() else {
            return;
        };
        let (scope, reason) = match why {
            Unusable::Unknown(e) => {
                if d.unknown.is_some() {
                    return;
                }
                d.unknown = Some(e.clone());
                (
                    "stack events".to_owned(),
                    format!(
                        "cloudformation:DescribeEvents is not known at this endpoint ({e}): stack events were read \
                         with DescribeStackEvents instead (every event paged; no event types or validation details)"
                    ),
                )
            }
            Unusable::Denied(e) => {
                if !d.denied.insert(account.to_owned()) {
                    return;
                }
                (
                    format!("account {account}"),
                    format!(
                        "cloudformation:DescribeEvents refused ({e}): this account's stack events were read with \
                         DescribeStackEvents instead (no event types or validation details)"
                    ),
                )
            }
        };
        drop(d);
        self.gap(scope, reason);
    }

    /// `DescribeEvents` of one stack, failed events only, within the window. Err (before anything is recorded)
    /// when the first page says the operation is unknown or refused, so the caller falls back.
    async fn failed_events(
        &self,
        m: &MemberStack<'_>,
        stack_id: &str,
        ev: &mut Evidence,
    ) -> Result<Vec<String>, Unusable> {
        let _p = self.sem.acquire().await;
        let mut pages = m
            .cfn
            .describe_events()
            .stack_name(stack_id)
            .filters(EventFilter::builder().failed_events(true).build())
            .into_paginator()
            .send();
        let first = match pages.next().await {
            None => return Ok(Vec::new()),
            Some(Ok(p)) => p,
            Some(Err(e)) => {
                if let Some(why) = unusable(&e) {
                    return Err(why);
                }
                self.gap(
                    m.scope(),
                    format!(
                        "cloudformation:DescribeEvents {stack_id}: {}",
                        describe_error(&e)
                    ),
                );
                return Ok(Vec::new());
            }
        };
        let mut nested = Vec::new();
        let mut i = 0usize;
        let mut pages_read = 0usize;
        let mut cut_short = false;
        let mut page_fn = |page: DescribeEventsOutput| {
            pages_read += 1;
            let mut all_before = !page.operation_events().is_empty();
            for e in page.operation_events() {
                let ts = time(e.timestamp());
                i += 1;
                // The filtered answer is small; its order is not relied on (a page wholly before the window ends
                // the reading).
                if let (Some(t), Some(w)) = (ts, m.window) {
                    if w.is_before(t) {
                        continue;
                    }
                    all_before = false;
                    if w.is_after(t) {
                        continue;
                    }
                } else {
                    all_before = false;
                }
                let Some(event) = operation_event(m, stack_id, e, ts, i - 1) else {
                    continue;
                };
                if let Some(n) = nested_stack(&event, stack_id) {
                    if !nested.contains(&n) {
                        nested.push(n);
                    }
                }
                ev.stack_events.push(event);
            }
            if all_before {
                return ControlFlow::Break(());
            }
            if pages_read >= limits::FAILED_EVENT_PAGES {
                cut_short = true;
                return ControlFlow::Break(());
            }
            ControlFlow::Continue(())
        };
        if page_fn(first).is_continue() {
            self.drain(
                pages,
                |e| {
                    Some((
                        m.scope(),
                        format!(
                            "cloudformation:DescribeEvents {stack_id}: {}",
                            describe_error(e)
                        ),
                    ))
                },
                &mut page_fn,
            )
            .await;
        }
        if cut_short {
            self.gap(
                m.scope(),
                format!(
                    "{stack_id}: only {} pages of failed events were read (cloudformation:DescribeEvents)",
                    limits::FAILED_EVENT_PAGES
                ),
            );
        }
        Ok(nested)
    }

    /// A failed hook's reason is cut at [`limits::HOOK_REASON_MAX`] characters in stack events: read the whole
    /// result with `GetHookResult` (its id is the event's `HookInvocationId`; `DescribeEvents` does not give it, so
    /// it is then looked up in `DescribeStackEvents`) and put its reason and failed annotations in place of the cut
    /// one. Nothing is asked for reasons that were not cut.
    async fn full_hook_reasons(
        &self,
        m: &MemberStack<'_>,
        stack_id: &str,
        ev: &mut Evidence,
        from: usize,
    ) {
        let cut = |e: &StackEvent| {
            e.hook.as_ref().is_some_and(|h| {
                status::hook_failed(&h.status)
                    && h.status_reason
                        .as_deref()
                        .is_some_and(|r| r.chars().count() >= limits::HOOK_REASON_MAX)
            })
        };
        let wanted: Vec<usize> = (from..ev.stack_events.len())
            .filter(|&i| cut(&ev.stack_events[i]))
            .collect();
        if wanted.is_empty() {
            return;
        }
        if wanted.iter().any(|&i| {
            ev.stack_events[i]
                .hook
                .as_ref()
                .is_some_and(|h| h.invocation_id.is_none())
        }) {
            // The invocation ids, from the events that carry them.
            let mut scratch = Evidence::default();
            self.all_stack_events(m, stack_id, &mut scratch).await;
            for &i in &wanted {
                let e = &ev.stack_events[i];
                let Some(h) = &e.hook else { continue };
                if h.invocation_id.is_some() {
                    continue;
                }
                let found = scratch.stack_events.iter().find_map(|s| {
                    let sh = s.hook.as_ref()?;
                    (s.logical_id == e.logical_id
                        && sh.hook_type == h.hook_type
                        && sh.status == h.status
                        && sh.status_reason == h.status_reason)
                        .then(|| sh.invocation_id.clone())
                        .flatten()
                });
                if let Some(id) = found {
                    if let Some(h) = ev.stack_events[i].hook.as_mut() {
                        h.invocation_id = Some(id);
                    }
                }
            }
        }
        for i in wanted {
            let Some(id) = ev.stack_events[i]
                .hook
                .as_ref()
                .and_then(|h| h.invocation_id.clone())
            else {
                self.gap(
                    m.scope(),
                    format!(
                        "{stack_id}: a failed hook's reason is cut at {} characters and no invocation id was \
                         found to read it whole",
                        limits::HOOK_REASON_MAX
                    ),
                );
                continue;
            };
            if self.hook_results.fetch_add(1, Ordering::Relaxed) >= limits::HOOK_RESULTS {
                self.gap(
                    m.scope(),
                    format!(
                        "hook result {id}: more than {} cut hook reasons in this run; this one stays cut",
                        limits::HOOK_RESULTS
                    ),
                );
                continue;
            }
            let _p = self.sem.acquire().await;
            match m.cfn.get_hook_result().hook_result_id(&id).send().await {
                Ok(out) => {
                    let full = hook_result_text(&out);
                    if let Some(h) = ev.stack_events[i].hook.as_mut() {
                        let longer = full.chars().count()
                            > h.status_reason.as_deref().map_or(0, |r| r.chars().count());
                        if longer {
                            h.status_reason = Some(full);
                        }
                    }
                }
                Err(e) => self.gap(
                    m.scope(),
                    format!(
                        "cloudformation:GetHookResult {id}: {}; the hook's reason stays cut at {} characters",
                        describe_error(&e),
                        limits::HOOK_REASON_MAX
                    ),
                ),
            }
        }
    }

    /// The stack's failure events from `DescribeStackEvents` (every event, newest first) within the operation's
    /// window (or its newest pages); gives the ids of the failed nested stacks they name.
    async fn all_stack_events(
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
                    if !status::event_is_kept(
                        &event_status,
                        reason,
                        is_stack,
                        e.hook_status().map(|h| h.as_str()),
                        e.resource_type(),
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

/// Why `DescribeEvents` cannot be used, from its first answer.
pub(super) enum Unusable {
    /// The endpoint does not know the operation (an older partition, an emulator): for every account.
    Unknown(String),
    /// The caller may not call it here (a member role that predates it): for this account.
    Denied(String),
}

/// Whether an error of `DescribeEvents` means "use `DescribeStackEvents` instead".
fn unusable<E>(e: &SdkError<E, HttpResponse>) -> Option<Unusable>
where
    E: ProvideErrorMetadata + std::error::Error + 'static,
{
    let status = match e {
        SdkError::ServiceError(s) => s.raw().status().as_u16(),
        _ => return None,
    };
    match error_code(e) {
        Some(
            "InvalidAction" | "UnknownOperationException" | "UnknownOperation" | "NotImplemented",
        ) => Some(Unusable::Unknown(describe_error(e))),
        Some("AccessDenied" | "AccessDeniedException" | "UnauthorizedOperation") => {
            Some(Unusable::Denied(describe_error(e)))
        }
        // No code at all and a 404 or 501: an endpoint that has no such action.
        None if status == 404 || status == 501 => Some(Unusable::Unknown(describe_error(e))),
        _ => None,
    }
}

/// `arn:...:stack/<name>/<uuid>` → `<name>` (`DescribeEvents` gives the stack's id only); not an ARN: itself.
fn stack_name_from_id(stack_id: &str) -> &str {
    crate::ids::stack_name(stack_id).unwrap_or(stack_id)
}

/// A failed nested stack an event names (its physical id), other than the stack itself.
fn nested_stack(e: &StackEvent, stack_id: &str) -> Option<String> {
    let is_stack_resource = e.resource_type.as_deref() == Some("AWS::CloudFormation::Stack")
        && e.logical_id.as_deref() != Some(e.stack_name.as_str());
    if !is_stack_resource || !status::failed(&e.status) {
        return None;
    }
    e.physical_id
        .clone()
        .filter(|p| p.starts_with("arn:") && p != stack_id)
}

/// An `OperationEvent` of `DescribeEvents` as a stack event: its resource status (else its detailed status, else
/// its event type), its reason (else the validation's), its hook and validation. None for an event that records no
/// failure (an endpoint that ignores the filter).
fn operation_event(
    m: &MemberStack<'_>,
    stack_id: &str,
    e: &OperationEvent,
    ts: Option<chrono::DateTime<chrono::Utc>>,
    i: usize,
) -> Option<StackEvent> {
    let sid = e.stack_id().unwrap_or(stack_id);
    let stack_name = stack_name_from_id(sid);
    let event_type = e.event_type().map(|t| t.as_str().to_owned());
    let validation = (e.validation_name().is_some()
        || e.validation_status().is_some()
        || e.validation_status_reason().is_some())
    .then(|| Validation {
        name: e.validation_name().map(str::to_owned),
        status: e.validation_status().map(|v| v.as_str().to_owned()),
        status_reason: e.validation_status_reason().map(str::to_owned),
        failure_mode: e.validation_failure_mode().map(|v| v.as_str().to_owned()),
        path: e.validation_path().map(str::to_owned),
    });
    let status = e
        .resource_status()
        .map(|v| v.as_str().to_owned())
        .or_else(|| e.detailed_status().map(|v| v.as_str().to_owned()))
        .or_else(|| event_type.clone())
        .unwrap_or_default();
    let reason = e
        .resource_status_reason()
        .or_else(|| e.validation_status_reason());
    let is_stack = e.resource_type() == Some("AWS::CloudFormation::Stack")
        && e.logical_resource_id() == Some(stack_name);
    let hook_status = e.hook_status().map(|h| h.as_str());
    let failure = status::event_is_kept(&status, reason, is_stack, hook_status, e.resource_type())
        || matches!(
            event_type.as_deref(),
            Some("VALIDATION_ERROR" | "PROVISIONING_ERROR" | "HOOK_INVOCATION_ERROR")
        )
        || e.validation_status()
            .is_some_and(|v| v.as_str() == "FAILED");
    if !failure {
        return None;
    }
    Some(StackEvent {
        stack_id: sid.to_owned(),
        stack_name: stack_name.to_owned(),
        stack_set: m.stack_set_of(stack_name),
        account: Some(m.account.to_owned()),
        region: Some(m.region.to_owned()),
        event_id: e.event_id().map(str::to_owned),
        logical_id: e.logical_resource_id().map(str::to_owned),
        physical_id: e.physical_resource_id().map(str::to_owned),
        resource_type: e.resource_type().map(str::to_owned),
        timestamp: ts.unwrap_or_default(),
        status,
        status_reason: reason.map(str::to_owned),
        stack_operation_id: e.operation_id().map(str::to_owned),
        properties: e.resource_properties().map(str::to_owned),
        hook: hook_status.map(|st| HookInvocation {
            hook_type: e.hook_type().map(str::to_owned),
            status: st.to_owned(),
            status_reason: e.hook_status_reason().map(str::to_owned),
            invocation_point: e.hook_invocation_point().map(|v| v.as_str().to_owned()),
            // DescribeEvents does not carry it.
            invocation_id: None,
            failure_mode: e.hook_failure_mode().map(|v| v.as_str().to_owned()),
        }),
        event_type,
        validation,
        source: src(
            m.file("DescribeEvents"),
            format!("/{stack_id}/OperationEvents/{i}"),
        ),
    })
}

/// A hook result's whole text: its reason, then each annotation that did not pass (name, message, remediation and
/// link), where the detail beyond the cut lives (annotation messages are up to 16,384 characters).
fn hook_result_text(out: &GetHookResultOutput) -> String {
    let failed: Vec<_> = out
        .annotations()
        .iter()
        .filter(|a| a.status().is_none_or(|s| s.as_str() != "PASSED"))
        .collect();
    // A reason that is the start of an annotation's message is that message cut: not said twice.
    let mut parts: Vec<String> = out
        .hook_status_reason()
        .filter(|r| !r.is_empty())
        .filter(|r| {
            !failed
                .iter()
                .any(|a| a.status_message().is_some_and(|m| m.starts_with(r)))
        })
        .map(str::to_owned)
        .into_iter()
        .collect();
    for a in failed {
        let mut line = String::new();
        if let Some(n) = a.annotation_name() {
            line.push_str(n);
            if let Some(s) = a.status() {
                line.push_str(&format!(" ({})", s.as_str()));
            }
            line.push_str(": ");
        }
        if let Some(msg) = a.status_message() {
            line.push_str(msg);
        }
        if let Some(r) = a.remediation_message() {
            line.push_str(&format!(" Remediation: {r}"));
        }
        if let Some(l) = a.remediation_link() {
            line.push_str(&format!(" ({l})"));
        }
        if !line.is_empty() {
            parts.push(line);
        }
    }
    parts.join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_sdk_cloudformation::types::{Annotation, AnnotationStatus};

    #[test]
    fn a_hook_result_reads_whole_without_repeating_its_cut_reason() {
        let full = "Rule [A] PASS. ".repeat(80) + "Rule [KMS] FAIL: use aws:kms";
        let cut: String = full.chars().take(1024).collect();
        let out = GetHookResultOutput::builder()
            .hook_status_reason(&cut)
            .annotations(
                Annotation::builder()
                    .annotation_name("KMS")
                    .status(AnnotationStatus::Failed)
                    .status_message(&full)
                    .remediation_message("Set SSEAlgorithm aws:kms.")
                    .build(),
            )
            .annotations(
                Annotation::builder()
                    .annotation_name("Versioning")
                    .status(AnnotationStatus::Passed)
                    .status_message("fine")
                    .build(),
            )
            .build();
        let text = hook_result_text(&out);
        assert_eq!(
            text,
            format!("KMS (FAILED): {full} Remediation: Set SSEAlgorithm aws:kms.")
        );
        // A reason of its own is kept, first.
        let out = GetHookResultOutput::builder()
            .hook_status_reason("Hook failed")
            .annotations(
                Annotation::builder()
                    .annotation_name("KMS")
                    .status(AnnotationStatus::Failed)
                    .status_message("use aws:kms")
                    .build(),
            )
            .build();
        assert_eq!(
            hook_result_text(&out),
            "Hook failed\nKMS (FAILED): use aws:kms"
        );
    }

    #[test]
    fn stack_names_come_from_stack_ids() {
        assert_eq!(
            stack_name_from_id(
                "arn:aws:cloudformation:eu-west-1:111111111111:stack/StackSet-x-1/9f8e7d6c"
            ),
            "StackSet-x-1"
        );
        assert_eq!(stack_name_from_id("plain-name"), "plain-name");
    }
}
