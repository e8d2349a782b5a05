//! One evidence model for every profile kind.
//!
//! Whatever the profiler, diagnosis needs the same things: how much time each line of the program's own files
//! accounts for (its own work and the library or builtin calls it makes), which library functions that time
//! went into, how often the line's function ran, and the chain of call sites above it (the loop that repeats
//! it may be in another function).
//!
//! - Sampled stacks (py-spy raw, speedscope, folded) give hot lines directly: each stack's weight goes to its
//!   deepest frame in the program's files; the frames below it name the library work; the frames above it are
//!   the call chain.
//! - pstats gives functions, exact call counts and one level of caller edges, and no lines. A library or
//!   builtin callee's time goes to the lines of the caller that call it (found by name in the syntax tree); a
//!   function's own time goes to the statements of its innermost loops (where a function's own time is spent
//!   when it is large); lambdas, comprehensions and generator expressions are their own code objects and start
//!   on the line that holds them. The call chain follows the heaviest caller edges.

use std::collections::{BTreeMap, HashMap};

use rustc_hash::FxHashMap;

use super::source::SourceFile;
use crate::profile::{FrameKind, Profile};

/// The line builds a container by iterating an iterator in C with a type call (`list(csv.reader(f))`,
/// `set(ids)`, `dict(zip(a, b))`): a loop that cProfile records no call for. Not when the iteration is
/// recorded elsewhere: a generator expression or comprehension (its own code object), `sorted(...)` (a builtin
/// call of its own), a literal.
fn builds_from_iterable(text: &str) -> bool {
    ["list(", "tuple(", "set(", "dict(", "frozenset("]
        .iter()
        .any(|ty| {
            text.match_indices(ty).any(|(i, _)| {
                let before = text[..i].chars().next_back();
                if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.') {
                    return false;
                }
                let arg = super::source::inside_brackets(&text[i + ty.len()..]).trim();
                !arg.is_empty()
                    && !arg.contains(" for ")
                    && !arg.starts_with(['[', '{', '(', '"', '\''])
                    && !["sorted(", "reversed("].iter().any(|s| arg.starts_with(s))
            })
        })
}

/// The line rebuilds a string from itself and string pieces (`doc = doc + "<tr>" + cells`, `out += f"..."`): a
/// copy of everything built so far that cProfile records no call for, wherever in the loop nest it sits.
fn rebuilds_string(text: &str) -> bool {
    let stringy =
        |v: &str| v.contains('"') || v.contains('\'') || v.contains("str(") || v.contains(".join(");
    if let Some((lhs, rhs)) = text.split_once(" += ") {
        let lhs = lhs.trim();
        return !lhs.is_empty()
            && lhs
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && stringy(rhs);
    }
    text.split_once(" = ").is_some_and(|(lhs, rhs)| {
        let lhs = lhs.trim();
        !lhs.is_empty()
            && lhs
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && rhs.trim_start().starts_with(&format!("{lhs} +"))
            && stringy(rhs)
    })
}

/// A line of a program file: (index into the program's files, 1-based line).
pub type Loc = (usize, u32);

/// Library or builtin work under a line.
#[derive(Debug, Clone, PartialEq)]
pub struct Callee {
    /// Normalised name: `copy.deepcopy`, `list.pop`, `sorted`, `re._compile`, `time.sleep`.
    pub name: String,
    pub weight: f64,
    /// Exact calls (pstats), when known.
    pub calls: Option<i64>,
    /// Called by the line itself (not somewhere below another library function).
    pub direct: bool,
}

/// What the profile says about one line.
#[derive(Debug, Clone, Default)]
pub struct LineEvidence {
    pub weight: f64,
    pub callees: Vec<Callee>,
    /// Weight that came from worker threads.
    pub threaded: f64,
    /// User call sites above the line, nearest first (from the heaviest stack, or pstats' heaviest edges).
    pub callers: Vec<Loc>,
    callers_weight: f64,
    /// Where each callee is in `callees`, by name: [indirect, direct].
    index: [FxHashMap<String, usize>; 2],
}

impl LineEvidence {
    fn add_callee(&mut self, name: &str, weight: f64, calls: Option<i64>, direct: bool) {
        // An index by (name, direct): a line of a big application can have thousands of callees.
        if let Some(&i) = self.index[direct as usize].get(name) {
            let c = &mut self.callees[i];
            c.weight += weight;
            c.calls = match (c.calls, calls) {
                (Some(a), Some(b)) => Some(a + b),
                (a, b) => a.or(b),
            };
        } else {
            self.index[direct as usize].insert(name.to_string(), self.callees.len());
            self.callees.push(Callee {
                name: name.to_string(),
                weight,
                calls,
                direct,
            });
        }
    }

    /// Heaviest first, and only the heaviest: rules look for what dominates.
    fn finish(&mut self) {
        self.callees.sort_by(|a, b| b.weight.total_cmp(&a.weight));
        self.callees.truncate(48);
        self.index = Default::default();
    }
}

/// The evidence of one profile, in the program's terms.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// Everything the profile measured (samples or seconds).
    pub total: f64,
    /// The part that fell in the program's files.
    pub user: f64,
    /// The part of `user` that ran on worker threads.
    pub threaded: f64,
    pub lines: BTreeMap<Loc, LineEvidence>,
    /// Where worker threads enter the program's code (the user frame nearest a worker thread's root).
    pub thread_entries: HashMap<Loc, f64>,
    /// Exact call counts of the program's functions, by (file, first line) (pstats).
    pub calls: HashMap<Loc, i64>,
    /// Line numbers are derived (pstats), not measured.
    pub derived: bool,
    /// Time the main thread waited on locks, joins and futures (pstats: workers are not profiled).
    pub waits: f64,
    /// Time spent under a line in the program's own functions it calls (sampled stacks: samples with the line
    /// anywhere on the stack, less its own weight; pstats: the calls' cumulative times at their call sites).
    pub below: HashMap<Loc, f64>,
    /// The profiler traced every bytecode on CPython 3.11 (cProfile there runs the unspecialised
    /// instructions), where `s += piece` on a local `str` copies the string instead of appending in place: such
    /// lines are charged far more than they cost outside the profiler.
    pub traced_copies_strings: bool,
}

