//! A JSON tree that keeps object key order and reports duplicate keys.
//!
//! `serde_json::Value` (without `preserve_order`) sorts keys, which would turn a one-line patch into a diff of
//! the whole policy, and silently keeps the last of duplicate keys, which would make us evaluate a statement
//! AWS may read differently. Patches are made on this tree; evaluation uses its `serde_json::Value` form.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
pub(crate) enum OJson {
    Null,
    Bool(bool),
    /// The number's text as written, so printing does not change `1.0` into `1`.
    Num(String),
    Str(String),
    Arr(Vec<OJson>),
    Obj(Vec<(String, OJson)>),
}

impl OJson {
    pub(crate) fn parse(text: &str) -> Result<OJson, String> {
        let mut p = Parser {
            s: text.as_bytes(),
            i: 0,
            text,
        };
        p.ws();
        let v = p.value(0)?;
        p.ws();
        if p.i != p.s.len() {
            return Err(p.err("trailing characters after the JSON value"));
        }
        Ok(v)
    }

    pub(crate) fn from_value(v: &Value) -> OJson {
        match v {
            Value::Null => OJson::Null,
            Value::Bool(b) => OJson::Bool(*b),
            Value::Number(n) => OJson::Num(n.to_string()),
            Value::String(s) => OJson::Str(s.clone()),
            Value::Array(a) => OJson::Arr(a.iter().map(OJson::from_value).collect()),
            Value::Object(o) => OJson::Obj(
                o.iter()
                    .map(|(k, v)| (k.clone(), OJson::from_value(v)))
                    .collect(),
            ),
        }
    }

    pub(crate) fn to_value(&self) -> Value {
        match self {
            OJson::Null => Value::Null,
            OJson::Bool(b) => Value::Bool(*b),
            OJson::Num(n) => serde_json::from_str(n).unwrap_or(Value::Null),
            OJson::Str(s) => Value::String(s.clone()),
            OJson::Arr(a) => Value::Array(a.iter().map(OJson::to_value).collect()),
            OJson::Obj(o) => {
                Value::Object(o.iter().map(|(k, v)| (k.clone(), v.to_value())).collect())
            }
        }
    }

    pub(crate) fn get(&self, key: &str) -> Option<&OJson> {
        match self {
            OJson::Obj(o) => o.iter().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    pub(crate) fn get_mut(&mut self, key: &str) -> Option<&mut OJson> {
        match self {
            OJson::Obj(o) => o.iter_mut().find(|(k, _)| k == key).map(|(_, v)| v),
            _ => None,
        }
    }

    /// The value under `key`, inserted at the end (as `default`) when absent. None if self is not an object.
    pub(crate) fn entry(&mut self, key: &str, default: OJson) -> Option<&mut OJson> {
        let OJson::Obj(o) = self else { return None };
        let pos = match o.iter().position(|(k, _)| k == key) {
            Some(p) => p,
            None => {
                o.push((key.to_owned(), default));
                o.len() - 1
            }
        };
        o.get_mut(pos).map(|(_, v)| v)
    }

    /// First duplicate key anywhere in the tree, as a path like `Statement[0].Condition`.
    pub(crate) fn duplicate_key(&self) -> Option<String> {
        fn walk(v: &OJson, at: &str) -> Option<String> {
            match v {
                OJson::Arr(a) => a
                    .iter()
                    .enumerate()
                    .find_map(|(i, x)| walk(x, &format!("{at}[{i}]"))),
                OJson::Obj(o) => {
                    let mut seen = std::collections::HashSet::with_capacity(o.len());
                    for (k, _) in o {
                        if !seen.insert(k.as_str()) {
                            return Some(if at.is_empty() {
                                k.clone()
                            } else {
                                format!("{at}.{k}")
                            });
                        }
                    }
                    o.iter().find_map(|(k, x)| {
                        walk(
                            x,
                            &if at.is_empty() {
                                k.clone()
                            } else {
                                format!("{at}.{k}")
                            },
                        )
                    })
                }
                _ => None,
            }
        }
        walk(self, "")
    }

    /// Compact text: no white space outside strings (what fits AWS's policy size limit best).
    pub(crate) fn compact(&self) -> String {
        let mut out = String::new();
        self.write_compact(&mut out);
        out
    }

    fn write_compact(&self, out: &mut String) {
        match self {
            OJson::Null => out.push_str("null"),
            OJson::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            OJson::Num(n) => out.push_str(n),
            OJson::Str(s) => out.push_str(&quote(s)),
            OJson::Arr(a) => {
                out.push('[');
                for (i, v) in a.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    v.write_compact(out);
                }
                out.push(']');
            }
            OJson::Obj(o) => {
                out.push('{');
                for (i, (k, v)) in o.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    out.push_str(&quote(k));
                    out.push(':');
                    v.write_compact(out);
                }
                out.push('}');
            }
        }
    }

    /// Pretty text, 4-space indent as in AWS's documentation and console.
    pub(crate) fn pretty(&self) -> String {
        let mut out = String::new();
        self.write(&mut out, 0);
        out.push('\n');
        out
    }

