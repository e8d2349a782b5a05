//! Exports: folded stacks, flamegraph SVG (inferno), speedscope JSON and pprof protobuf.
//!
//! All exporters work from stacks. A pstats profile has none, so [`with_stacks`] estimates them from the
//! caller edges (each function's own time is spread over its callers in proportion to their cumulative
//! time, the way flameprof and gprof2dot do it); the exported file says so.

use std::borrow::Cow;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::{folded, speedscope, FrameId, Profile, Stack};
use crate::{Error, Result};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ExportFormat {
    Folded,
    Svg,
    Speedscope,
    Pprof,
}

impl ExportFormat {
    /// Guesses the format from a file name (`.svg`, `.json`, `.pb`/`.pb.gz`, anything else folded).
    pub fn from_path(path: &Path) -> Self {
        let name = path.to_string_lossy().to_ascii_lowercase();
        if name.ends_with(".svg") {
            ExportFormat::Svg
        } else if name.ends_with(".json") {
            ExportFormat::Speedscope
        } else if name.ends_with(".pb") || name.ends_with(".pb.gz") || name.ends_with(".pprof") {
            ExportFormat::Pprof
        } else {
            ExportFormat::Folded
        }
    }
}

/// Stacks estimated from pstats caller edges stop below this share of the total.
const MIN_SHARE: f64 = 1e-4;
const MAX_DEPTH: usize = 64;
const MAX_PATHS: usize = 200_000;

/// The profile itself when it has stacks; for pstats, a copy with stacks estimated from caller edges.
pub fn with_stacks(profile: &Profile) -> Cow<'_, Profile> {
    if !profile.is_timed() {
        return Cow::Borrowed(profile);
    }
    let total: f64 = profile.timings.iter().map(|t| t.tt).sum();
    let by_frame: HashMap<FrameId, usize> = profile
        .timings
        .iter()
        .enumerate()
        .map(|(i, t)| (t.frame, i))
        .collect();
    let mut acc: HashMap<Vec<FrameId>, f64> = HashMap::new();
    let mut order: Vec<Vec<FrameId>> = Vec::new();
    let mut path = Vec::new();
    for t in &profile.timings {
        if t.tt > 0.0 {
            path.clear();
            path.push(t.frame);
            climb(
                profile,
                &by_frame,
                &mut path,
                t.tt,
                total * MIN_SHARE,
                &mut acc,
                &mut order,
            );
        }
    }
    let stacks = order
        .into_iter()
        .map(|mut frames| {
            let weight = acc[&frames];
            frames.reverse();
            Stack { frames, weight }
        })
        .collect();
    let mut p = profile.clone();
    p.timings.clear();
    p.stacks = stacks;
    p.meta.notes.push(
        "stacks estimated from pstats caller edges (pstats does not record full stacks)".into(),
    );
    Cow::Owned(p)
}

/// Walks from `path`'s last frame up its callers, splitting `w` by each caller edge's cumulative time.
fn climb(
    p: &Profile,
    by_frame: &HashMap<FrameId, usize>,
    path: &mut Vec<FrameId>,
    w: f64,
    min: f64,
    acc: &mut HashMap<Vec<FrameId>, f64>,
    order: &mut Vec<Vec<FrameId>>,
) {
    let cur = *path.last().expect("path is never empty");
    let callers: Vec<(FrameId, f64)> = by_frame
        .get(&cur)
        .map(|&i| {
            p.timings[i]
                .callers
                .iter()
                .filter(|e| !path.contains(&e.caller))
                .map(|e| (e.caller, if e.ct > 0.0 { e.ct } else { e.nc.max(0) as f64 }))
                .collect()
        })
        .unwrap_or_default();
    let sum: f64 = callers.iter().map(|c| c.1).sum();
    // The comparison also stops on NaN, which a corrupted file can produce; the path cap bounds the work
    // on graphs with large fan-in.
    if callers.is_empty()
        || path.len() >= MAX_DEPTH
        || w.partial_cmp(&min) != Some(std::cmp::Ordering::Greater)
        || !(sum > 0.0 && sum.is_finite())
        || order.len() >= MAX_PATHS
    {
        let key = path.clone();
        let e = acc.entry(key).or_insert_with(|| {
            order.push(path.clone());
            0.0
        });
        *e += w;
        return;
    }
    for (c, share) in callers {
        path.push(c);
        climb(p, by_frame, path, w * share / sum, min, acc, order);
        path.pop();
    }
}

