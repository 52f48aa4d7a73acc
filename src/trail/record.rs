//! A CloudTrail record (the JSON of one event: `LookupEvents`' `CloudTrailEvent` string, or one entry of a trail's
//! log file) read into a [`TrailEvent`], and whether it is one of CloudFormation's failed calls. Pure: the live
//! collector and the offline reader of `aws cloudtrail lookup-events` output use the same functions.

use chrono::{DateTime, Utc};
use serde_json::Value;

use crate::evidence::TrailEvent;

/// The service name CloudTrail writes in `userIdentity.invokedBy` and `sourceIPAddress` for calls CloudFormation
/// makes itself.
pub const CLOUDFORMATION: &str = "cloudformation.amazonaws.com";
/// The execution role of self-managed stack sets, when the stack set names none.
pub const STACKSETS_EXECUTION_ROLE: &str = "AWSCloudFormationStackSetExecutionRole";
/// The prefix of the execution roles StackSets creates for service-managed stack sets (`stacksets-exec-<hash>`).
pub const STACKSETS_EXEC_PREFIX: &str = "stacksets-exec-";

/// Values of `requestParameters` kept as what the call was about, at most.
const REQUEST_VALUES: usize = 32;
/// A longer string value of `requestParameters` is a document (a policy, a template), not a name.
const NAME_MAX: usize = 512;

impl TrailEvent {
    /// The event a CloudTrail record describes; None when it lacks what identifies a call (`eventID`,
    /// `eventSource`, `eventName`). Everything else is optional, as CloudTrail omits fields freely.
    pub fn from_record(record: &Value) -> Option<TrailEvent> {
        let at = |path: &[&str]| path.iter().try_fold(record, |v, k| v.get(k)).and_then(text);
        let identity = |k: &str| at(&["userIdentity", k]);
        let mut resources: Vec<String> = Vec::new();
        let mut push = |v: String| {
            if !resources.contains(&v) {
                resources.push(v);
            }
        };
        for r in record
            .get("resources")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
        {
            for k in ["ARN", "arn", "resourceName"] {
                if let Some(v) = r.get(k).and_then(text) {
                    push(v);
                }
            }
        }
        let mut names = Vec::new();
        if let Some(p) = record.get("requestParameters") {
            request_values(p, &mut names);
        }
        for v in names {
            push(v);
        }
        Some(TrailEvent {
            event_id: at(&["eventID"])?,
            event_time: at(&["eventTime"]).and_then(|t| t.parse::<DateTime<Utc>>().ok()),
            event_source: at(&["eventSource"])?,
            event_name: at(&["eventName"])?,
            account: at(&["recipientAccountId"]).or_else(|| identity("accountId")),
            region: at(&["awsRegion"]),
            error_code: at(&["errorCode"]),
            error_message: at(&["errorMessage"]),
            principal_arn: identity("arn"),
            session_issuer_arn: at(&["userIdentity", "sessionContext", "sessionIssuer", "arn"]),
            invoked_by: identity("invokedBy"),
            source_ip: at(&["sourceIPAddress"]),
            resources,
            operation_id: at(&["responseElements", "operationId"]),
            source: None,
        })
    }

    /// Whether CloudFormation made this call: `invokedBy` or `sourceIPAddress` is CloudFormation, or the caller is
    /// a StackSets execution role (`stacksets-exec-*`, `AWSCloudFormationStackSetExecutionRole`, or one of
    /// `execution_roles`, the stack sets' `ExecutionRoleName`s).
    pub fn made_by_cloudformation<S: AsRef<str>>(&self, execution_roles: &[S]) -> bool {
        if self.invoked_by.as_deref() == Some(CLOUDFORMATION)
            || self.source_ip.as_deref() == Some(CLOUDFORMATION)
        {
            return true;
        }
        self.role_name().is_some_and(|role| {
            role.starts_with(STACKSETS_EXEC_PREFIX)
                || role == STACKSETS_EXECUTION_ROLE
                || execution_roles.iter().any(|r| r.as_ref() == role)
        })
    }

