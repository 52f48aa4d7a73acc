//! The evidence model: plain data describing a StackSet deployment, independent of where it came from.
//!
//! Takes nothing; gives the types every later stage reads. `collect` fills an [`Evidence`] from saved AWS CLI
//! JSON (or, later, the AWS SDK); the same value serialised with [`BUNDLE_SCHEMA`] is the evidence bundle, so a
//! diagnosis can be re-run anywhere from the same facts. No AWS SDK type appears here.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// The versioned `schema` key of an evidence bundle. Bump the suffix on any incompatible change.
pub const BUNDLE_SCHEMA: &str = "stackset-doctor/evidence/v1";

/// Where a record was read from: a file (or `<stdin>`) and a JSON pointer into it.
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize, JsonSchema,
)]
pub struct SourceRef {
    pub file: String,
    pub pointer: String,
}

impl std::fmt::Display for SourceRef {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.file, self.pointer)
    }
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackSet {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub permission_model: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub administration_role_arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub execution_role_name: Option<String>,
    /// The template as the API returns it (YAML or JSON text); used to learn what the stack set creates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub template_body: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    /// Service-managed auto-deployment (`AutoDeployment`), with the stack sets whose auto-deployment this one
    /// waits for (`DependsOn`: an explicit cross-stack-set dependency).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auto_deployment: Option<AutoDeployment>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutoDeployment {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enabled: Option<bool>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_stacks_on_account_removal: Option<bool>,
    /// Stack set ARNs (or names) this one's auto-deployment runs after.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub depends_on: Vec<String>,
}

/// Where an operation deployed (`DeploymentTargets`): OUs for service-managed stack sets, accounts otherwise.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DeploymentTargets {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub accounts: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub organizational_units: Vec<String>,
    /// `INTERSECTION`, `DIFFERENCE`, `UNION` or `NONE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_filter_type: Option<String>,
}

/// How an operation rolled out (`OperationPreferences`): what decides when the first failures cancel the rest.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationPreferences {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_tolerance_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_tolerance_percentage: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_count: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_concurrent_percentage: Option<u64>,
    /// `STRICT_FAILURE_TOLERANCE` or `SOFT_FAILURE_TOLERANCE`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub concurrency_mode: Option<String>,
    /// `SEQUENTIAL` or `PARALLEL`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region_concurrency_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub region_order: Vec<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Parameter {
    pub key: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Operation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_set: Option<String>,
    pub operation_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ended: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failed_instances: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deployment_targets: Option<DeploymentTargets>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferences: Option<OperationPreferences>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OperationResult {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_set: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    pub account: String,
    pub region: String,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_gate_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_gate_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizational_unit: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackInstance {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_set: Option<String>,
    pub account: String,
    pub region: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_id: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detailed_status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organizational_unit: Option<String>,
    /// The instance's own parameter values, overriding the stack set's (`describe-stack-instance`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameter_overrides: Vec<Parameter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Stack {
    pub stack_id: String,
    pub stack_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_set: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub created: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_id: Option<String>,
    /// The top-level stack of a nested stack (`RootId`): a nested stack belongs to its root's stack set.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub root_id: Option<String>,
    /// The parameter values the stack was deployed with (`describe-stacks`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parameters: Vec<Parameter>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct StackEvent {
    pub stack_id: String,
    pub stack_name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_set: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logical_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub physical_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    pub timestamp: DateTime<Utc>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// The stack operation the event belongs to (newer CLIs print it): the member stack's own operation, not
    /// the StackSet operation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stack_operation_id: Option<String>,
    /// The resource's resolved properties as JSON text (`ResourceProperties`, printed by current CLIs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub properties: Option<String>,
    /// A hook's invocation on this resource (`HookType`, `HookStatus`, …): its reason is the failure's message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook: Option<HookInvocation>,
    /// `describe-events` only: `STACK_EVENT`, `PROGRESS_EVENT`, `VALIDATION_ERROR`, `PROVISIONING_ERROR` or
    /// `HOOK_INVOCATION_ERROR`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_type: Option<String>,
    /// `describe-events` only: a pre-deployment validation's result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub validation: Option<Validation>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

/// A hook invocation as a stack event reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HookInvocation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hook_type: Option<String>,
    /// `HOOK_IN_PROGRESS`, `HOOK_COMPLETE_SUCCEEDED`, `HOOK_COMPLETE_FAILED` or `HOOK_FAILED`.
    pub status: String,
    /// Cut by CloudFormation at 1,024 characters; the full text is the hook result's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_point: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invocation_id: Option<String>,
    /// `FAIL` (the resource fails with the hook) or `WARN` (the hook's failure is only reported).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_mode: Option<String>,
}

/// A pre-deployment validation's result (`describe-events`, `EventType` `VALIDATION_ERROR`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Validation {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `FAILED` or `SKIPPED`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status_reason: Option<String>,
    /// `FAIL` or `WARN`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_mode: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub path: Option<String>,
}

