//! Condition operators: one (operator, key, values) entry of a Condition block against the request context.
//! Semantics from docs/scp-semantics.md#condition-operators and the IAM guide pages "IAM JSON policy elements:
//! Condition operators" and "Multivalued context keys".

use std::net::IpAddr;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use serde::Serialize;
use serde_json::Value;

use super::arn::{arn_like, glob, LITERAL_QMARK, LITERAL_STAR};
use super::request::Request;

/// Three-valued result: a construct we cannot evaluate is Unknown, never a guess.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Tri {
    Yes,
    No,
    Unknown,
}

impl Tri {
    pub fn from_bool(b: bool) -> Tri {
        if b {
            Tri::Yes
        } else {
            Tri::No
        }
    }

    /// AND: a No decides; otherwise any Unknown leaves it unknown.
    pub fn and(self, other: Tri) -> Tri {
        match (self, other) {
            (Tri::No, _) | (_, Tri::No) => Tri::No,
            (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
            _ => Tri::Yes,
        }
    }
}

/// The outcome of one condition entry, with the reason a person can check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ConditionResult {
    pub operator: String,
    /// The key as the policy spells it.
    pub key: String,
    pub policy_values: Vec<String>,
    /// None when the key is not in the request context.
    pub request_values: Option<Vec<String>>,
    pub result: Tri,
    pub why: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cmp {
    Eq,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Family {
    Str,
    StrIgnoreCase,
    StrLike,
    Num(Cmp),
    Date(Cmp),
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SetOp {
    AnyValue,
    AllValues,
}

#[derive(Debug, Clone, Copy)]
struct Op {
    set: Option<SetOp>,
    family: Family,
    negated: bool,
    if_exists: bool,
}

/// Operator names, matched ignoring ASCII case (AWS accepted the policy, so the intent is not in doubt).
const OPERATORS: &[(&str, Family, bool)] = &[
    ("StringEquals", Family::Str, false),
    ("StringNotEquals", Family::Str, true),
    ("StringEqualsIgnoreCase", Family::StrIgnoreCase, false),
    ("StringNotEqualsIgnoreCase", Family::StrIgnoreCase, true),
    ("StringLike", Family::StrLike, false),
    ("StringNotLike", Family::StrLike, true),
    ("NumericEquals", Family::Num(Cmp::Eq), false),
    ("NumericNotEquals", Family::Num(Cmp::Eq), true),
    ("NumericLessThan", Family::Num(Cmp::Lt), false),
    ("NumericLessThanEquals", Family::Num(Cmp::Le), false),
    ("NumericGreaterThan", Family::Num(Cmp::Gt), false),
    ("NumericGreaterThanEquals", Family::Num(Cmp::Ge), false),
    ("DateEquals", Family::Date(Cmp::Eq), false),
    ("DateNotEquals", Family::Date(Cmp::Eq), true),
    ("DateLessThan", Family::Date(Cmp::Lt), false),
    ("DateLessThanEquals", Family::Date(Cmp::Le), false),
    ("DateGreaterThan", Family::Date(Cmp::Gt), false),
    ("DateGreaterThanEquals", Family::Date(Cmp::Ge), false),
    ("Bool", Family::Bool, false),
    ("BinaryEquals", Family::Binary, false),
    ("IpAddress", Family::Ip, false),
    ("NotIpAddress", Family::Ip, true),
    // ArnEquals behaves as ArnLike, ArnNotEquals as ArnNotLike (IAM guide, "ARN condition operators").
    ("ArnEquals", Family::Arn, false),
    ("ArnLike", Family::Arn, false),
    ("ArnNotEquals", Family::Arn, true),
    ("ArnNotLike", Family::Arn, true),
    ("Null", Family::Null, false),
];

fn parse_op(name: &str) -> Result<Op, String> {
    let mut rest = name;
    let mut set = None;
    for (prefix, s) in [
        ("ForAnyValue:", SetOp::AnyValue),
        ("ForAllValues:", SetOp::AllValues),
    ] {
        if let (Some(head), Some(tail)) = (rest.get(..prefix.len()), rest.get(prefix.len()..)) {
            if head.eq_ignore_ascii_case(prefix) {
                set = Some(s);
                rest = tail;
            }
        }
    }
    let mut if_exists = false;
    let cut = rest.len().saturating_sub(8);
    if let (Some(head), Some(tail)) = (rest.get(..cut), rest.get(cut..)) {
        if !head.is_empty() && tail.eq_ignore_ascii_case("IfExists") {
            if_exists = true;
            rest = head;
        }
    }
    let (_, family, negated) = OPERATORS
        .iter()
        .find(|(n, _, _)| n.eq_ignore_ascii_case(rest))
        .ok_or_else(|| format!("cannot evaluate: unknown condition operator {name}"))?;
    if *family == Family::Null && (set.is_some() || if_exists) {
        return Err(format!(
            "cannot evaluate: {name} (Null takes no IfExists or set prefix)"
        ));
    }
    Ok(Op {
        set,
        family: *family,
        negated: *negated,
        if_exists,
    })
}

/// Policy values as strings: JSON strings, numbers and booleans, or an array of them.
fn policy_strings(v: &Value) -> Result<Vec<String>, String> {
    fn one(v: &Value) -> Result<String, String> {
        match v {
            Value::String(s) => Ok(s.clone()),
            Value::Bool(b) => Ok(b.to_string()),
            Value::Number(n) => Ok(n.to_string()),
            other => Err(format!(
                "cannot evaluate: condition value {other} is not a string, number or boolean"
            )),
        }
    }
    match v {
        Value::Array(a) => a.iter().map(one).collect(),
        v => one(v).map(|s| vec![s]),
    }
}

/// Substitute `${key}`, `${key, 'default'}` and `${*}`/`${?}`/`${$}` from the request (IAM guide, "IAM policy
/// elements: Variables and tags"). A key without a single value and without a default cannot be evaluated.
/// `wildcards`: the result is a wildcard pattern, so `${*}`/`${?}` become the literal markers the matcher knows.
pub(crate) fn substitute(text: &str, req: &Request, wildcards: bool) -> Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let after = &rest[start + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[start..]);
            return Ok(out);
        };
        let inner = after[..end].trim();
        let (key, default) = match inner.split_once(',') {
            Some((k, d)) => {
                let d = d.trim();
                let d = d
                    .strip_prefix('\'')
                    .and_then(|d| d.strip_suffix('\''))
                    .unwrap_or(d);
                (k.trim(), Some(d))
            }
            None => (inner, None),
        };
        match key {
            "*" if wildcards => out.push(LITERAL_STAR),
            "?" if wildcards => out.push(LITERAL_QMARK),
            "*" | "?" | "$" => out.push_str(key),
            _ => match (req.lookup(key).as_deref(), default) {
                (Some([one]), _) => out.push_str(one),
                (None, Some(d)) | (Some([]), Some(d)) => out.push_str(d),
                (Some(vals), _) if vals.len() > 1 => {
                    return Err(format!("cannot evaluate: policy variable ${{{key}}} has several values in the request"))
                }
                _ => {
                    return Err(format!(
                        "cannot evaluate: policy variable ${{{key}}} has no value in the request context (pass --context {key}=VALUE)"
                    ))
                }
            },
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn parse_date(s: &str) -> Option<DateTime<Utc>> {
    let s = s.trim();
    if let Ok(d) = DateTime::parse_from_rfc3339(s) {
        return Some(d.with_timezone(&Utc));
    }
    for f in [
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S",
        "%Y-%m-%dT%H:%MZ",
        "%Y-%m-%dT%H:%M:%SZ",
    ] {
        if let Ok(d) = NaiveDateTime::parse_from_str(s, f) {
            return Some(d.and_utc());
        }
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        return d.and_hms_opt(0, 0, 0).map(|d| d.and_utc());
    }
    // Epoch seconds (IAM guide, "Date condition operators").
    s.parse::<i64>()
        .ok()
        .and_then(|n| DateTime::from_timestamp(n, 0))
}

fn parse_cidr(s: &str) -> Option<(IpAddr, u8)> {
    let (ip, len) = match s.trim().split_once('/') {
        Some((ip, l)) => (ip.parse::<IpAddr>().ok()?, Some(l.parse::<u8>().ok()?)),
        None => (s.trim().parse::<IpAddr>().ok()?, None),
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    let len = len.unwrap_or(max);
    (len <= max).then_some((ip, len))
}

fn in_cidr(ip: IpAddr, (net, len): (IpAddr, u8)) -> bool {
    match (ip, net) {
        (IpAddr::V4(a), IpAddr::V4(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(len))
            };
            u32::from(a) & mask == u32::from(n) & mask
        }
        (IpAddr::V6(a), IpAddr::V6(n)) => {
            let mask = if len == 0 {
                0
            } else {
                u128::MAX << (128 - u32::from(len))
            };
            u128::from(a) & mask == u128::from(n) & mask
        }
        _ => false,
    }
}

fn cmp<T: PartialOrd>(c: Cmp, request: T, policy: T) -> bool {
    match c {
        Cmp::Eq => request == policy,
        Cmp::Lt => request < policy,
        Cmp::Le => request <= policy,
        Cmp::Gt => request > policy,
        Cmp::Ge => request >= policy,
    }
}

/// Does one request value match one policy value (the positive form of the operator)?
fn matches(family: Family, request: &str, policy: &str) -> Result<bool, String> {
    Ok(match family {
        Family::Str | Family::Binary => request == policy,
        Family::StrIgnoreCase => request.to_lowercase() == policy.to_lowercase(),
        Family::StrLike => glob(policy, request, false),
        Family::Arn => arn_like(policy, request),
        // Bool compares "true"/"false"; case is ignored so "True" in a policy reads as AWS reads it.
        Family::Bool => {
            let p = policy.to_ascii_lowercase();
            if p != "true" && p != "false" {
                return Err(format!(
                    "cannot evaluate: Bool value {policy:?} is not true or false"
                ));
            }
            request.eq_ignore_ascii_case(&p)
        }
        Family::Num(c) => {
            let p: f64 = policy
                .trim()
                .parse()
                .map_err(|_| format!("cannot evaluate: {policy:?} is not a number"))?;
            let r: f64 = request.trim().parse().map_err(|_| {
                format!("cannot evaluate: request value {request:?} is not a number")
            })?;
            cmp(c, r, p)
        }
        Family::Date(c) => {
            let p = parse_date(policy)
                .ok_or_else(|| format!("cannot evaluate: {policy:?} is not a date"))?;
            let r = parse_date(request).ok_or_else(|| {
                format!("cannot evaluate: request value {request:?} is not a date")
            })?;
            cmp(c, r, p)
        }
        Family::Ip => {
            let net = parse_cidr(policy).ok_or_else(|| {
                format!("cannot evaluate: {policy:?} is not an IP address or CIDR")
            })?;
            let ip: IpAddr = request.trim().parse().map_err(|_| {
                format!("cannot evaluate: request value {request:?} is not an IP address")
            })?;
            in_cidr(ip, net)
        }
        Family::Null => false,
    })
}

fn list(v: &[String]) -> String {
    let shown = if v.len() == 1 {
        v[0].clone()
    } else {
        format!("[{}]", v.join(", "))
    };
    // Show literal markers as the policy wrote them.
    shown
        .replace(LITERAL_STAR, "${*}")
        .replace(LITERAL_QMARK, "${?}")
}

/// Evaluate one `operator: {key: values}` entry. `variables`: substitute policy variables (Version 2012-10-17).
pub(crate) fn evaluate(
    operator: &str,
    key: &str,
    raw: &Value,
    req: &Request,
    variables: bool,
) -> ConditionResult {
    let request_values = req.lookup(key);
    let mut res = ConditionResult {
        operator: operator.to_owned(),
        key: key.to_owned(),
        policy_values: Vec::new(),
        request_values: request_values.clone(),
        result: Tri::Unknown,
        why: String::new(),
    };
    let (result, why) = decide(
        operator,
        key,
        raw,
        req,
        variables,
        request_values.as_deref(),
        &mut res.policy_values,
    );
    res.result = result;
    res.why = why;
    res
}

fn decide(
    operator: &str,
    key: &str,
    raw: &Value,
    req: &Request,
    variables: bool,
    request_values: Option<&[String]>,
    shown: &mut Vec<String>,
) -> (Tri, String) {
    let op = match parse_op(operator) {
        Ok(op) => op,
        Err(e) => return (Tri::Unknown, e),
    };
    let mut values = match policy_strings(raw) {
        Ok(v) => v,
        Err(e) => return (Tri::Unknown, e),
    };
    *shown = values.clone();
    // Variables are substituted in string and ARN operators only (IAM guide, "Where you can use policy variables").
    // A value without `${` is itself after substitution: only lists that hold a variable are rewritten (long
    // exemption lists of ARNs are the common case, and the hot path of a patch's proof).
    if variables
        && matches!(
            op.family,
            Family::Str | Family::StrIgnoreCase | Family::StrLike | Family::Arn
        )
        && values.iter().any(|v| v.contains("${"))
    {
        match values
            .iter()
            .map(|v| substitute(v, req, matches!(op.family, Family::StrLike | Family::Arn)))
            .collect::<Result<Vec<_>, _>>()
        {
            Ok(v) => values = v,
            Err(e) => return (Tri::Unknown, e),
        }
    }
    let present: Option<&[String]> = request_values.filter(|v| !v.is_empty());
    if present.is_none() && req.unsettled_context {
        return (
            Tri::Unknown,
            format!(
                "cannot evaluate: {key} is not settled (whether the request carries it, and its value, cannot be told \
                 before it is made)"
            ),
        );
    }
    if op.family == Family::Null {
        return null(key, &values, present);
    }
    let Some(rvs) = present else {
        return missing(&op, key);
    };
    with_values(&op, key, &values, rvs)
}

/// `Null`: "true" means the key must be absent, "false" present (IAM guide, "Condition operator to check existence
/// of condition keys").
fn null(key: &str, values: &[String], present: Option<&[String]>) -> (Tri, String) {
    let mut any = false;
    for v in values {
        match v.to_ascii_lowercase().as_str() {
            "true" => any |= present.is_none(),
            "false" => any |= present.is_some(),
            _ => {
                return (
                    Tri::Unknown,
                    format!("cannot evaluate: Null value {v:?} is not true or false"),
                )
            }
        }
    }
    let state = if present.is_some() {
        "present"
    } else {
        "absent"
    };
    (
        Tri::from_bool(any),
        format!(
            "{key} is {state} in the request; Null {} → {any}",
            list(values)
        ),
    )
}

/// A key missing from the request: false, except negated operators (true), IfExists (true), ForAllValues (true),
/// and ForAnyValue (false) (docs/scp-semantics.md#condition-operators).
fn missing(op: &Op, key: &str) -> (Tri, String) {
    let (r, rule) = if op.if_exists {
        (true, "IfExists makes a missing key true")
    } else {
        match op.set {
            Some(SetOp::AllValues) => (
                true,
                "ForAllValues is true when the key is missing or empty",
            ),
            Some(SetOp::AnyValue) => (
                false,
                "ForAnyValue is false when the key is missing or empty",
            ),
            None if op.negated => (true, "a negated operator is true when the key is missing"),
            None => (false, "an operator is false when the key is missing"),
        }
    };
    let hint = if r {
        String::new()
    } else {
        format!(" (pass --context {key}=VALUE if the request has it)")
    };
    (
        Tri::from_bool(r),
        format!("{key} is not in the request context: {rule} → {r}{hint}"),
    )
}

/// The request's values of the key against the policy's values.
fn with_values(op: &Op, key: &str, values: &[String], rvs: &[String]) -> (Tri, String) {
    // The positive match of one request value against the policy values (several values: OR).
    let positive = |rv: &str| -> Result<Option<String>, String> {
        for p in values {
            if matches(op.family, rv, p)? {
                return Ok(Some(p.clone()));
            }
        }
        Ok(None)
    };

    let verb = |m: &Option<String>| match m {
        Some(p) => format!("matches {}", list(std::slice::from_ref(p))),
        None => format!("matches none of {}", list(values)),
    };
    match op.set {
        None => {
            // Several request values with a single-valued operator: any value matching counts as a match.
            let mut found = None;
            for rv in rvs {
                match positive(rv) {
                    Ok(Some(p)) => {
                        found = Some((rv.clone(), p));
                        break;
                    }
                    Ok(None) => {}
                    Err(e) => return (Tri::Unknown, e),
                }
            }
            let r = found.is_some() != op.negated;
            let why = match &found {
                Some((rv, p)) => format!("{key} = {rv} matches {}", list(std::slice::from_ref(p))),
                None => format!("{key} = {} matches none of {}", list(rvs), list(values)),
            };
            (Tri::from_bool(r), format!("{why} → {r}"))
        }
        Some(set) => {
            let mut per = Vec::new();
            for rv in rvs {
                match positive(rv) {
                    Ok(m) => per.push((rv.clone(), m.is_some() != op.negated, verb(&m))),
                    Err(e) => return (Tri::Unknown, e),
                }
            }
            let r = match set {
                SetOp::AnyValue => per.iter().any(|(_, ok, _)| *ok),
                SetOp::AllValues => per.iter().all(|(_, ok, _)| *ok),
            };
            let detail: Vec<String> = per.iter().map(|(rv, _, v)| format!("{rv} {v}")).collect();
            let name = if set == SetOp::AnyValue {
                "ForAnyValue"
            } else {
                "ForAllValues"
            };
            (
                Tri::from_bool(r),
                format!(
                    "{key}: {} ({name}{}) → {r}",
                    detail.join("; "),
                    if op.negated { ", negated" } else { "" }
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn unsettled_context_makes_a_missing_key_unknown() {
        let req = Request::new("arn:aws:iam::1:role/R", "s3:X");
        let vals = json!("o-1");
        assert_eq!(
            evaluate("StringNotEquals", "aws:PrincipalOrgID", &vals, &req, true).result,
            Tri::Yes
        );
        let open = req.clone().with_unsettled_context();
        let c = evaluate("StringNotEquals", "aws:PrincipalOrgID", &vals, &open, true);
        assert_eq!(c.result, Tri::Unknown);
        assert!(c.why.contains("not settled"), "{}", c.why);
        assert_eq!(
            evaluate("Null", "aws:RequestTag/o", &json!("true"), &open, true).result,
            Tri::Unknown
        );
        // A key the request has, and the principal's ARN, are still evaluated.
        let open = open.with_context("aws:PrincipalOrgID", "o-1");
        assert_eq!(
            evaluate("StringNotEquals", "aws:PrincipalOrgID", &vals, &open, true).result,
            Tri::No
        );
        assert_eq!(
            evaluate(
                "ArnLike",
                "aws:PrincipalArn",
                &json!("arn:aws:iam::1:role/R"),
                &open,
                true
            )
            .result,
            Tri::Yes
        );
    }

    fn req() -> Request {
        Request::new("arn:aws:iam::111122223333:role/R", "s3:GetObject")
    }

    #[test]
    fn operator_names() {
        assert!(parse_op("ForAnyValue:StringNotLikeIfExists").is_ok());
        assert!(parse_op("stringequals").is_ok());
        assert!(parse_op("NullIfExists").is_err());
        assert!(parse_op("StringMatches")
            .unwrap_err()
            .contains("cannot evaluate"));
    }

    #[test]
    fn variables() {
        let r = req()
            .with_context("aws:PrincipalTag/team", "a")
            .with_context("k", "1")
            .with_context("k", "2");
        assert_eq!(
            substitute(
                "x/${aws:PrincipalAccount}/${aws:PrincipalTag/team}",
                &r,
                false
            )
            .unwrap(),
            "x/111122223333/a"
        );
        assert_eq!(substitute("${*}${?}${$}", &r, false).unwrap(), "*?$");
        assert_eq!(
            substitute("${*}", &r, true).unwrap(),
            LITERAL_STAR.to_string()
        );
        assert_eq!(
            substitute("${aws:username, 'nobody'}", &r, false).unwrap(),
            "nobody"
        );
        assert!(substitute("${aws:username}", &r, false)
            .unwrap_err()
            .contains("--context aws:username"));
        assert!(substitute("${k}", &r, false).is_err());
        assert_eq!(substitute("no vars ${", &r, false).unwrap(), "no vars ${");
    }

    #[test]
    fn cidr_and_dates() {
        let n = parse_cidr("10.0.0.0/8").unwrap();
        assert!(in_cidr("10.1.2.3".parse().unwrap(), n));
        assert!(!in_cidr("11.0.0.1".parse().unwrap(), n));
        assert!(in_cidr(
            "2001:db8::1".parse().unwrap(),
            parse_cidr("2001:DB8::/32").unwrap()
        ));
        assert!(!in_cidr(
            "10.0.0.1".parse().unwrap(),
            parse_cidr("2001:DB8::/32").unwrap()
        ));
        assert!(in_cidr(
            "1.2.3.4".parse().unwrap(),
            parse_cidr("0.0.0.0/0").unwrap()
        ));
        assert!(parse_cidr("10.0.0.0/33").is_none());
        assert_eq!(parse_date("2020-01-01"), parse_date("2020-01-01T00:00:00Z"));
        assert_eq!(parse_date("1577836800"), parse_date("2020-01-01T00:00:00Z"));
        assert!(parse_date("soon").is_none());
    }

    #[test]
    fn values_may_be_numbers_and_bools() {
        let r = req()
            .with_context("aws:SecureTransport", "false")
            .with_context("n", "5");
        assert_eq!(
            evaluate("Bool", "aws:SecureTransport", &json!(false), &r, true).result,
            Tri::Yes
        );
        assert_eq!(
            evaluate("NumericLessThan", "n", &json!([3, 10]), &r, true).result,
            Tri::Yes
        );
        assert_eq!(
            evaluate("NumericLessThan", "n", &json!({"a": 1}), &r, true).result,
            Tri::Unknown
        );
        assert_eq!(
            evaluate("NumericLessThan", "n", &json!("x"), &r, true).result,
            Tri::Unknown
        );
    }
}
