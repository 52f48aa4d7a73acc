//! A CloudFormation template in YAML, read into the same tree as its JSON form: the short-form tags become the
//! intrinsic functions they stand for (`!Sub x` → `{"Fn::Sub": x}`, `!Ref x` → `{"Ref": x}`, `!GetAtt a.b` →
//! `{"Fn::GetAtt": ["a", "b"]}`), and every scalar keeps its text (an unquoted account id stays
//! `"111122223333"`, never a number) — docs/cross-stack-links.md#templates.

use std::collections::HashMap;

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// The deepest nesting read, as for a JSON template (`serde_json`'s limit): deeper input would exhaust the stack
/// of whatever walks the tree.
const MAX_DEPTH: usize = 128;

/// The most values a document may build, aliases expanded: far more than a template of CloudFormation's largest
/// size holds, and a bound on what a few nested aliases (`&a [x, x]`, `&b [*a, *a]`, ...) would otherwise grow
/// to, exponentially.
const MAX_VALUES: usize = 1_000_000;

/// Where YAML broke: line, column and what.
type Fault = (usize, usize, String);

/// Parse YAML text into its JSON tree (its first document); the error names the line and column.
pub fn parse(text: &str) -> Result<Value, String> {
    let docs = load(text, false, false)
        .map_err(|(line, column, what)| format!("line {line}, column {column}: {what}"))?;
    Ok(docs.into_iter().next().unwrap_or(Value::Null))
}

/// Every document of a YAML stream, plain scalars resolved by YAML's core schema (`42` a number, `true` a
/// boolean, `'42'` text): the AWS CLI's `--output yaml` and `yaml-stream`, where the CLI quotes what is text
/// (docs/input-formats.md#formats).
pub fn parse_all_typed(text: &str) -> Result<Vec<Value>, Fault> {
    load(text, true, true)
}

fn load(text: &str, typed: bool, every_document: bool) -> Result<Vec<Value>, Fault> {
    let mut b = Builder {
        typed,
        ..Builder::default()
    };
    let mut parser = Parser::new_from_str(text);
    // The parser's events one at a time, not its recursive `load`: nesting is bounded here, before the stack is.
    loop {
        let (ev, mark) = parser.next_token().map_err(|e| at(e.marker(), e.info()))?;
        match ev {
            Event::StreamEnd => break,
            Event::DocumentEnd if !every_document => break,
            ev => b.on_event(ev, mark)?,
        }
    }
    Ok(b.done)
}

fn at(m: &Marker, what: &str) -> Fault {
    (m.line(), m.col() + 1, what.to_owned())
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
    /// Anchored nodes, by anchor id, with how many values each holds, for aliases (rare in templates, but legal).
    anchors: HashMap<usize, (Value, usize)>,
    pending_anchor: Vec<usize>,
    /// Values built so far, aliases expanded (at most [`MAX_VALUES`]).
    values: usize,
    /// Scalars resolved by the core schema (CLI output) rather than kept as text (templates).
    typed: bool,
}

