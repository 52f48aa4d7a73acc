//! A CloudFormation template in YAML, read into the same tree as its JSON form: the short-form tags become the
//! intrinsic functions they stand for (`!Sub x` → `{"Fn::Sub": x}`, `!Ref x` → `{"Ref": x}`, `!GetAtt a.b` →
//! `{"Fn::GetAtt": ["a", "b"]}`), and every scalar keeps its text (an unquoted account id stays
//! `"111122223333"`, never a number) — docs/cross-stack-links.md#templates.

use serde_json::{Map, Value};
use yaml_rust2::parser::{Event, MarkedEventReceiver, Parser, Tag};
use yaml_rust2::scanner::{Marker, TScalarStyle};

/// Parse YAML text into its JSON tree; the error names the line and column.
pub fn parse(text: &str) -> Result<Value, String> {
    let mut b = Builder::default();
    let mut parser = Parser::new_from_str(text);
    parser.load(&mut b, false).map_err(|e| {
        format!(
            "line {}, column {}: {}",
            e.marker().line(),
            e.marker().col() + 1,
            e.info()
        )
    })?;
    Ok(b.done.into_iter().next().unwrap_or(Value::Null))
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
    anchors: Vec<(usize, Value)>,
    pending_anchor: Vec<usize>,
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
    fn push_value(&mut self, v: Value, anchor: usize) {
        if anchor > 0 {
            self.anchors.push((anchor, v.clone()));
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
        match ev {
            Event::Scalar(text, style, anchor, tag) => {
                let plain = style == TScalarStyle::Plain;
                let v = if plain
                    && tag.is_none()
                    && matches!(text.as_str(), "~" | "null" | "Null" | "NULL" | "")
                {
                    Value::Null
                } else {
                    Value::String(text)
                };
                let v = wrap(function_of(&tag), v);
                self.push_value(v, anchor);
            }
            Event::SequenceStart(anchor, tag) => {
                self.pending_anchor.push(anchor);
                self.stack.push(Open::Seq(Vec::new(), function_of(&tag)));
            }
            Event::MappingStart(anchor, tag) => {
                self.pending_anchor.push(anchor);
                self.stack
                    .push(Open::Map(Map::new(), None, function_of(&tag)));
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let anchor = self.pending_anchor.pop().unwrap_or(0);
                let v = match self.stack.pop() {
                    Some(Open::Seq(items, f)) => wrap(f, Value::Array(items)),
                    Some(Open::Map(map, _, f)) => wrap(f, Value::Object(map)),
                    None => return,
                };
                self.push_value(v, anchor);
            }
            Event::Alias(id) => {
                let v = self
                    .anchors
                    .iter()
                    .rev()
                    .find(|(a, _)| *a == id)
                    .map(|(_, v)| v.clone())
                    .unwrap_or(Value::Null);
                self.push_value(v, 0);
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
    fn broken_yaml_says_where() {
        let e = parse("a: [1, 2\nb: c").unwrap_err();
        assert!(e.starts_with("line "), "{e}");
    }
}
