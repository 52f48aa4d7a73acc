//! Report: one model of the diagnosis, rendered many ways.
//!
//! Takes a [`Diagnosis`]; gives a [`Report`] — the JSON contract (`stackset-doctor/report/v1`) — and renders
//! it as a terminal table, JSON, Markdown (a support-ticket attachment), a self-contained HTML page, Mermaid or
//! Graphviz dot. Every renderer writes to `&mut dyn Write`; text from the input is sanitised (terminal control
//! characters) or escaped (Markdown, HTML, Mermaid, dot) by the renderer that prints it. `timeline` (the failed
//! operations in time) and `layout` (the best-cause forest placed in columns and rows) are the models the
//! pictures draw.

pub mod console;
pub mod dot;
pub mod graph_view;
pub mod html;
pub mod json;
pub mod layout;
pub mod markdown;
pub mod mermaid;
pub mod model;
pub mod steps;
pub mod table;
pub mod timeline;

use std::io::{self, Write};

pub use model::Report;

/// Output formats of `diagnose`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Table,
    Json,
    Markdown,
    /// One self-contained page (docs/report-html.md).
    Html,
    Mermaid,
    Dot,
}

pub trait Reporter {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()>;
}

/// How the output is laid out: what the caller knows of where it goes (docs/report-layout.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    /// The width to lay out for, in columns: the terminal's, `COLUMNS`, or [`Options::PIPED_WIDTH`].
    pub width: usize,
    /// Whether the terminal report may colour its text (ANSI escapes).
    pub color: bool,
    /// Diagrams draw every link, not only each failure's best cause.
    pub all_links: bool,
}

impl Options {
    /// The width when the output is not a terminal and `COLUMNS` is not set: what a ticket or a log shows
    /// without scrolling sideways.
    pub const PIPED_WIDTH: usize = 100;
    /// Narrower than this, nothing reads: tables and prose are laid out for this width at least.
    pub const MIN_WIDTH: usize = 60;

    /// Options for output that is not a terminal: the default width, no colour.
    pub fn piped() -> Options {
        Options {
            width: Self::PIPED_WIDTH,
            color: false,
            all_links: false,
        }
    }

    pub fn with_color(self, color: bool) -> Options {
        Options { color, ..self }
    }

    pub fn with_width(self, width: usize) -> Options {
        Options {
            width: width.max(Self::MIN_WIDTH),
            ..self
        }
    }
}

impl Default for Options {
    fn default() -> Options {
        Options::piped()
    }
}

pub fn reporter(format: Format) -> Box<dyn Reporter> {
    reporter_with(format, Options::default())
}

pub fn reporter_with(format: Format, opts: Options) -> Box<dyn Reporter> {
    match format {
        Format::Table => Box::new(table::Table { opts }),
        Format::Json => Box::new(json::Json),
        Format::Markdown => Box::new(markdown::Markdown),
        Format::Html => Box::new(html::Html),
        Format::Mermaid => Box::new(mermaid::Mermaid { opts }),
        Format::Dot => Box::new(dot::Dot { opts }),
    }
}
