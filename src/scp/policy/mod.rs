//! Loading SCPs/RCPs: bare documents, `aws organizations describe-policy` JSON, or a levels file.
//!
//! Levels file (one file, the whole OU path, root first):
//! `{"management_account": "999999999999", "levels": [{"name": "root", "policies": [ENTRY, ...]}, ...]}` where
//! ENTRY is `"FullAWSAccess"`, `"RCPFullAWSAccess"`, a bare policy document, a describe-policy object, or
//! `{"name", "id", "arn", "type": "SCP"|"RCP", "document": {...} | "content": "<json text>"}`.

use serde::Serialize;
use serde_json::Value;

use super::json::OJson;
use super::ScpError;

mod path;
mod validate;

pub use path::{load_path, Level, OrgPath};
pub use validate::POLICY_VERSION;
use validate::{validate, MAX_NAME};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum PolicyKind {
    Scp,
    Rcp,
}

impl PolicyKind {
    pub fn label(self) -> &'static str {
        match self {
            PolicyKind::Scp => "SCP",
            PolicyKind::Rcp => "RCP",
        }
    }

    /// `SERVICE_CONTROL_POLICY`/`RESOURCE_CONTROL_POLICY` (as Organizations names them) or `SCP`/`RCP`.
    pub fn from_type(t: &str) -> Option<PolicyKind> {
        match t.trim().to_ascii_uppercase().as_str() {
            "SERVICE_CONTROL_POLICY" | "SCP" => Some(PolicyKind::Scp),
            "RESOURCE_CONTROL_POLICY" | "RCP" => Some(PolicyKind::Rcp),
            _ => None,
        }
    }
}

/// One SCP or RCP.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Policy {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub arn: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    pub kind: PolicyKind,
    /// Where it came from: the file label (and position inside a levels file).
    pub label: String,
    pub document: Value,
    /// The document's JSON text as given, so a patch keeps its key order.
    #[serde(skip)]
    pub source: Option<String>,
    /// What the evaluation should say about how the policy was read (its kind guessed, no Version, a Sid used
    /// twice).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub notes: Vec<String>,
}

const FULL_ACCESS: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}"#;
const RCP_FULL_ACCESS: &str = r#"{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}]}"#;

impl Policy {
    /// A file's text: a describe-policy response or a bare policy document.
    pub fn parse(file_label: &str, text: &str) -> Result<Policy, ScpError> {
        let tree = parse_tree(file_label, text)?;
        if tree.get("levels").is_some() {
            return Err(invalid(
                file_label,
                "this is a levels file; give it as the only --policy file",
            ));
        }
        Policy::from_tree(file_label, &tree, Some(text))
    }

    /// A policy from its document text plus what Organizations says about it (e.g. from the evidence bundle).
    /// `kind` None: an RCP when a statement has a Principal, else an SCP.
    pub fn from_content(
        label: &str,
        id: Option<String>,
        arn: Option<String>,
        name: Option<String>,
        kind: Option<PolicyKind>,
        content: &str,
    ) -> Result<Policy, ScpError> {
        // Organizations allows 128 characters for a name and ids and ARNs are short: a longer one is not a policy
        // AWS gave us, and would be repeated in every line that names the policy.
        for (what, v) in [("Id", &id), ("Arn", &arn), ("Name", &name)] {
            if let Some(v) = v.as_deref().filter(|v| v.len() > MAX_NAME) {
                return Err(invalid(
                    label,
                    &format!(
                        "its {what} is {} characters long (AWS allows far fewer): {}…",
                        v.len(),
                        v.chars().take(40).collect::<String>()
                    ),
                ));
            }
        }
        let tree = parse_tree(label, content)?;
        let document = tree.to_value();
        let (kind, notes) = validate(label, &document, kind)?;
        Ok(Policy {
            id,
            arn,
            name,
            kind,
            label: label.to_owned(),
            document,
            source: Some(content.to_owned()),
            notes,
        })
    }

