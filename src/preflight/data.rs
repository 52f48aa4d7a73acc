//! The data preflight reads, embedded in the binary: the actions each CloudFormation registry handler calls
//! (`rules/preflight/resource-permissions.tsv`, made by `scripts/resource-permissions.py` from a pinned cfn-lint)
//! and which of them a template's properties make certain (`rules/preflight/properties.json`) —
//! docs/preflight.md#the-data.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Location};

const PERMISSIONS_FILE: &str = "rules/preflight/resource-permissions.tsv";
const PROPERTIES_FILE: &str = "rules/preflight/properties.json";

/// An embedded data file, by its path in the repository (`rules/…`).
fn embedded(file: &str) -> Result<&'static str, String> {
    crate::classify::rules::builtin_text(file.trim_start_matches("rules/"))
        .ok_or_else(|| format!("{file}: not in the embedded rules/ folder"))
}

/// Where the permissions come from: the cfn-lint version, the Region whose providers index was read, the date of
/// its schemas and the date the file was made.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Provenance {
    pub cfn_lint: String,
    pub region: String,
    pub schema_date: String,
    pub made: String,
}

/// The actions of one type's handlers.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Handlers {
    pub create: Vec<String>,
    pub update: Vec<String>,
    pub delete: Vec<String>,
}

/// One property entry of the map: a property present (a dotted path into nested objects), optionally with one
/// value, makes the create handler call these actions.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct PropertyRule {
    pub property: String,
    #[serde(default)]
    pub equals: Option<serde_json::Value>,
    pub actions: Vec<String>,
    /// The property whose value is the ARN the actions act on (a role passed, a signing config).
    #[serde(default)]
    pub resource: Option<String>,
}

/// What the map says of one type.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TypeRules {
    /// The actions the create handler always calls.
    pub base: Vec<String>,
    #[serde(default)]
    pub properties: Vec<PropertyRule>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct PropertiesFile {
    #[allow(dead_code)]
    about: String,
    types: HashMap<String, TypeRules>,
}

/// Both data files, read.
#[derive(Debug, Clone)]
pub struct Data {
    pub provenance: Provenance,
    pub handlers: HashMap<String, Handlers>,
    pub rules: HashMap<String, TypeRules>,
}

fn bad(file: &str, line: Option<usize>, reason: String) -> Error {
    Error::BadValue {
        location: Location {
            file: file.to_owned(),
            line,
            column: None,
        },
        reason,
    }
}

/// Read the permissions file: `#meta` line, then `type<TAB>handler<TAB>action,action,...`; other `#` lines are
/// comments. `file` names it in errors.
pub fn parse_permissions(
    file: &str,
    text: &str,
) -> Result<(Provenance, HashMap<String, Handlers>), Error> {
    let mut prov = None;
    let mut out: HashMap<String, Handlers> = HashMap::new();
    for (i, line) in text.lines().enumerate() {
        let n = Some(i + 1);
        if let Some(meta) = line.strip_prefix("#meta\t") {
            let mut p = Provenance::default();
            for kv in meta.split('\t') {
                let (k, v) = kv
                    .split_once('=')
                    .ok_or_else(|| bad(file, n, format!("{kv:?} is not key=value")))?;
                let slot = match k {
                    "cfn-lint" => &mut p.cfn_lint,
                    "region" => &mut p.region,
                    "schema-date" => &mut p.schema_date,
                    "made" => &mut p.made,
                    _ => return Err(bad(file, n, format!("unknown #meta key {k:?}"))),
                };
                *slot = v.to_owned();
            }
            if p.cfn_lint.is_empty() || p.made.is_empty() {
                return Err(bad(file, n, "#meta needs cfn-lint= and made=".into()));
            }
            prov = Some(p);
            continue;
        }
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let mut cols = line.split('\t');
        let (Some(ty), Some(handler), actions, None) = (
            cols.next(),
            cols.next(),
            cols.next().unwrap_or(""),
            cols.next(),
        ) else {
            return Err(bad(
                file,
                n,
                "expected type, handler and actions separated by tabs".into(),
            ));
        };
        if !ty.contains("::") {
            return Err(bad(file, n, format!("{ty:?} is not a resource type")));
        }
        let actions: Vec<String> = actions
            .split(',')
            .filter(|a| !a.is_empty())
            .map(str::to_owned)
            .collect();
        if let Some(a) = actions.iter().find(|a| !a.contains(':')) {
            return Err(bad(file, n, format!("{a:?} is not service:Action")));
        }
        let h = out.entry(ty.to_owned()).or_default();
        match handler {
            "create" => h.create = actions,
            "update" => h.update = actions,
            "delete" => h.delete = actions,
            "none" => {}
            other => return Err(bad(file, n, format!("unknown handler {other:?}"))),
        }
    }
    let prov =
        prov.ok_or_else(|| bad(file, None, "no #meta line (cfn-lint version, date)".into()))?;
    Ok((prov, out))
}

