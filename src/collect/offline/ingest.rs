//! Turning one parsed document into evidence records, record by record: each record is parsed on its own, so
//! one that cannot be used (a member of the wrong type, a member it cannot do without) is a warning naming the
//! file, line and JSON path, and the records beside it are read (docs/input-formats.md#records).

use std::borrow::Cow;
use std::path::Path;

use serde::Deserialize;

use super::super::cli_shapes::{
    CliAutoDeployment, CliDeploymentTargets, CliDocument, CliOperation, CliOperationPreferences,
    CliParameter, CliPolicy, CliStack, CliStackEvent, CliStackInstance, CliStackSet, CliSummary,
    Probe, Raw, RecordKind, SummaryKind,
};
use super::{loc, Loaded, Pending};
use crate::error::{Error, Location};
use crate::evidence::*;

fn src(file: &str, pointer: String) -> Option<SourceRef> {
    Some(SourceRef {
        file: file.to_owned(),
        pointer,
    })
}

/// One file being read: where records go, and how to name a record's place.
pub(super) struct Ctx<'t, 'l> {
    pub file: &'t str,
    pub folder: Option<String>,
    /// The JSON text the records borrow from.
    pub text: &'t str,
    /// Whether byte offsets into `text` are the user's lines (not when `text` was converted from YAML).
    pub lines: bool,
    pub loaded: &'l mut Loaded,
    pub pending: &'l mut Pending,
    /// What the file's CloudTrail records covered: the searches it stands for.
    pub trail: super::trail::Span,
}

impl<'t> Ctx<'t, '_> {
    /// Where a record is: the file, its line and column when the text is the user's.
    fn place(&self, raw: Raw<'t>) -> Location {
        let offset = (raw.get().as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        if self.lines && offset <= self.text.len() {
            Location::at(self.file, self.text.as_bytes(), offset)
        } else {
            loc(self.file)
        }
    }

    /// A record that cannot be used: a coverage gap (so no verdict is an all-clear), named by its place.
    pub(super) fn skip(&mut self, raw: Raw<'t>, pointer: &str, reason: impl std::fmt::Display) {
        let place = self.place(raw);
        self.loaded.evidence.coverage.push(CoverageNote {
            scope: place.to_string(),
            reason: format!("{pointer}: {reason}; the record was skipped"),
        });
    }

    /// Parse one record; a member of the wrong type is a warning with its JSON path, and `None`.
    pub(super) fn parse<T: Deserialize<'t>>(&mut self, raw: Raw<'t>, pointer: &str) -> Option<T> {
        // Plainly first (most records are fine, and tracking the path costs on every member); again with the path
        // only to say where a bad one went wrong.
        if let Ok(v) = serde_json::from_str::<T>(raw.get()) {
            return Some(v);
        }
        let mut de = serde_json::Deserializer::from_str(raw.get());
        match serde_path_to_error::deserialize::<_, T>(&mut de) {
            Ok(v) => Some(v),
            Err(e) => {
                let path = e.path().to_string();
                let inner = e.into_inner().to_string();
                let reason = inner
                    .rfind(" at line ")
                    .map_or(inner.as_str(), |i| &inner[..i]);
                let at = if path == "." {
                    String::new()
                } else {
                    format!("{path}: ")
                };
                self.skip(raw, pointer, format!("{at}{reason}"));
                None
            }
        }
    }

    /// The records of a listing, with `null` elements (a `--query` projection) counted, not parsed.
    fn each(
        &mut self,
        records: Vec<Raw<'t>>,
        key: &str,
        mut f: impl FnMut(&mut Self, Raw<'t>, String),
    ) {
        let mut nulls = 0usize;
        for (i, raw) in records.into_iter().enumerate() {
            if raw.get() == "null" {
                nulls += 1;
                continue;
            }
            f(self, raw, format!("/{key}/{i}"));
        }
        if nulls > 0 {
            self.loaded.warnings.push(format!(
                "{}: {nulls} null element(s) of {key} were ignored (a --query projection?)",
                self.file
            ));
        }
    }
}

