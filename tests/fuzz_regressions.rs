//! The fuzzers' findings as regression tests: every reproducer under `tests/fixtures/fuzz/<target>/` and every file
//! of the committed corpus `fuzz/corpus/<target>/` goes through the same harness the fuzz target runs
//! (`tests/support/fuzz_harness.rs`); a panic or a broken invariant fails the test and names the file.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use stackset_doctor::template::Template;

#[path = "support/fuzz_harness.rs"]
mod harness;

fn files(target: &str) -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut out = Vec::new();
    for dir in [
        root.join("tests/fixtures/fuzz").join(target),
        root.join("fuzz/corpus").join(target),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        let mut paths: Vec<PathBuf> = entries
            .map(|e| e.expect("a directory entry").path())
            .collect();
        paths.sort();
        out.extend(paths.into_iter().filter(|p| p.is_file()));
    }
    out
}

/// A fuzz run counts a run over 5 s as a finding; a debug build on a busy machine gets more, still far below what
/// the defects found took (minutes to hours).
const SLOW: Duration = Duration::from_secs(30);

/// Run `harness` on every file of `target`; at least `min` files must exist (the corpus is committed).
fn run(target: &str, harness: fn(&[u8]), min: usize) {
    let files = files(target);
    assert!(
        files.len() >= min,
        "{target}: {} inputs, expected at least {min}",
        files.len()
    );
    let mut failed = Vec::new();
    for p in &files {
        let data = std::fs::read(p).expect("a fuzz input reads");
        let started = Instant::now();
        if std::panic::catch_unwind(|| harness(&data)).is_err() {
            failed.push(format!("{}: panicked", p.display()));
        } else if started.elapsed() > SLOW {
            failed.push(format!("{}: took {:?}", p.display(), started.elapsed()));
        }
    }
    assert!(failed.is_empty(), "{target}: {failed:#?}");
}

fn fixture(target: &str, name: &str) -> String {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/fuzz")
        .join(target)
        .join(name);
    std::fs::read_to_string(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// A template that would grow without bound or nest past any stack is an error that says where, not an
/// exhausted memory or stack.
#[test]
fn yaml_blow_ups_are_errors_with_a_location() {
    for (file, reason) in [
        ("aliases-of-aliases.yaml", "more than 1000000 values"),
        ("nested-16000-deep.yaml", "nested deeper than 128 levels"),
    ] {
        let e = Template::parse(&fixture("yaml", file)).expect_err(file);
        assert!(e.starts_with("line ") && e.contains(reason), "{file}: {e}");
    }
}

/// References that multiply resolve within a budget: what is within it is known, the rest unknown, and a
/// template of a few kilobytes is read at once.
#[test]
fn yaml_references_that_multiply_are_bounded() {
    let started = Instant::now();
    let t = Template::parse(&fixture("yaml", "references-that-multiply.yaml")).expect("parses");
    assert_eq!(t.resources.len(), 7);
    harness::yaml(fixture("yaml", "references-that-multiply.yaml").as_bytes());
    assert!(started.elapsed() < SLOW, "{:?}", started.elapsed());
}

#[test]
fn unwrap_inputs() {
    run("unwrap", harness::unwrap, 10);
}

#[test]
fn classify_inputs() {
    run("classify", harness::classify, 10);
}

#[test]
fn offline_inputs() {
    run("offline", harness::offline, 10);
}

#[test]
fn scp_policy_inputs() {
    run("scp_policy", harness::scp_policy, 5);
}

#[test]
fn yaml_inputs() {
    run("yaml", harness::yaml, 5);
}

#[test]
fn event_inputs() {
    run("event", harness::event, 4);
}
