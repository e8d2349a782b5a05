//! Fuzz the Scalene JSON reader, then the views and exporters on whatever parses: errors are fine, panics
//! are not.
#![no_main]

use std::path::Path;

use etlkit::profile::{self, Format};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Ok(p) = profile::parse(data, Path::new("fuzz"), Some(Format::Scalene)) {
        common::exercise(&p);
    }
});