/// Turn one parsed document into evidence records. Returns whether any known shape was present.
pub(super) fn ingest<'t>(cx: &mut Ctx<'t, '_>, doc: CliDocument<'t>) -> Result<bool, Error> {
    let file = cx.file;
    let mut recognised = false;

    let doc = match doc.split_bundle() {
        Err(doc) => *doc,
        Ok(bundle) => {
            if !bundle.schema.starts_with("stackset-doctor/evidence/") {
                return Err(Error::UnknownShape {
                    location: loc(file),
                    reason: format!(
                        "schema {:?} is not a stackset-doctor evidence bundle",
                        bundle.schema
                    ),
                });
            }
            if bundle.schema != BUNDLE_SCHEMA {
                return Err(Error::BadValue {
                location: loc(file),
                reason: format!(
                    "evidence bundle schema {:?} is not supported by this version (it reads {BUNDLE_SCHEMA})",
                    bundle.schema
                ),
            });
            }
            cx.loaded.evidence.extend(bundle.evidence);
            return Ok(true);
        }
    };

    if let Some(events) = doc.stack_events {
        recognised = true;
        cx.each(events, "StackEvents", stack_event);
    }
    if let Some(events) = doc.operation_events {
        recognised = true;
        cx.each(events, "OperationEvents", stack_event);
    }
    if let Some(s) = doc.stacks {
        recognised = true;
        cx.each(s, "Stacks", stack);
    }
    if let Some(s) = doc.summaries {
        // An empty listing is a recognised (if uninformative) document.
        recognised = true;
        let mut unknown = 0usize;
        cx.each(s, "Summaries", |cx, raw, pointer| {
            if !summary(cx, raw, pointer) {
                unknown += 1;
            }
        });
        if unknown > 0 {
            cx.loaded.warnings.push(format!(
                "{file}: {unknown} element(s) of Summaries of no known shape were ignored"
            ));
        }
    }
    if let Some(raw) = doc.stack_set {
        recognised = true;
        stack_set(cx, raw, "/StackSet".into());
    }
    if let Some(raw) = doc.stack_set_operation {
        recognised = true;
        if let Some(op) = cx.parse::<CliOperation>(raw, "/StackSetOperation") {
            operation(cx, raw, op, "/StackSetOperation".into());
        }
    }
    if let Some(raw) = doc.stack_instance {
        recognised = true;
        stack_instance(cx, raw, "/StackInstance".into());
    }
    if let Some(events) = doc.events {
        recognised = true;
        cx.trail.cut |= doc.next_token.as_deref().is_some_and(|t| !t.is_empty());
        cx.each(events, "Events", super::trail::lookup_event);
    }
    if let Some(records) = doc.records {
        recognised = true;
        cx.each(records, "Records", super::trail::record);
    }
    if let Some(raw) = doc.policy {
        recognised = true;
        policy(cx, raw, "/Policy".into());
    } else if doc.statement.is_some() {
        recognised = true;
        // A bare policy document: keep its text; its type is unknown, SCP is the common case.
        cx.loaded.evidence.policies.push(OrgPolicy {
            id: None,
            arn: None,
            name: Path::new(file)
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_owned),
            policy_type: "SERVICE_CONTROL_POLICY".into(),
            content: cx.text.to_owned(),
            targets: Vec::new(),
            source: src(file, String::new()),
        });
    }
    if let Some(token) = doc.next_token.filter(|t| !t.is_empty()) {
        cx.loaded.evidence.coverage.push(CoverageNote {
            scope: file.to_owned(),
            reason: format!(
                "the listing is incomplete: it ends with a NextToken (saved with --max-items or --no-paginate); \
                 save the rest with the same command and --starting-token {}, or run it again without those \
                 options",
                token
            ),
        });
    }
    Ok(recognised)
}

/// Bare records (`--query 'StackEvents[?…]'`, `--query 'Summaries'`, `--query StackSet`): each recognised by
/// its own members. Returns whether any was recognised; documents among them (`jq -s`) are handed back.
pub(super) fn bare_records<'t>(
    cx: &mut Ctx<'t, '_>,
    records: Vec<(Raw<'t>, String)>,
    documents: &mut Vec<CliDocument<'t>>,
) -> Result<bool, Error> {
    let mut recognised = false;
    let mut unknown = 0usize;
    let mut nulls = 0usize;
    for (raw, pointer) in records {
        if raw.get() == "null" {
            nulls += 1;
            continue;
        }
        let Ok(probe) = serde_json::from_str::<Probe>(raw.get()) else {
            // Not an object (a projection of strings, say).
            unknown += 1;
            continue;
        };
        let known = match probe.kind() {
            RecordKind::Document => {
                let mut de = serde_json::Deserializer::from_str(raw.get());
                let doc: CliDocument<'t> =
                    serde_path_to_error::deserialize(&mut de).map_err(|e| Error::BadValue {
                        location: cx.place(raw),
                        reason: format!("{pointer}{}: {}", e.path(), e.inner()),
                    })?;
                documents.push(doc);
                true
            }
            RecordKind::StackEvent => {
                stack_event(cx, raw, pointer);
                true
            }
            RecordKind::Stack => {
                stack(cx, raw, pointer);
                true
            }
            RecordKind::StackSet => {
                stack_set(cx, raw, pointer);
                true
            }
            RecordKind::StackInstance => {
                stack_instance(cx, raw, pointer);
                true
            }
            RecordKind::Policy => {
                policy(cx, raw, pointer);
                true
            }
            RecordKind::Summary => summary(cx, raw, pointer),
            RecordKind::TrailLookupEvent => {
                super::trail::lookup_event(cx, raw, pointer);
                true
            }
            RecordKind::TrailRecord => {
                super::trail::record(cx, raw, pointer);
                true
            }
            RecordKind::Unknown => false,
        };
        recognised |= known;
        if !known {
            unknown += 1;
        }
    }
    if recognised && unknown > 0 {
        cx.loaded.warnings.push(format!(
            "{}: {unknown} element(s) of no known shape were ignored",
            cx.file
        ));
    }
    if recognised && nulls > 0 {
        cx.loaded.warnings.push(format!(
            "{}: {nulls} null element(s) were ignored (a --query projection?)",
            cx.file
        ));
    }
    Ok(recognised)
}

