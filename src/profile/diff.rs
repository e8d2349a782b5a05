//! Comparing two profiles (what got faster or slower, per function and per line) and merging several
//! (e.g. one per worker process).

use std::collections::HashMap;

use serde::Serialize;

use super::view::{clip_end, fmt_weight, tables, FunctionRow, LineRow};
use super::{FrameTable, Profile, Unit};
use crate::{Error, Result};

/// One function or line in a diff. `line` is set for per-line rows.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DiffRow {
    pub function: String,
    pub file: String,
    pub line: Option<u32>,
    pub before_self: f64,
    pub after_self: f64,
    pub before_total: f64,
    pub after_total: f64,
    /// `after_self - before_self`.
    pub delta_self: f64,
    /// Relative change of self time in percent; `None` when the function is new.
    pub delta_self_pct: Option<f64>,
}

/// The result of [`diff`].
#[derive(Debug, Clone, Serialize)]
pub struct Diff {
    pub unit: Unit,
    pub before_total: f64,
    pub after_total: f64,
    /// Relative change of the whole profile's total, in percent.
    pub total_pct: f64,
    /// Functions, largest absolute change of self time first.
    pub functions: Vec<DiffRow>,
    /// Executing lines (samplers with line numbers), largest absolute change first.
    pub lines: Vec<DiffRow>,
}

impl Diff {
    /// Regressions beyond `pct` percent: the whole profile, and functions that hold at least `min_share`
    /// percent of either total (so a function going from 1 to 2 samples does not fail a build).
    pub fn regressions(&self, pct: f64, min_share: f64) -> Vec<String> {
        let mut out = Vec::new();
        if self.before_total > 0.0 && self.total_pct > pct {
            out.push(format!("total: {:+.1}%", self.total_pct));
        }
        let share = |w: f64, t: f64| if t > 0.0 { 100.0 * w / t } else { 0.0 };
        for r in &self.functions {
            let big = share(r.before_self, self.before_total) >= min_share
                || share(r.after_self, self.after_total) >= min_share;
            let grew = match r.delta_self_pct {
                Some(p) => p > pct,
                None => r.after_self > 0.0,
            };
            if big && grew {
                out.push(format!(
                    "{} ({}): self {}",
                    r.function,
                    r.file,
                    r.delta_self_pct
                        .map_or_else(|| "new".to_string(), |p| format!("{p:+.1}%"))
                ));
            }
        }
        out
    }

    /// The diff as text: the totals, then the `top` functions and lines that changed most, then the regression
    /// gate's verdict when there is one (`gate`: the threshold that found `regressions`).
    pub fn render(&self, top: usize, regressions: &[String], gate: Option<f64>) -> String {
        let d = self;
        use std::fmt::Write as _;
        let u = d.unit;
        let mut s = String::new();
        let _ = writeln!(
            s,
            "total: {} -> {} ({:+.1}%)",
            fmt_weight(d.before_total, u),
            fmt_weight(d.after_total, u),
            d.total_pct
        );
        for (title, rows) in [
            ("Functions (self time)", &d.functions),
            ("Lines (self time)", &d.lines),
        ] {
            if rows.is_empty() {
                continue;
            }
            let _ = writeln!(s, "\n{title}");
            let body: Vec<[String; 5]> = rows
                .iter()
                .take(top)
                .map(|r| {
                    let loc = match r.line {
                        Some(l) => format!("{}:{l}", r.file),
                        None => r.file.clone(),
                    };
                    [
                        fmt_weight(r.before_self, u),
                        fmt_weight(r.after_self, u),
                        r.delta_self_pct
                            .map_or_else(|| "new".into(), |p| format!("{p:+.1}%")),
                        clip_end(&r.function, 60),
                        loc,
                    ]
                })
                .collect();
            let head = ["before", "after", "change", "function", "location"];
            let mut w = head.map(|h| h.chars().count());
            for r in &body {
                for i in 0..5 {
                    w[i] = w[i].max(r[i].chars().count());
                }
            }
            let line = |c: [&str; 5], s: &mut String| {
                let pad = |t: &str, n: usize| " ".repeat(n - t.chars().count());
                let l = format!(
                    "{}{}  {}{}  {}{}  {}{}  {}",
                    pad(c[0], w[0]),
                    c[0],
                    pad(c[1], w[1]),
                    c[1],
                    pad(c[2], w[2]),
                    c[2],
                    c[3],
                    pad(c[3], w[3]),
                    c[4]
                );
                let _ = writeln!(s, "{}", l.trim_end());
            };
            line(head, &mut s);
            for r in &body {
                line([&r[0], &r[1], &r[2], &r[3], &r[4]], &mut s);
            }
        }
        if let Some(p) = gate {
            if regressions.is_empty() {
                let _ = writeln!(s, "\nno regression above {p}%");
            } else {
                let _ = writeln!(s, "\nREGRESSION above {p}%:");
                for r in regressions {
                    let _ = writeln!(s, "  {r}");
                }
            }
        }
        s
    }
}