    fn write(&self, out: &mut String, indent: usize) {
        let pad = |n: usize| " ".repeat(n * 4);
        match self {
            OJson::Null => out.push_str("null"),
            OJson::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
            OJson::Num(n) => out.push_str(n),
            OJson::Str(s) => out.push_str(&quote(s)),
            OJson::Arr(a) if a.is_empty() => out.push_str("[]"),
            OJson::Obj(o) if o.is_empty() => out.push_str("{}"),
            OJson::Arr(a) => {
                out.push_str("[\n");
                for (i, v) in a.iter().enumerate() {
                    out.push_str(&pad(indent + 1));
                    v.write(out, indent + 1);
                    out.push_str(if i + 1 < a.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push(']');
            }
            OJson::Obj(o) => {
                out.push_str("{\n");
                for (i, (k, v)) in o.iter().enumerate() {
                    out.push_str(&pad(indent + 1));
                    out.push_str(&quote(k));
                    out.push_str(": ");
                    v.write(out, indent + 1);
                    out.push_str(if i + 1 < o.len() { ",\n" } else { "\n" });
                }
                out.push_str(&pad(indent));
                out.push('}');
            }
        }
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Nesting limit, so a hostile input cannot overflow the stack.
const MAX_DEPTH: usize = 128;

struct Parser<'a> {
    s: &'a [u8],
    i: usize,
    text: &'a str,
}

impl Parser<'_> {
    fn err(&self, what: &str) -> String {
        let upto = self.text.get(..self.i.min(self.text.len())).unwrap_or("");
        let line = upto.matches('\n').count() + 1;
        let col = upto.rsplit('\n').next().map_or(0, |l| l.chars().count()) + 1;
        format!("{what} at line {line} column {col}")
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn eat(&mut self, lit: &str) -> bool {
        if self.s[self.i..].starts_with(lit.as_bytes()) {
            self.i += lit.len();
            true
        } else {
            false
        }
    }

    fn value(&mut self, depth: usize) -> Result<OJson, String> {
        if depth > MAX_DEPTH {
            return Err(self.err("JSON nested too deeply"));
        }
        match self.s.get(self.i) {
            None => Err(self.err("unexpected end of input")),
            Some(b'{') => {
                self.i += 1;
                let mut o = Vec::new();
                self.ws();
                if self.eat("}") {
                    return Ok(OJson::Obj(o));
                }
                loop {
                    self.ws();
                    if self.s.get(self.i) != Some(&b'"') {
                        return Err(self.err("expected a string key"));
                    }
                    let k = self.string()?;
                    self.ws();
                    if !self.eat(":") {
                        return Err(self.err("expected ':'"));
                    }
                    self.ws();
                    let v = self.value(depth + 1)?;
                    o.push((k, v));
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("}") {
                        return Ok(OJson::Obj(o));
                    }
                    return Err(self.err("expected ',' or '}'"));
                }
            }
            Some(b'[') => {
                self.i += 1;
                let mut a = Vec::new();
                self.ws();
                if self.eat("]") {
                    return Ok(OJson::Arr(a));
                }
                loop {
                    self.ws();
                    a.push(self.value(depth + 1)?);
                    self.ws();
                    if self.eat(",") {
                        continue;
                    }
                    if self.eat("]") {
                        return Ok(OJson::Arr(a));
                    }
                    return Err(self.err("expected ',' or ']'"));
                }
            }
            Some(b'"') => Ok(OJson::Str(self.string()?)),
            Some(b't') if self.eat("true") => Ok(OJson::Bool(true)),
            Some(b'f') if self.eat("false") => Ok(OJson::Bool(false)),
            Some(b'n') if self.eat("null") => Ok(OJson::Null),
            Some(c) if *c == b'-' || c.is_ascii_digit() => {
                let start = self.i;
                while self.i < self.s.len()
                    && matches!(
                        self.s[self.i],
                        b'-' | b'+' | b'.' | b'e' | b'E' | b'0'..=b'9'
                    )
                {
                    self.i += 1;
                }
                let n = &self.text[start..self.i];
                if serde_json::from_str::<serde_json::Number>(n).is_err() {
                    return Err(self.err("malformed number"));
                }
                Ok(OJson::Num(n.to_owned()))
            }
            Some(_) => Err(self.err("unexpected character")),
        }
    }

    fn string(&mut self) -> Result<String, String> {
        // Find the closing quote, then let serde_json decode the escapes.
        let start = self.i;
        self.i += 1;
        while self.i < self.s.len() {
            match self.s[self.i] {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    let raw = self
                        .text
                        .get(start..self.i)
                        .ok_or_else(|| self.err("malformed string"))?;
                    return serde_json::from_str::<String>(raw)
                        .map_err(|e| self.err(&format!("malformed string ({e})")));
                }
                _ => self.i += 1,
            }
        }
        Err(self.err("unterminated string"))
    }
}

#[cfg(test)]
mod tests {
    use super::OJson;

    #[test]
    fn keeps_order_and_round_trips() {
        let t = r#"{"Version":"2012-10-17","Statement":[{"Sid":"A","Effect":"Deny","Action":["s3:*"],"N":1.50,"E":"\u00e9\n"}]}"#;
        let j = OJson::parse(t).unwrap();
        let OJson::Obj(o) = &j else { panic!() };
        assert_eq!(o[0].0, "Version");
        let p = j.pretty();
        assert!(p.find("\"Sid\"").unwrap() < p.find("\"Effect\"").unwrap());
        assert!(p.contains("1.50"));
        assert_eq!(OJson::parse(&p).unwrap(), j);
        assert_eq!(
            j.to_value(),
            serde_json::from_str::<serde_json::Value>(t).unwrap()
        );
    }

    #[test]
    fn finds_duplicates_and_errors() {
        let j = OJson::parse(r#"{"Statement":[{"Condition":{"A":{},"A":{}}}]}"#).unwrap();
        assert_eq!(
            j.duplicate_key().as_deref(),
            Some("Statement[0].Condition.A")
        );
        assert!(OJson::parse("{\"a\":}").unwrap_err().contains("line 1"));
        assert!(OJson::parse("[1,2").is_err());
        assert!(OJson::parse("\"abc").is_err());
        assert!(OJson::parse(&"[".repeat(1000)).is_err());
        assert!(OJson::parse("{} x").is_err());
    }
}
