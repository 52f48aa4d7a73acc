//! The exemption for a denied principal: the `aws:PrincipalArn` patterns that let exactly it through, pinned to
//! its account, with why and the warnings that go with it, and the requests that prove it (docs/scp-semantics.md#principals,
//! #stacksets-roles).

use super::super::request::Request;
use super::super::ScpError;
use crate::ids::{is_account_id, Arn};

/// The principal patterns to exempt, why, and warnings (docs/scp-semantics.md#principals, #stacksets-roles).
pub struct Exemption {
    pub values: Vec<String>,
    pub why: String,
    pub warnings: Vec<String>,
    /// Requests that must be allowed too (the same role with a path), and neighbours that must stay denied.
    pub(super) also_allowed: Vec<(String, String)>,
    pub(super) neighbours: Vec<(String, String, Option<String>)>,
}

fn other_account(a: &str) -> String {
    if a == "111111111111" {
        "222222222222"
    } else {
        "111111111111"
    }
    .to_owned()
}

/// The exemption that lets `req`'s principal through a Deny: the `aws:PrincipalArn` patterns, pinned to its account.
pub fn exemption(req: &Request) -> Result<Exemption, ScpError> {
    let who = &req.principal_arn;
    let parts = Arn::parse(who).ok_or_else(|| {
        ScpError::NoPatch(format!("{who} is not an ARN: no exemption can be built"))
    })?;
    let (p, a) = (parts.partition, parts.account);
    if !is_account_id(a) {
        return Err(ScpError::NoPatch(format!(
            "{who} has no 12-digit account: an exemption must be pinned to one account"
        )));
    }
    let b = other_account(a);
    let same = Some(a.to_owned());
    let shown = match &req.session_arn {
        Some(s) => format!("The message shows the STS session {s}; aws:PrincipalArn carries the IAM role ARN {who} instead, so the session ARN would never match. "),
        None => String::new(),
    };
    let mut ex = Exemption {
        values: Vec::new(),
        why: String::new(),
        warnings: Vec::new(),
        also_allowed: Vec::new(),
        neighbours: Vec::new(),
    };
    match (parts.service, parts.resource) {
        ("iam", res) if res.starts_with("role/") => role(
            &mut ex,
            req,
            Place {
                p,
                a,
                b: &b,
                shown: &shown,
            },
            res,
        ),
        ("iam", res) if res.starts_with("user/") || res == "root" => {
            ex.values.push(who.clone());
            ex.why = format!("aws:PrincipalArn carries {who}, exempted exactly.");
            let other = if res == "user/other-user" {
                "user/other-user-2"
            } else {
                "user/other-user"
            };
            ex.neighbours.push((
                "another user in the same account".into(),
                format!("arn:{p}:iam::{a}:{other}"),
                same.clone(),
            ));
            ex.neighbours.push((
                "a role in the same account".into(),
                format!("arn:{p}:iam::{a}:role/other-role"),
                same.clone(),
            ));
            ex.neighbours.push((
                format!("the same principal name in another account ({b}, same policies)"),
                format!("arn:{p}:iam::{b}:{res}"),
                Some(b.clone()),
            ));
        }
        ("sts", res) if res.starts_with("federated-user/") => {
            ex.values.push(who.clone());
            ex.why = format!(
                "aws:PrincipalArn of a federated user is its STS ARN {who}, exempted exactly."
            );
            ex.neighbours.push((
                "another federated user in the same account".into(),
                format!("arn:{p}:sts::{a}:federated-user/other-user"),
                same.clone(),
            ));
            ex.neighbours.push((
                format!("the same federated user name in another account ({b})"),
                format!("arn:{p}:sts::{b}:{res}"),
                Some(b.clone()),
            ));
        }
        _ => {
            return Err(ScpError::NoPatch(format!(
                "{who} is not a role, user, root or federated-user ARN: no exemption can be built"
            )))
        }
    }
    Ok(ex)
}