fn rel(before: f64, after: f64) -> Option<f64> {
    (before > 0.0).then(|| 100.0 * (after - before) / before)
}

/// Compares two profiles function by function (and line by line). Both must measure the same kind of
/// thing: two sample counts, or two times.
pub fn diff(before: &Profile, after: &Profile) -> Result<Diff> {
    if before.meta.unit.kind() != after.meta.unit.kind() {
        return Err(Error::InvalidArgument {
            what: "profiles",
            value: format!("{:?} vs {:?}", before.meta.unit, after.meta.unit),
            expected:
                "two profiles measured the same way (both sample counts, both times, or both bytes)"
                    .into(),
        });
    }
    // Times in different units (ms vs s) are compared in seconds.
    let scale = |p: &Profile| p.meta.unit.seconds().unwrap_or(1.0);
    let unit = if before.meta.unit.seconds().is_some() {
        Unit::Seconds
    } else {
        before.meta.unit
    };
    let (bt, at) = (tables(before), tables(after));
    let (bs, as_) = (scale(before), scale(after));
    let key = |r: &FunctionRow| (r.function.clone(), r.file.clone());
    let mut rows: HashMap<(String, String), DiffRow> = HashMap::new();
    let mut order = Vec::new();
    for (side, t, s) in [(0, &bt.functions, bs), (1, &at.functions, as_)] {
        for r in t {
            let k = key(r);
            let e = rows.entry(k.clone()).or_insert_with(|| {
                order.push(k);
                DiffRow {
                    function: r.function.clone(),
                    file: r.file.clone(),
                    line: None,
                    before_self: 0.0,
                    after_self: 0.0,
                    before_total: 0.0,
                    after_total: 0.0,
                    delta_self: 0.0,
                    delta_self_pct: None,
                }
            });
            // pstats keys include the first line; two same-named functions in one file add up here.
            if side == 0 {
                e.before_self += r.self_weight * s;
                e.before_total += r.total * s;
            } else {
                e.after_self += r.self_weight * s;
                e.after_total += r.total * s;
            }
        }
    }
    let mut functions: Vec<DiffRow> = order
        .into_iter()
        .map(|k| rows.remove(&k).expect("key inserted"))
        .collect();
    let mut lines = line_rows(&bt.lines, &at.lines, bs, as_);
    for r in functions.iter_mut().chain(lines.iter_mut()) {
        r.delta_self = r.after_self - r.before_self;
        r.delta_self_pct = rel(r.before_self, r.after_self);
    }
    // Functions with no self time on either side only add noise to a table sorted by self-time change.
    functions.retain(|r| r.before_self != 0.0 || r.after_self != 0.0);
    lines.retain(|r| r.before_self != 0.0 || r.after_self != 0.0);
    let by_change = |a: &DiffRow, b: &DiffRow| {
        b.delta_self
            .abs()
            .total_cmp(&a.delta_self.abs())
            .then_with(|| (&a.function, &a.file, a.line).cmp(&(&b.function, &b.file, b.line)))
    };
    functions.sort_by(by_change);
    lines.sort_by(by_change);
    let (before_total, after_total) = (bt.total * bs, at.total * as_);
    Ok(Diff {
        unit,
        before_total,
        after_total,
        total_pct: rel(before_total, after_total).unwrap_or(0.0),
        functions,
        lines,
    })
}

