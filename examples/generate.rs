//! Write organisation-sized synthetic evidence for benchmarks:
//! `cargo run --release --example generate -- ACCOUNTS OUT_DIR [REGION...]` (the organisation), or
//! `... -- --tolerance ACCOUNTS OUT_DIR` (one stack set whose rollout to every account failed in 1 of 20 and was
//! cancelled by failure tolerance in the rest), or `... -- --dependencies ACCOUNTS OUT_DIR` (three stack sets, each
//! using what the one before creates: keys, topics, exports, roles, log groups).

#[path = "../tests/support/synth.rs"]
mod synth;

use synth::{dependencies_shape, generate, tolerance_shape, SynthConfig};

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    let usage = "usage: generate [--tolerance | --dependencies] ACCOUNTS OUT_DIR [REGION...]";
    let tolerance = args.next_if(|a| a == "--tolerance").is_some();
    let dependencies = args.next_if(|a| a == "--dependencies").is_some();
    let (Some(accounts), Some(out)) = (args.next(), args.next()) else {
        eprintln!("{usage}");
        std::process::exit(2);
    };
    let Ok(accounts) = accounts.parse::<usize>() else {
        eprintln!("{usage} (ACCOUNTS must be a number)");
        std::process::exit(2);
    };
    let mut cfg = SynthConfig {
        accounts,
        ..SynthConfig::default()
    };
    let regions: Vec<String> = args.collect();
    if !regions.is_empty() {
        cfg.regions = regions;
    }
    let result = if dependencies {
        dependencies_shape(accounts, std::path::Path::new(&out))
    } else if tolerance {
        tolerance_shape(accounts, 20, std::path::Path::new(&out))
    } else {
        generate(&cfg, std::path::Path::new(&out))
    };
    match result {
        Ok(s) => println!(
            "{} files, {} stacks ({} failed), {} events, {:.1} MB in {out}",
            s.files,
            s.stacks,
            s.failed_stacks,
            s.events,
            s.bytes as f64 / 1e6
        ),
        Err(e) => {
            eprintln!("generate: {out}: {e}");
            std::process::exit(1);
        }
    }
}
