//! The request an SCP/RCP is evaluated against, and the principal as `aws:PrincipalArn` sees it.

use std::collections::BTreeMap;

use serde::Serialize;

/// One request: who (as `aws:PrincipalArn`), what, on which resource, in which account, with which context.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Request {
    /// The IAM ARN `aws:PrincipalArn` carries (a role's ARN, never an STS session ARN).
    pub principal_arn: String,
    /// The STS session ARN the principal was seen as, when it came from one: the role path is then unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_arn: Option<String>,
    pub action: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub resource: Option<String>,
    /// The account whose OU path the policies belong to; defaults to the principal's account.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub account: Option<String>,
    /// Condition context keys (names compared ignoring case) to values; multi-valued keys allowed.
    pub context: BTreeMap<String, Vec<String>>,
    /// True when a key missing from `context` is unsettled (the request will have some value, or none, that the
    /// caller cannot tell, as for a deployment not yet made) rather than absent: a condition on it cannot be
    /// evaluated. `scp check` leaves it false (missing means absent); preflight sets it (docs/preflight.md#unsettled).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub unsettled_context: bool,
}

impl Request {
    /// A request from a principal as an access-denied message shows it (an STS session ARN becomes the role's
    /// IAM ARN) or as an IAM ARN.
    pub fn new(principal: &str, action: &str) -> Request {
        let view = principal_arn_from_message(principal);
        Request {
            principal_arn: view.principal_arn,
            session_arn: view.session_arn,
            action: action.trim().to_owned(),
            resource: None,
            account: None,
            context: BTreeMap::new(),
            unsettled_context: false,
        }
    }

    pub fn with_resource(mut self, resource: &str) -> Request {
        self.resource = Some(resource.trim().trim_matches('"').to_owned());
        self
    }

    pub fn with_account(mut self, account: &str) -> Request {
        self.account = Some(account.trim().to_owned());
        self
    }

    /// Keys missing from the context are unsettled, not absent (see [`Request::unsettled_context`]).
    pub fn with_unsettled_context(mut self) -> Request {
        self.unsettled_context = true;
        self
    }

    /// Add a value to a context key (repeat for a multi-valued key). Keys differing only in case are one key.
    pub fn with_context(mut self, key: &str, value: &str) -> Request {
        let k = self
            .context
            .keys()
            .find(|k| k.eq_ignore_ascii_case(key))
            .cloned()
            .unwrap_or_else(|| key.to_owned());
        self.context.entry(k).or_default().push(value.to_owned());
        self
    }

    pub fn principal_account(&self) -> Option<String> {
        crate::ids::Arn::parse(&self.principal_arn)
            .map(|p| p.account.to_owned())
            .filter(|a| !a.is_empty())
    }

    /// The account the OU path leads to.
    pub fn target_account(&self) -> Option<String> {
        self.account.clone().or_else(|| self.principal_account())
    }

    /// Values of a context key, names compared ignoring case. `aws:PrincipalArn` always comes from
    /// `principal_arn`; `aws:PrincipalAccount` from the context or else the principal ARN.
    pub fn lookup(&self, key: &str) -> Option<Vec<String>> {
        if key.eq_ignore_ascii_case("aws:PrincipalArn") {
            return Some(vec![self.principal_arn.clone()]);
        }
        if let Some((_, v)) = self
            .context
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
        {
            return Some(v.clone());
        }
        if key.eq_ignore_ascii_case("aws:PrincipalAccount") {
            return self.principal_account().map(|a| vec![a]);
        }
        None
    }

