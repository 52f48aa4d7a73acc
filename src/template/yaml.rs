//! A CloudFormation template in YAML, read into the same tree as its JSON form: the short-form tags become the
//! intrinsic functions they stand for (`!Sub x` → `{"Fn::Sub": x}`, `!Ref x` → `{"Ref": x}`, `!GetAtt a.b` →
//! `{"Fn::GetAtt": ["a", "b"]}`), and every scalar keeps its text (an unquoted account id stays
//! `"111122223333"`, never a number) — docs/cross-stack-links.md#templates.

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Parse YAML text into its JSON tree; the error names the line and column.
pub fn parse(text: &str) -> Result<Value, String> {
    let docs = load(text, false, false)
        .map_err(|(line, column, reason)| format!("line {line}, column {column}: {reason}"))?;
    Ok(docs.into_iter().next().unwrap_or(Value::Null))
}

/// Every document of a YAML stream, plain scalars resolved by YAML's core schema (`42` a number, `true` a
/// boolean, `'42'` text): the AWS CLI's `--output yaml` and `yaml-stream`, where the CLI quotes what is text.
/// The error is its line, column and reason.
pub fn parse_all_typed(text: &str) -> Result<Vec<Value>, (usize, usize, String)> {
    load(text, true, true)
}

/// Nodes a document may grow to through aliases before it is refused (a few aliases of aliases can otherwise
/// expand a small file exponentially).
const MAX_NODES: usize = 5_000_000;

fn load(text: &str, typed: bool, multi: bool) -> Result<Vec<Value>, (usize, usize, String)> {
    let mut b = Builder {
        typed,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    parser
        .load(&mut b, multi)
        .map_err(|e| (e.marker().line(), e.marker().col() + 1, e.info().to_owned()))?;
    if b.nodes > MAX_NODES {
        return Err((
            1,
            1,
            format!("the aliases expand it past {MAX_NODES} nodes"),
        ));
    }
    Ok(b.done)
}

/// A plain scalar by YAML 1.2's core schema (JSON's types): null, booleans, integers and floats; else text.
fn core_schema(text: String) -> Value {
    match text.as_str() {
        "~" | "null" | "Null" | "NULL" | "" => return Value::Null,
        "true" | "True" | "TRUE" => return Value::Bool(true),
        "false" | "False" | "FALSE" => return Value::Bool(false),
        _ => {}
    }
    let digits = text.strip_prefix(['-', '+']).unwrap_or(&text);
    if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) {
        if let Ok(n) = text.trim_start_matches('+').parse::<i64>() {
            return Value::from(n);
        }
        if let Ok(n) = text.trim_start_matches('+').parse::<u64>() {
            return Value::from(n);
        }
    }
    let numeric = digits
        .bytes()
        .next()
        .is_some_and(|b| b.is_ascii_digit() || b == b'.')
        && digits
            .bytes()
            .all(|b| b.is_ascii_digit() || matches!(b, b'.' | b'e' | b'E' | b'-' | b'+'));
    if numeric {
        if let Some(n) = text
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
        {
            return Value::Number(n);
        }
    }
    Value::String(text)
}

/// A node being built: a sequence or a mapping (with the key waiting for its value), and its tag.
enum Open {
    Seq(Vec<Value>, Option<String>),
    Map(Map<String, Value>, Option<Value>, Option<String>),
}

#[derive(Default)]
struct Builder {
    stack: Vec<Open>,
    done: Vec<Value>,
    /// Anchored nodes, by anchor id, for aliases (rare in templates, but legal).
    anchors: Vec<(usize, Value, usize)>,
    pending_anchor: Vec<usize>,
    /// Scalars resolved by the core schema (CLI output) rather than kept as text (templates).
    typed: bool,
    /// Nodes built so far, aliases counted at their full size; past [`MAX_NODES`] the rest is ignored.
    nodes: usize,
    /// Nodes at the start of each open collection, to size an anchored collection.
    starts: Vec<usize>,
}

/// The intrinsic function a short-form tag stands for.
fn function_of(tag: &Option<Tag>) -> Option<String> {
    let t = tag.as_ref()?;
    if t.handle != "!" {
        return None;
    }
    Some(match t.suffix.as_str() {
        "Ref" => "Ref".to_owned(),
        "Condition" => "Condition".to_owned(),
        other => format!("Fn::{other}"),
    })
}

/// `!GetAtt Res.Attr` is written as one string: the function takes the two parts.
fn wrap(function: Option<String>, v: Value) -> Value {
    match function {
        None => v,
        Some(f) => {
            let v = match (&*f, v) {
                ("Fn::GetAtt", Value::String(s)) => match s.split_once('.') {
                    Some((a, b)) => Value::Array(vec![a.into(), b.into()]),
                    None => Value::String(s),
                },
                (_, v) => v,
            };
            let mut m = Map::new();
            m.insert(f, v);
            Value::Object(m)
        }
    }
}