fn own(c: Option<Cow<'_, str>>) -> Option<String> {
    c.map(Cow::into_owned)
}

fn stack_event<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, pointer: String) {
    let Some(e) = cx.parse::<CliStackEvent<'t>>(raw, &pointer) else {
        return;
    };
    cx.loaded.evidence.stack_events_read += 1;
    // What the event is about: its resource status, else (describe-events) its detailed status or type.
    let status = e
        .resource_status
        .as_deref()
        .or(e.validation_status.as_deref().map(|_| "VALIDATION_FAILED"))
        .or(e.detailed_status.as_deref())
        .map(str::to_owned);
    let hook = e.hook_status.as_deref().map(|s| HookInvocation {
        hook_type: e.hook_type.as_deref().map(str::to_owned),
        status: s.to_owned(),
        status_reason: e.hook_status_reason.as_deref().map(str::to_owned),
        invocation_point: e.hook_invocation_point.as_deref().map(str::to_owned),
        invocation_id: e.hook_invocation_id.as_deref().map(str::to_owned),
        failure_mode: e.hook_failure_mode.as_deref().map(str::to_owned),
    });
    let validation =
        (e.validation_status.is_some() || e.validation_name.is_some()).then(|| Validation {
            name: e.validation_name.as_deref().map(str::to_owned),
            status: e.validation_status.as_deref().map(str::to_owned),
            status_reason: e.validation_status_reason.as_deref().map(str::to_owned),
            failure_mode: e.validation_failure_mode.as_deref().map(str::to_owned),
            path: e.validation_path.as_deref().map(str::to_owned),
        });
    let Some(status) = status else {
        cx.skip(raw, &pointer, "no ResourceStatus");
        return;
    };
    let is_stack = e.resource_type.as_deref() == Some("AWS::CloudFormation::Stack")
        && e.logical_resource_id.is_some()
        && e.logical_resource_id.as_deref() == e.stack_name.as_deref();
    let reason = e.resource_status_reason.as_deref();
    let kept = crate::vocabulary::status::event_is_kept(
        &status,
        reason,
        is_stack,
        hook.as_ref().map(|h| h.status.as_str()),
        e.resource_type.as_deref(),
    ) || validation
        .as_ref()
        .is_some_and(|v| v.status.as_deref() == Some("FAILED"));
    if !kept {
        return;
    }
    let Some(timestamp) = e.timestamp.or(e.start_time) else {
        cx.skip(raw, &pointer, "no Timestamp");
        return;
    };
    let stack_name = e
        .stack_name
        .as_deref()
        // `describe-events` prints only the stack's id.
        .or_else(|| e.stack_id.as_deref().and_then(crate::ids::stack_name))
        .map(str::to_owned);
    let (Some(stack_id), Some(stack_name)) = (
        e.stack_id
            .as_deref()
            .map(str::to_owned)
            .or(stack_name.clone()),
        stack_name,
    ) else {
        cx.skip(raw, &pointer, "no StackId or StackName");
        return;
    };
    let parts = crate::ids::Arn::parse(&stack_id);
    // A validation's reason is the event's message when the resource status gives none.
    let status_reason = own(e.resource_status_reason)
        .or_else(|| validation.as_ref().and_then(|v| v.status_reason.clone()));
    cx.loaded.evidence.stack_events.push(StackEvent {
        stack_set: stack_set_from_stack_name(&stack_name).map(str::to_owned),
        account: parts.map(|p| p.account.to_owned()),
        region: parts.map(|p| p.region.to_owned()),
        stack_id,
        stack_name,
        event_id: own(e.event_id),
        logical_id: own(e.logical_resource_id),
        physical_id: own(e.physical_resource_id),
        resource_type: own(e.resource_type),
        timestamp,
        status,
        status_reason,
        stack_operation_id: own(e.operation_id),
        properties: own(e.resource_properties),
        hook,
        event_type: own(e.event_type),
        validation,
        source: src(cx.file, pointer),
    });
}

