//! `stackset-doctor rules list|test|doc`: the rule catalog.

use std::io::{self, Write};
use std::path::PathBuf;

use crate::explain::TextOrJson;
use crate::failure::Failure;
use stackset_doctor::classify::{self, ruletest, Catalog};
use stackset_doctor::error::exit;
use stackset_doctor::text::sanitize;
use stackset_doctor::vocabulary::Category;

#[derive(clap::Subcommand)]
pub enum Command {
    /// List the rules of every layer: id, layer, category, role, priority, title.
    List {
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
        #[arg(long, short, value_enum, default_value_t = TextOrJson::Text)]
        format: TextOrJson,
    },
    /// Run every rule's examples and counter-examples (the built-in catalog, or only the rules in DIR).
    Test {
        #[arg(value_name = "DIR")]
        dir: Option<PathBuf>,
    },
    /// Print the catalog page (rules/README.md) generated from the rule files.
    Doc {
        #[arg(long, value_name = "DIR")]
        rules: Option<PathBuf>,
    },
}

pub fn run(c: Command, out: &mut dyn Write) -> Result<i32, Failure> {
    match c {
        Command::List { rules, format } => {
            let catalog = Catalog::load(rules.as_deref())?;
            list(&catalog, format, out)?;
            Ok(exit::OK)
        }
        Command::Doc { rules } => {
            let catalog = Catalog::load(rules.as_deref())?;
            write!(out, "{}", classify::rules::catalog_markdown(&catalog))?;
            Ok(exit::OK)
        }
        Command::Test { dir } => {
            let catalog = match &dir {
                Some(d) => Catalog::load_dir_only(d)?,
                None => Catalog::builtin()?,
            };
            test(&catalog, out)
        }
    }
}

fn list(catalog: &Catalog, format: TextOrJson, out: &mut dyn Write) -> io::Result<()> {
    match format {
        TextOrJson::Json => {
            let v: Vec<_> = catalog
                .rules
                .iter()
                .map(|r| {
                    serde_json::json!({
                        "id": r.id, "title": r.title, "layer": r.layer, "generic": r.generic,
                        "category": r.category, "role": r.role, "priority": r.priority,
                        "codes": r.codes, "origin": r.origin, "examples": r.examples.len(),
                    })
                })
                .collect();
            stackset_doctor::json::write(&mut *out, &v, true)?;
            writeln!(out)
        }
        TextOrJson::Text => {
            let w = catalog.rules.iter().map(|r| r.id.len()).max().unwrap_or(10);
            for r in &catalog.rules {
                let layer = if r.generic {
                    format!("{} (generic)", r.layer)
                } else {
                    r.layer.to_string()
                };
                writeln!(
                    out,
                    "{:<w$}  {:<22} {:<26} {:<11} {:>3}  {}",
                    r.id,
                    layer,
                    r.category.as_str(),
                    r.role.as_str(),
                    r.priority,
                    r.title
                )?;
            }
            writeln!(
                out,
                "{} rules, {} topologies",
                catalog.rules.len(),
                catalog.topologies.len()
            )
        }
    }
}

fn test(catalog: &Catalog, out: &mut dyn Write) -> Result<i32, Failure> {
    let t = ruletest::run(catalog);
    for f in &t.failed {
        writeln!(out, "FAIL {}", sanitize(f))?;
    }
    for n in &t.notes {
        writeln!(out, "note {}", sanitize(n))?;
    }
    writeln!(out, "by category (examples and counter-examples passing):")?;
    for (cat, (pass, total)) in &t.by_category {
        writeln!(out, "  {:<27} {pass}/{total}", cat.as_str())?;
    }
    writeln!(out, "by layer:")?;
    for (layer, (pass, total)) in &t.by_layer {
        writeln!(out, "  {:<27} {pass}/{total}", layer.as_str())?;
    }
    let covered = t.by_category.len();
    writeln!(
        out,
        "{} rules covering {covered} of {} categories",
        t.rules,
        Category::ALL.len()
    )?;
    writeln!(out, "{} passed, {} failed", t.passed, t.failed.len())?;
    Ok(if t.ok() { exit::OK } else { exit::ERROR })
}
