//! etlkit: a toolkit for practising, teaching and automating two jobs every Python data engineer meets:
//! the "10 GB CSV ETL" and "profile this slow program and fix it".
//!
//! The library holds all logic; the command line is its [`cli`] module (cargo feature `cli`, on by default),
//! which the `etlkit` binary (`src/main.rs`) and the Python package's console script (`python/`) both run.
//! Without that feature the library has no terminal dependencies (clap, prompts, Ctrl-C handling).
//!
//! - [`generate`]: deterministic synthetic datasets (the `orders` scenario) with recorded dirt.
//! - [`profile`]: profile ingestion (cProfile/pstats, py-spy, folded, speedscope), views, exports, diffs.

/// Gives an option enum its names, one per variant: `name()`, `ALL`, `Display` and `FromStr` (the error lists the
/// names). The command line derives clap's `ValueEnum` on the same enums; a test checks the names agree.
macro_rules! named_values {
    ($ty:ident, $what:literal, { $($variant:ident => $name:literal),+ $(,)? }) => {
        impl $ty {
            /// Every value, in the order the help lists them.
            pub const ALL: &'static [$ty] = &[$($ty::$variant),+];

            /// The value's name, as written on the command line and in Python.
            pub fn name(self) -> &'static str {
                match self {
                    $($ty::$variant => $name),+
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.name())
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::Error;

            fn from_str(s: &str) -> $crate::Result<Self> {
                match s {
                    $($name => Ok($ty::$variant),)+
                    _ => Err($crate::Error::InvalidArgument {
                        what: $what,
                        value: s.to_string(),
                        expected: format!(
                            "one of {}",
                            [$($name),+].join(", ")
                        ),
                    }),
                }
            }
        }
    };
}

pub mod atomic;
#[cfg(feature = "cli")]
pub mod cli;
pub mod diagnose;
pub mod drill;
pub mod error;
pub mod generate;
pub mod harness;
pub mod pipeline;
pub mod profile;
pub mod schema;
pub mod size;

pub use error::{Error, Result};

/// The version written into manifests; datasets are reproducible for a given seed and this version.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
