//! Exports: folded stacks, flamegraph SVG (inferno), speedscope JSON and pprof protobuf.
//!
//! All exporters work from stacks. A pstats profile has none, so [`with_stacks`] estimates them from the
//! caller edges (each function's own time is spread over its callers in proportion to their cumulative
//! time, the way flameprof and gprof2dot do it); the exported file says so.

use std::borrow::Cow;
use std::cmp::Ordering;
use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use rustc_hash::FxHashMap;

use super::{folded, speedscope, FrameId, Profile, Stack};
use crate::{Error, Result};

/// The export formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "cli", derive(clap::ValueEnum))]
pub enum ExportFormat {
    Folded,
    Svg,
    Speedscope,
    Pprof,
}

named_values!(ExportFormat, "export format", {
    Folded => "folded",
    Svg => "svg",
    Speedscope => "speedscope",
    Pprof => "pprof",
});

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

/// inferno adds counts in a u64 (and takes differences as i64): larger totals would wrap around.
const MAX_DRAWN_TOTAL: u64 = i64::MAX as u64;

/// What inferno's integer counts are: microseconds for times, else the profile's own numbers.
fn count_unit(p: &Profile) -> (f64, &'static str) {
    match p.meta.unit.seconds() {
        Some(s) => (s * 1e6, "µs"),
        None if p.meta.unit == super::Unit::Bytes => (1.0, "bytes"),
        None => (1.0, "samples"),
    }
}

/// Folded lines with integer counts for inferno: samples as-is, times in microseconds. Refuses weights
/// whose total inferno cannot add up.
fn inferno_lines(p: &Profile, path: &Path) -> Result<(Vec<String>, &'static str)> {
    let (scale, name) = count_unit(p);
    // Render each frame's label once; big files repeat a few thousand frames millions of times.
    let labels: Vec<String> = (0..p.frames.len() as FrameId)
        .map(|f| svg_label(p, f))
        .collect();
    let mut total: u64 = 0;
    let mut lines = Vec::new();
    for s in p.stacks.iter().filter(|s| !s.frames.is_empty()) {
        let n = (s.weight * scale).round();
        if n >= 1.0 {
            total = total
                .checked_add(n as u64)
                .filter(|&t| t <= MAX_DRAWN_TOTAL)
                .ok_or_else(|| Error::Format {
                    path: path.to_path_buf(),
                    message: format!(
                        "the weights add up to more than {MAX_DRAWN_TOTAL} {name}, too many to draw"
                    ),
                })?;
            let mut line = String::new();
            for (i, &f) in s.frames.iter().enumerate() {
                if i > 0 {
                    line.push(';');
                }
                line.push_str(&labels[f as usize]);
            }
            line.push(' ');
            line.push_str(itoa::Buffer::new().format(n as u64));
            lines.push(line);
        }
    }
    Ok((lines, name))
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
    if let Some(svg) = pruned_flamegraph(&p, title) {
        return out.write_all(&svg).map_err(io(path));
    }
    full_flamegraph(&p, title, out, path)
}