/// An organization policy (SCP or RCP) as `aws organizations describe-policy` returns it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct OrgPolicy {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// `SERVICE_CONTROL_POLICY` or `RESOURCE_CONTROL_POLICY`.
    pub policy_type: String,
    /// The policy document as JSON text.
    pub content: String,
    /// Where the policy is attached (account, OU or root ids), when collected live; empty when unknown.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub targets: Vec<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

/// The organization the accounts belong to, as `aws organizations describe-organization` says.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Organization {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// SCPs and RCPs do not apply to the management account.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub management_account: Option<String>,
}

/// An account's place in the organization: its parents from the nearest OU up to the root.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AccountPath {
    pub account: String,
    /// OU ids then the root id (`ou-…`, …, `r-…`).
    pub parents: Vec<String>,
}

/// A Systems Manager Quick Setup configuration manager and its status summaries.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickSetupManager {
    pub manager_arn: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Configuration definition types, e.g. `AWSQuickSetupType-SSM`.
    #[serde(default)]
    pub definition_types: Vec<String>,
    #[serde(default)]
    pub statuses: Vec<QuickSetupStatus>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct QuickSetupStatus {
    /// `Deployment` or `AsyncExecutions`.
    pub status_type: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_updated: Option<DateTime<Utc>>,
}

/// A Systems Manager Automation execution that did not succeed (Quick Setup runs some), with its failed steps.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomationExecution {
    pub execution_id: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub document_name: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started: Option<DateTime<Utc>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
    #[serde(default)]
    pub failed_steps: Vec<AutomationStep>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AutomationStep {
    pub name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub status: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub failure_message: Option<String>,
}

/// What could not be collected, and why; shown in the report so a gap is never silent.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CoverageNote {
    pub scope: String,
    pub reason: String,
}

/// All the facts a diagnosis reads.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Evidence {
    #[serde(default)]
    pub stack_sets: Vec<StackSet>,
    #[serde(default)]
    pub operations: Vec<Operation>,
    #[serde(default)]
    pub operation_results: Vec<OperationResult>,
    #[serde(default)]
    pub stack_instances: Vec<StackInstance>,
    #[serde(default)]
    pub stacks: Vec<Stack>,
    #[serde(default)]
    pub stack_events: Vec<StackEvent>,
    #[serde(default)]
    pub policies: Vec<OrgPolicy>,
    #[serde(default)]
    pub coverage: Vec<CoverageNote>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub organization: Option<Organization>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub account_paths: Vec<AccountPath>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub quick_setup: Vec<QuickSetupManager>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub automation_executions: Vec<AutomationExecution>,
    /// Stack events read, successful ones included (only failures are kept): evidence that stacks were seen.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub stack_events_read: u64,
    /// CloudTrail events that carry an error, from the windows of failing stacks (docs/cloudtrail.md).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trail_events: Vec<TrailEvent>,
    /// Every CloudTrail search made: where, when, how far it got. With `coverage` (searches that could not be
    /// made), what tells "looked and found nothing" from "could not look".
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub trail_lookups: Vec<TrailLookup>,
    /// CloudTrail events read, those without an error included (only events with an error are kept).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub trail_events_read: u64,
}

