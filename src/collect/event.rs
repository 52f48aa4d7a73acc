//! An EventBridge event from CloudFormation StackSets, as EventBridge delivers it to a target: which stack set,
//! which operation or stack instance, and whether there is anything to diagnose (docs/eventbridge.md).
//!
//! Takes the bytes of one event object; gives a [`StackSetEvent`]: the stack set's name, its Region and
//! account (from the stack set's ARN), the operation id (operation events) or the instance's account and
//! Region (from the stack's ARN, instance events), and the status. The live collector is then asked for exactly
//! that; this module asks AWS nothing.
//!
//! Two detail types are read, in the shapes AWS documents (docs/eventbridge.md#the-events):
//! `CloudFormation StackSet Operation Status Change` (`detail.stack-set-arn`, `detail.stack-set-operation-id`,
//! `detail.status-details.status`) and `CloudFormation StackSet StackInstance Status Change`
//! (`detail.stack-set-arn`, `detail.stack-id`, `detail.action`, `detail.status-details.status`,
//! `.status-reason`, `.detailed-status`). Anything else — not JSON, another source or detail type, a member
//! missing or of the wrong type, an ARN that is not a stack set's or a stack's — is an error naming the file,
//! the line and column of the offending value, and what was expected. Never a panic.

use std::collections::BTreeMap;

use serde_json::value::RawValue;

use crate::error::{Error, Location};
use crate::ids::{self, Arn};
use crate::vocabulary::status;

/// The `source` of every CloudFormation event.
pub const SOURCE: &str = "aws.cloudformation";
/// The detail type of a stack set operation's status change.
pub const OPERATION_DETAIL_TYPE: &str = "CloudFormation StackSet Operation Status Change";
/// The detail type of a stack instance's status change.
pub const INSTANCE_DETAIL_TYPE: &str = "CloudFormation StackSet StackInstance Status Change";

/// `StackSetOperationStatus` (the API model's enum; the event documents the same values).
pub const OPERATION_STATUSES: [&str; 6] = [
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "STOPPING",
    "STOPPED",
    "QUEUED",
];
/// The operation statuses that end a deployment that did not succeed: what is diagnosed.
pub const OPERATION_FAILED: [&str; 2] = ["FAILED", "STOPPED"];
/// `StackInstanceStatus`.
pub const INSTANCE_STATUSES: [&str; 3] = ["CURRENT", "OUTDATED", "INOPERABLE"];
/// `StackInstanceDetailedStatus`.
pub const INSTANCE_DETAILED_STATUSES: [&str; 8] = [
    "PENDING",
    "RUNNING",
    "SUCCEEDED",
    "FAILED",
    "CANCELLED",
    "INOPERABLE",
    "SKIPPED_SUSPENDED_ACCOUNT",
    "FAILED_IMPORT",
];

/// What the event is about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// A stack set operation changed status.
    Operation { operation_id: String },
    /// A stack instance changed status: the instance is the stack's account and Region.
    Instance {
        stack_id: String,
        account: String,
        region: String,
        /// `detail.action` (`CREATE`, `UPDATE`, `DELETE`, `DETECT_DRIFT`), when the event has it.
        action: Option<String>,
        detailed_status: Option<String>,
        status_reason: Option<String>,
    },
}

/// One StackSets status-change event, read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StackSetEvent {
    /// `detail.stack-set-arn`, as the event gave it.
    pub stack_set_arn: String,
    /// The stack set's name (from its ARN).
    pub stack_set: String,
    /// The stack set's Region: its administrator's, where its operations run (from its ARN).
    pub region: String,
    /// The stack set's account (from its ARN).
    pub account: String,
    pub partition: String,
    /// `detail.status-details.status`.
    pub status: String,
    pub subject: Subject,
    /// The event's own `id`, `region` and `time`, when present (kept to be quoted, never relied on).
    pub event_id: Option<String>,
    pub event_region: Option<String>,
    pub time: Option<String>,
}

