//! `etlkit diagnose`: names the bottleneck of a Python program from its profile and its source.
//!
//! The profile, whatever its kind, becomes one [`evidence::Evidence`]: time per line of the program's own
//! files, the library work under each line, the call sites above it and exact call counts where the profiler
//! counts. The source says what those lines do (tree-sitter, the whole file: functions, loops, the calls
//! between functions). Each hot line becomes a [`rules::Site`] and every rule of the table is tried on it;
//! findings are ranked by attributable share of the time times the rule's confidence, each with the
//! runners-up.

pub mod evidence;
pub mod rules;
pub mod source;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

pub use rules::Category;
use source::SourceFile;

use crate::profile::Profile;
use crate::{Error, Result};

/// Lines below this share of the samples are not examined.
const MIN_SHARE: f64 = 2.0;
/// How many hot lines are examined.
const MAX_LINES: usize = 20;

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
    /// Other lines it names: the hot line when the finding points elsewhere, the call site that runs it and
    /// the loop that repeats it (when in the same file).
    pub related: Vec<u32>,
    /// Share of all samples (or of total time) spent on these lines.
    pub share_pct: f64,
    pub confidence: f64,
    pub evidence: String,
    pub fix: String,
    pub sketch: String,
    /// The rule that found it (`category.shape`).
    pub rule: String,
    /// Other categories that fit the same lines, best first.
    pub alternatives: Vec<Alternative>,
    /// Share of the memory its lines hold (at the peak, or allocated where the profile has no peak per
    /// line), when a memory profile was given.
    pub memory_pct: Option<f64>,
}

/// A runner-up category for a finding's lines.
#[derive(Debug, Clone, Serialize)]
pub struct Alternative {
    pub category: Category,
    pub confidence: f64,
    pub evidence: String,
}

/// The result of a diagnosis.
#[derive(Debug, Clone, Serialize)]
pub struct Diagnosis {
    /// The profiles' formats, `+` between them.
    pub profile_format: String,
    /// What the shares are of: `time`, or `memory` when only memory profiles were given.
    pub measure: String,
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
                "{}. {what} ({:.0}% sure)\n   where: {}:{} in {}(){}, {:.1}% of the {}{}\n   why:   {}\n",
                i + 1,
                f.confidence * 100.0,
                f.file,
                f.line,
                f.function,
                if f.related.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (related lines: {})",
                        f.related
                            .iter()
                            .map(|l| l.to_string())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )
                },
                f.share_pct,
                self.measure,
                f.memory_pct
                    .filter(|m| *m >= 1.0)
                    .map_or(String::new(), |m| format!(", {m:.0}% of the memory")),
                f.evidence
            ));
            if let Some(a) = f.alternatives.first() {
                s.push_str(&format!(
                    "   also:  {} [{}] ({:.0}% sure: {})\n",
                    a.category.title(),
                    a.category.id(),
                    a.confidence * 100.0,
                    a.evidence
                ));
            }
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
        // Absolute on either side (cProfile keeps the path the script was given, py-spy shortens it): the
        // source files are compared as absolute paths, and a relative profile path as a suffix.
        let found = if norm.is_empty() || norm == "~" {
            None
        } else {
            self.files.iter().position(|p| {
                let ps = p.to_string_lossy().replace('\\', "/");
                ps == norm || ps.ends_with(&format!("/{}", norm.trim_start_matches("./")))
            })
        };
        // A profile recorded elsewhere (another checkout, a container) names the program's files by paths that
        // are not here: the longest matching tail of path components decides, when one file has it and the
        // profiled file is not a library's.
        let found = found.or_else(|| {
            let library = ["site-packages", "dist-packages", "/lib/python", "<"]
                .iter()
                .any(|w| norm.contains(w));
            if library || !norm.starts_with('/') {
                return None;
            }
            let theirs: Vec<&str> = norm.rsplit('/').collect();
            if matches!(theirs[0], "__init__.py" | "__main__.py") {
                return None;
            }
            let tail = |p: &PathBuf| {
                let ours = p.to_string_lossy().replace('\\', "/");
                ours.rsplit('/')
                    .zip(&theirs)
                    .take_while(|(a, b)| a == *b)
                    .count()
            };
            let best = self.files.iter().map(tail).max().filter(|&n| n > 0)?;
            let mut at = self
                .files
                .iter()
                .enumerate()
                .filter(|(_, p)| tail(p) == best);
            let (i, _) = at.next()?;
            at.next().is_none().then_some(i)
        });
        self.cache.insert(file.to_string(), found);
        found
    }
}

fn pct(w: f64, total: f64) -> f64 {
    if total > 0.0 {
        100.0 * w / total
    } else {
        0.0
    }
}

/// Loads the profile at `profile_path` and diagnoses it (errors name the profile file).
pub fn diagnose_file(profile_path: &Path, source_dir: &Path) -> Result<Diagnosis> {
    diagnose_files(&[profile_path.to_path_buf()], source_dir)
}

