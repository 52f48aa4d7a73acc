//! Offline collection: files, folders and stdin holding AWS CLI output (JSON or YAML) or an evidence bundle.
//!
//! Each file is recognised by its content, never its name. Files named on the command line must be
//! recognised (else an error naming the file); files found inside a folder that are of no known shape are
//! skipped as a coverage gap, so the verdict is never an all-clear. Malformed JSON is always an error: silently
//! dropping a truncated `describe-stack-events` file would hide evidence (docs/input-formats.md).

use std::path::{Path, PathBuf};

mod documents;
mod ingest;
mod pending;
mod trail;

use super::read::{read_path, read_stdin, special_kind, ReadLimits};
use crate::error::{Error, Location};
use crate::evidence::*;
use documents::load_bytes;
use pending::resolve_pending;

/// What offline collection gives: the evidence (with a coverage note per file or record that could not be read),
/// and warnings on what was read but ignored.
#[derive(Debug, Default)]
pub struct Loaded {
    pub evidence: Evidence,
    pub warnings: Vec<String>,
    pub files_read: usize,
}

/// Records whose stack set the content does not name wait for the folder name, resolved once all is read.
#[derive(Default)]
pub(super) struct Pending {
    pub(super) results: Vec<(OperationResult, Option<String>)>,
    pub(super) operations: Vec<(Operation, Option<String>)>,
}

/// One input to read: where it comes from, and whether an unknown shape is an error (named on the command
/// line) or a warning (found inside a folder).
struct Input {
    name: String,
    folder: Option<String>,
    path: Option<PathBuf>,
    stdin: Option<Vec<u8>>,
    strict: bool,
}

/// [`load_paths_with`] the default limits.
pub fn load_paths(paths: &[PathBuf]) -> Result<Loaded, Error> {
    load_paths_with(paths, &ReadLimits::default())
}

/// Load every path: a file, a folder (recursively, in name order) or `-` for stdin. Files are parsed in
/// parallel and merged in input order, so the result does not depend on scheduling.
pub fn load_paths_with(paths: &[PathBuf], limits: &ReadLimits) -> Result<Loaded, Error> {
    use rayon::prelude::*;
    let mut inputs = Vec::new();
    let mut skipped = Vec::new();
    for path in paths {
        if path.as_os_str() == "-" {
            let bytes = read_stdin(limits)?;
            inputs.push(Input {
                name: "<stdin>".into(),
                folder: None,
                path: None,
                stdin: Some(bytes),
                strict: true,
            });
            continue;
        }
        let meta = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.clone(),
            source,
        })?;
        if meta.is_dir() {
            list_dir(path, &mut inputs, &mut skipped)?;
        } else {
            inputs.push(Input {
                name: display(path),
                folder: folder_name(path),
                path: Some(path.clone()),
                stdin: None,
                strict: true,
            });
        }
    }
    let parts: Vec<Result<(Loaded, Pending), Error>> = inputs
        .into_par_iter()
        .map(|i| {
            load_input(i, limits).map(|(mut l, p)| {
                l.evidence.shrink_to_fit();
                (l, p)
            })
        })
        .collect();
    let mut loaded = Loaded::default();
    loaded.evidence.coverage = skipped;
    // The biggest vector, reserved once rather than doubled while merging.
    loaded.evidence.stack_events.reserve_exact(
        parts
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .map(|(l, _)| l.evidence.stack_events.len())
            .sum(),
    );
    let mut pending = Pending::default();
    for part in parts {
        let (l, p) = part?;
        loaded.evidence.extend(l.evidence);
        loaded.warnings.extend(l.warnings);
        loaded.files_read += l.files_read;
        pending.results.extend(p.results);
        pending.operations.extend(p.operations);
    }
    resolve_pending(&mut loaded.evidence, pending);
    loaded.evidence.normalize();
    Ok(loaded)
}

/// Read one file's bytes as if named on the command line (an unknown shape is an error): the offline reader
/// without the file system, for callers that already hold the bytes (and the fuzz targets).
pub fn load_bytes_as(name: &str, bytes: &[u8]) -> Result<Loaded, Error> {
    let mut loaded = Loaded::default();
    let mut pending = Pending::default();
    load_bytes(name, None, bytes, &mut loaded, &mut pending)?;
    resolve_pending(&mut loaded.evidence, pending);
    loaded.evidence.normalize();
    Ok(loaded)
}

fn load_input(input: Input, limits: &ReadLimits) -> Result<(Loaded, Pending), Error> {
    let mut loaded = Loaded::default();
    let mut pending = Pending::default();
    let bytes = match (input.stdin, &input.path) {
        (Some(b), _) => b,
        (None, Some(p)) => read_path(p, limits)?,
        (None, None) => Vec::new(),
    };
    match load_bytes(&input.name, input.folder, &bytes, &mut loaded, &mut pending) {
        Ok(()) => {}
        // Not text, or neither JSON nor YAML: a file beside the evidence, said once on stderr.
        Err(Error::NotEvidence { location, reason })
        | Err(Error::Encoding { location, reason })
            if !input.strict =>
        {
            loaded
                .warnings
                .push(format!("skipped {location}: {reason}"));
        }
        Err(Error::UnknownShape { location, reason }) if !input.strict => {
            // Evidence that could not be read is a gap, never silence (docs/input-formats.md#never-a-false-all-clear).
            loaded.evidence.coverage.push(CoverageNote {
                scope: location.to_string(),
                reason: format!("skipped: {reason}"),
            });
        }
        Err(e) => return Err(e),
    }
    Ok((loaded, pending))
}

fn list_dir(
    dir: &Path,
    inputs: &mut Vec<Input>,
    skipped: &mut Vec<CoverageNote>,
) -> Result<(), Error> {
    let walker = walkdir::WalkDir::new(dir)
        .sort_by_file_name()
        .follow_links(true);
    for entry in walker {
        let entry = entry.map_err(|e| Error::from_walk(e, dir))?;
        let t = entry.file_type();
        if t.is_dir() {
            continue;
        }
        if !t.is_file() {
            // A FIFO inside a folder would block the run; a socket or device is no saved output.
            skipped.push(CoverageNote {
                scope: entry.path().display().to_string(),
                reason: format!("skipped: {}, not a regular file", special_kind(t)),
            });
            continue;
        }
        let path = entry.path();
        inputs.push(Input {
            name: display(path),
            folder: folder_name(path),
            path: Some(path.to_path_buf()),
            stdin: None,
            strict: false,
        });
    }
    Ok(())
}

fn display(path: &Path) -> String {
    path.display().to_string()
}

fn folder_name(path: &Path) -> Option<String> {
    path.parent()?.file_name()?.to_str().map(str::to_owned)
}

pub(super) fn loc(file: &str) -> Location {
    Location::file(file)
}
