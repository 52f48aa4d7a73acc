//! What `scp check` and `scp fix` evaluate, from their inputs: the policies (already read and decoded, root
//! first) and the request as a person gives it. Everything wrong with either is bad input here, not a verdict.

use super::{load_path, principal_arn_from_message, OrgPath, PrincipalKind, Request, ScpError};
use crate::ids::is_account_id;

/// The request as given on the command line.
#[derive(Debug, Clone, Default)]
pub struct RequestSpec {
    /// The principal as the error message shows it (STS session ARN) or as an IAM ARN.
    pub principal: String,
    pub action: String,
    pub resource: Option<String>,
    /// The account the OU path leads to (default: the principal's).
    pub account: Option<String>,
    pub management_account: Option<String>,
    /// `KEY=VALUE` condition context values; a key repeated is multi-valued.
    pub context: Vec<String>,
}

fn invalid(label: &str, reason: String) -> ScpError {
    ScpError::Invalid {
        label: label.to_owned(),
        reason,
    }
}

/// The OU path from `files` (label, text: policy documents, describe-policy output, or one levels file) and the
/// request, checked.
pub fn request(
    spec: &RequestSpec,
    files: &[(String, String)],
) -> Result<(OrgPath, Request), ScpError> {
    let mut path = load_path(files)?;
    for (flag, v) in [
        ("--account", &spec.account),
        ("--management-account", &spec.management_account),
    ] {
        if let Some(v) = v {
            if !is_account_id(v.trim()) {
                return Err(invalid(flag, format!("{v:?} is not a 12-digit account id")));
            }
        }
    }
    if let Some(m) = &spec.management_account {
        path.management_account = Some(m.trim().to_owned());
    }
    if spec
        .action
        .split_once(':')
        .is_none_or(|(s, n)| s.is_empty() || n.is_empty())
    {
        return Err(invalid(
            "--action",
            format!("{:?} is not service:Action", spec.action),
        ));
    }
    let view = principal_arn_from_message(&spec.principal);
    if view.kind == PrincipalKind::Unknown || !is_account_id(&view.account) {
        return Err(invalid(
            "--principal",
            format!(
                "{:?} is not a principal ARN: give the IAM ARN (arn:aws:iam::111122223333:role/Name) or the STS \
                 session ARN from the error message (arn:aws:sts::111122223333:assumed-role/Name/session)",
                spec.principal
            ),
        ));
    }
    let mut req = Request::new(&spec.principal, &spec.action);
    if let Some(r) = &spec.resource {
        req = req.with_resource(r);
    }
    if let Some(acct) = &spec.account {
        req = req.with_account(acct);
    }
    for kv in &spec.context {
        let Some((k, v)) = kv.split_once('=').filter(|(k, _)| !k.trim().is_empty()) else {
            return Err(invalid("--context", format!("{kv:?} is not KEY=VALUE")));
        };
        if k.trim().eq_ignore_ascii_case("aws:PrincipalArn") && v != req.principal_arn {
            return Err(invalid(
                "--context",
                format!(
                    "aws:PrincipalArn comes from --principal ({}); {v:?} contradicts it",
                    req.principal_arn
                ),
            ));
        }
        req = req.with_context(k.trim(), v);
    }
    Ok((path, req))
}
