//! Every way a command can fail, rendered once on stderr with its exit code.

use std::io::{self, IsTerminal};

use stackset_doctor::error::{exit, Error};
use stackset_doctor::scp::ScpError;

pub enum Failure {
    Input(Error),
    Io(io::Error),
    Scp(ScpError),
    /// Arguments that clap accepts one by one but not together.
    Usage(String),
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        Failure::Input(e)
    }
}

impl From<io::Error> for Failure {
    fn from(e: io::Error) -> Self {
        Failure::Io(e)
    }
}

impl From<ScpError> for Failure {
    fn from(e: ScpError) -> Self {
        Failure::Scp(e)
    }
}

pub fn usage(msg: &str) -> Failure {
    Failure::Usage(msg.to_owned())
}

impl Failure {
    /// Say what went wrong on stderr, once, and give the exit code.
    pub fn report(self) -> i32 {
        match self {
            // A closed pipe (`| head`) is how the reader says it has enough.
            Failure::Io(e) if e.kind() == io::ErrorKind::BrokenPipe => exit::OK,
            Failure::Io(e) => error(&e.to_string(), exit::ERROR),
            Failure::Input(e) => error(&e.to_string(), exit::ERROR),
            Failure::Scp(e) => {
                let code = e.exit_code();
                error(&e.to_string(), code)
            }
            Failure::Usage(msg) => {
                eprintln!("stackset-doctor: error: {msg}\n\nFor more information, try '--help'.");
                exit::USAGE
            }
        }
    }
}

fn error(msg: &str, code: i32) -> i32 {
    eprintln!("stackset-doctor: error: {}", for_stderr(msg));
    code
}

/// Errors and warnings can quote input (a bad value, a file name): strip control characters before they reach a
/// terminal.
pub fn for_stderr(s: &str) -> String {
    if io::stderr().is_terminal() {
        stackset_doctor::text::sanitize(s)
    } else {
        s.to_owned()
    }
}

/// A warning on stderr.
pub fn warn(w: &str) {
    eprintln!("stackset-doctor: warning: {}", for_stderr(w));
}