/// Every stack as a folded line, sorted and merged by inferno: the reference for [`pruned_flamegraph`].
fn full_flamegraph(p: &Profile, title: &str, out: &mut dyn Write, path: &Path) -> Result<()> {
    let (lines, count) = inferno_lines(p, path)?;
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

/// The same SVG as [`full_flamegraph`], from far fewer lines. inferno sorts the folded lines as strings,
/// merges neighbours that share a prefix into frames, and then drops frames narrower than `min_width`
/// (and so everything above them). This does the sort and the merge on frame ids, finds the frames
/// inferno will drop, cuts every stack just above its first dropped frame and adds up neighbours that
/// became equal. inferno then draws the same frames at the same places: a kept frame spans the same
/// lines as before, and a dropped one still spans the same lines and is dropped again.
///
/// `None` when the profile has no stack to draw, or when a frame label could make inferno read the cut
/// lines differently from the full ones (leading/trailing spaces, a trailing number, a `# ` comment
/// prefix): the full path handles those.
fn pruned_flamegraph(p: &Profile, title: &str) -> Option<Vec<u8>> {
    let (scale, count_name) = count_unit(p);
    let labels: Vec<String> = (0..p.frames.len() as FrameId)
        .map(|f| svg_label(p, f))
        .collect();
    // Frames with equal labels are one frame to inferno.
    let mut by_label: FxHashMap<&str, u32> = FxHashMap::default();
    let label_id: Vec<u32> = labels
        .iter()
        .map(|l| {
            let next = by_label.len() as u32;
            *by_label.entry(l.as_str()).or_insert(next)
        })
        .collect();
    let mut used = vec![false; labels.len()];
    let mut lines: Vec<(&[FrameId], u64)> = Vec::with_capacity(p.stacks.len());
    let mut time: u64 = 0;
    for s in p.stacks.iter().filter(|s| !s.frames.is_empty()) {
        let n = (s.weight * scale).round();
        if n >= 1.0 {
            for &f in &s.frames {
                used[f as usize] = true;
            }
            lines.push((&s.frames, n as u64));
            time = time
                .checked_add(n as u64)
                .filter(|&t| t <= MAX_DRAWN_TOTAL)?;
        }
    }
    // Labels inferno could read differently once they end a cut line or start one.
    let odd = |l: &String| {
        let count_like = l
            .rsplit_once(' ')
            .is_some_and(|(_, t)| t.bytes().all(|b| b.is_ascii_digit() || b == b'.'));
        l.is_empty()
            || l.starts_with(char::is_whitespace)
            || l.ends_with(char::is_whitespace)
            || l.starts_with("# ")
            || count_like
    };
    if lines.is_empty() || labels.iter().zip(&used).any(|(l, &u)| u && odd(l)) {
        return None;
    }
    // Labels in string order: when no label is a prefix of another, two lines compare as the first
    // pair of different labels does.
    let mut sorted: Vec<u32> = (0..labels.len() as u32)
        .filter(|&f| used[f as usize])
        .collect();
    sorted.sort_unstable_by(|&a, &b| labels[a as usize].cmp(&labels[b as usize]));
    let mut rank = vec![0u32; labels.len()];
    for (r, &f) in sorted.iter().enumerate() {
        rank[f as usize] = r as u32;
    }
    let prefixes = sorted.windows(2).any(|w| {
        let (a, b) = (&labels[w[0] as usize], &labels[w[1] as usize]);
        a != b && b.starts_with(a.as_str())
    });
    lines.sort_unstable_by(|a, b| {
        if !prefixes {
            let i =
                a.0.iter()
                    .zip(b.0)
                    .take_while(|(x, y)| label_id[**x as usize] == label_id[**y as usize])
                    .count();
            if let (Some(&x), Some(&y)) = (a.0.get(i), b.0.get(i)) {
                return rank[x as usize].cmp(&rank[y as usize]);
            }
        }
        line_cmp(a, b, &labels)
    });

    // inferno's merge, on label ids: a frame opens where a line stops sharing the previous line's
    // prefix and closes where a later line stops sharing it.
    let min_time = svg_options(title, count_name).min_width / (100.0 / time as f64);
    // The depth of each line's first dropped frame.
    let mut cut = vec![usize::MAX; lines.len()];
    let mut open: Vec<(u32, u64, usize)> = Vec::new(); // label id, start time, first line
    let mut now: u64 = 0;
    let mut close = |open: &mut Vec<(u32, u64, usize)>, keep: usize, now: u64, line: usize| {
        while open.len() > keep {
            let depth = open.len() - 1;
            let Some((_, start, first)) = open.pop() else {
                break;
            };
            if ((now - start) as f64) < min_time {
                for c in &mut cut[first..line] {
                    *c = (*c).min(depth);
                }
            }
        }
    };
    for (k, (frames, n)) in lines.iter().enumerate() {
        let shared = open
            .iter()
            .zip(frames.iter())
            .take_while(|(o, &f)| o.0 == label_id[f as usize])
            .count();
        close(&mut open, shared, now, k);
        open.extend(
            frames[shared..]
                .iter()
                .map(|&f| (label_id[f as usize], now, k)),
        );
        now += n;
    }
    close(&mut open, 0, now, lines.len());

    // Cut lines above their first dropped frame, which stays so that it spans the same lines, with one
    // placeholder child: the `;` after the dropped frame keeps the cut lines in the order of the full
    // ones (`a;b;c 1` must still sort after `a;b.x 1`). The placeholder is as narrow as its parent, so
    // it is dropped too. Neighbours that became equal are added up.
    let mut text = String::new();
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut prev: Option<(&[FrameId], bool, u64)> = None;
    let mut flush = |text: &mut String, line: Option<(&[FrameId], bool, u64)>| {
        if let Some((frames, placeholder, n)) = line {
            let start = text.len();
            for (i, &f) in frames.iter().enumerate() {
                if i > 0 {
                    text.push(';');
                }
                text.push_str(&labels[f as usize]);
            }
            if placeholder {
                text.push_str(";-");
            }
            text.push(' ');
            text.push_str(itoa::Buffer::new().format(n));
            spans.push((start, text.len()));
        }
    };
    let same = |a: &[FrameId], b: &[FrameId]| {
        a.len() == b.len()
            && a.iter()
                .zip(b)
                .all(|(&x, &y)| label_id[x as usize] == label_id[y as usize])
    };
    for ((frames, n), &c) in lines.iter().zip(&cut) {
        let cut_here = c < frames.len() - 1;
        let kept = if cut_here { &frames[..=c] } else { frames };
        prev = match prev {
            Some((pf, pp, pn)) if pp == cut_here && same(pf, kept) => {
                Some((pf, pp, pn.checked_add(*n)?))
            }
            other => {
                flush(&mut text, other);
                Some((kept, cut_here, *n))
            }
        };
    }
    flush(&mut text, prev);
    let mut opts = svg_options(title, count_name);
    // The lines are in inferno's order already (inferno checks that, and the full path runs if not).
    opts.no_sort = true;
    let mut svg = Vec::new();
    inferno::flamegraph::from_lines(&mut opts, spans.iter().map(|&(a, b)| &text[a..b]), &mut svg)
        .ok()?;
    Some(svg)
}

/// Orders two stacks as inferno orders their folded lines: as the strings `label;label;... COUNT`.
fn line_cmp(a: &(&[FrameId], u64), b: &(&[FrameId], u64), labels: &[String]) -> Ordering {
    let i = a.0.iter().zip(b.0).take_while(|(x, y)| x == y).count();
    if let (Some(&x), Some(&y)) = (a.0.get(i), b.0.get(i)) {
        let (lx, ly) = (labels[x as usize].as_bytes(), labels[y as usize].as_bytes());
        if let Some(j) = lx.iter().zip(ly).position(|(p, q)| p != q) {
            return lx[j].cmp(&ly[j]);
        }
    }
    // One label is a prefix of the other (or they are equal, or a stack ended): compare the rest byte
    // by byte, separators and counts included.
    let rest = |(frames, n): &(&[FrameId], u64)| {
        let sep = i > 0;
        let mut v: Vec<u8> = Vec::new();
        for (k, &f) in frames[i..].iter().enumerate() {
            if k > 0 || sep {
                v.push(b';');
            }
            v.extend_from_slice(labels[f as usize].as_bytes());
        }
        v.push(b' ');
        v.extend_from_slice(itoa::Buffer::new().format(*n).as_bytes());
        v
    };
    rest(a).cmp(&rest(b))
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
    let (bl, count) = inferno_lines(&b, path)?;
    let (al, _) = inferno_lines(&a, path)?;
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
        // pprof's name for memory profiles' values.
        None if p.meta.unit == super::Unit::Bytes => ("space", "bytes", 1.0),
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
    } else if u == super::Unit::Bytes {
        "space"
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
    if profile.stacks.is_empty() && !profile.is_timed() && profile.memory.is_some() {
        // memray's JSON stats (totals and top sites only), or a Scalene run without CPU samples: an
        // export would be an empty file.
        let why = if profile.meta.format == super::Format::Memray {
            "the profile holds memory totals and top allocation sites (memray's JSON stats) but no \
             stacks; memray's CSV transform of the same capture has the stacks"
        } else {
            "the profile has memory figures but no line with CPU time"
        };
        return Err(Error::Format {
            path: path.to_path_buf(),
            message: format!("nothing to export: {why}"),
        });
    }
    match format {
        ExportFormat::Folded => write_folded(profile, out, path),
        ExportFormat::Svg => flamegraph(profile, name, out, path),
        ExportFormat::Speedscope => write_speedscope(profile, name, out, path),
        ExportFormat::Pprof => {
            write_pprof(profile, path.to_string_lossy().ends_with(".gz"), out, path)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn full(p: &Profile) -> Vec<u8> {
        let mut out = Vec::new();
        full_flamegraph(p, "t", &mut out, Path::new("t")).unwrap();
        out
    }

    fn folded(text: &str) -> Profile {
        super::super::parse(
            text.as_bytes(),
            Path::new("t"),
            Some(super::super::Format::Folded),
        )
        .unwrap()
    }

    #[test]
    fn pruned_flamegraphs_are_the_full_ones() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/profile");
        let mut checked = 0;
        for sub in ["pstats", "pyspy", "other"] {
            for e in std::fs::read_dir(root.join(sub)).unwrap() {
                let path = e.unwrap().path();
                let Ok(p) = super::super::load(&path, None) else {
                    continue;
                };
                let p = with_stacks(&p);
                if let Some(svg) = pruned_flamegraph(&p, "t") {
                    assert!(svg == full(&p), "{}", path.display());
                    checked += 1;
                }
            }
        }
        assert!(checked >= 20, "{checked}");
    }

    #[test]
    fn pruned_flamegraphs_keep_inferno_string_order_quirks() {
        // Labels that are prefixes of others, bytes sorting before and after `;` and ` `, a frame
        // split in two by a neighbour (`c`, `c-x`, `c;d`), equal stacks, and thin deep tails.
        let quirky = [
            "c", "c-x", "c2", "c!", "cc", "b", "b.c", "a b", "x(1)", "x(12)", "m::f", "m::f::g",
            "m:f",
        ];
        // No label a prefix of another: the comparison by label rank.
        let plain = ["a", "b.c", "d e", "x(1)", "y::z", "q-r", "Z"];
        for seed in 1..9u64 {
            let names: &[&str] = if seed % 2 == 0 { &plain } else { &quirky };
            let mut state = seed;
            let mut text = String::new();
            for i in 0..3000 {
                state = state
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                let depth = 1 + (state >> 33) as usize % (3 + seed as usize);
                let stack: Vec<&str> = (0..depth)
                    .map(|d| names[((state >> (d * 4)) as usize + d) % names.len()])
                    .collect();
                let n = if i % (50 + seed as usize * 20) == 0 {
                    5000
                } else {
                    1 + (state >> 50) % 3
                };
                text.push_str(&format!("{} {n}\n", stack.join(";")));
            }
            if seed % 2 == 1 {
                text.push_str("c;c-x 4\nc 3\nc;d 2\nc-x 1\n");
            }
            let p = folded(&text);
            let svg = pruned_flamegraph(&p, "t").expect("plain labels take the pruned path");
            assert!(svg == full(&p), "seed {seed}");
        }
    }

    #[test]
    fn labels_inferno_would_reparse_take_the_full_path() {
        for text in ["a;b 12;c 3\n", "a; b;c 3\n", "# a;b 3\n", "a;b ;c 3\n"] {
            assert!(pruned_flamegraph(&folded(text), "t").is_none(), "{text:?}");
        }
    }
}
