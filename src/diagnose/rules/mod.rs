//! The rules: a table of small functions, one or more per bottleneck category (one module per category).
//!
//! A rule sees one hot line as a [`Site`]: the line's syntactic context, the library and builtin work the
//! profile found under it, the chain of call sites above it (the loop that repeats it may be in another
//! function), how often its function ran when the profile says so, and whether it ran on worker threads. It
//! answers with a [`Hit`] (a confidence, the evidence in words, and where the fix goes when that is not the hot
//! line) or nothing. Every rule has unit tests on short positive and near-miss snippets in its module.

mod common;
mod copies;
mod dataframe;
mod exceptions;
mod io;
mod joins;
mod membership;
mod numeric;
mod queues;
mod regex;
mod repeated;
mod sorting;
mod strings;
mod threads;

pub use common::{collection_kind, uses_ident};
pub use threads::{thread_target, threads_in_file};

use super::evidence::{Callee, Loc, MemoryLine};
use super::source::{LineContext, SourceFile};

macro_rules! categories {
    ($($variant:ident = $id:literal, $title:literal, $fix:literal, $sketch:literal;)*) => {
        /// A kind of bottleneck (see `exercises/drills/TAXONOMY.md`).
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
        pub enum Category {
            $(#[serde(rename = $id)] $variant,)*
        }

        impl Category {
            pub const ALL: &'static [Category] = &[$(Category::$variant),*];

            /// The id used in `answer.toml`, `--category` and JSON.
            pub fn id(self) -> &'static str {
                match self { $(Category::$variant => $id,)* }
            }

            pub fn title(self) -> &'static str {
                match self { $(Category::$variant => $title,)* }
            }

            /// The standard fix, in a sentence.
            pub fn fix(self) -> &'static str {
                match self { $(Category::$variant => $fix,)* }
            }

            /// A short code sketch of the fix.
            pub fn sketch(self) -> &'static str {
                match self { $(Category::$variant => $sketch,)* }
            }

            pub fn parse(id: &str) -> Option<Category> {
                Category::ALL.iter().copied().find(|c| c.id() == id.trim())
            }
        }
    };
}

categories! {
    NestedLoopJoin = "nested_loop_join", "quadratic nested loop (a join by scanning)",
        "Index one side in a dict once, then look each item of the other side up in O(1): a hash join.",
        "by_id = {c.id: c for c in customers}\nfor o in orders:\n    c = by_id.get(o.customer_id)";
    LinearMembership = "linear_membership", "linear membership test in a loop (`x in list`)",
        "Make the collection a set (or dict) once, outside the loop: membership becomes O(1).",
        "seen = set(items)\nfor x in stream:\n    if x in seen: ...";
    RepeatedComputation = "repeated_computation", "repeated computation that a cache or hoisting removes",
        "Compute it once: hoist loop-invariant work out of the loop, or memoise a pure function (functools.cache).",
        "@functools.cache\ndef cost(x): ...\n# or: rate = lookup(...)  # before the loop";
    QuadraticStringConcat = "quadratic_string_concat", "quadratic string building",
        "Collect the pieces in a list and join them once (or write to io.StringIO).",
        "parts = []\nfor row in rows:\n    parts.append(render(row))\ntext = \"\".join(parts)";
    RowwiseDataframe = "rowwise_dataframe", "row-wise DataFrame work (iterrows/apply)",
        "Use vectorised column operations (arithmetic on Series, np.where, groupby, merge) instead of Python per row.",
        "df[\"total\"] = df[\"price\"] * df[\"qty\"]\ndf[\"band\"] = np.where(df[\"total\"] > 100, \"high\", \"low\")";
    PythonNumericLoop = "python_numeric_loop", "pure-Python numeric loop",
        "Move the arithmetic into NumPy: whole-array operations run in C.",
        "a = np.asarray(values)\nresult = (a - a.mean()) / a.std()";
    ListAsQueue = "list_as_queue", "list used as a queue (pop(0)/insert(0))",
        "Use collections.deque: popleft()/appendleft() are O(1); list.pop(0) moves every element.",
        "from collections import deque\nq = deque(items)\nwhile q:\n    x = q.popleft()";
    RegexInLoop = "regex_in_loop", "regex or parser re-created in a loop",
        "Compile the pattern (or build the parser) once, outside the loop, and reuse it.",
        "PATTERN = re.compile(r\"...\")\nfor line in lines:\n    m = PATTERN.match(line)";
    SortInLoop = "sort_in_loop", "repeated sorting in a loop",
        "Sort once, or keep the data ordered incrementally (heapq, bisect.insort), or take the top k with heapq.nlargest.",
        "import heapq\ntop = heapq.nlargest(k, scores)\n# or bisect.insort(sorted_list, x)";
    WholeFileLoad = "whole_file_load", "whole-file load where streaming serves (memory bound)",
        "Stream: iterate the file line by line (or in chunks) and keep only running aggregates.",
        "with open(path) as f:\n    for line in f:\n        total += parse(line)";
    GilBoundThreads = "gil_bound_threads", "CPU-bound work on threads (the GIL serialises it)",
        "Use processes (ProcessPoolExecutor / multiprocessing) for CPU-bound Python, threads only for I/O.",
        "with ProcessPoolExecutor() as pool:\n    results = list(pool.map(work, chunks))";
    SequentialIo = "sequential_io", "sequential blocking I/O",
        "Make fewer round trips where the other side allows it (one query `WHERE id IN (...)` per chunk, a bulk endpoint), else overlap the waits: a ThreadPoolExecutor or asyncio.gather over the requests.",
        "with ThreadPoolExecutor(16) as pool:\n    bodies = list(pool.map(fetch, urls))";
    ExceptionsControlFlow = "exceptions_control_flow", "exception-driven control flow in a hot loop",
        "Test instead of raising: dict.get / `in` / str.isdigit(), so the common path raises nothing.",
        "v = table.get(key)\nif v is None: ...";
    DeepcopyInLoop = "deepcopy_in_loop", "object copying in a loop (deepcopy)",
        "Copy only what changes (a shallow copy or a new small dict), or do not copy at all.",
        "row = {**template, \"id\": i}   # shallow, only the changed keys";
}