/// Whether an event asks for a diagnosis.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// A failure: diagnose it. `note` says why when the status is one no documentation lists (diagnosed anyway:
    /// never a false all-clear).
    Diagnose { note: Option<String> },
    /// Not a failure: the sentence to print after "nothing to diagnose: ".
    Nothing(String),
}

impl StackSetEvent {
    /// Read one event from `bytes` (named `file` in errors: a path, or `<stdin>`).
    pub fn parse(file: &str, bytes: &[u8]) -> Result<StackSetEvent, Error> {
        let text = super::text::decode(file, bytes)?;
        Reader { file, text: &text }.event()
    }

    /// Whether this event is a failure to diagnose (docs/eventbridge.md#what-is-diagnosed).
    pub fn verdict(&self) -> Verdict {
        let known = |list: &[&str], s: &str| list.contains(&s);
        match &self.subject {
            Subject::Operation { operation_id } => {
                if OPERATION_FAILED.contains(&self.status.as_str()) {
                    Verdict::Diagnose { note: None }
                } else if known(&OPERATION_STATUSES, &self.status) {
                    let what = format!(
                        "operation {operation_id} of stack set {} is {}",
                        self.stack_set, self.status
                    );
                    Verdict::Nothing(match self.status.as_str() {
                        // Instances that failed within the failure tolerance send their own instance events.
                        "SUCCEEDED" => format!(
                            "{what}; an instance that failed within the failure tolerance sends its own StackInstance \
                             Status Change event, or run `stackset-doctor diagnose --stack-set {} --region {} \
                             --operation-id {operation_id}`",
                            self.stack_set, self.region
                        ),
                        _ => format!(
                            "{what}, not ended: its FAILED or STOPPED event will follow (or wait for it with \
                             `aws cloudformation describe-stack-set-operation`)"
                        ),
                    })
                } else {
                    Verdict::Diagnose {
                        note: Some(format!(
                            "operation status {:?} is none of the documented {}: diagnosed, in case it is a failure",
                            self.status,
                            OPERATION_STATUSES.join(", ")
                        )),
                    }
                }
            }
            Subject::Instance {
                account,
                region,
                detailed_status,
                ..
            } => {
                let detailed = detailed_status.as_deref();
                if status::instance_failed(detailed, &self.status) {
                    return Verdict::Diagnose { note: None };
                }
                let unknown = !known(&INSTANCE_STATUSES, &self.status)
                    || detailed.is_some_and(|d| !known(&INSTANCE_DETAILED_STATUSES, d));
                if unknown {
                    return Verdict::Diagnose {
                        note: Some(format!(
                            "instance status {:?}{} is not among the documented values: diagnosed, in case it is a \
                             failure",
                            self.status,
                            detailed.map(|d| format!("/{d:?}")).unwrap_or_default()
                        )),
                    };
                }
                Verdict::Nothing(format!(
                    "the stack instance of stack set {} in {account} {region} is {}{}, not a failure",
                    self.stack_set,
                    self.status,
                    detailed.map(|d| format!(" ({d})")).unwrap_or_default()
                ))
            }
        }
    }

    /// The operation the event names (operation events only).
    pub fn operation_id(&self) -> Option<&str> {
        match &self.subject {
            Subject::Operation { operation_id } => Some(operation_id),
            Subject::Instance { .. } => None,
        }
    }

    /// The instance the event names (instance events only): account and Region.
    pub fn instance(&self) -> Option<(&str, &str)> {
        match &self.subject {
            Subject::Instance {
                account, region, ..
            } => Some((account, region)),
            Subject::Operation { .. } => None,
        }
    }

    /// One line: `operation e6e2… of stack set S (ap-northeast-1, 121212121212): FAILED`.
    pub fn describe(&self) -> String {
        match &self.subject {
            Subject::Operation { operation_id } => format!(
                "operation {operation_id} of stack set {} ({}, {}): {}",
                self.stack_set, self.region, self.account, self.status
            ),
            Subject::Instance {
                account,
                region,
                detailed_status,
                ..
            } => format!(
                "stack instance {account} {region} of stack set {} ({}, {}): {}{}",
                self.stack_set,
                self.region,
                self.account,
                self.status,
                detailed_status
                    .as_deref()
                    .map(|d| format!("/{d}"))
                    .unwrap_or_default()
            ),
        }
    }
}