/// A CloudTrail event, as far as explaining a failure needs: the call, its error, who made it, what it was about.
/// From `LookupEvents` (`aws cloudtrail lookup-events`, whose `CloudTrailEvent` is the record as a JSON string) or a
/// trail's log record.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrailEvent {
    /// `eventID`.
    pub event_id: String,
    /// `eventTime`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_time: Option<DateTime<Utc>>,
    /// `eventSource`, e.g. `s3.amazonaws.com`.
    pub event_source: String,
    /// `eventName`: the API action, e.g. `PutBucketPublicAccessBlock`.
    pub event_name: String,
    /// `recipientAccountId` (else `userIdentity.accountId`): the account the call was made in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// `awsRegion`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub region: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error_message: Option<String>,
    /// `userIdentity.arn`: for an assumed role, the session (`arn:aws:sts::…:assumed-role/ROLE/SESSION`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub principal_arn: Option<String>,
    /// `userIdentity.sessionContext.sessionIssuer.arn`: the role behind a session.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_issuer_arn: Option<String>,
    /// `userIdentity.invokedBy`: the service that made the call on the caller's behalf
    /// (`cloudformation.amazonaws.com`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invoked_by: Option<String>,
    /// `sourceIPAddress`: for calls a service makes, the service's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source_ip: Option<String>,
    /// What the call was about: the ARNs and names of `resources[]` (`Resources[]` in `lookup-events`), then the
    /// string values of `requestParameters` (bucket, role and function names, ARNs).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub resources: Vec<String>,
    /// `responseElements.operationId`: the StackSet operation the call started (`UpdateStackSet`,
    /// `CreateStackInstances`, …), which says who started an operation (docs/cloudtrail.md#the-lock-holder).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub operation_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<SourceRef>,
}

/// One CloudTrail search, in one account and Region.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TrailLookup {
    pub account: String,
    pub region: String,
    /// The window searched (docs/cloudtrail.md#window).
    pub start: DateTime<Utc>,
    pub end: DateTime<Utc>,
    /// The lookup attribute, as `Key=Value` (LookupEvents takes one), when one narrowed the search.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub attribute: Option<String>,
    /// Pages read.
    pub pages: u32,
    /// Events kept (those with an error, made on CloudFormation's behalf).
    pub events: usize,
    /// False when the page bound stopped the search before its end: events may have been missed.
    pub complete: bool,
    /// For a search of who started operations that held their stack sets: those operations' ids. Such a search
    /// looked for `CloudFormation`'s own calls only, never for a failure's.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub started_operations: Vec<String>,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// The evidence bundle: one JSON document with a versioned schema key.
#[derive(Debug, Clone, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    pub schema: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generated_by: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collected_at: Option<DateTime<Utc>>,
    /// What a live collection cost (absent for bundles saved from files).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collection: Option<CollectionStats>,
    pub evidence: Evidence,
}

impl Bundle {
    /// The bundle of `evidence`, saying which tool wrote it and, for a live collection, when and at what cost.
    pub fn new(evidence: Evidence, collection: Option<CollectionStats>) -> Bundle {
        Bundle {
            schema: BUNDLE_SCHEMA.into(),
            generated_by: Some(format!("stackset-doctor {}", env!("CARGO_PKG_VERSION"))),
            collected_at: collection
                .as_ref()
                .map(|_| DateTime::<Utc>::from(std::time::SystemTime::now())),
            collection,
            evidence,
        }
    }
}

/// API calls made by a live collection and how long it took.
#[derive(Debug, Clone, Default, Serialize, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CollectionStats {
    /// Region of the admin side, and the caller's account.
    pub region: String,
    pub caller_account: String,
    /// Calls per `Service:Operation`.
    pub calls: std::collections::BTreeMap<String, u64>,
    pub total_calls: u64,
    /// HTTP attempts, retries included.
    pub attempts: u64,
    pub elapsed_ms: u64,
}