fn stack<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, pointer: String) {
    let Some(s) = cx.parse::<CliStack>(raw, &pointer) else {
        return;
    };
    let Some(status) = s.stack_status else {
        cx.skip(raw, &pointer, "no StackStatus");
        return;
    };
    let Some(stack_name) = s.stack_name.or_else(|| {
        s.stack_id
            .as_deref()
            .and_then(crate::ids::stack_name)
            .map(str::to_owned)
    }) else {
        cx.skip(raw, &pointer, "no StackName or StackId");
        return;
    };
    let stack_id = s.stack_id.unwrap_or_else(|| stack_name.clone());
    let parts = crate::ids::Arn::parse(&stack_id);
    cx.loaded.evidence.stacks.push(Stack {
        stack_set: stack_set_from_stack_name(&stack_name).map(str::to_owned),
        account: parts.map(|p| p.account.to_owned()),
        region: parts.map(|p| p.region.to_owned()),
        stack_id,
        stack_name,
        status,
        status_reason: s.stack_status_reason,
        created: s.creation_time,
        parent_id: s.parent_id,
        root_id: s.root_id,
        parameters: parameters(s.parameters),
        source: src(cx.file, pointer),
    });
}

/// One element of a listing. Returns false when it is of no known shape.
fn summary<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, pointer: String) -> bool {
    let Some(s) = cx.parse::<CliSummary>(raw, &pointer) else {
        // Warned: a known listing's element with a bad member.
        return true;
    };
    match s.kind() {
        SummaryKind::StackSet => {
            let set = CliStackSet {
                stack_set_name: s.stack_set_name,
                stack_set_id: s.stack_set_id,
                description: s.description,
                status: s.status,
                permission_model: s.permission_model,
                auto_deployment: s.auto_deployment,
                ..CliStackSet::default()
            };
            stack_set_record(cx, raw, set, pointer);
        }
        SummaryKind::Operation => {
            let op = CliOperation {
                operation_id: s.operation_id,
                stack_set_id: None,
                action: s.action,
                status: s.status,
                status_reason: s.status_reason,
                creation_timestamp: s.creation_timestamp,
                end_timestamp: s.end_timestamp,
                status_details: s.status_details,
                deployment_targets: None,
                operation_preferences: s.operation_preferences,
            };
            operation(cx, raw, op, pointer);
        }
        SummaryKind::OperationResult => {
            let Some(status) = s.status else {
                cx.skip(raw, &pointer, "no Status");
                return true;
            };
            let gate = s.account_gate_result.unwrap_or_default();
            cx.pending.results.push((
                OperationResult {
                    stack_set: None,
                    operation_id: None,
                    account: s.account.unwrap_or_default(),
                    region: s.region.unwrap_or_default(),
                    status,
                    status_reason: s.status_reason,
                    account_gate_status: gate.status,
                    account_gate_reason: gate.status_reason,
                    organizational_unit: s.organizational_unit_id,
                    source: src(cx.file, pointer),
                },
                cx.folder.clone(),
            ))
        }
        SummaryKind::StackInstance => {
            let i = CliStackInstance {
                stack_set_id: s.stack_set_id,
                account: s.account,
                region: s.region,
                stack_id: s.stack_id,
                status: s.status,
                status_reason: s.status_reason,
                stack_instance_status: s.stack_instance_status,
                organizational_unit_id: s.organizational_unit_id,
                last_operation_id: s.last_operation_id,
                parameter_overrides: Vec::new(),
            };
            instance(cx, raw, i, pointer);
        }
        SummaryKind::Unknown => return false,
    }
    true
}

fn stack_set<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, pointer: String) {
    if let Some(s) = cx.parse::<CliStackSet>(raw, &pointer) {
        stack_set_record(cx, raw, s, pointer);
    }
}

