//! Text for people: what every renderer and the command line share to print input safely and briefly.

use unicode_width::UnicodeWidthStr;

/// Remove terminal control characters (ESC sequences could rewrite a terminal) and bidirectional overrides
/// (which can disguise text, CVE-2021-42574); newlines and tabs become spaces, so one message stays one line.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if unsafe_char(c) => None,
            c => Some(c),
        })
        .collect()
}

/// [`sanitize`], keeping line breaks: for multi-line text (a diff, a rendered verdict).
pub fn sanitize_lines(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' => Some('\n'),
            '\t' => Some(' '),
            c if unsafe_char(c) => None,
            c => Some(c),
        })
        .collect()
}

/// Control characters (C0, DEL, C1) and bidirectional overrides and isolates.
fn unsafe_char(c: char) -> bool {
    c.is_control() || matches!(c, '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// A list for one line: every item when there are at most `max`, else the first `keep` and the count —
/// `a, b, c, d, … (12 accounts)`.
pub fn shorten<S: AsRef<str>>(items: &[S], max: usize, keep: usize, noun: &str) -> String {
    let join = |v: &[S]| v.iter().map(AsRef::as_ref).collect::<Vec<_>>().join(", ");
    if items.len() <= max {
        return join(items);
    }
    let count = if noun.is_empty() {
        items.len().to_string()
    } else {
        format!("{} {noun}", items.len())
    };
    format!("{}, … ({count})", join(&items[..keep]))
}

/// At most `max` characters: longer text ends in `…`.
pub fn clip(s: &str, max: usize) -> String {
    match s.char_indices().nth(max.saturating_sub(1)) {
        Some((i, _)) if s.chars().count() > max => format!("{}…", &s[..i]),
        _ => s.to_owned(),
    }
}

/// A message as one line of plain spaces: every run of whitespace holding a line break (a terminal's wrapping, a
/// copy from a log viewer) becomes one space, and every other non-ASCII space (no-break, en, em, ...) a plain
/// one. Borrowed when there is nothing to change (nearly always).
pub fn fold_whitespace(s: &str) -> std::borrow::Cow<'_, str> {
    if !s.contains(['\n', '\r']) && s.is_ascii() {
        return std::borrow::Cow::Borrowed(s);
    }
    if !s.contains(['\n', '\r']) && !s.chars().any(|c| !c.is_ascii() && c.is_whitespace()) {
        return std::borrow::Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len());
    let mut pending: Option<(usize, bool)> = None; // (start of the whitespace run, whether it breaks a line)
    for (i, c) in s.char_indices() {
        if c.is_whitespace() {
            let p = pending.get_or_insert((i, false));
            p.1 |= c == '\n' || c == '\r';
            continue;
        }
        if let Some((start, breaks)) = pending.take() {
            push_run(&mut out, &s[start..i], breaks);
        }
        out.push(c);
    }
    if let Some((start, breaks)) = pending {
        if !breaks {
            push_run(&mut out, &s[start..], false);
        }
    }
    std::borrow::Cow::Owned(out)
}

/// A run of whitespace: one space for a line break (none at the start), else the run with plain spaces.
fn push_run(out: &mut String, run: &str, breaks: bool) {
    if breaks {
        if !out.is_empty() {
            out.push(' ');
        }
    } else {
        out.extend(run.chars().map(|c| if c.is_ascii() { c } else { ' ' }));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_breaks_and_unicode_spaces_fold_to_plain_spaces() {
        assert_eq!(fold_whitespace("a  b"), "a  b");
        assert!(matches!(
            fold_whitespace("a b"),
            std::borrow::Cow::Borrowed(_)
        ));
        assert_eq!(
            fold_whitespace("is not authorized\n   to perform:\r\n iam:CreateRole"),
            "is not authorized to perform: iam:CreateRole"
        );
        assert_eq!(fold_whitespace("\nx\n"), "x");
        assert_eq!(fold_whitespace("é\n\nü"), "é ü");
        assert_eq!(fold_whitespace("a\u{a0}b\u{2003} c"), "a b  c");
    }

    #[test]
    fn sanitize_strips_escapes_and_joins_lines() {
        assert_eq!(
            sanitize("a\x1b[31mred\x07\nb\u{202E}c\u{9b}d"),
            "a[31mred bcd"
        );
        assert_eq!(sanitize_lines("a\x1b[31m\nb\u{2066}c"), "a[31m\nbc");
    }

    #[test]
    fn lists_and_text_are_shortened() {
        assert_eq!(shorten(&["a", "b"], 2, 1, "x"), "a, b");
        assert_eq!(shorten(&["a", "b", "c"], 2, 1, "ids"), "a, … (3 ids)");
        assert_eq!(shorten(&["a", "b", "c"], 2, 1, ""), "a, … (3)");
        assert_eq!(clip("abcdef", 4), "abc…");
        assert_eq!(clip("abcd", 4), "abcd");
        assert_eq!(clip("ééééé", 3), "éé…");
    }
}

/// Words of `text` in lines of at most `width` columns (a word longer than that — an ARN — gets a line of its own).
pub fn wrap(text: &str, width: usize) -> Vec<String> {
    let mut lines = Vec::new();
    let mut line = String::new();
    let mut used = 0;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        let w = word.width();
        if used > 0 && used + 1 + w > width {
            lines.push(std::mem::take(&mut line));
            used = 0;
        }
        if used > 0 {
            line.push(' ');
            used += 1;
        }
        line.push_str(word);
        used += w;
    }
    if !line.is_empty() || lines.is_empty() {
        lines.push(line);
    }
    lines
}

/// [`wrap`], splitting words longer than `width` too (in a table cell an address may break; the JSON has it whole).
pub fn wrap_hard(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    for line in wrap(text, width) {
        if line.width() <= width {
            out.push(line);
            continue;
        }
        let mut chunk = String::new();
        let mut used = 0;
        for c in line.chars() {
            let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
            if used + w > width && !chunk.is_empty() {
                out.push(std::mem::take(&mut chunk));
                used = 0;
            }
            chunk.push(c);
            used += w;
        }
        out.push(chunk);
    }
    out
}

/// At most `max` columns: longer text ends in `…`.
pub fn clip_to(s: &str, max: usize) -> String {
    if s.width() <= max {
        return s.to_owned();
    }
    let mut out = String::new();
    let mut used = 0;
    for c in s.chars() {
        let w = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if used + w + 1 > max {
            break;
        }
        out.push(c);
        used += w;
    }
    out.push('…');
    out
}

#[cfg(test)]
mod wrap_tests {
    use super::*;
    #[test]
    fn wrap_keeps_words_and_gives_long_words_their_own_line() {
        assert_eq!(wrap("aa bb cc", 5), ["aa bb", "cc"]);
        assert_eq!(
            wrap("a arn:aws:iam::1:role/x b", 6),
            ["a", "arn:aws:iam::1:role/x", "b"]
        );
        assert_eq!(wrap("", 10), [""]);
    }

    #[test]
    fn clip_counts_columns_not_bytes() {
        assert_eq!(clip_to("日本語テキスト", 7), "日本語…");
        assert_eq!(clip_to("short", 10), "short");
    }
}

/// A resource type's last part in words: `AWS::IAM::InstanceProfile` → `instance profile`.
pub fn type_words(resource_type: &str) -> String {
    let ty = resource_type.rsplit("::").next().unwrap_or_default();
    let mut out = String::new();
    for (i, c) in ty.char_indices() {
        if c.is_ascii_uppercase() && i > 0 && !ty[..i].ends_with(|p: char| p.is_ascii_uppercase()) {
            out.push(' ');
        }
        out.push(c.to_ascii_lowercase());
    }
    if out.is_empty() {
        "resource".into()
    } else {
        out
    }
}

/// `1 deny`, `2 denies`: a count with its noun.
pub fn count(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
