//! What AWS says about an error in machine-readable form, wherever it appears in a message: the error codes it
//! names and the HTTP statuses it carries (docs/classification.md#codes).
//!
//! Takes an unwrapped message; gives its codes innermost first, so the service's `TooManyBuckets` inside a
//! handler's message comes before the SDK's `ValidationError` around it. Where codes are found:
//! - the service tail's `Error Code: X` (either tail form) and `Status Code: N`, Go's `StatusCode: N`;
//! - the SDK's `An error occurred (X) when calling`, the older `A client error (X) occurred`, Go's `api error X:`,
//!   Ruby's `Errors::X`;
//! - exception names anywhere (`AccessDeniedException: ...`, `[ValidationError]`, `InternalError`);
//! - a bare code before a colon (`AccessDenied: User ...`, `InvalidChangeSetStatus: ...`), a CamelCase word ending
//!   the way codes end (`AccessDenied.`, `LimitExceeded`, `InternalFailure`) and EC2's dotted codes
//!   (`InvalidSubnetID.NotFound`).
//!
//! A found code means nothing by itself: only the catalog's code layers give it a category.

use std::sync::LazyLock;

use regex::Regex;

use super::unwrap::Unwrapped;

/// The codes of one message.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Codes<'a> {
    /// Error codes with the depth of the innermost layer holding them, innermost first, each once.
    pub errors: Vec<(usize, &'a str)>,
    /// HTTP statuses, the same way.
    pub statuses: Vec<(usize, &'a str)>,
}

static CODE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(concat!(
        r"An? (?:client )?error (?:occurred|ocurred) \((?P<sdk>[A-Za-z][A-Za-z0-9.]*)\)",
        r"|Error Code:\s*(?P<tail>[A-Za-z][A-Za-z0-9.]*)",
        r"|\bapi error (?P<go>[A-Za-z][A-Za-z0-9.]*):",
        r"|Errors::(?P<ruby>[A-Z][A-Za-z0-9]*)",
        r"|\b(?P<named>[A-Z][A-Za-z0-9]*(?:Exception|Error|Fault))\b",
        r"|\b(?P<dotted>[A-Z][A-Za-z0-9]+\.[A-Z][a-z][A-Za-z0-9]*)\b",
        r"|\b(?P<suffixed>(?:[A-Z][a-z0-9]+)+(?:Denied|NotFound|Exceeded|AlreadyExists|Unauthorized|Throttled|InUse|Conflict|Failure|Unavailable))\b",
        r"|(?:^|[\s\[(:])(?P<bare>[A-Z][a-z0-9]+(?:[A-Z][A-Za-z0-9]*)+):\s",
        r"|\b(?i:status ?code)\s*[:=]?\s*(?P<status>[1-5][0-9]{2})\b",
    ))
    .expect("the code scanner compiles")
});

/// Words in code positions that are keys of AWS's own envelopes, not codes.
const ENVELOPE_KEYS: &[&str] = &[
    "HandlerErrorCode",
    "RequestToken",
    "RequestId",
    "StatusCode",
    "ErrorCode",
    "ResourceLogicalId",
    "ResourceType",
    "ResourceStatusReason",
    "ExtendedRequestId",
];

