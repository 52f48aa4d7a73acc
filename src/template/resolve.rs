//! Substitution: a template value as far as it can be known before deployment — parameters (the stack set's,
//! then an instance's overrides, then the template's defaults), pseudo parameters (account, Region and
//! partition stay placeholders until rendered for a target), `Ref` and `Fn::GetAtt` of the template's own
//! resources (through the type table), `Fn::Sub`, `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::FindInMap`, and
//! `Fn::If` when both branches agree. Everything else is unknown (`*`) — docs/cross-stack-links.md#substitution.

use std::cell::Cell;
use std::collections::HashMap;

use serde_json::Value;

use super::pattern::{Pattern, Piece, Target};
use super::types::{IdKind, IdTemplate, ResourceTypes, Slot};
use super::{Resource, Template};

/// A value: a string pattern, a list, or unknown.
#[derive(Debug, Clone, PartialEq)]
pub enum Resolved {
    Str(Pattern),
    List(Vec<Resolved>),
    Unknown,
}

impl Resolved {
    fn pattern(self) -> Pattern {
        match self {
            Resolved::Str(p) => p,
            _ => Pattern::any(),
        }
    }
}

/// Everything a value is resolved against.
pub struct Scope<'a> {
    pub template: &'a Template,
    pub types: &'a ResourceTypes,
    /// Parameter values given at deployment; a parameter missing here takes its default.
    pub values: &'a HashMap<String, String>,
    /// The stack set the stack belongs to (its stacks are named `StackSet-<name>-<id>`).
    pub stack_set: &'a str,
    /// The deployment target, when resolving for one instance (needed to look up a mapping by Region).
    pub target: Option<Target<'a>>,
}

/// The `${...}` variables of a `Fn::Sub` string (not `${!Literal}`).
pub fn sub_variables(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let Some(end) = rest[i..].find('}') else {
            break;
        };
        let var = &rest[i + 2..i + end];
        if !var.starts_with('!') {
            out.push(var.trim());
        }
        rest = &rest[i + end + 1..];
    }
    out
}

const MAX_DEPTH: usize = 24;

/// The most values one resolution looks at, and the most literal text it reads: references to resources whose
/// names are references again multiply (`R2: !Join ['', [!Ref R1, !Ref R1, ...]]`, `R3: ... !Ref R2 ...`), so
/// without a bound a template of a few kilobytes would take hours. Real templates need a few hundred; past the
/// bound a value is unknown, as one too deep is.
const MAX_STEPS: usize = 5_000;
const MAX_BYTES: usize = 1 << 20;

thread_local! {
    /// What the resolution under way on this thread has spent (values, bytes); `None` when there is none.
    static SPENT: Cell<Option<(usize, usize)>> = const { Cell::new(None) };
}

/// Runs `f` as one resolution with a budget of its own, unless it is part of one already.
fn budgeted<T>(f: impl FnOnce() -> T) -> T {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            SPENT.set(None);
        }
    }
    if SPENT.get().is_some() {
        return f();
    }
    SPENT.set(Some((0, 0)));
    let _reset = Reset;
    f()
}

/// Spend one value and `bytes` of text; false once the resolution is over its budget.
fn spend(bytes: usize) -> bool {
    let (steps, read) = SPENT.get().unwrap_or((0, 0));
    let spent = (steps + 1, read.saturating_add(bytes));
    SPENT.set(Some(spent));
    spent.0 <= MAX_STEPS && spent.1 <= MAX_BYTES
}