/// What one event object must look like, for error messages.
const EXPECTED: &str = "one EventBridge event object from CloudFormation StackSets (source \"aws.cloudformation\", \
                        detail-type \"CloudFormation StackSet Operation Status Change\" or \"CloudFormation StackSet \
                        StackInstance Status Change\"), as EventBridge delivers it to a target";

type Members<'t> = BTreeMap<String, &'t RawValue>;

struct Reader<'t> {
    file: &'t str,
    text: &'t str,
}

impl<'t> Reader<'t> {
    /// The place of a value borrowed from the text.
    fn at(&self, raw: &RawValue) -> Location {
        let offset = (raw.get().as_ptr() as usize).wrapping_sub(self.text.as_ptr() as usize);
        if offset <= self.text.len() {
            Location::at(self.file, self.text.as_bytes(), offset)
        } else {
            Location::file(self.file)
        }
    }

    fn bad(&self, raw: &RawValue, reason: String) -> Error {
        Error::BadValue {
            location: self.at(raw),
            reason,
        }
    }

    fn event(&self) -> Result<StackSetEvent, Error> {
        let raw: &'t RawValue = serde_json::from_str(self.text).map_err(|e| Error::Json {
            location: Location {
                file: self.file.to_owned(),
                line: Some(e.line()),
                column: Some(e.column()),
            },
            reason: {
                let e = e.to_string();
                let e = e
                    .rfind(" at line ")
                    .map_or(e.as_str(), |i| &e[..i])
                    .to_owned();
                format!("{e}; expected {EXPECTED}")
            },
        })?;
        let top = self.object(raw, "the event").map_err(|e| match e {
            Error::BadValue { location, .. } => Error::UnknownShape {
                location,
                reason: format!(
                    "{}; expected {EXPECTED} (give the event itself, not a list of events or a wrapper)",
                    what_json(raw)
                ),
            },
            e => e,
        })?;
        let source = self.string(&top, raw, "source", "")?;
        let detail_type = self.string(&top, raw, "detail-type", "")?;
        if source.1 != SOURCE {
            return Err(Error::UnknownShape {
                location: self.at(source.0),
                reason: format!("source is {:?}; expected {EXPECTED}", source.1),
            });
        }
        let operation = match detail_type.1.as_str() {
            OPERATION_DETAIL_TYPE => true,
            INSTANCE_DETAIL_TYPE => false,
            other => {
                return Err(Error::UnknownShape {
                    location: self.at(detail_type.0),
                    reason: format!(
                        "detail-type is {other:?}, a CloudFormation event this tool does not diagnose; expected {EXPECTED}"
                    ),
                })
            }
        };
        let detail_raw = self.member(&top, raw, "detail", "")?;
        let detail = self.object(detail_raw, "/detail")?;
        let arn = self.string(&detail, detail_raw, "stack-set-arn", "/detail")?;
        let (stack_set, parts) = self.stack_set_arn(arn.0, &arn.1)?;
        let sd_raw = self.member(&detail, detail_raw, "status-details", "/detail")?;
        let sd = self.object(sd_raw, "/detail/status-details")?;
        let status = self
            .string(&sd, sd_raw, "status", "/detail/status-details")?
            .1;
        let subject = if operation {
            let op = self.string(&detail, detail_raw, "stack-set-operation-id", "/detail")?;
            if op.1.is_empty() || !op.1.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
                return Err(self.bad(
                    op.0,
                    format!(
                        "/detail/stack-set-operation-id: {:?} is not an operation id (letters, digits and '-', such as \
                         a UUID)",
                        op.1
                    ),
                ));
            }
            Subject::Operation { operation_id: op.1 }
        } else {
            let sid = self.string(&detail, detail_raw, "stack-id", "/detail")?;
            let (account, region) = self.stack_arn(sid.0, &sid.1)?;
            Subject::Instance {
                stack_id: sid.1.clone(),
                account,
                region,
                action: self.optional(&detail, "action", "/detail")?,
                detailed_status: self.optional(&sd, "detailed-status", "/detail/status-details")?,
                status_reason: self.optional(&sd, "status-reason", "/detail/status-details")?,
            }
        };
        Ok(StackSetEvent {
            stack_set_arn: arn.1.clone(),
            stack_set,
            region: parts.0,
            account: parts.1,
            partition: parts.2,
            status,
            subject,
            event_id: self.optional(&top, "id", "")?,
            event_region: self.optional(&top, "region", "")?,
            time: self.optional(&top, "time", "")?,
        })
    }

    /// The members of an object, or an error naming the pointer.
    fn object(&self, raw: &'t RawValue, pointer: &str) -> Result<Members<'t>, Error> {
        serde_json::from_str::<Members<'t>>(raw.get()).map_err(|_| {
            self.bad(
                raw,
                format!("{pointer}: {}, expected an object", what_json(raw)),
            )
        })
    }

    fn member(
        &self,
        m: &Members<'t>,
        parent: &'t RawValue,
        name: &str,
        pointer: &str,
    ) -> Result<&'t RawValue, Error> {
        m.get(name).copied().ok_or_else(|| Error::BadValue {
            location: self.at(parent),
            reason: format!(
                "{}: no {name:?} member; expected {EXPECTED}, whose {} has it (docs/eventbridge.md)",
                if pointer.is_empty() { "/" } else { pointer },
                if pointer.is_empty() { "top level".to_owned() } else { pointer.to_owned() }
            ),
        })
    }

    /// A member that must be a string.
    fn string(
        &self,
        m: &Members<'t>,
        parent: &'t RawValue,
        name: &str,
        pointer: &str,
    ) -> Result<(&'t RawValue, String), Error> {
        let raw = self.member(m, parent, name, pointer)?;
        let s = serde_json::from_str::<String>(raw.get()).map_err(|_| {
            self.bad(
                raw,
                format!("{pointer}/{name}: {}, expected a string", what_json(raw)),
            )
        })?;
        Ok((raw, s))
    }

    /// A member that may be missing or null, else a string.
    fn optional(
        &self,
        m: &Members<'t>,
        name: &str,
        pointer: &str,
    ) -> Result<Option<String>, Error> {
        let Some(raw) = m.get(name).copied() else {
            return Ok(None);
        };
        serde_json::from_str::<Option<String>>(raw.get()).map_err(|_| {
            self.bad(
                raw,
                format!("{pointer}/{name}: {}, expected a string", what_json(raw)),
            )
        })
    }

    /// `arn:PARTITION:cloudformation:REGION:ACCOUNT:stackset/NAME:UUID` → the name, and (Region, account,
    /// partition).
    fn stack_set_arn(
        &self,
        raw: &RawValue,
        arn: &str,
    ) -> Result<(String, (String, String, String)), Error> {
        let bad = |why: &str| {
            self.bad(
                raw,
                format!(
                    "/detail/stack-set-arn: {arn:?} {why}; expected arn:PARTITION:cloudformation:REGION:ACCOUNT:\
                     stackset/NAME:ID"
                ),
            )
        };
        let a = Arn::parse(arn).ok_or_else(|| bad("is not an ARN"))?;
        if a.service != "cloudformation" {
            return Err(bad("is not a CloudFormation ARN"));
        }
        let rest = a
            .resource
            .strip_prefix("stackset/")
            .ok_or_else(|| bad("is not a stack set's ARN"))?;
        // The name cannot hold ':' (letters, digits, '-'): the id follows the first colon.
        let name = rest.split(':').next().unwrap_or_default();
        if !valid_stack_set_name(name) {
            return Err(bad(
                "names no valid stack set (a letter, then letters, digits and '-', at most 128)",
            ));
        }
        if !valid_region(a.region) {
            return Err(bad("has no Region"));
        }
        if !ids::is_account_id(a.account) {
            return Err(bad("has no 12-digit account"));
        }
        Ok((
            name.to_owned(),
            (
                a.region.to_owned(),
                a.account.to_owned(),
                a.partition.to_owned(),
            ),
        ))
    }

    /// `arn:PARTITION:cloudformation:REGION:ACCOUNT:stack/NAME/ID` → (account, Region).
    fn stack_arn(&self, raw: &RawValue, arn: &str) -> Result<(String, String), Error> {
        let bad = |why: &str| {
            self.bad(
                raw,
                format!(
                    "/detail/stack-id: {arn:?} {why}; expected a stack's ARN, arn:PARTITION:cloudformation:REGION:\
                     ACCOUNT:stack/NAME/ID"
                ),
            )
        };
        let a = Arn::parse(arn).ok_or_else(|| bad("is not an ARN"))?;
        if a.service != "cloudformation" || ids::stack_name(arn).is_none() {
            return Err(bad("is not a stack's ARN"));
        }
        if !valid_region(a.region) {
            return Err(bad("has no Region"));
        }
        if !ids::is_account_id(a.account) {
            return Err(bad("has no 12-digit account"));
        }
        Ok((a.account.to_owned(), a.region.to_owned()))
    }
}

