//! The JSON shapes the AWS CLI prints (`--output json`) for the commands we read, as serde types.
//!
//! One document type ([`CliDocument`]) with every top-level key we know as optional, so a file is parsed once
//! and recognised by which keys it has. Fields AWS may add later are ignored; fields we rely on are typed, so a
//! wrong type is a clear error with a line and column.

use std::borrow::Cow;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Deserializer};

use crate::evidence::{Bundle, Evidence};

#[derive(Debug, Default, Deserialize)]
pub struct CliDocument<'a> {
    #[serde(rename = "StackEvents", borrow)]
    pub stack_events: Option<Vec<CliStackEvent<'a>>>,
    #[serde(rename = "Stacks")]
    pub stacks: Option<Vec<CliStack>>,
    /// Shared by list-stack-sets, list-stack-set-operations, list-stack-set-operation-results and
    /// list-stack-instances; told apart per element by [`CliSummary::kind`].
    #[serde(rename = "Summaries")]
    pub summaries: Option<Vec<CliSummary>>,
    #[serde(rename = "StackSet")]
    pub stack_set: Option<CliStackSet>,
    #[serde(rename = "StackSetOperation")]
    pub stack_set_operation: Option<CliOperation>,
    #[serde(rename = "StackInstance")]
    pub stack_instance: Option<CliStackInstance>,
    /// `aws organizations describe-policy`.
    #[serde(rename = "Policy")]
    pub policy: Option<CliPolicy>,
    /// A bare IAM policy document (`{"Version": ..., "Statement": ...}`), e.g. an SCP saved from the console.
    #[serde(rename = "Statement")]
    pub statement: Option<serde::de::IgnoredAny>,
    // The evidence bundle (see `evidence::Bundle`): recognised by its `schema` key.
    pub schema: Option<String>,
    pub generated_by: Option<String>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub collected_at: Option<DateTime<Utc>>,
    pub collection: Option<crate::evidence::CollectionStats>,
    pub evidence: Option<Evidence>,
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

/// Borrowed from the file's text: most events are successful ones that are not kept, so their
/// strings are never copied.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliStackEvent<'a> {
    #[serde(borrow)]
    pub stack_id: Cow<'a, str>,
    #[serde(borrow)]
    pub stack_name: Cow<'a, str>,
    #[serde(borrow)]
    pub event_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub logical_resource_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub physical_resource_id: Option<Cow<'a, str>>,
    #[serde(borrow)]
    pub resource_type: Option<Cow<'a, str>>,
    #[serde(deserialize_with = "ts")]
    pub timestamp: DateTime<Utc>,
    #[serde(borrow)]
    pub resource_status: Cow<'a, str>,
    #[serde(borrow)]
    pub resource_status_reason: Option<Cow<'a, str>>,
    /// Newer CLIs print the StackSet or stack operation an event belongs to.
    #[serde(borrow)]
    pub operation_id: Option<Cow<'a, str>>,
    /// The resource's resolved properties, as JSON text.
    #[serde(borrow)]
    pub resource_properties: Option<Cow<'a, str>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliStack {
    pub stack_id: String,
    pub stack_name: String,
    pub stack_status: String,
    pub stack_status_reason: Option<String>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub creation_time: Option<DateTime<Utc>>,
    pub parent_id: Option<String>,
    #[serde(default)]
    pub parameters: Vec<CliParameter>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliSummary {
    // list-stack-sets
    pub stack_set_name: Option<String>,
    pub permission_model: Option<String>,
    pub description: Option<String>,
    // list-stack-set-operations
    pub operation_id: Option<String>,
    pub action: Option<String>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub creation_timestamp: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub end_timestamp: Option<DateTime<Utc>>,
    pub status_details: Option<CliStatusDetails>,
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
    /// Which listing an element comes from, by the fields only that listing has.
    pub fn kind(&self) -> SummaryKind {
        if self.account.is_some() && self.region.is_some() {
            // Instances always name their stack set; operation results never do.
            if self.stack_set_id.is_some() || self.stack_instance_status.is_some() {
                SummaryKind::StackInstance
            } else {
                SummaryKind::OperationResult
            }
        } else if self.operation_id.is_some() && self.action.is_some() {
            SummaryKind::Operation
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

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliStackSet {
    pub stack_set_name: String,
    pub stack_set_id: Option<String>,
    pub description: Option<String>,
    pub status: Option<String>,
    pub template_body: Option<String>,
    #[serde(default)]
    pub parameters: Vec<CliParameter>,
    #[serde(rename = "AdministrationRoleARN")]
    pub administration_role_arn: Option<String>,
    pub execution_role_name: Option<String>,
    pub permission_model: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliParameter {
    pub parameter_key: String,
    pub parameter_value: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliOperation {
    pub operation_id: String,
    pub stack_set_id: Option<String>,
    pub action: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub creation_timestamp: Option<DateTime<Utc>>,
    #[serde(default, deserialize_with = "ts_opt")]
    pub end_timestamp: Option<DateTime<Utc>>,
    pub status_details: Option<CliStatusDetails>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliStackInstance {
    pub stack_set_id: Option<String>,
    pub account: String,
    pub region: String,
    pub stack_id: Option<String>,
    pub status: String,
    pub status_reason: Option<String>,
    pub stack_instance_status: Option<CliInstanceStatus>,
    pub organizational_unit_id: Option<String>,
    pub last_operation_id: Option<String>,
    #[serde(default)]
    pub parameter_overrides: Vec<CliParameter>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliPolicy {
    pub policy_summary: CliPolicySummary,
    pub content: String,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CliPolicySummary {
    pub id: Option<String>,
    pub arn: Option<String>,
    pub name: Option<String>,
    #[serde(rename = "Type")]
    pub policy_type: Option<String>,
}
