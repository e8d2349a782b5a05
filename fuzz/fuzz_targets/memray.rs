//! Fuzz the memray readers (JSON stats and CSV transform, told apart by their first bytes), then the views
//! and exporters on whatever parses: errors are fine, panics are not. Guessing the format must agree with
//! the forced reader whenever it picks memray.
#![no_main]

use std::path::Path;

use etlkit::profile::{self, Format};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    let forced = profile::parse(data, Path::new("fuzz"), Some(Format::Memray));
    if profile::sniff(data) == Some(Format::Memray) {
        let guessed = profile::parse(data, Path::new("fuzz"), None);
        assert_eq!(
            forced.as_ref().map_err(|e| e.to_string()).ok(),
            guessed.as_ref().map_err(|e| e.to_string()).ok()
        );
    }
    if let Ok(p) = forced {
        common::exercise(&p);
    }
});