/// Where the principal is, for the patterns: partition, account, another account for neighbours, and how the
/// message showed it.
struct Place<'a> {
    p: &'a str,
    a: &'a str,
    b: &'a str,
    shown: &'a str,
}

/// A role: `stacksets-exec-*` for a StackSets execution role, both "no path" and "any path" patterns for a
/// session of another role, the exact ARN when the path is known; and its neighbours.
fn role(ex: &mut Exemption, req: &Request, at: Place<'_>, res: &str) {
    let Place { p, a, b, shown } = at;
    let who = &req.principal_arn;
    let same = Some(a.to_owned());
    let rest = &res["role/".len()..];
    let (dir, name) = match rest.rfind('/') {
        Some(i) => (&rest[..=i], &rest[i + 1..]),
        None => ("", rest),
    };
    if name.starts_with("stacksets-exec-") {
        ex.values
            .push(format!("arn:{p}:iam::{a}:role/{dir}stacksets-exec-*"));
        ex.why = format!(
            "{shown}The role is a StackSets execution role (stacksets-exec-<hash>, created by service-managed \
             StackSets in each target account), so the exemption covers arn:{p}:iam::{a}:role/{dir}stacksets-exec-* \
             in account {a} only, not in every account."
        );
        ex.warnings.push(format!(
            "Anyone able to create a role named stacksets-exec-* in account {a}, or any role under a path \
             starting /stacksets-exec- (the * crosses /), inherits this exemption: protect those roles with an \
             SCP that denies iam:CreateRole, iam:UpdateAssumeRolePolicy, iam:PutRolePolicy, \
             iam:AttachRolePolicy and iam:DeleteRole on arn:{p}:iam::*:role/stacksets-exec-* except for \
             CloudFormation StackSets (as AWS Control Tower does)."
        ));
        let other = if name == "stacksets-exec-0000ffff" {
            "stacksets-exec-ffff0000"
        } else {
            "stacksets-exec-0000ffff"
        };
        ex.also_allowed.push((
            "another StackSets execution role in the same account (intended: the exemption covers stacksets-exec-*)".into(),
            format!("arn:{p}:iam::{a}:role/{dir}{other}"),
        ));
    } else if req.session_arn.is_some() && dir.is_empty() {
        ex.values.push(format!("arn:{p}:iam::{a}:role/{name}"));
        ex.values.push(format!("arn:{p}:iam::{a}:role/*/{name}"));
        ex.why = format!(
            "{shown}The session ARN does not show the role's path, so the two patterns match role {name} in account \
             {a} with no path and with any path (not role/*{name}, which would also match other names ending in \
             {name}; role names are unique per account, so role/*/{name} can only be this role). With IAM access, \
             `aws iam get-role --role-name {name}` shows the exact ARN."
        );
        ex.also_allowed.push((
            "the same role if it has a path".into(),
            format!("arn:{p}:iam::{a}:role/example-path/{name}"),
        ));
    } else {
        ex.values.push(who.clone());
        ex.why = format!("{shown}aws:PrincipalArn carries {who} (path known), exempted exactly.");
    }
    let other = if name == "other-role" {
        "other-role-2"
    } else {
        "other-role"
    };
    ex.neighbours.push((
        "another role in the same account".into(),
        format!("arn:{p}:iam::{a}:role/{other}"),
        same.clone(),
    ));
    ex.neighbours.push((
        "a role whose name ends with the same name in the same account".into(),
        format!("arn:{p}:iam::{a}:role/x{name}"),
        same.clone(),
    ));
    ex.neighbours.push((
        "a user with the same name in the same account".into(),
        format!("arn:{p}:iam::{a}:user/{name}"),
        same.clone(),
    ));
    ex.neighbours.push((
        format!("the same role name in another account ({b}, same policies)"),
        format!("arn:{p}:iam::{b}:role/{dir}{name}"),
        Some(b.to_owned()),
    ));
}