/// A caller's call site: the file, its source and the line's context.
pub struct Caller<'a> {
    pub loc: Loc,
    pub src: &'a SourceFile,
    pub ctx: LineContext,
}

/// Everything a rule sees about one hot line.
pub struct Site<'a> {
    pub file: usize,
    pub src: &'a SourceFile,
    pub ctx: LineContext,
    /// Library and builtin work under the line, heaviest first.
    pub callees: Vec<Callee>,
    /// Call sites above the line, nearest first (frames of the line's own function left out).
    pub callers: Vec<Caller<'a>>,
    /// Exact calls of the line's function (pstats).
    pub calls: Option<i64>,
    /// Most of the line's time ran on worker threads.
    pub threaded: bool,
    /// Where worker threads enter the program (the user frame nearest a worker thread's root).
    pub thread_entry: Option<Loc>,
    /// Share (%) of the program's time that ran on worker threads.
    pub thread_share: f64,
    /// Share (%) of the program's time the main thread spent waiting on locks, joins and futures (pstats).
    pub wait_share: f64,
    /// The lines come from pstats (derived from functions), not from samples.
    pub derived: bool,
    /// The profiler made `s += piece` on a local string copy the string (tracing on CPython 3.11).
    pub traced_copies_strings: bool,
    /// The memory the line holds (Scalene, memray), when a memory profile covers it.
    pub memory: Option<MemoryLine>,
    /// A memory profile covers the line's file (so no figure means little memory).
    pub memory_known: bool,
}

/// A rule's verdict.
#[derive(Debug, Clone)]
pub struct Hit {
    pub confidence: f64,
    pub evidence: String,
    /// Where the finding belongs when not on the hot line itself (the caller's loop, a thread dispatch).
    pub at: Option<Loc>,
}

/// A rule: a name (`category.shape`), its category and its check.
pub struct Rule {
    pub id: &'static str,
    pub category: Category,
    pub check: fn(&Site) -> Option<Hit>,
}

