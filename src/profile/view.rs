//! Views over a [`Profile`]: top functions by self and total time, hot lines, the hot path, callers and
//! callees of a function, filters, and the terminal table / JSON renderings of all that.

use std::borrow::Cow;
use std::collections::HashMap;
use std::fmt::Write as _;

use rustc_hash::FxHashMap;
use serde::Serialize;

use super::stdlib::STDLIB_MODULES;
use super::{
    CpuSplit, Format, Frame, FrameId, FrameKind, FunctionTiming, LineKind, LineMemory, Meta,
    Profile, Stack, Unit,
};

/// Which frames to hide. Sampled stacks that end in an idle frame, or pass through the import machinery,
/// are dropped; standard-library and site-packages frames are cut out of stacks so their time goes to the
/// nearest caller that is kept. For pstats the matching functions' rows are dropped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Filters {
    pub idle: bool,
    pub imports: bool,
    pub stdlib: bool,
    pub site_packages: bool,
}

impl Filters {
    fn any(&self) -> bool {
        self.idle || self.imports || self.stdlib || self.site_packages
    }
}

/// Where a frame's code lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    User,
    Stdlib,
    SitePackages,
}

/// Classifies a frame by its file: `~` (builtins) and `<frozen …>` are the standard library, so are
/// absolute paths under `lib/pythonX.Y/` and py-spy's shortened names whose first component is a stdlib
/// module; `site-packages`/`dist-packages` paths are third-party. py-spy shortens site-packages paths too
/// (`certifi/core.py`), and those cannot be told from user code without `--full-filenames`.
pub fn origin(frame: &Frame) -> Origin {
    let f = frame.file.as_str();
    if f.contains("/site-packages/") || f.contains("/dist-packages/") {
        return Origin::SitePackages;
    }
    if f == "~" || f.starts_with("<frozen ") {
        return Origin::Stdlib;
    }
    if f.starts_with('/') || f.contains(":\\") {
        let in_lib = f.split('/').collect::<Vec<_>>().windows(2).any(|w| {
            (w[0] == "lib" || w[0] == "Lib")
                && (w[1].starts_with("python3") || w[1].starts_with("python2"))
        });
        return if in_lib { Origin::Stdlib } else { Origin::User };
    }
    let first = f.split(['/', '\\']).next().unwrap_or("");
    let module = first.strip_suffix(".py").unwrap_or(first);
    if (f.contains(['/', '\\']) || f.ends_with(".py"))
        && STDLIB_MODULES.binary_search(&module).is_ok()
    {
        return Origin::Stdlib;
    }
    Origin::User
}

/// The last dotted component of a function name, or the method of a pstats builtin name
/// (`<built-in method time.sleep>` -> `sleep`, `<method 'acquire' of '_thread.lock' objects>` -> `acquire`).
fn short_name(function: &str) -> &str {
    if let Some(rest) = function.strip_prefix("<method '") {
        return rest.split('\'').next().unwrap_or(rest);
    }
    let f = function
        .strip_prefix("<built-in method ")
        .or_else(|| function.strip_prefix("<built-in function "))
        .map(|r| r.trim_end_matches('>'))
        .unwrap_or(function);
    f.rsplit('.').next().unwrap_or(f)
}

/// Functions where a thread waits rather than works (py-spy's raw output does not mark idle samples).
pub fn is_idle(frame: &Frame) -> bool {
    const IDLE: &[&str] = &[
        "sleep",
        "wait",
        "_wait",
        "_try_wait",
        "waitpid",
        "_wait_for_tstate_lock",
        "acquire",
        "select",
        "poll",
        "epoll",
        "accept",
        "recv",
        "recv_into",
        "recvfrom",
        "_recv",
        "_recv_bytes",
        "readinto",
        "_communicate",
    ];
    IDLE.contains(&short_name(&frame.function))
}

/// Frames of the import machinery (module loading at start-up and on first import).
pub fn is_import(frame: &Frame) -> bool {
    frame.file.starts_with("<frozen importlib")
        || matches!(
            frame.function.as_str(),
            "_find_and_load" | "_call_with_frames_removed"
        )
        || frame.function.starts_with("<built-in method _imp.")
}

/// Returns a copy of `profile` with the filtered frames hidden (see [`Filters`]).
pub fn apply_filters(profile: &Profile, filters: &Filters) -> Profile {
    if !filters.any() {
        return profile.clone();
    }
    let cut = |f: &Frame| match origin(f) {
        Origin::Stdlib => filters.stdlib,
        Origin::SitePackages => filters.site_packages,
        Origin::User => false,
    };
    let mut out = profile.clone();
    let frames = &profile.frames;
    if let Some(m) = &mut out.memory {
        // Memory rows are single lines: hidden like a stack ending there.
        let hide = |r: &LineMemory| {
            let f = &frames[r.frame as usize];
            (filters.idle && is_idle(f)) || (filters.imports && is_import(f)) || cut(f)
        };
        m.lines.retain(|r| !hide(r));
        m.functions.retain(|r| !hide(r));
        m.by_count.retain(|r| !hide(r));
    }
    if profile.is_timed() {
        out.timings.retain(|t| {
            let f = &frames[t.frame as usize];
            !((filters.idle && is_idle(f)) || (filters.imports && is_import(f)) || cut(f))
        });
        return out;
    }
    out.stacks = profile
        .stacks
        .iter()
        .filter(|s| {
            let leaf = s
                .frames
                .iter()
                .rev()
                .map(|&f| &frames[f as usize])
                .find(|f| f.kind == FrameKind::Python);
            let idle = filters.idle && leaf.is_some_and(is_idle);
            let import =
                filters.imports && s.frames.iter().any(|&f| is_import(&frames[f as usize]));
            !(idle || import)
        })
        .map(|s| {
            if !(filters.stdlib || filters.site_packages) {
                return s.clone();
            }
            let kept: Vec<FrameId> = s
                .frames
                .iter()
                .copied()
                .filter(|&f| !cut(&frames[f as usize]))
                .collect();
            let has_python = kept
                .iter()
                .any(|&f| frames[f as usize].kind == FrameKind::Python);
            // A stack made only of library frames keeps its outermost Python frame, so its time stays visible.
            let frames_out = if has_python || s.frames.is_empty() {
                kept
            } else {
                let mut k = kept;
                if let Some(&first) = s
                    .frames
                    .iter()
                    .find(|&&f| frames[f as usize].kind == FrameKind::Python)
                {
                    k.push(first);
                }
                k
            };
            Stack {
                frames: frames_out,
                weight: s.weight,
            }
        })
        .collect();
    if filters.any() {
        out.meta
            .notes
            .push(format!("filtered: {}", describe(filters)));
    }
    out
}

fn describe(f: &Filters) -> String {
    let mut v = Vec::new();
    if f.idle {
        v.push("idle");
    }
    if f.imports {
        v.push("import-time");
    }
    if f.stdlib {
        v.push("standard-library");
    }
    if f.site_packages {
        v.push("site-packages");
    }
    format!("{} frames hidden", v.join(", "))
}

