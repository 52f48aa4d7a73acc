//! Every JSON this tool writes (reports, bundles, `explain`, `rules list`, `scp`): besides what JSON itself escapes
//! (C0 controls, quotes, backslashes), it escapes C1 controls (U+0080–U+009F, which some terminals obey: U+009B is
//! CSI), the bidirectional overrides and isolates that can disguise text (CVE-2021-42574) and the line and paragraph
//! separators, as `\uXXXX`. That is lossless — a JSON reader gets the same string back — and `cat report.json` can no
//! longer drive a terminal.

use std::io::{self, Write};

use serde::Serialize;
use serde_json::ser::{CompactFormatter, Formatter, PrettyFormatter};

/// Serialise `value` as JSON (pretty or one line), with the escapes described in the module docs.
pub fn write<W: Write, T: Serialize + ?Sized>(out: W, value: &T, pretty: bool) -> io::Result<()> {
    if pretty {
        let mut ser =
            serde_json::Serializer::with_formatter(out, Safe(PrettyFormatter::with_indent(b"  ")));
        value.serialize(&mut ser).map_err(io::Error::from)
    } else {
        let mut ser = serde_json::Serializer::with_formatter(out, Safe(CompactFormatter));
        value.serialize(&mut ser).map_err(io::Error::from)
    }
}

/// [`write`] to a string.
pub fn to_string<T: Serialize + ?Sized>(value: &T, pretty: bool) -> io::Result<String> {
    let mut buf = Vec::new();
    write(&mut buf, value, pretty)?;
    String::from_utf8(buf).map_err(io::Error::other)
}

/// Characters that are valid in JSON strings but unsafe to print.
fn unsafe_char(c: char) -> bool {
    matches!(c, '\u{80}'..='\u{9F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// A formatter that escapes [`unsafe_char`]s and otherwise behaves as the one it wraps.
struct Safe<F>(F);

impl<F: Formatter> Formatter for Safe<F> {
    fn write_string_fragment<W: ?Sized + Write>(
        &mut self,
        w: &mut W,
        fragment: &str,
    ) -> io::Result<()> {
        let mut last = 0;
        for (i, c) in fragment.char_indices().filter(|&(_, c)| unsafe_char(c)) {
            w.write_all(&fragment.as_bytes()[last..i])?;
            write!(w, "\\u{:04x}", c as u32)?;
            last = i + c.len_utf8();
        }
        w.write_all(&fragment.as_bytes()[last..])
    }

    fn begin_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_array(w)
    }
    fn end_array<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array(w)
    }
    fn begin_array_value<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_array_value(w, first)
    }
    fn end_array_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_array_value(w)
    }
    fn begin_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object(w)
    }
    fn end_object<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object(w)
    }
    fn begin_object_key<W: ?Sized + Write>(&mut self, w: &mut W, first: bool) -> io::Result<()> {
        self.0.begin_object_key(w, first)
    }
    fn end_object_key<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_key(w)
    }
    fn begin_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.begin_object_value(w)
    }
    fn end_object_value<W: ?Sized + Write>(&mut self, w: &mut W) -> io::Result<()> {
        self.0.end_object_value(w)
    }
}

#[cfg(test)]
mod tests {
    /// C1 controls and bidi overrides come out escaped, and read back as the same string.
    #[test]
    fn unsafe_characters_are_escaped_losslessly() {
        let s = "a\u{9b}31mb\u{202e}c\u{2066}d\u{2028}e é 日本 \u{1F600}\n";
        for pretty in [false, true] {
            let out = super::to_string(&serde_json::json!({ "m": s }), pretty).unwrap();
            assert!(out.contains("\\u009b") && out.contains("\\u202e") && out.contains("\\u2066"));
            assert!(
                out.contains("é 日本 \u{1F600}"),
                "printable text is kept: {out}"
            );
            assert!(!out.chars().any(super::unsafe_char), "{out}");
            let back: serde_json::Value = serde_json::from_str(&out).unwrap();
            assert_eq!(back["m"], s);
        }
    }
}