    /// The AWS-managed `FullAWSAccess` (SCP) or `RCPFullAWSAccess` (RCP).
    pub fn full_access(kind: PolicyKind) -> Policy {
        let (text, name) = match kind {
            PolicyKind::Scp => (FULL_ACCESS, "FullAWSAccess"),
            PolicyKind::Rcp => (RCP_FULL_ACCESS, "RCPFullAWSAccess"),
        };
        Policy {
            id: Some(format!("p-{name}")),
            arn: None,
            name: Some(name.to_owned()),
            kind,
            label: name.to_owned(),
            document: serde_json::from_str(text).unwrap_or(Value::Null),
            source: Some(text.to_owned()),
            notes: Vec::new(),
        }
    }

    /// How to name it to a person: `SCP p-abc (Name)` or `SCP file.json`.
    pub fn display(&self) -> String {
        let kind = self.kind.label();
        match (&self.id, &self.name) {
            (Some(id), Some(n)) if !id.ends_with(n.as_str()) => format!("{kind} {id} ({n})"),
            (Some(id), _) => format!("{kind} {id}"),
            (None, Some(n)) => format!("{kind} {n}"),
            (None, None) => format!("{kind} {}", self.label),
        }
    }

    pub(crate) fn ordered(&self) -> OJson {
        self.source
            .as_deref()
            .and_then(|s| OJson::parse(s).ok())
            .filter(|t| t.to_value() == self.document)
            .unwrap_or_else(|| OJson::from_value(&self.document))
    }

    fn from_tree(label: &str, tree: &OJson, text: Option<&str>) -> Result<Policy, ScpError> {
        if let Some(p) = tree.get("Policy") {
            return describe_policy(label, p);
        }
        if tree.get("Statement").is_some() {
            let document = tree.to_value();
            let (kind, notes) = validate(label, &document, None)?;
            let source = text.map(str::to_owned).unwrap_or_else(|| tree.pretty());
            return Ok(Policy {
                id: None,
                arn: None,
                name: None,
                kind,
                label: label.to_owned(),
                document,
                source: Some(source),
                notes,
            });
        }
        Err(invalid(
            label,
            "not a policy: expected a policy document ({\"Statement\": ...}), `aws organizations describe-policy` \
             output ({\"Policy\": ...}) or a levels file ({\"levels\": [...]})",
        ))
    }
}

fn describe_policy(label: &str, p: &OJson) -> Result<Policy, ScpError> {
    let summary = p.get("PolicySummary");
    let field = |k: &str| match summary.and_then(|s| s.get(k)) {
        Some(OJson::Str(s)) => Some(s.clone()),
        _ => None,
    };
    let kind = match field("Type") {
        Some(t) => Some(PolicyKind::from_type(&t).ok_or_else(|| {
            invalid(label, &format!("policy type {t} is not evaluated here (only SERVICE_CONTROL_POLICY and RESOURCE_CONTROL_POLICY)"))
        })?),
        None => None,
    };
    let content = match p.get("Content") {
        Some(OJson::Str(s)) => s.clone(),
        // Some tools store the content already parsed.
        Some(o @ OJson::Obj(_)) => o.pretty(),
        _ => {
            return Err(invalid(
                label,
                "describe-policy JSON without Policy.Content",
            ))
        }
    };
    Policy::from_content(
        &format!("{label} (Content)"),
        field("Id"),
        field("Arn"),
        field("Name"),
        kind,
        &content,
    )
    .map(|mut pol| {
        pol.label = label.to_owned();
        pol
    })
}

pub(super) fn parse_tree(label: &str, text: &str) -> Result<OJson, ScpError> {
    // serde_json first: its messages are the familiar ones; our tree then adds order and duplicate detection.
    if let Err(e) = serde_json::from_str::<Value>(text) {
        return Err(ScpError::Json {
            label: label.to_owned(),
            reason: e.to_string(),
        });
    }
    let tree = OJson::parse(text).map_err(|reason| ScpError::Json {
        label: label.to_owned(),
        reason,
    })?;
    if let Some(k) = tree.duplicate_key() {
        return Err(invalid(
            label,
            &format!("duplicate JSON key {k}: which one AWS uses is not documented; merge them"),
        ));
    }
    Ok(tree)
}

pub(super) fn invalid(label: &str, reason: &str) -> ScpError {
    ScpError::Invalid {
        label: label.to_owned(),
        reason: reason.to_owned(),
    }
}