/// One function's line in a report.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FunctionRow {
    pub function: String,
    pub file: String,
    /// The definition line for pstats; absent for samplers (a function spans many executing lines).
    pub line: Option<u32>,
    #[serde(rename = "self")]
    pub self_weight: f64,
    pub total: f64,
    pub self_pct: f64,
    pub total_pct: f64,
    /// pstats' `nc` (all calls) and `cc` (primitive calls) when known.
    pub calls: Option<i64>,
    pub primitive_calls: Option<i64>,
}

/// One executing line (samplers with line numbers only).
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LineRow {
    pub file: String,
    pub line: u32,
    pub function: String,
    #[serde(rename = "self")]
    pub self_weight: f64,
    pub total: f64,
    pub self_pct: f64,
    pub total_pct: f64,
}

/// One step of the hot path.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PathStep {
    pub function: String,
    pub file: String,
    pub total: f64,
    pub total_pct: f64,
}

/// A caller or callee of the chosen function, with the weight of that edge.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Edge {
    pub function: String,
    pub file: String,
    pub weight: f64,
    pub pct: f64,
    pub calls: Option<i64>,
}

/// Callers and callees of the functions matching `--function`.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Neighbours {
    pub query: String,
    pub matched: Vec<String>,
    pub callers: Vec<Edge>,
    pub callees: Vec<Edge>,
}

/// Everything `etlkit profile FILE` shows.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub meta: Meta,
    pub filters: Filters,
    pub total: f64,
    /// Number of stacks (sampled) or functions (pstats) after filtering.
    pub entries: usize,
    pub top_self: Vec<FunctionRow>,
    pub top_total: Vec<FunctionRow>,
    pub hot_lines: Vec<LineRow>,
    pub hot_path: Vec<PathStep>,
    pub hot_path_note: Option<String>,
    pub neighbours: Option<Neighbours>,
    /// line_profiler: the hottest functions with every line's hits and time (empty for other formats).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub line_functions: Vec<LineFunctionRow>,
    /// Scalene and memray: memory (and Scalene's CPU split) by line, site and function.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory: Option<MemoryReport>,
}

/// The memory side of a report. Bytes are bytes; `mb` is the tool's MB (2^20 for Scalene, 10^6 for
/// memray), which the text rendering uses so its figures read as the tool's own.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemoryReport {
    pub measure: String,
    pub mb: f64,
    pub peak_bytes: Option<f64>,
    /// `file:line (function)` of the peak (Scalene).
    pub peak_at: Option<String>,
    pub allocated_bytes: Option<f64>,
    pub allocations: Option<u64>,
    pub allocators: Vec<(String, u64)>,
    /// Lines (or sites) by memory: peak first for Scalene, bytes for memray.
    pub lines: Vec<MemoryRow>,
    /// memray stats: sites by number of allocations.
    pub by_count: Vec<MemoryRow>,
    /// Scalene: lines by CPU, with the Python / native / system split.
    pub cpu_lines: Vec<MemoryRow>,
    /// Scalene: functions by CPU, with their memory.
    pub functions: Vec<MemoryRow>,
}

/// One line, site or function of a [`MemoryReport`].
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct MemoryRow {
    pub function: String,
    pub file: String,
    pub line: Option<u32>,
    pub allocated_bytes: Option<f64>,
    pub allocations: Option<u64>,
    pub peak_bytes: Option<f64>,
    pub average_bytes: Option<f64>,
    pub copy_bytes_per_s: Option<f64>,
    /// Share of all allocated bytes, in percent.
    pub share_pct: Option<f64>,
    /// Share of the line's allocations made by Python code, in percent.
    pub python_pct: Option<f64>,
    pub cpu: Option<CpuSplit>,
    pub source: Option<String>,
}

/// Builds the memory part of a report: the top `top` rows of each table.
fn memory_report(p: &Profile, top: usize) -> Option<MemoryReport> {
    let m = p.memory.as_ref()?;
    let row = |r: &LineMemory| {
        let f = &p.frames[r.frame as usize];
        MemoryRow {
            function: f.function.clone(),
            file: f.file.clone(),
            line: f.line,
            allocated_bytes: r.allocated_bytes,
            allocations: r.allocations,
            peak_bytes: r.peak_bytes,
            average_bytes: r.average_bytes,
            copy_bytes_per_s: r.copy_bytes_per_s,
            share_pct: r.share.map(|s| 100.0 * s),
            python_pct: r.python_fraction.map(|s| 100.0 * s),
            cpu: r.cpu,
            source: r.source.clone(),
        }
    };
    // Heaviest first by `key` (rows without it or at zero are left out), ties in the table's order.
    let top_by = |rows: &[LineMemory], key: &dyn Fn(&LineMemory) -> Option<f64>| {
        let mut v: Vec<&LineMemory> = rows
            .iter()
            .filter(|r| key(r).is_some_and(|k| k > 0.0))
            .collect();
        v.sort_by(|a, b| key(b).unwrap_or(0.0).total_cmp(&key(a).unwrap_or(0.0)));
        v.truncate(top);
        v.into_iter().map(row).collect::<Vec<_>>()
    };
    let has_cpu = m.lines.iter().any(|r| r.cpu.is_some());
    let lines = if has_cpu {
        // Scalene: the peak a line reached, then what it allocated.
        let mut v: Vec<&LineMemory> = m
            .lines
            .iter()
            .filter(|r| r.peak_bytes.unwrap_or(0.0) > 0.0 || r.allocated_bytes.unwrap_or(0.0) > 0.0)
            .collect();
        v.sort_by(|a, b| {
            let k = |r: &LineMemory| {
                (
                    r.peak_bytes.unwrap_or(0.0),
                    r.allocated_bytes.unwrap_or(0.0),
                )
            };
            let (ka, kb) = (k(a), k(b));
            kb.0.total_cmp(&ka.0).then(kb.1.total_cmp(&ka.1))
        });
        v.truncate(top);
        v.into_iter().map(row).collect()
    } else if p.stacks.is_empty() {
        // memray stats: memray's own order.
        m.lines.iter().take(top).map(row).collect()
    } else {
        top_by(&m.lines, &|r| r.allocated_bytes)
    };
    let cpu_pct = |r: &LineMemory| r.cpu.map(|c| c.total_pct());
    let mut report = MemoryReport {
        measure: m.measure.clone(),
        mb: m.mb,
        peak_bytes: m.peak_bytes,
        peak_at: m.peak_at.map(|f| {
            let f = &p.frames[f as usize];
            format!("{}:{} ({})", f.file, f.line.unwrap_or(0), f.function)
        }),
        allocated_bytes: m.allocated_bytes,
        allocations: m.allocations,
        allocators: m.allocators.clone(),
        lines,
        by_count: m.by_count.iter().take(top).map(row).collect(),
        cpu_lines: if has_cpu {
            top_by(&m.lines, &cpu_pct)
        } else {
            Vec::new()
        },
        functions: top_by(&m.functions, &cpu_pct),
    };
    // Memory-only functions (no CPU samples) still belong in the function table.
    if report.functions.len() < top {
        let mem_only: Vec<MemoryRow> = m
            .functions
            .iter()
            .filter(|r| cpu_pct(r).unwrap_or(0.0) <= 0.0 && r.peak_bytes.unwrap_or(0.0) > 0.0)
            .take(top - report.functions.len())
            .map(row)
            .collect();
        report.functions.extend(mem_only);
    }
    // The source of the lines shown, when the tool did not keep it and the file is readable.
    let mut files: HashMap<String, Option<Vec<String>>> = HashMap::new();
    for r in report
        .lines
        .iter_mut()
        .chain(&mut report.by_count)
        .chain(&mut report.cpu_lines)
    {
        if r.source.is_some() {
            continue;
        }
        let Some(line) = r.line else { continue };
        let text = files.entry(r.file.clone()).or_insert_with(|| {
            std::fs::read_to_string(&r.file)
                .ok()
                .map(|t| t.lines().map(str::to_string).collect())
        });
        r.source = text.as_ref().and_then(|t| {
            (line as usize)
                .checked_sub(1)
                .and_then(|i| t.get(i).cloned())
        });
    }
    Some(report)
}

