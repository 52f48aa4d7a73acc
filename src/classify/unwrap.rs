//! Unwrap the envelopes AWS puts around an error message, so rules see the innermost text
//! (docs/classification.md#unwrapping).
//!
//! Takes a raw status reason; gives its layers (outermost first, each a slice of the original, no copies)
//! and what the envelopes carried as fields. Envelopes handled, in any nesting:
//! - StackSet composite `ResourceLogicalId:X, ResourceType:Y, ResourceStatusReason:Z`
//! - registry handlers' `Resource handler returned message: "M" (RequestToken: ..., HandlerErrorCode: C)`
//! - custom resources' `Received response status [FAILED] from custom resource. Message returned: M (RequestId: ...)`
//! - the service tail `(Service: S3, Status Code: 403, Request ID: ..., Extended Request ID: ...)` and its older
//!   `;`-separated form with `Error Code:` and `Proxy: null`
//! - `(SDK Attempt Count: N)`
//! - the tagging wrapper `... Original Resource Provider Error Message: M` (UnauthorizedTaggingOperation)
//! - a stack set resource's `... status reason(s): [M]' with identifier '...' did not stabilize`
//! - the SDK's `An error occurred (Code) when calling the Op operation: M`
//! - Cloud Control's `<Type> Handler returned status FAILED: M`.
//! - a copied event row of a deploy tool or the console (`stack | 3/9 | 10:01:02 | CREATE_FAILED | AWS::SQS::Queue |
//!   Q (QId) M`, `CREATE_FAILED  AWS::SQS::Queue  Q  M`, `... | CREATE_FAILED | AWS::SQS::Queue | Q | M`), the
//!   Serverless Framework's `An error occurred: Q - M`, and a change-set waiter's `Waiter encountered a terminal
//!   failure state ... Reason: M`.

use std::sync::LazyLock;

use regex::Regex;
use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Envelope {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub logical_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub handler_error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_token: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub error_code: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub extended_request_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sdk_attempt_count: Option<String>,
    /// The message came back from a custom resource (Lambda-backed or SNS-backed).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub custom_resource: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwrapped<'a> {
    /// Outermost first; the last is the innermost message. Never empty.
    pub layers: Vec<&'a str>,
    pub envelope: Envelope,
}

impl<'a> Unwrapped<'a> {
    pub fn innermost(&self) -> &'a str {
        self.layers.last().copied().unwrap_or("")
    }
}

const COMPOSITE: &str = "ResourceLogicalId:";
const HANDLER: &str = "Resource handler returned message:";
const CUSTOM: &str = "Received response status [FAILED] from custom resource. Message returned:";
const TAGGING: &str = "Original Resource Provider Error Message:";
const STACKSET_REASONS: &str = "status reason(s): [";
const SDK_ERROR: &str = "An error occurred (";
const CLOUD_CONTROL: &str = "Handler returned status FAILED:";
const WAITER: &str = "Waiter encountered a terminal failure state";

/// An event row: a resource status, its type, its logical id (a deploy tool may add a path and the id in
/// parentheses), then the reason; the columns separated by `|` or by runs of spaces.
static EVENT_ROW: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"\b[A-Z]+(?:_[A-Z]+)+\s*(?:\|\s*|\s)\s*",
        r"(?P<type>(?:AWS|Custom|Alexa)::[A-Za-z0-9]+(?:::[A-Za-z0-9]+)*)\s*(?:\|\s*|\s+)",
        r"(?P<logical>[A-Za-z0-9][\w/.-]*(?: \([\w-]+\))?)(?:\s*\|\s*|\s+)",
        r"(?P<reason>\S.*)$",
    ))
    .expect("the event-row pattern compiles")
});

/// The Serverless Framework's `An error occurred: LogicalId - reason`, and `Type/LogicalId: STATUS – "reason"`.
static TOOL_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r#"^(?:An error occurred: (?P<logical>[A-Za-z0-9]+) - (?P<reason>\S.*)"#,
        r#"|(?P<type>(?:AWS|Custom)::[A-Za-z0-9:]+)/(?P<logical2>[A-Za-z0-9]+): [A-Z]+(?:_[A-Z]+)+ [–-] "?(?P<reason2>.*?)"?)$"#,
    ))
    .expect("the tool-line pattern compiles")
});