/// The statements of a document (`Statement` may be one object or an array).
pub(crate) fn statements(doc: &Value) -> Vec<&Value> {
    match doc.get("Statement") {
        Some(Value::Array(a)) => a.iter().collect(),
        Some(v @ Value::Object(_)) => vec![v],
        _ => Vec::new(),
    }
}

/// Statement label: its Sid, or `#i` (0-based position).
pub(crate) fn statement_label(stmt: &Value, index: usize) -> String {
    match stmt.get("Sid").and_then(Value::as_str) {
        Some(s) if !s.is_empty() => s.to_owned(),
        _ => format!("#{index}"),
    }
}

/// Statement labels of a document, unambiguous: a Sid used by more than one statement becomes `#i` for each.
pub(crate) fn statement_labels(doc: &Value) -> Vec<String> {
    let stmts = statements(doc);
    let labels: Vec<String> = stmts
        .iter()
        .enumerate()
        .map(|(i, s)| statement_label(s, i))
        .collect();
    let mut uses: std::collections::HashMap<&str, usize> = std::collections::HashMap::new();
    for l in &labels {
        *uses.entry(l.as_str()).or_default() += 1;
    }
    labels
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if uses[l.as_str()] > 1 {
                format!("#{i}")
            } else {
                l.clone()
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const DOC: &str = r#"{"Version":"2012-10-17","Statement":{"Sid":"D","Effect":"Deny","Action":"s3:*","Resource":"*"}}"#;

    #[test]
    fn bare_and_describe_policy() {
        let p = Policy::parse("a.json", DOC).unwrap();
        assert_eq!((p.kind, p.id.as_deref()), (PolicyKind::Scp, None));
        let rcp_doc = r#"{"Version":"2012-10-17","Statement":{"Sid":"D","Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}}"#;
        let dp = serde_json::json!({"Policy": {"PolicySummary": {"Id": "p-1", "Name": "N", "Type": "RESOURCE_CONTROL_POLICY", "Arn": "arn:x"}, "Content": rcp_doc}});
        let p = Policy::parse("b.json", &dp.to_string()).unwrap();
        assert_eq!(
            (p.kind, p.id.as_deref(), p.name.as_deref()),
            (PolicyKind::Rcp, Some("p-1"), Some("N"))
        );
        assert_eq!(p.display(), "RCP p-1 (N)");
        let tag = serde_json::json!({"Policy": {"PolicySummary": {"Type": "TAG_POLICY"}, "Content": DOC}});
        assert!(Policy::parse("t.json", &tag.to_string())
            .unwrap_err()
            .to_string()
            .contains("TAG_POLICY"));
        let rcp =
            r#"{"Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        let p = Policy::parse("r", rcp).unwrap();
        assert_eq!(p.kind, PolicyKind::Rcp);
        // Not silently: the guess and the missing Version are said.
        assert!(
            p.notes.iter().any(|n| n.contains("read as an RCP")),
            "{:?}",
            p.notes
        );
        assert!(
            p.notes.iter().any(|n| n.contains("no Version")),
            "{:?}",
            p.notes
        );
    }

    /// A Principal in a policy declared an SCP is bad input, not an RCP in disguise.
    #[test]
    fn declared_scp_with_a_principal_is_rejected() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Principal":"*","Action":"s3:*","Resource":"*"}]}"#;
        let dp = serde_json::json!({"Policy": {"PolicySummary": {"Id": "p-1", "Type": "SERVICE_CONTROL_POLICY"}, "Content": doc}});
        let e = Policy::parse("s.json", &dp.to_string())
            .unwrap_err()
            .to_string();
        assert!(e.contains("an SCP cannot name a Principal"), "{e}");
    }

    /// Two statements with one Sid: both are named by position, and the evaluation says so.
    #[test]
    fn duplicate_sids_are_flagged_and_disambiguated() {
        let doc = r#"{"Version":"2012-10-17","Statement":[{"Sid":"D","Effect":"Deny","Action":"s3:Get*","Resource":"*"},{"Sid":"D","Effect":"Deny","Action":"s3:Put*","Resource":"*"}]}"#;
        let p = Policy::parse("d.json", doc).unwrap();
        assert!(
            p.notes.iter().any(|n| n.contains("share the Sid")),
            "{:?}",
            p.notes
        );
        assert_eq!(statement_labels(&p.document), vec!["#0", "#1"]);
    }

    #[test]
    fn bad_documents_are_bad_input() {
        for (text, want) in [
            ("{", "malformed JSON"),
            ("[]", "not a policy"),
            (r#"{"Statement": []}"#, "empty"),
            (
                r#"{"Statement": [{"Effect": "deny", "Action": "*"}]}"#,
                "Effect",
            ),
            (r#"{"Statement": [{"Effect": "Deny"}]}"#, "neither"),
            (
                r#"{"Statement": [{"Effect": "Deny", "Action": 3}]}"#,
                "Action must",
            ),
            (
                r#"{"Statement": [{"Effect": "Deny", "Action": "*", "Condition": []}]}"#,
                "Condition",
            ),
            (
                r#"{"Statement": [{"Effect": "Deny", "Action": "*", "Action": "s3:*"}]}"#,
                "duplicate",
            ),
            (r#"{"levels": []}"#, "levels file"),
            // What AWS would not have stored as an SCP or RCP.
            (
                r#"{"Version": "2099-01-01", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}"#,
                "Version must be",
            ),
            (
                r#"{"Version": 2012, "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}"#,
                "Version must be",
            ),
            (
                r#"{"Version": "2008-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}"#,
                "Version must be",
            ),
            (
                r#"{"Statement": [{"Effect": "Deny", "Action": "*"}]}"#,
                "neither Resource nor NotResource",
            ),
            (
                r#"{"Statement": [{"Effect": "Deny", "Principal": {"AWS": "arn:aws:iam::111122223333:root"}, "Action": "s3:*", "Resource": "*"}]}"#,
                "Principal must be \"*\"",
            ),
            (
                r#"{"Statement": [{"Effect": "Deny", "Principal": "*", "NotAction": "s3:Get*", "Resource": "*"}]}"#,
                "RCPs do not support NotAction",
            ),
            (
                r#"{"Statement": [{"Effect": "Deny", "NotPrincipal": {"AWS": "x"}, "Action": "*", "Resource": "*"}]}"#,
                "RCPs do not support NotPrincipal",
            ),
        ] {
            let e = Policy::parse("f", text).unwrap_err().to_string();
            assert!(e.contains(want), "{text}: {e}");
        }
    }

    #[test]
    fn loose_files_and_levels_file() {
        let path = load_path(&[
            ("root.json".into(), DOC.into()),
            ("ou.json".into(), DOC.into()),
        ])
        .unwrap();
        assert!(path.assumed_full_access);
        assert_eq!(
            path.levels
                .iter()
                .map(|l| l.name.as_str())
                .collect::<Vec<_>>(),
            ["root.json", "ou.json"]
        );
        let lf = format!(
            r#"{{"management_account": "999999999999", "levels": [{{"name": "root", "policies": ["FullAWSAccess", {DOC}]}},
               {{"name": "ou", "policies": [{{"name": "X", "type": "SCP", "content": {content}}}]}}]}}"#,
            content = serde_json::to_string(DOC).unwrap()
        );
        let path = load_path(&[("l.json".into(), lf.clone())]).unwrap();
        assert!(!path.assumed_full_access);
        assert_eq!(path.management_account.as_deref(), Some("999999999999"));
        assert_eq!(path.levels[0].policies.len(), 2);
        assert_eq!(path.levels[1].policies[0].name.as_deref(), Some("X"));
        assert!(load_path(&[("l".into(), lf), ("x".into(), DOC.into())]).is_err());
        assert!(load_path(&[]).is_err());
        assert!(load_path(&[(
            "l".into(),
            r#"{"levels": [{"name": "r", "policies": ["Foo"]}]}"#.into()
        )])
        .is_err());
        assert!(load_path(&[("l".into(), r#"{"levels": [], "x": 1}"#.into())]).is_err());
    }

    #[test]
    fn ordered_keeps_source_order() {
        let p = Policy::parse("a", DOC).unwrap();
        let t = p.ordered().pretty();
        assert!(t.find("\"Version\"").unwrap() < t.find("\"Statement\"").unwrap());
    }
}
