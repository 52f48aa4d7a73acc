//! The JSON shapes the AWS CLI prints (`--output json`) for the commands we read, as serde types.
//!
//! One document type ([`CliDocument`]) with every top-level key we know as optional, so a file is parsed once
//! and recognised by which keys it has. Fields AWS may add later are ignored; fields we rely on are typed, so a
//! wrong type is a clear error with a line and column.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::de::IgnoredAny;
use serde::{Deserialize, Deserializer};
use serde_json::value::RawValue;

use crate::evidence::{Bundle, Evidence};

/// One record, kept as its text: each is parsed on its own, so one unusable record is a warning naming its
/// place, never the end of the file (docs/input-formats.md#records).
pub type Raw<'a> = &'a RawValue;

#[derive(Debug, Default, Deserialize)]
pub struct CliDocument<'a> {
    #[serde(rename = "StackEvents", borrow)]
    pub stack_events: Option<Vec<Raw<'a>>>,
    /// `aws cloudformation describe-events` (the operation-scoped events of late 2025).
    #[serde(rename = "OperationEvents", borrow)]
    pub operation_events: Option<Vec<Raw<'a>>>,
    #[serde(rename = "Stacks", borrow)]
    pub stacks: Option<Vec<Raw<'a>>>,
    /// Shared by list-stack-sets, list-stack-set-operations, list-stack-set-operation-results and
    /// list-stack-instances; told apart per element by [`CliSummary::kind`].
    #[serde(rename = "Summaries", borrow)]
    pub summaries: Option<Vec<Raw<'a>>>,
    #[serde(rename = "StackSet", borrow)]
    pub stack_set: Option<Raw<'a>>,
    #[serde(rename = "StackSetOperation", borrow)]
    pub stack_set_operation: Option<Raw<'a>>,
    #[serde(rename = "StackInstance", borrow)]
    pub stack_instance: Option<Raw<'a>>,
    /// `aws organizations describe-policy`.
    #[serde(rename = "Policy", borrow)]
    pub policy: Option<Raw<'a>>,
    /// A bare IAM policy document (`{"Version": ..., "Statement": ...}`), e.g. an SCP saved from the console.
    #[serde(rename = "Statement")]
    pub statement: Option<serde::de::IgnoredAny>,
    /// `aws cloudtrail lookup-events`: each element's `CloudTrailEvent` is the record as a JSON string.
    #[serde(rename = "Events", borrow)]
    pub events: Option<Vec<Raw<'a>>>,
    /// A CloudTrail log file (what a trail delivers to S3, uncompressed): the records themselves.
    #[serde(rename = "Records", borrow)]
    pub records: Option<Vec<Raw<'a>>>,
    /// A listing cut short (`--max-items`, `--no-paginate`): the rest is not in the file.
    #[serde(rename = "NextToken")]
    pub next_token: Option<String>,
    // The evidence bundle (see `evidence::Bundle`): recognised by its `schema` key.
    pub schema: Option<String>,
    pub generated_by: Option<String>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub collected_at: Option<DateTime<Utc>>,
    pub collection: Option<crate::evidence::CollectionStats>,
    pub evidence: Option<Evidence>,
}

/// The members that tell what a bare record is (the elements of `--query 'StackEvents[?…]'` and the like): a
/// document key makes it a document; else the record's own members decide ([`Probe::kind`]).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Probe {
    // document keys
    stack_events: Option<IgnoredAny>,
    operation_events: Option<IgnoredAny>,
    stacks: Option<IgnoredAny>,
    summaries: Option<IgnoredAny>,
    stack_set: Option<IgnoredAny>,
    stack_set_operation: Option<IgnoredAny>,
    stack_instance: Option<IgnoredAny>,
    policy: Option<IgnoredAny>,
    statement: Option<IgnoredAny>,
    events: Option<IgnoredAny>,
    records: Option<IgnoredAny>,
    #[serde(rename = "schema")]
    schema: Option<IgnoredAny>,
    // record members
    resource_status: Option<IgnoredAny>,
    event_type: Option<IgnoredAny>,
    hook_status: Option<IgnoredAny>,
    stack_status: Option<IgnoredAny>,
    template_body: Option<IgnoredAny>,
    #[serde(rename = "StackSetARN")]
    stack_set_arn: Option<IgnoredAny>,
    parameter_overrides: Option<IgnoredAny>,
    policy_summary: Option<IgnoredAny>,
    content: Option<IgnoredAny>,
    account: Option<IgnoredAny>,
    region: Option<IgnoredAny>,
    organizational_unit_id: Option<IgnoredAny>,
    operation_id: Option<IgnoredAny>,
    action: Option<IgnoredAny>,
    stack_set_name: Option<IgnoredAny>,
    stack_set_id: Option<IgnoredAny>,
    /// An element of `lookup-events`' `Events`.
    cloud_trail_event: Option<IgnoredAny>,
    /// A CloudTrail record (camelCase members).
    #[serde(rename = "eventSource")]
    trail_event_source: Option<IgnoredAny>,
    #[serde(rename = "eventName")]
    trail_event_name: Option<IgnoredAny>,
}