/// Line profiles (line_profiler, Scalene) time lines and record no stacks. From the source: each profiled
/// function gets the call chain of its heaviest call sites, so a loop in a caller is seen as repeating it, and
/// lines of a function that worker threads run are marked as threaded. line_profiler's line time includes
/// everything the line calls (`inclusive`): a line that calls a profiled function keeps only its own time (the
/// callee's lines hold the rest). Scalene's does not.
pub fn line_profile_calls(ev: &mut Evidence, sources: &[Option<SourceFile>], inclusive: bool) {
    // Profiled functions: (file, def line) -> (name, total time).
    let mut functions: HashMap<Loc, (String, f64)> = HashMap::new();
    for (&(file, line), e) in &ev.lines {
        let Some(f) = sources[file]
            .as_ref()
            .and_then(|s| s.enclosing_function(line))
        else {
            continue;
        };
        functions
            .entry((file, f.start))
            .or_insert((f.name.clone(), 0.0))
            .1 += e.weight;
    }
    // Call sites of profiled functions: callee -> [(site, weight of the site)]. An inclusive profile times
    // every call site of a profiled function; an exclusive one may not list a site that only calls (its time
    // is the callee's), so every line of the files is a candidate.
    let mut sites: HashMap<Loc, Vec<(Loc, f64)>> = HashMap::new();
    let keys: Vec<Loc> = if inclusive {
        ev.lines.keys().copied().collect()
    } else {
        let files: std::collections::BTreeSet<usize> = ev.lines.keys().map(|l| l.0).collect();
        files
            .into_iter()
            .filter_map(|f| sources[f].as_ref().map(|s| (f, s.lines())))
            .flat_map(|(f, n)| (1..=n).map(move |l| (f, l)))
            .collect()
    };
    for (file, line) in keys {
        let Some(src) = sources[file].as_ref() else {
            continue;
        };
        let calls = src.context(line).calls;
        let mut inner = 0.0;
        for (&callee, (name, total)) in &functions {
            let called = calls
                .iter()
                .any(|c| c.rsplit('.').next() == Some(name.as_str()));
            if called && callee != (file, src.enclosing_function(line).map_or(0, |f| f.start)) {
                inner += total;
                let w = ev.lines.get(&(file, line)).map_or(0.0, |e| e.weight);
                sites.entry(callee).or_default().push(((file, line), w));
            }
        }
        if inclusive {
            let e = ev.lines.get_mut(&(file, line)).expect("a key of the map");
            e.weight = (e.weight - inner).max(0.0);
        }
    }
    // Each function's chain: its heaviest call site, then that site's function's, a few levels up.
    let heaviest = |callee: &Loc| -> Option<Loc> {
        sites
            .get(callee)?
            .iter()
            .max_by(|a, b| a.1.total_cmp(&b.1).then(b.0.cmp(&a.0)))
            .map(|s| s.0)
    };
    let keys: Vec<Loc> = ev.lines.keys().copied().collect();
    for (file, line) in keys {
        let Some(f) = sources[file]
            .as_ref()
            .and_then(|s| s.enclosing_function(line))
        else {
            continue;
        };
        let mut chain = Vec::new();
        let mut cur = (file, f.start);
        while let Some(site) = heaviest(&cur) {
            if chain.contains(&site) || chain.len() >= 8 {
                break;
            }
            chain.push(site);
            match sources[site.0]
                .as_ref()
                .and_then(|s| s.enclosing_function(site.1))
            {
                Some(g) => cur = (site.0, g.start),
                None => break,
            }
        }
        if !chain.is_empty() {
            ev.lines
                .get_mut(&(file, line))
                .expect("a key of the map")
                .callers = chain;
        }
    }
    // line_profiler times every thread alike and does not say which ran where: a line of a function that worker
    // threads run (a pool's or `Thread(target=...)`'s function, or one it calls) ran on a thread.
    let keys: Vec<Loc> = ev.lines.keys().copied().collect();
    for (file, line) in keys {
        let Some(src) = sources[file].as_ref() else {
            continue;
        };
        if !super::rules::threads_in_file(src) {
            continue;
        }
        let Some(target) = super::rules::thread_target(src) else {
            continue;
        };

        let in_target =
            |f: Option<&super::source::FunctionInfo>| f.is_some_and(|f| f.name == target);
        let e = &ev.lines[&(file, line)];
        let on_thread = in_target(src.enclosing_function(line))
            || e.callers.iter().any(|c| {
                sources[c.0]
                    .as_ref()
                    .is_some_and(|s| in_target(s.enclosing_function(c.1)))
            });
        if on_thread {
            let w = e.weight;
            let entry = e
                .callers
                .iter()
                .copied()
                .find(|c| {
                    sources[c.0]
                        .as_ref()
                        .is_some_and(|s| in_target(s.enclosing_function(c.1)))
                })
                .unwrap_or((file, line));
            ev.lines
                .get_mut(&(file, line))
                .expect("a key of the map")
                .threaded = w;
            ev.threaded += w;
            *ev.thread_entries.entry(entry).or_default() += w;
        }
    }
    if inclusive {
        // Shares are of the program's own time, each line counted once.
        ev.total = ev.lines.values().map(|e| e.weight).sum();
        ev.user = ev.total;
    }
}

/// Module-qualified name of a library frame from its file (`/usr/lib/python3.11/copy.py` -> `copy`,
/// `.../site-packages/pandas/core/frame.py` -> `pandas.core.frame`, py-spy's `re/__init__.py` -> `re`).
pub fn module_of(file: &str) -> String {
    let f = file.replace('\\', "/");
    let mut rest = f.as_str();
    for marker in ["site-packages/", "dist-packages/"] {
        if let Some(i) = rest.rfind(marker) {
            rest = &rest[i + marker.len()..];
        }
    }
    if let Some(i) = rest.find("/lib/python") {
        let after = &rest[i + 11..];
        rest = after.split_once('/').map_or(after, |(_, r)| r);
    }
    let rest = rest.trim_start_matches('/');
    let rest = rest.strip_suffix(".py").unwrap_or(rest);
    let rest = rest.strip_suffix("/__init__").unwrap_or(rest);
    rest.trim_start_matches("<frozen ")
        .trim_end_matches('>')
        .replace('/', ".")
}