impl Builder {
    fn push_value(&mut self, v: Value, anchor: usize, size: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, v.clone(), size));
        }
        match self.stack.last_mut() {
            None => self.done.push(v),
            Some(Open::Seq(items, _)) => items.push(v),
            Some(Open::Map(map, key, _)) => match key.take() {
                None => {
                    *key = Some(v);
                }
                Some(k) => {
                    let k = match k {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    map.insert(k, v);
                }
            },
        }
    }
}

impl MarkedEventReceiver for Builder {
    fn on_event(&mut self, ev: Event, _mark: Marker) {
        if self.nodes > MAX_NODES {
            return;
        }
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == TScalarStyle::Plain && tag.is_none();
                let v = if plain && self.typed {
                    core_schema(text)
                } else if plain && matches!(text.as_str(), "~" | "null" | "Null" | "NULL" | "") {
                    Value::Null
                } else {
                    Value::String(text)
                };
                let v = wrap(function_of(&tag), v);
                self.nodes += 1;
                self.push_value(v, anchor, 1);
            }
            Event::SequenceStart(anchor, tag) => {
                self.pending_anchor.push(anchor);
                self.starts.push(self.nodes);
                self.stack.push(Open::Seq(Vec::new(), function_of(&tag)));
            }
            Event::MappingStart(anchor, tag) => {
                self.pending_anchor.push(anchor);
                self.starts.push(self.nodes);
                self.stack
                    .push(Open::Map(Map::new(), None, function_of(&tag)));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let anchor = self.pending_anchor.pop().unwrap_or(0);
                let start = self.starts.pop().unwrap_or(self.nodes);
                let v = match self.stack.pop() {
                    Some(Open::Seq(items, f)) => wrap(f, Value::Array(items)),
                    Some(Open::Map(map, _, f)) => wrap(f, Value::Object(map)),
                    None => return,
                };
                self.nodes += 1;
                let size = self.nodes - start;
                self.push_value(v, anchor, size);
            }
            Event::Alias(id) => {
                let (v, size) = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _, _)| *a == id)
                    .map(|(_, v, n)| (v, *n))
                    .unwrap_or((&Value::Null, 1));
                self.nodes = self.nodes.saturating_add(size);
                if self.nodes > MAX_NODES {
                    return;
                }
                let v = v.clone();
                self.push_value(v, 0, size);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn short_forms_become_intrinsic_functions() {
        let t = "Resources:\n  R:\n    Type: AWS::IAM::Role\n    Properties:\n      RoleName: !Sub 'app-${AWS::Region}'\n      Path: !Ref RolePath\n      Arn: !GetAtt Other.Arn\n      Joined: !Join ['-', [a, !Ref B]]\n      Tagged: !Select [0, !Split [',', !Ref List]]\n      Account: 111122223333\n      Empty:\n";
        let v = parse(t).unwrap();
        let p = &v["Resources"]["R"]["Properties"];
        assert_eq!(p["RoleName"], json!({"Fn::Sub": "app-${AWS::Region}"}));
        assert_eq!(p["Path"], json!({"Ref": "RolePath"}));
        assert_eq!(p["Arn"], json!({"Fn::GetAtt": ["Other", "Arn"]}));
        assert_eq!(p["Joined"], json!({"Fn::Join": ["-", ["a", {"Ref": "B"}]]}));
        assert_eq!(
            p["Tagged"],
            json!({"Fn::Select": ["0", {"Fn::Split": [",", {"Ref": "List"}]}]})
        );
        assert_eq!(
            p["Account"],
            json!("111122223333"),
            "an account id keeps its text"
        );
        assert_eq!(p["Empty"], Value::Null);
    }

    #[test]
    fn cli_output_resolves_plain_scalars_and_keeps_quoted_text() {
        let docs = parse_all_typed("- Summaries:\n  - Account: '111122223333'\n    Count: 3\n    On: true\n    Gone: null\n    Id: 012abc\n").unwrap();
        let s = &docs[0][0]["Summaries"][0];
        assert_eq!(s["Account"], json!("111122223333"));
        assert_eq!(s["Count"], json!(3));
        assert_eq!(s["On"], json!(true));
        assert_eq!(s["Gone"], Value::Null);
        assert_eq!(s["Id"], json!("012abc"));
        let two = parse_all_typed("a: 1\n---\nb: 2\n").unwrap();
        assert_eq!(two, vec![json!({"a": 1}), json!({"b": 2})]);
    }

    #[test]
    fn aliases_cannot_expand_without_bound() {
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..12 {
            t.push_str(&format!("a{i}: &a{i} [*a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}, *a{p}]\n", p = i - 1));
        }
        let e = parse_all_typed(&t).unwrap_err();
        assert!(e.2.contains("aliases"), "{e:?}");
        assert!(parse(&t).is_err());
    }

    #[test]
    fn broken_yaml_says_where() {
        let e = parse("a: [1, 2\nb: c").unwrap_err();
        assert!(e.starts_with("line "), "{e}");
    }
}