/// Every rule. Several may match one line; the diagnosis ranks them by cost x confidence.
pub static RULES: &[Rule] = &[
    Rule {
        id: "nested_loop_join.loops",
        category: Category::NestedLoopJoin,
        check: joins::nested_loops,
    },
    Rule {
        id: "nested_loop_join.scan_helper",
        category: Category::NestedLoopJoin,
        check: joins::scan_helper,
    },
    Rule {
        id: "nested_loop_join.mask_lookup",
        category: Category::NestedLoopJoin,
        check: joins::mask_lookup,
    },
    Rule {
        id: "nested_loop_join.unindexed_query",
        category: Category::NestedLoopJoin,
        check: joins::unindexed_query,
    },
    Rule {
        id: "nested_loop_join.product_pairs",
        category: Category::NestedLoopJoin,
        check: joins::product_pairs,
    },
    Rule {
        id: "linear_membership.in_list",
        category: Category::LinearMembership,
        check: membership::in_list,
    },
    Rule {
        id: "repeated_computation.recursion",
        category: Category::RepeatedComputation,
        check: repeated::recursion,
    },
    Rule {
        id: "repeated_computation.cache_keyed_finer",
        category: Category::RepeatedComputation,
        check: repeated::cache_keyed_finer,
    },
    Rule {
        id: "repeated_computation.rebuilt_per_call",
        category: Category::RepeatedComputation,
        check: repeated::rebuilt_per_call,
    },
    Rule {
        id: "repeated_computation.aggregate_in_loop",
        category: Category::RepeatedComputation,
        check: repeated::aggregate_in_loop,
    },
    Rule {
        id: "repeated_computation.invariant_helper",
        category: Category::RepeatedComputation,
        check: repeated::invariant_helper,
    },
    Rule {
        id: "repeated_computation.aggregate_query",
        category: Category::RepeatedComputation,
        check: repeated::aggregate_query,
    },
    Rule {
        id: "repeated_computation.filtered_summary",
        category: Category::RepeatedComputation,
        check: repeated::filtered_summary,
    },
    Rule {
        id: "repeated_computation.invariant_call",
        category: Category::RepeatedComputation,
        check: repeated::invariant_call,
    },
    Rule {
        id: "repeated_computation.helper_recomputes",
        category: Category::RepeatedComputation,
        check: repeated::helper_recomputes,
    },
    Rule {
        id: "repeated_computation.keyed_entry",
        category: Category::RepeatedComputation,
        check: repeated::keyed_entry,
    },
    Rule {
        id: "quadratic_string_concat.augmented",
        category: Category::QuadraticStringConcat,
        check: strings::augmented,
    },
    Rule {
        id: "quadratic_string_concat.rebuilt",
        category: Category::QuadraticStringConcat,
        check: strings::rebuilt,
    },
    Rule {
        id: "quadratic_string_concat.threaded_through",
        category: Category::QuadraticStringConcat,
        check: strings::threaded_through,
    },
    Rule {
        id: "rowwise_dataframe.rows",
        category: Category::RowwiseDataframe,
        check: dataframe::rows,
    },
    Rule {
        id: "python_numeric_loop.loop",
        category: Category::PythonNumericLoop,
        check: numeric::element_loop,
    },
    Rule {
        id: "python_numeric_loop.scalar_helper",
        category: Category::PythonNumericLoop,
        check: numeric::scalar_helper,
    },
    Rule {
        id: "python_numeric_loop.stepwise",
        category: Category::PythonNumericLoop,
        check: numeric::stepwise,
    },
    Rule {
        id: "python_numeric_loop.vectorize",
        category: Category::PythonNumericLoop,
        check: numeric::vectorize,
    },
    Rule {
        id: "list_as_queue.front",
        category: Category::ListAsQueue,
        check: queues::front,
    },
    Rule {
        id: "regex_in_loop.compile",
        category: Category::RegexInLoop,
        check: regex::compile_in_loop,
    },
    Rule {
        id: "regex_in_loop.parser_object",
        category: Category::RegexInLoop,
        check: regex::parser_object,
    },
    Rule {
        id: "sort_in_loop.sort",
        category: Category::SortInLoop,
        check: sorting::sort_in_loop,
    },
    Rule {
        id: "sort_in_loop.sorting_helper",
        category: Category::SortInLoop,
        check: sorting::sorting_helper,
    },
    Rule {
        id: "whole_file_load.read_all",
        category: Category::WholeFileLoad,
        check: io::read_all,
    },
    Rule {
        id: "whole_file_load.materialise",
        category: Category::WholeFileLoad,
        check: io::materialise,
    },
    Rule {
        id: "gil_bound_threads.cpu_on_threads",
        category: Category::GilBoundThreads,
        check: threads::cpu_on_threads,
    },
    Rule {
        id: "gil_bound_threads.main_waits",
        category: Category::GilBoundThreads,
        check: threads::main_waits,
    },
    Rule {
        id: "sequential_io.blocking",
        category: Category::SequentialIo,
        check: io::blocking,
    },
    Rule {
        id: "sequential_io.serial_pool",
        category: Category::SequentialIo,
        check: io::serial_pool,
    },
    Rule {
        id: "sequential_io.per_item",
        category: Category::SequentialIo,
        check: io::per_item,
    },
    Rule {
        id: "sequential_io.single_worker",
        category: Category::SequentialIo,
        check: io::single_worker,
    },
    Rule {
        id: "sequential_io.reply_in_turn",
        category: Category::SequentialIo,
        check: io::reply_in_turn,
    },
    Rule {
        id: "sequential_io.thread_per_item",
        category: Category::SequentialIo,
        check: io::thread_per_item,
    },
    Rule {
        id: "sequential_io.awaited_in_turn",
        category: Category::SequentialIo,
        check: io::awaited_in_turn,
    },
    Rule {
        id: "exceptions_control_flow.try_in_loop",
        category: Category::ExceptionsControlFlow,
        check: exceptions::try_in_loop,
    },
    Rule {
        id: "exceptions_control_flow.raised_per_item",
        category: Category::ExceptionsControlFlow,
        check: exceptions::raised_per_item,
    },
    Rule {
        id: "exceptions_control_flow.handler_callee",
        category: Category::ExceptionsControlFlow,
        check: exceptions::handler_callee,
    },
    Rule {
        id: "deepcopy_in_loop.deepcopy",
        category: Category::DeepcopyInLoop,
        check: copies::deepcopy,
    },
];

