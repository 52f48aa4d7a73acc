//! Helpers shared by the integration tests.

use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

use stackset_doctor::classify::Catalog;
use stackset_doctor::report::{self, Format, Report};
use stackset_doctor::trace::Diagnosis;

/// Run the pipeline on paths (relative to the package root, where cargo runs tests).
pub fn diagnose(paths: &[&str]) -> Diagnosis {
    let catalog = Catalog::builtin().expect("built-in catalog loads");
    let paths: Vec<PathBuf> = paths.iter().map(PathBuf::from).collect();
    let loaded = stackset_doctor::collect::load_paths(&paths).expect("sample loads");
    stackset_doctor::diagnose(&loaded.evidence, &catalog, loaded.warnings)
}

/// The scenario folders under samples/: every folder but the broken inputs, the re-encoded ones and the
/// EventBridge events (`samples/events/`: inputs of `--event`, not evidence).
pub fn scenarios() -> Vec<String> {
    // "invalid" and "encodings" are evidence of another kind; "events" is no evidence at all.
    const NOT_SCENARIOS: [&str; 3] = ["invalid", "encodings", "events"];
    let mut v: Vec<String> = std::fs::read_dir("samples")
        .expect("samples/ exists")
        .filter_map(|e| e.ok())
        .filter(|e| e.path().is_dir())
        .filter_map(|e| e.file_name().to_str().map(str::to_owned))
        .filter(|n| !NOT_SCENARIOS.contains(&n.as_str()))
        .collect();
    v.sort();
    v
}

/// The synthetic organisation (tests/support/synth.rs) of `accounts` accounts, written to a scratch folder and
/// diagnosed.
pub fn diagnose_organisation(accounts: usize) -> Diagnosis {
    let dir = tempfile::tempdir().expect("scratch folder");
    let cfg = crate::synth::SynthConfig {
        accounts,
        ..Default::default()
    };
    crate::synth::generate(&cfg, dir.path()).expect("organisation written");
    diagnose(&[dir.path().to_str().expect("utf-8 path")])
}

pub fn render(d: &Diagnosis, format: Format) -> String {
    render_with(d, format, report::Options::default())
}

pub fn render_with(d: &Diagnosis, format: Format, opts: report::Options) -> String {
    let report = Report::new(d);
    let mut out = Vec::new();
    report::reporter_with(format, opts)
        .render(&report, &mut out)
        .expect("render");
    String::from_utf8(out).expect("utf-8 output")
}

/// Run the binary; returns (exit code, stdout, stderr).
pub fn run(args: &[&str], stdin: Option<&[u8]>) -> (i32, String, String) {
    run_env(args, stdin, &[])
}

/// [`run`] with environment variables set (and `COLUMNS`, `NO_COLOR`, `TERM` cleared unless given).
pub fn run_env(args: &[&str], stdin: Option<&[u8]>, env: &[(&str, &str)]) -> (i32, String, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_stackset-doctor"));
    for k in ["COLUMNS", "NO_COLOR", "TERM"] {
        cmd.env_remove(k);
    }
    for (k, v) in env {
        cmd.env(k, v);
    }
    cmd.args(args).stdout(Stdio::piped()).stderr(Stdio::piped());
    cmd.stdin(if stdin.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    });
    let mut child = cmd.spawn().expect("binary starts");
    if let Some(bytes) = stdin {
        use std::io::Write;
        let mut s = child.stdin.take().expect("stdin");
        s.write_all(bytes).expect("write stdin");
    }
    let Output {
        status,
        stdout,
        stderr,
    } = child.wait_with_output().expect("binary runs");
    (
        status.code().unwrap_or(-1),
        String::from_utf8_lossy(&stdout).into_owned(),
        String::from_utf8_lossy(&stderr).into_owned(),
    )
}
