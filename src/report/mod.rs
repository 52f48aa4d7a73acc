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