/// Loads several profiles of the same program (e.g. py-spy and memray, or cProfile and line_profiler) and
/// diagnoses them together (errors name the profile file).
pub fn diagnose_files(profile_paths: &[PathBuf], source_dir: &Path) -> Result<Diagnosis> {
    let mut profiles = Vec::with_capacity(profile_paths.len());
    for p in profile_paths {
        let profile = crate::profile::load(p, None)?;
        not_empty(&profile, p)?;
        profiles.push(profile);
    }
    diagnose_many(&profiles.iter().collect::<Vec<_>>(), source_dir)
}

/// A profile with no samples, no timed functions and no memory cannot be diagnosed: an error naming `path`.
fn not_empty(profile: &Profile, path: &Path) -> Result<()> {
    if profile.stacks.is_empty()
        && profile.timings.is_empty()
        && profile.memory.as_ref().is_none_or(|m| m.lines.is_empty())
    {
        return Err(Error::Format {
            path: path.to_path_buf(),
            message:
                "the profile is empty: no samples and no timed functions (did the program run?)"
                    .into(),
        });
    }
    Ok(())
}

/// A candidate finding of one rule at one hot line.
struct Candidate {
    /// The call path's places: the direct caller's call site and the loop that repeats the line.
    path: Vec<(usize, u32)>,
    category: Option<Category>,
    rule: &'static str,
    confidence: f64,
    evidence: String,
    place: (usize, u32),
    hot: (usize, u32),
    share: f64,
    memory: Option<evidence::MemoryLine>,
    /// A whole-file load returned to a caller that loops over it: a line of that caller, whose loop runs
    /// while the whole file is held.
    consumer: Option<(usize, u32)>,
    /// A whole-file load kept on the object (`self.rows = ...`): the other methods' passes over it (loop
    /// headers, or single statements such as `sorted(self.rows, ...)`), which run while it is held.
    passes: Vec<(usize, u32)>,
    /// The hot line's callers, nearest first (the heaviest stack's).
    callers: Vec<(usize, u32)>,
}

/// The least share of the time for which a named finding ranks above unclassified hot spots.
const MIN_NAMED_SHARE_PCT: f64 = 5.0;

/// Diagnoses `profile` against the Python sources under `source_dir` (a directory or one `.py` file).
pub fn diagnose(profile: &Profile, source_dir: &Path) -> Result<Diagnosis> {
    diagnose_many(&[profile], source_dir)
}

/// A line holding at least this share of the memory is examined whatever its share of the time.
const MEMORY_HOT: f64 = 0.2;

