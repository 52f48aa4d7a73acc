//! `stackset-doctor explain`: classify one message, or one per line of stdin, as the diagnosis would.

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
    let messages: Vec<String> = if args.message == "-" {
        io::stdin()
            .lock()
            .lines()
            .collect::<Result<Vec<_>, _>>()
            .map_err(|source| Error::Io {
                path: "<stdin>".into(),
                source,
            })?
            .into_iter()
            .filter(|l| !l.trim().is_empty())
            .collect()
    } else {
        vec![args.message.clone()]
    };
    let mut any_unknown = false;
    for m in &messages {
        let u = classify::unwrap::unwrap(m);
        let c = classify::classify_unwrapped(
            &catalog,
            &u,
            args.resource_type.as_deref(),
            args.status.as_deref(),
        );
        any_unknown |= c.rule.is_none();
        match args.format {
            TextOrJson::Json => {
                let v = serde_json::json!({
                    "message": m,
                    "innermost": u.innermost(),
                    "rule": c.rule,
                    "category": c.category,
                    "role": c.role,
                    "fields": c.fields,
                    "nearest": if c.rule.is_none() {
                        catalog.nearest(u.innermost(), 3).iter().map(|(r, _)| r.id.clone()).collect::<Vec<_>>()
                    } else {
                        Vec::new()
                    },
                });
                stackset_doctor::json::write(&mut *out, &v, false)?;
                writeln!(out)?;
            }
            TextOrJson::Text => explain_text(&catalog, &u, &c, out)?,
        }
    }
    Ok(if any_unknown {
        exit::FAILURES_UNEXPLAINED
    } else {
        exit::OK
    })
}

fn explain_text(
    catalog: &Catalog,
    u: &classify::Unwrapped<'_>,
    c: &classify::Classification,
    out: &mut dyn Write,
) -> io::Result<()> {
    let s = sanitize;
    writeln!(out, "message      {}", s(u.innermost()))?;
    match &c.rule {
        Some(id) => {
            writeln!(
                out,
                "rule         {id}  ({}, {})",
                c.category,
                c.role.as_str()
            )?;
            if let Some(rule) = catalog.get(id) {
                writeln!(out, "title        {}", s(&rule.title))?;
                let f = &c.fields;
                for (k, v) in f {
                    writeln!(out, "  {k:<11}{}", s(v))?;
                }
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
            writeln!(out, "rule         none: category other, role unknown")?;
            for (k, v) in &c.fields {
                writeln!(out, "  {k:<11}{}", s(v))?;
            }
            let near = catalog.nearest(u.innermost(), 3);
            if !near.is_empty() {
                let list: Vec<String> = near
                    .iter()
                    .map(|(r, s)| format!("{} ({:.0}% alike)", r.id, s * 100.0))
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