/// How many values `v` holds, itself included.
fn count(v: &Value) -> usize {
    1 + match v {
        Value::Array(a) => a.iter().map(count).sum(),
        Value::Object(m) => m.values().map(count).sum(),
        _ => 0,
    }
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
    /// Count `n` more values built at `mark`; an error once the document holds more than [`MAX_VALUES`].
    fn grow(&mut self, n: usize, mark: &Marker) -> Result<(), Fault> {
        self.values = self.values.saturating_add(n);
        if self.values > MAX_VALUES {
            return Err(at(
                mark,
                &format!(
                    "the document expands to more than {MAX_VALUES} values (aliases of aliases?)"
                ),
            ));
        }
        Ok(())
    }

    fn push_value(&mut self, v: Value, anchor: usize, mark: &Marker) -> Result<(), Fault> {
        if anchor > 0 {
            let n = count(&v);
            // The copy kept for the aliases costs as much as the value.
            self.grow(n, mark)?;
            self.anchors.insert(anchor, (v.clone(), n));
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
        Ok(())
    }

    fn open(&mut self, node: Open, anchor: usize, mark: &Marker) -> Result<(), Fault> {
        if self.stack.len() >= MAX_DEPTH {
            return Err(at(mark, &format!("nested deeper than {MAX_DEPTH} levels")));
        }
        self.pending_anchor.push(anchor);
        self.stack.push(node);
        Ok(())
    }

    fn on_event(&mut self, ev: Event, mark: Marker) -> Result<(), Fault> {
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                self.grow(1, &mark)?;
                let plain = style == TScalarStyle::Plain && tag.is_none();
                let v = if plain && self.typed {
                    core_schema(text)
                } else if plain && matches!(text.as_str(), "~" | "null" | "Null" | "NULL" | "") {
                    Value::Null
                } else {
                    Value::String(text)
                };
                let v = wrap(function_of(&tag), v);
                self.push_value(v, anchor, &mark)
            }
            Event::SequenceStart(anchor, tag) => {
                self.open(Open::Seq(Vec::new(), function_of(&tag)), anchor, &mark)
            }
            Event::MappingStart(anchor, tag) => self.open(
                Open::Map(Map::new(), None, function_of(&tag)),
                anchor,
                &mark,
            ),
            Event::SequenceEnd | Event::MappingEnd => {
                self.grow(1, &mark)?;
                let anchor = self.pending_anchor.pop().unwrap_or(0);
                let v = match self.stack.pop() {
                    Some(Open::Seq(items, f)) => wrap(f, Value::Array(items)),
                    Some(Open::Map(map, _, f)) => wrap(f, Value::Object(map)),
                    None => return Ok(()),
                };
                self.push_value(v, anchor, &mark)
            }
            Event::Alias(id) => {
                let n = self.anchors.get(&id).map_or(1, |(_, n)| *n);
                // Counted before it is copied: the copy is what would run out of memory.
                self.grow(n, &mark)?;
                let v = self
                    .anchors
                    .get(&id)
                    .map_or(Value::Null, |(v, _)| v.clone());
                self.push_value(v, 0, &mark)
            }
            _ => Ok(()),
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
    fn aliases_are_expanded() {
        let v = parse("a: &x [1, !Ref B]\nb: *x\nc: *unknown_is_an_error\n");
        assert!(
            v.unwrap_err().contains("unknown"),
            "an alias of nothing is refused by the parser"
        );
        let v = parse("a: &x [1, !Ref B]\nb: *x\n").unwrap();
        assert_eq!(v["b"], json!(["1", {"Ref": "B"}]));
    }

    #[test]
    fn aliases_of_aliases_are_bounded() {
        // Nine levels of ten aliases each would be 10^9 values.
        let mut t = String::from("a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
        for i in 1..9 {
            let refs = vec![format!("*a{}", i - 1); 10].join(", ");
            t.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let e = parse(&t).unwrap_err();
        assert!(
            e.starts_with("line 6, column 40: ") && e.contains("more than 1000000 values"),
            "{e}"
        );
    }

    #[test]
    fn deep_nesting_is_an_error_not_a_stack_overflow() {
        let e = parse(&format!("{}x", "- ".repeat(100_000))).unwrap_err();
        assert_eq!(e, "line 1, column 257: nested deeper than 128 levels");
        let ok = format!("{}x", "- ".repeat(MAX_DEPTH));
        assert!(parse(&ok).is_ok());
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
        assert_eq!(parse("a: 1\n---\nb: 2\n").unwrap(), json!({"a": "1"}));
    }

    #[test]
    fn broken_yaml_says_where() {
        let e = parse("a: [1, 2\nb: c").unwrap_err();
        assert!(e.starts_with("line "), "{e}");
    }
}