    /// The same request for another principal: context keys that describe the principal are dropped.
    pub(crate) fn for_principal(&self, principal_arn: &str, account: Option<String>) -> Request {
        let mut r = self.clone();
        r.principal_arn = principal_arn.to_owned();
        r.session_arn = None;
        r.account = account;
        r.context.retain(|k, _| {
            let k = k.to_ascii_lowercase();
            !(k == "aws:principalarn"
                || k == "aws:principalaccount"
                || k == "aws:userid"
                || k == "aws:username")
        });
        r
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PrincipalKind {
    Role,
    User,
    Root,
    FederatedUser,
    Unknown,
}

/// A principal as seen in a message, and what `aws:PrincipalArn` carries for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PrincipalView {
    pub input: String,
    pub kind: PrincipalKind,
    /// What `aws:PrincipalArn` carries (for a session: the role ARN without its path, which is unknown).
    pub principal_arn: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub session_arn: Option<String>,
    pub partition: String,
    pub account: String,
    /// Role or user name (no path).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// False when the role's path cannot be known from the input (STS sessions).
    pub path_known: bool,
    pub service_linked: bool,
    pub stacksets_exec: bool,
    pub notes: Vec<String>,
}

/// STS session ARN → IAM role ARN (path unknown), keeping role name, account and partition
/// (docs/scp-semantics.md#principals). Other IAM ARNs are kept as they are.
pub fn principal_arn_from_message(principal: &str) -> PrincipalView {
    let input = principal.trim().trim_matches('"').to_owned();
    let mut v = PrincipalView {
        input: input.clone(),
        kind: PrincipalKind::Unknown,
        principal_arn: input.clone(),
        session_arn: None,
        partition: String::new(),
        account: String::new(),
        name: None,
        path_known: true,
        service_linked: false,
        stacksets_exec: false,
        notes: Vec::new(),
    };
    let Some(p) = crate::ids::Arn::parse(&input) else {
        v.notes.push(format!(
            "{input} is not an ARN; it is used as aws:PrincipalArn as given"
        ));
        return v;
    };
    v.partition = p.partition.to_owned();
    v.account = p.account.to_owned();
    match p.service {
        "sts" => {
            if let Some(rest) = p.resource.strip_prefix("assumed-role/") {
                let role = rest.split('/').next().unwrap_or_default();
                if role.is_empty() {
                    v.notes.push("assumed-role ARN without a role name".into());
                    return v;
                }
                v.kind = PrincipalKind::Role;
                v.name = Some(role.to_owned());
                v.session_arn = Some(input.clone());
                v.path_known = false;
                v.principal_arn = format!("arn:{}:iam::{}:role/{role}", p.partition, p.account);
                v.notes.push(format!(
                    "aws:PrincipalArn of a role session is the role's IAM ARN, not the session ARN {input}; the session \
                     ARN does not show the role's path, so it is taken as {} (no path)",
                    v.principal_arn
                ));
                if role.starts_with("AWSServiceRoleFor") {
                    v.notes.push(format!(
                        "{role} looks like a service-linked role (path /aws-service-role/...): SCPs and RCPs do not \
                         restrict service-linked roles, so check its real ARN with `aws iam get-role --role-name {role}`"
                    ));
                }
            } else if let Some(name) = p.resource.strip_prefix("federated-user/") {
                v.kind = PrincipalKind::FederatedUser;
                v.name = Some(name.to_owned());
            } else {
                v.notes
                    .push(format!("unrecognised STS principal {input}; used as given"));
            }
        }
        "iam" => {
            if p.resource == "root" {
                v.kind = PrincipalKind::Root;
            } else if let Some(rest) = p.resource.strip_prefix("role/") {
                v.kind = PrincipalKind::Role;
                v.name = rest.rsplit('/').next().map(str::to_owned);
                v.service_linked = rest.starts_with("aws-service-role/");
            } else if let Some(rest) = p.resource.strip_prefix("user/") {
                v.kind = PrincipalKind::User;
                v.name = rest.rsplit('/').next().map(str::to_owned);
            }
        }
        _ => v.notes.push(format!(
            "{input} is not an IAM or STS principal ARN; used as given"
        )),
    }
    v.stacksets_exec = v.kind == PrincipalKind::Role
        && v.name
            .as_deref()
            .is_some_and(|n| n.starts_with("stacksets-exec-"));
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn session_becomes_role_arn() {
        let v = principal_arn_from_message(
            "\"arn:aws:sts::121212121212:assumed-role/stacksets-exec-1234abcd/efgh5678\"",
        );
        assert_eq!(
            v.principal_arn,
            "arn:aws:iam::121212121212:role/stacksets-exec-1234abcd"
        );
        assert_eq!(v.kind, PrincipalKind::Role);
        assert!(!v.path_known && v.stacksets_exec && !v.service_linked);
        assert_eq!(v.account, "121212121212");
        let v = principal_arn_from_message("arn:aws-us-gov:sts::1:assumed-role/R/s");
        assert_eq!(v.principal_arn, "arn:aws-us-gov:iam::1:role/R");
    }

    #[test]
    fn other_principals_kept() {
        let v = principal_arn_from_message(
            "arn:aws:iam::1:role/aws-service-role/x.amazonaws.com/AWSServiceRoleForX",
        );
        assert!(v.service_linked && v.path_known);
        assert_eq!(v.name.as_deref(), Some("AWSServiceRoleForX"));
        assert_eq!(
            principal_arn_from_message("arn:aws:iam::1:root").kind,
            PrincipalKind::Root
        );
        assert_eq!(
            principal_arn_from_message("arn:aws:iam::1:user/p/u")
                .name
                .as_deref(),
            Some("u")
        );
        assert_eq!(
            principal_arn_from_message("arn:aws:sts::1:federated-user/f").kind,
            PrincipalKind::FederatedUser
        );
        let v = principal_arn_from_message("nonsense");
        assert_eq!(
            (v.kind, v.principal_arn.as_str()),
            (PrincipalKind::Unknown, "nonsense")
        );
        assert!(
            principal_arn_from_message("arn:aws:sts::1:assumed-role/AWSServiceRoleForY/s").notes[1]
                .contains("service-linked")
        );
    }

    #[test]
    fn context_lookup_ignores_key_case() {
        let r = Request::new("arn:aws:sts::111122223333:assumed-role/R/s", "s3:GetObject")
            .with_context("aws:SourceIp", "10.0.0.1")
            .with_context("AWS:SOURCEIP", "10.0.0.2");
        assert_eq!(
            r.lookup("aws:sourceip").unwrap(),
            vec!["10.0.0.1", "10.0.0.2"]
        );
        assert_eq!(
            r.lookup("AWS:PRINCIPALARN").unwrap(),
            vec!["arn:aws:iam::111122223333:role/R"]
        );
        assert_eq!(
            r.lookup("aws:PrincipalAccount").unwrap(),
            vec!["111122223333"]
        );
        assert!(r.lookup("aws:PrincipalOrgID").is_none());
        assert_eq!(r.target_account().as_deref(), Some("111122223333"));
    }
}