/// Diagnoses several profiles of one run of the program together. The time per line comes from the first
/// profile that measures lines (py-spy, line_profiler, Scalene), else from cProfile; the others add what they
/// know better: exact call counts (cProfile), callers, waits; memory per line (Scalene, memray) is evidence
/// for the memory-bound categories. With memory profiles alone, the lines are weighed by memory.
pub fn diagnose_many(profiles: &[&Profile], source_dir: &Path) -> Result<Diagnosis> {
    if profiles.is_empty() {
        return Err(Error::InvalidArgument {
            what: "profile",
            value: String::new(),
            expected: "at least one profile".into(),
        });
    }
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
    // (Called with a profile in memory, the only path to name is the source's.)
    for profile in profiles {
        not_empty(profile, source_dir)?;
    }
    // Absolute paths, so that a profile naming `/home/me/proj/slow.py` finds `--source .`.
    let files: Vec<PathBuf> = files
        .into_iter()
        .map(|f| std::fs::canonicalize(&f).unwrap_or(f))
        .collect();
    let source_dir =
        &std::fs::canonicalize(source_dir).unwrap_or_else(|_| source_dir.to_path_buf());
    let mut resolver = Resolver {
        files: files.clone(),
        cache: HashMap::new(),
    };
    // Parse the program files the profile names (a file that is not valid Python is an error).
    let mut sources: Vec<Option<SourceFile>> = (0..files.len()).map(|_| None).collect();
    let mut named: Vec<(String, bool)> = Vec::new();
    for f in profiles.iter().flat_map(|p| &p.frames) {
        match resolver.resolve(&f.file) {
            Some(i) if sources[i].is_none() => {
                sources[i] = Some(SourceFile::parse_strict(&files[i])?)
            }
            Some(_) => {}
            None => {
                if !f.file.is_empty() && f.file != "~" && !named.iter().any(|(n, _)| n == &f.file) {
                    // The files that look like the program's come first in the message.
                    let user =
                        crate::profile::view::origin(f) == crate::profile::view::Origin::User;
                    named.push((f.file.clone(), !user));
                }
            }
        }
    }
    named.sort_by_key(|(_, library)| *library);
    let named: Vec<String> = named.into_iter().take(4).map(|(n, _)| n).collect();
    if sources.iter().all(|s| s.is_none()) {
        return Err(Error::InvalidArgument {
            what: "source",
            value: source_dir.display().to_string(),
            expected: format!(
                "the profiled program's files: none of the profile's files is here (it names {})",
                if named.is_empty() {
                    "no files".to_string()
                } else {
                    named.join(", ")
                }
            ),
        });
    }
    let mut resolve = |f: &str| resolver.resolve(f);
    let mut timed: Vec<evidence::Evidence> = Vec::new();
    let mut memory: BTreeMap<evidence::Loc, evidence::MemoryLine> = BTreeMap::new();
    let mut memory_callers: BTreeMap<evidence::Loc, Vec<evidence::Loc>> = BTreeMap::new();
    let mut memory_tools: Vec<String> = Vec::new();
    for profile in profiles {
        if let Some(m) = evidence::memory(profile, &mut resolve) {
            for (loc, row) in m.lines {
                // Bytes held at the peak say more than bytes allocated over the run.
                let e = memory.entry(loc).or_insert(row);
                if (row.at_peak, row.share) > (e.at_peak, e.share) {
                    *e = row;
                }
            }
            memory_callers.extend(m.callers);
            if !memory_tools.contains(&m.tool) {
                memory_tools.push(m.tool);
            }
        }
        if profile.meta.unit == crate::profile::Unit::Bytes
            || (profile.stacks.is_empty() && profile.timings.is_empty())
        {
            continue;
        }
        let mut ev = if profile.is_timed() {
            evidence::from_pstats(profile, &mut resolve, &sources)
        } else {
            evidence::from_stacks(profile, &mut resolve)
        };
        match profile.meta.format {
            crate::profile::Format::Lprof => evidence::line_profile_calls(&mut ev, &sources, true),
            crate::profile::Format::Scalene => {
                evidence::line_profile_calls(&mut ev, &sources, false)
            }
            _ => {}
        }
        timed.push(ev);
    }
    // Measured lines win over lines derived from functions; the other profiles enrich them.
    let by_memory = timed.is_empty();
    let mut ev = if by_memory {
        evidence::from_memory(&memory, &memory_callers)
    } else {
        let i = timed.iter().position(|e| !e.derived).unwrap_or(0);
        let mut ev = timed.swap_remove(i);
        for other in &timed {
            evidence::enrich(&mut ev, other);
        }
        ev
    };
    let memory_known: Vec<bool> = (0..files.len())
        .map(|i| memory.keys().any(|l| l.0 == i))
        .collect();
    let mut notes = Vec::new();
    if by_memory {
        notes.push(format!(
            "{} measures memory, not time: lines are ranked by the memory they hold; add a CPU profile (py-spy, cProfile, line_profiler) to weigh time too",
            memory_tools.join(" and ")
        ));
    }
    if ev.derived {
        notes.push("cProfile counts calls per function, not lines: the lines named are where those calls and the innermost loops are in the source".into());
    }
    let thread_entry = ev
        .thread_entries
        .iter()
        .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(a.0)))
        .map(|(k, _)| *k);
    let thread_share = pct(ev.threaded, ev.user);
    let wait_share = pct(ev.waits, ev.total);
    // Lines that hold much memory are examined even when they take little time.
    if !by_memory {
        for (loc, m) in &memory {
            if m.share >= MEMORY_HOT {
                ev.lines.entry(*loc).or_default();
            }
        }
    }
    let mut hot: Vec<(evidence::Loc, &evidence::LineEvidence)> =
        ev.lines.iter().map(|(k, v)| (*k, v)).collect();
    hot.sort_by(|a, b| b.1.weight.total_cmp(&a.1.weight).then(a.0.cmp(&b.0)));
    let rel = |i: usize| match files[i].strip_prefix(source_dir) {
        Ok(p) if !p.as_os_str().is_empty() => p.to_string_lossy().into_owned(),
        _ => files[i].file_name().map_or_else(
            || files[i].to_string_lossy().into_owned(),
            |n| n.to_string_lossy().into_owned(),
        ),
    };
    // Developers: every hot line's site and the rules that matched it, on stderr.
    let debug = std::env::var_os("ETLKIT_DIAGNOSE_DEBUG").is_some();
    let mut candidates: Vec<Candidate> = Vec::new();
    // pstats gives a function's own time to each of its innermost loop lines: those lines, sharing one
    // measurement, take one of the MAX_LINES places, so that one loopy function does not crowd out the rest.
    let mut groups: Vec<(usize, Option<u32>, u64)> = Vec::new();
    for ((fi, line), le) in hot.iter() {
        let share = pct(le.weight, ev.total);
        let mem = memory.get(&(*fi, *line)).copied();
        let mem_hot = !by_memory && mem.is_some_and(|m| m.share >= MEMORY_HOT);
        let Some(src) = sources[*fi].as_ref() else {
            continue;
        };
        // A file read whole costs memory more than time: its line is looked at however little time it
        // takes, for that category alone (the loop that works through the data weighs it).
        let low = share < MIN_SHARE && !mem_hot;
        if low && !(share > 0.0 && reads_a_file(&src.line_text(*line))) {
            continue;
        }
        let ctx = src.context(*line);
        // (Lines holding only their function's own time share that one measurement, whatever their weight.)
        let group = (
            *fi,
            ctx.function.as_ref().map(|f| f.start),
            if ev.derived && le.callees.is_empty() {
                u64::MAX
            } else {
                le.weight.to_bits()
            },
        );
        // (A line that reads a file whole is looked at however many lines weigh more, as a low one is.)
        if !low && !groups.contains(&group) {
            if groups.len() < MAX_LINES {
                groups.push(group);
            } else if !mem_hot && !reads_a_file(&src.line_text(*line)) {
                continue;
            }
        }
        let own = ctx.function.as_ref().map(|f| f.start);
        // Callers, nearest first; frames of the line's own function (a comprehension's frame) are not callers.
        let callers: Vec<rules::Caller> = le
            .callers
            .iter()
            .filter_map(|&(cf, cl)| {
                let csrc = sources[cf].as_ref()?;
                Some(rules::Caller {
                    loc: (cf, cl),
                    src: csrc,
                    ctx: csrc.context(cl),
                })
            })
            .skip_while(|c| c.loc.0 == *fi && c.ctx.function.as_ref().map(|f| f.start) == own)
            .take(8)
            .collect();
        let calls = ctx.function.as_ref().and_then(|f| {
            ev.calls
                .get(&(*fi, f.start))
                .or_else(|| ev.calls.get(&(*fi, f.first)))
                .copied()
        });
        let site = rules::Site {
            file: *fi,
            src,
            ctx,
            callees: le.callees.clone(),
            callers,
            calls,
            threaded: le.threaded > 0.5 * le.weight,
            thread_entry,
            thread_share,
            wait_share,
            derived: ev.derived,
            traced_copies_strings: ev.traced_copies_strings,
            memory: mem,
            memory_known: memory_known[*fi] && !by_memory,
        };
        let mut path: Vec<(usize, u32)> = site.callers.first().map(|c| c.loc).into_iter().collect();
        path.extend(site.looping_caller().map(|c| c.loc));
        let mut hits = rules::apply(&site);
        if low {
            hits.retain(|h| h.0 == Category::WholeFileLoad);
            if hits.is_empty() {
                continue;
            }
        }
        for (category, _, h) in hits.iter_mut() {
            rules::weigh_memory(&site, *category, h);
        }
        if debug {
            eprintln!(
                "diagnose: {}:{line} {share:.1}% callees {:?} callers {:?} calls {:?}{} -> {:?}",
                rel(*fi),
                site.callees
                    .iter()
                    .take(
                        if std::env::var_os("ETLKIT_DIAGNOSE_DEBUG").is_some_and(|v| v == "2") {
                            48
                        } else {
                            4
                        }
                    )
                    .map(|c| format!(
                        "{} {:.1}%{}",
                        c.name,
                        pct(c.weight, ev.total),
                        if c.direct { "" } else { " (below)" }
                    ))
                    .collect::<Vec<_>>(),
                site.callers.iter().map(|c| c.loc.1).collect::<Vec<_>>(),
                site.calls,
                if site.threaded { " threaded" } else { "" },
                hits.iter()
                    .map(|h| (h.1, h.2.confidence))
                    .collect::<Vec<_>>()
            );
        }
        if hits.is_empty() {
            candidates.push(Candidate {
                category: None,
                rule: "unclassified",
                confidence: 0.3,
                evidence: match mem {
                    Some(m) if mem_hot && share < MIN_SHARE => format!(
                        "line {line} (`{}`) holds {:.0}% of the memory{} and matches no known pattern",
                        site.ctx.text,
                        100.0 * m.share,
                        if m.at_peak { " at the peak" } else { " allocated" }
                    ),
                    _ => format!(
                        "line {line} (`{}`) takes {share:.1}% of the {} and matches no known pattern",
                        site.ctx.text,
                        if by_memory { "memory" } else { "time" }
                    ),
                },
                place: (*fi, *line),
                hot: (*fi, *line),
                share,
                path: Vec::new(),
                memory: mem,
                consumer: None,
                passes: Vec::new(),
                callers: le.callers.clone(),
            });
        }
        for (category, rule, h) in hits {
            let consumer = (category == Category::WholeFileLoad)
                .then(|| rules::consumer(&site, h.at.unwrap_or((*fi, *line))))
                .flatten();
            let passes = if category == Category::WholeFileLoad && consumer.is_none() {
                rules::attribute_passes(&site, h.at.unwrap_or((*fi, *line)))
            } else {
                Vec::new()
            };
            // (A read that takes almost no time is a small file unless a loop works through what it holds.)
            if low && consumer.is_none() && passes.is_empty() {
                continue;
            }
            candidates.push(Candidate {
                category: Some(category),
                rule,
                confidence: h.confidence,
                evidence: h.evidence,
                place: h.at.unwrap_or((*fi, *line)),
                hot: (*fi, *line),
                share,
                path: path.clone(),
                memory: mem,
                consumer,
                passes,
                callers: le.callers.clone(),
            });
        }
    }
    let function_at = |(fi, line): (usize, u32)| {
        sources[fi]
            .as_ref()
            .and_then(|s| s.enclosing_function(line))
            .map_or("<module>".to_string(), |f| f.name.clone())
    };
    // Each function's own share of the time that no other category explains: its lines' shares summed (a
    // sample counts at its deepest line in the program), or the heaviest where lines share their function's
    // one measurement (pstats). Lines a sure finding of another kind claims are that finding's.
    let claimed: HashSet<(usize, u32)> = candidates
        .iter()
        .filter(|c| c.category.is_some_and(|k| k != Category::WholeFileLoad) && c.confidence >= 0.5)
        .map(|c| c.hot)
        .collect();
    let mut function_time: HashMap<(String, String), f64> = HashMap::new();
    for ((fi, line), le) in &hot {
        if claimed.contains(&(*fi, *line)) {
            continue;
        }
        let share = pct(le.weight, ev.total);
        let t = function_time
            .entry((rel(*fi), function_at((*fi, *line))))
            .or_insert(0.0);
        if ev.derived {
            *t = t.max(share);
        } else {
            *t += share;
        }
    }
    // One finding per (category, file, function); a finding's share is the sum of its hot lines' shares.
    type Key = (Option<Category>, usize, String);
    // (Ordered maps: the shares are summed, and a sum in hash order differs in its last digit from run to run.)
    let mut merged: BTreeMap<Key, (Finding, Vec<(usize, u32)>)> = BTreeMap::new();
    let mut place_share: HashMap<Key, f64> = HashMap::new();
    let mut per_function: HashMap<Key, BTreeMap<(usize, String), f64>> = HashMap::new();
    // The time of a loop that consumes a whole-file load (header `at`): its lines and what they call, less the
    // time under it that another sure finding claims (that time is that finding's).
    let loop_time = |at: (usize, u32)| -> f64 {
        let Some(src) = sources[at.0].as_ref() else {
            return 0.0;
        };
        let body: Vec<(usize, u32)> = src.block(at.1).into_iter().map(|l| (at.0, l)).collect();
        let weight = |l: &(usize, u32)| ev.lines.get(l).map_or(0.0, |e| pct(e.weight, ev.total));
        // (Below a loop statement's header is the load itself, counted already; below a comprehension is its
        // work.)
        let statement = {
            let t = src.line_text(at.1);
            t.starts_with("for ") || t.starts_with("while ")
        };
        let below: f64 = body
            .iter()
            .skip(usize::from(statement))
            .map(|l| ev.below.get(l).map_or(0.0, |w| pct(*w, ev.total)))
            .sum();
        let own = if ev.derived {
            body.iter().map(weight).fold(0.0, f64::max)
        } else {
            body.iter().map(weight).sum()
        };
        let mut taken: BTreeMap<(usize, String), f64> = BTreeMap::new();
        for c in candidates.iter().filter(|c| {
            c.category.is_some_and(|k| k != Category::WholeFileLoad)
                && c.confidence >= 0.5
                && (body.contains(&c.hot) || c.callers.iter().any(|l| body.contains(l)))
        }) {
            // (pstats: a claimed line of the loop itself is one of the lines sharing the loop's own time, all
            // equally likely to hold it: it takes its part.)
            let part = if ev.derived && body.contains(&c.hot) {
                let sharing = body
                    .iter()
                    // (about the same: a line may add a small callee of its own)
                    .filter(|l| (weight(l) - c.share).abs() <= 0.05 * c.share)
                    .count()
                    .max(1);
                c.share / sharing as f64
            } else {
                c.share
            };
            let t = taken.entry((c.hot.0, function_at(c.hot))).or_insert(0.0);
            *t = if ev.derived { t.max(part) } else { *t + part };
        }
        (own + below - taken.values().sum::<f64>()).max(0.0)
    };
    let mut consumers: HashMap<(String, String), (f64, bool)> = HashMap::new();
    for c in &candidates {
        let function = function_at(c.place);
        let (e, hots) = merged
            .entry((c.category, c.place.0, function.clone()))
            .or_insert_with(|| {
                (
                    Finding {
                        category: c.category,
                        title: c
                            .category
                            .map_or("unclassified hot spot".into(), |k| k.title().into()),
                        file: rel(c.place.0),
                        function: function.clone(),
                        line: c.place.1,
                        lines: (c.place.1, c.place.1),
                        related: Vec::new(),
                        share_pct: 0.0,
                        confidence: c.confidence,
                        evidence: c.evidence.clone(),
                        fix: c.category.map_or(String::new(), |k| k.fix().into()),
                        sketch: c.category.map_or(String::new(), |k| k.sketch().into()),
                        rule: c.rule.into(),
                        alternatives: Vec::new(),
                        memory_pct: None,
                    },
                    Vec::new(),
                )
            });
        if c.consumer.is_none() && !c.passes.is_empty() {
            // Each pass: a loop weighs as a consumer loop; a single statement its line and what it calls.
            let weighs: f64 = c
                .passes
                .iter()
                .map(|&at| {
                    let header = sources[at.0].as_ref().is_some_and(|src| {
                        let t = src.line_text(at.1);
                        t.starts_with("for ") || t.starts_with("while ")
                    });
                    if header {
                        loop_time(at)
                    } else if claimed.contains(&at) {
                        0.0
                    } else {
                        ev.lines.get(&at).map_or(0.0, |e| pct(e.weight, ev.total))
                            + ev.below.get(&at).map_or(0.0, |w| pct(*w, ev.total))
                    }
                })
                .sum();
            if debug {
                eprintln!(
                    "diagnose: passes over what {function} keeps ({:?}) weigh {weighs:.1}%",
                    c.passes.iter().map(|p| p.1).collect::<Vec<_>>()
                );
            }
            consumers.insert((rel(c.place.0), function.clone()), (weighs, false));
        }
        if let Some(at) = c.consumer {
            let weighs = loop_time(at);
            if debug {
                eprintln!(
                    "diagnose: consumer of {function}: loop at {} weighs {weighs:.1}%",
                    at.1
                );
            }
            let same = at.0 == c.place.0 && function_at(at) == function;
            // (Several lines of one load may each see a consumer: the heaviest is the one that holds it.)
            let e = consumers
                .entry((rel(c.place.0), function.clone()))
                .or_insert((weighs, same));
            if weighs > e.0 {
                *e = (weighs, same);
            }
        }
        if let Some(m) = c.memory {
            let m = 100.0 * m.share;
            e.memory_pct = Some(e.memory_pct.map_or(m, |x: f64| x.max(m)));
        }
        if !hots.contains(&c.hot) {
            hots.push(c.hot);
            // Derived lines (pstats) share their function's own time: count each function's heaviest line,
            // and add up the functions (separate measurements).
            if ev.derived {
                let per = per_function
                    .entry((c.category, c.place.0, function.clone()))
                    .or_default();
                let m = per.entry((c.hot.0, function_at(c.hot))).or_insert(0.0);
                *m = m.max(c.share);
                e.share_pct = per.values().sum();
            } else {
                e.share_pct += c.share;
            }
        }
        e.lines = (e.lines.0.min(c.place.1), e.lines.1.max(c.place.1));
        for &p in std::iter::once(&c.hot).chain(&c.path) {
            if p != c.place && p.0 == c.place.0 && !e.related.contains(&p.1) {
                e.related.push(p.1);
            }
        }
        // pstats cannot tell lines that share one measurement apart: among equally sure lines of about the same
        // weight, the first in the source (where a reader starts) names the place.
        place_share
            .entry((c.category, c.place.0, function.clone()))
            .or_insert(c.share);
        // (... and, in one loop, a line that runs on every pass before one under a branch.)
        let before = |a: u32, b: u32| match sources[c.place.0].as_ref() {
            Some(src) => {
                let innermost = |l: u32| src.context(l).innermost_loop().map(|x| x.line);
                if innermost(a) == innermost(b) {
                    (src.branch_depth(a), a) < (src.branch_depth(b), b)
                } else {
                    a < b
                }
            }
            None => a < b,
        };
        let earlier_tie = ev.derived
            && c.confidence == e.confidence
            && before(c.place.1, e.line)
            && c.place == c.hot
            && c.share
                >= 0.9
                    * place_share
                        .get(&(c.category, c.place.0, function.clone()))
                        .copied()
                        .unwrap_or(0.0);
        if c.confidence > e.confidence || earlier_tie {
            place_share.insert((c.category, c.place.0, function.clone()), c.share);
            e.confidence = c.confidence;
            e.evidence = c.evidence.clone();
            e.line = c.place.1;
            e.rule = c.rule.into();
        }
    }
    let mut findings: Vec<Finding> = merged
        .into_values()
        .map(|(mut f, hots)| {
            // Runners-up: the other categories that fit the same hot lines.
            let mut alts: Vec<Alternative> = Vec::new();
            for c in candidates.iter().filter(|c| hots.contains(&c.hot)) {
                let Some(k) = c.category else { continue };
                if Some(k) == f.category {
                    continue;
                }
                match alts.iter_mut().find(|a| a.category == k) {
                    Some(a) if a.confidence >= c.confidence => {}
                    Some(a) => {
                        a.confidence = c.confidence;
                        a.evidence = c.evidence.clone();
                    }
                    None => alts.push(Alternative {
                        category: k,
                        confidence: c.confidence,
                        evidence: c.evidence.clone(),
                    }),
                }
            }
            alts.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
            f.alternatives = alts;
            f
        })
        .collect();
    // A named bottleneck that costs something, and that a rule is at least half sure of, comes before any
    // unclassified hot spot or weak guess: an unclassified line teaches nothing, and a CPU profile under-weighs
    // what is not CPU (memory, waits).
    // A memory-bound finding weighs by the memory it holds when that is more than its time.
    // Without a memory profile, a file read whole costs memory for as long as the function holding it works
    // through it: a CPU profile sees that function's time, not the memory, so the load weighs as much.
    let weight = |f: &Finding| match (f.category, f.memory_pct) {
        (Some(Category::WholeFileLoad), Some(m)) => f.share_pct.max(m),
        (Some(Category::WholeFileLoad), None) if memory.is_empty() => {
            let key = (f.file.clone(), f.function.clone());
            let time = |k: &(String, String)| function_time.get(k).copied().unwrap_or(0.0);
            // (A loop of the load's own function is part of that function's time: the load's lines, then.)
            match consumers.get(&key) {
                Some(&(t, true)) => f.share_pct + t,
                Some(&(t, false)) => f.share_pct.max(time(&key)) + t,
                None => f.share_pct.max(time(&key)),
            }
        }
        _ => f.share_pct,
    };
    let named = |f: &Finding| {
        f.category.is_some() && weight(f) >= MIN_NAMED_SHARE_PCT && f.confidence >= 0.5
    };
    findings.sort_by(|a, b| {
        named(b)
            .cmp(&named(a))
            .then((weight(b) * b.confidence).total_cmp(&(weight(a) * a.confidence)))
            .then(a.line.cmp(&b.line))
    });
    if debug {
        for f in &findings {
            eprintln!(
                "diagnose: rank {:?} {}:{} weight {:.2} x {:.2} = {:.2}",
                f.category.map(|c| c.id()),
                f.function,
                f.line,
                weight(f),
                f.confidence,
                weight(f) * f.confidence
            );
        }
    }
    findings.truncate(8);
    if by_memory {
        for f in &mut findings {
            f.memory_pct = None;
        }
    }
    if ev.user <= 0.0 {
        notes.push("no samples fall in the given source files: check the source path (the profile's file names must match)".into());
    }
    Ok(Diagnosis {
        profile_format: profiles
            .iter()
            .map(|p| format!("{:?}", p.meta.format))
            .collect::<Vec<_>>()
            .join("+"),
        measure: if by_memory { "memory" } else { "time" }.into(),
        user_share_pct: pct(ev.user, ev.total),
        findings,
        notes,
    })
}

