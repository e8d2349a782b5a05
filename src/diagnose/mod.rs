//! `etlkit diagnose`: names the bottleneck of a Python program from its profile and its source.
//!
//! The profile says which lines are hot; the source says what those lines do. Each stack's weight goes to the
//! deepest frame that lies in the program's own files (time inside the standard library or a C builtin belongs
//! to the user line that called it). The hottest lines are parsed in context (tree-sitter) and every
//! category's rule is tried on them; findings are ranked by share of time times the rule's confidence.

pub mod rules;
pub mod source;

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use rules::Category;
use source::SourceFile;

use crate::profile::{FrameKind, Profile};
use crate::{Error, Result};

/// Lines below this share of the samples are not examined.
const MIN_SHARE: f64 = 2.0;
/// How many hot lines are examined.
const MAX_LINES: usize = 15;

/// One diagnosed bottleneck (or an unclassified hot spot, `category: None`).
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub category: Option<Category>,
    pub title: String,
    pub file: String,
    pub function: String,
    /// The hottest line of the finding.
    pub line: u32,
    /// The lines the finding covers (first, last).
    pub lines: (u32, u32),
    /// Other lines it names: the hot line, when the finding points at the caller whose loop repeats it.
    pub related: Vec<u32>,
    /// Share of all samples (or of total time) spent on these lines.
    pub share_pct: f64,
    pub confidence: f64,
    pub evidence: String,
    pub fix: String,
    pub sketch: String,
}

/// The result of a diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    pub profile_format: String,
    /// Share of the samples that fell in the program's own files.
    pub user_share_pct: f64,
    pub findings: Vec<Finding>,
    pub notes: Vec<String>,
}

impl Diagnosis {
    /// The best classified finding, if any.
    pub fn top(&self) -> Option<&Finding> {
        self.findings.iter().find(|f| f.category.is_some())
    }

