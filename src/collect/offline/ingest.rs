//! Turning one parsed document into evidence records, shape by shape.

use std::path::Path;

use super::super::cli_shapes::{
    CliDocument, CliOperation, CliStack, CliStackEvent, CliStackInstance, CliStackSet, CliSummary,
    SummaryKind,
};
use super::{loc, Loaded, Pending};
use crate::error::Error;
use crate::evidence::*;

fn src(file: &str, pointer: String) -> Option<SourceRef> {
    Some(SourceRef {
        file: file.to_owned(),
        pointer,
    })
}

/// Turn one parsed document into evidence records. Returns whether any known shape was present.
pub(super) fn ingest(
    file: &str,
    folder: Option<String>,
    text: &str,
    doc: CliDocument<'_>,
    loaded: &mut Loaded,
    pending: &mut Pending,
) -> Result<bool, Error> {
    let ev = &mut loaded.evidence;
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
            ev.extend(bundle.evidence);
            return Ok(true);
        }
    };

    if let Some(events) = doc.stack_events {
        recognised = true;
        stack_events(file, events, ev);
    }
    if let Some(s) = doc.stacks {
        recognised = true;
        stacks(file, s, ev);
    }
    if let Some(s) = doc.summaries {
        // An empty listing is a recognised (if uninformative) document.
        recognised = true;
        summaries(file, &folder, s, ev, pending, &mut loaded.warnings);
    }
    if let Some(s) = doc.stack_set {
        recognised = true;
        stack_set(file, s, ev);
    }
    if let Some(op) = doc.stack_set_operation {
        recognised = true;
        stack_set_operation(file, &folder, op, ev, pending);
    }
    if let Some(i) = doc.stack_instance {
        recognised = true;
        stack_instance(file, i, ev);
    }
    if let Some(p) = doc.policy {
        recognised = true;
        ev.policies.push(OrgPolicy {
            id: p.policy_summary.id,
            arn: p.policy_summary.arn,
            name: p.policy_summary.name,
            policy_type: p
                .policy_summary
                .policy_type
                .unwrap_or_else(|| "SERVICE_CONTROL_POLICY".into()),
            content: p.content,
            targets: Vec::new(),
            source: src(file, "/Policy".into()),
        });
    } else if doc.statement.is_some() {
        recognised = true;
        // A bare policy document: keep its text; its type is unknown, SCP is the common case.
        let content = text.to_owned();
        ev.policies.push(OrgPolicy {
            id: None,
            arn: None,
            name: Path::new(file)
                .file_stem()
                .and_then(|s| s.to_str())
                .map(str::to_owned),
            policy_type: "SERVICE_CONTROL_POLICY".into(),
            content,
            targets: Vec::new(),
            source: src(file, String::new()),
        });
    }

    Ok(recognised)
}

fn stack_events(file: &str, events: Vec<CliStackEvent<'_>>, ev: &mut Evidence) {
    let own = |c: Option<std::borrow::Cow<'_, str>>| c.map(|c| c.into_owned());
    for (i, e) in events.into_iter().enumerate() {
        let is_stack = e.resource_type.as_deref() == Some("AWS::CloudFormation::Stack")
            && e.logical_resource_id.as_deref() == Some(&*e.stack_name);
        if !crate::vocabulary::status::event_is_failure(
            &e.resource_status,
            e.resource_status_reason.as_deref(),
            is_stack,
            None,
        ) {
            continue;
        }
        let parts = crate::ids::Arn::parse(&e.stack_id);
        ev.stack_events.push(StackEvent {
            stack_set: stack_set_from_stack_name(&e.stack_name).map(str::to_owned),
            account: parts.map(|p| p.account.to_owned()),
            region: parts.map(|p| p.region.to_owned()),
            stack_id: e.stack_id.into_owned(),
            stack_name: e.stack_name.into_owned(),
            event_id: own(e.event_id),
            logical_id: own(e.logical_resource_id),
            physical_id: own(e.physical_resource_id),
            resource_type: own(e.resource_type),
            timestamp: e.timestamp,
            status: e.resource_status.into_owned(),
            status_reason: own(e.resource_status_reason),
            stack_operation_id: own(e.operation_id),
            properties: own(e.resource_properties),
            hook: None,
            event_type: None,
            validation: None,
            source: src(file, format!("/StackEvents/{i}")),
        });
    }
}

fn stacks(file: &str, stacks: Vec<CliStack>, ev: &mut Evidence) {
    for (i, s) in stacks.into_iter().enumerate() {
        let parts = crate::ids::Arn::parse(&s.stack_id);
        ev.stacks.push(Stack {
            stack_set: stack_set_from_stack_name(&s.stack_name).map(str::to_owned),
            account: parts.map(|p| p.account.to_owned()),
            region: parts.map(|p| p.region.to_owned()),
            stack_id: s.stack_id,
            stack_name: s.stack_name,
            status: s.stack_status,
            status_reason: s.stack_status_reason,
            created: s.creation_time,
            parent_id: s.parent_id,
            root_id: None,
            parameters: parameters(s.parameters),
            source: src(file, format!("/Stacks/{i}")),
        });
    }
}

