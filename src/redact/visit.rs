//! Every string of the evidence, field by field.

use chrono::{DateTime, Utc};

use crate::evidence::{
    AccountPath, AutoDeployment, AutomationExecution, AutomationStep, CoverageNote,
    DeploymentTargets, Evidence, HookInvocation, Operation, OperationPreferences, OperationResult,
    OrgPolicy, Organization, Parameter, QuickSetupManager, QuickSetupStatus, SourceRef, Stack,
    StackEvent, StackInstance, StackSet, TrailEvent, TrailLookup, Validation,
};

/// Visits every string of an evidence record.
pub(super) trait Strings {
    fn strings(&mut self, f: &mut dyn FnMut(&mut String));
}

impl Strings for String {
    fn strings(&mut self, f: &mut dyn FnMut(&mut String)) {
        f(self)
    }
}

impl<T: Strings> Strings for Option<T> {
    fn strings(&mut self, f: &mut dyn FnMut(&mut String)) {
        if let Some(x) = self {
            x.strings(f)
        }
    }
}

impl<T: Strings> Strings for Vec<T> {
    fn strings(&mut self, f: &mut dyn FnMut(&mut String)) {
        for x in self {
            x.strings(f)
        }
    }
}

/// Timestamps and counts name nothing.
impl Strings for DateTime<Utc> {
    fn strings(&mut self, _: &mut dyn FnMut(&mut String)) {}
}

impl Strings for u64 {
    fn strings(&mut self, _: &mut dyn FnMut(&mut String)) {}
}

impl Strings for u32 {
    fn strings(&mut self, _: &mut dyn FnMut(&mut String)) {}
}

impl Strings for usize {
    fn strings(&mut self, _: &mut dyn FnMut(&mut String)) {}
}

impl Strings for bool {
    fn strings(&mut self, _: &mut dyn FnMut(&mut String)) {}
}

/// Field by field rather than through `serde_json::Value`: nothing to fail on the way back, no copy of unchanged
/// strings, and the patterns list every field without `..`, so a field added to the evidence model does not
/// compile until it is listed here (and so redacted).
macro_rules! every_field {
    ($($ty:ident { $($field:ident),* $(,)? })*) => {$(
        impl Strings for $ty {
            fn strings(&mut self, f: &mut dyn FnMut(&mut String)) {
                let $ty { $($field),* } = self;
                $($field.strings(f);)*
            }
        }
    )*};
}

every_field! {
    Evidence {
        stack_sets, operations, operation_results, stack_instances, stacks, stack_events, policies, coverage,
        organization, account_paths, quick_setup, automation_executions, stack_events_read, trail_events,
        trail_lookups, trail_events_read,
    }
    SourceRef { file, pointer }
    StackSet {
        name, id, status, permission_model, description, administration_role_arn, execution_role_name,
        template_body, parameters, auto_deployment, source,
    }
    AutoDeployment { enabled, retain_stacks_on_account_removal, depends_on }
    DeploymentTargets { accounts, organizational_units, account_filter_type }
    OperationPreferences {
        failure_tolerance_count, failure_tolerance_percentage, max_concurrent_count, max_concurrent_percentage,
        concurrency_mode, region_concurrency_type, region_order,
    }
    Parameter { key, value }
    Operation {
        stack_set, operation_id, action, status, status_reason, created, ended, failed_instances,
        deployment_targets, preferences, source,
    }
    OperationResult {
        stack_set, operation_id, account, region, status, status_reason, account_gate_status,
        account_gate_reason, organizational_unit, source,
    }
    StackInstance {
        stack_set, account, region, stack_id, status, detailed_status, status_reason, last_operation_id,
        organizational_unit, parameter_overrides, source,
    }
    Stack {
        stack_id, stack_name, stack_set, account, region, status, status_reason, created, parent_id, root_id,
        parameters, source,
    }
    StackEvent {
        stack_id, stack_name, stack_set, account, region, event_id, logical_id, physical_id, resource_type,
        timestamp, status, status_reason, stack_operation_id, properties, hook, event_type, validation, source,
    }
    HookInvocation { hook_type, status, status_reason, invocation_point, invocation_id, failure_mode }
    Validation { name, status, status_reason, failure_mode, path }
    OrgPolicy { id, arn, name, policy_type, content, targets, source }
    CoverageNote { scope, reason }
    Organization { id, management_account }
    AccountPath { account, parents }
    QuickSetupManager { manager_arn, name, definition_types, statuses, source }
    QuickSetupStatus { status_type, status, message, last_updated }
    AutomationExecution { execution_id, document_name, status, started, failure_message, failed_steps, source }
    AutomationStep { name, action, status, failure_message }
    TrailEvent {
        event_id, event_time, event_source, event_name, account, region, error_code, error_message, principal_arn,
        session_issuer_arn, invoked_by, source_ip, resources, operation_id, source,
    }
    TrailLookup { account, region, start, end, attribute, pages, events, complete, started_operations }
}
