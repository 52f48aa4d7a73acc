//! JSON: the automation contract, schema `stackset-doctor/report/v1` (every key documented in the README), written
//! as every JSON this tool writes (`crate::json`).

use std::io::{self, Write};

use super::{Report, Reporter};

pub struct Json;

impl Reporter for Json {
    fn render(&self, report: &Report, out: &mut dyn Write) -> io::Result<()> {
        crate::json::write(&mut *out, report, true)?;
        writeln!(out)
    }
}