/// What a bare record is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordKind {
    /// A whole document (`[{"StackEvents": …}, {"Stacks": …}]`, as `jq -s` makes).
    Document,
    StackEvent,
    Stack,
    StackSet,
    StackInstance,
    Policy,
    /// A listing's element (stack set, operation, operation result or instance summary): [`CliSummary::kind`].
    Summary,
    /// An element of `lookup-events`' `Events`.
    TrailLookupEvent,
    /// A CloudTrail record.
    TrailRecord,
    Unknown,
}

impl Probe {
    pub fn kind(&self) -> RecordKind {
        let doc = [
            &self.stack_events,
            &self.operation_events,
            &self.stacks,
            &self.summaries,
            &self.stack_set,
            &self.stack_set_operation,
            &self.stack_instance,
            &self.policy,
            &self.statement,
            &self.events,
            &self.records,
            &self.schema,
        ];
        if doc.iter().any(|k| k.is_some()) {
            RecordKind::Document
        } else if self.cloud_trail_event.is_some() {
            RecordKind::TrailLookupEvent
        } else if self.trail_event_source.is_some() && self.trail_event_name.is_some() {
            RecordKind::TrailRecord
        } else if self.resource_status.is_some()
            || self.event_type.is_some()
            || self.hook_status.is_some()
        {
            RecordKind::StackEvent
        } else if self.stack_status.is_some() {
            RecordKind::Stack
        } else if self.template_body.is_some() || self.stack_set_arn.is_some() {
            RecordKind::StackSet
        } else if self.parameter_overrides.is_some() {
            RecordKind::StackInstance
        } else if self.policy_summary.is_some() || self.content.is_some() {
            RecordKind::Policy
        } else if self.account.is_some()
            || self.region.is_some()
            || self.organizational_unit_id.is_some()
            || self.operation_id.is_some()
            || self.action.is_some()
            || self.stack_set_name.is_some()
            || self.stack_set_id.is_some()
        {
            RecordKind::Summary
        } else {
            RecordKind::Unknown
        }
    }
}

impl CliDocument<'_> {
    /// The document as an evidence bundle when it has a `schema` key, else itself back.
    pub fn split_bundle(self) -> Result<Bundle, Box<Self>> {
        match self.schema {
            Some(schema) => Ok(Bundle {
                schema,
                generated_by: self.generated_by,
                collected_at: self.collected_at,
                collection: self.collection,
                evidence: self.evidence.unwrap_or_default(),
            }),
            None => Err(Box::new(self)),
        }
    }
}

/// Timestamps as the CLI prints them: ISO 8601 (`2025-03-10T05:12:01.123000+00:00`, CLI v2 and
/// `cli_timestamp_format = iso8601`), the raw `2025-03-10T05:12:01.123Z` (CLI v1's default), or epoch seconds.
fn parse_ts_str(s: &str) -> Result<DateTime<Utc>, String> {
    DateTime::parse_from_rfc3339(s.trim())
        .map(|t| t.with_timezone(&Utc))
        .or_else(|_| chrono::NaiveDateTime::parse_from_str(s.trim(), "%Y-%m-%dT%H:%M:%S%.f").map(|n| n.and_utc()))
        .map_err(|_| format!("invalid timestamp {s:?} (expected ISO 8601, e.g. 2025-03-10T05:12:01.123000+00:00)"))
        .and_then(|t| in_range(t).ok_or_else(|| out_of_range(s)))
}

/// Years a CloudFormation timestamp can have. The parsers accept far more (`+262142-12-31T23:59:59`), and time
/// windows around such a value would overflow.
const YEARS: std::ops::RangeInclusive<i32> = 1970..=9999;