impl Evidence {
    /// Give back what the vectors reserved beyond their records: a file's evidence waits, with every other file's,
    /// until all are read and merged, and a vector that grew to one record holds room for four.
    pub fn shrink_to_fit(&mut self) {
        self.stack_sets.shrink_to_fit();
        self.operations.shrink_to_fit();
        self.operation_results.shrink_to_fit();
        self.stack_instances.shrink_to_fit();
        self.stacks.shrink_to_fit();
        self.stack_events.shrink_to_fit();
        self.policies.shrink_to_fit();
        self.coverage.shrink_to_fit();
        self.account_paths.shrink_to_fit();
        self.quick_setup.shrink_to_fit();
        self.automation_executions.shrink_to_fit();
        self.trail_events.shrink_to_fit();
        self.trail_lookups.shrink_to_fit();
    }

    pub fn extend(&mut self, other: Evidence) {
        // Every field by name (no `..`): a field added to the model does not compile until it is merged here.
        let Evidence {
            stack_sets,
            operations,
            operation_results,
            stack_instances,
            stacks,
            stack_events,
            policies,
            coverage,
            organization,
            account_paths,
            quick_setup,
            automation_executions,
            stack_events_read,
            trail_events,
            trail_lookups,
            trail_events_read,
        } = other;
        self.stack_sets.extend(stack_sets);
        self.operations.extend(operations);
        self.operation_results.extend(operation_results);
        self.stack_instances.extend(stack_instances);
        self.stacks.extend(stacks);
        self.stack_events.extend(stack_events);
        self.policies.extend(policies);
        self.coverage.extend(coverage);
        if self.organization.is_none() {
            self.organization = organization;
        }
        self.account_paths.extend(account_paths);
        self.quick_setup.extend(quick_setup);
        self.automation_executions.extend(automation_executions);
        self.stack_events_read += stack_events_read;
        self.trail_events.extend(trail_events);
        self.trail_lookups.extend(trail_lookups);
        self.trail_events_read += trail_events_read;
    }

    /// Fill in what one record implies about another: a stack's stack set from its events, an operation
    /// result's operation id from the instance's `LastOperationId` (the results listing does not carry it).
    pub fn normalize(&mut self) {
        use std::collections::HashMap;
        let mut last_op: HashMap<(String, String, String), String> = HashMap::new();
        for inst in &self.stack_instances {
            if let (Some(ss), Some(op)) = (&inst.stack_set, &inst.last_operation_id) {
                last_op.insert(
                    (ss.clone(), inst.account.clone(), inst.region.clone()),
                    op.clone(),
                );
            }
        }
        for r in &mut self.operation_results {
            if r.operation_id.is_none() {
                if let Some(ss) = &r.stack_set {
                    r.operation_id = last_op
                        .get(&(ss.clone(), r.account.clone(), r.region.clone()))
                        .cloned();
                }
            }
        }
        // A nested stack belongs to its root's stack set (`RootId`): its own name
        // (`StackSet-<name>-<uuid>-<Logical>-<suffix>`) does not say it.
        let mut root_set: HashMap<String, String> = HashMap::new();
        for st in &mut self.stacks {
            if st.stack_set.is_some() {
                continue;
            }
            let from_root = st
                .root_id
                .as_deref()
                .and_then(crate::ids::stack_name)
                .and_then(stack_set_from_stack_name)
                .map(str::to_owned);
            if let Some(ss) = from_root {
                root_set.insert(st.stack_id.clone(), ss.clone());
                st.stack_set = Some(ss);
            }
        }
        if !root_set.is_empty() {
            for e in &mut self.stack_events {
                if e.stack_set.is_none() {
                    e.stack_set = root_set.get(&e.stack_id).cloned();
                }
            }
        }
        // Stack sets named only by id (`name:uuid`) elsewhere are keyed by name everywhere.
        for i in &mut self.stack_instances {
            if let Some(ss) = &i.stack_set {
                i.stack_set = Some(stack_set_name_from_id(ss).to_string());
            }
        }
    }
}