/// The codes in a message, innermost layer first.
pub fn codes<'a>(u: &Unwrapped<'a>) -> Codes<'a> {
    let raw = u.layers.first().copied().unwrap_or("");
    let mut out = Codes::default();
    if !raw.bytes().any(|b| b.is_ascii_uppercase()) {
        return out;
    }
    // Layers are slices of the raw text: a code belongs to the innermost layer whose span holds it.
    let base = raw.as_ptr() as usize;
    let spans: Vec<(usize, usize)> = u
        .layers
        .iter()
        .map(|l| {
            let start = (l.as_ptr() as usize).saturating_sub(base);
            (start, start + l.len())
        })
        .collect();
    let depth = |start: usize, end: usize| {
        spans
            .iter()
            .rposition(|&(s, e)| s <= start && end <= e)
            .unwrap_or(0)
    };
    for c in CODE.captures_iter(raw) {
        let status = c.name("status");
        let Some((m, is_status)) = status
            .map(|m| (m, true))
            .or_else(|| c.iter().skip(1).flatten().next().map(|m| (m, false)))
        else {
            continue;
        };
        let code = m.as_str();
        if ENVELOPE_KEYS.contains(&code) || raw[..m.start()].ends_with("HandlerErrorCode: ") {
            continue;
        }
        let list = if is_status {
            &mut out.statuses
        } else {
            &mut out.errors
        };
        let d = depth(m.start(), m.end());
        match list.iter_mut().find(|(_, c)| *c == code) {
            Some(seen) => seen.0 = seen.0.max(d),
            None => list.push((d, code)),
        }
    }
    // Innermost first; in a layer, in the order they appear.
    out.errors.sort_by_key(|&(d, _)| std::cmp::Reverse(d));
    out.statuses.sort_by_key(|&(d, _)| std::cmp::Reverse(d));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::classify::unwrap::unwrap;

    fn errors(raw: &str) -> Vec<String> {
        codes(&unwrap(raw))
            .errors
            .into_iter()
            .map(|(_, c)| c.to_owned())
            .collect()
    }

    #[test]
    fn codes_come_innermost_first() {
        let raw = r#"An error occurred (ValidationError) when calling the CreateStack operation: Resource handler returned message: "You have attempted to create more buckets than allowed (Service: Amazon S3; Status Code: 400; Error Code: TooManyBuckets; Request ID: X; Proxy: null)" (RequestToken: t, HandlerErrorCode: GeneralServiceException)"#;
        let u = unwrap(raw);
        let c = codes(&u);
        assert_eq!(errors(raw), ["TooManyBuckets", "ValidationError"]);
        assert_eq!(c.statuses.iter().map(|s| s.1).collect::<Vec<_>>(), ["400"]);
    }

    #[test]
    fn every_place_a_code_is_written() {
        assert_eq!(
            errors("Aws::CloudFormation::Errors::InsufficientCapabilitiesException Requires capabilities : [CAPABILITY_IAM]"),
            ["InsufficientCapabilitiesException"]
        );
        assert_eq!(
            errors("A client error (InsufficientCapabilitiesException) occurred: Requires capabilities"),
            ["InsufficientCapabilitiesException"]
        );
        assert_eq!(
            errors("operation error S3: CreateBucket, https response error StatusCode: 409, api error BucketAlreadyOwnedByYou: Your previous request succeeded"),
            ["BucketAlreadyOwnedByYou"]
        );
        assert_eq!(
            errors("AccessDenied: User: arn:aws:iam::1:user/u is not authorized"),
            ["AccessDenied"]
        );
        assert_eq!(
            errors("The subnet ID 'subnet-1' does not exist (Service: AmazonEC2; Status Code: 400; Error Code: InvalidSubnetID.NotFound)"),
            ["InvalidSubnetID.NotFound"]
        );
        assert_eq!(
            errors("Error [ValidationError]: Template format error"),
            ["ValidationError"]
        );
        assert_eq!(
            errors("Failed to read parameter. AccessDenied. User is not permitted"),
            ["AccessDenied"]
        );
        assert!(errors("The request was Denied by the Conflict board").is_empty());
    }

    #[test]
    fn envelope_keys_and_prose_are_not_codes() {
        let raw = r#"Resource handler returned message: "Bucket busy" (RequestToken: abc, HandlerErrorCode: GeneralServiceException)"#;
        assert!(errors(raw).is_empty(), "{:?}", errors(raw));
        assert!(errors("Resource creation cancelled").is_empty());
        assert!(errors("Stack: my-stack is in ROLLBACK_COMPLETE state").is_empty());
        assert!(errors("").is_empty());
    }
}
