//! Report: one model of the diagnosis, rendered many ways.
//!
//! Takes a [`Diagnosis`]; gives a [`Report`] — the JSON contract (`stackset-doctor/report/v1`) — and renders
//! it as a terminal table, JSON, Markdown (a support-ticket attachment), Mermaid or Graphviz dot. Every
//! renderer writes to `&mut dyn Write`; text from the input is sanitised (terminal control characters) or
//! escaped (Markdown, Mermaid, dot) by the renderer that prints it.

pub mod dot;
pub mod json;
pub mod markdown;
pub mod mermaid;
pub mod model;
pub mod table;

use std::io::{self, Write};

pub use model::Report;

/// Output formats of `diagnose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
    Mermaid,
    Dot,
}

pub trait Reporter {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

pub fn reporter(format: Format) -> Box<dyn Reporter> {
    match format {
        Format::Table => Box::new(table::Table),
        Format::Json => Box::new(json::Json),
        Format::Markdown => Box::new(markdown::Markdown),
        Format::Mermaid => Box::new(mermaid::Mermaid),
        Format::Dot => Box::new(dot::Dot),
    }
}

/// Remove terminal control characters (ESC sequences could rewrite a terminal); newlines and tabs become
/// spaces so one message stays one line.
pub fn sanitize(s: &str) -> String {
    s.chars()
        .filter_map(|c| match c {
            '\n' | '\r' | '\t' => Some(' '),
            c if c.is_control() => None,
            // Bidirectional overrides can disguise text (CVE-2021-42574).
            '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' => None,
            c => Some(c),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn sanitize_strips_escapes_and_joins_lines() {
        assert_eq!(
            super::sanitize("a\x1b[31mred\x07\nb\u{202E}c"),
            "a[31mred bc"
        );
    }
}