    /// A failed call CloudFormation made: what a search of a failure's window keeps.
    pub fn is_cloudformation_failure<S: AsRef<str>>(&self, execution_roles: &[S]) -> bool {
        self.error_code.is_some() && self.made_by_cloudformation(execution_roles)
    }

    /// The role behind the call: the session issuer's name, else the role in an assumed-role session ARN.
    fn role_name(&self) -> Option<&str> {
        if let Some(role) = self
            .session_issuer_arn
            .as_deref()
            .and_then(|a| a.split_once(":role/"))
            .map(|(_, path)| path.rsplit('/').next().unwrap_or(path))
        {
            return Some(role);
        }
        let (_, rest) = self
            .principal_arn
            .as_deref()?
            .split_once(":assumed-role/")?;
        rest.split('/').next()
    }
}

/// A non-empty string value.
fn text(v: &Value) -> Option<String> {
    v.as_str().filter(|s| !s.is_empty()).map(str::to_owned)
}

/// The short string values of `requestParameters`, depth first: bucket, role and function names, ARNs.
fn request_values(v: &Value, out: &mut Vec<String>) {
    if out.len() >= REQUEST_VALUES {
        return;
    }
    match v {
        Value::String(s) => {
            let looks_like_document = s.starts_with('{') || s.starts_with("%7B");
            if !s.is_empty() && s.len() <= NAME_MAX && !looks_like_document && !out.contains(s) {
                out.push(s.clone());
            }
        }
        Value::Array(a) => a.iter().for_each(|x| request_values(x, out)),
        // S3 records its endpoint and XML namespace among the parameters: neither names a resource.
        Value::Object(o) => o
            .iter()
            .filter(|(k, _)| !matches!(k.as_str(), "Host" | "xmlns"))
            .for_each(|(_, x)| request_values(x, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn scp_deny() -> Value {
        json!({
            "eventVersion": "1.09",
            "userIdentity": {
                "type": "AssumedRole",
                "principalId": "AROAEXAMPLE:efgh5678",
                "arn": "arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678",
                "accountId": "121212121212",
                "sessionContext": {"sessionIssuer": {
                    "type": "Role",
                    "arn": "arn:aws:iam::121212121212:role/stacksets-exec-1234abcd",
                    "userName": "stacksets-exec-1234abcd"
                }},
                "invokedBy": "cloudformation.amazonaws.com"
            },
            "eventTime": "2025-03-10T05:11:08Z",
            "eventSource": "s3.amazonaws.com",
            "eventName": "PutBucketPublicAccessBlock",
            "awsRegion": "ap-northeast-1",
            "sourceIPAddress": "cloudformation.amazonaws.com",
            "errorCode": "AccessDenied",
            "errorMessage": "... with an explicit deny in a service control policy",
            "requestParameters": {
                "bucketName": "do-not-delete-ssm-diagnosis",
                "publicAccessBlock": "",
                "Host": "do-not-delete-ssm-diagnosis.s3.ap-northeast-1.amazonaws.com",
                "PublicAccessBlockConfiguration": {"xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "BlockPublicAcls": true},
                "policy": "{\"Version\":\"2012-10-17\"}"
            },
            "eventID": "4c3b2a19-0000-4000-8000-000000000001",
            "readOnly": false,
            "resources": [{"accountId": "121212121212", "type": "AWS::S3::Bucket",
                           "ARN": "arn:aws:s3:::do-not-delete-ssm-diagnosis"}],
            "recipientAccountId": "121212121212"
        })
    }

    #[test]
    fn a_record_reads_into_an_event() {
        let e = TrailEvent::from_record(&scp_deny()).expect("an event");
        assert_eq!(e.event_id, "4c3b2a19-0000-4000-8000-000000000001");
        assert_eq!(e.event_name, "PutBucketPublicAccessBlock");
        assert_eq!(e.event_source, "s3.amazonaws.com");
        assert_eq!(
            e.event_time,
            "2025-03-10T05:11:08Z".parse::<DateTime<Utc>>().ok()
        );
        assert_eq!(e.account.as_deref(), Some("121212121212"));
        assert_eq!(e.region.as_deref(), Some("ap-northeast-1"));
        assert_eq!(e.error_code.as_deref(), Some("AccessDenied"));
        assert!(e
            .error_message
            .as_deref()
            .is_some_and(|m| m.contains("service control policy")));
        assert_eq!(
            e.session_issuer_arn.as_deref(),
            Some("arn:aws:iam::121212121212:role/stacksets-exec-1234abcd")
        );
        assert_eq!(e.invoked_by.as_deref(), Some(CLOUDFORMATION));
        // The resource's ARN, then the names in the request; no empty value, no boolean, no policy document, no
        // endpoint or namespace.
        assert_eq!(
            e.resources,
            [
                "arn:aws:s3:::do-not-delete-ssm-diagnosis",
                "do-not-delete-ssm-diagnosis"
            ]
        );
        assert!(e.is_cloudformation_failure::<&str>(&[]));
    }

    #[test]
    fn a_record_without_its_identity_is_none() {
        for key in ["eventID", "eventSource", "eventName"] {
            let mut r = scp_deny();
            r.as_object_mut().map(|o| o.remove(key));
            assert!(TrailEvent::from_record(&r).is_none(), "{key}");
        }
        assert!(TrailEvent::from_record(&json!("not a record")).is_none());
        // An unreadable time is no time, not no event.
        let mut r = scp_deny();
        r["eventTime"] = json!("yesterday");
        let e = TrailEvent::from_record(&r).expect("event");
        assert_eq!(e.event_time, None);
        // Without recipientAccountId, the caller's account.
        let mut r = scp_deny();
        r.as_object_mut().map(|o| o.remove("recipientAccountId"));
        r["userIdentity"]["accountId"] = json!("343434343434");
        assert_eq!(
            TrailEvent::from_record(&r)
                .and_then(|e| e.account)
                .as_deref(),
            Some("343434343434")
        );
    }

    #[test]
    fn only_failed_calls_made_for_cloudformation_are_kept() {
        let base = TrailEvent::from_record(&scp_deny()).expect("event");
        let by = |issuer: Option<&str>, principal: Option<&str>| TrailEvent {
            invoked_by: None,
            source_ip: Some("203.0.113.7".into()),
            session_issuer_arn: issuer.map(str::to_owned),
            principal_arn: principal.map(str::to_owned),
            ..base.clone()
        };
        // The execution roles, by the session's issuer or by the session ARN alone.
        assert!(by(
            Some("arn:aws:iam::1:role/AWSCloudFormationStackSetExecutionRole"),
            None
        )
        .is_cloudformation_failure::<&str>(&[]));
        assert!(by(
            None,
            Some("arn:aws:sts::1:assumed-role/stacksets-exec-9f/s")
        )
        .is_cloudformation_failure::<&str>(&[]));
        let custom = by(Some("arn:aws:iam::1:role/path/BaselineExec"), None);
        assert!(!custom.is_cloudformation_failure::<&str>(&[]));
        assert!(custom.is_cloudformation_failure(&["BaselineExec"]));
        // Someone else's call, and a call that succeeded.
        assert!(!by(Some("arn:aws:iam::1:role/ci-deployer"), None)
            .is_cloudformation_failure::<&str>(&[]));
        let ok = TrailEvent {
            error_code: None,
            ..base.clone()
        };
        assert!(
            ok.made_by_cloudformation::<&str>(&[]) && !ok.is_cloudformation_failure::<&str>(&[])
        );
        // CloudFormation's own calls, by source address alone.
        let mut own = by(None, Some("arn:aws:sts::1:assumed-role/cfn-service-role/x"));
        assert!(!own.is_cloudformation_failure::<&str>(&[]));
        own.source_ip = Some(CLOUDFORMATION.into());
        assert!(own.is_cloudformation_failure::<&str>(&[]));
    }
}
