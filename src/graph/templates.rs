//! Learn from stack set templates which IAM roles each stack set creates, so a failure naming a role as a
//! principal can be traced to the stack set that should have created it.
//!
//! Templates come as JSON or YAML text. CloudFormation's short-form tags (`!Sub`, `!Ref`) are read as their
//! plain values; `${...}` substitutions become `*` wildcards, since we only need to recognise the name.

use yaml_rust2::{Yaml, YamlLoader};

/// An IAM role a template creates: its logical id and its `RoleName` as a wildcard pattern.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RoleDef {
    pub logical_id: String,
    pub role_name: String,
}

/// Roles with an explicit `RoleName`. Roles without one get a generated name no failure can name in advance.
pub fn roles_created(template: &str) -> Vec<RoleDef> {
    let trimmed = template.trim_start();
    let doc = if trimmed.starts_with('{') {
        match serde_json::from_str::<serde_json::Value>(trimmed) {
            Ok(v) => json_to_yaml(&v),
            Err(_) => return Vec::new(),
        }
    } else {
        match YamlLoader::load_from_str(template) {
            Ok(mut docs) if !docs.is_empty() => docs.swap_remove(0),
            _ => return Vec::new(),
        }
    };
    let mut out = Vec::new();
    let Some(resources) = doc["Resources"].as_hash() else {
        return out;
    };
    for (k, v) in resources {
        let (Some(logical), Some(rtype)) = (k.as_str(), v["Type"].as_str()) else {
            continue;
        };
        if rtype != "AWS::IAM::Role" {
            continue;
        }
        if let Some(name) = name_pattern(&v["Properties"]["RoleName"]) {
            out.push(RoleDef {
                logical_id: logical.to_owned(),
                role_name: name,
            });
        }
    }
    out.sort_by(|a, b| a.logical_id.cmp(&b.logical_id));
    out
}

/// A string, `!Sub`/`Fn::Sub` (string or [string, vars]) or `Fn::Join`, as a `*` pattern.
fn name_pattern(v: &Yaml) -> Option<String> {
    match v {
        Yaml::String(s) => Some(subs_to_wildcards(s)),
        Yaml::Array(a) => {
            // `!Join ['', [a, !Ref b]]` arrives as [sep, [parts]]; `!Sub [s, {vars}]` as [s, {...}].
            if let (Some(Yaml::String(sep)), Some(Yaml::Array(parts))) = (a.first(), a.get(1)) {
                let parts: Vec<String> = parts
                    .iter()
                    .map(|p| name_pattern(p).unwrap_or_else(|| "*".into()))
                    .collect();
                return Some(parts.join(sep));
            }
            a.first().and_then(name_pattern)
        }
        Yaml::Hash(h) => {
            let (k, inner) = h.iter().next()?;
            match k.as_str()? {
                "Fn::Sub" | "Fn::Join" => name_pattern(inner),
                _ => Some("*".into()),
            }
        }
        _ => None,
    }
}

fn subs_to_wildcards(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        match rest[i..].find('}') {
            Some(end) => {
                out.push('*');
                rest = &rest[i + end + 1..];
            }
            None => {
                rest = &rest[i..];
                break;
            }
        }
    }
    out.push_str(rest);
    out
}

fn json_to_yaml(v: &serde_json::Value) -> Yaml {
    match v {
        serde_json::Value::Null => Yaml::Null,
        serde_json::Value::Bool(b) => Yaml::Boolean(*b),
        serde_json::Value::Number(n) => Yaml::Real(n.to_string()),
        serde_json::Value::String(s) => Yaml::String(s.clone()),
        serde_json::Value::Array(a) => Yaml::Array(a.iter().map(json_to_yaml).collect()),
        serde_json::Value::Object(o) => Yaml::Hash(
            o.iter()
                .map(|(k, v)| (Yaml::String(k.clone()), json_to_yaml(v)))
                .collect(),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn yaml_short_forms() {
        let t = r#"
AWSTemplateFormatVersion: '2010-09-09'
Resources:
  ManagementRole:
    Type: AWS::IAM::Role
    Properties:
      RoleName: ManagedInstance-CrossAccountManagementRole
  Regional:
    Type: AWS::IAM::Role
    Properties:
      RoleName: !Sub 'AWS-QuickSetup-${QSConfigurationId}-${AWS::Region}'
  Generated:
    Type: AWS::IAM::Role
    Properties: {}
  Bucket:
    Type: AWS::S3::Bucket
"#;
        assert_eq!(
            roles_created(t),
            vec![
                RoleDef {
                    logical_id: "ManagementRole".into(),
                    role_name: "ManagedInstance-CrossAccountManagementRole".into()
                },
                RoleDef {
                    logical_id: "Regional".into(),
                    role_name: "AWS-QuickSetup-*-*".into()
                },
            ]
        );
    }

    #[test]
    fn json_with_fn_join() {
        let t = r#"{"Resources": {"R": {"Type": "AWS::IAM::Role", "Properties": {"RoleName": {"Fn::Join": ["-", ["app", {"Ref": "Env"}]]}}}}}"#;
        assert_eq!(
            roles_created(t),
            vec![RoleDef {
                logical_id: "R".into(),
                role_name: "app-*".into()
            }]
        );
    }

    #[test]
    fn garbage_templates_give_nothing() {
        assert!(roles_created("{not json").is_empty());
        assert!(roles_created(": : :\n\t- [").is_empty());
    }
}