/// The normalised name of a callee frame: `module.function` for Python frames, the type's method or the
/// builtin's name for pstats' builtin entries (`<method 'pop' of 'list' objects>` -> `list.pop`,
/// `<built-in method builtins.sorted>` -> `sorted`, `<built-in method time.sleep>` -> `time.sleep`).
pub fn callee_name(function: &str, file: &str) -> String {
    if let Some(rest) = function.strip_prefix("<method '") {
        if let Some((meth, ty)) = rest.split_once("' of '") {
            let ty = ty.trim_end_matches("' objects>");
            return format!("{ty}.{meth}");
        }
    }
    if let Some(rest) = function.strip_prefix("<built-in method ") {
        let name = rest.trim_end_matches('>');
        let name = name.split(" of ").next().unwrap_or(name);
        return name.strip_prefix("builtins.").unwrap_or(name).to_string();
    }
    if let Some(rest) = function.strip_prefix("<function ") {
        let name = rest.split([' ', '>']).next().unwrap_or(rest);
        return name.to_string();
    }
    if file.is_empty() || file == "~" {
        return function.to_string();
    }
    let m = module_of(file);
    if m.is_empty() {
        function.to_string()
    } else {
        format!("{m}.{function}")
    }
}

/// The last component of a dotted name (`list.pop` -> `pop`).
pub fn last(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// True for code objects that are not `def`s: they start on the line that holds them.
pub fn is_inline_code(function: &str) -> bool {
    matches!(
        function,
        "<lambda>" | "<genexpr>" | "<listcomp>" | "<dictcomp>" | "<setcomp>"
    )
}

/// Names of the thread machinery whose frames mark a worker thread's stack.
fn is_thread_frame(function: &str, file: &str, kind: FrameKind) -> bool {
    function.contains("_bootstrap_inner")
        || (function == "_worker" && file.contains("thread"))
        || kind == FrameKind::Thread
            && !function.contains("MainThread")
            && !function.contains("main")
}

/// Sampled stacks: each stack's weight goes to its deepest frame in the program's files.
pub fn from_stacks(profile: &Profile, resolve: &mut dyn FnMut(&str) -> Option<usize>) -> Evidence {
    let mut ev = Evidence {
        total: profile.total(),
        ..Evidence::default()
    };
    let resolved: Vec<Option<usize>> = profile
        .frames
        .iter()
        .map(|f| {
            (f.kind == FrameKind::Python && f.line.is_some())
                .then(|| resolve(&f.file))
                .flatten()
        })
        .collect();
    // Names and thread marks once per frame, not once per stack.
    let names: Vec<String> = profile
        .frames
        .iter()
        .map(|f| callee_name(&f.function, &f.file))
        .collect();
    let thread_frame: Vec<bool> = profile
        .frames
        .iter()
        .map(|f| is_thread_frame(&f.function, &f.file, f.kind))
        .collect();
    for s in &profile.stacks {
        let under_thread = s.frames.iter().any(|&fid| thread_frame[fid as usize]);
        // Positions (root first) of the frames in the program's files.
        let user: Vec<usize> = s
            .frames
            .iter()
            .enumerate()
            .filter(|(_, &fid)| resolved[fid as usize].is_some())
            .map(|(i, _)| i)
            .collect();
        let Some(&deepest) = user.last() else {
            continue;
        };
        let loc_of = |i: usize| {
            let fid = s.frames[i] as usize;
            (resolved[fid].unwrap(), profile.frames[fid].line.unwrap())
        };
        let k = loc_of(deepest);
        // Lines higher up the stack (each once per sample) have this sample below them.
        let mut up: Vec<Loc> = user.iter().rev().skip(1).map(|&i| loc_of(i)).collect();
        up.sort_unstable();
        up.dedup();
        for l in up.into_iter().filter(|l| *l != k) {
            *ev.below.entry(l).or_default() += s.weight;
        }
        let e = ev.lines.entry(k).or_default();
        e.weight += s.weight;
        if s.weight > e.callers_weight {
            e.callers_weight = s.weight;
            e.callers = user.iter().rev().skip(1).map(|&i| loc_of(i)).collect();
        }
        // The library work below the line: the first frame is its direct callee.
        let mut seen: Vec<&str> = Vec::new();
        for (j, &fid) in s.frames[deepest + 1..].iter().enumerate() {
            if profile.frames[fid as usize].kind != FrameKind::Python {
                continue;
            }
            let name = names[fid as usize].as_str();
            if !seen.contains(&name) {
                e.add_callee(name, s.weight, None, j == 0);
                seen.push(name);
            }
        }
        ev.user += s.weight;
        if under_thread {
            ev.threaded += s.weight;
            e.threaded += s.weight;
            *ev.thread_entries.entry(loc_of(user[0])).or_default() += s.weight;
        }
    }
    for e in ev.lines.values_mut() {
        e.finish();
    }
    ev
}

/// A program function in a pstats profile.
struct Func {
    file: usize,
    /// The code object's first line.
    line: u32,
    name: String,
}

/// The CPython version whose standard library the profile's files come from (`.../lib/python3.11/json/...`,
/// `C:\\Python311\\Lib\\...`), when they say.
pub fn interpreter<'a>(files: impl Iterator<Item = &'a str>) -> Option<(u32, u32)> {
    let mut found: Option<(u32, u32)> = None;
    for file in files {
        let lower = file.to_ascii_lowercase();
        let version = lower
            .match_indices("python3")
            .find_map(|(i, m)| {
                let rest = &lower[i + m.len()..];
                let rest = rest.strip_prefix('.').unwrap_or(rest);
                let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
                let after = rest[digits.len()..].chars().next();
                (!digits.is_empty() && matches!(after, Some('/' | '\\')))
                    .then(|| digits.parse().ok())?
            })
            .map(|minor| (3, minor));
        match (found, version) {
            (_, None) => {}
            (None, v) => found = v,
            // (Two interpreters' files in one profile: say nothing.)
            (Some(a), Some(b)) if a != b => return None,
            _ => {}
        }
    }
    found
}

