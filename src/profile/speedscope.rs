//! speedscope JSON (<https://www.speedscope.app/file-format-schema.json>): shared frames plus one or more
//! `sampled` (stacks of frame indexes with weights) or `evented` (open/close events) profiles.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::{
    bad_input, format_error, Format, Frame, FrameId, FrameKind, FrameTable, LineKind, Meta,
    Profile, Reader, Stack, Unit,
};
use crate::Result;

/// Reads speedscope files.
pub struct SpeedscopeReader;

#[derive(Deserialize)]
struct File {
    #[serde(default)]
    exporter: Option<String>,
    shared: Shared,
    profiles: Vec<Prof>,
}

#[derive(Deserialize)]
struct Shared {
    frames: Vec<JFrame>,
}

#[derive(Deserialize, Serialize)]
struct JFrame {
    name: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    file: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    line: Option<u32>,
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase")]
enum Prof {
    Sampled {
        #[serde(default)]
        name: String,
        unit: String,
        samples: Vec<Vec<usize>>,
        weights: Vec<f64>,
    },
    Evented {
        #[serde(default)]
        name: String,
        unit: String,
        events: Vec<Event>,
    },
}

#[derive(Deserialize)]
struct Event {
    #[serde(rename = "type")]
    kind: String,
    at: f64,
    frame: usize,
}

impl Reader for SpeedscopeReader {
    fn format(&self) -> Format {
        Format::Speedscope
    }

    fn sniff(&self, data: &[u8]) -> bool {
        let head = &data[..data.len().min(4096)];
        let trimmed = head.trim_ascii_start();
        trimmed.starts_with(b"{")
            && (memchr::memmem::find(head, b"speedscope").is_some()
                || memchr::memmem::find(data, b"\"shared\"").is_some())
    }

    fn read(&self, data: &[u8], path: &Path) -> Result<Profile> {
        let file: File = serde_json::from_slice(data).map_err(|e| {
            // serde_json reports line/column; turn it into a byte offset for the error.
            let offset = line_col_offset(data, e.line(), e.column());
            bad_input(
                path,
                data,
                offset,
                format!("not a valid speedscope file: {e}"),
            )
        })?;
        let tool = file
            .exporter
            .as_deref()
            .map(|e| e.split('@').next().unwrap_or(e).trim().to_string())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| "speedscope".into());
        let mut table = FrameTable::default();
        let ids: Vec<FrameId> = file
            .shared
            .frames
            .iter()
            .map(|f| {
                table.intern(Frame::new(
                    f.name.clone(),
                    f.file.clone().unwrap_or_default(),
                    f.line.filter(|&l| l > 0),
                ))
            })
            .collect();
        let any_line = file.shared.frames.iter().any(|f| f.line.unwrap_or(0) > 0);
        let n_frames = ids.len();
        let multi = file.profiles.len() > 1;
        let mut unit = None;
        let mut stacks: Vec<Stack> = Vec::new();
        let mut index: HashMap<Vec<FrameId>, usize> = HashMap::new();
        let mut add = |frames: Vec<FrameId>, w: f64| {
            if let Some(&i) = index.get(&frames) {
                stacks[i].weight += w;
            } else {
                index.insert(frames.clone(), stacks.len());
                stacks.push(Stack { frames, weight: w });
            }
        };
        for (pi, prof) in file.profiles.iter().enumerate() {
            let (name, unit_name) = match prof {
                Prof::Sampled { name, unit, .. } | Prof::Evented { name, unit, .. } => (name, unit),
            };
            let (u, scale) = parse_unit(unit_name);
            match unit {
                None => unit = Some((u, scale)),
                Some((prev, _)) if prev != u => {
                    return Err(format_error(
                        path,
                        format!(
                            "profile {pi} uses unit {unit_name:?}, an earlier one another unit"
                        ),
                    ))
                }
                _ => {}
            }
            // Several profiles are threads (py-spy writes one per thread): keep them apart with a root.
            let root = multi.then(|| {
                let mut f = Frame::new(name.clone(), "", None);
                if f.kind == FrameKind::Python {
                    f.kind = FrameKind::Thread;
                }
                table.intern(f)
            });
            let bad = |m: String| format_error(path, format!("profile {pi} ({name:?}): {m}"));
            match prof {
                Prof::Sampled {
                    samples, weights, ..
                } => {
                    if samples.len() != weights.len() {
                        return Err(bad(format!(
                            "{} samples but {} weights",
                            samples.len(),
                            weights.len()
                        )));
                    }
                    for (s, &w) in samples.iter().zip(weights) {
                        if !(w.is_finite() && w >= 0.0) {
                            return Err(bad(format!("weight {w} is not a non-negative number")));
                        }
                        let mut frames = Vec::with_capacity(s.len() + 1);
                        frames.extend(root);
                        for &i in s {
                            frames.push(*ids.get(i).ok_or_else(|| {
                                bad(format!("frame index {i} out of range ({n_frames} frames)"))
                            })?);
                        }
                        add(frames, w * scale);
                    }
                }
                Prof::Evented { events, .. } => {
                    let mut open: Vec<FrameId> = Vec::new();
                    open.extend(root);
                    let base = open.len();
                    let mut last = events.first().map_or(0.0, |e| e.at);
                    for (ei, e) in events.iter().enumerate() {
                        if !e.at.is_finite() || e.at < last {
                            return Err(bad(format!("event {ei}: time {} goes backwards", e.at)));
                        }
                        if open.len() > base && e.at > last {
                            add(open.clone(), (e.at - last) * scale);
                        }
                        last = e.at;
                        let id = *ids.get(e.frame).ok_or_else(|| {
                            bad(format!("event {ei}: frame index {} out of range", e.frame))
                        })?;
                        match e.kind.as_str() {
                            "O" => open.push(id),
                            "C" => {
                                if open.len() <= base || open[open.len() - 1] != id {
                                    return Err(bad(format!(
                                        "event {ei}: closes frame {} which is not the innermost open frame",
                                        e.frame
                                    )));
                                }
                                open.pop();
                            }
                            other => {
                                return Err(bad(format!(
                                    "event {ei}: unknown event type {other:?}"
                                )))
                            }
                        }
                    }
                }
            }
        }
        let (unit, _) = unit.unwrap_or((Unit::Seconds, 1.0));
        let line_kind = if !any_line {
            LineKind::None
        } else if tool == "pyinstrument" {
            // pyinstrument's frames carry the function's first line, not the executing line.
            LineKind::Definition
        } else {
            LineKind::Executing
        };
        Ok(Profile {
            meta: Meta {
                format: Format::Speedscope,
                tool,
                unit,
                line_kind,
                notes: Vec::new(),
            },
            frames: table.into_frames(),
            stacks,
            timings: Vec::new(),
            line_hits: Vec::new(),
            memory: None,
        })
    }
}