pub fn unwrap(raw: &str) -> Unwrapped<'_> {
    let mut env = Envelope::default();
    let markers = Markers {
        tagging: raw.contains(TAGGING),
        reasons: raw.contains(STACKSET_REASONS),
        cloud_control: raw.contains(CLOUD_CONTROL),
        waiter: raw.contains(WAITER),
        row: raw.contains("::") || raw.contains("An error occurred: "),
    };
    let mut layers = vec![raw];
    let mut cur = trim(raw);
    if cur != raw {
        layers.push(cur);
    }
    // Each pass peels at most one envelope; a bound guards against pathological input.
    for _ in 0..32 {
        let next = peel(cur, &mut env, markers);
        match next {
            Some(n) if n != cur => {
                cur = trim(n);
                if layers.last() != Some(&cur) {
                    layers.push(cur);
                }
            }
            _ => break,
        }
    }
    Unwrapped {
        layers,
        envelope: env,
    }
}

/// What CloudFormation appends to a reason when the rollback was asked for (`... Rollback requested by user.`).
const ROLLBACK_SUFFIX: &str = "Rollback requested by user";

/// Trim whitespace, CloudFormation's rollback suffix and one trailing period (AWS ends most reasons with one, not
/// all).
fn trim(s: &str) -> &str {
    let s = s.trim();
    let s = s.strip_suffix('.').map(str::trim_end).unwrap_or(s);
    match s.strip_suffix(ROLLBACK_SUFFIX) {
        Some(rest) if !rest.trim().is_empty() => {
            let rest = rest.trim_end();
            rest.strip_suffix('.').map(str::trim_end).unwrap_or(rest)
        }
        _ => s,
    }
}

fn set(slot: &mut Option<String>, value: &str) {
    if slot.is_none() && !value.is_empty() {
        *slot = Some(value.trim().to_owned());
    }
}

/// Which mid-text markers the raw message holds at all: layers are slices of it, so a marker absent from it is
/// absent from every layer, and the searches are skipped (most messages have none).
#[derive(Clone, Copy)]
struct Markers {
    tagging: bool,
    reasons: bool,
    cloud_control: bool,
    waiter: bool,
    /// A resource type, or the Serverless Framework's prefix: the text may be a copied event row or tool line.
    row: bool,
}

fn peel<'a>(s: &'a str, env: &mut Envelope, m: Markers) -> Option<&'a str> {
    if let Some(rest) = s.strip_prefix(COMPOSITE) {
        return Some(peel_composite(rest, env));
    }
    if let Some(rest) = s.strip_prefix(HANDLER) {
        return Some(peel_handler(rest.trim_start(), env));
    }
    if let Some(rest) = s.strip_prefix(CUSTOM) {
        env.custom_resource = true;
        return Some(rest.trim_start());
    }
    if let Some(i) = m.tagging.then(|| s.find(TAGGING)).flatten() {
        return Some(s[i + TAGGING.len()..].trim_start());
    }
    if let Some(i) = m.reasons.then(|| s.find(STACKSET_REASONS)).flatten() {
        // `AWS::CloudFormation::StackSet` resources carry the instances' reasons in brackets.
        // A copy cut short has no closing bracket: the reasons run to the end.
        let inner = &s[i + STACKSET_REASONS.len()..];
        return Some(inner.rfind(']').map_or(inner, |end| &inner[..end]));
    }
    if let Some(rest) = s.strip_prefix(SDK_ERROR) {
        if let Some((code, rest)) = rest.split_once(") when calling the ") {
            if let Some((_, msg)) = rest.split_once(" operation:") {
                set(&mut env.error_code, code);
                return Some(msg.trim_start());
            }
        }
    }
    if let Some(i) = m.cloud_control.then(|| s.find(CLOUD_CONTROL)).flatten() {
        if i < 120 {
            return Some(s[i + CLOUD_CONTROL.len()..].trim_start());
        }
    }
    if let Some(i) = m.waiter.then(|| s.find(WAITER)).flatten() {
        if let Some(j) = s[i..].find("Reason: ") {
            return Some(s[i + j + "Reason: ".len()..].trim_start());
        }
    }
    if m.row {
        if let Some(reason) = peel_row(s, env) {
            return Some(reason);
        }
    }
    peel_tail(s, env)
}

