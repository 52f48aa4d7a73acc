//! `stackset-doctor schema report|evidence`: the JSON Schema of the report or of the evidence bundle.

use std::io::Write;

use crate::failure::Failure;
use stackset_doctor::error::exit;
use stackset_doctor::schema::{self, Document};

pub const HELP: &str = "The schemas are generated from the types the tool serialises; the repository commits \
them as docs/schema/report-v1.schema.json and docs/schema/evidence-v1.schema.json (regenerate them with \
scripts/schema.sh). Validate a report in a pipeline with any JSON Schema (draft 2020-12) validator.\n\nExamples:\n  \
stackset-doctor schema report > report-v1.schema.json\n  stackset-doctor schema evidence > evidence-v1.schema.json";

#[derive(clap::Args)]
pub struct Args {
    /// Which document: the JSON report (`diagnose --format json`) or the evidence bundle (`--save`, `collect -o`).
    #[arg(value_enum)]
    document: Which,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum Which {
    /// stackset-doctor/report/v1
    Report,
    /// stackset-doctor/evidence/v1
    Evidence,
}

pub fn run(args: Args, out: &mut dyn Write) -> Result<i32, Failure> {
    let doc = match args.document {
        Which::Report => Document::Report,
        Which::Evidence => Document::Evidence,
    };
    out.write_all(schema::text(doc)?.as_bytes())?;
    Ok(exit::OK)
}
