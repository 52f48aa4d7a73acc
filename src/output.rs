//! Writing files the user names (`--save`, `collect -o`, `scp fix --write`), the same way everywhere.
//!
//! - `-` means standard output, never a file named `-`.
//! - A file is replaced atomically: a uniquely named temp file beside it, synced, then renamed over it, so an
//!   interrupted run never leaves half a bundle and a failed write removes its own temp file.
//! - A symbolic link is written through: its target is replaced, the link stays.
//! - Anything that is not a regular file (a directory, a FIFO, a device such as `/dev/full`) is refused rather
//!   than replaced by a regular file.
//! - A failure says "cannot write" and names the path the user gave, never the temp file.

use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::Error;

/// Where output goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    Stdout,
    File(PathBuf),
}

impl Target {
    /// `-` is standard output; anything else a file.
    pub fn of(path: &Path) -> Target {
        if path.as_os_str() == "-" {
            Target::Stdout
        } else {
            Target::File(path.to_path_buf())
        }
    }
}

/// Write `bytes` to `target` (see the module docs).
pub fn write(target: &Target, bytes: &[u8], stdout: &mut dyn Write) -> Result<(), Error> {
    match target {
        Target::Stdout => stdout
            .write_all(bytes)
            .and_then(|_| stdout.flush())
            .map_err(|source| Error::Write {
                path: "-".into(),
                source,
            }),
        Target::File(path) => write_file(path, bytes),
    }
}

/// Write an evidence bundle (pretty JSON, as every JSON this tool writes: `stackset_doctor::json::write`).
pub fn write_bundle(
    target: &Target,
    bundle: &crate::evidence::Bundle,
    stdout: &mut dyn Write,
) -> Result<(), Error> {
    let mut json = Vec::new();
    crate::json::write(&mut json, bundle, true).map_err(|source| Error::Write {
        path: match target {
            Target::Stdout => "-".into(),
            Target::File(p) => p.clone(),
        },
        source,
    })?;
    json.push(b'\n');
    write(target, &json, stdout)
}

/// Replace the regular file at `path` (or create it) atomically.
pub fn write_file(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    let fail = |source: io::Error| Error::Write {
        path: path.to_path_buf(),
        source: without_paths(source),
    };
    let target = resolve(path).map_err(fail)?;
    let dir = match target.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".stackset-doctor-")
        .suffix(".tmp")
        .tempfile_in(dir)
        .map_err(fail)?;
    tmp.write_all(bytes).map_err(fail)?;
    tmp.as_file().sync_all().map_err(fail)?;
    tmp.persist(&target).map_err(|e| fail(e.error))?;
    Ok(())
}

/// The regular file a write to `path` must replace: `path` itself, or the final target of the symbolic link(s)
/// at `path` (which need not exist yet). Refuses what is not a regular file.
fn resolve(path: &Path) -> io::Result<PathBuf> {
    let mut at = path.to_path_buf();
    // Bounded, as the kernel bounds symlink chains (ELOOP).
    for _ in 0..40 {
        match std::fs::symlink_metadata(&at) {
            Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(at),
            Err(e) => return Err(e),
            Ok(m) if m.file_type().is_symlink() => {
                let link = std::fs::read_link(&at)?;
                at = match at.parent() {
                    Some(dir) if link.is_relative() => dir.join(link),
                    _ => link,
                };
            }
            Ok(m) if m.is_file() => return Ok(at),
            Ok(m) => {
                let what = if m.is_dir() {
                    "a directory"
                } else {
                    special_kind(&m)
                };
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("it is {what}, not a regular file, and is left as it is (give a file path, or - for standard output)"),
                ));
            }
        }
    }
    Err(io::Error::other("too many levels of symbolic links"))
}

#[cfg(unix)]
fn special_kind(m: &std::fs::Metadata) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    let t = m.file_type();
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else if t.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn special_kind(_: &std::fs::Metadata) -> &'static str {
    "a special file"
}

/// The OS error without the temp file's path that `tempfile` attaches to its errors.
fn without_paths(e: io::Error) -> io::Error {
    match e.raw_os_error() {
        Some(code) => io::Error::from_raw_os_error(code),
        None if e
            .get_ref()
            .is_some_and(|inner| inner.to_string().contains(".stackset-doctor-")) =>
        {
            io::Error::from(e.kind())
        }
        None => e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dash_is_stdout() {
        assert_eq!(Target::of(Path::new("-")), Target::Stdout);
        assert_eq!(
            Target::of(Path::new("./-")),
            Target::File(PathBuf::from("./-"))
        );
        let mut out = Vec::new();
        write(&Target::Stdout, b"{}", &mut out).unwrap();
        assert_eq!(out, b"{}");
    }

    #[test]
    fn writes_replace_files_atomically_and_leave_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        write_file(&p, b"one").unwrap();
        write_file(&p, b"two").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"two");
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_written_through_and_special_files_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.json");
        std::fs::write(&real, b"old").unwrap();
        let link = dir.path().join("link.json");
        std::os::unix::fs::symlink("real.json", &link).unwrap();
        write_file(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&real).unwrap(), b"new");
        // A dangling link creates its target.
        let dangling = dir.path().join("dangling.json");
        std::os::unix::fs::symlink("made.json", &dangling).unwrap();
        write_file(&dangling, b"x").unwrap();
        assert_eq!(std::fs::read(dir.path().join("made.json")).unwrap(), b"x");
        // A directory (and, below, a device) is left alone with a clear error.
        let err = write_file(dir.path(), b"x").unwrap_err().to_string();
        assert!(
            err.contains("cannot write") && err.contains("a directory"),
            "{err}"
        );
        let err = write_file(Path::new("/dev/null"), b"x")
            .unwrap_err()
            .to_string();
        assert!(err.contains("a device, not a regular file"), "{err}");
    }

    #[test]
    fn failures_name_the_given_path_not_the_temp_file() {
        let err = write_file(Path::new("/nonexistent-dir/b.json"), b"x")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("/nonexistent-dir/b.json: cannot write"),
            "{err}"
        );
        assert!(!err.contains(".stackset-doctor-"), "{err}");
    }
}