/// A function as line_profiler reports it: its total and each line that ran.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LineFunctionRow {
    pub function: String,
    pub file: String,
    pub total: f64,
    pub total_pct: f64,
    pub lines: Vec<LineDetail>,
}

/// One line of a [`LineFunctionRow`]: hits, time, time per hit, share of the function's time, and the source
/// text when the file can be read.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LineDetail {
    pub line: u32,
    pub hits: u64,
    pub time: f64,
    pub per_hit: f64,
    pub pct: f64,
    pub source: Option<String>,
}

/// Groups a line_profiler profile's lines by function, hottest functions first.
fn line_functions<'a>(
    p: &'a Profile,
    top: usize,
    (fmap, keys): &FunctionIndex<'a>,
) -> Vec<LineFunctionRow> {
    if p.line_hits.is_empty() {
        return Vec::new();
    }
    let mut hits = vec![0u64; p.frames.len()];
    for &(id, h) in &p.line_hits {
        hits[id as usize] = h;
    }
    // Per function: [(line, hits, time)] and the function's total.
    type Lines = Vec<(u32, u64, f64)>;
    type Group<'a> = ((&'a str, &'a str), Lines, f64);
    let mut slot: Vec<Option<usize>> = vec![None; keys.len()];
    let mut groups: Vec<Group> = Vec::new();
    for st in &p.stacks {
        let Some(&id) = st.frames.last() else {
            continue;
        };
        let Some(k) = fmap[id as usize] else {
            continue;
        };
        let g = *slot[k as usize].get_or_insert_with(|| {
            groups.push((keys[k as usize], Vec::new(), 0.0));
            groups.len() - 1
        });
        groups[g].1.push((
            p.frames[id as usize].line.unwrap_or(0),
            hits[id as usize],
            st.weight,
        ));
        groups[g].2 += st.weight;
    }
    // Only the functions shown become rows (a big file holds hundreds of thousands).
    let max = groups.iter().map(|g| g.2).fold(0.0, f64::max);
    let order: Vec<usize> = (0..groups.len()).collect();
    let shown = top_rows(&order, top, |_| true, |&i| groups[i].2, |&i| groups[i].0);
    let mut groups: Vec<Option<Group>> = groups.into_iter().map(Some).collect();
    let groups: Vec<Group> = shown.into_iter().filter_map(|i| groups[i].take()).collect();
    // line_profiler times nested calls inside their callers' lines: a share of the sum means little, so the
    // share is of the largest function total.
    let mut rows: Vec<LineFunctionRow> = groups
        .into_iter()
        .map(|((function, file), mut lines, total)| {
            lines.sort_by_key(|l| l.0);
            LineFunctionRow {
                function: function.to_string(),
                file: file.to_string(),
                total,
                total_pct: 0.0,
                lines: lines
                    .into_iter()
                    .filter(|l| l.1 > 0 || l.2 > 0.0)
                    .map(|(line, h, t)| LineDetail {
                        line,
                        hits: h,
                        time: t,
                        per_hit: if h > 0 { t / h as f64 } else { 0.0 },
                        pct: pct(t, total),
                        source: None,
                    })
                    .collect(),
            }
        })
        .collect();
    // The source text of the functions shown, each file read once.
    let mut files: HashMap<String, Option<Vec<String>>> = HashMap::new();
    for r in &mut rows {
        r.total_pct = pct(r.total, max);
        let text = files.entry(r.file.clone()).or_insert_with(|| {
            std::fs::read_to_string(&r.file)
                .ok()
                .map(|t| t.lines().map(str::to_string).collect())
        });
        for l in &mut r.lines {
            l.source = text.as_ref().and_then(|t| {
                (l.line as usize)
                    .checked_sub(1)
                    .and_then(|i| t.get(i).cloned())
            });
        }
    }
    rows
}

/// Per-function (and per-line) sums for a profile.
pub struct Tables {
    pub total: f64,
    pub functions: Vec<FunctionRow>,
    pub lines: Vec<LineRow>,
}

fn pct(w: f64, total: f64) -> f64 {
    if total > 0.0 {
        100.0 * w / total
    } else {
        0.0
    }
}

/// Function key for samplers: name and file (the executing line varies within a function).
type FnKey = (String, String);

/// Each frame's function (None for thread/process roots), and the functions as (name, file).
type FunctionIndex<'a> = (Vec<Option<u32>>, Vec<(&'a str, &'a str)>);

/// Maps each frame to a function index (None for thread/process roots) and lists the functions.
fn function_index(profile: &Profile) -> FunctionIndex<'_> {
    let mut keys: Vec<(&str, &str)> = Vec::new();
    let mut index: FxHashMap<(&str, &str), u32> = FxHashMap::default();
    // Frames of one function often come one after another (every line of a line_profiler function): the
    // previous frame's function is compared before anything is hashed.
    let mut last: Option<(&str, &str, u32)> = None;
    let map = profile
        .frames
        .iter()
        .map(|f| {
            if f.kind != FrameKind::Python {
                return None;
            }
            let key = (f.function.as_str(), f.file.as_str());
            if let Some((name, file, id)) = last {
                if (name, file) == key {
                    return Some(id);
                }
            }
            let id = *index.entry(key).or_insert_with(|| {
                keys.push(key);
                keys.len() as u32 - 1
            });
            last = Some((key.0, key.1, id));
            Some(id)
        })
        .collect();
    (map, keys)
}

/// Self and total weight per function and per line of a sampled profile, by index (no names copied yet).
struct Weights<'a> {
    total: f64,
    keys: Vec<(&'a str, &'a str)>,
    fself: Vec<f64>,
    ftotal: Vec<f64>,
    /// Per frame (empty without executing lines).
    lself: Vec<f64>,
    ltotal: Vec<f64>,
}

impl Weights<'_> {
    fn function_row(&self, i: usize) -> FunctionRow {
        FunctionRow {
            function: self.keys[i].0.to_string(),
            file: self.keys[i].1.to_string(),
            line: None,
            self_weight: self.fself[i],
            total: self.ftotal[i],
            self_pct: pct(self.fself[i], self.total),
            total_pct: pct(self.ftotal[i], self.total),
            calls: None,
            primitive_calls: None,
        }
    }

    /// The frames that are lines worth a row (Python frames with a line and some weight).
    fn line_frames<'p>(&'p self, profile: &'p Profile) -> impl Iterator<Item = usize> + 'p {
        (0..self.lself.len()).filter(move |&i| {
            let f = &profile.frames[i];
            f.line.is_some() && f.kind == FrameKind::Python && self.ltotal[i] > 0.0
        })
    }

    fn line_row(&self, profile: &Profile, i: usize) -> LineRow {
        let f = &profile.frames[i];
        LineRow {
            file: f.file.clone(),
            line: f.line.unwrap_or(0),
            function: f.function.clone(),
            self_weight: self.lself[i],
            total: self.ltotal[i],
            self_pct: pct(self.lself[i], self.total),
            total_pct: pct(self.ltotal[i], self.total),
        }
    }
}

