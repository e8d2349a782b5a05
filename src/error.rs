//! The library's error type. Every variant that comes from reading or writing a file names the file, and
//! where it makes sense the position inside it, so a person can go straight to the problem.

use std::path::PathBuf;

/// Everything that can go wrong in etlkit's library calls.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An I/O error on a named file or directory.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// An argument or option value that cannot be used (a usage error: exit code 2).
    #[error("invalid {what} '{value}': {expected}")]
    InvalidArgument {
        what: &'static str,
        value: String,
        expected: String,
    },
    /// The output directory already holds files and replacing them was not allowed.
    #[error(
        "{path}: output directory is not empty (allow replacing its contents, or choose another)"
    )]
    OutputNotEmpty { path: PathBuf },
    /// A file whose content is not what was expected, with a position inside it.
    #[error("{path}:{line}: byte {offset}: {message}")]
    BadInput {
        path: PathBuf,
        line: u64,
        offset: u64,
        message: String,
    },
    /// A file that cannot be read as the expected format (no useful position).
    #[error("{path}: {message}")]
    Format { path: PathBuf, message: String },
    /// The run was interrupted (Ctrl-C); partial output was left under temporary names.
    #[error("interrupted")]
    Interrupted,
    /// A program etlkit runs (a profiler, the Python interpreter running a script) is missing or failed.
    #[error("{program}: {message}")]
    Program { program: String, message: String },
    /// A bug in etlkit (a worker panicked, an invariant broke): not a fault of the input.
    #[error("internal error (a bug in etlkit, please report it): {message}")]
    Internal { message: String },
}

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io {
            path: path.into(),
            source,
        }
    }

    /// True when the error is a usage error (the process should exit with code 2).
    pub fn is_usage(&self) -> bool {
        matches!(
            self,
            Error::InvalidArgument { .. } | Error::OutputNotEmpty { .. }
        )
    }

    /// A bug, with what was known when it happened (a panic's message).
    pub fn internal(message: impl Into<String>) -> Self {
        Error::Internal {
            message: message.into(),
        }
    }

    /// The bug a caught panic stands for, with its message (`what` says where it happened).
    pub fn from_panic(what: impl std::fmt::Display, panic: &(dyn std::any::Any + Send)) -> Self {
        Error::internal(format!("{what}: {}", panic_message(panic)))
    }

    /// True when the error is a broken pipe on standard output (the process should exit quietly).
    pub fn is_broken_pipe(&self) -> bool {
        matches!(self, Error::Io { source, .. } if source.kind() == std::io::ErrorKind::BrokenPipe)
    }
}

/// The message a panic carried (`panic!("...")` gives a `&str` or a `String`), or "unknown panic".
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// The library's result type.
pub type Result<T, E = Error> = std::result::Result<T, E>;
