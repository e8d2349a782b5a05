//! What every target does with a profile that parsed: the views (with and without filters) rendered as
//! text and JSON, every export, diff and merge with itself. Errors are fine, panics are not.

use std::path::Path;

use etlkit::profile::{self, export, export::ExportFormat, Filters, Profile};

pub fn exercise(p: &Profile) {
    let path = Path::new("fuzz");
    let all = Filters {
        idle: true,
        imports: true,
        stdlib: true,
        site_packages: true,
    };
    for (filters, function) in [(Filters::default(), Some("main")), (all, Some("a@b"))] {
        let r = profile::analyze(p, &filters, 10, function);
        let _ = profile::view::render_text(&r);
        let _ = serde_json::to_string(&r);
    }
    for format in [
        ExportFormat::Folded,
        ExportFormat::Svg,
        ExportFormat::Speedscope,
        ExportFormat::Pprof,
    ] {
        let _ = export::export(p, format, "fuzz", &mut std::io::sink(), path);
    }
    let _ = profile::diff(p, p);
    let _ = profile::merge(&[("a".into(), p.clone()), ("b".into(), p.clone())], true);
}