fn weights<'a>(profile: &'a Profile, index: &FunctionIndex<'a>) -> Weights<'a> {
    let (fmap, keys) = (&index.0, index.1.clone());
    let mut fself = vec![0.0; keys.len()];
    let mut ftotal = vec![0.0; keys.len()];
    let mut fstamp = vec![usize::MAX; keys.len()];
    let with_lines = profile.meta.line_kind == LineKind::Executing;
    let mut lself = vec![0.0; if with_lines { profile.frames.len() } else { 0 }];
    let mut ltotal = lself.clone();
    let mut lstamp = vec![usize::MAX; lself.len()];
    for (si, s) in profile.stacks.iter().enumerate() {
        // Count a function once per stack however often recursion repeats it.
        for &f in &s.frames {
            if let Some(k) = fmap[f as usize] {
                if fstamp[k as usize] != si {
                    fstamp[k as usize] = si;
                    ftotal[k as usize] += s.weight;
                }
            }
            if with_lines && lstamp[f as usize] != si {
                lstamp[f as usize] = si;
                ltotal[f as usize] += s.weight;
            }
        }
        if let Some(&leaf) = s.frames.last() {
            if let Some(k) = fmap[leaf as usize] {
                fself[k as usize] += s.weight;
                if with_lines {
                    lself[leaf as usize] += s.weight;
                }
            }
        }
    }
    Weights {
        total: profile.total(),
        keys,
        fself,
        ftotal,
        lself,
        ltotal,
    }
}

/// Computes self and total per function (and per line where the profile has executing lines).
pub fn tables(profile: &Profile) -> Tables {
    let total = profile.total();
    if profile.is_timed() {
        let functions = profile
            .timings
            .iter()
            .map(|t| timing_row(profile, t, total))
            .collect();
        return Tables {
            total,
            functions,
            lines: Vec::new(),
        };
    }
    let w = weights(profile, &function_index(profile));
    Tables {
        total,
        functions: (0..w.keys.len()).map(|i| w.function_row(i)).collect(),
        lines: w
            .line_frames(profile)
            .map(|i| w.line_row(profile, i))
            .collect(),
    }
}

fn timing_row(profile: &Profile, t: &FunctionTiming, total: f64) -> FunctionRow {
    let f = &profile.frames[t.frame as usize];
    FunctionRow {
        function: f.function.clone(),
        file: f.file.clone(),
        line: f.line,
        self_weight: t.tt,
        total: t.ct,
        self_pct: pct(t.tt, total),
        total_pct: pct(t.ct, total),
        calls: Some(t.nc),
        primitive_calls: t.cc,
    }
}

/// Sorts rows by a weight, heaviest first, ties by name then file so output is deterministic.
fn sort_by<T>(rows: &mut [T], w: impl Fn(&T) -> f64, name: impl Fn(&T) -> (&str, &str)) {
    rows.sort_by(|a, b| w(b).total_cmp(&w(a)).then_with(|| name(a).cmp(&name(b))));
}

/// The first `top` rows that pass `keep`, in [`sort_by`]'s order (equal rows keep their order), cloned.
/// Selects before sorting: a pstats file can have hundreds of thousands of rows for a table of ten.
fn top_rows<'a, T: Clone>(
    rows: &'a [T],
    top: usize,
    keep: impl Fn(&T) -> bool,
    w: impl Fn(&T) -> f64,
    name: impl Fn(&'a T) -> (&'a str, &'a str),
) -> Vec<T> {
    let mut idx: Vec<usize> = (0..rows.len()).filter(|&i| keep(&rows[i])).collect();
    // The index as the last key makes the order total, so an unstable selection gives the stable order.
    let cmp = |&a: &usize, &b: &usize| {
        let (ra, rb) = (&rows[a], &rows[b]);
        w(rb)
            .total_cmp(&w(ra))
            .then_with(|| name(ra).cmp(&name(rb)))
            .then(a.cmp(&b))
    };
    if top < idx.len() {
        if top > 0 {
            idx.select_nth_unstable_by(top - 1, cmp);
        }
        idx.truncate(top);
    }
    idx.sort_unstable_by(cmp);
    idx.into_iter().map(|i| rows[i].clone()).collect()
}

/// Builds the full report. `top` limits each table; `function` selects callers/callees (substring match on
/// the function name, or `name@file`).
pub fn analyze(profile: &Profile, filters: &Filters, top: usize, function: Option<&str>) -> Report {
    // Without filters the profile is used as it is (a copy of a big profile costs more than the views).
    let p = if filters.any() {
        Cow::Owned(apply_filters(profile, filters))
    } else {
        Cow::Borrowed(profile)
    };
    let p = p.as_ref();
    // Which function each frame belongs to, worked out once for every table (sampled profiles).
    let index = (!p.is_timed()).then(|| function_index(p));
    let (total, top_self, top_total, hot_lines) = if p.is_timed() {
        // Hiding pstats rows does not shorten the run: percentages stay shares of the whole program.
        let total = profile.total();
        // Rank the timings themselves and build rows for the winners only (a big pstats file has
        // hundreds of thousands of functions).
        let timings: Vec<&FunctionTiming> = p.timings.iter().collect();
        let name = |t: &&FunctionTiming| -> (&str, &str) {
            let f = &p.frames[t.frame as usize];
            (&f.function, &f.file)
        };
        let rows = |v: Vec<&FunctionTiming>| -> Vec<FunctionRow> {
            v.into_iter().map(|t| timing_row(p, t, total)).collect()
        };
        let top_self = rows(top_rows(&timings, top, |t| t.tt > 0.0, |t| t.tt, name));
        let top_total = rows(top_rows(
            &timings,
            top,
            |t| t.ct > 0.0 || t.tt > 0.0,
            |t| t.ct,
            name,
        ));
        (total, top_self, top_total, Vec::new())
    } else {
        // Rank by index and build rows for the winners only (a line_profiler file has millions of lines).
        let w = weights(p, index.as_ref().expect("sampled profiles are indexed"));
        let functions: Vec<usize> = (0..w.keys.len()).collect();
        let name = |&i: &usize| w.keys[i];
        let top_self = top_rows(
            &functions,
            top,
            |&i| w.fself[i] > 0.0,
            |&i| w.fself[i],
            name,
        );
        // Functions whose stacks were all filtered out have nothing to show.
        let top_total = top_rows(
            &functions,
            top,
            |&i| w.ftotal[i] > 0.0 || w.fself[i] > 0.0,
            |&i| w.ftotal[i],
            name,
        );
        let lines: Vec<usize> = w.line_frames(p).collect();
        let hot_lines = top_rows(
            &lines,
            top,
            |&i| w.lself[i] > 0.0,
            |&i| w.lself[i],
            |&i| {
                let f = &p.frames[i];
                (f.function.as_str(), f.file.as_str())
            },
        );
        (
            w.total,
            top_self.into_iter().map(|i| w.function_row(i)).collect(),
            top_total.into_iter().map(|i| w.function_row(i)).collect(),
            hot_lines.into_iter().map(|i| w.line_row(p, i)).collect(),
        )
    };
    // line_profiler records no call stacks (each line is its own one-frame stack): there is no path to follow.
    let (hot_path, hot_path_note) = if p.meta.format == Format::Lprof {
        (
            Vec::new(),
            Some(
                "line_profiler records no call stacks: no hot path (see the functions' lines)"
                    .into(),
            ),
        )
    } else {
        hot_path_in(p, total, index.as_ref())
    };
    let neighbours = function.map(|q| neighbours(p, q, total));
    Report {
        meta: p.meta.clone(),
        filters: *filters,
        total,
        entries: if p.is_timed() {
            p.timings.len()
        } else {
            p.stacks.len()
        },
        top_self,
        top_total,
        hot_lines,
        hot_path,
        hot_path_note,
        neighbours,
        line_functions: index
            .as_ref()
            .map_or_else(Vec::new, |i| line_functions(p, top, i)),
        memory: memory_report(p, top),
    }
}

