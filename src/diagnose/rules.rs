//! One rule per bottleneck category. A rule looks at a hot line's syntactic context (and, where it helps, the
//! rest of the file) and says whether the line is an instance of its category, with the evidence.

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
        "Overlap the waits: a ThreadPoolExecutor or asyncio.gather over the requests.",
        "with ThreadPoolExecutor(16) as pool:\n    bodies = list(pool.map(fetch, urls))";
    ExceptionsControlFlow = "exceptions_control_flow", "exception-driven control flow in a hot loop",
        "Test instead of raising: dict.get / `in` / str.isdigit(), so the common path raises nothing.",
        "v = table.get(key)\nif v is None: ...";
    DeepcopyInLoop = "deepcopy_in_loop", "object copying in a loop (deepcopy)",
        "Copy only what changes (a shallow copy or a new small dict), or do not copy at all.",
        "row = {**template, \"id\": i}   # shallow, only the changed keys";
}

/// A rule's verdict on one line.
#[derive(Debug, Clone)]
pub struct Match {
    pub category: Category,
    /// Where the finding belongs when not on the hot line itself: (line, function) of a caller.
    pub at: Option<(u32, String)>,
    /// 0..1: how sure the rule is.
    pub confidence: f64,
    pub evidence: String,
}

fn m(category: Category, confidence: f64, evidence: String) -> Option<Match> {
    Some(Match {
        category,
        at: None,
        confidence,
        evidence,
    })
}

/// True when `text` uses the identifier `ident` (not as part of a longer name).
pub fn uses_ident(text: &str, ident: &str) -> bool {
    if ident.is_empty() {
        return false;
    }
    let is_id = |c: char| c.is_alphanumeric() || c == '_';
    text.match_indices(ident).any(|(i, _)| {
        let before = text[..i].chars().next_back();
        let after = text[i + ident.len()..].chars().next();
        !before.is_some_and(is_id) && !after.is_some_and(is_id) && before != Some('.')
    })
}

/// The last dotted component of a callee (`self.rows.pop` -> `pop`).
fn method(callee: &str) -> &str {
    callee.rsplit('.').next().unwrap_or(callee)
}