/// Frame labels safe for inferno (`;` separates frames there).
fn svg_label(p: &Profile, f: FrameId) -> String {
    p.frames[f as usize].label().replace(';', ":")
}

/// Folded lines with integer counts for inferno: samples as-is, times in microseconds.
fn inferno_lines(p: &Profile) -> (Vec<String>, &'static str) {
    let (scale, name) = match p.meta.unit.seconds() {
        Some(s) => (s * 1e6, "µs"),
        None => (1.0, "samples"),
    };
    // Render each frame's label once; big files repeat a few thousand frames millions of times.
    let labels: Vec<String> = (0..p.frames.len() as FrameId)
        .map(|f| svg_label(p, f))
        .collect();
    let lines = p
        .stacks
        .iter()
        .filter(|s| !s.frames.is_empty())
        .filter_map(|s| {
            let n = (s.weight * scale).round();
            (n >= 1.0).then(|| {
                let mut line = String::new();
                for (i, &f) in s.frames.iter().enumerate() {
                    if i > 0 {
                        line.push(';');
                    }
                    line.push_str(&labels[f as usize]);
                }
                line.push(' ');
                line.push_str(&(n as u64).to_string());
                line
            })
        })
        .collect();
    (lines, name)
}

fn svg_options(title: &str, count_name: &str) -> inferno::flamegraph::Options<'static> {
    let mut o = inferno::flamegraph::Options::default();
    o.title = title.to_string();
    o.count_name = count_name.to_string();
    o.colors =
        inferno::flamegraph::Palette::Multi(inferno::flamegraph::color::MultiPalette::Python);
    // Same input, same SVG: colours come from a hash of the name, not a random generator.
    o.hash = true;
    o.deterministic = true;
    o
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |e| Error::io(path, e)
}

/// Writes a flamegraph SVG.
pub fn flamegraph(profile: &Profile, title: &str, out: &mut dyn Write, path: &Path) -> Result<()> {
    let p = with_stacks(profile);
    let (lines, count) = inferno_lines(&p);
    if lines.is_empty() {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: "the profile has no stacks with weight to draw".into(),
        });
    }
    let mut opts = svg_options(title, count);
    inferno::flamegraph::from_lines(&mut opts, lines.iter().map(String::as_str), out)
        .map_err(io(path))
}

/// Writes a differential flamegraph: the `after` profile's shape, coloured by the change from `before`
/// (red: more time, blue: less). `normalize` scales `before` to `after`'s total first.
pub fn differential_flamegraph(
    before: &Profile,
    after: &Profile,
    title: &str,
    normalize: bool,
    out: &mut dyn Write,
    path: &Path,
) -> Result<()> {
    let (b, a) = (with_stacks(before), with_stacks(after));
    let (bl, count) = inferno_lines(&b);
    let (al, _) = inferno_lines(&a);
    let mut diff = Vec::new();
    let opts = inferno::differential::Options {
        normalize,
        strip_hex: false,
    };
    inferno::differential::from_readers(
        opts,
        bl.join("\n").as_bytes(),
        al.join("\n").as_bytes(),
        &mut diff,
    )
    .map_err(io(path))?;
    let text = String::from_utf8_lossy(&diff);
    let mut opts = svg_options(title, count);
    inferno::flamegraph::from_lines(&mut opts, text.lines(), out).map_err(io(path))
}

/// Writes folded stacks (estimated ones for pstats, in microseconds).
pub fn write_folded(profile: &Profile, out: &mut dyn Write, path: &Path) -> Result<()> {
    let p = with_stacks(profile);
    if profile.is_timed() {
        // Folded counts are integers by convention; microseconds keep pstats' precision useful.
        let mut q = p.into_owned();
        for s in &mut q.stacks {
            s.weight = (s.weight * 1e6).round();
        }
        q.stacks.retain(|s| s.weight > 0.0);
        return folded::write(&q, out).map_err(io(path));
    }
    folded::write(&p, out).map_err(io(path))
}

/// Writes speedscope JSON.
pub fn write_speedscope(
    profile: &Profile,
    name: &str,
    out: &mut dyn Write,
    path: &Path,
) -> Result<()> {
    speedscope::write(&with_stacks(profile), name, out).map_err(io(path))
}

