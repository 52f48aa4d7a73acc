//! `stackset-doctor explain`: classify one message, or one per line of stdin, as the diagnosis would.

use std::collections::HashMap;
use std::io::{self, BufRead, Write};
use std::path::PathBuf;

use clap::ValueEnum;

use crate::failure::Failure;
use stackset_doctor::classify::{self, Catalog};
use stackset_doctor::error::{exit, Error};
use stackset_doctor::text::sanitize;

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum TextOrJson {
    Text,
    Json,
}

#[derive(clap::Args)]
pub struct Args {
    /// The message (quote it), or - to read one message per line from stdin.
    #[arg(value_name = "MESSAGE")]
    message: String,
    #[arg(long, short, value_enum, default_value_t = TextOrJson::Text)]
    format: TextOrJson,
    /// A folder of extra rule files.
    #[arg(long, value_name = "DIR")]
    rules: Option<PathBuf>,
    /// The failing resource's type, for rules that filter on it.
    #[arg(long, value_name = "TYPE")]
    resource_type: Option<String>,
    /// The failure's status (e.g. CREATE_FAILED), for rules that filter on it.
    #[arg(long, value_name = "STATUS")]
    status: Option<String>,
}

pub fn run(args: Args, out: &mut dyn Write) -> Result<i32, Failure> {
    let catalog = Catalog::load(args.rules.as_deref())?;
    let ctx = Ctx {
        catalog: &catalog,
        resource_type: args.resource_type.as_deref(),
        status: args.status.as_deref(),
        format: args.format,
    };
    let mut any_unknown = false;
    if args.message != "-" {
        any_unknown = ctx.explain(&args.message, out)?;
    } else {
        // Real inputs repeat heavily (one message per account and Region): each distinct message is classified
        // and rendered once, and every repeat writes the rendered answer again.
        let mut seen: HashMap<Vec<u8>, (Vec<u8>, bool)> = HashMap::new();
        let mut stdin = io::stdin().lock();
        let mut line = Vec::new();
        let mut number = 0usize;
        loop {
            line.clear();
            let n = stdin
                .read_until(b'\n', &mut line)
                .map_err(|source| Error::Io {
                    path: "<stdin>".into(),
                    source,
                })?;
            if n == 0 {
                break;
            }
            number += 1;
            let bytes = trim_line(&line);
            if bytes.iter().all(u8::is_ascii_whitespace) {
                continue;
            }
            if let Some((rendered, unknown)) = seen.get(bytes) {
                out.write_all(rendered)?;
                any_unknown |= unknown;
                continue;
            }
            let message = match std::str::from_utf8(bytes) {
                Ok(m) => std::borrow::Cow::Borrowed(m),
                Err(e) => {
                    eprintln!(
                        "warning: <stdin>:{number}: not UTF-8 at byte {}; invalid bytes replaced",
                        e.valid_up_to() + 1
                    );
                    String::from_utf8_lossy(bytes)
                }
            };
            let mut rendered = Vec::new();
            let unknown = ctx.explain(&message, &mut rendered)?;
            out.write_all(&rendered)?;
            any_unknown |= unknown;
            seen.insert(bytes.to_vec(), (rendered, unknown));
        }
    }
    Ok(if any_unknown {
        exit::FAILURES_UNEXPLAINED
    } else {
        exit::OK
    })
}

/// A line without its line ending (`\n` or `\r\n`).
fn trim_line(line: &[u8]) -> &[u8] {
    let line = line.strip_suffix(b"\n").unwrap_or(line);
    line.strip_suffix(b"\r").unwrap_or(line)
}

struct Ctx<'a> {
    catalog: &'a Catalog,
    resource_type: Option<&'a str>,
    status: Option<&'a str>,
    format: TextOrJson,
}

impl Ctx<'_> {
    /// Explain one message; true when no layer of the catalog knows it.
    fn explain(&self, m: &str, out: &mut dyn Write) -> Result<bool, Failure> {
        let (_, innermost, c) =
            classify::classify_message(self.catalog, m, self.resource_type, self.status);
        let unknown = c.rule.is_none();
        let nearest = || {
            self.catalog
                .nearest(&innermost, 3)
                .into_iter()
                .map(|(r, s)| (r.id.clone(), s))
                .collect::<Vec<_>>()
        };
        match self.format {
            TextOrJson::Json => {
                let v = serde_json::json!({
                    "message": m,
                    "innermost": innermost,
                    "rule": c.rule,
                    "matched_by": c.matched_by,
                    "layer": c.layer,
                    "category": c.category,
                    "role": c.role,
                    "confidence": c.confidence,
                    "fields": c.fields,
                    "nearest": if unknown { nearest().into_iter().map(|(id, _)| id).collect() } else { Vec::new() },
                });
                stackset_doctor::json::write(&mut *out, &v, false)?;
                writeln!(out)?;
            }
            TextOrJson::Text => {
                let near = if unknown { nearest() } else { Vec::new() };
                explain_text(self.catalog, &innermost, &c, &near, out)?
            }
        }
        Ok(unknown)
    }
}

fn explain_text(
    catalog: &Catalog,
    innermost: &str,
    c: &classify::Classification,
    near: &[(String, f32)],
    out: &mut dyn Write,
) -> io::Result<()> {
    let s = sanitize;
    writeln!(out, "message      {}", s(innermost))?;
    match &c.rule {
        Some(id) => {
            writeln!(
                out,
                "rule         {id}  ({}, {})",
                c.category,
                c.role.as_str()
            )?;
            if let (Some(by), Some(layer)) = (&c.matched_by, c.layer) {
                writeln!(
                    out,
                    "matched by   {}  ({layer} layer, confidence {:.2})",
                    s(by),
                    c.confidence
                )?;
            }
            if let Some(rule) = catalog.get(id) {
                writeln!(out, "title        {}", s(&rule.title))?;
                let f = &c.fields;
                write_fields(f, out)?;
                writeln!(
                    out,
                    "explanation  {}",
                    s(&classify::rules::render(&rule.explanation, f))
                )?;
                writeln!(
                    out,
                    "remediation  {}",
                    s(&classify::rules::render(&rule.remediation, f))
                )?;
            }
        }
        None => {
            writeln!(
                out,
                "rule         none: no rule, error code, handler code, status or wording is known; category other"
            )?;
            write_fields(&c.fields, out)?;
            if !near.is_empty() {
                let list: Vec<String> = near
                    .iter()
                    .map(|(r, s)| format!("{} ({:.0}% alike)", r, s * 100.0))
                    .collect();
                writeln!(out, "nearest      {}", list.join(", "))?;
            }
            writeln!(
                out,
                "hint         write a rule for it (see rules/README.md) and pass --rules DIR"
            )?;
        }
    }
    writeln!(out)
}

/// The fields, one per line, names aligned.
fn write_fields(
    fields: &std::collections::BTreeMap<String, String>,
    out: &mut dyn Write,
) -> io::Result<()> {
    let width = fields.keys().map(String::len).max().unwrap_or(0);
    for (k, v) in fields {
        writeln!(out, "  {k:<width$}  {}", sanitize(v))?;
    }
    Ok(())
}