/// Maps a speedscope unit to the model's, with the factor that converts values to it.
fn parse_unit(u: &str) -> (Unit, f64) {
    match u {
        "seconds" => (Unit::Seconds, 1.0),
        "milliseconds" => (Unit::Milliseconds, 1.0),
        "microseconds" => (Unit::Seconds, 1e-6),
        "nanoseconds" => (Unit::Seconds, 1e-9),
        "none" => (Unit::Samples, 1.0),
        "bytes" => (Unit::Bytes, 1.0),
        _ => (Unit::Other, 1.0),
    }
}

fn line_col_offset(data: &[u8], line: usize, col: usize) -> usize {
    if line == 0 {
        return 0;
    }
    let start = memchr::memchr_iter(b'\n', data)
        .nth(line.saturating_sub(2))
        .map_or(0, |p| p + 1);
    if line == 1 {
        col.saturating_sub(1)
    } else {
        start + col.saturating_sub(1)
    }
}

#[derive(Serialize)]
struct OutFile<'a> {
    #[serde(rename = "$schema")]
    schema: &'static str,
    exporter: String,
    name: &'a str,
    #[serde(rename = "activeProfileIndex")]
    active: usize,
    shared: OutShared,
    profiles: Vec<OutProf>,
}

#[derive(Serialize)]
struct OutShared {
    frames: Vec<JFrame>,
}

#[derive(Serialize)]
struct OutProf {
    #[serde(rename = "type")]
    kind: &'static str,
    name: String,
    unit: &'static str,
    #[serde(rename = "startValue")]
    start: f64,
    #[serde(rename = "endValue")]
    end: f64,
    samples: Vec<Vec<FrameId>>,
    weights: Vec<f64>,
}

/// Writes a sampled-stacks profile as speedscope JSON. When every stack starts with a thread/process
/// root and there are several, each becomes its own speedscope profile (as py-spy writes them).
pub fn write(profile: &Profile, name: &str, out: &mut dyn Write) -> std::io::Result<()> {
    let unit = match profile.meta.unit {
        Unit::Seconds => "seconds",
        Unit::Milliseconds => "milliseconds",
        Unit::Bytes => "bytes",
        Unit::Samples | Unit::Other => "none",
    };
    let is_root = |s: &Stack| {
        s.frames
            .first()
            .is_some_and(|&f| profile.frames[f as usize].kind != FrameKind::Python)
    };
    let mut roots: Vec<FrameId> = Vec::new();
    let split = !profile.stacks.is_empty() && profile.stacks.iter().all(is_root) && {
        for s in &profile.stacks {
            if !roots.contains(&s.frames[0]) {
                roots.push(s.frames[0]);
            }
        }
        roots.len() > 1
    };
    let mut profiles = Vec::new();
    let groups: Vec<Option<FrameId>> = if split {
        roots.iter().copied().map(Some).collect()
    } else {
        vec![None]
    };
    for g in groups {
        let mut p = OutProf {
            kind: "sampled",
            name: g.map_or_else(
                || name.to_string(),
                |r| profile.frames[r as usize].function.clone(),
            ),
            unit,
            start: 0.0,
            end: 0.0,
            samples: Vec::new(),
            weights: Vec::new(),
        };
        for s in &profile.stacks {
            match g {
                Some(r) if s.frames[0] != r => continue,
                Some(_) => p.samples.push(s.frames[1..].to_vec()),
                None => p.samples.push(s.frames.clone()),
            }
            p.weights.push(s.weight);
            p.end += s.weight;
        }
        profiles.push(p);
    }
    let file = OutFile {
        schema: "https://www.speedscope.app/file-format-schema.json",
        exporter: format!("etlkit@{}", crate::VERSION),
        name,
        active: 0,
        shared: OutShared {
            frames: profile
                .frames
                .iter()
                .map(|f| JFrame {
                    name: f.function.clone(),
                    file: (!f.file.is_empty()).then(|| f.file.clone()),
                    line: f.line,
                })
                .collect(),
        },
        profiles,
    };
    serde_json::to_writer(&mut *out, &file).map_err(std::io::Error::other)?;
    out.write_all(b"\n")
}