/// The heaviest root-to-leaf chain. Samplers: a greedy descent over the stacks, at each depth keeping
/// the heaviest function among the stacks that share the path so far. pstats: from the heaviest root,
/// follow the caller edge with the largest cumulative time (one level of edges is all pstats keeps).
pub fn hot_path(profile: &Profile, total: f64) -> (Vec<PathStep>, Option<String>) {
    let index = (!profile.is_timed()).then(|| function_index(profile));
    hot_path_in(profile, total, index.as_ref())
}

fn hot_path_in(
    profile: &Profile,
    total: f64,
    index: Option<&FunctionIndex>,
) -> (Vec<PathStep>, Option<String>) {
    let mut out = Vec::new();
    if profile.is_timed() {
        // Callees per caller as one flat table (offsets by caller id): a big file has a million edges.
        let mut start = vec![0usize; profile.frames.len() + 1];
        for t in &profile.timings {
            for e in &t.callers {
                if let Some(n) = start.get_mut(e.caller as usize + 1) {
                    *n += 1;
                }
            }
        }
        for i in 1..start.len() {
            start[i] += start[i - 1];
        }
        let mut fill = start.clone();
        let mut callees = vec![(0 as FrameId, 0.0f64); start[start.len() - 1]];
        for t in &profile.timings {
            for e in &t.callers {
                if let Some(at) = fill.get_mut(e.caller as usize) {
                    callees[*at] = (t.frame, e.ct);
                    *at += 1;
                }
            }
        }
        let callees_of = |f: FrameId| {
            let f = f as usize;
            match (start.get(f), start.get(f + 1)) {
                (Some(&a), Some(&b)) => &callees[a..b],
                _ => &[],
            }
        };
        // The function with the largest cumulative time is the entry point (`exec` or `<module>`).
        let Some(root) = profile
            .timings
            .iter()
            .max_by(|a, b| a.ct.total_cmp(&b.ct).then_with(|| b.frame.cmp(&a.frame)))
        else {
            return (out, None);
        };
        let mut cur = root.frame;
        let mut seen = vec![cur];
        let mut w = root.ct;
        loop {
            let f = &profile.frames[cur as usize];
            out.push(PathStep {
                function: f.function.clone(),
                file: f.file.clone(),
                total: w,
                total_pct: pct(w, total),
            });
            let next = callees_of(cur)
                .iter()
                .filter(|(f, _)| !seen.contains(f))
                .max_by(|a, b| a.1.total_cmp(&b.1).then_with(|| b.0.cmp(&a.0)))
                .copied();
            match next {
                Some((f, edge_ct)) if edge_ct > 0.0 => {
                    seen.push(f);
                    cur = f;
                    w = edge_ct;
                }
                _ => break,
            }
        }
        return (
            out,
            Some("pstats keeps one level of caller edges: each step is the callee with the largest cumulative time from the step before".into()),
        );
    }
    let Some((fmap, keys)) = index else {
        return (Vec::new(), None);
    };
    // Each stack still on the path, with the position of its next frame: thread/process roots are
    // skipped as the walk goes, and the stacks drop out fast, so most frames are never looked at.
    let stacks = &profile.stacks;
    let mut alive: Vec<(usize, usize)> = (0..stacks.len()).map(|i| (i, 0)).collect();
    // The function at a stack's position, after moving the position past non-function frames.
    let function_at = |(s, pos): &mut (usize, usize)| {
        let frames = &stacks[*s].frames;
        while let Some(&f) = frames.get(*pos) {
            if let Some(k) = fmap[f as usize] {
                return Some(k);
            }
            *pos += 1;
        }
        None
    };
    // Per-function sums at one depth; `touched` lists the functions to compare and reset.
    let mut sums = vec![0.0f64; keys.len()];
    let mut is_touched = vec![false; keys.len()];
    let mut touched: Vec<u32> = Vec::new();
    loop {
        for a in &mut alive {
            if let Some(k) = function_at(a) {
                if !is_touched[k as usize] {
                    is_touched[k as usize] = true;
                    touched.push(k);
                }
                sums[k as usize] += stacks[a.0].weight;
            }
        }
        let best = touched.iter().copied().max_by(|&a, &b| {
            sums[a as usize]
                .total_cmp(&sums[b as usize])
                .then_with(|| keys[b as usize].cmp(&keys[a as usize]))
        });
        let Some(k) = best else {
            break;
        };
        let w = sums[k as usize];
        for &t in &touched {
            sums[t as usize] = 0.0;
            is_touched[t as usize] = false;
        }
        touched.clear();
        let (function, file) = keys[k as usize];
        out.push(PathStep {
            function: function.to_string(),
            file: file.to_string(),
            total: w,
            total_pct: pct(w, total),
        });
        alive.retain_mut(|a| {
            let on_path = function_at(a) == Some(k);
            a.1 += 1;
            on_path
        });
    }
    (out, None)
}