fn summaries(
    file: &str,
    folder: &Option<String>,
    summaries: Vec<CliSummary>,
    ev: &mut Evidence,
    pending: &mut Pending,
    warnings: &mut Vec<String>,
) {
    // An empty listing is a recognised (if uninformative) document.
    let mut unknown = 0usize;
    for (i, s) in summaries.into_iter().enumerate() {
        let pointer = format!("/Summaries/{i}");
        match s.kind() {
            SummaryKind::StackSet => ev.stack_sets.push(StackSet {
                name: s.stack_set_name.unwrap_or_default(),
                id: s.stack_set_id,
                status: s.status,
                permission_model: s.permission_model,
                description: s.description,
                source: src(file, pointer),
                ..StackSet::default()
            }),
            SummaryKind::Operation => pending.operations.push((
                Operation {
                    stack_set: None,
                    operation_id: s.operation_id.unwrap_or_default(),
                    action: s.action,
                    status: s.status.unwrap_or_default(),
                    status_reason: s.status_reason,
                    created: s.creation_timestamp,
                    ended: s.end_timestamp,
                    failed_instances: s
                        .status_details
                        .and_then(|d| d.failed_stack_instances_count),
                    deployment_targets: None,
                    preferences: None,
                    source: src(file, pointer),
                },
                folder.clone(),
            )),
            SummaryKind::OperationResult => {
                let gate = s.account_gate_result.unwrap_or_default();
                pending.results.push((
                    OperationResult {
                        stack_set: None,
                        operation_id: None,
                        account: s.account.unwrap_or_default(),
                        region: s.region.unwrap_or_default(),
                        status: s.status.unwrap_or_default(),
                        status_reason: s.status_reason,
                        account_gate_status: gate.status,
                        account_gate_reason: gate.status_reason,
                        organizational_unit: s.organizational_unit_id,
                        source: src(file, pointer),
                    },
                    folder.clone(),
                ))
            }
            SummaryKind::StackInstance => ev.stack_instances.push(StackInstance {
                stack_set: s
                    .stack_set_id
                    .as_deref()
                    .map(|id| stack_set_name_from_id(id).to_owned()),
                account: s.account.unwrap_or_default(),
                region: s.region.unwrap_or_default(),
                stack_id: s.stack_id,
                status: s.status.unwrap_or_default(),
                detailed_status: s.stack_instance_status.and_then(|d| d.detailed_status),
                status_reason: s.status_reason,
                last_operation_id: s.last_operation_id,
                organizational_unit: s.organizational_unit_id,
                parameter_overrides: Vec::new(),
                source: src(file, pointer),
            }),
            SummaryKind::Unknown => unknown += 1,
        }
    }
    if unknown > 0 {
        warnings.push(format!(
            "{file}: {unknown} element(s) of Summaries of no known shape were ignored"
        ));
    }
}

fn stack_set(file: &str, s: CliStackSet, ev: &mut Evidence) {
    ev.stack_sets.push(StackSet {
        name: s.stack_set_name,
        id: s.stack_set_id,
        status: s.status,
        permission_model: s.permission_model,
        description: s.description,
        administration_role_arn: s.administration_role_arn,
        execution_role_name: s.execution_role_name,
        template_body: s.template_body,
        parameters: parameters(s.parameters),
        auto_deployment: None,
        source: src(file, "/StackSet".into()),
    });
}

fn parameters(ps: Vec<crate::collect::cli_shapes::CliParameter>) -> Vec<Parameter> {
    ps.into_iter()
        .map(|p| Parameter {
            key: p.parameter_key,
            value: p.parameter_value,
        })
        .collect()
}

fn stack_set_operation(
    file: &str,
    folder: &Option<String>,
    op: CliOperation,
    ev: &mut Evidence,
    pending: &mut Pending,
) {
    let stack_set = op
        .stack_set_id
        .as_deref()
        .map(|id| stack_set_name_from_id(id).to_owned());
    let record = Operation {
        stack_set: stack_set.clone(),
        operation_id: op.operation_id,
        action: op.action,
        status: op.status,
        status_reason: op.status_reason,
        created: op.creation_timestamp,
        ended: op.end_timestamp,
        failed_instances: op
            .status_details
            .and_then(|d| d.failed_stack_instances_count),
        deployment_targets: None,
        preferences: None,
        source: src(file, "/StackSetOperation".into()),
    };
    if stack_set.is_some() {
        ev.operations.push(record);
    } else {
        pending.operations.push((record, folder.clone()));
    }
}

fn stack_instance(file: &str, i: CliStackInstance, ev: &mut Evidence) {
    ev.stack_instances.push(StackInstance {
        stack_set: i
            .stack_set_id
            .as_deref()
            .map(|id| stack_set_name_from_id(id).to_owned()),
        account: i.account,
        region: i.region,
        stack_id: i.stack_id,
        status: i.status,
        detailed_status: i.stack_instance_status.and_then(|d| d.detailed_status),
        status_reason: i.status_reason,
        last_operation_id: i.last_operation_id,
        organizational_unit: i.organizational_unit_id,
        parameter_overrides: parameters(i.parameter_overrides),
        source: src(file, "/StackInstance".into()),
    });
}