/// pstats: functions, call counts and caller edges, turned into lines with the syntax tree.
pub fn from_pstats(
    profile: &Profile,
    resolve: &mut dyn FnMut(&str) -> Option<usize>,
    sources: &[Option<SourceFile>],
) -> Evidence {
    let mut ev = Evidence {
        total: profile.total(),
        derived: true,
        traced_copies_strings: interpreter(profile.frames.iter().map(|f| f.file.as_str()))
            == Some((3, 11)),
        ..Evidence::default()
    };
    let n = profile.frames.len();
    // Which frames are program functions.
    let mut func: Vec<Option<Func>> = (0..n).map(|_| None).collect();
    for t in &profile.timings {
        let f = &profile.frames[t.frame as usize];
        if let (Some(i), Some(line)) = (resolve(&f.file), f.line) {
            if sources.get(i).is_some_and(|s| s.is_some()) {
                func[t.frame as usize] = Some(Func {
                    file: i,
                    line,
                    name: f.function.clone(),
                });
            }
        }
    }
    let timing: HashMap<u32, usize> = profile
        .timings
        .iter()
        .enumerate()
        .map(|(i, t)| (t.frame, i))
        .collect();
    // Callee edges (caller -> [(callee, nc, ct)]), the inverse of pstats' caller lists.
    let mut children: HashMap<u32, Vec<(u32, i64, f64)>> = HashMap::new();
    for t in &profile.timings {
        for e in &t.callers {
            children
                .entry(e.caller)
                .or_default()
                .push((t.frame, e.nc, e.ct));
        }
    }
    // The call sites of `callee` in the body of program function `f`: lines whose calls name it.
    // Each program function's body (statement lines and calls), read once from the syntax tree.
    let mut bodies: HashMap<(usize, u32), (Vec<u32>, Vec<super::source::CallSite>)> =
        HashMap::new();
    for f in func.iter().flatten() {
        if is_inline_code(&f.name) || bodies.contains_key(&(f.file, f.line)) {
            continue;
        }
        let src = sources[f.file].as_ref().unwrap();
        let scope = if f.name == "<module>" {
            None
        } else {
            src.function_at(f.line)
        };
        if f.name != "<module>" && scope.is_none() {
            continue;
        }
        bodies.insert((f.file, f.line), src.body(scope));
    }
    let names: Vec<String> = profile
        .frames
        .iter()
        .map(|f| callee_name(&f.function, &f.file))
        .collect();
    let sites_in = |f: &Func, callee_last: &str| -> Vec<u32> {
        let src = sources[f.file].as_ref().unwrap();
        if is_inline_code(&f.name) {
            // A lambda or generator expression spread over lines: the line of its statement that makes the call.
            let in_statement = src.statement_span(f.line).and_then(|(a, b)| {
                let g = src.enclosing_function(f.line)?;
                // pstats names a decorated function by its first decorator's line.
                let (_, calls) = bodies
                    .get(&(f.file, g.first))
                    .or_else(|| bodies.get(&(f.file, g.start)))?;
                let lines: Vec<u32> = calls
                    .iter()
                    .filter(|c| {
                        (a..=b).contains(&c.line)
                            && last(c.callee.trim_end_matches(')')) == callee_last
                    })
                    .map(|c| c.line)
                    .collect();
                (!lines.is_empty()).then_some(lines)
            });
            return in_statement.unwrap_or_else(|| vec![f.line]);
        }
        let Some((body, calls)) = bodies.get(&(f.file, f.line)) else {
            return Vec::new();
        };
        let mut lines: Vec<u32> = calls
            .iter()
            .filter(|c| last(c.callee.trim_end_matches(')')) == callee_last)
            .map(|c| c.line)
            .collect();
        if lines.is_empty() && callee_last == "__init__" {
            // A library class's constructor (pstats names it `module.__init__`): where a class is instantiated.
            lines = calls
                .iter()
                .filter(|c| {
                    last(c.callee.trim_end_matches(')'))
                        .chars()
                        .next()
                        .is_some_and(|ch| ch.is_ascii_uppercase())
                })
                .map(|c| c.line)
                .collect();
        }
        if lines.is_empty() && !callee_last.starts_with('<') {
            // A property (or `__getattr__`) runs on a plain attribute read: `self.avgdl`.
            let attr = format!(".{callee_last}");
            lines = body
                .iter()
                .copied()
                .filter(|&l| {
                    let t = src.line_text(l);
                    t.match_indices(&attr).any(|(i, _)| {
                        !t[i + attr.len()..]
                            .chars()
                            .next()
                            .is_some_and(|c| c.is_alphanumeric() || c == '_')
                    })
                })
                .collect();
        }
        lines.dedup();
        lines
    };
    let inline_at: std::collections::HashSet<Loc> = func
        .iter()
        .flatten()
        .filter(|f| is_inline_code(&f.name))
        .map(|f| (f.file, f.line))
        .collect();
    // Where a function's own time goes: the statements of its innermost loops (its whole body when it has none).
    let own_lines = |f: &Func| -> Vec<u32> {
        let src = sources[f.file].as_ref().unwrap();
        if is_inline_code(&f.name) {
            return vec![f.line];
        }
        let Some((lines, _)) = bodies.get(&(f.file, f.line)) else {
            return vec![f.line];
        };
        // A comprehension that has its own code object (Python < 3.12, and every generator expression) keeps
        // its time to itself: its loop does not count for the function's own time.
        let depth: Vec<(u32, usize)> = lines
            .iter()
            .map(|&l| {
                let own = inline_at.contains(&(f.file, l));
                let d = src
                    .context(l)
                    .loops
                    .iter()
                    .filter(|lp| lp.kind != "comprehension" || !own)
                    .count();
                (l, d)
            })
            .collect();
        let max = depth.iter().map(|d| d.1).max().unwrap_or(0);
        // ... and statements that loop in C without a call cProfile records: a type built from an iterable
        // (`rows = list(csv.reader(f))`, `set(ids)`) runs its iteration as the function's own time.
        let mut out: Vec<u32> = depth
            .iter()
            .filter(|d| {
                let t = src.line_text(d.0);
                d.1 == max || (d.1 > 0 && rebuilds_string(&t)) || builds_from_iterable(&t)
            })
            .map(|d| d.0)
            .collect();
        if out.is_empty() {
            out.push(f.line);
        }
        out
    };
    for t in &profile.timings {
        let Some(f) = &func[t.frame as usize] else {
            continue;
        };
        ev.calls.insert((f.file, f.line), t.nc);
        // Own time.
        // Which of the innermost lines holds the own time is not known: each gets all of it, and the rules
        // decide (a finding from derived lines counts its heaviest line, not the sum).
        let own = own_lines(f);
        // A statement written over several lines (`return replace(t,\n    text=t.text + row, ...)`) does its
        // own work on any of them: its other lines get the time too, so a rule can see the line that explains it.
        let src = sources[f.file].as_ref().unwrap();
        let mut own_time: Vec<u32> = own
            .iter()
            .flat_map(|&l| {
                let (a, b) = src.statement_span(l).unwrap_or((l, l));
                (a.min(l)..=b.max(l)).filter(move |x| *x == l || !src.line_text(*x).is_empty())
            })
            .collect();
        own_time.sort_unstable();
        own_time.dedup();
        for &l in &own_time {
            let e = ev.lines.entry((f.file, l)).or_default();
            e.weight += t.tt;
        }
        ev.user += t.tt;
        // Library and builtin callees: their whole time belongs to the lines that call them. A callee that no
        // line names (a generator resumed by a loop, a dunder) goes where its module's other functions were
        // called (`Executor.map` -> its `result_iterator`), else to the innermost loops.
        let kids = children.get(&t.frame).map_or(&[][..], |v| &v[..]);
        // Each library callee's call sites, found once (`None`: program code, handled by its own lines).
        let kid_sites: Vec<Option<Vec<u32>>> = kids
            .iter()
            .map(|&(callee, _, _)| {
                (func[callee as usize].is_none() && callee != t.frame)
                    .then(|| sites_in(f, last(&names[callee as usize])))
            })
            .collect();
        let mut module_sites: HashMap<String, Vec<u32>> = HashMap::new();
        for (&(callee, _, _), sites) in kids.iter().zip(&kid_sites) {
            let cf = &profile.frames[callee as usize];
            if let Some(sites) = sites.as_ref().filter(|v| !v.is_empty() && cf.file != "~") {
                module_sites
                    .entry(module_of(&cf.file))
                    .or_default()
                    .extend(sites);
            }
        }
        // The program's functions it calls: their cumulative time is below their call sites.
        for &(callee, _, ct) in kids {
            if callee == t.frame || is_inline_code(&names[callee as usize]) {
                continue;
            }
            if let Some(g) = &func[callee as usize] {
                let at = sites_in(f, last(&g.name));
                for &l in &at {
                    *ev.below.entry((f.file, l)).or_default() += ct / at.len() as f64;
                }
            }
        }
        for (&(callee, nc, ct), sites) in kids.iter().zip(&kid_sites) {
            let Some(sites) = sites else {
                continue;
            };
            let cf = &profile.frames[callee as usize];
            let name = &names[callee as usize];
            // Program code it calls back (a sort key, a thread's target) has lines of its own.
            let back: f64 = children.get(&callee).map_or(0.0, |v| {
                v.iter()
                    .filter(|(y, _, _)| func[*y as usize].is_some())
                    .map(|(_, _, yct)| yct)
                    .sum()
            });
            let ctotal = timing
                .get(&callee)
                .map_or(ct, |&i| profile.timings[i].ct.max(1e-12));
            let ct = (ct - back * (ct / ctotal).min(1.0)).max(0.0);
            let mut at = sites.clone();
            if at.is_empty() && cf.file != "~" && !cf.file.is_empty() {
                at = module_sites
                    .get(&module_of(&cf.file))
                    .cloned()
                    .unwrap_or_default();
                at.sort_unstable();
                at.dedup();
            }
            if at.is_empty() {
                at = own.iter().copied().take(8).collect();
            }
            // What that callee's own callees did on this caller's behalf (regex compiles under `re.match`).
            // (Ten levels, deep enough for a wait under a logging handler's HTTP post; each frame once, and only
            // what carries weight: a big application's library graph is wide.)
            let mut inner: Vec<(&str, f64, i64)> = Vec::new();
            let mut seen: Vec<u32> = vec![callee];
            let mut stack = vec![(callee, ct / ctotal, 0)];
            while let Some((x, frac, depth)) = stack.pop() {
                if depth >= 10 || inner.len() >= 64 {
                    continue;
                }
                for &(y, ync, yct) in children.get(&x).map_or(&[][..], |v| &v[..]) {
                    let w = yct * frac;
                    if func[y as usize].is_some() || seen.contains(&y) || w <= 0.01 * ct {
                        continue;
                    }
                    seen.push(y);
                    inner.push((names[y as usize].as_str(), w, ync));
                    stack.push((y, frac, depth + 1));
                }
            }
            // Only the heaviest few matter to the rules (a compile under `re.match`, a lock under a join).
            inner.sort_by(|a, b| b.1.total_cmp(&a.1));
            inner.truncate(16);
            for &l in &at {
                let share = 1.0 / at.len() as f64;
                let e = ev.lines.entry((f.file, l)).or_default();
                e.weight += ct * share;
                e.add_callee(name, ct * share, Some(nc), true);
                for (iname, w, inc) in &inner {
                    e.add_callee(iname, w * share, Some(*inc), false);
                }
            }
            ev.user += ct;
        }
    }
    // The main thread waiting on locks (joins, futures, queues): worker threads are not profiled. An event
    // loop waits in its selector instead (for `asyncio.to_thread` results as for sockets; the rules tell which
    // from the source).
    ev.waits = profile
        .timings
        .iter()
        .filter(|t| {
            let f = &profile.frames[t.frame as usize];
            // `lock.acquire()` and `with lock:` (whose `__enter__` acquires), on plain and reentrant locks.
            f.function.starts_with("<method 'acquire' of '_thread.")
                || f.function.starts_with("<method '__enter__' of '_thread.")
                || f.function.starts_with("<method 'poll' of 'select.")
                || f.function
                    .starts_with("<method 'control' of 'select.kqueue")
                || f.function == "<built-in method select.select>"
        })
        .map(|t| t.tt)
        .sum();
    // Call chains: the heaviest program caller of each function, repeatedly, as call sites. A callback (a sort
    // key, a `map` function) is called by a library function: go up through it to the program code that
    // called the library function, whose call site names it.
    let heaviest_caller = |frame: u32| -> Option<(u32, Option<String>)> {
        let mut cur = frame;
        let mut via: Option<String> = None;
        for _ in 0..4 {
            let t = &profile.timings[*timing.get(&cur)?];
            let e = t
                .callers
                .iter()
                .filter(|e| e.caller != cur && e.caller != frame)
                .max_by(|a, b| {
                    // Program callers first, then the heaviest.
                    (func[a.caller as usize].is_some(), a.ct)
                        .partial_cmp(&(func[b.caller as usize].is_some(), b.ct))
                        .unwrap_or(std::cmp::Ordering::Equal)
                })?;
            if func[e.caller as usize].is_some() {
                return Some((e.caller, via));
            }
            via = Some(names[e.caller as usize].clone());
            cur = e.caller;
        }
        None
    };
    // A program class's item access runs where its caller subscripts something (`table[key]`): no call names it.
    let subscripts = |f: &Func| -> Vec<u32> {
        let src = sources[f.file].as_ref().unwrap();
        let Some((body, _)) = bodies.get(&(f.file, f.line)) else {
            return Vec::new();
        };
        body.iter()
            .copied()
            .filter(|&l| {
                let t = src.line_text(l);
                t.match_indices('[').any(|(i, _)| {
                    t[..i]
                        .chars()
                        .next_back()
                        .is_some_and(|c| c.is_alphanumeric() || c == '_' || c == ')' || c == ']')
                })
            })
            .collect()
    };
    // Of several call sites, the one in the most loops is the one that repeats (pstats does not say which).
    let loopiest = |file: usize, sites: Vec<u32>| -> Option<u32> {
        let src = sources[file].as_ref()?;
        sites
            .into_iter()
            .max_by_key(|&l| (src.context(l).loops.len(), std::cmp::Reverse(l)))
    };
    let mut chains: HashMap<u32, Vec<Loc>> = HashMap::new();
    for t in &profile.timings {
        let Some(f) = &func[t.frame as usize] else {
            continue;
        };
        let mut chain = Vec::new();
        let mut cur = t.frame;
        let mut name = f.name.clone();
        let mut visited = vec![cur];
        while let Some((c, via)) = heaviest_caller(cur) {
            if visited.contains(&c) || chain.len() >= 12 {
                break;
            }
            let cf = func[c as usize].as_ref().unwrap();
            let site = match via {
                // Through a library function: where the caller calls it (or the callback's own line).
                Some(v) => loopiest(cf.file, sites_in(cf, last(&v))).or_else(|| {
                    is_inline_code(&name).then(|| func[cur as usize].as_ref().unwrap().line)
                }),
                // A comprehension or lambda runs where it is written, inside its caller.
                None if is_inline_code(&name) => func[cur as usize].as_ref().map(|x| x.line),
                None => loopiest(cf.file, {
                    let sites = sites_in(cf, last(&name));
                    if sites.is_empty()
                        && matches!(last(&name), "__getitem__" | "__setitem__" | "__delitem__")
                    {
                        subscripts(cf)
                    } else {
                        sites
                    }
                }),
            };
            chain.push((cf.file, site.unwrap_or(cf.line)));
            visited.push(c);
            name = cf.name.clone();
            cur = c;
        }
        chains.insert(t.frame, chain);
    }
    // Each line's chain is its function's (a line inside a comprehension: the comprehension's, whose first
    // call site is the line that holds it).
    let by_loc: HashMap<(usize, u32), u32> = func
        .iter()
        .enumerate()
        .filter_map(|(i, f)| f.as_ref().map(|f| ((f.file, f.line), i as u32)))
        .collect();
    let keys: Vec<Loc> = ev.lines.keys().copied().collect();
    for (file, line) in keys {
        let src = sources[file].as_ref().unwrap();
        let frame = by_loc.get(&(file, line)).copied().or_else(|| {
            let def = src.enclosing_function(line)?;
            by_loc
                .get(&(file, def.start))
                .or_else(|| by_loc.get(&(file, def.first)))
                .copied()
        });
        let frame = frame.or_else(|| by_loc.get(&(file, 1)).copied());
        if let Some(chain) = frame.and_then(|f| chains.get(&f)) {
            ev.lines.get_mut(&(file, line)).unwrap().callers = chain.clone();
        }
    }
    for e in ev.lines.values_mut() {
        e.finish();
    }
    ev
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(
            callee_name("<method 'pop' of 'list' objects>", "~"),
            "list.pop"
        );
        assert_eq!(
            callee_name("<built-in method builtins.sorted>", "~"),
            "sorted"
        );
        assert_eq!(
            callee_name("<built-in method time.sleep>", "~"),
            "time.sleep"
        );
        assert_eq!(
            callee_name("deepcopy", "/usr/lib/python3.11/copy.py"),
            "copy.deepcopy"
        );
        assert_eq!(callee_name("_compile", "re/__init__.py"), "re._compile");
        assert_eq!(
            callee_name(
                "iterrows",
                "/v/lib/python3.11/site-packages/pandas/core/frame.py"
            ),
            "pandas.core.frame.iterrows"
        );
        assert_eq!(
            callee_name("<method 'acquire' of '_thread.lock' objects>", "~"),
            "_thread.lock.acquire"
        );
        assert!(is_inline_code("<genexpr>"));
        assert!(!is_inline_code("main"));
    }

    /// pstats names a library class's constructor `__init__`: its time goes to the line that instantiates a
    /// class, not spread over the caller's lines.
    #[test]
    fn interpreter_from_paths() {
        let v = |files: &[&str]| interpreter(files.iter().copied());
        assert_eq!(
            v(&[
                "slow.py",
                "~",
                "/root/.pyenv/versions/3.11.7/lib/python3.11/json/decoder.py"
            ]),
            Some((3, 11))
        );
        assert_eq!(v(&["C:\\Python312\\Lib\\re\\__init__.py"]), Some((3, 12)));
        // Near misses: no standard library file, a name that only starts like one, two interpreters.
        assert_eq!(v(&["slow.py", "~"]), None);
        assert_eq!(v(&["/srv/python3tools/x.py"]), None);
        assert_eq!(
            v(&["/usr/lib/python3.11/re.py", "/usr/lib/python3.12/re.py"]),
            None
        );
    }

    #[test]
    fn pstats_constructor_call_site() {
        use crate::profile::{CallerEdge, Format, Frame, FunctionTiming, LineKind, Meta, Unit};
        let code = "import re\nclass P:\n    def __init__(self, text):\n        self.text = text\n        self.scanner = re.Scanner(LEX)\n";
        let src = SourceFile::from_text(std::path::Path::new("t.py"), code.into()).unwrap();
        let mut p = Profile::new(Meta {
            format: Format::Pstats,
            tool: "cProfile".into(),
            unit: Unit::Seconds,
            line_kind: LineKind::Definition,
            notes: Vec::new(),
        });
        p.frames.push(Frame::new("__init__", "t.py", Some(3)));
        p.frames.push(Frame::new(
            "__init__",
            "/usr/lib/python3.11/re/__init__.py",
            Some(330),
        ));
        let timing = |frame, tt, ct, callers| FunctionTiming {
            frame,
            cc: Some(100),
            nc: 100,
            tt,
            ct,
            callers,
        };
        p.timings.push(timing(0, 0.1, 2.1, Vec::new()));
        let edge = CallerEdge {
            caller: 0,
            nc: 100,
            cc: Some(100),
            tt: 0.5,
            ct: 2.0,
        };
        p.timings.push(timing(1, 0.5, 2.0, vec![edge]));
        let ev = from_pstats(&p, &mut |f| (f == "t.py").then_some(0), &[Some(src)]);
        let callee_on = |l: u32| {
            ev.lines
                .get(&(0, l))
                .is_some_and(|e| e.callees.iter().any(|c| c.name == "re.__init__"))
        };
        assert!(callee_on(5));
        assert!(!callee_on(4));
    }

    /// A wait many library calls down (a logging handler that posts each record over HTTP) is still seen
    /// under the line that logs. Near miss: a line that calls nothing carries no callee.
    #[test]
    fn pstats_waits_deep_below_a_line() {
        use crate::profile::{CallerEdge, Format, Frame, FunctionTiming, LineKind, Meta, Unit};
        let code = "import logging\ndef intake(log, items):\n    for x in items:\n        n = len(x)\n        log.info('ok %s', x)\n";
        let src = SourceFile::from_text(std::path::Path::new("t.py"), code.into()).unwrap();
        let mut p = Profile::new(Meta {
            format: Format::Pstats,
            tool: "cProfile".into(),
            unit: Unit::Seconds,
            line_kind: LineKind::Definition,
            notes: Vec::new(),
        });
        p.frames.push(Frame::new("intake", "t.py", Some(2)));
        let chain = [
            "info",
            "_log",
            "handle",
            "callHandlers",
            "handle",
            "emit",
            "getresponse",
            "begin",
        ];
        for (i, f) in chain.iter().enumerate() {
            let file = if i < 6 {
                "/usr/lib/python3.11/logging/__init__.py"
            } else {
                "/usr/lib/python3.11/http/client.py"
            };
            p.frames.push(Frame::new(*f, file, Some(100 + i as u32)));
        }
        p.frames.push(Frame::new(
            "<method 'recv_into' of '_socket.socket' objects>",
            "~",
            None,
        ));
        let edge = |caller| CallerEdge {
            caller,
            nc: 100,
            cc: Some(100),
            tt: 0.01,
            ct: 2.0,
        };
        p.timings.push(FunctionTiming {
            frame: 0,
            cc: Some(1),
            nc: 1,
            tt: 0.1,
            ct: 2.1,
            callers: Vec::new(),
        });
        for frame in 1..=chain.len() as u32 + 1 {
            p.timings.push(FunctionTiming {
                frame,
                cc: Some(100),
                nc: 100,
                tt: 0.01,
                ct: 2.0,
                callers: vec![edge(frame - 1)],
            });
        }
        let ev = from_pstats(&p, &mut |f| (f == "t.py").then_some(0), &[Some(src)]);
        let waits_on = |l: u32| {
            ev.lines.get(&(0, l)).is_some_and(|e| {
                e.callees
                    .iter()
                    .any(|c| c.name.contains("recv_into") && c.weight > 1.0)
            })
        };
        assert!(waits_on(5));
        assert!(!waits_on(4));
    }

    #[test]
    fn containers_built_by_iterating_in_c() {
        assert!(builds_from_iterable(
            "rows = list(csv.reader(io.StringIO(text)))"
        ));
        assert!(builds_from_iterable("seen = set(ids)"));
        assert!(builds_from_iterable("return dict(zip(header, row))"));
        // Near misses: the iteration is recorded on its own (a generator, sorted), or there is none.
        assert!(!builds_from_iterable(
            "funds = tuple(sorted(by_fund.items()))"
        ));
        assert!(!builds_from_iterable("xs = list(x * 2 for x in xs)"));
        assert!(!builds_from_iterable("out = list()"));
        assert!(!builds_from_iterable("t = tuple([1, 2])"));
        assert!(!builds_from_iterable("n = self.checklist(rows)"));
    }

    /// A string rebuilt from itself holds own time at any loop depth; near misses: a counter, a string made
    /// from other names, an entry of a container.
    #[test]
    fn strings_rebuilt_in_c() {
        assert!(rebuilds_string(
            "doc = doc + \"<tr><td>\" + cells + \"</tr>\""
        ));
        assert!(rebuilds_string("self.body += f\"{x}\\n\""));
        assert!(rebuilds_string("out += str(v)"));
        assert!(!rebuilds_string("n += 1"));
        assert!(!rebuilds_string("line = head + \",\" + tail"));
        assert!(!rebuilds_string("parts[k] += \",\""));
    }

    #[test]
    fn pstats_own_time_reaches_every_line_of_a_multiline_statement() {
        use crate::profile::{Format, Frame, FunctionTiming, LineKind, Meta, Unit};
        let code = "def add(t, row):\n    line = row + \"\\n\"\n    return replace(\n        t,\n\n        text=t.text + line,\n    )\n";
        let src = SourceFile::from_text(std::path::Path::new("t.py"), code.into()).unwrap();
        let mut p = Profile::new(Meta {
            format: Format::Pstats,
            tool: "cProfile".into(),
            unit: Unit::Seconds,
            line_kind: LineKind::Definition,
            notes: Vec::new(),
        });
        p.frames.push(Frame::new("add", "t.py", Some(1)));
        p.timings.push(FunctionTiming {
            frame: 0,
            cc: Some(9),
            nc: 9,
            tt: 1.5,
            ct: 1.5,
            callers: Vec::new(),
        });
        let ev = from_pstats(&p, &mut |f| (f == "t.py").then_some(0), &[Some(src)]);
        let weight = |l: u32| ev.lines.get(&(0, l)).map_or(0.0, |e| e.weight);
        // The statement's first line, the line that grows the string, its closing line; not the blank line.
        for l in [2, 3, 6, 7] {
            assert_eq!(weight(l), 1.5, "line {l}");
        }
        assert_eq!(weight(5), 0.0);
        assert_eq!(weight(1), 0.0);
    }

    #[test]
    fn line_profiler_lines_keep_their_own_time_and_get_their_callers() {
        let code = "def inner(x):\n    return sum(range(x))\ndef outer(xs):\n    for x in xs:\n        inner(x)\n";
        let src = SourceFile::from_text(std::path::Path::new("t.py"), code.into()).unwrap();
        let mut ev = Evidence::default();
        for (l, w) in [(2, 9.0), (4, 1.0), (5, 10.0)] {
            ev.lines.entry((0, l)).or_default().weight = w;
        }
        line_profile_calls(&mut ev, &[Some(src)], true);
        // The call line keeps 1 of its 10 (inner's lines hold the other 9); inner is called from line 5.
        assert_eq!(ev.lines[&(0, 5)].weight, 1.0);
        assert_eq!(ev.lines[&(0, 2)].callers, vec![(0, 5)]);
        assert!(ev.lines[&(0, 5)].callers.is_empty());
        assert_eq!(ev.total, 11.0);
    }

    #[test]
    fn line_profiler_lines_under_a_pools_function_ran_on_threads() {
        let code = "from concurrent.futures import ThreadPoolExecutor\ndef dist(a):\n    return sum(range(a))\ndef work(group):\n    return [dist(a) for a in group]\ndef run(groups):\n    with ThreadPoolExecutor(4) as pool:\n        return list(pool.map(work, groups))\n";
        let src = SourceFile::from_text(std::path::Path::new("t.py"), code.into()).unwrap();
        let mut ev = Evidence::default();
        for (l, w) in [(3, 9.0), (5, 10.0), (8, 10.5)] {
            ev.lines.entry((0, l)).or_default().weight = w;
        }
        line_profile_calls(&mut ev, &[Some(src)], true);
        // `dist` runs under `work`, the pool's function; `run` waits on the main thread.
        assert_eq!(ev.lines[&(0, 3)].threaded, 9.0);
        assert_eq!(ev.lines[&(0, 5)].threaded, 1.0);
        assert_eq!(ev.lines[&(0, 8)].threaded, 0.0);
        assert_eq!(ev.thread_entries.get(&(0, 5)), Some(&10.0));
    }
}