fn loops_text(ctx: &LineContext) -> String {
    ctx.loops
        .iter()
        .map(|l| match l.kind {
            "while" => format!("`while {}` (line {})", l.iter, l.line),
            _ => format!("`{}` (line {})", l.iter, l.line),
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// Names a collection is built from, judged from its bindings: "list", "set", "dict" or unknown.
fn collection_kind(src: &SourceFile, expr: &str) -> Option<&'static str> {
    let name = expr.trim();
    if name.starts_with('[') || name.starts_with("list(") {
        return Some("list");
    }
    if name.starts_with("set(")
        || name.starts_with("frozenset(")
        || (name.starts_with('{') && !name.contains(':'))
    {
        return Some("set");
    }
    if name.contains('(') {
        return None;
    }
    let mut kind = None;
    let mut bound = src.bindings(name);
    // `x = build(...)` with `build` defined here: look at what it returns.
    for b in bound.clone() {
        let callee = b.split('(').next().unwrap_or("").trim().to_string();
        if b.contains('(') && src.functions().iter().any(|f| f.name == callee) {
            bound.extend(src.returns_of(&callee));
        }
    }
    for b in bound {
        let b = b.trim();
        let k = if b.starts_with('[')
            || b.starts_with("list(")
            || b.starts_with("sorted(")
            || b.contains(".split(")
            || b.contains(".readlines(")
        {
            Some("list")
        } else if b.starts_with("set(")
            || b.starts_with("frozenset(")
            || (b.starts_with('{') && !b.contains(':') && b != "{}")
        {
            Some("set")
        } else if b.starts_with("dict(")
            || b.starts_with('{')
            || b.starts_with("defaultdict(")
            || b.starts_with("Counter(")
        {
            Some("dict")
        } else {
            None
        };
        if k.is_some() {
            kind = k;
        }
    }
    kind
}

const REGEX_CALLS: [&str; 9] = [
    "re.compile",
    "re.match",
    "re.search",
    "re.fullmatch",
    "re.findall",
    "re.finditer",
    "re.sub",
    "re.split",
    "re.subn",
];

/// Every rule, on one hot line. Several may match; the caller ranks them.
/// `repeated`: a caller up the stack runs this line's function in a loop. `threaded`: most of the line's samples
/// come from worker threads.
pub fn apply(src: &SourceFile, ctx: &LineContext, repeated: bool, threaded: bool) -> Vec<Match> {
    let mut out = Vec::new();
    let in_loop = !ctx.loops.is_empty();
    let text = ctx.text.as_str();
    let func = ctx
        .function
        .as_ref()
        .map_or("<module>", |f| f.name.as_str());

    // deepcopy
    if ctx
        .calls
        .iter()
        .any(|c| c == "copy.deepcopy" || c == "deepcopy")
    {
        out.extend(m(
            Category::DeepcopyInLoop,
            if in_loop { 0.95 } else { 0.7 },
            format!(
                "line {} deep-copies an object{}",
                ctx.line,
                if in_loop {
                    format!(" inside the loop over {}", loops_text(ctx))
                } else {
                    String::new()
                }
            ),
        ));
    }
    // list as queue
    if ctx.call_texts.iter().any(|c| {
        c.replace(' ', "").ends_with(".pop(0)") || c.replace(' ', "").contains(".insert(0,")
    }) {
        out.extend(m(
            Category::ListAsQueue,
            0.95,
            format!("line {} takes from / puts at the front of a list (`{}`): every call moves all the other elements", ctx.line, text),
        ));
    }
    // regex / parser re-created in a loop
    let regex: Vec<&String> = ctx
        .calls
        .iter()
        .filter(|c| REGEX_CALLS.contains(&c.as_str()))
        .collect();
    if !regex.is_empty() && (in_loop || repeated) {
        let compile = regex.iter().any(|c| c.as_str() == "re.compile");
        out.extend(m(
            Category::RegexInLoop,
            if compile { 0.9 } else { 0.8 },
            format!("line {} calls {} on every pass{}: the pattern is parsed (or looked up in re's small cache) each time", ctx.line, regex[0], if in_loop { format!(" of the loop over {}", loops_text(ctx)) } else { format!(" of `{func}`") }),
        ));
    }
    // A parser object built and used once per call: `csv.Sniffer().sniff(...)`, `json.JSONDecoder()`.
    let factories = [
        "Sniffer()",
        "JSONDecoder(",
        "XMLParser(",
        "HTMLParser(",
        "Template(",
        "re.compile(",
    ];
    if (in_loop || repeated)
        && ctx
            .call_texts
            .iter()
            .any(|c| factories.iter().any(|f| c.contains(f)) && !c.starts_with("re.compile"))
    {
        out.extend(m(
            Category::RegexInLoop,
            0.85,
            format!(
                "line {} builds a parser object on every call (`{}`) and throws it away",
                ctx.line, ctx.text
            ),
        ));
    }
    // sorting in a loop
    let sorts: Vec<&String> = ctx
        .calls
        .iter()
        .filter(|c| {
            c.as_str() == "sorted"
                || method(c) == "sort"
                || c.as_str() == "heapq.nlargest"
                || c.as_str() == "heapq.nsmallest"
        })
        .collect();
    // `for b in sorted(groups)` sorts once: a loop whose iterable holds the sort does not repeat it.
    let sort_loops = ctx
        .loops
        .iter()
        .filter(|l| {
            !(l.line == ctx.line && (l.iter.contains("sorted(") || l.iter.contains(".sort(")))
        })
        .count();
    let in_loop_sort = sort_loops > 0;
    if !sorts.is_empty() && in_loop_sort {
        out.extend(m(
            Category::SortInLoop,
            0.9,
            format!(
                "line {} sorts (`{}`) on every pass of the loop over {}",
                ctx.line,
                sorts[0],
                loops_text(ctx)
            ),
        ));
    }
    // quadratic string building
    for (target, op, value) in &ctx.augmented {
        if op == "+=" {
            let bound = src.bindings(target);
            let stringy = bound.iter().any(|b| {
                b.starts_with('"')
                    || b.starts_with('\'')
                    || b.starts_with("str(")
                    || b.starts_with("f\"")
                    || b.starts_with("b\"")
                    || b.starts_with("b'")
                    || b == "''"
                    || b == "\"\""
            }) || value.contains(".encode(")
                || value.starts_with('"')
                || value.starts_with("f\"")
                || value.starts_with("f'")
                || value.starts_with('\'')
                || value.contains("str(")
                || value.contains(".join(")
                || value.contains("+ \"")
                || value.contains("\\n");
            if stringy && in_loop {
                out.extend(m(
                    Category::QuadraticStringConcat,
                    0.85,
                    format!("line {} appends to the string `{target}` with += inside the loop over {}: each += copies the whole string so far", ctx.line, loops_text(ctx)),
                ));
            }
        }
    }
    for (target, value) in &ctx.assignments {
        if in_loop
            && value.replace(' ', "").starts_with(&format!("{target}+"))
            && !target.contains('[')
        {
            let bound = src.bindings(target);
            if bound
                .iter()
                .any(|b| b.starts_with('"') || b.starts_with('\''))
            {
                out.extend(m(Category::QuadraticStringConcat, 0.85, format!("line {} rebuilds the string `{target}` as `{target} + ...` inside the loop over {}", ctx.line, loops_text(ctx))));
            }
        }
    }
    // row-wise DataFrame work
    let rowwise = ["iterrows", "itertuples", "apply", "applymap", "map"];
    let df_loop = ctx.loops.iter().any(|l| {
        l.iter.contains(".iterrows()")
            || l.iter.contains(".itertuples()")
            || l.iter.contains(".index")
            || l.iter.contains("range(len(df")
    });
    let df_call = ctx.calls.iter().any(|c| {
        (rowwise.contains(&method(c)) && src.mentions("pandas"))
            && (method(c) != "map" || c.contains("df"))
    }) || ctx.call_texts.iter().any(|c| c.contains("axis=1"));
    let df_index = text.contains(".loc[")
        || text.contains(".at[")
        || text.contains(".iloc[")
        || text.contains(".iat[");
    if src.mentions("pandas") && (df_loop || df_call || (in_loop && df_index)) {
        out.extend(m(
            Category::RowwiseDataframe,
            if df_loop || ctx.call_texts.iter().any(|c| c.contains("axis=1")) { 0.9 } else { 0.75 },
            format!("line {} works on a DataFrame one row at a time ({}): every row goes through Python and pandas' per-row overhead", ctx.line, if df_loop { format!("loop over {}", loops_text(ctx)) } else { format!("`{text}`") }),
        ));
    }
    // exceptions as control flow
    if (in_loop || repeated) && (!ctx.try_handlers.is_empty() || ctx.is_except_or_raise) {
        out.extend(m(
            Category::ExceptionsControlFlow,
            if ctx.is_except_or_raise { 0.85 } else { 0.6 },
            format!("line {} runs inside a try/except ({}) on every pass of the loop over {}: raising and catching costs far more than a test", ctx.line, if ctx.try_handlers.is_empty() { "the handler itself".to_string() } else { ctx.try_handlers.join(", ") }, if in_loop { loops_text(ctx) } else { "its caller".to_string() }),
        ));
    }
    // membership tests against lists
    for rhs in &ctx.membership {
        let kind = collection_kind(src, rhs);
        if kind == Some("set") || kind == Some("dict") || rhs.contains("range(") {
            continue;
        }
        let (conf, what) = match kind {
            Some("list") => (0.9, "a list"),
            _ if rhs.ends_with(".values()") => (0.8, "a dict's values (a list scan)"),
            _ if rhs.contains('"') || rhs.contains('\'') => continue,
            _ => (0.55, "a collection that is not a set"),
        };
        if in_loop || ctx.loops.is_empty() {
            out.extend(m(
                Category::LinearMembership,
                if in_loop { conf } else { conf * 0.8 },
                format!(
                    "line {} tests `in {rhs}`, {what}: each test scans it{}",
                    ctx.line,
                    if in_loop {
                        format!(", inside the loop over {}", loops_text(ctx))
                    } else {
                        String::new()
                    }
                ),
            ));
        }
    }
    // nested loop join
    let collection_loops: Vec<_> = ctx
        .loops
        .iter()
        .filter(|l| {
            l.kind != "while" && !l.iter.starts_with("range(") || l.iter.starts_with("range(len(")
        })
        .collect();
    if collection_loops.len() >= 2 {
        let inner = collection_loops[collection_loops.len() - 1];
        let outer = collection_loops[collection_loops.len() - 2];
        let compares_both = ctx.equalities.iter().any(|(a, b)| {
            let uses = |s: &str, t: &str| {
                t.split([',', ' ', '(', ')'])
                    .filter(|v| !v.is_empty())
                    .any(|v| s.contains(v))
            };
            (uses(a, &inner.target) && uses(b, &outer.target))
                || (uses(b, &inner.target) && uses(a, &outer.target))
        });
        let numeric = ctx.loops.iter().all(|l| l.iter.starts_with("range("));
        // An inner loop over something made from the outer item (tokens of a text) is not a join.
        let derived = outer
            .target
            .split([',', ' ', '(', ')'])
            .filter(|v| !v.is_empty())
            .any(|v| uses_ident(&inner.iter, v))
            || src.bindings(inner.iter.trim()).iter().any(|b| {
                outer
                    .target
                    .split([',', ' ', '(', ')'])
                    .filter(|v| !v.is_empty())
                    .any(|v| uses_ident(b, v))
            });
        if !numeric {
            out.extend(m(
                Category::NestedLoopJoin,
                if compares_both {
                    0.95
                } else if derived {
                    0.25
                } else {
                    0.45
                },
                format!(
                    "line {} is inside loops over {} and {}{}: O(n*m) work",
                    ctx.line,
                    format_args!("`{}` (line {})", outer.iter, outer.line),
                    format_args!("`{}` (line {})", inner.iter, inner.line),
                    if compares_both {
                        "; it compares a key of one with a key of the other: a join by scanning"
                    } else {
                        ""
                    }
                ),
            ));
        }
    }
    // repeated computation: recursion without a cache, or a loop-invariant call
    if let Some(f) = &ctx.function {
        let recursive = ctx.calls.iter().any(|c| {
            !c.starts_with("super(") && (c == &f.name || c == &format!("self.{}", f.name))
        });
        let cached = f
            .decorators
            .iter()
            .any(|d| d.contains("cache") || d.contains("memo"));
        if recursive && !cached {
            out.extend(m(
                Category::RepeatedComputation,
                0.85,
                format!("line {} calls `{}` recursively without a cache: the same sub-results are computed again and again", ctx.line, f.name),
            ));
        }
    }
    if in_loop {
        // Names that change from pass to pass: loop variables and anything bound in a loop body.
        let vars: Vec<&str> = ctx
            .loops
            .iter()
            .flat_map(|l| {
                l.target
                    .split([',', ' ', '(', ')'])
                    .chain(l.assigned.iter().map(|a| a.as_str()))
            })
            .filter(|v| !v.is_empty())
            .collect();
        for call in &ctx.call_texts {
            let callee = call.split('(').next().unwrap_or("");
            let args = &call[callee.len()..];
            let cheap = [
                "len",
                "int",
                "str",
                "float",
                "print",
                "append",
                "get",
                "range",
                "isinstance",
                "abs",
                "min",
                "max",
                "round",
                "add",
                "items",
                "values",
                "keys",
                "format",
                "strip",
                "split",
                "lower",
                "upper",
                "join",
            ];
            if cheap.contains(&method(callee)) || callee.is_empty() || args.len() < 3 {
                continue;
            }
            let root = callee.split('.').next().unwrap_or("");
            let known = src.functions().iter().any(|f| f.name == callee)
                || (callee.contains('.')
                    && (src.mentions(&format!("import {root}"))
                        || src.mentions(&format!("import {root},"))));
            let invariant =
                known && !vars.iter().any(|v| uses_ident(call, v)) && !callee.contains('[');
            if invariant
                && !REGEX_CALLS.contains(&callee)
                && callee != "copy.deepcopy"
                && callee != "deepcopy"
                && callee != "sorted"
            {
                out.extend(m(
                    Category::RepeatedComputation,
                    0.8,
                    format!("line {} calls `{}` with the same arguments on every pass of the loop over {}: hoist it out of the loop", ctx.line, call.chars().take(60).collect::<String>(), loops_text(ctx)),
                ));
            }
        }
    }
    // pure-Python numeric loops
    let numeric_loop = ctx.loops.iter().any(|l| l.iter.starts_with("range("))
        || ctx
            .loops
            .iter()
            .any(|l| l.target.contains(',') && l.iter.contains("zip("));
    let arithmetic = ctx
        .augmented
        .iter()
        .any(|(_, op, _)| matches!(op.as_str(), "+=" | "-=" | "*=" | "/="))
        || ["math.", " * ", " ** ", " / ", " - "]
            .iter()
            .any(|op| text.contains(op));
    let has_numpy = src.mentions("numpy");
    if numeric_loop && arithmetic && (has_numpy || text.contains('[')) {
        out.extend(m(
            Category::PythonNumericLoop,
            if has_numpy { 0.8 } else { 0.55 },
            format!(
                "line {} does arithmetic element by element in the Python loop over {}",
                ctx.line,
                loops_text(ctx)
            ),
        ));
    }
    // whole-file loads
    let loads = [
        "read",
        "readlines",
        "read_csv",
        "read_json",
        "load",
        "loads",
        "read_text",
        "read_bytes",
    ];
    if ctx
        .calls
        .iter()
        .any(|c| loads.contains(&method(c)) && (c.contains('.') || c == "list"))
        && !ctx.text.contains("chunksize")
    {
        let c = ctx
            .calls
            .iter()
            .find(|c| loads.contains(&method(c)))
            .cloned()
            .unwrap_or_default();
        out.extend(m(
            Category::WholeFileLoad,
            if c.ends_with("readlines") || c.ends_with("read") || c.ends_with("read_text") || c.ends_with("read_csv") { 0.75 } else { 0.5 },
            format!("line {} loads a whole file or dataset into memory (`{c}`): memory grows with the input", ctx.line),
        ));
    }
    if ctx.call_texts.iter().any(|c| {
        c.starts_with("list(") && (c.to_lowercase().contains("reader(") || c.contains("open("))
    }) {
        out.extend(m(
            Category::WholeFileLoad,
            0.75,
            format!("line {} materialises a whole file as a list", ctx.line),
        ));
    }
    // blocking I/O in sequence
    let io_call = is_blocking_io(ctx);
    if io_call && !threaded {
        out.extend(m(
            Category::SequentialIo,
            if in_loop { 0.85 } else { 0.6 },
            format!("line {} waits on blocking I/O (`{}`){}: the program sits idle, one request at a time", ctx.line, text, if in_loop { format!(" inside the loop over {}", loops_text(ctx)) } else { String::new() }),
        ));
    }
    out
}

/// File-level evidence: CPU-bound work running on threads (the GIL serialises it).
pub fn threads_in_file(src: &SourceFile) -> bool {
    src.mentions("ThreadPoolExecutor")
        || src.mentions("threading.Thread")
        || src.mentions("Thread(")
}

/// Where work is handed to threads (the fix goes there): a pool's `map`/`submit`, else a `Thread(` creation.
pub fn thread_dispatch(src: &SourceFile) -> Option<(u32, String)> {
    let lines: Vec<&str> = src.text.lines().collect();
    let find =
        |pred: &dyn Fn(&str) -> bool| lines.iter().position(|l| pred(l)).map(|i| i as u32 + 1);
    let pool = src.mentions("ThreadPoolExecutor");
    let at = if pool {
        find(&|l: &str| l.contains(".map(") || l.contains(".submit("))
            .or_else(|| find(&|l: &str| l.contains("ThreadPoolExecutor(")))
    } else {
        find(&|l: &str| l.contains("Thread(") && !l.trim_start().starts_with("class "))
    }?;
    let function = src
        .context(at)
        .function
        .map_or("<module>".to_string(), |f| f.name);
    Some((at, function))
}

/// True when the line waits on blocking I/O (network, sockets, sleeps).
pub fn is_blocking_io(ctx: &LineContext) -> bool {
    let io = [
        "urlopen",
        "recv",
        "sleep",
        "getresponse",
        "connect",
        "request",
        "get",
        "post",
        "read",
        "sendall",
    ];
    ctx.calls.iter().any(|c| {
        io.contains(&method(c))
            && (c.contains("urllib")
                || c.contains("requests")
                || c.contains("http")
                || c.contains("time.sleep")
                || c.contains("sock")
                || c.contains("conn")
                || c.contains("urlopen"))
    })
}

/// Arithmetic weight of a line: math-module calls and power / trig operators.
fn math_heavy(ctx: &LineContext) -> usize {
    ctx.calls
        .iter()
        .filter(|c| c.starts_with("math.") || c.starts_with("np.") || c.starts_with("cmath."))
        .count()
        + ctx.text.matches("**").count()
}

/// Rules that need the callers of the hot line (from the profile's stacks, nearest first): the hot code is
/// cheap per call, and the problem is that a loop up the stack calls it again and again.
pub fn apply_with_callers(
    _src: &SourceFile,
    ctx: &LineContext,
    callers: &[LineContext],
) -> Vec<Match> {
    let mut out = Vec::new();
    let Some(f) = &ctx.function else { return out };
    let Some(looping) = callers.iter().find(|c| !c.loops.is_empty()) else {
        return out;
    };
    let caller = &callers[0];
    let caller_fn = caller
        .function
        .as_ref()
        .map_or("<module>".to_string(), |f| f.name.clone());
    // A lookup by scanning: one pass over a parameter, comparing against another parameter, per call.
    let scans: Vec<_> = ctx
        .loops
        .iter()
        .filter(|l| l.kind != "while" && f.params.iter().any(|p| uses_ident(&l.iter, p)))
        .collect();
    if let Some(scan) = scans.first() {
        let vars: Vec<&str> = scan
            .target
            .split([',', ' ', '(', ')'])
            .filter(|v| !v.is_empty())
            .collect();
        let keyed = ctx.equalities.iter().any(|(a, b)| {
            let (ua, ub) = (
                vars.iter().any(|v| uses_ident(a, v)),
                vars.iter().any(|v| uses_ident(b, v)),
            );
            (ua && !ub && f.params.iter().any(|p| uses_ident(b, p)))
                || (ub && !ua && f.params.iter().any(|p| uses_ident(a, p)))
        });
        if keyed {
            out.push(Match {
                category: Category::NestedLoopJoin,
                at: None,
                confidence: 0.9,
                evidence: format!(
                    "`{}` scans `{}` for a matching key (line {}), and line {} calls it on every pass of the loop over {}: a join by scanning, O(n*m)",
                    f.name, scan.iter, ctx.line, looping.line, loops_text(looping)
                ),
            });
        }
    }
    // Numeric work per element, called from a loop.
    if math_heavy(ctx) >= 2 && ctx.loops.is_empty() {
        out.push(Match {
            category: Category::PythonNumericLoop,
            at: Some((caller.line, caller_fn.clone())),
            confidence: 0.85,
            evidence: format!(
                "`{}` does scalar math (line {}: `{}`) and is called once per element from the Python loop over {}: the arithmetic never leaves the interpreter",
                f.name, ctx.line, ctx.text, loops_text(looping)
            ),
        });
    }
    // A pure computation from constants, redone on every call.
    let cached = f
        .decorators
        .iter()
        .any(|d| d.contains("cache") || d.contains("memo"));
    // UPPER_CASE names that are not attributes (`re.IGNORECASE` is a flag, not a table).
    let from_constants = ctx
        .text
        .split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .any(|w| {
            w.len() > 2 && !w.contains('.') && w.chars().all(|c| c.is_ascii_uppercase() || c == '_')
        })
        && !ctx.calls.iter().any(|c| REGEX_CALLS.contains(&c.as_str()));
    let over_params = ctx
        .loops
        .iter()
        .any(|l| f.params.iter().any(|p| uses_ident(&l.iter, p)) && !l.iter.contains('['));
    if !cached && from_constants && !over_params && !callers.is_empty() {
        out.push(Match {
            category: Category::RepeatedComputation,
            at: Some((caller.line, caller_fn)),
            confidence: 0.75,
            evidence: format!(
                "`{}` rebuilds the same result from constant tables (line {}: `{}`) each time it is called, and it is called again and again from the loop over {}: cache it",
                f.name, ctx.line, ctx.text, loops_text(looping)
            ),
        });
    }
    // A sort of the whole collection, done once per call, called per event: the loop is the problem.
    let sorts = ctx
        .calls
        .iter()
        .any(|c| c.as_str() == "sorted" || method(c) == "sort");
    if sorts && ctx.loops.iter().all(|l| l.line == ctx.line) {
        out.push(Match {
            category: Category::SortInLoop,
            at: Some((looping.line, looping.function.as_ref().map_or("<module>".into(), |f| f.name.clone()))),
            confidence: 0.85,
            evidence: format!(
                "`{}` sorts everything (line {}: `{}`) and is called on every pass of the loop over {}: the whole collection is re-sorted per item",
                f.name, ctx.line, ctx.text, loops_text(looping)
            ),
        });
    }
    // An exception built (and raised) per item, caught by a caller's try: exception-driven control flow.
    let exception_class = ctx
        .class_bases
        .as_deref()
        .is_some_and(|b| b.contains("Error") || b.contains("Exception"));
    if exception_class || ctx.is_except_or_raise {
        if let Some(t) = callers.iter().find(|c| !c.try_handlers.is_empty()) {
            if !t.loops.is_empty() || callers.iter().any(|c| !c.loops.is_empty()) {
                out.push(Match {
                    category: Category::ExceptionsControlFlow,
                    at: Some((t.line, t.function.as_ref().map_or("<module>".into(), |f| f.name.clone()))),
                    confidence: 0.9,
                    evidence: format!(
                        "time goes into raising exceptions (line {}: `{}`), caught by `except {}` at line {} on every pass of the loop over {}",
                        ctx.line, ctx.text, t.try_handlers.join(", "), t.line, loops_text(looping)
                    ),
                });
            }
        }
    }
    // Blocking I/O reached from a loop over work items: the loop is where the waits line up.
    let io_call = is_blocking_io(ctx);
    if io_call {
        // A retry loop (`for attempt in range(retries)`) is not a loop over work items.
        let work = |l: &super::source::LoopInfo| {
            l.kind != "while"
                && !l.target.contains("attempt")
                && !l.target.contains("retr")
                && !l.iter.contains("retr")
        };
        if let Some(work_loop) = callers.iter().find(|c| c.loops.iter().any(work)) {
            out.push(Match {
                category: Category::SequentialIo,
                at: Some((work_loop.line, work_loop.function.as_ref().map_or("<module>".into(), |f| f.name.clone()))),
                confidence: 0.9,
                evidence: format!(
                    "the program waits on blocking I/O (line {}: `{}`) once per item of the loop over {}, one after another",
                    ctx.line, ctx.text, loops_text(work_loop)
                ),
            });
        }
    }
    out
}