/// The line's text reads a file, or a table, in one call (`fh.read()`, `list(csv.DictReader(fh))`,
/// `pd.read_csv(path)`): worth a look by the whole-file rules however little time it takes.
fn reads_a_file(text: &str) -> bool {
    [
        ".read()",
        ".readlines()",
        ".read_text(",
        ".read_bytes(",
        "json.load(",
        "pickle.load(",
        "csv.reader(",
        "csv.DictReader(",
        ".read_csv(",
        ".read_json(",
        ".read_parquet(",
        ".read_excel(",
        ".loadtxt(",
        ".genfromtxt(",
        ".fetchall()",
        ".parse(",
    ]
    .iter()
    .any(|m| text.contains(m))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolver(files: &[&str]) -> Resolver {
        Resolver {
            files: files.iter().map(PathBuf::from).collect(),
            cache: HashMap::new(),
        }
    }

    /// Without a memory profile, a file read whole weighs as much as the function holding it: a load whose
    /// loop takes more time than a heavier-looking helper comes first. Near miss: a load whose function takes
    /// little time stays below the helper.
    #[test]
    fn whole_file_loads_weigh_as_their_function() {
        let dir = tempfile::tempdir().unwrap();
        let code = "def label(code):\n    return {c: n for c, n in CODES}.get(code)\n\ndef load(path):\n    with open(path) as f:\n        lines = f.readlines()\n    out = []\n    for line in lines:\n        parts = line.split(';')\n        out.append(label(parts[0]))\n    return out\n\ndef main():\n    load('x')\n";
        std::fs::write(dir.path().join("slow.py"), code).unwrap();
        let top = |loop_samples: u32| {
            let folded = format!(
                "main (slow.py:14);load (slow.py:6) 10\nmain (slow.py:14);load (slow.py:9) {loop_samples}\nmain (slow.py:14);load (slow.py:10);label (slow.py:2) 30\nmain (slow.py:14) 40\n"
            );
            let p = crate::profile::parse(folded.as_bytes(), Path::new("p.txt"), None).unwrap();
            let d = diagnose(&p, dir.path()).unwrap();
            let f = &d.findings[0];
            (f.category.map(|c| c.id()), f.function.clone())
        };
        assert_eq!(top(40), (Some("whole_file_load"), "load".to_string()));
        assert_eq!(top(0), (Some("repeated_computation"), "label".to_string()));
    }

    /// A whole-file load handed back to a loop in its caller weighs that loop's time too (the file is held
    /// while it runs, the helpers it calls included). Near miss: a caller that only counts the rows.
    #[test]
    fn a_whole_file_load_weighs_the_loop_that_consumes_it() {
        let top = |consume: &str| {
            let dir = tempfile::tempdir().unwrap();
            let code = format!("def label(code):\n    return {{c: n for c, n in CODES}}.get(code)\n\ndef load(path):\n    with open(path) as f:\n        rows = f.readlines()\n    return rows\n\ndef tally(row):\n    return len(row.split(';'))\n\ndef main(path, keys):\n    n = 0\n{consume}\n    for k in keys:\n        label(k)\n    return n\n");
            std::fs::write(dir.path().join("slow.py"), code).unwrap();
            let folded = "main (slow.py:14);load (slow.py:6) 10\nmain (slow.py:15);tally (slow.py:10) 30\nmain (slow.py:17);label (slow.py:2) 25\nmain (slow.py:13) 35\n";
            let p = crate::profile::parse(folded.as_bytes(), Path::new("p.txt"), None).unwrap();
            let d = diagnose(&p, dir.path()).unwrap();
            d.findings[0].category.map(|c| c.id())
        };
        assert_eq!(
            top("    for row in load(path):\n        n += tally(row)"),
            Some("whole_file_load")
        );
        assert_eq!(
            top("    n = len(load(path))\n    n += tally(n)"),
            Some("repeated_computation")
        );
    }

    /// A whole read that takes almost no time (1% of the samples) is still looked at when a loop works
    /// through what it holds (here a `while` loop cutting records out of the text), and weighs with that
    /// loop. Near miss: a small table read whole and only looked up, left to the heavier helper.
    #[test]
    fn a_quick_whole_read_weighs_with_its_loop() {
        let top = |body: &str| {
            let dir = tempfile::tempdir().unwrap();
            let code = format!("def note(m):\n    return {{c: n for c, n in CODES}}.get(m)\n\ndef ingest(path):\n    with open(path) as fh:\n        data = fh.read()\n    pos = 0\n{body}\n\ndef main(path, ms):\n    ingest(path)\n    for m in ms:\n        note(m)\n");
            std::fs::write(dir.path().join("slow.py"), code).unwrap();
            let folded = "main (slow.py:15);ingest (slow.py:6) 1\nmain (slow.py:15);ingest (slow.py:9) 30\nmain (slow.py:15);ingest (slow.py:10) 29\nmain (slow.py:17);note (slow.py:2) 40\n";
            let p = crate::profile::parse(folded.as_bytes(), Path::new("p.txt"), None).unwrap();
            let d = diagnose(&p, dir.path()).unwrap();
            d.findings[0].category.map(|c| c.id())
        };
        let cut = "    while True:\n        start = data.find('8=', pos)\n        pos = start + 1\n        if start < 0:\n            break";
        assert_eq!(top(cut), Some("whole_file_load"));
        let lookup = "    n = 0\n    k = 1\n    a = 2\n    b = 3\n    c = 4";
        assert_eq!(top(lookup), Some("repeated_computation"));
    }

    /// pstats: lines of one function share its one measurement (the heaviest counts), while a finding
    /// spread over two functions (a per-line parser called from a loop over a file read whole) adds them up.
    #[test]
    fn pstats_findings_add_up_their_functions() {
        use crate::profile::{CallerEdge, Format, Frame, FunctionTiming, LineKind, Meta, Unit};
        let dir = tempfile::tempdir().unwrap();
        let code = "def parse(line):\n    return line.split(';')\n\ndef load(path):\n    with open(path) as f:\n        text = f.read()\n    out = []\n    for line in text.splitlines():\n        out.append(parse(line))\n    return out\n";
        std::fs::write(dir.path().join("t.py"), code).unwrap();
        let mut p = Profile::new(Meta {
            format: Format::Pstats,
            tool: "cProfile".into(),
            unit: Unit::Seconds,
            line_kind: LineKind::Definition,
            notes: Vec::new(),
        });
        p.frames.push(Frame::new("load", "t.py", Some(4)));
        p.frames.push(Frame::new("parse", "t.py", Some(1)));
        p.timings.push(FunctionTiming {
            frame: 0,
            cc: Some(1),
            nc: 1,
            tt: 0.2,
            ct: 0.5,
            callers: Vec::new(),
        });
        p.timings.push(FunctionTiming {
            frame: 1,
            cc: Some(1000),
            nc: 1000,
            tt: 0.3,
            ct: 0.3,
            callers: vec![CallerEdge {
                caller: 0,
                nc: 1000,
                cc: Some(1000),
                tt: 0.3,
                ct: 0.3,
            }],
        });
        let d = diagnose(&p, dir.path()).unwrap();
        let f = &d.findings[0];
        assert_eq!(f.category.map(|c| c.id()), Some("whole_file_load"));
        assert_eq!((f.function.as_str(), f.line), ("load", 8));
        // parse's 60% and load's 40%, not the heavier alone.
        assert!(f.share_pct > 90.0, "{f:?}");
    }

    /// A profile recorded in another checkout names the program by a path that is not here: the longest
    /// matching tail decides, never for a library's file or when two files tie.
    #[test]
    fn resolves_paths_recorded_elsewhere() {
        let mut r = resolver(&[
            "/here/app/jobs/load.py",
            "/here/app/util.py",
            "/here/app/__init__.py",
        ]);
        assert_eq!(r.resolve("jobs/load.py"), Some(0));
        assert_eq!(r.resolve("/ci/build/app/jobs/load.py"), Some(0));
        assert_eq!(r.resolve("/elsewhere/util.py"), Some(1));
        // Near misses: a library file of the same name, a package's __init__, a relative path that is no tail.
        assert_eq!(
            r.resolve("/usr/lib/python3.11/site-packages/x/util.py"),
            None
        );
        assert_eq!(r.resolve("/usr/lib/python3.11/json/__init__.py"), None);
        assert_eq!(r.resolve("other/util2.py"), None);
        let mut two = resolver(&["/here/a/util.py", "/here/b/util.py"]);
        assert_eq!(two.resolve("/elsewhere/util.py"), None);
        assert_eq!(two.resolve("/elsewhere/b/util.py"), Some(1));
    }
}