/// A copied event row or a deploy tool's line: the reason, with the type and logical id it names.
fn peel_row<'a>(s: &'a str, env: &mut Envelope) -> Option<&'a str> {
    let c = EVENT_ROW.captures(s).or_else(|| TOOL_LINE.captures(s))?;
    let reason = c.name("reason").or_else(|| c.name("reason2"))?;
    if let Some(t) = c.name("type") {
        set(&mut env.resource_type, t.as_str());
    }
    if let Some(l) = c.name("logical").or_else(|| c.name("logical2")) {
        // `Path/To/Resource (LogicalId)`: the id is the one in parentheses.
        let l = l.as_str();
        let id = l
            .rsplit_once(" (")
            .map(|(_, id)| id.trim_end_matches(')'))
            .unwrap_or(l);
        set(&mut env.logical_id, id);
    }
    Some(reason.as_str())
}

fn peel_composite<'a>(rest: &'a str, env: &mut Envelope) -> &'a str {
    // `X, ResourceType:Y, ResourceStatusReason:Z`; logical ids and types never contain ", ".
    let Some((logical, rest2)) = rest.split_once(", ResourceType:") else {
        return rest;
    };
    let Some((rtype, reason)) = rest2.split_once(", ResourceStatusReason:") else {
        return rest;
    };
    set(&mut env.logical_id, logical);
    set(&mut env.resource_type, rtype);
    reason
}

fn peel_handler<'a>(rest: &'a str, env: &mut Envelope) -> &'a str {
    let Some(body) = rest.strip_prefix('"') else {
        return rest;
    };
    let body_trim = body.trim_end().trim_end_matches('.');
    // The trailer is the last `" (RequestToken: ...)` or `" (HandlerErrorCode: ...)`.
    for marker in ["\" (RequestToken:", "\" (HandlerErrorCode:"] {
        if let Some(i) = body_trim.rfind(marker) {
            // A trailer cut short (copied or truncated) still ends the message.
            let trailer = &body_trim[i + 3..];
            parse_pairs(trailer.strip_suffix(')').unwrap_or(trailer), env);
            return &body[..i];
        }
    }
    // No trailer: the message is quoted to the end.
    body_trim.strip_suffix('"').unwrap_or(body_trim)
}

/// Remove one trailing parenthesised group that is a known tail, recording its fields. A service tail cut
/// short (`... (Service: S3, Status Code: 403, Ext...`, as StackSet reasons and copied reports have it) goes too.
fn peel_tail<'a>(s: &'a str, env: &mut Envelope) -> Option<&'a str> {
    if !s.ends_with(')') {
        let open = s.rfind(" (Service: ")?;
        let tail = &s[open + 2..];
        if tail.contains(')') {
            return None;
        }
        parse_pairs(tail.trim_end_matches(['.', '"']), env);
        return Some(&s[..open]);
    }
    let open = matching_open(s)?;
    let inner = &s[open + 1..s.len() - 1];
    let key = inner.split([':', ';', ',']).next().unwrap_or("").trim();
    match key {
        "Service" | "SDK Attempt Count" | "RequestToken" | "HandlerErrorCode" | "RequestId"
        | "Request ID" => {
            parse_pairs(inner, env);
            Some(&s[..open])
        }
        _ => None,
    }
}

