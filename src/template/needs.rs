//! What a failed resource needs from elsewhere: the identifiers its message and its properties name —
//! docs/cross-stack-links.md#what-a-consumer-needs.

use std::sync::LazyLock;

use regex::Regex;
use serde_json::Value;

use super::pattern::Target;
use super::resolve::{Resolved, Scope};
use super::Resource;

/// An identifier a consumer names, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Named {
    pub text: String,
    /// `message`, or the property path (`Role`, `Subscription[0].Endpoint`).
    pub place: String,
    /// Named through `Fn::ImportValue`: only an export can provide it.
    pub import: bool,
}

static ARN: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r#"arn:aws[a-z-]*:[a-z0-9-]+:[a-z0-9-]*:\d{0,12}:[^\s'"`,;)\]}>]+"#)
        .expect("the ARN pattern compiles")
});
static QUOTED: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"'([^'\s]{3,256})'|"([^"\s]{3,256})"|\[([^\]\s,]{3,256})\]|\bnamed ([^\s'".,]{3,256})"#,
    )
    .expect("the quoted-name pattern compiles")
});

/// ARNs and quoted names in a message (the text the service wrote).
pub fn named_in_message(message: &str) -> Vec<Named> {
    let mut out: Vec<Named> = Vec::new();
    let mut add = |s: &str| {
        let s = s.trim_end_matches(['.', ':']);
        if s.len() >= 3 && !out.iter().any(|n| n.text == s) {
            out.push(Named {
                text: s.to_owned(),
                place: "message".into(),
                import: false,
            });
        }
    };
    for m in ARN.find_iter(message) {
        add(m.as_str());
    }
    for c in QUOTED.captures_iter(message) {
        if let Some(m) = c.iter().skip(1).flatten().next() {
            add(m.as_str());
        }
    }
    out
}

/// Every string leaf of a resource's resolved properties (as a stack event's `ResourceProperties` has them),
/// with its path.
pub fn named_in_properties(properties: &Value) -> Vec<Named> {
    let mut out = Vec::new();
    leaves(properties, String::new(), &mut |path, s| {
        out.push(Named {
            text: s.to_owned(),
            place: path,
            import: false,
        })
    });
    out
}

fn leaves(v: &Value, path: String, f: &mut dyn FnMut(String, &str)) {
    match v {
        Value::String(s) => f(path, s),
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                leaves(x, format!("{path}[{i}]"), f);
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                leaves(x, p, f);
            }
        }
        _ => {}
    }
}

/// The identifiers a template's resource names in one target account and Region: each property resolved and
/// rendered (a part that cannot be known leaves the value out), and every `Fn::ImportValue` name.
pub fn named_by_resource(scope: &Scope<'_>, r: &Resource, target: &Target<'_>) -> Vec<Named> {
    let mut out = Vec::new();
    walk(scope, &r.properties, String::new(), target, &mut out);
    out
}

/// Keep a rendered identifier unless a part of it cannot be known (`*`).
fn push_known(out: &mut Vec<Named>, text: String, place: String, import: bool) {
    if !text.contains('*') {
        out.push(Named {
            text,
            place,
            import,
        });
    }
}

fn walk(scope: &Scope<'_>, v: &Value, path: String, target: &Target<'_>, out: &mut Vec<Named>) {
    match v {
        Value::Object(m)
            if m.len() == 1
                && m.keys()
                    .next()
                    .is_some_and(|k| k == "Ref" || k.starts_with("Fn::")) =>
        {
            let (k, arg) = m.iter().next().expect("one entry");
            if k == "Fn::ImportValue" {
                if let Some(p) = scope.pattern(arg) {
                    push_known(out, p.render(target), path, true);
                }
                return;
            }
            match scope.resolve(v) {
                Resolved::Str(p) => push_known(out, p.render(target), path.clone(), false),
                Resolved::List(items) => {
                    for (i, item) in items.into_iter().enumerate() {
                        if let Resolved::Str(p) = item {
                            push_known(out, p.render(target), format!("{path}[{i}]"), false);
                        }
                    }
                }
                Resolved::Unknown => {}
            }
            // Imports nested in other functions (`!Sub ['…${Vpc}', {Vpc: !ImportValue x}]`).
            let mut imports = Vec::new();
            collect_imports(arg, &mut imports);
            for i in imports {
                if let Some(p) = scope.pattern(i) {
                    push_known(out, p.render(target), path.clone(), true);
                }
            }
        }
        Value::Object(m) => {
            for (k, x) in m {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                walk(scope, x, p, target, out);
            }
        }
        Value::Array(a) => {
            for (i, x) in a.iter().enumerate() {
                walk(scope, x, format!("{path}[{i}]"), target, out);
            }
        }
        Value::String(s) => out.push(Named {
            text: s.clone(),
            place: path,
            import: false,
        }),
        _ => {}
    }
}

fn collect_imports<'v>(v: &'v Value, out: &mut Vec<&'v Value>) {
    match v {
        Value::Object(m) => {
            for (k, x) in m {
                if k == "Fn::ImportValue" {
                    out.push(x);
                } else {
                    collect_imports(x, out);
                }
            }
        }
        Value::Array(a) => a.iter().for_each(|x| collect_imports(x, out)),
        _ => {}
    }
}