fn line_rows(before: &[LineRow], after: &[LineRow], bs: f64, as_: f64) -> Vec<DiffRow> {
    let mut rows: HashMap<(String, u32, String), DiffRow> = HashMap::new();
    let mut order = Vec::new();
    for (side, t, s) in [(0, before, bs), (1, after, as_)] {
        for r in t {
            let k = (r.file.clone(), r.line, r.function.clone());
            let e = rows.entry(k.clone()).or_insert_with(|| {
                order.push(k);
                DiffRow {
                    function: r.function.clone(),
                    file: r.file.clone(),
                    line: Some(r.line),
                    before_self: 0.0,
                    after_self: 0.0,
                    before_total: 0.0,
                    after_total: 0.0,
                    delta_self: 0.0,
                    delta_self_pct: None,
                }
            });
            if side == 0 {
                e.before_self += r.self_weight * s;
                e.before_total += r.total * s;
            } else {
                e.after_self += r.self_weight * s;
                e.after_total += r.total * s;
            }
        }
    }
    order
        .into_iter()
        .map(|k| rows.remove(&k).expect("key inserted"))
        .collect()
}

/// Merges profiles of the same kind: sampled stacks are concatenated (identical stacks add up), pstats
/// timings add up per function like `pstats.Stats.add`. With `label_roots`, each input's stacks get a
/// root frame naming it (e.g. one per worker process).
pub fn merge(profiles: &[(String, Profile)], label_roots: bool) -> Result<Profile> {
    let Some((_, first)) = profiles.first() else {
        return Err(Error::InvalidArgument {
            what: "profiles",
            value: String::new(),
            expected: "at least one profile to merge".into(),
        });
    };
    let timed = first.is_timed();
    for (name, p) in profiles {
        if p.is_timed() != timed || p.meta.unit != first.meta.unit {
            return Err(Error::InvalidArgument {
                what: "profile",
                value: name.clone(),
                expected: format!(
                    "the same kind as the first one ({} in {:?})",
                    if timed { "pstats timings" } else { "stacks" },
                    first.meta.unit
                ),
            });
        }
    }
    let mut table = FrameTable::default();
    let mut out = Profile::new(first.meta.clone());
    out.meta.tool = {
        let mut tools: Vec<&str> = profiles.iter().map(|(_, p)| p.meta.tool.as_str()).collect();
        tools.dedup();
        tools.join("+")
    };
    out.meta
        .notes
        .push(format!("merged from {} profiles", profiles.len()));
    if timed {
        let mut index: HashMap<u32, usize> = HashMap::new();
        for (_, p) in profiles {
            let map: Vec<u32> = p.frames.iter().map(|f| table.intern(f.clone())).collect();
            for t in &p.timings {
                let id = map[t.frame as usize];
                let i = *index.entry(id).or_insert_with(|| {
                    out.timings.push(super::FunctionTiming {
                        frame: id,
                        cc: Some(0),
                        nc: 0,
                        tt: 0.0,
                        ct: 0.0,
                        callers: Vec::new(),
                    });
                    out.timings.len() - 1
                });
                let o = &mut out.timings[i];
                o.cc = o.cc.zip(t.cc).map(|(a, b)| a + b);
                o.nc += t.nc;
                o.tt += t.tt;
                o.ct += t.ct;
                for e in &t.callers {
                    let c = map[e.caller as usize];
                    match o.callers.iter_mut().find(|x| x.caller == c) {
                        Some(x) => {
                            x.nc += e.nc;
                            x.cc = x.cc.zip(e.cc).map(|(a, b)| a + b);
                            x.tt += e.tt;
                            x.ct += e.ct;
                        }
                        None => o.callers.push(super::CallerEdge {
                            caller: c,
                            ..e.clone()
                        }),
                    }
                }
            }
        }
    } else {
        let mut index: HashMap<Vec<u32>, usize> = HashMap::new();
        for (name, p) in profiles {
            let map: Vec<u32> = p.frames.iter().map(|f| table.intern(f.clone())).collect();
            let root = label_roots.then(|| {
                let mut f = super::Frame::new(format!("process {name}"), "", None);
                f.kind = super::FrameKind::Process;
                table.intern(f)
            });
            for s in &p.stacks {
                let mut frames: Vec<u32> = root.into_iter().collect();
                frames.extend(s.frames.iter().map(|&f| map[f as usize]));
                match index.get(&frames) {
                    Some(&i) => out.stacks[i].weight += s.weight,
                    None => {
                        index.insert(frames.clone(), out.stacks.len());
                        out.stacks.push(super::Stack {
                            frames,
                            weight: s.weight,
                        });
                    }
                }
            }
        }
    }
    out.frames = table.into_frames();
    Ok(out)
}