fn in_range(t: DateTime<Utc>) -> Option<DateTime<Utc>> {
    use chrono::Datelike;
    YEARS.contains(&t.year()).then_some(t)
}

fn out_of_range(v: impl std::fmt::Display) -> String {
    format!(
        "timestamp {v} is out of range (years {} to {})",
        YEARS.start(),
        YEARS.end()
    )
}

struct TsVisitor;

impl serde::de::Visitor<'_> for TsVisitor {
    type Value = DateTime<Utc>;
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a timestamp (ISO 8601 text or epoch seconds)")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
        parse_ts_str(v).map_err(E::custom)
    }
    fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
        DateTime::from_timestamp_millis((v * 1000.0) as i64)
            .and_then(in_range)
            .ok_or_else(|| E::custom(out_of_range(format!("{v} (epoch seconds)"))))
    }
    fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
        self.visit_f64(v as f64)
    }
    fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
        self.visit_f64(v as f64)
    }
}

pub fn ts<'de, D: Deserializer<'de>>(d: D) -> Result<DateTime<Utc>, D::Error> {
    d.deserialize_any(TsVisitor)
}

pub fn ts_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<DateTime<Utc>>, D::Error> {
    struct Opt;
    impl<'de> serde::de::Visitor<'de> for Opt {
        type Value = Option<DateTime<Utc>>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a timestamp or null")
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
            ts(d).map(Some)
        }
    }
    d.deserialize_option(Opt)
}