/// A stack set name as CloudFormation takes it: a letter, then letters, digits and hyphens; 128 at most.
fn valid_stack_set_name(n: &str) -> bool {
    n.len() <= 128
        && n.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
        && n.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// A Region's shape (`us-east-1`, `cn-north-1`, `us-gov-west-1`): lowercase letters, digits and '-'.
fn valid_region(r: &str) -> bool {
    !r.is_empty()
        && r.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
        && r.chars().next().is_some_and(|c| c.is_ascii_lowercase())
}

/// "an array", "a number", ... for error messages.
fn what_json(raw: &RawValue) -> &'static str {
    match raw.get().trim_start().as_bytes().first() {
        Some(b'{') => "an object",
        Some(b'[') => "an array",
        Some(b'"') => "a string",
        Some(b't' | b'f') => "a boolean",
        Some(b'n') => "null",
        _ => "a number",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(name: &str) -> StackSetEvent {
        let path = format!("samples/events/{name}");
        let bytes = std::fs::read(&path).unwrap();
        StackSetEvent::parse(&path, &bytes).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(text: &str) -> String {
        StackSetEvent::parse("e.json", text.as_bytes())
            .unwrap_err()
            .to_string()
    }

    const OP: &str = r#"{"version":"0","id":"x","detail-type":"CloudFormation StackSet Operation Status Change",
"source":"aws.cloudformation","account":"111122223333","time":"2021-09-22T05:46:24Z","region":"us-east-1",
"resources":[],"detail":{"stack-set-arn":"arn:aws:cloudformation:us-east-1:111122223333:stackset/test1234:e5f54eea-d041-44ad-94f8-b8268aca1e59",
"stack-set-operation-id":"ce69adce-2221-4483-8c4b-c51f284f25e8","status-details":{"status":"FAILED"}}}"#;

    #[test]
    fn failed_operation_sample() {
        let e = sample("operation-failed.json");
        assert_eq!(e.stack_set, "AWS-QuickSetup-SSM-DA-abcde");
        assert_eq!(e.region, "ap-northeast-1");
        assert_eq!(e.account, "121212121212");
        assert_eq!(e.partition, "aws");
        assert_eq!(
            e.operation_id(),
            Some("e6e2448c-5f70-45ca-a20d-f9e6f7d7720a")
        );
        assert_eq!(e.verdict(), Verdict::Diagnose { note: None });
    }

    #[test]
    fn stopped_operation_sample() {
        let e = sample("operation-stopped.json");
        assert_eq!(e.stack_set, "AWS-QuickSetup-SSM-TA-abcde");
        assert_eq!(e.status, "STOPPED");
        assert_eq!(e.verdict(), Verdict::Diagnose { note: None });
    }

    #[test]
    fn failed_instance_sample() {
        let e = sample("instance-failed.json");
        assert_eq!(e.stack_set, "AWS-QuickSetup-SSM-TA-abcde");
        assert_eq!(e.instance(), Some(("232323232323", "ap-northeast-1")));
        assert_eq!(e.operation_id(), None);
        let Subject::Instance {
            detailed_status,
            status_reason,
            action,
            ..
        } = &e.subject
        else {
            panic!("{e:?}")
        };
        assert_eq!(detailed_status.as_deref(), Some("FAILED"));
        assert_eq!(action.as_deref(), Some("CREATE"));
        assert!(status_reason
            .as_deref()
            .is_some_and(|r| r.contains("Invalid principal")));
        assert_eq!(e.verdict(), Verdict::Diagnose { note: None });
    }

    #[test]
    fn succeeded_operation_sample_is_nothing_to_diagnose() {
        let e = sample("operation-succeeded.json");
        assert_eq!(e.stack_set, "test1234");
        assert_eq!(e.region, "us-east-1");
        let Verdict::Nothing(why) = e.verdict() else {
            panic!("{:?}", e.verdict())
        };
        assert!(
            why.contains("SUCCEEDED") && why.contains("ce69adce-2221-4483-8c4b-c51f284f25e8"),
            "{why}"
        );
    }

    #[test]
    fn statuses_that_are_not_failures() {
        for s in ["RUNNING", "STOPPING", "QUEUED", "SUCCEEDED"] {
            let e = StackSetEvent::parse("e", OP.replace("FAILED", s).as_bytes()).unwrap();
            assert!(matches!(e.verdict(), Verdict::Nothing(_)), "{s}");
        }
        // Unknown statuses are diagnosed, with a note: never a false all-clear.
        let e = StackSetEvent::parse("e", OP.replace("FAILED", "EXPLODED").as_bytes()).unwrap();
        assert!(matches!(e.verdict(), Verdict::Diagnose { note: Some(_) }));
    }

    #[test]
    fn instance_in_another_region_than_the_event_and_stack_set() {
        let text = r#"{"source":"aws.cloudformation","detail-type":"CloudFormation StackSet StackInstance Status Change",
"region":"us-east-1","detail":{"stack-set-arn":"arn:aws-cn:cloudformation:cn-north-1:111122223333:stackset/s:u",
"stack-id":"arn:aws-cn:cloudformation:cn-northwest-1:444455556666:stack/StackSet-s-u/v",
"status-details":{"status":"CURRENT","detailed-status":"SUCCEEDED"}}}"#;
        let e = StackSetEvent::parse("e", text.as_bytes()).unwrap();
        assert_eq!(e.region, "cn-north-1");
        assert_eq!(e.partition, "aws-cn");
        assert_eq!(e.instance(), Some(("444455556666", "cn-northwest-1")));
        assert!(matches!(e.verdict(), Verdict::Nothing(_)));
        let failed = text
            .replace("CURRENT", "OUTDATED")
            .replace("SUCCEEDED", "FAILED");
        let e = StackSetEvent::parse("e", failed.as_bytes()).unwrap();
        assert_eq!(e.verdict(), Verdict::Diagnose { note: None });
        // INOPERABLE without a detailed status is a failure too.
        let inop = text
            .replace("CURRENT", "INOPERABLE")
            .replace(",\"detailed-status\":\"SUCCEEDED\"", "");
        let e = StackSetEvent::parse("e", inop.as_bytes()).unwrap();
        assert_eq!(e.verdict(), Verdict::Diagnose { note: None });
    }

    #[test]
    fn errors_name_the_file_position_and_what_was_expected() {
        // Not JSON.
        let e = err("{\"source\": ");
        assert!(
            e.starts_with("e.json:1:") && e.contains("malformed JSON"),
            "{e}"
        );
        assert!(e.contains("EventBridge event"), "{e}");
        // A list of events.
        let e = err(&format!("[{OP}]"));
        assert!(e.contains("an array") && e.contains("not a list"), "{e}");
        // Another source.
        let e = err(&OP.replace("\"aws.cloudformation\"", "\"aws.s3\""));
        assert!(
            e.starts_with("e.json:2:10") && e.contains("\"aws.s3\""),
            "{e}"
        );
        // Another CloudFormation detail type.
        let e = err(&OP.replace("StackSet Operation Status Change", "StackSet Status Change"));
        assert!(
            e.starts_with("e.json:1:39") && e.contains("does not diagnose"),
            "{e}"
        );
        // Missing members.
        let e = err(&OP.replace("\"stack-set-operation-id\"", "\"op\""));
        assert!(
            e.contains("/detail: no \"stack-set-operation-id\" member"),
            "{e}"
        );
        let e = err(&OP.replace("\"detail\":", "\"details\":"));
        assert!(e.contains("/: no \"detail\" member"), "{e}");
        let e = err(&OP.replace("\"status\":\"FAILED\"", "\"state\":\"FAILED\""));
        assert!(e.contains("/detail/status-details: no \"status\""), "{e}");
        // Wrong types.
        let e = err(&OP.replace("\"FAILED\"", "3"));
        assert!(
            e.contains("/detail/status-details/status: a number, expected a string"),
            "{e}"
        );
        let e = err(&OP.replace("{\"status\":\"FAILED\"}", "[]"));
        assert!(
            e.contains("/detail/status-details: an array, expected an object"),
            "{e}"
        );
        // Bad ARNs.
        for (from, to, says) in [
            (
                "arn:aws:cloudformation:us-east-1:111122223333:stackset/test1234",
                "nope",
                "is not an ARN",
            ),
            (
                ":stackset/test1234",
                ":stack/test1234",
                "is not a stack set's ARN",
            ),
            (
                "cloudformation:us-east-1",
                "s3:us-east-1",
                "not a CloudFormation ARN",
            ),
            ("us-east-1:111122223333", ":111122223333", "has no Region"),
            ("111122223333:stackset", "1111:stackset", "12-digit account"),
            (
                "stackset/test1234",
                "stackset/9x",
                "names no valid stack set",
            ),
        ] {
            let e = err(&OP.replacen(from, to, 1));
            assert!(
                e.contains(says) && e.starts_with("e.json:3:42"),
                "{from}: {e}"
            );
        }
        let e = err(&OP.replace("ce69adce-2221-4483-8c4b-c51f284f25e8", "a b"));
        assert!(e.contains("is not an operation id"), "{e}");
        let inst = OP
            .replace("Operation Status Change", "StackInstance Status Change")
            .replace("stack-set-operation-id", "stack-id");
        let e = err(&inst);
        assert!(
            e.contains("/detail/stack-id") && e.contains("is not an ARN"),
            "{e}"
        );
        // Empty input and bytes that are not text.
        assert!(err("").contains("malformed JSON"));
        let e = StackSetEvent::parse("g.bin", &[0xff, 0xfe, 0x00, 0xd8, 0x41]).unwrap_err();
        assert!(e.to_string().starts_with("g.bin"), "{e}");
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(512))]
        /// Any bytes give an event or an error, never a panic.
        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..200)) {
            let _ = StackSetEvent::parse("fuzz", &bytes);
        }

        /// Any cut or byte flip of a valid event gives an event or an error naming the file, never a panic.
        #[test]
        fn mangled_events_never_panic(cut in 0usize..700, flip in 0usize..700, b in proptest::prelude::any::<u8>()) {
            let mut bytes = OP.as_bytes().to_vec();
            if flip < bytes.len() { bytes[flip] = b; }
            bytes.truncate(cut);
            match StackSetEvent::parse("m.json", &bytes) {
                Ok(e) => { let _ = e.verdict(); }
                Err(e) => proptest::prop_assert!(e.to_string().starts_with("m.json"), "{}", e),
            }
        }
    }
}
