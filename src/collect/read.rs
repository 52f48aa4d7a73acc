//! Reading an input's bytes: a file, a FIFO or process substitution (`<(aws ...)`), a device, or stdin — every
//! input of the tool goes through here, so each is bounded in size and none can hang the run.
//!
//! - At most [`ReadLimits::max_bytes`] per input (`--max-input-size`): `diagnose /dev/zero` is an error, not a run
//!   that grows until memory runs out.
//! - A FIFO nobody writes to would block `open` forever: the open waits [`ReadLimits::open_timeout`], then the
//!   input is an error naming the FIFO. Once a writer has it open, reading waits as long as the writer takes.

use std::io::Read;
use std::path::Path;
use std::time::Duration;

use crate::error::Error;

/// Bounds on reading one input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReadLimits {
    pub max_bytes: u64,
    pub open_timeout: Duration,
}

/// 1 GiB: far above any saved CLI output or bundle of one organisation (10,000 accounts' evidence is a few
/// hundred MB over thousands of files), far below the memory of the machines it runs on.
pub const DEFAULT_MAX_BYTES: u64 = 1 << 30;

impl Default for ReadLimits {
    fn default() -> Self {
        ReadLimits {
            max_bytes: DEFAULT_MAX_BYTES,
            open_timeout: Duration::from_secs(10),
        }
    }
}

/// `1073741824`, `512K`, `200M`, `2G` (powers of 1024; a `B`/`iB` suffix is accepted).
pub fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (digits, shift) = match t.char_indices().last() {
        Some((i, 'K' | 'k')) => (&t[..i], 10),
        Some((i, 'M' | 'm')) => (&t[..i], 20),
        Some((i, 'G' | 'g')) => (&t[..i], 30),
        Some((i, 'T' | 't')) => (&t[..i], 40),
        _ => (t, 0),
    };
    let n: u64 = digits
        .trim()
        .parse()
        .map_err(|_| format!("{s:?} is not a size (e.g. 1073741824, 512M, 2G)"))?;
    n.checked_mul(1 << shift)
        .filter(|&b| b > 0)
        .ok_or_else(|| format!("{s:?} is not a size between 1 byte and 16 EiB"))
}

/// Human form of a byte count: `1 GiB`, `512 MiB`, `1000 bytes`.
pub fn show_size(bytes: u64) -> String {
    for (shift, unit) in [(40, "TiB"), (30, "GiB"), (20, "MiB"), (10, "KiB")] {
        if bytes >= 1 << shift && bytes.is_multiple_of(1 << shift) {
            return format!("{} {unit}", bytes >> shift);
        }
    }
    format!("{bytes} bytes")
}

fn too_large(name: &str, limits: &ReadLimits) -> Error {
    Error::Io {
        path: name.into(),
        source: std::io::Error::other(format!(
            "larger than the input limit of {} (raise it with --max-input-size)",
            show_size(limits.max_bytes)
        )),
    }
}

/// Read everything from `r`, at most `limits.max_bytes`.
pub fn read_bounded(name: &str, r: impl Read, limits: &ReadLimits) -> Result<Vec<u8>, Error> {
    let mut bytes = Vec::new();
    r.take(limits.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(|source| Error::Io {
            path: name.into(),
            source,
        })?;
    if bytes.len() as u64 > limits.max_bytes {
        return Err(too_large(name, limits));
    }
    Ok(bytes)
}

/// Standard input, bounded.
pub fn read_stdin(limits: &ReadLimits) -> Result<Vec<u8>, Error> {
    read_bounded("<stdin>", std::io::stdin().lock(), limits)
}

/// A path's bytes, bounded; a FIFO must find a writer within the open timeout.
pub fn read_path(path: &Path, limits: &ReadLimits) -> Result<Vec<u8>, Error> {
    let io = |source: std::io::Error| Error::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Ok(m) = std::fs::metadata(path) {
        if m.is_file() && m.len() > limits.max_bytes {
            return Err(too_large(&path.display().to_string(), limits));
        }
        if is_fifo(&m) {
            return read_fifo(path, limits);
        }
    }
    let file = std::fs::File::open(path).map_err(io)?;
    read_bounded(&path.display().to_string(), file, limits)
}

/// Open the FIFO on a helper thread, so an open with no writer cannot hang the run; read it once a writer is there.
fn read_fifo(path: &Path, limits: &ReadLimits) -> Result<Vec<u8>, Error> {
    let (tx, rx) = std::sync::mpsc::channel();
    let p = path.to_path_buf();
    std::thread::spawn(move || {
        let _ = tx.send(std::fs::File::open(&p));
    });
    match rx.recv_timeout(limits.open_timeout) {
        Ok(Ok(file)) => read_bounded(&path.display().to_string(), file, limits),
        Ok(Err(source)) => Err(Error::Io {
            path: path.to_path_buf(),
            source,
        }),
        // The thread stays blocked in `open`; the process exits with the error.
        Err(_) => Err(Error::Io {
            path: path.to_path_buf(),
            source: std::io::Error::new(
                std::io::ErrorKind::TimedOut,
                format!(
                    "a FIFO that no process opened for writing within {} s (start its writer first, or pipe into -)",
                    limits.open_timeout.as_secs()
                ),
            ),
        }),
    }
}

#[cfg(unix)]
pub(crate) fn is_fifo(m: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::FileTypeExt;
    m.file_type().is_fifo()
}

#[cfg(not(unix))]
pub(crate) fn is_fifo(_: &std::fs::Metadata) -> bool {
    false
}

/// What kind of non-regular file this is, for a warning (`a FIFO`, `a socket`, `a device`).
#[cfg(unix)]
pub(crate) fn special_kind(t: std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if t.is_fifo() {
        "a FIFO"
    } else if t.is_socket() {
        "a socket"
    } else if t.is_char_device() || t.is_block_device() {
        "a device"
    } else {
        "not a regular file"
    }
}

#[cfg(not(unix))]
pub(crate) fn special_kind(_: std::fs::FileType) -> &'static str {
    "not a regular file"
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1073741824"), Ok(1 << 30));
        assert_eq!(parse_size("512M"), Ok(512 << 20));
        assert_eq!(parse_size("2G"), Ok(2 << 30));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("64k"), Ok(64 << 10));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999T").is_err());
        assert_eq!(show_size(1 << 30), "1 GiB");
        assert_eq!(show_size(1000), "1000 bytes");
    }

    /// A FIFO nobody writes to: an error after the open timeout, not a hang.
    #[cfg(unix)]
    #[test]
    fn a_fifo_without_a_writer_times_out() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("f");
        assert!(std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let limits = ReadLimits {
            open_timeout: Duration::from_millis(200),
            ..ReadLimits::default()
        };
        let err = read_path(&fifo, &limits).unwrap_err().to_string();
        assert!(err.contains("no process opened for writing"), "{err}");
    }

    #[test]
    fn reads_stop_at_the_limit() {
        let limits = ReadLimits {
            max_bytes: 10,
            ..ReadLimits::default()
        };
        assert_eq!(
            read_bounded("x", &b"0123456789"[..], &limits)
                .unwrap()
                .len(),
            10
        );
        let err = read_bounded("x", std::io::repeat(0), &limits)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("larger than the input limit of 10 bytes"),
            "{err}"
        );
    }
}