/// `null` (a `--query` projection of a missing member) as the empty value.
fn or_default<'de, D: Deserializer<'de>, T: Deserialize<'de> + Default>(
    d: D,
) -> Result<T, D::Error> {
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

/// A stack event, from `describe-stack-events` (`StackEvents`) or `describe-events` (`OperationEvents`, which
/// has no `StackName` and adds `EventType` and the validation members). Borrowed from the file's text: most
/// events are successful ones that are not kept, so their strings are never copied. Every member is optional,
/// as the service model makes it; what a record cannot do without is checked when it is read.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliStackEvent<'a> {
    #[serde(borrow)]
    pub stack_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub stack_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub logical_resource_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub physical_resource_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub resource_type: Option<Cow<'a, str>>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub timestamp: Option<DateTime<Utc>>,
    /// `describe-events`: when the event's work started (its `Timestamp` may be absent on validation events).
    #[serde(default, deserialize_with = "ts_opt")]
    pub start_time: Option<DateTime<Utc>>,
    #[serde(borrow)]
    pub resource_status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub resource_status_reason: Option<Cow<'a, str>>,
    /// Newer CLIs print the stack operation an event belongs to.
    #[serde(borrow)]
    pub operation_id: Option<Cow<'a, str>>,
    /// The resource's resolved properties, as JSON text.
    #[serde(borrow)]
    pub resource_properties: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub hook_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub hook_status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub hook_status_reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub hook_invocation_point: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub hook_invocation_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub hook_failure_mode: Option<Cow<'a, str>>,
    // describe-events only
    #[serde(borrow)]
    pub event_type: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub detailed_status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub validation_name: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub validation_status: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub validation_status_reason: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub validation_failure_mode: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub validation_path: Option<Cow<'a, str>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliStack {
    pub stack_id: Option<String>,
    pub stack_name: Option<String>,
    pub stack_status: Option<String>,
    pub stack_status_reason: Option<String>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub creation_time: Option<DateTime<Utc>>,
    pub parent_id: Option<String>,
    pub root_id: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub parameters: Vec<CliParameter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliSummary {
    // list-stack-sets
    pub stack_set_name: Option<String>,
    pub permission_model: Option<String>,
    pub description: Option<String>,
    pub auto_deployment: Option<CliAutoDeployment>,
    // list-stack-set-operations
    pub operation_id: Option<String>,
    pub action: Option<String>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub creation_timestamp: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub end_timestamp: Option<DateTime<Utc>>,
    pub status_details: Option<CliStatusDetails>,
    pub operation_preferences: Option<CliOperationPreferences>,
    // list-stack-set-operation-results and list-stack-instances
    pub account: Option<String>,
    pub region: Option<String>,
    pub account_gate_result: Option<CliAccountGate>,
    pub organizational_unit_id: Option<String>,
    pub stack_set_id: Option<String>,
    pub stack_id: Option<String>,
    pub stack_instance_status: Option<CliInstanceStatus>,
    pub last_operation_id: Option<String>,
    // shared
    pub status: Option<String>,
    pub status_reason: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SummaryKind {
    StackSet,
    Operation,
    OperationResult,
    StackInstance,
    Unknown,
}

impl CliSummary {
    /// Which listing an element comes from, by the members only that listing has.
    pub fn kind(&self) -> SummaryKind {
        let placed = self.account.is_some()
            || self.region.is_some()
            || self.organizational_unit_id.is_some();
        // Operations are the only listing with `Action` or `OperationId` (instances have `LastOperationId`).
        if self.action.is_some() || (self.operation_id.is_some() && !placed) {
            SummaryKind::Operation
        } else if placed {
            // Instances always name their stack set; operation results never do (a service-managed result may
            // name only its OU).
            if self.stack_set_id.is_some()
                || self.stack_instance_status.is_some()
                || self.stack_id.is_some()
            {
                SummaryKind::StackInstance
            } else {
                SummaryKind::OperationResult
            }
        } else if self.stack_set_name.is_some() {
            SummaryKind::StackSet
        } else {
            SummaryKind::Unknown
        }
    }
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliStatusDetails {
    pub failed_stack_instances_count: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliAccountGate {
    pub status: Option<String>,
    pub status_reason: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliInstanceStatus {
    pub detailed_status: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliAutoDeployment {
    pub enabled: Option<bool>,
    pub retain_stacks_on_account_removal: Option<bool>,
    #[serde(default, deserialize_with = "or_default")]
    pub depends_on: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliDeploymentTargets {
    #[serde(default, deserialize_with = "or_default")]
    pub accounts: Vec<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub organizational_unit_ids: Vec<String>,
    pub account_filter_type: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliOperationPreferences {
    pub failure_tolerance_count: Option<u64>,
    pub failure_tolerance_percentage: Option<u64>,
    pub max_concurrent_count: Option<u64>,
    pub max_concurrent_percentage: Option<u64>,
    pub concurrency_mode: Option<String>,
    pub region_concurrency_type: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub region_order: Vec<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliStackSet {
    pub stack_set_name: Option<String>,
    pub stack_set_id: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub template_body: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub parameters: Vec<CliParameter>,
    #[serde(rename = "AdministrationRoleARN")]
    pub administration_role_arn: Option<String>,
    pub execution_role_name: Option<String>,
    pub permission_model: Option<String>,
    pub auto_deployment: Option<CliAutoDeployment>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliParameter {
    pub parameter_key: Option<String>,
    pub parameter_value: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliOperation {
    pub operation_id: Option<String>,
    pub stack_set_id: Option<String>,
    pub action: Option<String>,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub creation_timestamp: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub end_timestamp: Option<DateTime<Utc>>,
    pub status_details: Option<CliStatusDetails>,
    pub deployment_targets: Option<CliDeploymentTargets>,
    pub operation_preferences: Option<CliOperationPreferences>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliStackInstance {
    pub stack_set_id: Option<String>,
    pub account: Option<String>,
    pub region: Option<String>,
    pub stack_id: Option<String>,
    pub status: Option<String>,
    pub status_reason: Option<String>,
    pub stack_instance_status: Option<CliInstanceStatus>,
    pub organizational_unit_id: Option<String>,
    pub last_operation_id: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub parameter_overrides: Vec<CliParameter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliPolicy {
    pub policy_summary: Option<CliPolicySummary>,
    pub content: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliPolicySummary {
    pub id: Option<String>,
    pub arn: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "Type")]
    pub policy_type: Option<String>,
}

/// An element of `aws cloudtrail lookup-events`' `Events`: a few members of the record, and the whole record as a
/// JSON string (`CloudTrailEvent`, read by `TrailEvent::from_record`).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliTrailLookupEvent {
    pub event_id: Option<String>,
    pub event_name: Option<String>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub event_time: Option<DateTime<Utc>>,
    pub event_source: Option<String>,
    #[serde(default, deserialize_with = "or_default")]
    pub resources: Vec<CliTrailLookupResource>,
    pub cloud_trail_event: Option<String>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliTrailLookupResource {
    pub resource_type: Option<String>,
    pub resource_name: Option<String>,
}