/// Memory one line of the program accounts for (Scalene, memray).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MemoryLine {
    /// Bytes: held at the peak (Scalene's line peak, memray's CSV of the allocations live at the high-water
    /// mark), or allocated over the run (memray stats, which has no peak per site).
    pub bytes: f64,
    /// `bytes` as a share (0-1) of the run's peak, or of all bytes allocated.
    pub share: f64,
    /// `bytes` are held at the peak, not merely allocated over the run.
    pub at_peak: bool,
}

/// What a memory profile says about the program's lines.
#[derive(Debug, Clone, Default)]
pub struct MemoryEvidence {
    pub tool: String,
    pub lines: BTreeMap<Loc, MemoryLine>,
    /// The call sites above each line (memray's CSV has stacks), nearest first.
    pub callers: BTreeMap<Loc, Vec<Loc>>,
}

/// The memory side of a profile, in the program's lines: `None` when the profile measured no memory.
pub fn memory(
    profile: &Profile,
    resolve: &mut dyn FnMut(&str) -> Option<usize>,
) -> Option<MemoryEvidence> {
    let m = profile.memory.as_ref()?;
    let mut out = MemoryEvidence {
        tool: profile.meta.tool.clone(),
        ..MemoryEvidence::default()
    };
    if profile.meta.unit == crate::profile::Unit::Bytes && !profile.stacks.is_empty() {
        // Stacks weighted in bytes (memray's CSV): the deepest program frame holds the allocation.
        let ev = from_stacks(profile, resolve);
        for (loc, le) in ev.lines {
            out.lines.insert(
                loc,
                MemoryLine {
                    bytes: le.weight,
                    share: if ev.total > 0.0 {
                        le.weight / ev.total
                    } else {
                        0.0
                    },
                    at_peak: true,
                },
            );
            out.callers.insert(loc, le.callers);
        }
        return Some(out);
    }
    let peaks: f64 = m.lines.iter().filter_map(|l| l.peak_bytes).sum();
    let allocated: f64 = m
        .allocated_bytes
        .unwrap_or_else(|| m.lines.iter().filter_map(|l| l.allocated_bytes).sum());
    for l in &m.lines {
        let f = &profile.frames[l.frame as usize];
        let (Some(line), Some(file)) = (f.line, resolve(&f.file)) else {
            continue;
        };
        let row = match (l.peak_bytes, l.allocated_bytes) {
            (Some(p), _) if p > 0.0 => MemoryLine {
                bytes: p,
                share: (p / m.peak_bytes.unwrap_or(peaks).max(p)).min(1.0),
                at_peak: true,
            },
            (_, Some(a)) if a > 0.0 && allocated > 0.0 => MemoryLine {
                bytes: a,
                share: (a / allocated).min(1.0),
                at_peak: false,
            },
            _ => continue,
        };
        // A site listed twice (by size and by count) keeps its larger figure.
        let e = out.lines.entry((file, line)).or_insert(row);
        if row.bytes > e.bytes {
            *e = row;
        }
    }
    Some(out)
}

