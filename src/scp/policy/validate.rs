//! What makes a policy unusable — AWS would not have stored it — checked at load, with the reason.

use serde_json::Value;

use super::{invalid, statement_label, statements, PolicyKind};
use crate::scp::ScpError;

/// Whether any statement names a Principal: RCP statements must, SCP statements cannot
/// (docs/scp-semantics.md#policy-documents).
fn names_principal(doc: &Value) -> bool {
    statements(doc)
        .iter()
        .any(|s| s.get("Principal").is_some() || s.get("NotPrincipal").is_some())
}

/// The longest policy id, ARN or name accepted (Organizations allows 128 characters for a name).
pub(super) const MAX_NAME: usize = 1024;

/// The only policy language version SCPs and RCPs accept (docs/scp-semantics.md#policy-documents).
pub const POLICY_VERSION: &str = "2012-10-17";

/// Checks that make a policy unusable (bad input: AWS would not have stored it), as opposed to constructs we cannot
/// evaluate, which the evaluator reports per statement. Gives the policy's kind — as declared, else an RCP when a
/// statement names a Principal, else an SCP — and notes on how it was read.
pub(super) fn validate(
    label: &str,
    doc: &Value,
    declared: Option<PolicyKind>,
) -> Result<(PolicyKind, Vec<String>), ScpError> {
    structure(label, doc)?;
    let mut notes = Vec::new();
    let Some(obj) = doc.as_object() else {
        return Err(invalid(label, "the policy document is not a JSON object"));
    };
    match obj.get("Version") {
        Some(Value::String(v)) if v == POLICY_VERSION => {}
        Some(other) => {
            return Err(invalid(
                label,
                &format!("Version must be \"{POLICY_VERSION}\" (the only version SCPs and RCPs accept), not {other}"),
            ))
        }
        None => notes.push(format!(
            "it has no Version: AWS stores SCPs and RCPs with \"Version\": \"{POLICY_VERSION}\"; read as IAM reads a \
             policy without one (2008-10-17: policy variables are literal text)"
        )),
    }
    let principal = names_principal(doc);
    let kind = match declared {
        Some(PolicyKind::Scp) if principal => {
            return Err(invalid(
                label,
                "an SCP cannot name a Principal or NotPrincipal (only RCPs do); remove it, or declare the policy as \
                 a RESOURCE_CONTROL_POLICY",
            ))
        }
        Some(k) => k,
        None if principal => {
            notes.push(
                "read as an RCP because its statements name a Principal, which SCPs cannot; give describe-policy \
                 output (its Type) to say which it is"
                    .to_owned(),
            );
            PolicyKind::Rcp
        }
        None => PolicyKind::Scp,
    };
    let mut sids: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for (i, s) in statements(doc).into_iter().enumerate() {
        let at = format!("statement {}", statement_label(s, i));
        if kind == PolicyKind::Rcp {
            if s.get("NotPrincipal").is_some() {
                return Err(invalid(
                    label,
                    &format!("{at}: RCPs do not support NotPrincipal"),
                ));
            }
            if s.get("NotAction").is_some() {
                return Err(invalid(
                    label,
                    &format!("{at}: RCPs do not support NotAction"),
                ));
            }
            match s.get("Principal") {
                Some(Value::String(p)) if p == "*" => {}
                Some(other) => {
                    return Err(invalid(
                        label,
                        &format!("{at}: an RCP's Principal must be \"*\" (narrow it with conditions), not {other}"),
                    ))
                }
                None => {
                    return Err(invalid(
                        label,
                        &format!("{at}: an RCP statement must name Principal \"*\""),
                    ))
                }
            }
        }
        if let Some(sid) = s
            .get("Sid")
            .and_then(Value::as_str)
            .filter(|x| !x.is_empty())
        {
            if let Some(first) = sids.insert(sid, i) {
                notes.push(format!(
                    "statements #{first} and #{i} share the Sid {sid:?}: they are named by position (#{first}, #{i})"
                ));
            }
        }
    }
    Ok((kind, notes))
}

/// The shape every policy document needs, whatever its kind.
fn structure(label: &str, doc: &Value) -> Result<(), ScpError> {
    let Some(obj) = doc.as_object() else {
        return Err(invalid(label, "the policy document is not a JSON object"));
    };
    match obj.get("Statement") {
        Some(Value::Array(a)) if a.is_empty() => return Err(invalid(label, "Statement is empty")),
        Some(Value::Array(_)) | Some(Value::Object(_)) => {}
        Some(_) => {
            return Err(invalid(
                label,
                "Statement must be an object or an array of objects",
            ))
        }
        None => return Err(invalid(label, "no Statement")),
    }
    if let Some(Value::Array(a)) = obj.get("Statement") {
        if let Some(i) = a.iter().position(|s| !s.is_object()) {
            return Err(invalid(label, &format!("Statement #{i} is not an object")));
        }
    }
    for (i, s) in statements(doc).into_iter().enumerate() {
        let at = format!("statement {}", statement_label(s, i));
        match s.get("Effect") {
            Some(Value::String(e)) if e == "Allow" || e == "Deny" => {}
            Some(other) => {
                return Err(invalid(
                    label,
                    &format!("{at}: Effect must be \"Allow\" or \"Deny\", not {other}"),
                ))
            }
            None => return Err(invalid(label, &format!("{at}: no Effect"))),
        }
        match (s.get("Action"), s.get("NotAction")) {
            (Some(_), Some(_)) => {
                return Err(invalid(label, &format!("{at}: both Action and NotAction")))
            }
            (None, None) => {
                return Err(invalid(
                    label,
                    &format!("{at}: neither Action nor NotAction"),
                ))
            }
            _ => {}
        }
        if s.get("Resource").is_some() && s.get("NotResource").is_some() {
            return Err(invalid(
                label,
                &format!("{at}: both Resource and NotResource"),
            ));
        }
        for k in ["Action", "NotAction", "Resource", "NotResource"] {
            if let Some(v) = s.get(k) {
                let ok = match v {
                    Value::String(_) => true,
                    Value::Array(a) => !a.is_empty() && a.iter().all(Value::is_string),
                    _ => false,
                };
                if !ok {
                    return Err(invalid(
                        label,
                        &format!("{at}: {k} must be a string or a non-empty array of strings"),
                    ));
                }
            }
        }
        if let Some(c) = s.get("Condition") {
            let Some(ops) = c.as_object() else {
                return Err(invalid(label, &format!("{at}: Condition is not an object")));
            };
            if let Some((op, _)) = ops.iter().find(|(_, v)| !v.is_object()) {
                return Err(invalid(
                    label,
                    &format!("{at}: Condition operator {op} does not hold an object of keys"),
                ));
            }
        }
        if s.get("Resource").is_none() && s.get("NotResource").is_none() {
            return Err(invalid(
                label,
                &format!("{at}: neither Resource nor NotResource (every statement needs one)"),
            ));
        }
    }
    Ok(())
}