/// Writes a pprof profile (`profile.proto`); gzip-compressed when `gzip` (pprof's own convention).
#[cfg(feature = "pprof")]
pub fn write_pprof(profile: &Profile, gzip: bool, out: &mut dyn Write, path: &Path) -> Result<()> {
    use super::FrameKind;
    use pprof::protos::{self, Message};

    let p = with_stacks(profile);
    let mut strings: Vec<String> = vec![String::new()];
    let mut string_ids: HashMap<String, i64> = HashMap::new();
    let mut s = |v: &str| -> i64 {
        if v.is_empty() {
            return 0;
        }
        if let Some(&i) = string_ids.get(v) {
            return i;
        }
        strings.push(v.to_string());
        string_ids.insert(v.to_string(), strings.len() as i64 - 1);
        strings.len() as i64 - 1
    };
    let (sample_type, unit, scale) = match p.meta.unit.seconds() {
        Some(sec) => ("wall", "nanoseconds", sec * 1e9),
        None => ("samples", "count", 1.0),
    };
    let sample_type = vec![protos::ValueType {
        ty: s(sample_type),
        unit: s(unit),
    }];
    // One pprof function per (name, file), one location per frame (function + line).
    let mut functions: Vec<protos::Function> = Vec::new();
    let mut function_ids: HashMap<(String, String), u64> = HashMap::new();
    let mut locations = Vec::with_capacity(p.frames.len());
    for (i, f) in p.frames.iter().enumerate() {
        let name = if f.kind == FrameKind::Python {
            f.function.clone()
        } else {
            f.label()
        };
        let key = (name.clone(), f.file.clone());
        let id = match function_ids.get(&key) {
            Some(&id) => id,
            None => {
                let id = functions.len() as u64 + 1;
                functions.push(protos::Function {
                    id,
                    name: s(&name),
                    system_name: s(&name),
                    filename: s(&f.file),
                    start_line: 0,
                });
                function_ids.insert(key, id);
                id
            }
        };
        locations.push(protos::Location {
            id: i as u64 + 1,
            mapping_id: 0,
            address: 0,
            line: vec![protos::Line {
                function_id: id,
                line: f.line.map_or(0, i64::from),
            }],
            is_folded: false,
        });
    }
    let samples = p
        .stacks
        .iter()
        .map(|st| protos::Sample {
            // pprof lists the leaf first.
            location_id: st.frames.iter().rev().map(|&f| f as u64 + 1).collect(),
            value: vec![(st.weight * scale).round() as i64],
            label: Vec::new(),
        })
        .collect();
    let comment = p.meta.notes.iter().map(|n| s(n)).collect();
    let period = protos::ValueType {
        ty: s(sample_type_name(p.meta.unit)),
        unit: s(unit),
    };
    let proto = protos::Profile {
        sample_type,
        sample: samples,
        location: locations,
        function: functions,
        period_type: Some(period),
        period: 1,
        comment,
        string_table: strings,
        ..Default::default()
    };
    let bytes = proto.encode_to_vec();
    if gzip {
        let mut gz = flate2::write::GzEncoder::new(out, flate2::Compression::default());
        gz.write_all(&bytes).map_err(io(path))?;
        gz.finish().map_err(io(path))?;
        Ok(())
    } else {
        out.write_all(&bytes).map_err(io(path))
    }
}

#[cfg(feature = "pprof")]
fn sample_type_name(u: super::Unit) -> &'static str {
    if u.seconds().is_some() {
        "wall"
    } else {
        "samples"
    }
}

/// Without the `pprof` feature there is no protobuf export.
#[cfg(not(feature = "pprof"))]
pub fn write_pprof(
    _profile: &Profile,
    _gzip: bool,
    _out: &mut dyn Write,
    path: &Path,
) -> Result<()> {
    Err(Error::Format {
        path: path.to_path_buf(),
        message: "pprof export needs etlkit built with the `pprof` feature".into(),
    })
}

/// Writes `profile` in `format`; `name` titles SVG and speedscope output.
pub fn export(
    profile: &Profile,
    format: ExportFormat,
    name: &str,
    out: &mut dyn Write,
    path: &Path,
) -> Result<()> {
    match format {
        ExportFormat::Folded => write_folded(profile, out, path),
        ExportFormat::Svg => flamegraph(profile, name, out, path),
        ExportFormat::Speedscope => write_speedscope(profile, name, out, path),
        ExportFormat::Pprof => {
            write_pprof(profile, path.to_string_lossy().ends_with(".gz"), out, path)
        }
    }
}