/// Callers and callees of the functions whose name contains `query` (or equals it before an `@file`).
pub fn neighbours(profile: &Profile, query: &str, total: f64) -> Neighbours {
    let (qname, qfile) = match query.split_once('@') {
        Some((n, f)) => (n, Some(f)),
        None => (query, None),
    };
    let matches = |f: &Frame| {
        f.kind == FrameKind::Python
            && match qfile {
                Some(file) => f.function == qname && f.file.ends_with(file),
                None => f.function.contains(qname),
            }
    };
    let mut matched: Vec<String> = Vec::new();
    let mut callers: HashMap<FnKey, (f64, Option<i64>)> = HashMap::new();
    let mut callees: HashMap<FnKey, (f64, Option<i64>)> = HashMap::new();
    let key = |f: &Frame| (f.function.clone(), f.file.clone());
    if profile.is_timed() {
        let targets: Vec<FrameId> = profile
            .timings
            .iter()
            .map(|t| t.frame)
            .filter(|&f| matches(&profile.frames[f as usize]))
            .collect();
        for t in &profile.timings {
            let tf = &profile.frames[t.frame as usize];
            if targets.contains(&t.frame) {
                matched.push(tf.label());
                for e in &t.callers {
                    let c = callers
                        .entry(key(&profile.frames[e.caller as usize]))
                        .or_insert((0.0, Some(0)));
                    c.0 += e.ct;
                    c.1 = c.1.map(|n| n + e.nc);
                }
            }
            for e in t.callers.iter().filter(|e| targets.contains(&e.caller)) {
                let c = callees.entry(key(tf)).or_insert((0.0, Some(0)));
                c.0 += e.ct;
                c.1 = c.1.map(|n| n + e.nc);
            }
        }
    } else {
        let (fmap, keys) = function_index(profile);
        let is_target: Vec<bool> = keys
            .iter()
            .map(|(n, f)| matches(&Frame::new(*n, *f, None)))
            .collect();
        matched = keys
            .iter()
            .zip(&is_target)
            .filter(|(_, &t)| t)
            .map(|((n, f), _)| {
                if f.is_empty() {
                    n.to_string()
                } else {
                    format!("{n} ({f})")
                }
            })
            .collect();
        for s in &profile.stacks {
            let fs: Vec<u32> = s.frames.iter().filter_map(|&f| fmap[f as usize]).collect();
            let mut seen_callers: Vec<u32> = Vec::new();
            let mut seen_callees: Vec<u32> = Vec::new();
            for (i, &k) in fs.iter().enumerate() {
                if !is_target[k as usize] {
                    continue;
                }
                if i > 0 && !seen_callers.contains(&fs[i - 1]) {
                    seen_callers.push(fs[i - 1]);
                }
                if let Some(&n) = fs.get(i + 1) {
                    if !seen_callees.contains(&n) {
                        seen_callees.push(n);
                    }
                }
            }
            for c in seen_callers {
                callers
                    .entry((keys[c as usize].0.into(), keys[c as usize].1.into()))
                    .or_insert((0.0, None))
                    .0 += s.weight;
            }
            for c in seen_callees {
                callees
                    .entry((keys[c as usize].0.into(), keys[c as usize].1.into()))
                    .or_insert((0.0, None))
                    .0 += s.weight;
            }
        }
    }
    let edges = |m: HashMap<FnKey, (f64, Option<i64>)>| {
        let mut v: Vec<Edge> = m
            .into_iter()
            .map(|((function, file), (weight, calls))| Edge {
                function,
                file,
                weight,
                pct: pct(weight, total),
                calls,
            })
            .collect();
        sort_by(&mut v, |e| e.weight, |e| (&e.function, &e.file));
        v
    };
    matched.sort();
    Neighbours {
        query: query.to_string(),
        matched,
        callers: edges(callers),
        callees: edges(callees),
    }
}

/// Formats a weight in the profile's unit: times scaled to s/ms/µs, counts as integers.
pub fn fmt_weight(w: f64, unit: Unit) -> String {
    if unit == Unit::Bytes {
        return if w == 0.0 {
            "0".into()
        } else {
            fmt_bytes(w, super::memray::MB)
        };
    }
    match unit.seconds() {
        Some(s) => {
            let secs = w * s;
            let a = secs.abs();
            if a >= 1.0 {
                format!("{secs:.3}s")
            } else if a >= 1e-3 {
                format!("{:.3}ms", secs * 1e3)
            } else if a == 0.0 {
                "0".into()
            } else {
                format!("{:.1}µs", secs * 1e6)
            }
        }
        None => super::folded::format_weight((w * 1000.0).round() / 1000.0),
    }
}

/// Formats bytes as the tool whose MB is `mb` bytes does: memray's `size_fmt` (`31.886MB`, powers of
/// 1000) or, for 2^20, binary units (`9.630MiB`).
pub fn fmt_bytes(b: f64, mb: f64) -> String {
    let (base, units) = if mb == 1e6 {
        (1000.0, ["B", "kB", "MB", "GB", "TB", "PB"])
    } else {
        (1024.0, ["B", "KiB", "MiB", "GiB", "TiB", "PiB"])
    };
    let mut n = b;
    for u in units {
        if n.abs() < base {
            return format!("{n:.3}{u}");
        }
        n /= base;
    }
    format!("{:.3}{}", n * base, units[units.len() - 1])
}