/// Index of the `(` that the final `)` closes.
fn matching_open(s: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in s.char_indices().rev() {
        match c {
            ')' => depth += 1,
            '(' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

/// `Service: S3, Status Code: 403, Request ID: X` or `Service: AmazonS3; Status Code: 403; Error Code: AccessDenied`.
fn parse_pairs(s: &str, env: &mut Envelope) {
    let sep = if s.contains(';') { ';' } else { ',' };
    for part in s.split(sep) {
        let Some((k, v)) = part.split_once(':') else {
            continue;
        };
        let v = v.trim();
        match k.trim() {
            "Service" => set(&mut env.service, v),
            "Status Code" => set(&mut env.status_code, v),
            "Error Code" => set(&mut env.error_code, v),
            "Request ID" | "RequestId" => set(&mut env.request_id, v),
            "Extended Request ID" | "S3 Extended Request ID" => {
                set(&mut env.extended_request_id, v)
            }
            "SDK Attempt Count" => set(&mut env.sdk_attempt_count, v),
            "RequestToken" => set(&mut env.request_token, v),
            "HandlerErrorCode" => set(&mut env.handler_error_code, v),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DA: &str = r#"ResourceLogicalId:DiagnosisBucket, ResourceType:AWS::S3::Bucket, ResourceStatusReason:Resource handler returned message: "User: arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678 is not authorized to perform: s3:PutBucketPublicAccessBlock on resource: "arn:aws:s3:::do-not-delete-ssm-diagnosis-121212121212-ap-northeast-1-abab" with an explicit deny in a service control policy (Service: S3, Status Code: 403, Request ID: XXXXXXXX, Extended Request ID: IT/XXX1111/XXXXXXX)" (RequestToken: XXXXXXXXXXXXXXXXXXX, HandlerErrorCode: GeneralServiceException)."#;

    #[test]
    fn reference_case_unwraps_to_the_deny() {
        let u = unwrap(DA);
        assert_eq!(
            u.innermost(),
            r#"User: arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678 is not authorized to perform: s3:PutBucketPublicAccessBlock on resource: "arn:aws:s3:::do-not-delete-ssm-diagnosis-121212121212-ap-northeast-1-abab" with an explicit deny in a service control policy"#
        );
        let e = &u.envelope;
        assert_eq!(e.logical_id.as_deref(), Some("DiagnosisBucket"));
        assert_eq!(e.resource_type.as_deref(), Some("AWS::S3::Bucket"));
        assert_eq!(
            e.handler_error_code.as_deref(),
            Some("GeneralServiceException")
        );
        assert_eq!(e.service.as_deref(), Some("S3"));
        assert_eq!(e.status_code.as_deref(), Some("403"));
        assert_eq!(e.request_id.as_deref(), Some("XXXXXXXX"));
        assert_eq!(e.extended_request_id.as_deref(), Some("IT/XXX1111/XXXXXXX"));
        assert_eq!(u.layers.len(), 5, "{:#?}", u.layers);
    }

    #[test]
    fn invalid_principal_keeps_its_inner_quotes() {
        let raw = r#"Resource handler returned message: "Invalid principal in policy: "AWS":"arn:aws:iam::121212121212:role/ManagedInstance-CrossAccountManagementRole" (Service: Iam, Status Code: 400, Request ID: abc)" (RequestToken: t, HandlerErrorCode: InvalidRequest)"#;
        let u = unwrap(raw);
        assert_eq!(
            u.innermost(),
            r#"Invalid principal in policy: "AWS":"arn:aws:iam::121212121212:role/ManagedInstance-CrossAccountManagementRole""#
        );
        assert_eq!(
            u.envelope.handler_error_code.as_deref(),
            Some("InvalidRequest")
        );
        assert_eq!(u.envelope.service.as_deref(), Some("Iam"));
    }

    #[test]
    fn legacy_semicolon_tail_and_sdk_attempts() {
        let raw = "API: s3:PutPublicAccessBlock Access Denied (Service: Amazon S3; Status Code: 403; Error Code: AccessDenied; Request ID: R1; S3 Extended Request ID: E1; Proxy: null) (SDK Attempt Count: 1)";
        let u = unwrap(raw);
        assert_eq!(u.innermost(), "API: s3:PutPublicAccessBlock Access Denied");
        assert_eq!(u.envelope.error_code.as_deref(), Some("AccessDenied"));
        assert_eq!(u.envelope.sdk_attempt_count.as_deref(), Some("1"));
        assert_eq!(u.envelope.extended_request_id.as_deref(), Some("E1"));
    }

    #[test]
    fn custom_resource_message_is_unwrapped() {
        let raw = "Received response status [FAILED] from custom resource. Message returned: User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: ssm:GetParameter (RequestId: 9b1c)";
        let u = unwrap(raw);
        assert!(u.envelope.custom_resource);
        assert_eq!(
            u.innermost(),
            "User: arn:aws:sts::1:assumed-role/r/s is not authorized to perform: ssm:GetParameter"
        );
    }

    #[test]
    fn nested_handlers_unwrap_fully() {
        let raw = r#"Resource handler returned message: "Resource handler returned message: "boom" (RequestToken: a, HandlerErrorCode: InternalFailure)" (RequestToken: b, HandlerErrorCode: GeneralServiceException)"#;
        let u = unwrap(raw);
        assert_eq!(u.innermost(), "boom");
        // The outermost code is kept: it is the one CloudFormation acted on.
        assert_eq!(
            u.envelope.handler_error_code.as_deref(),
            Some("GeneralServiceException")
        );
    }

    #[test]
    fn stack_set_resource_reasons_sdk_errors_and_cut_trailers() {
        let raw = r#"Resource of type 'Stack set operation [abc] was unexpectedly stopped or failed. status reason(s): [ResourceLogicalId:LogsRole, ResourceType:AWS::IAM::Role, ResourceStatusReason:Resource handler returned message: "User: arn:aws:sts::1:assumed-role/x/y is not authorized to perform: logs:TagResource" (RequestToken: t, HandlerErrorCode: AccessDenied).]' with identifier 'abc' did not stabilize."#;
        let u = unwrap(raw);
        assert_eq!(
            u.innermost(),
            "User: arn:aws:sts::1:assumed-role/x/y is not authorized to perform: logs:TagResource"
        );
        assert_eq!(u.envelope.logical_id.as_deref(), Some("LogsRole"));

        let u = unwrap("An error occurred (AccessDeniedException) when calling the CreateKey operation: User is not allowed");
        assert_eq!(u.innermost(), "User is not allowed");
        assert_eq!(
            u.envelope.error_code.as_deref(),
            Some("AccessDeniedException")
        );

        let u = unwrap(
            r#"Resource handler returned message: "Bucket busy" (RequestToken: abc, HandlerErrorCode:"#,
        );
        assert_eq!(u.innermost(), "Bucket busy");

        let u = unwrap("AWS::Logs::LogGroup Handler returned status FAILED: Resource of type 'AWS::Logs::LogGroup' with identifier 'g' already exists.");
        assert_eq!(
            u.innermost(),
            "Resource of type 'AWS::Logs::LogGroup' with identifier 'g' already exists"
        );
    }

    #[test]
    fn copied_event_rows_and_tool_lines_unwrap_to_the_reason() {
        let u = unwrap("app |  3/9 | 10:01:02 AM | CREATE_FAILED        | AWS::SQS::Queue                | Jobs/Resource (JobsA1B2) Resource creation cancelled");
        assert_eq!(u.innermost(), "Resource creation cancelled");
        assert_eq!(u.envelope.logical_id.as_deref(), Some("JobsA1B2"));
        assert_eq!(u.envelope.resource_type.as_deref(), Some("AWS::SQS::Queue"));
        let u = unwrap("2024-01-02 10:01:02 UTC+0000 | DELETE_FAILED | AWS::S3::Bucket | Logs | The bucket you tried to delete is not empty");
        assert_eq!(u.innermost(), "The bucket you tried to delete is not empty");
        assert_eq!(u.envelope.logical_id.as_deref(), Some("Logs"));
        let u = unwrap("CREATE_FAILED                 AWS::IAM::Role                RunnerRole                    Resource handler returned message: \"boom\" (RequestToken: t, HandlerErrorCode: InvalidRequest)");
        assert_eq!(u.innermost(), "boom");
        assert_eq!(
            u.envelope.handler_error_code.as_deref(),
            Some("InvalidRequest")
        );
        let u = unwrap("An error occurred: QueuePolicy - Invalid parameter: Policy Error: null.");
        assert_eq!(u.innermost(), "Invalid parameter: Policy Error: null");
        assert_eq!(u.envelope.logical_id.as_deref(), Some("QueuePolicy"));
        let u = unwrap("Failed to create the changeset: Waiter ChangeSetCreateComplete failed: Waiter encountered a terminal failure state: For expression \"Status\" we matched expected path: \"FAILED\" Status: FAILED. Reason: Requires capabilities : [CAPABILITY_IAM]");
        assert_eq!(u.innermost(), "Requires capabilities : [CAPABILITY_IAM]");
        // Prose that merely names a type and a status is not a row.
        let u = unwrap("Stack my-stack is in UPDATE_ROLLBACK_FAILED state");
        assert_eq!(u.layers.len(), 1);
    }

    #[test]
    fn the_rollback_suffix_is_not_part_of_the_reason() {
        assert_eq!(
            unwrap("Internal Failure. Rollback requested by user.").innermost(),
            "Internal Failure"
        );
        assert_eq!(
            unwrap("Rollback requested by user.").innermost(),
            "Rollback requested by user"
        );
    }

    #[test]
    fn plain_messages_and_unknown_parentheses_stay() {
        assert_eq!(
            unwrap("Resource creation cancelled").layers,
            vec!["Resource creation cancelled"]
        );
        let u = unwrap("Bucket name is invalid (see the naming rules)");
        assert_eq!(
            u.innermost(),
            "Bucket name is invalid (see the naming rules)"
        );
        assert_eq!(unwrap("").layers, vec![""]);
        assert_eq!(unwrap(")(").innermost(), ")(");
    }
}