/// Every rule that matches the site, with its category.
///
/// Repeated computation is the general case of several categories (a regex compiled, a parser built, a
/// structure deep-copied, a list sorted again per item): where a more specific category explains the same
/// line as well, it names the cause better, so the general finding steps back a little.
pub fn apply(site: &Site) -> Vec<(Category, &'static str, Hit)> {
    let mut hits: Vec<(Category, &'static str, Hit)> = RULES
        .iter()
        .filter_map(|r| (r.check)(site).map(|h| (r.category, r.id, h)))
        .collect();
    // A helper that gets the same arguments on every call makes the same lookup every time: a mask or scan
    // keyed on an argument that does not change per item is no per-item join, a row loop in it runs again
    // for nothing, and its arithmetic gives the same numbers again (a spline refitted from the same knots);
    // the repetition is the cause.
    let invariant = hits
        .iter()
        .find(|h| h.1 == "repeated_computation.invariant_helper")
        .map(|h| h.2.confidence);
    let looked_up = |c: Category| {
        invariant.is_some()
            && matches!(
                c,
                Category::NestedLoopJoin | Category::RowwiseDataframe | Category::PythonNumericLoop
            )
    };
    if let Some(c) = invariant {
        for h in hits.iter_mut().filter(|h| looked_up(h.0)) {
            h.2.confidence = h.2.confidence.min(c - 0.01);
        }
    }
    let specific = hits
        .iter()
        .filter(|h| h.0 != Category::RepeatedComputation && !looked_up(h.0))
        .map(|h| h.2.confidence)
        .fold(0.0, f64::max);
    for h in hits
        .iter_mut()
        .filter(|h| h.0 == Category::RepeatedComputation)
    {
        if specific >= 0.5 {
            h.2.confidence = (h.2.confidence * GENERAL_YIELDS).min(specific - 0.01);
        }
    }
    hits
}

/// The least share of the memory at the peak that confirms a whole-file load.
const MEMORY_CONFIRMS: f64 = 0.2;
/// Below this share of the memory at the peak, a whole-file load is doubtful.
const MEMORY_DOUBTS: f64 = 0.05;

/// Where a whole-file load at `place` is consumed: its function hands the data back (`return rows`) to a
/// caller that loops over it (`for row in ledger.tows():`, or `rows = load(p)` then `for r in rows:`); that
/// caller's loop (its header), which runs while the whole file is held.
pub fn consumer(site: &Site, place: Loc) -> Option<Loc> {
    // The function holding the place (the hot line's, or a caller's up the stack) and the callers above it.
    let (src, f, above) = match site.ctx.function.as_ref() {
        Some(f) if place.0 == site.file && (f.start..=f.end).contains(&place.1) => {
            (site.src, f, &site.callers[..])
        }
        _ => {
            // (The caller whose function holds the place: the place may be a later line of it.)
            let i = site.callers.iter().position(|c| {
                c.loc == place
                    || (c.loc.0 == place.0
                        && c.ctx
                            .function
                            .as_ref()
                            .is_some_and(|g| (g.start..=g.end).contains(&place.1)))
            })?;
            let c = &site.callers[i];
            (c.src, c.ctx.function.as_ref()?, &site.callers[i + 1..])
        }
    };
    // A loop of the same function over the name the place binds (`events = json.load(fh)`, then `for ev in
    // events:`).
    // The data passes through the names made from it (`parts.append(fh.read())`, `journal =
    // b"".join(parts)`, `lines = journal.decode().split("\n")`, then `for line in lines:`).
    let bound = src.line_text(place.1);
    let mut held: Vec<String> = Vec::new();
    if let Some((lhs, _)) = bound.trim_start().split_once(" = ") {
        if common::plain_name(lhs.trim()) {
            held.push(lhs.trim().to_string());
        }
    } else if let Some((recv, _)) = bound
        .trim_start()
        .split_once(".append(")
        .or_else(|| bound.trim_start().split_once(".extend("))
        .or_else(|| bound.trim_start().split_once(" += "))
    {
        // (Files' lines gathered into one list: `all_lines += fh.readlines()`, `rows.extend(reader)`.)
        if common::plain_name(recv.trim()) {
            held.push(recv.trim().to_string());
        }
    }
    if !held.is_empty() {
        for l in place.1 + 1..=f.end {
            let t = src.line_text(l);
            if let Some((lhs, rhs)) = t.trim_start().split_once(" = ") {
                let lhs = lhs.trim();
                // (Copies the size of the data: joined, decoded, split, sorted; not a summary of it.)
                let copy = [
                    ".join(",
                    ".decode(",
                    ".encode(",
                    ".split(",
                    ".splitlines(",
                    "sorted(",
                    "list(",
                    ".replace(",
                    ".strip(",
                    ".lower(",
                    ".upper(",
                ]
                .iter()
                .any(|m| rhs.contains(m));
                if common::plain_name(lhs)
                    && copy
                    && !held.iter().any(|h| h == lhs)
                    && held.iter().any(|h| common::uses_ident(rhs, h))
                {
                    held.push(lhs.to_string());
                }
            }
        }
        for name in &held {
            if let Some(l) = common::for_loop_over(src, name, place.1 + 1..=f.end) {
                return Some((place.0, l));
            }
        }
        // ... or a comprehension (or a `map`) over it: `recs = [parse(l) for l in lines]`, `sum(... for l in
        // lines)`.
        if let Some(l) = (place.1 + 1..=f.end).find(|&l| {
            let ctx = src.context(l);
            ctx.loops.iter().any(|lp| {
                lp.kind == "comprehension"
                    && lp.line == l
                    && held.iter().any(|h| common::uses_ident(&lp.iter, h))
            }) || ctx.call_texts.iter().any(|c| {
                c.strip_prefix("map(").is_some_and(|args| {
                    args.split_once(',')
                        .is_some_and(|(_, rest)| held.iter().any(|h| common::uses_ident(rest, h)))
                })
            })
        }) {
            return Some((place.0, l));
        }
        // ... or a function of the program it is handed to, looping over that parameter (`pool.screen(lines)`,
        // `def screen(self, records): for line in records:`).
        for l in place.1 + 1..=f.end {
            if let Some(at) = handed_to_loop(src, &src.line_text(l), &held) {
                return Some((place.0, at));
            }
        }
        // ... or a loop that cuts records out of it (`while True: start = data.find(BEGIN, pos)`, `for off in
        // range(0, len(data), SIZE): struct.unpack_from(FMT, data, off)`).
        if let Some(l) = (place.1 + 1..=f.end).find(|&l| {
            let t = src.line_text(l);
            let t = t.trim_start();
            (t.starts_with("while ") || t.starts_with("for "))
                && src.block(l).iter().any(|&b| {
                    let t = src.line_text(b);
                    held.iter().any(|h| common::uses_ident(&t, h))
                })
        }) {
            return Some((place.0, l));
        }
    }
    let hands_back = (f.start..=f.end).any(|l| {
        let t = src.line_text(l);
        let t = t.trim_start();
        t.starts_with("return ") || t.starts_with("yield ")
    });
    let c = above.first()?;
    let g = c.ctx.function.as_ref()?;
    if !hands_back || (c.loc.0 == place.0 && g.start == f.start) {
        return None;
    }
    let calls_f = |t: &str| t.contains(&format!("{}(", f.name));
    let loops_here = c
        .ctx
        .loops
        .iter()
        .any(|l| l.line == c.loc.1 && l.kind == "for" && calls_f(&l.iter));
    if loops_here {
        return Some(c.loc);
    }
    let (lhs, _) = c
        .ctx
        .text
        .split_once(" = ")
        .filter(|(lhs, rhs)| calls_f(rhs) && common::plain_name(lhs.trim()))?;
    common::for_loop_over(c.src, lhs.trim(), c.loc.1..=g.end).map(|l| (c.loc.0, l))
}

/// A call on the line that hands one of `held` to a function of the file as a whole argument, where that
/// function loops over the parameter it arrives as: the loop's header line.
fn handed_to_loop(src: &SourceFile, text: &str, held: &[String]) -> Option<u32> {
    for (open, _) in text.match_indices('(') {
        let callee = common::dotted_name_before(&text[..open]);
        let name = common::method(callee);
        if name.is_empty() {
            continue;
        }
        // The arguments: up to the bracket that closes this one, split at top-level commas.
        let args =
            common::split_top_commas(crate::diagnose::source::inside_brackets(&text[open + 1..]));
        let Some(pos) = args.iter().position(|a| held.iter().any(|h| a == h)) else {
            continue;
        };
        let method_call = callee.contains('.');
        let defs: Vec<_> = src.functions().iter().filter(|g| g.name == name).collect();
        if defs.len() != 1 {
            continue;
        }
        let g = defs[0];
        let params: Vec<&String> = g
            .params
            .iter()
            .filter(|p| !(method_call && g.class.is_some() && (*p == "self" || *p == "cls")))
            .collect();
        if let Some(p) = params.get(pos) {
            if let Some(l) = common::for_loop_over(src, p, g.start + 1..=g.end) {
                return Some(l);
            }
        }
    }
    None
}

/// A whole-file load kept on the object (`self.rows = list(csv.DictReader(fh))`): the lines of the file's
/// other functions that go over it (`for row in self.repo.rows:`, `sorted(self.repo.rows, ...)`), loop
/// headers first and then statements outside those loops. The file is held while they run.
pub fn attribute_passes(site: &Site, place: Loc) -> Vec<Loc> {
    let Some(f) = site.ctx.function.as_ref() else {
        return Vec::new();
    };
    if place.0 != site.file || !(f.start..=f.end).contains(&place.1) {
        return Vec::new();
    }
    let src = site.src;
    let text = src.line_text(place.1);
    let Some(rest) = text.trim_start().strip_prefix("self.") else {
        return Vec::new();
    };
    let attr: String = rest
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    if attr.is_empty() || !rest[attr.len()..].trim_start().starts_with("= ") {
        return Vec::new();
    }
    let dotted = format!(".{attr}");
    // `.rows` as a whole attribute (not `.rows_seen`), read rather than assigned, and not only measured
    // (`len(self.repo.rows)`).
    let reads = |t: &str| {
        t.match_indices(&dotted).any(|(i, m)| {
            let after = t[i + m.len()..].chars().next();
            let start = t[..i]
                .trim_end_matches(|c: char| c.is_alphanumeric() || c == '_' || c == '.')
                .len();
            !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                && !t[i + m.len()..].trim_start().starts_with("= ")
                && !t[..start].ends_with("len(")
        })
    };
    let outside = |l: u32| !(f.start..=f.end).contains(&l);
    let mut headers: Vec<u32> = Vec::new();
    for l in 1..=src.lines() {
        let t = src.line_text(l);
        if outside(l) && t.starts_with("for ") && t.contains(" in ") && reads(&t) {
            headers.push(l);
        }
    }
    let in_header_block = |l: u32| headers.iter().any(|&h| src.block(h).contains(&l));
    let mut out: Vec<Loc> = headers.iter().map(|&h| (place.0, h)).collect();
    for l in 1..=src.lines() {
        let t = src.line_text(l);
        if outside(l)
            && !t.starts_with("for ")
            && !t.starts_with("def ")
            && reads(&t)
            && !in_header_block(l)
        {
            out.push((place.0, l));
        }
    }
    out
}

/// Memory per line decides the memory-bound category where a memory profile was given: a line said to load a
/// whole file that holds much of the memory at the peak is one for sure; one that holds almost none is
/// doubtful (the file is small, or the read is not what grows). Other categories only say what they hold.
pub fn weigh_memory(site: &Site, category: Category, h: &mut Hit) {
    let m = site.memory;
    if category == Category::WholeFileLoad && site.memory_known {
        match m {
            Some(m) if m.share >= MEMORY_CONFIRMS => {
                h.confidence = h.confidence.max(if m.at_peak { 0.9 } else { 0.8 });
            }
            Some(m) if m.at_peak && m.share >= MEMORY_DOUBTS => {}
            _ => {
                h.confidence *= 0.6;
                h.evidence.push_str(&format!(
                    "; but the memory profile shows line {} holding little memory ({:.0}%)",
                    site.ctx.line,
                    100.0 * m.map_or(0.0, |m| m.share)
                ));
                return;
            }
        }
    }
    if let Some(m) = m.filter(|m| m.share >= MEMORY_CONFIRMS) {
        h.evidence.push_str(&format!(
            "; {} {:.0}% of the memory ({})",
            if m.at_peak {
                format!("at the peak, line {} holds", site.ctx.line)
            } else {
                format!("line {} allocates", site.ctx.line)
            },
            100.0 * m.share,
            crate::size::format_size(m.bytes as u64)
        ));
    }
}

/// How much a repeated-computation finding yields to a more specific one on the same line.
const GENERAL_YIELDS: f64 = 0.9;

#[cfg(test)]
pub(crate) mod testing {
    //! Sites built from snippets, for the rules' unit tests.
    use super::*;
    use std::path::Path;

    pub fn src(code: &str) -> SourceFile {
        SourceFile::from_text(Path::new("t.py"), code.to_string()).unwrap()
    }

    /// The site of `line`, with no profile evidence yet.
    pub fn site(src: &SourceFile, line: u32) -> Site<'_> {
        Site {
            file: 0,
            src,
            ctx: src.context(line),
            callees: Vec::new(),
            callers: Vec::new(),
            calls: None,
            threaded: false,
            thread_entry: None,
            thread_share: 0.0,
            wait_share: 0.0,
            derived: false,
            traced_copies_strings: false,
            memory: None,
            memory_known: false,
        }
    }

    impl<'a> Site<'a> {
        /// Adds same-file callers (nearest first).
        pub fn called_from(mut self, lines: &[u32]) -> Self {
            for &l in lines {
                self.callers.push(Caller {
                    loc: (0, l),
                    src: self.src,
                    ctx: self.src.context(l),
                });
            }
            self
        }

        pub fn with_callee(mut self, name: &str) -> Self {
            self.callees.push(Callee {
                name: name.into(),
                weight: 1.0,
                calls: None,
                direct: true,
            });
            self
        }

        /// A callee found below another library call (`direct: false`), of the given weight.
        pub fn with_direct_callee(mut self, name: &str, weight: f64) -> Self {
            self.callees.push(Callee {
                name: name.into(),
                weight,
                calls: None,
                direct: true,
            });
            self
        }

        pub fn with_inner_callee(mut self, name: &str, weight: f64) -> Self {
            self.callees.push(Callee {
                name: name.into(),
                weight,
                calls: None,
                direct: false,
            });
            self
        }

        pub fn calls(mut self, n: i64) -> Self {
            self.calls = Some(n);
            self
        }
    }
}