/// What the evidence covers: what a verdict says it examined, so "no failure found" says of what
/// (docs/input-formats.md#never-a-false-all-clear).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct Examined {
    pub stack_sets: Vec<String>,
    /// Stack instances by status (`CURRENT`, `OUTDATED/FAILED`, `CURRENT/SKIPPED_SUSPENDED_ACCOUNT`, …).
    pub instances: BTreeMap<String, usize>,
    pub accounts: usize,
    pub regions: usize,
    pub stacks: usize,
    /// Stack events read (successful ones included).
    pub stack_events: u64,
    pub operations: usize,
    /// The newest deployment operation (else the newest operation of any kind).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_operation: Option<OperationSeen>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, JsonSchema)]
pub struct OperationSeen {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stack_set: Option<String>,
    pub operation_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub status: String,
    /// When it ended, else when it started.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub time: Option<DateTime<Utc>>,
}

impl Examined {
    pub fn instance_count(&self) -> usize {
        self.instances.values().sum()
    }
}

/// When a StackSet operation ran, as the evidence says (either end may be unknown).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Window {
    pub start: Option<DateTime<Utc>>,
    pub end: Option<DateTime<Utc>>,
}

impl Window {
    /// Slack around an operation's window for clock skew between the StackSets service and member stacks.
    pub const SLACK_MINUTES: i64 = 5;

    /// Whether `t` falls within the window, with [`Self::SLACK_MINUTES`] either side; an unknown end is open.
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        !self.is_before(t) && !self.is_after(t)
    }

    /// Whether `t` is before the window's start (with slack). Checked arithmetic: a timestamp at the edge of the
    /// representable range does not overflow.
    pub fn is_before(&self, t: DateTime<Utc>) -> bool {
        let slack = chrono::Duration::minutes(Self::SLACK_MINUTES);
        self.start
            .is_some_and(|s| s.checked_sub_signed(slack).is_some_and(|s| t < s))
    }

    /// Whether `t` is after the window's end (with slack); never, when the end is unknown.
    pub fn is_after(&self, t: DateTime<Utc>) -> bool {
        let slack = chrono::Duration::minutes(Self::SLACK_MINUTES);
        self.end
            .is_some_and(|e| e.checked_add_signed(slack).is_some_and(|e| t > e))
    }
}

impl Evidence {
    /// Whether anything here could show a deployment's failure (operations, results, instances, stacks,
    /// events): a stack set's description, a policy or a Quick Setup status alone says nothing of whether a
    /// deployment failed.
    pub fn has_deployment_evidence(&self) -> bool {
        !(self.operations.is_empty()
            && self.operation_results.is_empty()
            && self.stack_instances.is_empty()
            && self.stacks.is_empty()
            && self.stack_events.is_empty()
            && self.stack_events_read == 0)
    }