/// Read the property map and check it against the handlers: every action it names must be one the type's create
/// handler lists.
pub fn parse_rules(
    file: &str,
    text: &str,
    handlers: &HashMap<String, Handlers>,
) -> Result<HashMap<String, TypeRules>, Error> {
    let f: PropertiesFile = serde_json::from_str(text).map_err(|e| Error::Json {
        location: Location {
            file: file.to_owned(),
            line: Some(e.line()),
            column: Some(e.column()),
        },
        reason: e.to_string(),
    })?;
    for (ty, rules) in &f.types {
        let h = handlers.get(ty).ok_or_else(|| {
            bad(
                file,
                None,
                format!("{ty} is not in the registry's resource types"),
            )
        })?;
        let named = rules
            .base
            .iter()
            .chain(rules.properties.iter().flat_map(|p| &p.actions));
        for a in named {
            if !h.create.iter().any(|c| c.eq_ignore_ascii_case(a)) {
                return Err(bad(
                    file,
                    None,
                    format!("{ty}: {a} is not an action of its create handler"),
                ));
            }
        }
        if rules.base.is_empty() {
            return Err(bad(file, None, format!("{ty}: no base action")));
        }
    }
    Ok(f.types)
}

/// The embedded data, read once.
pub fn builtin() -> Result<&'static Data, Error> {
    static DATA: OnceLock<Result<Data, String>> = OnceLock::new();
    DATA.get_or_init(|| {
        let (provenance, handlers) =
            parse_permissions(PERMISSIONS_FILE, embedded(PERMISSIONS_FILE)?)
                .map_err(|e| e.to_string())?;
        let rules = parse_rules(PROPERTIES_FILE, embedded(PROPERTIES_FILE)?, &handlers)
            .map_err(|e| e.to_string())?;
        Ok(Data {
            provenance,
            handlers,
            rules,
        })
    })
    .as_ref()
    .map_err(|reason| Error::BadValue {
        location: Location::file("builtin:preflight"),
        reason: reason.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_data_loads_with_provenance() {
        let d = builtin().unwrap();
        assert_eq!(d.provenance.region, "us-east-1");
        assert!(d.provenance.cfn_lint.starts_with("1."));
        assert!(d.handlers.len() > 1000, "{}", d.handlers.len());
        let b = &d.handlers["AWS::S3::Bucket"];
        assert_eq!(
            b.create.first().map(String::as_str),
            Some("s3:CreateBucket")
        );
        assert!(b
            .create
            .iter()
            .any(|a| a == "s3:PutBucketPublicAccessBlock"));
        for ty in [
            "AWS::S3::Bucket",
            "AWS::IAM::Role",
            "AWS::Lambda::Function",
            "AWS::SNS::Topic",
            "AWS::SQS::Queue",
            "AWS::KMS::Key",
            "AWS::Logs::LogGroup",
        ] {
            assert!(d.rules.contains_key(ty), "{ty} has no property map");
        }
    }

    #[test]
    fn bad_permission_lines_name_the_file_and_line() {
        let e = parse_permissions("p.tsv", "AWS::S3::Bucket\tcreate\ts3:A\n").unwrap_err();
        assert!(
            e.to_string().contains("p.tsv") && e.to_string().contains("#meta"),
            "{e}"
        );
        let meta = "#meta\tcfn-lint=1\tregion=r\tschema-date=d\tmade=m\n";
        let e = parse_permissions("p.tsv", &format!("{meta}AWS::S3::Bucket\tcreate\tnope\n"))
            .unwrap_err();
        assert!(e.to_string().starts_with("p.tsv:2"), "{e}");
        let e = parse_permissions("p.tsv", &format!("{meta}AWS::S3::Bucket\tmake\ts3:A\n"))
            .unwrap_err();
        assert!(e.to_string().contains("unknown handler"), "{e}");
        let (p, h) = parse_permissions("p.tsv", &format!("{meta}AWS::X::Y\tnone\t\n")).unwrap();
        assert_eq!(p.cfn_lint, "1");
        assert!(h["AWS::X::Y"].create.is_empty());
    }

    #[test]
    fn a_mapped_action_the_handler_does_not_list_is_refused() {
        let meta = "#meta\tcfn-lint=1\tregion=r\tschema-date=d\tmade=m\n";
        let (_, h) = parse_permissions(
            "p",
            &format!("{meta}AWS::S3::Bucket\tcreate\ts3:CreateBucket\n"),
        )
        .unwrap();
        let ok = r#"{"about":"","types":{"AWS::S3::Bucket":{"base":["s3:CreateBucket"]}}}"#;
        assert!(parse_rules("m.json", ok, &h).is_ok());
        let bad = r#"{"about":"","types":{"AWS::S3::Bucket":{"base":["s3:CreateBucket"],"properties":[{"property":"Tags","actions":["s3:PutBucketTagging"]}]}}}"#;
        let e = parse_rules("m.json", bad, &h).unwrap_err();
        assert!(e.to_string().contains("s3:PutBucketTagging"), "{e}");
        let unknown = r#"{"about":"","types":{"AWS::S3::Nope":{"base":["s3:X"]}}}"#;
        assert!(parse_rules("m.json", unknown, &h).is_err());
        assert!(parse_rules("m.json", "{", &h)
            .unwrap_err()
            .to_string()
            .starts_with("m.json:"));
    }
}