    pub fn render(&self) -> String {
        let mut s = String::new();
        if self.findings.is_empty() {
            s.push_str("No hot spot in the program's own files.\n");
        }
        for (i, f) in self.findings.iter().enumerate() {
            let what = f.category.map_or("unclassified hot spot".to_string(), |c| {
                format!("{} [{}]", c.title(), c.id())
            });
            s.push_str(&format!(
                "{}. {what}\n   where: {}:{} in {}(){}, {:.1}% of the time\n   why:   {}\n",
                i + 1,
                f.file,
                f.line,
                f.function,
                if f.related.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (hot: line {})",
                        f.related
                            .iter()
                            .map(|l| l.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                f.share_pct,
                f.evidence
            ));
            if !f.fix.is_empty() {
                s.push_str(&format!("   fix:   {}\n", f.fix));
                for l in f.sketch.lines() {
                    s.push_str(&format!("            {l}\n"));
                }
            }
        }
        for n in &self.notes {
            s.push_str(&format!("note: {n}\n"));
        }
        s
    }
}

/// The `.py` files under a directory (a few levels deep), by path relative to it.
fn python_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut stack = vec![(dir.to_path_buf(), 0)];
    while let Some((d, depth)) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            let p = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            if p.is_dir()
                && depth < 4
                && !name.starts_with('.')
                && name != "__pycache__"
                && name != "site-packages"
                && name != "node_modules"
            {
                stack.push((p, depth + 1));
            } else if name.ends_with(".py") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// Maps profile file names (absolute, relative, or shortened by py-spy) to the source files.
struct Resolver {
    files: Vec<PathBuf>,
    cache: HashMap<String, Option<usize>>,
}

impl Resolver {
    fn resolve(&mut self, file: &str) -> Option<usize> {
        if let Some(r) = self.cache.get(file) {
            return *r;
        }
        let norm = file.replace('\\', "/");
        let found = self.files.iter().position(|p| {
            let ps = p.to_string_lossy().replace('\\', "/");
            ps == norm || ps.ends_with(&format!("/{}", norm.trim_start_matches("./")))
        });
        self.cache.insert(file.to_string(), found);
        found
    }
}

/// User frames above a hot line (nearest caller first), taken from its heaviest stack.
type Callers = HashMap<(usize, u32), (f64, Vec<(usize, u32)>)>;
/// Weight of each hot line that came from worker threads.
type Threaded = HashMap<(usize, u32), f64>;

/// Where the weight of a stack goes: the deepest frame in the program's own files.
fn user_lines(
    profile: &Profile,
    resolver: &mut Resolver,
    callers: &mut Callers,
    by_thread: &mut Threaded,
    entries: &mut Threaded,
) -> (BTreeMap<(usize, u32), f64>, f64, f64) {
    let mut lines: BTreeMap<(usize, u32), f64> = BTreeMap::new();
    let mut user = 0.0;
    let mut threaded = 0.0;
    for s in &profile.stacks {
        let mut under_thread = false;
        for &fid in &s.frames {
            let f = &profile.frames[fid as usize];
            if f.function.contains("_bootstrap_inner")
                || (f.function == "_worker" && f.file.contains("thread"))
                || f.kind == FrameKind::Thread
                    && !f.function.contains("MainThread")
                    && !f.function.contains("main")
            {
                under_thread = true;
            }
        }
        let chain: Vec<(usize, u32)> = s
            .frames
            .iter()
            .rev()
            .filter_map(|&fid| {
                let f = &profile.frames[fid as usize];
                if f.kind != FrameKind::Python {
                    return None;
                }
                let line = f.line?;
                resolver.resolve(&f.file).map(|i| (i, line))
            })
            .collect();
        if let Some(&k) = chain.first() {
            let e = callers.entry(k).or_insert((0.0, Vec::new()));
            if s.weight > e.0 {
                *e = (s.weight, chain[1..].to_vec());
            }
            *lines.entry(k).or_default() += s.weight;
            user += s.weight;
            if under_thread {
                threaded += s.weight;
                *by_thread.entry(k).or_default() += s.weight;
                // The thread's entry: the user frame nearest the root of a worker thread's stack.
                if let Some(&entry) = chain.last() {
                    *entries.entry(entry).or_default() += s.weight;
                }
            }
        }
    }
    (lines, user, threaded)
}

fn pct(w: f64, total: f64) -> f64 {
    if total > 0.0 {
        100.0 * w / total
    } else {
        0.0
    }
}

/// Diagnoses `profile` against the Python sources under `source_dir` (a directory or one `.py` file).
pub fn diagnose(profile: &Profile, source_dir: &Path) -> Result<Diagnosis> {
    let files = if source_dir.is_file() {
        vec![source_dir.to_path_buf()]
    } else {
        python_files(source_dir)
    };
    if files.is_empty() {
        return Err(Error::io(
            source_dir,
            std::io::Error::new(std::io::ErrorKind::NotFound, "no .py files here"),
        ));
    }
    let mut resolver = Resolver {
        files: files.clone(),
        cache: HashMap::new(),
    };
    let mut notes = Vec::new();
    let total = profile.total();
    let mut callers: Callers = HashMap::new();
    let mut by_thread: Threaded = HashMap::new();
    let mut entries: Threaded = HashMap::new();
    let (lines, user, threaded) = if profile.is_timed() {
        notes.push("pstats has no line numbers: each function is examined at its definition line, by self time".into());
        let mut m = BTreeMap::new();
        let mut user = 0.0;
        for t in &profile.timings {
            let f = &profile.frames[t.frame as usize];
            if let (Some(i), Some(line)) = (resolver.resolve(&f.file), f.line) {
                *m.entry((i, line)).or_default() += t.tt;
                user += t.tt;
            }
        }
        (m, user, 0.0)
    } else {
        user_lines(
            profile,
            &mut resolver,
            &mut callers,
            &mut by_thread,
            &mut entries,
        )
    };
    let mut sources: HashMap<usize, SourceFile> = HashMap::new();
    // Where worker threads spend their time, by entry line: the place a GIL finding points at.
    let thread_entry = entries
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(k, _)| *k);
    let mut hot: Vec<((usize, u32), f64)> = lines.into_iter().collect();
    hot.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    // Candidate findings keyed by (category, file, function).
    let mut merged: BTreeMap<(Option<Category>, usize, String), Finding> = BTreeMap::new();
    for ((fi, line), w) in hot.iter().take(MAX_LINES) {
        let share = pct(*w, total);
        if share < MIN_SHARE {
            break;
        }
        if !sources.contains_key(fi) {
            match SourceFile::parse(&files[*fi]) {
                Ok(s) => {
                    sources.insert(*fi, s);
                }
                Err(e) => {
                    notes.push(format!("{e}"));
                    continue;
                }
            }
        }
        // The callers' contexts (same-file callers only: that is where a program's loops are).
        let src = &sources[fi];
        let mut ctx = src.context(*line);
        let own = ctx.function.as_ref().map(|f| f.start);
        // Frames of the same function (a comprehension's own frame) are not callers.
        let ancestors: Vec<source::LineContext> = callers
            .get(&(*fi, *line))
            .map(|(_, up)| {
                up.iter()
                    .filter(|(f, _)| f == fi)
                    .take(8)
                    .map(|(_, l)| src.context(*l))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default()
            .into_iter()
            .skip_while(|c: &source::LineContext| c.function.as_ref().map(|f| f.start) == own)
            .collect();
        let repeated = ancestors.iter().any(|c| !c.loops.is_empty());
        let threaded_line = by_thread.get(&(*fi, *line)).copied().unwrap_or(0.0) > 0.5 * w;
        if profile.is_timed() {
            // A definition line: look at the hottest-looking statement of the body instead is not possible
            // without line data; use the function header's context.
            ctx.function = src.functions().into_iter().find(|f| f.start == *line);
        }
        let function = ctx
            .function
            .as_ref()
            .map_or("<module>".to_string(), |f| f.name.clone());
        let rel = match files[*fi].strip_prefix(source_dir) {
            Ok(p) if !p.as_os_str().is_empty() => p.to_string_lossy().into_owned(),
            _ => files[*fi].file_name().map_or_else(
                || files[*fi].to_string_lossy().into_owned(),
                |n| n.to_string_lossy().into_owned(),
            ),
        };
        let mut matches = rules::apply(src, &ctx, repeated, threaded_line);
        matches.extend(rules::apply_with_callers(src, &ctx, &ancestors));
        let io_line = matches.iter().any(|m| m.category == Category::SequentialIo)
            || rules::is_blocking_io(&ctx);
        if threaded_line && !io_line && rules::threads_in_file(src) && pct(threaded, user) > 30.0 {
            matches.push(rules::Match {
                category: Category::GilBoundThreads,
                at: thread_entry
                    .filter(|(f, _)| f == fi)
                    .map(|(_, l)| (l, src.context(l).function.map_or("<module>".to_string(), |f| f.name)))
                    .or_else(|| rules::thread_dispatch(src)),
                confidence: 0.8,
                evidence: format!(
                    "{:.0}% of the program's samples run on worker threads, and they are CPU-bound Python (line {line}: `{}`): the GIL lets one thread run at a time",
                    pct(threaded, user),
                    ctx.text
                ),
            });
        }
        let candidates: Vec<(Option<Category>, f64, String, u32, String)> = if matches.is_empty() {
            vec![(
                None,
                0.3,
                format!(
                    "line {line} (`{}`) takes {share:.1}% of the time and matches no known pattern",
                    ctx.text
                ),
                *line,
                function.clone(),
            )]
        } else {
            matches
                .into_iter()
                .map(|m| {
                    let (at, func) = match m.at {
                        Some((l, f)) => (l, f),
                        None => (*line, function.clone()),
                    };
                    (Some(m.category), m.confidence, m.evidence, at, func)
                })
                .collect()
        };
        let hot_line = *line;
        for (cat, conf, evidence, line, function) in candidates {
            let line = &line;
            let e = merged
                .entry((cat, *fi, function.clone()))
                .or_insert_with(|| Finding {
                    category: cat,
                    title: cat.map_or("unclassified hot spot".into(), |c| c.title().into()),
                    file: rel.clone(),
                    function: function.clone(),
                    line: *line,
                    lines: (*line, *line),
                    related: Vec::new(),
                    share_pct: 0.0,
                    confidence: conf,
                    evidence: evidence.clone(),
                    fix: cat.map_or(String::new(), |c| c.fix().into()),
                    sketch: cat.map_or(String::new(), |c| c.sketch().into()),
                });
            e.share_pct += share;
            e.lines = (e.lines.0.min(*line), e.lines.1.max(*line));
            if *line != hot_line && !e.related.contains(&hot_line) {
                e.related.push(hot_line);
            }
            if conf > e.confidence {
                e.confidence = conf;
                e.evidence = evidence;
                e.line = *line;
            }
        }
    }
    let mut findings: Vec<Finding> = merged.into_values().collect();
    findings.sort_by(|a, b| (b.share_pct * b.confidence).total_cmp(&(a.share_pct * a.confidence)));
    findings.truncate(8);
    if user <= 0.0 {
        notes.push("no samples fall in the given source files: check --source (the profile's file names must match)".into());
    }
    Ok(Diagnosis {
        profile_format: format!("{:?}", profile.meta.format),
        user_share_pct: pct(user, total),
        findings,
        notes,
    })
}