impl Scope<'_> {
    /// A value as far as it can be known.
    pub fn resolve(&self, v: &Value) -> Resolved {
        budgeted(|| self.value(v, 0))
    }

    /// A value as a string pattern (unknown when it is not a string).
    pub fn pattern(&self, v: &Value) -> Option<Pattern> {
        match self.resolve(v) {
            Resolved::Str(p) => Some(p),
            _ => None,
        }
    }

    fn value(&self, v: &Value, depth: usize) -> Resolved {
        let text = match v {
            Value::String(s) => s.len(),
            _ => 0,
        };
        if depth > MAX_DEPTH || !spend(text) {
            return Resolved::Unknown;
        }
        match v {
            Value::String(s) => Resolved::Str(Pattern::lit(s)),
            Value::Number(n) => Resolved::Str(Pattern::lit(&n.to_string())),
            Value::Bool(b) => Resolved::Str(Pattern::lit(&b.to_string())),
            Value::Null => Resolved::Unknown,
            Value::Array(a) => Resolved::List(a.iter().map(|x| self.value(x, depth + 1)).collect()),
            Value::Object(m) if m.len() == 1 => {
                let (k, arg) = m.iter().next().expect("one entry");
                self.function(k, arg, depth + 1)
            }
            Value::Object(_) => Resolved::Unknown,
        }
    }

    fn function(&self, name: &str, arg: &Value, depth: usize) -> Resolved {
        match name {
            "Ref" => match arg.as_str() {
                Some(r) => self.reference(r, depth),
                None => Resolved::Unknown,
            },
            "Fn::GetAtt" => {
                let (res, attr) = match arg {
                    Value::Array(a) => (
                        a.first().and_then(Value::as_str),
                        a.get(1).and_then(Value::as_str),
                    ),
                    Value::String(s) => match s.split_once('.') {
                        Some((a, b)) => (Some(a), Some(b)),
                        None => (None, None),
                    },
                    _ => (None, None),
                };
                match (res, attr) {
                    (Some(r), Some(a)) => self.attribute(r, a, depth),
                    _ => Resolved::Unknown,
                }
            }
            "Fn::Sub" => self.sub(arg, depth),
            "Fn::Join" => {
                let (Some(sep), Some(list)) = (arg.get(0).and_then(Value::as_str), arg.get(1))
                else {
                    return Resolved::Unknown;
                };
                match self.value(list, depth) {
                    Resolved::List(items) => {
                        let mut p = Pattern::default();
                        for (i, item) in items.into_iter().enumerate() {
                            if i > 0 {
                                p.push(Piece::Lit(sep.to_owned()));
                            }
                            p.append(&item.pattern());
                        }
                        Resolved::Str(p)
                    }
                    _ => Resolved::Str(Pattern::any()),
                }
            }
            "Fn::Select" => {
                let index = arg
                    .get(0)
                    .map(|i| self.value(i, depth))
                    .and_then(|i| match i {
                        Resolved::Str(p) => {
                            p.as_literal().and_then(|s| s.trim().parse::<usize>().ok())
                        }
                        _ => None,
                    });
                let list = arg.get(1).map(|l| self.value(l, depth));
                match (index, list) {
                    (Some(i), Some(Resolved::List(items))) => {
                        items.into_iter().nth(i).unwrap_or(Resolved::Unknown)
                    }
                    (Some(i), Some(Resolved::Str(p))) => match p.as_literal() {
                        Some(s) => s
                            .split(',')
                            .nth(i)
                            .map(|x| Resolved::Str(Pattern::lit(x.trim())))
                            .unwrap_or(Resolved::Unknown),
                        None => Resolved::Str(Pattern::any()),
                    },
                    _ => Resolved::Str(Pattern::any()),
                }
            }
            "Fn::Split" => {
                let (Some(sep), Some(s)) = (arg.get(0).and_then(Value::as_str), arg.get(1)) else {
                    return Resolved::Unknown;
                };
                match self.value(s, depth) {
                    Resolved::Str(p) => match p.as_literal() {
                        Some(text) => Resolved::List(
                            text.split(sep)
                                .map(|x| Resolved::Str(Pattern::lit(x)))
                                .collect(),
                        ),
                        None => Resolved::Unknown,
                    },
                    _ => Resolved::Unknown,
                }
            }
            "Fn::FindInMap" => self.find_in_map(arg, depth),
            "Fn::If" => {
                let (a, b) = (arg.get(1), arg.get(2));
                match (
                    a.map(|a| self.value(a, depth)),
                    b.map(|b| self.value(b, depth)),
                ) {
                    (Some(x), Some(y)) if x == y => x,
                    _ => Resolved::Str(Pattern::any()),
                }
            }
            // Imports, AZs, Base64, Cidr, transforms, conditions: nothing a template can tell.
            _ => Resolved::Str(Pattern::any()),
        }
    }

    /// `Ref`: a parameter, a pseudo parameter, or a resource of the template.
    fn reference(&self, name: &str, depth: usize) -> Resolved {
        match name {
            "AWS::AccountId" => return Resolved::Str(Pattern::piece(Piece::Account)),
            "AWS::Region" => return Resolved::Str(Pattern::piece(Piece::Region)),
            "AWS::Partition" => return Resolved::Str(Pattern::piece(Piece::Partition)),
            "AWS::URLSuffix" => return Resolved::Str(Pattern::piece(Piece::UrlSuffix)),
            "AWS::StackName" => {
                let mut p = Pattern::lit(&format!("StackSet-{}-", self.stack_set));
                p.push(Piece::Any);
                return Resolved::Str(p);
            }
            "AWS::NoValue" => return Resolved::Unknown,
            n if n.starts_with("AWS::") => return Resolved::Str(Pattern::any()),
            _ => {}
        }
        if let Some(v) = self.values.get(name) {
            if !spend(v.len()) {
                return Resolved::Unknown;
            }
            return Resolved::Str(Pattern::lit(v));
        }
        if let Some(default) = self.template.parameters.get(name) {
            return match default {
                Some(d) if !spend(d.len()) => Resolved::Unknown,
                Some(d) => Resolved::Str(Pattern::lit(d)),
                None => Resolved::Str(Pattern::any()),
            };
        }
        match self.template.resource(name) {
            Some(r) => {
                let kind = self.types.get(&r.resource_type).map(|t| t.reference);
                self.identifier(r, kind, depth)
            }
            None => Resolved::Unknown,
        }
    }

    fn attribute(&self, logical: &str, attr: &str, depth: usize) -> Resolved {
        let Some(r) = self.template.resource(logical) else {
            return Resolved::Unknown;
        };
        let kind = self
            .types
            .get(&r.resource_type)
            .and_then(|t| t.attributes.get(attr).copied());
        self.identifier(r, kind, depth)
    }

    fn identifier(&self, r: &Resource, kind: Option<IdKind>, depth: usize) -> Resolved {
        match kind {
            Some(k) => self
                .identifiers_at(r, depth)
                .into_iter()
                .find(|(kind, _)| *kind == k)
                .map(|(_, p)| Resolved::Str(p))
                .unwrap_or(Resolved::Str(Pattern::any())),
            None => Resolved::Str(Pattern::any()),
        }
    }

    fn sub(&self, arg: &Value, depth: usize) -> Resolved {
        let (text, vars) = match arg {
            Value::String(s) => (s.as_str(), None),
            Value::Array(a) => match a.first().and_then(Value::as_str) {
                Some(s) => (s, a.get(1).and_then(Value::as_object)),
                None => return Resolved::Unknown,
            },
            _ => return Resolved::Unknown,
        };
        let mut p = Pattern::default();
        let mut rest = text;
        while let Some(i) = rest.find("${") {
            p.push(Piece::Lit(rest[..i].to_owned()));
            let Some(end) = rest[i..].find('}') else {
                p.push(Piece::Lit(rest[i..].to_owned()));
                rest = "";
                break;
            };
            let var = rest[i + 2..i + end].trim();
            if let Some(literal) = var.strip_prefix('!') {
                p.push(Piece::Lit(format!("${{{literal}}}")));
            } else if let Some(v) = vars.and_then(|m| m.get(var)) {
                p.append(&self.value(v, depth).pattern());
            } else if let Some((res, attr)) = var.split_once('.') {
                p.append(&self.attribute(res, attr, depth).pattern());
            } else {
                p.append(&self.reference(var, depth).pattern());
            }
            rest = &rest[i + end + 1..];
        }
        p.push(Piece::Lit(rest.to_owned()));
        Resolved::Str(p)
    }

    fn find_in_map(&self, arg: &Value, depth: usize) -> Resolved {
        let key = |i: usize| -> Option<String> {
            let p = self.pattern_at(arg.get(i)?, depth)?;
            if let Some(s) = p.as_literal() {
                return Some(s.to_owned());
            }
            // A key by Region or account needs the target.
            let t = self.target?;
            (!p.has_any()).then(|| p.render(&t))
        };
        match (key(0), key(1), key(2)) {
            (Some(m), Some(a), Some(b)) => {
                let v = &self.template.mappings[&m][&a][&b];
                if v.is_null() {
                    Resolved::Str(Pattern::any())
                } else {
                    self.value(v, depth)
                }
            }
            _ => Resolved::Str(Pattern::any()),
        }
    }

    fn pattern_at(&self, v: &Value, depth: usize) -> Option<Pattern> {
        match self.value(v, depth) {
            Resolved::Str(p) => Some(p),
            _ => None,
        }
    }

    /// The identifiers the resource will have: its name, ARN and URL, as the type table forms them. A type not in
    /// the table contributes only what its properties name explicitly (`Name`, `…Name`).
    pub fn identifiers(&self, r: &Resource) -> Vec<(IdKind, Pattern)> {
        budgeted(|| self.identifiers_at(r, 0))
    }

    fn identifiers_at(&self, r: &Resource, depth: usize) -> Vec<(IdKind, Pattern)> {
        if depth > MAX_DEPTH {
            return Vec::new();
        }
        let props = &r.properties;
        let Some(t) = self.types.get(&r.resource_type) else {
            return props
                .as_object()
                .map(|m| {
                    m.iter()
                        .filter(|(k, _)| k.ends_with("Name"))
                        .filter_map(|(_, v)| self.pattern_at(v, depth + 1))
                        .filter(|p| p.literal_len() >= 4)
                        .map(|p| (IdKind::Name, p))
                        .collect()
                })
                .unwrap_or_default();
        };
        let mut out = Vec::new();
        let name = t
            .name
            .as_deref()
            .and_then(|n| props.get(n))
            .and_then(|v| self.pattern_at(v, depth + 1));
        if let Some(n) = &name {
            out.push((IdKind::Name, n.clone()));
        }
        for (kind, tpl) in [(IdKind::Arn, &t.arn), (IdKind::Url, &t.url)] {
            if let Some(tpl) = tpl {
                if let Some(p) = self.render_template(tpl, r, t.name.as_deref(), depth) {
                    out.push((kind, p));
                }
            }
        }
        out
    }

    /// An identifier template over the resource's properties; None when it needs the name and the name is
    /// generated.
    fn render_template(
        &self,
        tpl: &IdTemplate,
        r: &Resource,
        name_prop: Option<&str>,
        depth: usize,
    ) -> Option<Pattern> {
        let mut p = Pattern::default();
        for slot in &tpl.0 {
            match slot {
                Slot::Lit(l) => p.push(Piece::Lit(l.clone())),
                Slot::Pseudo(piece) => p.push(piece.clone()),
                Slot::Property { name, default } => {
                    match r
                        .properties
                        .get(name.as_str())
                        .and_then(|v| self.pattern_at(v, depth + 1))
                    {
                        Some(v) => p.append(&v),
                        None => match default {
                            Some(d) => p.push(Piece::Lit(d.clone())),
                            None if Some(name.as_str()) == name_prop => return None,
                            None => p.push(Piece::Any),
                        },
                    }
                }
            }
        }
        Some(p)
    }
}