/// Evidence from memory alone: each line weighs its share of the memory, its callers from the memory
/// profile's stacks.
pub fn from_memory(
    memory: &BTreeMap<Loc, MemoryLine>,
    callers: &BTreeMap<Loc, Vec<Loc>>,
) -> Evidence {
    let mut ev = Evidence {
        total: 1.0,
        ..Evidence::default()
    };
    for (loc, m) in memory {
        ev.user += m.share;
        ev.lines.insert(
            *loc,
            LineEvidence {
                weight: m.share,
                callers: callers.get(loc).cloned().unwrap_or_default(),
                ..LineEvidence::default()
            },
        );
    }
    ev
}

/// Adds to `ev` what `other` (another profile of the same run) knows and `ev` does not: exact call counts of
/// functions and library calls (cProfile), call chains, the main thread's waits.
pub fn enrich(ev: &mut Evidence, other: &Evidence) {
    for (k, n) in &other.calls {
        ev.calls.entry(*k).or_insert(*n);
    }
    if other.total > 0.0 {
        ev.waits = ev.waits.max(other.waits / other.total * ev.total);
    }
    for (loc, le) in ev.lines.iter_mut() {
        let Some(o) = other.lines.get(loc) else {
            continue;
        };
        for c in le.callees.iter_mut().filter(|c| c.calls.is_none()) {
            c.calls = o
                .callees
                .iter()
                .find(|x| x.name == c.name && x.calls.is_some())
                .and_then(|x| x.calls);
        }
        if le.callers.is_empty() {
            le.callers = o.callers.clone();
        }
    }
}