/// A stack set from either shape of one (`describe-stack-set`, a `list-stack-sets` summary).
fn stack_set_record<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, s: CliStackSet, pointer: String) {
    let Some(name) = s.stack_set_name.or_else(|| {
        s.stack_set_id
            .as_deref()
            .map(|id| stack_set_name_from_id(id).to_owned())
    }) else {
        cx.skip(raw, &pointer, "no StackSetName or StackSetId");
        return;
    };
    cx.loaded.evidence.stack_sets.push(StackSet {
        name,
        id: s.stack_set_id,
        status: s.status,
        permission_model: s.permission_model,
        description: s.description,
        administration_role_arn: s.administration_role_arn,
        execution_role_name: s.execution_role_name,
        template_body: s.template_body,
        parameters: parameters(s.parameters),
        auto_deployment: s.auto_deployment.map(auto_deployment),
        source: src(cx.file, pointer),
    });
}

fn auto_deployment(a: CliAutoDeployment) -> AutoDeployment {
    AutoDeployment {
        enabled: a.enabled,
        retain_stacks_on_account_removal: a.retain_stacks_on_account_removal,
        depends_on: a.depends_on,
    }
}

fn parameters(ps: Vec<CliParameter>) -> Vec<Parameter> {
    ps.into_iter()
        .filter_map(|p| {
            Some(Parameter {
                key: p.parameter_key?,
                value: p.parameter_value,
            })
        })
        .collect()
}

fn targets(t: CliDeploymentTargets) -> DeploymentTargets {
    DeploymentTargets {
        accounts: t.accounts,
        organizational_units: t.organizational_unit_ids,
        account_filter_type: t.account_filter_type,
    }
}

fn preferences(p: CliOperationPreferences) -> OperationPreferences {
    OperationPreferences {
        failure_tolerance_count: p.failure_tolerance_count,
        failure_tolerance_percentage: p.failure_tolerance_percentage,
        max_concurrent_count: p.max_concurrent_count,
        max_concurrent_percentage: p.max_concurrent_percentage,
        concurrency_mode: p.concurrency_mode,
        region_concurrency_type: p.region_concurrency_type,
        region_order: p.region_order,
    }
}

fn operation<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, op: CliOperation, pointer: String) {
    let (Some(operation_id), Some(status)) = (op.operation_id, op.status) else {
        cx.skip(raw, &pointer, "an operation needs OperationId and Status");
        return;
    };
    let stack_set = op
        .stack_set_id
        .as_deref()
        .map(|id| stack_set_name_from_id(id).to_owned());
    let record = Operation {
        stack_set: stack_set.clone(),
        operation_id,
        action: op.action,
        status,
        status_reason: op.status_reason,
        created: op.creation_timestamp,
        ended: op.end_timestamp,
        failed_instances: op
            .status_details
            .and_then(|d| d.failed_stack_instances_count),
        deployment_targets: op.deployment_targets.map(targets),
        preferences: op.operation_preferences.map(preferences),
        source: src(cx.file, pointer),
    };
    if stack_set.is_some() {
        cx.loaded.evidence.operations.push(record);
    } else {
        cx.pending.operations.push((record, cx.folder.clone()));
    }
}

fn stack_instance<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, pointer: String) {
    if let Some(i) = cx.parse::<CliStackInstance>(raw, &pointer) {
        instance(cx, raw, i, pointer);
    }
}

/// A stack instance from either shape of one (`describe-stack-instance`, a `list-stack-instances` summary).
fn instance<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, i: CliStackInstance, pointer: String) {
    let (Some(account), Some(region), Some(status)) = (i.account, i.region, i.status) else {
        cx.skip(
            raw,
            &pointer,
            "a stack instance needs Account, Region and Status",
        );
        return;
    };
    cx.loaded.evidence.stack_instances.push(StackInstance {
        stack_set: i
            .stack_set_id
            .as_deref()
            .map(|id| stack_set_name_from_id(id).to_owned()),
        account,
        region,
        stack_id: i.stack_id,
        status,
        detailed_status: i.stack_instance_status.and_then(|d| d.detailed_status),
        status_reason: i.status_reason,
        last_operation_id: i.last_operation_id,
        organizational_unit: i.organizational_unit_id,
        parameter_overrides: parameters(i.parameter_overrides),
        source: src(cx.file, pointer),
    });
}

fn policy<'t>(cx: &mut Ctx<'t, '_>, raw: Raw<'t>, pointer: String) {
    let Some(p) = cx.parse::<CliPolicy>(raw, &pointer) else {
        return;
    };
    let Some(content) = p.content else {
        cx.skip(raw, &pointer, "no Content (the policy document)");
        return;
    };
    let summary = p.policy_summary.unwrap_or_default();
    cx.loaded.evidence.policies.push(OrgPolicy {
        id: summary.id,
        arn: summary.arn,
        name: summary.name,
        policy_type: summary
            .policy_type
            .unwrap_or_else(|| "SERVICE_CONTROL_POLICY".into()),
        content,
        targets: Vec::new(),
        source: src(cx.file, pointer),
    });
}