    /// What the evidence covers.
    pub fn examined(&self) -> Examined {
        use std::collections::BTreeSet;
        let mut stack_sets: BTreeSet<&str> = BTreeSet::new();
        let mut accounts: BTreeSet<&str> = BTreeSet::new();
        let mut regions: BTreeSet<&str> = BTreeSet::new();
        stack_sets.extend(self.stack_sets.iter().map(|s| s.name.as_str()));
        stack_sets.extend(
            self.operations
                .iter()
                .filter_map(|o| o.stack_set.as_deref()),
        );
        let mut instances: BTreeMap<String, usize> = BTreeMap::new();
        for i in &self.stack_instances {
            stack_sets.extend(i.stack_set.as_deref());
            accounts.insert(&i.account);
            regions.insert(&i.region);
            let key = match i.detailed_status.as_deref() {
                Some(d) if !d.is_empty() && d != i.status => format!("{}/{d}", i.status),
                _ => i.status.clone(),
            };
            *instances.entry(key).or_default() += 1;
        }
        for r in &self.operation_results {
            stack_sets.extend(r.stack_set.as_deref());
            accounts.extend(Some(r.account.as_str()).filter(|a| !a.is_empty()));
            regions.extend(Some(r.region.as_str()).filter(|a| !a.is_empty()));
        }
        for s in &self.stacks {
            stack_sets.extend(s.stack_set.as_deref());
            accounts.extend(s.account.as_deref());
            regions.extend(s.region.as_deref());
        }
        for e in &self.stack_events {
            stack_sets.extend(e.stack_set.as_deref());
            accounts.extend(e.account.as_deref());
            regions.extend(e.region.as_deref());
        }
        let time = |o: &Operation| o.ended.or(o.created);
        let newest = |deploying: bool| {
            self.operations
                .iter()
                .filter(|o| {
                    !deploying || crate::vocabulary::status::is_deployment(o.action.as_deref())
                })
                .max_by_key(|o| time(o))
        };
        let last_operation = newest(true)
            .or_else(|| newest(false))
            .map(|o| OperationSeen {
                stack_set: o.stack_set.clone(),
                operation_id: o.operation_id.clone(),
                action: o.action.clone(),
                status: o.status.clone(),
                time: time(o),
            });
        Examined {
            stack_sets: stack_sets.into_iter().map(str::to_owned).collect(),
            instances,
            accounts: accounts.len(),
            regions: regions.len(),
            stacks: self.stacks.len(),
            stack_events: self.stack_events_read.max(self.stack_events.len() as u64),
            operations: self.operations.len(),
            last_operation,
        }
    }

    /// Each operation's window, by (stack set, operation id).
    pub fn operation_windows(&self) -> std::collections::HashMap<(&str, &str), Window> {
        self.operations
            .iter()
            .filter_map(|o| {
                let key = (o.stack_set.as_deref()?, o.operation_id.as_str());
                Some((
                    key,
                    Window {
                        start: o.created,
                        end: o.ended,
                    },
                ))
            })
            .collect()
    }
}

/// `AWS-QuickSetup-SSM-DA-abcde:0b6e...` → `AWS-QuickSetup-SSM-DA-abcde`.
pub fn stack_set_name_from_id(id: &str) -> &str {
    match id.rsplit_once(':') {
        Some((name, uuid)) if crate::ids::is_uuid(uuid) => name,
        _ => id,
    }
}

/// The stack set a member stack belongs to, from its name `StackSet-<stack set name>-<uuid>`.
pub fn stack_set_from_stack_name(stack_name: &str) -> Option<&str> {
    let rest = stack_name.strip_prefix("StackSet-")?;
    if rest.len() > 37 && rest.is_char_boundary(rest.len() - 37) {
        let (name, tail) = rest.split_at(rest.len() - 37);
        if tail.starts_with('-') && crate::ids::is_uuid(&tail[1..]) {
            return Some(name);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stack name with multi-byte characters where the uuid would start must not split a character.
    #[test]
    fn stack_set_from_non_ascii_stack_name_does_not_panic() {
        let name = format!("StackSet-{}", "é".repeat(21));
        assert_eq!(stack_set_from_stack_name(&name), None);
        assert_eq!(
            stack_set_from_stack_name("StackSet-my-set-0b6e7c1a-5f1e-4b7e-9a61-8f0c2d3e4f50"),
            Some("my-set")
        );
    }

    #[test]
    fn stack_set_names_come_from_member_stack_names() {
        assert_eq!(
            stack_set_from_stack_name(
                "StackSet-AWS-QuickSetup-SSM-DA-abcde-8c0e8d5c-2f44-4c8b-9d1e-3c1a2b3c4d5e"
            ),
            Some("AWS-QuickSetup-SSM-DA-abcde")
        );
        assert_eq!(stack_set_from_stack_name("StackSet-x-notauuid"), None);
        assert_eq!(stack_set_from_stack_name("my-stack"), None);
    }

    #[test]
    fn stack_set_ids_lose_their_uuid() {
        assert_eq!(
            stack_set_name_from_id("baseline:8c0e8d5c-2f44-4c8b-9d1e-3c1a2b3c4d5e"),
            "baseline"
        );
        assert_eq!(stack_set_name_from_id("baseline"), "baseline");
    }
}