/// Shortens `s` to `max` characters, keeping the start (names) and marking the cut with `…`.
pub(crate) fn clip_end(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

/// Shortens `s` to `max` characters, keeping the end (file names) and marking the cut with `…`.
fn clip_start(s: &str, max: usize) -> String {
    let n = s.chars().count();
    if n <= max {
        return s.to_string();
    }
    let mut out = String::from("…");
    out.extend(s.chars().skip(n - max.saturating_sub(1)));
    out
}

/// A simple aligned table: numbers right-aligned, text left-aligned, no trailing spaces.
struct Table {
    head: Vec<&'static str>,
    right: Vec<bool>,
    rows: Vec<Vec<String>>,
}

impl Table {
    fn render(&self, out: &mut String) {
        let n = self.head.len();
        let mut w: Vec<usize> = self.head.iter().map(|h| h.chars().count()).collect();
        for r in &self.rows {
            for (i, c) in r.iter().enumerate() {
                w[i] = w[i].max(c.chars().count());
            }
        }
        let line = |cells: Vec<&str>, out: &mut String| {
            let mut s = String::new();
            for (i, c) in cells.iter().enumerate() {
                let pad = w[i] - c.chars().count();
                if i > 0 {
                    s.push_str("  ");
                }
                if self.right[i] {
                    s.extend(std::iter::repeat_n(' ', pad));
                    s.push_str(c);
                } else {
                    s.push_str(c);
                    if i + 1 < n {
                        s.extend(std::iter::repeat_n(' ', pad));
                    }
                }
            }
            out.push_str(s.trim_end());
            out.push('\n');
        };
        line(self.head.clone(), out);
        for r in &self.rows {
            line(r.iter().map(String::as_str).collect(), out);
        }
    }
}

const NAME_WIDTH: usize = 60;
const FILE_WIDTH: usize = 50;

fn location(file: &str, line: Option<u32>) -> String {
    let loc = match line {
        // pstats gives builtins the file `~` and line 0.
        Some(0) | None => file.to_string(),
        Some(l) => format!("{file}:{l}"),
    };
    clip_start(&loc, FILE_WIDTH)
}

fn function_table(rows: &[FunctionRow], unit: Unit, timed: bool) -> String {
    let mut head = vec!["self", "self%", "total", "total%"];
    let mut right = vec![true, true, true, true];
    if timed {
        head.push("calls");
        right.push(true);
    }
    head.extend(["function", "location"]);
    right.extend([false, false]);
    let rows = rows
        .iter()
        .map(|r| {
            let mut c = vec![
                fmt_weight(r.self_weight, unit),
                format!("{:.1}", r.self_pct),
                fmt_weight(r.total, unit),
                format!("{:.1}", r.total_pct),
            ];
            if timed {
                c.push(match (r.calls, r.primitive_calls) {
                    (Some(n), Some(p)) if n != p => format!("{n}/{p}"),
                    (Some(n), Some(_)) => n.to_string(),
                    _ => "?".into(),
                });
            }
            c.push(clip_end(&r.function, NAME_WIDTH));
            c.push(location(&r.file, r.line));
            c
        })
        .collect();
    let mut s = String::new();
    Table { head, right, rows }.render(&mut s);
    s
}

/// line_profiler's view: per function, every line that ran with its hits, time, time per hit and share.
fn render_line_functions(s: &mut String, r: &Report) {
    let unit = r.meta.unit;
    for f in &r.line_functions {
        let _ = writeln!(
            s,
            "\n{} ({}), total {}",
            f.function,
            clip_start(&f.file, FILE_WIDTH),
            fmt_weight(f.total, unit)
        );
        let rows = f
            .lines
            .iter()
            .map(|l| {
                vec![
                    l.line.to_string(),
                    l.hits.to_string(),
                    fmt_weight(l.time, unit),
                    fmt_weight(l.per_hit, unit),
                    format!("{:.1}", l.pct),
                    l.source
                        .as_deref()
                        .map_or(String::new(), |t| clip_end(t.trim_end(), 60)),
                ]
            })
            .collect();
        Table {
            head: vec!["line", "hits", "time", "per hit", "%", "source"],
            right: vec![true, true, true, true, true, false],
            rows,
        }
        .render(s);
    }
}

fn pct_cell(v: Option<f64>) -> String {
    v.map_or_else(String::new, |v| format!("{v:.1}"))
}

/// The run-wide memory figures, one line.
fn memory_summary(s: &mut String, m: &MemoryReport) {
    let mut parts = Vec::new();
    if let Some(b) = m.peak_bytes {
        let at = m.peak_at.as_deref().map_or(String::new(), |a| {
            format!(" at {}", clip_start(a, NAME_WIDTH + FILE_WIDTH))
        });
        parts.push(format!("peak {}{at}", fmt_bytes(b, m.mb)));
    }
    match (m.allocated_bytes, m.allocations) {
        (Some(b), Some(n)) => parts.push(format!("{} in {n} allocations", fmt_bytes(b, m.mb))),
        (Some(b), None) => parts.push(format!("{} allocated", fmt_bytes(b, m.mb))),
        (None, Some(n)) => parts.push(format!("{n} allocations")),
        (None, None) => {}
    }
    if !parts.is_empty() {
        let _ = writeln!(s, "memory: {}", parts.join("; "));
    }
    if !m.allocators.is_empty() {
        let a: Vec<String> = m
            .allocators
            .iter()
            .map(|(k, v)| format!("{k} {v}"))
            .collect();
        let _ = writeln!(s, "allocators: {}", a.join(", "));
    }
}

fn source_cell(r: &MemoryRow) -> String {
    r.source
        .as_deref()
        .map_or(String::new(), |t| clip_end(t.trim(), 50))
}

fn mem_cell(v: Option<f64>, mb: f64) -> String {
    v.map_or_else(String::new, |b| format!("{:.3}", b / mb))
}

/// Memory and CPU-split tables (Scalene, memray).
fn render_memory(s: &mut String, m: &MemoryReport) {
    let unit = if m.mb == 1e6 { "MB" } else { "MiB" };
    let split = |c: Option<CpuSplit>| -> [String; 4] {
        match c {
            Some(c) => [
                format!("{:.1}", c.total_pct()),
                format!("{:.1}", c.python_pct),
                format!("{:.1}", c.native_pct),
                format!("{:.1}", c.system_pct),
            ],
            None => Default::default(),
        }
    };
    let loc = |r: &MemoryRow| location(&r.file, r.line);
    if !m.functions.is_empty() {
        let _ = writeln!(
            s,
            "\nFunctions (CPU % of the run: Python / native / system; memory in {unit})"
        );
        let rows = m
            .functions
            .iter()
            .map(|r| {
                let mut c = split(r.cpu).to_vec();
                c.extend([
                    mem_cell(r.peak_bytes, m.mb),
                    mem_cell(r.allocated_bytes, m.mb),
                    clip_end(&r.function, NAME_WIDTH),
                    loc(r),
                ]);
                c
            })
            .collect();
        Table {
            head: vec![
                "cpu%", "python", "native", "system", "peak", "alloc", "function", "location",
            ],
            right: vec![true, true, true, true, true, true, false, false],
            rows,
        }
        .render(s);
    }
    if !m.cpu_lines.is_empty() {
        let _ = writeln!(s, "\nLines by CPU (% of the run: Python / native / system)");
        let rows = m
            .cpu_lines
            .iter()
            .map(|r| {
                let mut c = split(r.cpu).to_vec();
                c.extend([loc(r), clip_end(&r.function, 30), source_cell(r)]);
                c
            })
            .collect();
        Table {
            head: vec![
                "cpu%", "python", "native", "system", "line", "function", "source",
            ],
            right: vec![true, true, true, true, false, false, false],
            rows,
        }
        .render(s);
    }
    let scalene = m.lines.iter().any(|r| r.peak_bytes.is_some());
    if !m.lines.is_empty() {
        if scalene {
            let _ = writeln!(
                s,
                "\nMemory by line ({unit}; alloc% = share of all allocations)"
            );
            let rows = m
                .lines
                .iter()
                .map(|r| {
                    vec![
                        mem_cell(r.peak_bytes, m.mb),
                        mem_cell(r.average_bytes, m.mb),
                        mem_cell(r.allocated_bytes, m.mb),
                        r.allocations.map_or_else(String::new, |n| n.to_string()),
                        pct_cell(r.share_pct),
                        pct_cell(r.python_pct),
                        mem_cell(r.copy_bytes_per_s, m.mb),
                        loc(r),
                        clip_end(&r.function, 30),
                        source_cell(r),
                    ]
                })
                .collect();
            Table {
                head: vec![
                    "peak", "avg", "alloc", "mallocs", "alloc%", "python%", "copy/s", "line",
                    "function", "source",
                ],
                right: vec![
                    true, true, true, true, true, true, true, false, false, false,
                ],
                rows,
            }
            .render(s);
        } else {
            let _ = writeln!(s, "\nTop allocation sites by size: {}", m.measure);
            let rows = m
                .lines
                .iter()
                .map(|r| {
                    vec![
                        r.allocated_bytes
                            .map_or_else(String::new, |b| fmt_bytes(b, m.mb)),
                        pct_cell(r.share_pct),
                        r.allocations.map_or_else(String::new, |n| n.to_string()),
                        loc(r),
                        clip_end(&r.function, 30),
                        source_cell(r),
                    ]
                })
                .collect();
            Table {
                head: vec!["size", "share%", "allocs", "line", "function", "source"],
                right: vec![true, true, true, false, false, false],
                rows,
            }
            .render(s);
        }
    }
    if !m.by_count.is_empty() {
        let _ = writeln!(s, "\nTop allocation sites by number of allocations");
        let rows = m
            .by_count
            .iter()
            .map(|r| {
                vec![
                    r.allocations.map_or_else(String::new, |n| n.to_string()),
                    r.allocated_bytes
                        .map_or_else(String::new, |b| fmt_bytes(b, m.mb)),
                    loc(r),
                    clip_end(&r.function, 30),
                    source_cell(r),
                ]
            })
            .collect();
        Table {
            head: vec!["allocs", "size", "line", "function", "source"],
            right: vec![true, true, false, false, false],
            rows,
        }
        .render(s);
    }
}

/// Renders the report as aligned terminal tables.
pub fn render_text(r: &Report) -> String {
    let unit = r.meta.unit;
    let timed = r.meta.format == super::Format::Pstats;
    let mut s = String::new();
    let what = if timed { "functions" } else { "stacks" };
    if !r.line_functions.is_empty() {
        // Lines of nested calls hold their callees' time too: their sum is no run time.
        let _ = writeln!(
            s,
            "line_profiler profile: {} lines timed (the {} hottest functions below)",
            r.entries,
            r.line_functions.len()
        );
        for n in &r.meta.notes {
            let _ = writeln!(s, "note: {n}");
        }
        render_line_functions(&mut s, r);
        return s;
    }
    if let Some(m) = r.memory.as_ref().filter(|_| r.entries == 0 && !timed) {
        // memray stats: figures and sites, no stacks.
        let _ = writeln!(s, "{} profile (stats, no stacks)", r.meta.tool);
        memory_summary(&mut s, m);
        for n in &r.meta.notes {
            let _ = writeln!(s, "note: {n}");
        }
        render_memory(&mut s, m);
        return s;
    }
    let scalene = r.meta.format == super::Format::Scalene;
    let _ = writeln!(
        s,
        "{} profile ({}), total {} over {} {}",
        r.meta.tool,
        match r.meta.format {
            super::Format::Pstats => "pstats",
            super::Format::Folded => "folded",
            super::Format::Speedscope => "speedscope",
            super::Format::Lprof => "line_profiler",
            super::Format::Scalene => "JSON",
            super::Format::Memray => "CSV",
        },
        fmt_weight(r.total, unit),
        r.entries,
        if scalene { "lines" } else { what }
    );
    if let Some(m) = &r.memory {
        memory_summary(&mut s, m);
    }
    for n in &r.meta.notes {
        let _ = writeln!(s, "note: {n}");
    }
    if let Some(m) = r.memory.as_ref().filter(|_| scalene) {
        // One stack per line: the split tables say more than self/total and a one-step hot path.
        render_memory(&mut s, m);
        return s;
    }
    let measure = if unit == Unit::Bytes {
        "memory"
    } else {
        "time"
    };
    let _ = writeln!(s, "\nTop functions by self {measure}");
    s.push_str(&function_table(&r.top_self, unit, timed));
    let _ = writeln!(s, "\nTop functions by total {measure}");
    s.push_str(&function_table(&r.top_total, unit, timed));
    if let Some(m) = &r.memory {
        // memray CSV: bytes and allocations by line replace the hot lines.
        render_memory(&mut s, m);
    } else if !r.hot_lines.is_empty() {
        let _ = writeln!(s, "\nHot lines");
        let rows = r
            .hot_lines
            .iter()
            .map(|l| {
                vec![
                    fmt_weight(l.self_weight, unit),
                    format!("{:.1}", l.self_pct),
                    location(&l.file, Some(l.line)),
                    clip_end(&l.function, NAME_WIDTH),
                ]
            })
            .collect();
        Table {
            head: vec!["self", "self%", "line", "function"],
            right: vec![true, true, false, false],
            rows,
        }
        .render(&mut s);
    }
    if !r.hot_path.is_empty() {
        let _ = writeln!(s, "\nHot path");
        for (i, p) in r.hot_path.iter().enumerate() {
            let _ = writeln!(
                s,
                "{:>9} {:>5.1}%  {}{}{}",
                fmt_weight(p.total, unit),
                p.total_pct,
                "  ".repeat(i.min(30)),
                clip_end(&p.function, NAME_WIDTH),
                if p.file.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", clip_start(&p.file, FILE_WIDTH))
                }
            );
        }
        if let Some(n) = &r.hot_path_note {
            let _ = writeln!(s, "({n})");
        }
    }
    if let Some(nb) = &r.neighbours {
        let _ = writeln!(
            s,
            "\nFunction {:?}: {} match(es)",
            nb.query,
            nb.matched.len()
        );
        for m in &nb.matched {
            let _ = writeln!(s, "  {}", clip_end(m, NAME_WIDTH + FILE_WIDTH));
        }
        for (title, edges) in [("Callers", &nb.callers), ("Callees", &nb.callees)] {
            let _ = writeln!(s, "\n{title}");
            if edges.is_empty() {
                let _ = writeln!(s, "  (none)");
                continue;
            }
            let rows = edges
                .iter()
                .map(|e| {
                    vec![
                        fmt_weight(e.weight, unit),
                        format!("{:.1}", e.pct),
                        e.calls.map_or_else(String::new, |c| c.to_string()),
                        clip_end(&e.function, NAME_WIDTH),
                        location(&e.file, None),
                    ]
                })
                .collect();
            Table {
                head: vec!["weight", "%", "calls", "function", "file"],
                right: vec![true, true, true, false, false],
                rows,
            }
            .render(&mut s);
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins() {
        let f = |file: &str| origin(&Frame::new("f", file, None));
        assert_eq!(f("~"), Origin::Stdlib);
        assert_eq!(f("<frozen importlib._bootstrap>"), Origin::Stdlib);
        assert_eq!(f("/usr/lib/python3.11/json/decoder.py"), Origin::Stdlib);
        assert_eq!(
            f("/x/lib/python3.11/site-packages/numpy/core.py"),
            Origin::SitePackages
        );
        assert_eq!(f("json/decoder.py"), Origin::Stdlib);
        assert_eq!(f("threading.py"), Origin::Stdlib);
        assert_eq!(f("workload.py"), Origin::User);
        assert_eq!(f("/home/me/proj/app.py"), Origin::User);
    }

    #[test]
    fn idle_names() {
        for n in [
            "<built-in method time.sleep>",
            "<method 'acquire' of '_thread.lock' objects>",
            "Popen._try_wait",
            "Condition.wait",
        ] {
            assert!(is_idle(&Frame::new(n, "x", None)), "{n}");
        }
        assert!(!is_idle(&Frame::new("spin", "x.py", None)));
    }

    /// Bytes print as the tool prints them: memray's `size_fmt` (powers of 1000), Scalene's MB as MiB.
    #[test]
    fn bytes_read_as_the_tools_own_figures() {
        assert_eq!(fmt_bytes(67_788_620.0, 1e6), "67.789MB");
        assert_eq!(fmt_bytes(424_505.0, 1e6), "424.505kB");
        assert_eq!(fmt_bytes(999.0, 1e6), "999.000B");
        assert_eq!(fmt_bytes(1_000.0, 1e6), "1.000kB");
        assert_eq!(
            fmt_bytes(9.629927635192871 * 1048576.0, 1048576.0),
            "9.630MiB"
        );
        assert_eq!(fmt_weight(31_885_673.0, Unit::Bytes), "31.886MB");
    }

    #[test]
    fn clipping() {
        assert_eq!(clip_end("abcdef", 4), "abc…");
        assert_eq!(clip_start("abcdef", 4), "…def");
        assert_eq!(clip_end("abc", 4), "abc");
    }
}
