//! Rule templates: `{name}` placeholders filled from a rule's captures and the failure's context.

use std::collections::BTreeMap;

/// Names used as `{name}` in a template; `{{` and `}}` are literal braces.
pub fn placeholders(template: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut chars = template.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        match c {
            '{' if chars.peek().map(|p| p.1) == Some('{') => {
                chars.next();
            }
            '}' if chars.peek().map(|p| p.1) == Some('}') => {
                chars.next();
            }
            '{' => {
                let rest = &template[i + 1..];
                let end = rest
                    .find('}')
                    .ok_or_else(|| format!("unclosed {{ at byte {i}"))?;
                let name = &rest[..end];
                if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                    return Err(format!(
                        "{{{name}}} is not a placeholder name (use {{{{ for a literal brace)"
                    ));
                }
                out.push(name.to_owned());
                for _ in 0..=end {
                    chars.next();
                }
            }
            '}' => {
                return Err(format!(
                    "unmatched }} at byte {i} (use }}}} for a literal brace)"
                ))
            }
            _ => {}
        }
    }
    Ok(out)
}

/// Fill a template's placeholders; a field that is absent renders as `<name>`, a blank for the reader to fill
/// (`in account <account>`), as `explain` shows a message seen without its context.
pub fn render(template: &str, fields: &BTreeMap<String, String>) -> String {
    let mut out = String::with_capacity(template.len() + 64);
    let mut rest = template;
    while let Some(i) = rest.find(['{', '}']) {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if tail.starts_with("{{") || tail.starts_with("}}") {
            out.push_str(&tail[..1]);
            rest = &tail[2..];
        } else if let (true, Some(end)) = (tail.starts_with('{'), tail.find('}')) {
            let name = &tail[1..end];
            match fields.get(name) {
                Some(v) => out.push_str(v),
                None => {
                    out.push('<');
                    out.push_str(name);
                    out.push('>');
                }
            }
            rest = &tail[end + 1..];
        } else {
            out.push_str(&tail[..1]);
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_and_escapes() {
        assert_eq!(
            placeholders("a {x} {{literal}} {y_2}").unwrap(),
            vec!["x", "y_2"]
        );
        assert!(placeholders("a {x").is_err());
        assert!(placeholders("a }").is_err());
        assert!(placeholders("{not valid}").is_err());
    }

    #[test]
    fn render_fills_and_marks_missing() {
        let mut f = BTreeMap::new();
        f.insert("x".to_owned(), "1".to_owned());
        assert_eq!(render("{x} {y} {{z}}", &f), "1 <y> {z}");
    }
}
