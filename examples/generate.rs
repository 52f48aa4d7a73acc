//! Write organisation-sized synthetic evidence for benchmarks:
//! `cargo run --release --example generate -- ACCOUNTS OUT_DIR [REGION...]`.

use stackset_doctor::synth::{generate, SynthConfig};

fn main() {
    let mut args = std::env::args().skip(1);
    let usage = "usage: generate ACCOUNTS OUT_DIR [REGION...]";
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
    match generate(&cfg, std::path::Path::new(&out)) {
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
