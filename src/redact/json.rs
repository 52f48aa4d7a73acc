//! Redacting a JSON document held in a string (a policy's content, a JSON template) so that it stays one.

use std::borrow::Cow;

use super::patterns::digit_runs;
use super::Redactor;

impl Redactor {
    /// A JSON document held in a string (a policy's content, a JSON template): redacted token by token so it stays
    /// a JSON document. A string token is redacted as text (and re-encoded when it changed; a labelled key's value
    /// as that label's value); a 12-digit run in a number becomes a stand-in that is still a number (`9…` for
    /// `0…`). Some(None) when nothing changed; None when a token does not decode (not expected of a document
    /// that parsed: the caller then redacts it as plain text).
    pub(super) fn apply_json(&mut self, s: &str) -> Option<Option<String>> {
        let b = s.as_bytes();
        let mut out = String::with_capacity(s.len());
        let mut changed = false;
        // The last object key, while its value is being read.
        let mut key: Option<String> = None;
        let mut i = 0;
        while i < b.len() {
            match b[i] {
                b'"' => {
                    let end = string_end(b, i);
                    let raw = &s[i..end];
                    let text: String = serde_json::from_str(raw).ok()?;
                    let is_key = b[end..]
                        .iter()
                        .find(|c| !c.is_ascii_whitespace())
                        .is_some_and(|&c| c == b':');
                    let redacted = match key.take() {
                        Some(k) if !is_key && self.is_label(&k) => {
                            self.table.labelled(&k, &text).map(Cow::Owned)
                        }
                        _ => None,
                    }
                    .unwrap_or_else(|| self.apply(&text));
                    if is_key {
                        key = Some(text.clone());
                    }
                    match redacted {
                        Cow::Owned(r) if r != text => {
                            out.push_str(&serde_json::to_string(&r).ok()?);
                            changed = true;
                        }
                        _ => out.push_str(raw),
                    }
                    i = end;
                }
                c if c == b'-' || c.is_ascii_digit() => {
                    let end = b[i..]
                        .iter()
                        .position(|c| !matches!(c, b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E'))
                        .map_or(b.len(), |n| i + n);
                    let number = &s[i..end];
                    let mut last = 0;
                    for (a, z) in digit_runs(number).filter(|(a, z)| z - a == 12) {
                        out.push_str(&number[last..a]);
                        out.push_str(&numeric(&self.table.account(&number[a..z])));
                        last = z;
                        changed = true;
                    }
                    out.push_str(&number[last..]);
                    key = None;
                    i = end;
                }
                c => {
                    if c == b',' || c == b'{' || c == b'[' {
                        key = None;
                    }
                    // Structure, blanks, true/false/null: ASCII, copied as is.
                    let end = b[i..]
                        .iter()
                        .position(|&c| c == b'"' || c == b'-' || c.is_ascii_digit())
                        .map_or(b.len(), |n| i + n);
                    out.push_str(&s[i..end]);
                    i = end;
                }
            }
        }
        Some(changed.then_some(out))
    }

    fn is_label(&self, key: &str) -> bool {
        self.patterns
            .as_ref()
            .is_some_and(|p| p.label_key.is_match(key))
    }
}

/// Whether a string holds a whole JSON object or array (an embedded document, not a message that quotes one).
pub(super) fn is_json_document(s: &str) -> bool {
    let t = s.trim_start();
    (t.starts_with('{') || t.starts_with('['))
        && serde_json::from_str::<serde::de::IgnoredAny>(s).is_ok()
}

/// The end (exclusive) of the JSON string token starting at the quote `b[start]`.
fn string_end(b: &[u8], start: usize) -> usize {
    let mut i = start + 1;
    while i < b.len() {
        match b[i] {
            b'\\' => i += 2,
            b'"' => return i + 1,
            _ => i += 1,
        }
    }
    b.len()
}

/// An account stand-in as a JSON number: a number cannot start with `0`.
fn numeric(stand_in: &str) -> String {
    match stand_in.strip_prefix('0') {
        Some(rest) => format!("9{rest}"),
        None => stand_in.to_owned(),
    }
}
