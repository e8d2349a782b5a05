//! Fuzz the speedscope reader, then the views and exporters on whatever parses: errors are fine, panics are not.
#![no_main]

use std::path::Path;

use etlkit::profile::{self, export, Format};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let path = Path::new("fuzz");
    if let Ok(p) = profile::parse(data, path, Some(Format::Speedscope)) {
        let r = profile::analyze(&p, &Default::default(), 10, Some("main"));
        let _ = profile::view::render_text(&r);
        let _ = export::write_folded(&p, &mut std::io::sink(), path);
        let _ = export::write_speedscope(&p, "fuzz", &mut std::io::sink(), path);
    }
});
