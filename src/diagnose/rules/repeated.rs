//! `repeated_computation`: the same pure result computed again and again.

use super::common::{
    dotted_name_before, hit, hit_at, loops_text, method, split_top_commas, targets, uses_ident,
    work_loop,
};
use super::{Caller, Hit, Site};
use crate::diagnose::source::{FunctionInfo, SourceFile};

use super::regex::REGEX_CALLS;

/// Calls whose result depends on the whole of their arguments: redone per item, they make a loop quadratic.
/// (Sorting belongs to `sort_in_loop`.)
const AGGREGATES: [&str; 53] = [
    // Fits and decompositions summarise a whole collection too (NumPy's, by their last name).
    "polyfit",
    "lstsq",
    "inv",
    "pinv",
    "solve",
    "svd",
    "cholesky",
    "eigh",
    "sum",
    "max",
    "min",
    "mean",
    "median",
    "stdev",
    "pstdev",
    "variance",
    "pvariance",
    "quantiles",
    "fmean",
    "Counter",
    "set",
    "frozenset",
    "dict",
    "percentile",
    "std",
    "var",
    "average",
    "any",
    // The statistics module's and NumPy's/SciPy's other summaries of a whole collection.
    "linear_regression",
    "correlation",
    "covariance",
    "fsum",
    "prod",
    "geometric_mean",
    "harmonic_mean",
    "mode",
    "multimode",
    "median_low",
    "median_high",
    "corrcoef",
    "cov",
    "linregress",
    "quantile",
    "nanmean",
    "nanstd",
    "nanmedian",
    "nanpercentile",
    // pandas' summaries of a whole frame.
    "pivot_table",
    "crosstab",
    "describe",
    "value_counts",
    "agg",
    "aggregate",
];

/// The rows the line selects from a frame (`ref = df[df["station"] == station]`) are only summarised further
/// on in the function (`ref["hs"].quantile(...)`, `ref.mean()`): the name holding them and the summary call.
pub(super) fn summarised_selection(s: &Site) -> Option<(String, String)> {
    let f = s.ctx.function.as_ref()?;
    let (lhs, rhs) = s.ctx.text.split_once(" = ")?;
    let name = lhs.trim();
    if !(super::common::plain_name(name) && rhs.contains("==") && rhs.contains('[')) {
        return None;
    }
    let mut summary = None;
    for l in s.ctx.line + 1..=f.end {
        let t = s.src.line_text(l);
        for (i, _) in t.match_indices(name) {
            let before = t[..i].chars().next_back();
            let rest = &t[i + name.len()..];
            if before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                || rest.starts_with(|c: char| c.is_alphanumeric() || c == '_')
            {
                continue;
            }
            // ... or handed whole to a summary (`statistics.median(rents)`, `np.percentile(ref, 90)`).
            if let Some(callee) = t[..i].strip_suffix('(') {
                let m = method(dotted_name_before(callee));
                if AGGREGATES.contains(&m) && (rest.starts_with(')') || rest.starts_with(',')) {
                    summary.get_or_insert(m.to_string());
                    continue;
                }
            }
            // `ref.mean()`, `ref["hs"].quantile(q)`, `ref[COLS].cov()`: a summary; anything else (a row read, a
            // loop over the rows, the rows handed on) uses the rows themselves.
            let rest = match rest.strip_prefix('[') {
                Some(r) => r.split_once(']').map_or("", |(_, after)| after),
                None => rest,
            };
            let m: String = rest
                .strip_prefix('.')
                .unwrap_or("")
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if AGGREGATES.contains(&m.as_str()) && rest[1 + m.len()..].starts_with('(') {
                summary.get_or_insert(m);
            } else {
                return None;
            }
        }
    }
    summary.map(|m| (name.to_string(), m))
}

/// A frame's rows matching the call's key, selected and summarised on every call (`df[df.station ==
/// station]["hs"].quantile(q)` per burst): the same few summaries recomputed; group the frame once.
pub fn filtered_summary(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    if cached(s) || !s.repeated() {
        return None;
    }
    let (name, summary) = summarised_selection(s)?;
    // The frame (or the list a comprehension filters) must be the same on every call: the object's data fixed
    // at `__init__`, a module-level table, or an argument the loop does not change.
    let rhs = s.ctx.text.split_once(" = ")?.1.trim();
    let frame: String = match s
        .ctx
        .loops
        .iter()
        .find(|l| l.kind == "comprehension" && l.line == s.ctx.line)
    {
        Some(l) if rhs.starts_with('[') || rhs.starts_with('(') => l.iter.trim().to_string(),
        _ => rhs
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .collect(),
    };
    let same = if let Some(attr) = frame.strip_prefix("self.") {
        super::common::plain_name(attr) && same_receiver(s, &f.name) && fixed_at_init(s.src, attr)
    } else if f.params.contains(&frame) {
        arg_invariant(&s.callers, 0, &f.name, &f.params, &frame) == Some(true)
    } else {
        let bound = s.src.binding_lines(&frame);
        super::common::plain_name(&frame)
            && !bound.is_empty()
            && bound
                .iter()
                .all(|(l, _)| s.src.enclosing_function(*l).is_none())
    };
    if !same {
        return None;
    }
    hit_at_caller(
        s,
        0.85,
        format!(
            "`{}` selects the rows of `{frame}` matching its key and summarises them (`{name}`, then `{summary}()`; line {}), {}: the same few summaries are recomputed; group the rows once and look the summary up",
            f.name,
            s.ctx.line,
            s.repetition_text()
        ),
    )
}

fn cached(s: &Site) -> bool {
    s.ctx.function.as_ref().is_some_and(|f| {
        f.decorators
            .iter()
            .any(|d| d.contains("cache") || d.contains("memo"))
    })
}

/// `text` with its string literals' contents left out (quotes kept).
fn without_strings(text: &str) -> String {
    let mut out = String::new();
    let mut quote: Option<char> = None;
    for c in text.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                out.push(c);
            }
            Some(_) => {}
            None => {
                if c == '"' || c == '\'' {
                    quote = Some(c);
                }
                out.push(c);
            }
        }
    }
    out
}

/// What a cached function may take from a parameter that makes a coarser key than the parameter itself: a
/// timestamp's day or hour, a text's normalised form, a prefix, a rounded number.
const COARSENINGS: [&str; 16] = [
    ".date()",
    ".year",
    ".month",
    ".day",
    ".hour",
    ".minute",
    ".weekday()",
    ".isoweekday()",
    ".isocalendar()",
    ".toordinal()",
    ".lower()",
    ".upper()",
    ".casefold()",
    ".strip()",
    "[:",
    ".timestamp()",
];

/// A memoised function whose cache is keyed on a parameter it only ever uses through a coarser projection
/// (`as_of.date()`, `name.lower()`, `code[:3]`): every distinct argument misses, so the cached body runs for
/// nearly every call and rebuilds results it already has under another key. The hot body itself (or pstats'
/// call count, which counts only the misses) is the evidence that it keeps running.
pub fn cache_keyed_finer(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    if !cached(s) || !(s.repeated() || s.calls.is_some_and(|n| n >= 50)) {
        return None;
    }
    let body: Vec<String> = (f.start + 1..=f.end)
        .map(|l| without_strings(&s.src.line_text(l)))
        .collect();
    for p in f
        .params
        .iter()
        .filter(|p| !matches!(p.as_str(), "self" | "cls"))
    {
        // Each use of the parameter: the coarser value it takes, or `None` for a use of the whole value.
        let uses: Vec<Option<String>> = body
            .iter()
            .flat_map(|text| {
                text.match_indices(p.as_str())
                    .filter(|(i, _)| {
                        let before = text[..*i].chars().next_back();
                        let after = text[i + p.len()..].chars().next();
                        !before.is_some_and(|c| c.is_alphanumeric() || c == '_' || c == '.')
                            && !after.is_some_and(|c| c.is_alphanumeric() || c == '_')
                    })
                    .map(|(i, _)| {
                        let after = &text[i + p.len()..];
                        if let Some(c) = COARSENINGS.iter().find(|c| after.starts_with(*c)) {
                            return Some(format!("{p}{c}"));
                        }
                        ["int(", "round(", "math.floor("]
                            .iter()
                            .find(|w| text[..i].ends_with(*w))
                            .map(|w| format!("{w}{p})"))
                    })
            })
            .collect();
        if let Some(Some(proj)) = uses.first().filter(|_| uses.iter().all(Option::is_some)) {
            return hit(
                0.8,
                format!(
                    "`{}` is cached on `{p}`, yet uses only `{proj}` of it: every distinct `{p}` misses the cache and \
                     rebuilds a result it already holds under another key ({}); key the cache on `{proj}` instead",
                    f.name,
                    match s.calls {
                        Some(n) => format!("the body ran {n} times"),
                        None => s.repetition_text(),
                    }
                ),
            );
        }
    }
    None
}

/// A function that calls itself without a cache, on computed arguments (overlapping sub-problems).
pub fn recursion(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    let recursive =
        s.ctx.calls.iter().any(|c| {
            !c.starts_with("super(") && (c == &f.name || c == &format!("self.{}", f.name))
        });
    if !recursive || cached(s) {
        return None;
    }
    // Sub-problems overlap when the arguments are computed (`n - 1`, `i + 1`, `s[1:]`); a walk that hands each
    // call a part of the structure (`walk(child, ...)`, `visit(node.left)`) visits every part once.
    let computed = s
        .ctx
        .call_texts
        .iter()
        .filter(|t| {
            t.split_once('(')
                .is_some_and(|(c, _)| c == f.name || c == format!("self.{}", f.name))
        })
        .any(|t| {
            let args = without_strings(t.split_once('(').map_or("", |x| x.1));
            ["-", "+", "//", ":", "*"].iter().any(|o| args.contains(o))
        });
    if !computed {
        return None;
    }
    hit(
        0.85,
        format!(
            "line {} calls `{}` recursively without a cache: the same sub-results are computed again and again",
            s.ctx.line, f.name
        ),
    )
}

/// Up the chain of calls from the hot line, a method called with no arguments on the object it belongs to
/// (`self.fields().get(path)`) that builds and returns a result from that object's state without changing it,
/// called again on every pass of a loop further up through calls on the same objects: the whole structure is
/// rebuilt to read one piece of it. The fix is at that call: build it once and keep it.
pub fn rebuilt_per_call(s: &Site) -> Option<Hit> {
    let mut callee: (&crate::diagnose::source::SourceFile, Option<&FunctionInfo>) =
        (s.src, s.ctx.function.as_ref());
    let mut found: Option<(&Caller, String)> = None;
    for c in &s.callers {
        let f = callee.1?;
        if c.loops_here()
            .any(|l| l.iter.contains(&format!("{}(", f.name)))
        {
            return None;
        }
        let looping = c.ctx.loops.iter().any(work_loop) || c.maps(&f.name);
        if let Some((at, name)) = &found {
            // The calls between it and the loop stay on the same objects (not `for it in items: it.lookup()`).
            let vars = loop_vars(&c.ctx.loops);
            if vars
                .iter()
                .any(|v| *v != "self" && c.ctx.text.contains(&format!("{v}.{}", f.name)))
            {
                return None;
            }
            if looping {
                let evidence = format!(
                    "line {} calls `{name}()`, which rebuilds its whole result from the same object's unchanged state, on every pass of the loop over {} (line {}): build it once and keep it",
                    at.ctx.line,
                    loops_text(&c.ctx),
                    c.ctx.line
                );
                return hit_at(0.7, evidence, at.loc);
            }
        } else if !looping
            && (c.ctx.text.contains(&format!("self.{}()", f.name)))
            && f.class.is_some()
            && builds_from_self(callee.0, f)
        {
            found = Some((c, format!("self.{}", f.name)));
        } else if looping {
            return None;
        }
        callee = (c.src, c.ctx.function.as_ref());
    }
    None
}

/// A method that returns something and assigns nothing on `self` (nor appends to, pops from... its attributes).
fn builds_from_self(src: &crate::diagnose::source::SourceFile, f: &FunctionInfo) -> bool {
    let mut returns = false;
    for l in f.start + 1..=f.end {
        let t = src.line_text(l);
        if t.starts_with("return ") {
            returns = true;
        }
        if t.starts_with("yield") || t.starts_with("global ") || t.starts_with("nonlocal ") {
            return false;
        }
        if let Some(rest) = t.strip_prefix("self.") {
            let changes = rest.find(['=', '(']).is_some_and(|i| {
                let (head, tail) = rest.split_at(i);
                (tail.starts_with('=') && !tail.starts_with("=="))
                    || head.ends_with(['+', '-', '*', '/', '|', '&'])
                    || (tail.starts_with('(')
                        && [
                            ".append",
                            ".pop",
                            ".extend",
                            ".insert",
                            ".update",
                            ".clear",
                            ".add",
                            ".remove",
                            ".setdefault",
                        ]
                        .iter()
                        .any(|m| head.ends_with(m)))
            });
            if changes {
                return false;
            }
        }
    }
    returns
}

/// Names that change from one pass of the line's loops to the next.
fn loop_vars(loops: &[crate::diagnose::source::LoopInfo]) -> Vec<&str> {
    loops
        .iter()
        .flat_map(|l| {
            targets(l)
                .into_iter()
                .chain(l.assigned.iter().map(|a| a.as_str()))
        })
        .collect()
}

/// Calls whose result differs from call to call whatever their arguments (randomness, clocks, input).
const IMPURE: [&str; 22] = [
    "random",
    "gauss",
    "expovariate",
    "normalvariate",
    "lognormvariate",
    "betavariate",
    "getrandbits",
    "choice",
    "choices",
    "randint",
    "randrange",
    "shuffle",
    "sample",
    "uniform",
    "time",
    "now",
    "uuid4",
    "read",
    "readline",
    "recv",
    "next",
    "pop",
];

/// Calls that change the collection they are given.
const MUTATORS: [&str; 7] = [
    "heappop",
    "heappush",
    "heapreplace",
    "heappushpop",
    "insort",
    "insort_left",
    "insort_right",
];

/// A call in a loop whose arguments do not change from pass to pass, to a function of this program or of an
/// imported module: hoist it.
pub fn invariant_call(s: &Site) -> Option<Hit> {
    // Also in a function that runs once per item: a call whose arguments are fixed for every call (the class,
    // constants, modules) gives the same result each time (`typing.get_type_hints(type(self))` per record).
    let helper = !s.in_loop() && s.repeated();
    if !s.in_loop() && !helper {
        return None;
    }
    let same_self = helper
        && s.ctx
            .function
            .as_ref()
            .is_some_and(|f| same_receiver(s, &f.name));
    // Names the function neither receives nor binds: a module-level object or a closure's variable, the same
    // on every call (`tally` in `tally.groupby(...)`, `fn` in a decorator's wrapper).
    let free = |w: &str| {
        s.ctx.function.as_ref().is_some_and(|f| {
            !f.params.iter().any(|p| p.trim_start_matches('*') == w)
                && w != "self"
                && !(f.start + 1..=f.end).any(|l| {
                    let c = s.src.context(l);
                    c.assignments.iter().any(|(t, _)| names_in(t).contains(&w))
                        || c.loops.iter().any(|lp| targets(lp).contains(&w))
                        || c.augmented.iter().any(|(t, _, _)| t == w)
                })
                && (s.src.mentions(&format!("\n{w} = "))
                    || s.src
                        .enclosing_function(f.start.saturating_sub(1))
                        .is_some_and(|g| {
                            g.start < f.start && g.end >= f.end && g.params.iter().any(|p| p == w)
                        }))
        })
    };
    let fixed_name = |w: &str| {
        matches!(w, "globals" | "locals" | "type")
            || (w == "self" && same_self)
            || (w.len() > 2 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            || s.src.mentions(&format!("import {w}"))
            || (helper && free(w))
    };
    // The variables a comprehension in `text` binds itself (`g` in `[g[0] for g in self.gaugings]`).
    let comprehension_vars = |text: &str| -> Vec<String> {
        text.match_indices(" for ")
            .filter_map(|(i, _)| text[i + 5..].split_once(" in "))
            .flat_map(|(t, _)| {
                t.split(',')
                    .map(|v| v.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .collect()
    };
    let fixed = |args: &str| {
        let a = args.replace("type(self)", "").replace("self.__class__", "");
        let own = comprehension_vars(&a);
        let names: Vec<&str> = names_in(&a)
            .into_iter()
            .filter(|w| !own.iter().any(|o| o == w))
            .collect();
        !names.is_empty()
            && names.iter().all(|w| {
                fixed_name(w)
                    // A local made only from fixed things (`salt = f"x:{self.tenant}".encode()`).
                    || (s.ctx.function.as_ref().is_some_and(|f| !f.params.iter().any(|p| p == w))
                        && {
                            let bound = s.src.bindings(w);
                            !bound.is_empty()
                                && bound.iter().all(|b| {
                                    let own = comprehension_vars(b);
                                    names_in(b)
                                        .iter()
                                        .all(|x| own.iter().any(|o| o == x) || fixed_name(x))
                                })
                        })
            })
    };
    let vars = loop_vars(&s.ctx.loops);
    const CHEAP: [&str; 24] = [
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
        "info",
    ];
    for call in &s.ctx.call_texts {
        let callee = call.split('(').next().unwrap_or("");
        let args = &call[callee.len()..];
        // A loop's own iterable is evaluated once per entry into that loop: only the loops around it repeat it.
        if let Some(i) = s
            .ctx
            .loops
            .iter()
            .position(|l| l.iter.contains(call.as_str()))
        {
            if i == 0 {
                continue;
            }
        }
        let root = callee.split('.').next().unwrap_or("");
        // A method of an object the helper gets from outside (`tally.groupby(...)`), called with no arguments.
        let on_fixed = helper && callee.contains('.') && root != "self" && fixed(root);
        if CHEAP.contains(&method(callee))
            || callee.is_empty()
            || (args.len() < 3 && !on_fixed)
            || callee.contains('[')
        {
            continue;
        }
        let known = s.src.functions().iter().any(|f| f.name == method(callee))
            || on_fixed
            || (callee.contains('.')
                && (s.src.mentions(&format!("import {root}"))
                    || s.src.mentions(&format!("import {root},"))));
        // A call that changes its argument (`heapq.heappop(heap)`), or on what a `while` loop's condition watches,
        // is different on every pass.
        let mutated = MUTATORS.contains(&method(callee))
            || s.ctx.loops.iter().any(|l| {
                l.kind == "while" && names_in(args).iter().any(|n| uses_ident(&l.iter, n))
            });
        // A draw or a read among the arguments (`fromordinal(start - int(rng.expovariate(...)))`) makes every
        // call different.
        let draws = s.ctx.call_texts.iter().any(|inner| {
            inner != call
                && args.contains(inner.as_str())
                && IMPURE.contains(&method(inner.split('(').next().unwrap_or("")))
        });
        let invariant = known
            && !mutated
            && !draws
            && !IMPURE.contains(&method(callee))
            && if helper {
                (args.len() < 3 || names_in(args).is_empty() || fixed(args))
                    && (!callee.contains('.')
                        || root == "self"
                        || fixed(root)
                        || s.src.mentions(&format!("import {root}")))
            } else {
                !vars.iter().any(|v| uses_ident(call, v))
            };
        // (Running a program is an action, whatever its arguments.)
        if invariant
            && !REGEX_CALLS.contains(&callee)
            && !super::io::runs_a_process(callee)
            && !matches!(
                method(callee),
                "deepcopy" | "sorted" | "sort" | "sleep" | "urlopen" | "request"
            )
        {
            return hit(
                if helper { 0.75 } else { 0.8 },
                format!(
                    "line {} calls `{}` with the same arguments {}: compute it once (hoist it, or cache it)",
                    s.ctx.line,
                    call.chars().take(60).collect::<String>(),
                    s.repetition_text()
                ),
            );
        }
    }
    None
}

/// One of `names` is changed in place in the body of the loop headed at `header` (`out.append(...)`,
/// `seen[k] = ...`, `total += ...`).
/// The attribute paths an expression reads (`lap.sectors` in `sum(lap.sectors)`), for the checks that look for a
/// collection changed in place (`lap.sectors.append(t)`).
fn paths_in(expr: &str) -> Vec<&str> {
    expr.split(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .map(|w| w.trim_matches('.'))
        .filter(|w| {
            w.contains('.')
                && w.chars()
                    .next()
                    .is_some_and(|c| c.is_alphabetic() || c == '_')
        })
        .collect()
}

/// A line of the block under `header` (a loop's, or a whole function's) changes one of `names` in place
/// (`out.append(x)`, `seen[k] = v`, `total += x`).
fn changed_in_loop(s: &Site, header: u32, names: &[&str]) -> bool {
    let body = s.src.block(header);
    names.iter().any(|w| {
        body.iter().any(|&l| {
            let t = s.src.line_text(l);
            [
                ".append(",
                ".extend(",
                ".insert(",
                ".add(",
                ".update(",
                ".pop(",
                ".remove(",
                ".appendleft(",
                "[",
                " +=",
            ]
            .iter()
            .any(|m| {
                t.starts_with(&format!("{w}{m}")) && (!m.starts_with('[') || t.contains("] ="))
            })
        })
    })
}

/// An aggregate of a whole collection (`sum(x.kg for x in rows)`, `max(prices)`, `statistics.mean(values)`)
/// computed on every pass of a loop that does not change the collection: the same result n times, O(n^2).
pub fn aggregate_in_loop(s: &Site) -> Option<Hit> {
    let outer: Vec<&crate::diagnose::source::LoopInfo> = s
        .ctx
        .loops
        .iter()
        .filter(|l| l.kind != "comprehension")
        .collect();
    if outer.is_empty() {
        return None;
    }
    let vars: Vec<&str> = outer
        .iter()
        .flat_map(|l| {
            targets(l)
                .into_iter()
                .chain(l.assigned.iter().map(|a| a.as_str()))
        })
        .collect();
    for call in &s.ctx.call_texts {
        let callee = call.split('(').next().unwrap_or("");
        if !AGGREGATES.contains(&method(callee))
            || matches!(method(callee), "set" | "frozenset" | "dict" | "any")
        {
            continue;
        }
        let args = call[callee.len()..].trim_start_matches('(');
        let args = args.strip_suffix(')').unwrap_or(args);
        // One collection (a name, an attribute, a generator over one), not `max(a, b)` of two values; options
        // given by keyword (`np.cov(bg, rowvar=False)`) are not values.
        let parts = split_top_commas(args);
        let keyword = |p: &str| {
            p.split_once('=').is_some_and(|(k, v)| {
                !v.starts_with('=') && k.trim().chars().all(|c| c.is_alphanumeric() || c == '_')
            })
        };
        let positional: Vec<&str> = parts
            .into_iter()
            .filter(|p| !p.is_empty() && !keyword(p))
            .collect();
        // A method of a collection (`background.mean(axis=0)`): the receiver is the data.
        let receiver = callee.rsplit_once('.').map_or("", |(r, _)| r);
        let module = receiver.is_empty()
            || !receiver
                .chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            || s.src.mentions(&format!("import {receiver}"))
            || s.src.mentions(&format!(" as {receiver}"));
        let data = if module {
            positional.join(", ")
        } else {
            std::iter::once(receiver)
                .chain(positional.iter().copied())
                .collect::<Vec<_>>()
                .join(", ")
        };
        if (positional.len() > 1 && !args.contains("key=")) || data.trim().is_empty() {
            continue;
        }
        let args = data.as_str();
        // The generator's own variables are its business; what it reads from outside must be fixed.
        let own: Vec<&str> = s
            .ctx
            .loops
            .iter()
            .filter(|l| l.kind == "comprehension" && args.contains(&format!("in {}", l.iter)))
            .flat_map(|l| targets(l))
            .collect();
        let reads: Vec<&str> = names_in(args)
            .into_iter()
            .filter(|w| !own.contains(w))
            .collect();
        if reads.is_empty() || reads.iter().any(|w| vars.contains(w)) {
            continue;
        }
        // Nor may the loop change the collection in place (`out.append(...)`, `seen[k] = ...`,
        // `lap.sectors.append(...)`).
        if changed_in_loop(s, outer[0].line, &reads)
            || changed_in_loop(s, outer[0].line, &paths_in(args))
        {
            continue;
        }
        let first = args.split(',').next().unwrap_or("").trim();
        if super::sorting::SORTING_STATISTICS.contains(&method(callee))
            && super::sorting::grows(s, first)
        {
            continue;
        }
        return hit(
            0.85,
            format!(
                "line {} computes `{}` over a whole collection on every pass of the loop over {}, which does not change it: compute it once before the loop",
                s.ctx.line,
                call.chars().take(60).collect::<String>(),
                outer
                    .iter()
                    .map(|l| format!("`{}` (line {})", l.iter, l.line))
                    .collect::<Vec<_>>()
                    .join(" and ")
            ),
        );
    }
    None
}

/// The argument a caller passes for parameter `param` of the called function, found at the call site.
fn argument_for(caller: &Caller, function: &str, params: &[String], param: &str) -> Option<String> {
    let call = caller.ctx.call_texts.iter().find_map(|c| {
        let callee = c.split('(').next().unwrap_or("");
        if method(callee) == function {
            return Some(c.clone());
        }
        // `partial(collation_key, locale=locale)`: the arguments bound by the partial, the function left out.
        if matches!(callee, "partial" | "functools.partial") {
            let rest = c.split_once('(')?.1;
            let (first, bound) = rest.split_once(',')?;
            if method(first.trim()) == function {
                return Some(format!("{function}({}", bound.trim_start()));
            }
        }
        None
    })?;
    let inner = call.split_once('(')?.1.strip_suffix(')')?;
    let mut args = Vec::new();
    let (mut depth, mut cur) = (0i32, String::new());
    for ch in inner.chars() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        if ch == ',' && depth == 0 {
            args.push(std::mem::take(&mut cur));
        } else {
            cur.push(ch);
        }
    }
    args.push(cur);
    let positional: Vec<&String> = params.iter().filter(|p| *p != "self").collect();
    for a in &args {
        if let Some((k, v)) = a.split_once('=') {
            if k.trim() == param && !v.starts_with('=') {
                return Some(v.trim().to_string());
            }
        }
    }
    let i = positional.iter().position(|p| *p == param)?;
    args.get(i)
        .map(|a| a.trim().to_string())
        .filter(|a| !a.is_empty() && !a.contains('='))
}

/// The names read or written by subscript in `text` (`samples` in `x = samples[i]`, `lap.apex` in
/// `lap.apex[k] = v`); not literals' or calls' results.
fn subscripted(text: &str) -> Vec<&str> {
    text.match_indices('[')
        .filter_map(|(i, _)| {
            let name = super::common::dotted_name_before(&text[..i]);
            (!name.is_empty()
                && !name.starts_with('.')
                && !name.chars().next().is_some_and(|c| c.is_ascii_digit()))
            .then_some(name)
        })
        .collect()
}

/// The argument passed for `param` at the nearest caller (past decorators' wrappers) is a field of a record
/// the caller was handed or loops over (`body["payer"]`, `t.region`): a key, whose values recur from item to item.
fn key_field(s: &Site, function: &str, params: &[String], param: &str) -> bool {
    let Some((c, arg)) = s
        .callers
        .iter()
        .find_map(|c| argument_for(c, function, params, param).map(|a| (c, a)))
    else {
        return false;
    };
    let arg = arg.trim();
    let root: &str = arg.split(['.', '[']).next().unwrap_or("").trim();
    let fields = &arg[root.len()..];
    // One or more fields: `.name` or `["literal"]`.
    let mut rest = fields;
    let mut any = false;
    while !rest.is_empty() {
        if let Some(r) = rest.strip_prefix('.') {
            let n = r
                .find(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                .unwrap_or(r.len());
            if n == 0 {
                return false;
            }
            rest = &r[n..];
        } else if let Some(r) = rest.strip_prefix("[\"").or_else(|| rest.strip_prefix("['")) {
            let Some(end) = r.find(['"', '\'']) else {
                return false;
            };
            let Some(r) = r[end + 1..].strip_prefix(']') else {
                return false;
            };
            rest = r;
        } else {
            return false;
        }
        any = true;
    }
    // The record is the caller's item: a loop's variable or something bound from the caller's parameters.
    let caller_fn = c.ctx.function.as_ref();
    let from_item = loop_vars(&c.ctx.loops).contains(&root)
        || caller_fn.is_some_and(|cf| {
            cf.params.iter().any(|p| p == root)
                || super::io::local_bindings(c.src, root, c.loc.1)
                    .iter()
                    .any(|(_, rhs)| cf.params.iter().any(|p| p != "self" && uses_ident(rhs, p)))
        });
    any && root != "self" && super::common::plain_name(root) && from_item
}

/// The argument passed for `param` is an item of a loop over a few fixed values (`for stat in CATEGORIES:
/// baseline(rows, stat)`): it varies between calls, but the same few values recur.
fn drawn_from_constants(s: &Site, function: &str, params: &[String], param: &str) -> bool {
    let Some(c) = s.callers.first() else {
        return false;
    };
    let Some(arg) = argument_for(c, function, params, param) else {
        return false;
    };
    c.ctx.loops.iter().any(|l| {
        targets(l).iter().any(|t| uses_ident(&arg, t)) && {
            // A literal, a literal range, or a constant's name (its items, keys or values; maybe sorted). Not
            // any expression with a capitalised word in it: `RECORD.iter_unpack(data)` yields new records.
            let mut it = l.iter.trim();
            for w in ["sorted(", "list(", "tuple(", "enumerate("] {
                if let Some(inner) = it.strip_prefix(w).and_then(|r| r.strip_suffix(')')) {
                    it = inner.trim();
                }
            }
            for m in [".items()", ".keys()", ".values()"] {
                it = it.strip_suffix(m).unwrap_or(it);
            }
            let last = it.rsplit('.').next().unwrap_or(it);
            literal_range(it)
                || it.starts_with('[')
                || it.starts_with('(')
                || (it
                    .chars()
                    .all(|ch| ch.is_alphanumeric() || ch == '_' || ch == '.')
                    && last.len() > 2
                    && last
                        .chars()
                        .all(|ch| ch.is_ascii_uppercase() || ch.is_ascii_digit() || ch == '_'))
        }
    })
}

/// Whether the argument passed for `param` stays the same across the loop that repeats the call: followed up
/// the call chain through pass-through parameters (a few hops), until a caller whose loop makes the call.
fn arg_invariant(
    callers: &[Caller],
    i: usize,
    function: &str,
    params: &[String],
    param: &str,
) -> Option<bool> {
    if i >= 4 {
        return None;
    }
    let c = callers.get(i)?;
    let Some(arg) = argument_for(c, function, params, param) else {
        // A decorator's wrapper hands its arguments on as they came (`return fn(*args, **kwargs)`): the call
        // that decides is the one into the wrapper, a frame further up.
        let forwards = c
            .ctx
            .call_texts
            .iter()
            .any(|t| t.replace(' ', "").contains("(*args"));
        return if forwards {
            arg_invariant(callers, i + 1, function, params, param)
        } else {
            None
        };
    };
    // The loop that repeats the call is the innermost one around it: a comprehension on the line whose item the
    // call uses, else the innermost loop statement. Outer loops change the argument less often than the call
    // is repeated (`[f(x, ys) for x in ys]` inside `for group in groups`: ys is the same for every x).
    // Mapped over items (`sorted(xs, key=partial(f, locale=loc))`, `map(lambda m: f(m, loc), xs)`): each call
    // gets its own item, and the other arguments are fixed for the whole mapping (the mapping, not a loop around
    // it, repeats the call).
    if c.maps(function) {
        let lambda_params: Vec<&str> = c
            .ctx
            .text
            .match_indices("lambda")
            .filter_map(|(i, _)| c.ctx.text[i + 6..].split_once(':'))
            .flat_map(|(ps, _)| ps.split(',').map(|p| p.trim()))
            .collect();
        return Some(
            !lambda_params
                .iter()
                .any(|p| !p.is_empty() && uses_ident(&arg, p)),
        );
    }
    // (A call through `partial(...)` has no call text of its own: the line's loops decide.)
    let call = c
        .ctx
        .call_texts
        .iter()
        .find(|t| method(t.split('(').next().unwrap_or("")) == function)
        .map_or("", |t| t.as_str());
    let repeating = c
        .ctx
        .loops
        .iter()
        .rposition(|l| l.kind == "comprehension" && targets(l).iter().any(|v| uses_ident(call, v)))
        .or_else(|| c.ctx.loops.iter().rposition(|l| l.kind != "comprehension"))
        .or_else(|| c.ctx.loops.len().checked_sub(1));
    if let Some(r) = repeating {
        if loop_vars(&c.ctx.loops[r..r + 1])
            .iter()
            .any(|v| uses_ident(&arg, v))
        {
            return Some(false);
        }
    }
    if c.ctx.loops.iter().any(super::common::work_loop) {
        return Some(true);
    }
    let cf = c.ctx.function.as_ref()?;
    match cf
        .params
        .iter()
        .find(|p| *p != "self" && uses_ident(&arg, p))
    {
        Some(p2) => arg_invariant(callers, i + 1, &cf.name, &cf.params, p2),
        // The object's own data (`self.elev`): the same on every call when only `__init__` sets it and the
        // calls go to one object.
        None => {
            // (`self.settings.version`: a field of an object it keeps counts as that object.)
            let attr = arg
                .trim()
                .strip_prefix("self.")
                .map(|a| a.split('.').next().unwrap_or(a))
                .filter(|a| super::common::plain_name(a))?;
            // Otherwise it was made inside the calling function from something else: it may differ per call.
            (!changed_outside_init(c.src, attr) && same_receiver_at(callers.get(i + 1), &cf.name))
                .then_some(true)
        }
    }
}

/// The object's attribute `self.{attr}` is replaced, added to or mutated outside `__init__`.
fn changed_outside_init(src: &SourceFile, attr: &str) -> bool {
    let whole = format!("self.{attr}");
    (1..=src.lines()).any(|l| {
        let t = src.line_text(l);
        let in_init = src
            .enclosing_function(l)
            .is_some_and(|g| g.name == "__init__");
        !in_init
            && t.match_indices(&whole).any(|(j, m)| {
                let rest = &t[j + m.len()..];
                !rest.starts_with(|ch: char| ch.is_alphanumeric() || ch == '_')
                    && (rest.trim_start().starts_with("= ")
                        || rest.trim_start().starts_with("+=")
                        // (An entry stored, `self.t[k] = v`; not compared, `self.t["k"] == v`.)
                        || (rest.starts_with('[')
                            && rest.match_indices("] =").any(|(k, _)| !rest[k + 3..].starts_with('=')))
                        || [
                            ".append(", ".extend(", ".insert(", ".pop(", ".sort(", ".clear(",
                            ".update(",
                        ]
                        .iter()
                        .any(|mu| rest.starts_with(mu)))
            })
    })
}

/// The object's data that is fixed once it is built: set in `__init__` and changed nowhere else.
fn fixed_at_init(src: &SourceFile, attr: &str) -> bool {
    let set = format!("self.{attr} = ");
    (1..=src.lines()).any(|l| {
        src.line_text(l).starts_with(&set)
            && src
                .enclosing_function(l)
                .is_some_and(|g| g.name == "__init__")
    }) && !changed_outside_init(src, attr)
}

/// `self.x` is the same data on every call only when the calls go to the same object: not for
/// `for b in batteries: b.estimate()`.
fn same_receiver(s: &Site, function: &str) -> bool {
    same_receiver_at(s.callers.first(), function)
}

/// The calls to `function` on caller `c`'s line go to one object (not to each item of its loop).
fn same_receiver_at(c: Option<&Caller>, function: &str) -> bool {
    c.is_none_or(|c| {
        // `map(Record.fields, rows)` calls it on each row.
        if c.maps(function) {
            return false;
        }
        // Each `receiver.function(` or `receiver.function` (a property) on the caller's line.
        let text = &c.ctx.text;
        let at = format!(".{function}");
        let vars = loop_vars(&c.ctx.loops);
        text.match_indices(&at)
            .filter(|(i, _)| {
                !text[i + at.len()..]
                    .chars()
                    .next()
                    .is_some_and(|ch| ch.is_alphanumeric() || ch == '_')
            })
            .all(|(i, _)| {
                let receiver = dotted_name_before(&text[..i]);
                // (`self.flags[k] += 1` in the loop changes an attribute, not which object `self` is.)
                !vars.iter().any(|v| *v != "self" && uses_ident(receiver, v))
            })
    })
}

/// The variable names an expression reads: identifiers that are not attributes (`.x`), keyword argument names
/// (`start=1`) or string contents.
fn names_in(expr: &str) -> Vec<&str> {
    let bytes = expr.as_bytes();
    let mut out = Vec::new();
    // The open string's quote, and whether it is an f-string (its `{...}` parts are code).
    let (mut i, mut quote, mut fstring) = (0, None::<u8>, false);
    while i < bytes.len() {
        let c = bytes[i];
        if let Some(q) = quote {
            if c == q {
                quote = None;
            } else if fstring && c == b'{' {
                if bytes.get(i + 1) == Some(&b'{') {
                    i += 2;
                    continue;
                }
                let end = expr[i..].find('}').map_or(bytes.len(), |e| i + e);
                out.extend(names_in(&expr[i + 1..end]));
                i = end;
            }
            i += 1;
            continue;
        }
        if c == b'"' || c == b'\'' {
            quote = Some(c);
            fstring = false;
            i += 1;
            continue;
        }
        // A number, exponent and suffix included (`1e-9`, `0x1F`, `2j`): no name in it.
        if c.is_ascii_digit() {
            let hex = matches!(bytes.get(i + 1), Some(b'x' | b'X'));
            while i < bytes.len()
                && (bytes[i].is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || bytes[i] == b'.'
                    || (!hex
                        && matches!(bytes[i], b'+' | b'-')
                        && matches!(bytes[i - 1], b'e' | b'E')))
            {
                i += 1;
            }
            continue;
        }
        if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            let word = &expr[start..i];
            // A string prefix (`f"..."`, `rb'...'`) is not a name.
            if matches!(bytes.get(i), Some(b'"' | b'\''))
                && word.len() <= 2
                && word.chars().all(|c| "fFrRbBuU".contains(c))
            {
                fstring = word.contains(['f', 'F']);
                quote = Some(bytes[i]);
                i += 1;
                continue;
            }
            let attr = start > 0 && bytes[start - 1] == b'.';
            let rest = expr[i..].trim_start();
            let kwarg = rest.starts_with('=') && !rest.starts_with("==");
            if !attr && !kwarg {
                out.push(word);
            }
            continue;
        }
        i += 1;
    }
    out
}

/// Serialisers and digests: pure, and as costly as the data they walk.
const PURE_TRANSFORMS: [&str; 6] = [
    "json.dumps",
    "pickle.dumps",
    "marshal.dumps",
    "yaml.dump",
    "yaml.safe_dump",
    "orjson.dumps",
];

/// Conversions that leave an entry's values as they are (`np.asarray(temps)`).
const CONVERSIONS: [&str; 6] = [
    "np.asarray(",
    "np.array(",
    "numpy.asarray(",
    "numpy.array(",
    "list(",
    "tuple(",
];

/// The assignments of `name` in the function around `line`, before it (line, right-hand side), each narrowed to the
/// name's own element when several names are unpacked from a tuple (`a, b = x[k], y[k]` gives `y[k]` for `b`).
fn local_binding_lines(s: &Site, name: &str, line: u32) -> Vec<(u32, String)> {
    super::io::local_bindings(s.src, name, line)
        .into_iter()
        .filter(|(l, _)| *l < line)
        .map(|(l, rhs)| {
            let text = s.src.line_text(l);
            let lhs = text.split_once(" = ").map_or("", |x| x.0);
            let names: Vec<&str> = lhs.split(',').map(str::trim).collect();
            let parts = split_top_commas(&rhs);
            match names.iter().position(|n| *n == name) {
                Some(i) if names.len() > 1 && parts.len() == names.len() => {
                    (l, parts[i].to_string())
                }
                _ => (l, rhs),
            }
        })
        .collect()
}

/// The single table entry (`self.temps[b]`) a local name is bound to before `line`, if that is all it is.
fn entry_bound_to(s: &Site, name: &str, line: u32) -> Option<String> {
    let bound = local_binding_lines(s, name, line);
    match bound.as_slice() {
        [(_, b)] if b.ends_with(']') && b.contains('[') && !b.starts_with('[') => Some(b.clone()),
        _ => None,
    }
}

/// A function called once per item that serialises (or digests) an entry of a read-only table chosen by its
/// argument (`json.dumps(self.tables[table], sort_keys=True)`): the result depends on the key alone, the few
/// keys recur, and the same work is done again for each of them.
pub fn keyed_entry(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    if cached(s) || !s.repeated() {
        return None;
    }
    for call in &s.ctx.call_texts {
        let Some((callee, args)) = call.split_once('(') else {
            continue;
        };
        // (A serialisation, or a summary of the entry: `np.quantile(self.history[exchange], LEVELS)`.)
        if !PURE_TRANSFORMS.contains(&callee)
            && !AGGREGATES.contains(&method(callee))
            && !["quantile", "nanquantile", "nanpercentile"].contains(&method(callee))
        {
            continue;
        }
        // The first argument: `TABLE[key]`, a subscript of a table by one of the function's parameters, or a
        // local name bound to one (`temps, sals = self.temps[b], self.sals[b]`), looked at through a conversion
        // (`np.asarray(temps)`).
        let first = args
            .split(',')
            .next()
            .unwrap_or("")
            .trim()
            .trim_end_matches(')');
        let first = CONVERSIONS
            .iter()
            .find_map(|c| first.strip_prefix(c))
            .unwrap_or(first)
            .trim();
        let entry = if super::common::plain_name(first) {
            entry_bound_to(s, first, s.ctx.line)
        } else {
            Some(first.to_string())
        };
        let Some(entry) = entry else {
            continue;
        };
        let Some((table, key)) = entry.strip_suffix(']').and_then(|x| x.split_once('[')) else {
            continue;
        };
        let key = key.trim();
        // The key is a parameter, or a name the function derives from its parameters alone (`b =
        // self.bin_of(pressure)`): a table is indexed by few values, so the same entries recur.
        let derived_key = super::common::plain_name(key) && !f.params.iter().any(|p| p == key) && {
            let bound = local_binding_lines(s, key, s.ctx.line);
            !bound.is_empty()
                && bound.iter().all(|(_, b)| {
                    let names = names_in(b);
                    f.params
                        .iter()
                        .any(|p| p != "self" && names.iter().any(|n| n == p))
                        && names.iter().all(|n| {
                            f.params.iter().any(|p| p == n)
                                || n.chars().all(|c| {
                                    c.is_ascii_uppercase() || c == '_' || c.is_ascii_digit()
                                })
                                || [
                                    "int", "round", "min", "max", "str", "len", "abs", "math",
                                    "floor",
                                ]
                                .contains(n)
                                || b.contains(&format!(".{n}("))
                                || b.contains(&format!("{n}."))
                        })
                })
        };
        if !f.params.iter().any(|p| p == key && p != "self") && !derived_key {
            continue;
        }
        let table = table.trim();
        let name = table.strip_prefix("self.").unwrap_or(table);
        if !super::common::plain_name(name) {
            continue;
        }
        // Read-only: nothing stores into it, or replaces it, after it is built.
        let written = (1..=s.src.lines()).any(|l| {
            let t = s.src.line_text(l);
            let in_init = s
                .src
                .enclosing_function(l)
                .is_some_and(|g| g.name == "__init__");
            (t.contains(&format!("{table}[")) && t.contains("] =") && t.find(table) < t.find("] ="))
                // (Entries that grow: `self.history[ex].append(price)`.)
                || (t.contains(&format!("{table}["))
                    && ["].append(", "].extend(", "] +=", "].insert("]
                        .iter()
                        .any(|m| t.contains(m)))
                || [".update(", ".setdefault(", ".pop(", ".clear("]
                    .iter()
                    .any(|m| t.contains(&format!("{table}{m}")))
                || (!in_init && t.starts_with(&format!("{table} =")))
        });
        if written {
            continue;
        }
        return hit(
            0.7,
            format!(
                "`{}` computes `{callee}({first}, ...)` from a table entry chosen by `{key}`, {}: the result depends on `{key}` alone, so the same few results are computed again and again: cache them by key",
                f.name,
                s.repetition_text()
            ),
        );
    }
    None
}

/// A helper called once per item that recomputes an aggregate (a sum, a max, a sort, a statistic, a table)
/// of something that is the same on every call: an argument the caller's loop does not change, an attribute
/// or a module-level table.
pub fn helper_recomputes(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    if cached(s) || !s.repeated() {
        return None;
    }

    let own_vars = loop_vars(&s.ctx.loops);
    let same_self = same_receiver(s, &f.name);
    // The object's state that the method itself replaces (`self.T = new`, `self.age += dt`): a method that
    // steps a simulation or a process reads different data on every call.
    let state: Vec<String> = (f.start + 1..=f.end)
        .filter_map(|l| {
            let line = s.src.line_text(l);
            let attr = line.trim().strip_prefix("self.")?;
            let name: String = attr
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let rest = attr[name.len()..].trim_start();
            (!name.is_empty()
                && (rest.starts_with("= ") || rest.starts_with("+= ") || rest.starts_with("-= ")))
            .then_some(name)
        })
        .collect();
    // (The object's data, unless this method replaces it: `for e in self.embers: ...` then `self.embers =
    // still_aloft` steps a process.)
    let replaced = |expr: &str| state.iter().any(|a| uses_ident(expr, &format!("self.{a}")));
    let upper = |expr: &str| {
        (expr.contains("self.") && same_self && !replaced(expr))
            || expr
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|w| w.len() > 2 && w.chars().all(|c| c.is_ascii_uppercase() || c == '_'))
            // The members of an enumeration (`list(Unit)`, `for u in Unit`).
            || {
                let e = expr.trim();
                let inner = ["list(", "tuple(", "sorted(", "set("]
                    .iter()
                    .find_map(|w| e.strip_prefix(w).and_then(|r| r.strip_suffix(')')))
                    .unwrap_or(e);
                !inner.is_empty() && s.src.is_enum_class(inner)
            }
    };
    // Constant by its text, or through a local copy of a constant (`pattern = list(PATTERN)`).
    let constant = |expr: &str| {
        upper(expr)
            // A range of literal bounds (`range(0x20, 0x100)`).
            || literal_range(expr)
            || expr
                .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .filter(|w| !w.is_empty() && !f.params.iter().any(|p| p == w))
                .any(|w| {
                    let bound = s.src.bindings(w);
                    !bound.is_empty() && bound.iter().all(|b| upper(b))
                })
    };
    // What a local name stands for, a few hops back: `rows` -> `csv.reader(f)` -> `open(path)` (assignments and
    // `with ... as f`), so that a table built from a file named by a parameter is traced to that parameter.
    let expand = |expr: &str| -> String {
        let mut text = expr.to_string();
        let mut seen: Vec<String> = Vec::new();
        for _ in 0..3 {
            let words: Vec<String> = names_in(&text)
                .into_iter()
                .filter(|w| {
                    *w != "self" && !f.params.iter().any(|p| p == w) && !seen.iter().any(|x| x == w)
                })
                .map(String::from)
                .collect();
            for w in words {
                for b in s.src.bindings(&w) {
                    text.push(' ');
                    text.push_str(&b);
                }
                let alias = format!(" as {w}");
                for l in f.start..=f.end {
                    let line = s.src.line_text(l);
                    if let (Some(rest), Some(i)) = (line.strip_prefix("with "), line.find(&alias)) {
                        text.push(' ');
                        text.push_str(&rest[..i.saturating_sub(5).min(rest.len())]);
                    }
                }
                seen.push(w);
            }
        }
        text
    };
    let invariant_input = |expr: &str| -> bool {
        let expr = &expand(expr);
        // State this method replaces, read directly or through a local alias (`lap = self.lap`, then
        // `SECTORS_M[len(lap.sectors):]`), is another object on later calls.
        if replaced(expr) {
            return false;
        }
        // Parameters: what the callers pass must not change with the loop that repeats the call. (Names as
        // code reads them: not `"region"` in a string, nor a keyword `index=`.)
        let used = names_in(expr);
        let mut any_param = false;
        for p in f.params.iter().filter(|p| *p != "self") {
            if used.iter().any(|n| n == p) {
                any_param = true;
                if arg_invariant(&s.callers, 0, &f.name, &f.params, p) != Some(true) {
                    return false;
                }
            }
        }
        // A table of constants (keyed by the arguments): the same few results again and again.
        any_param || constant(expr)
    };
    // A table built from data outside the item, keyed by a field of the item (`schedule_for(body["payer"], v)`,
    // `calendar(t.region)`): fields like these are keys that recur from item to item, so the same tables are
    // built again and again (less sure than an argument that never changes).
    let keyed_input = |expr: &str| -> bool {
        // (A loop over the argument itself, `for x in items`, works through the item's own data.)
        let direct = names_in(expr);
        let expr = &expand(expr);
        if replaced(expr) || f.params.iter().any(|p| direct.contains(&p.as_str())) {
            return false;
        }
        let used = names_in(expr);
        let mut keyed = false;
        for p in f.params.iter().filter(|p| *p != "self") {
            if !used.iter().any(|n| n == p) {
                continue;
            }
            match arg_invariant(&s.callers, 0, &f.name, &f.params, p) {
                Some(true) => {}
                _ if key_field(s, &f.name, &f.params, p) => keyed = true,
                _ => return false,
            }
        }
        keyed
    };
    // Work over invariant data still differs per call when what it computes per element uses an argument that
    // varies (`sum(math.sin(w * t) for t in self.t)` with `w` from the argument).
    let uses_varying = |text: &str| {
        let text = expand(text);
        f.params.iter().filter(|p| *p != "self").any(|p| {
            uses_ident(&text, p)
                && arg_invariant(&s.callers, 0, &f.name, &f.params, p) != Some(true)
        })
    };
    // An aggregate over an invariant input.
    for call in &s.ctx.call_texts {
        let callee = call.split('(').next().unwrap_or("");
        if !AGGREGATES.contains(&method(callee)) {
            continue;
        }
        // A sorting statistic of a collection that grows between calls is a sort in a loop (`sort_in_loop`).
        let first = call[callee.len()..]
            .trim_start_matches('(')
            .split(',')
            .next()
            .unwrap_or("")
            .trim_end_matches(')');
        if super::sorting::SORTING_STATISTICS.contains(&method(callee))
            && super::sorting::grows(s, first)
        {
            continue;
        }
        // A method of a frame or array handed in (`history.pivot_table(...)`, `ref.quantile(q)`): its receiver is
        // the data summarised, with the arguments.
        let receiver = callee.rsplit_once('.').map_or("", |(r, _)| r);
        let root = receiver
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        let data = if !root.is_empty() && root != "self" && f.params.iter().any(|p| p == root) {
            format!("{receiver} {}", &call[callee.len()..])
        } else {
            call[callee.len()..].to_string()
        };
        let args = data.as_str();
        if own_vars.iter().any(|v| uses_ident(args, v))
            && !s.ctx.loops.iter().any(|l| l.line == s.ctx.line)
        {
            continue;
        }
        // A collection the function itself grows (`lap.sectors.append(t - sum(lap.sectors))`) differs from call
        // to call.
        if changed_in_loop(s, f.start, &paths_in(args)) {
            continue;
        }
        // A call inside a comprehension's element (`max(0, min(p.hp, 255)) for p in players`) works on one
        // item; an aggregate over the comprehension holds its `for` (`sum(x for x in self.data)`).
        if s.ctx.loops.iter().any(|l| {
            l.line == s.ctx.line
                && l.kind == "comprehension"
                && targets(l).iter().any(|v| uses_ident(args, v))
                && !call.contains(&format!("for {}", l.target))
        }) {
            continue;
        }
        // (A window the line's own loop keeps changing is new data on every pass.)
        if let Some(l) = s.ctx.innermost_loop() {
            if changed_in_loop(s, l.line, &names_in(args)) {
                continue;
            }
        }
        if invariant_input(args)
            || (s
                .ctx
                .loops
                .iter()
                .any(|l| l.line == s.ctx.line && invariant_input(&l.iter))
                && !uses_varying(args))
        {
            return hit_at_caller(
                s,
                0.85,
                format!(
                    "`{}` computes `{}` over data that is the same on every call (line {}), {}: compute it once",
                    f.name,
                    call.chars().take(50).collect::<String>(),
                    s.ctx.line,
                    s.repetition_text()
                ),
            );
        }
    }
    let reads_state = |text: &str| {
        let reads = |t: &str| state.iter().any(|a| t.contains(&format!("self.{a}")));
        reads(text)
            || names_in(text).iter().any(|w| {
                (f.start..=f.end).any(|l| {
                    let line = s.src.line_text(l);
                    line.split_once(" = ").is_some_and(|(lhs, rhs)| {
                        reads(rhs) && names_in(lhs).iter().any(|n| n == w)
                    })
                })
            })
    };
    // The arguments that change from call to call, other than among a few constants.
    let changing: Vec<&String> = f
        .params
        .iter()
        .filter(|p| {
            *p != "self"
                && arg_invariant(&s.callers, 0, &f.name, &f.params, p) == Some(false)
                && !drawn_from_constants(s, &f.name, &f.params, p)
        })
        .collect();
    // A table or loop built from invariant inputs (constants, attributes, unchanged arguments) on every call.
    let mut by_key = false;
    let builds = s
        .ctx
        .loops
        .iter()
        // (`for _ in range(PASSES)` repeats a process over changing state; it builds no table.)
        .any(|l| {
            l.kind != "while"
                && !(l.iter.starts_with("range(") && targets(l).iter().all(|v| *v == "_"))
                && (invariant_input(&l.iter) || {
                    let k = keyed_input(&l.iter);
                    by_key |= k;
                    k
                })
                // (An inner loop over what an outer loop's changing items give, `for f, v in lookup.items()
                // for obj in self._fetch(f, v)`, changes with them.)
                && !s.ctx.loops.iter().any(|o| {
                    !std::ptr::eq(o, l)
                        && targets(o).iter().any(|t| uses_ident(&l.iter, t))
                        && !invariant_input(&o.iter)
                })
                // (An index loop over the state the method replaces is a step of a process: a stencil
                // over the grid it updates.)
                && !(l.iter.starts_with("range(")
                    && reads_state(
                        &s.src
                            .block(l.line)
                            .iter()
                            .map(|&b| s.src.line_text(b))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    ))
                // (Each element of the data computed with an argument that varies between calls, `[log(h - h0)
                // for h in stages]`, is a different result per call; over a table of constants keyed by the
                // arguments, `{parse(year, md) for md in FIXED[region]}`, the same few results recur.)
                && !(l.kind == "comprehension"
                    && l.line == s.ctx.line
                    && !constant(&l.iter)
                    && uses_varying(&s.ctx.text))
                // (`for k in range(5)` over the call's own data is per-call work: a stencil, a bit loop; so is
                // a count of constant steps, `for k in range(HORIZON // STEP)`, computed from the arguments.)
                && !((literal_range(&l.iter) || (l.iter.starts_with("range(") && constant(&l.iter)))
                    && uses_varying(
                        &s.src
                            .block(l.line)
                            .iter()
                            .map(|&b| s.src.line_text(b))
                            .collect::<Vec<_>>()
                            .join("\n"),
                    ))
                // (A loop over fixed data that reads this call's own argument element by element, `for row in
                // basis: ... x = samples[i]`, or the state the method replaces, computes something new per call.)
                && !(l.kind == "for" && {
                    let body: Vec<String> =
                        s.src.block(l.line).iter().skip(1).map(|&b| s.src.line_text(b)).collect();
                    subscripted(&body.join("\n")).iter().any(|n| {
                        let e = expand(n);
                        replaced(&e) || changing.iter().any(|p| uses_ident(&e, p))
                    })
                })
                // (A loop over fixed alternatives, each applied to this call's own argument, `for d in DECODERS:
                // d(body)`, `for fmt in FORMATS: strptime(cell, fmt)`, gives a different result per call.)
                && !(l.kind == "for" && {
                    let varying: Vec<&String> = f
                        .params
                        .iter()
                        .filter(|p| {
                            *p != "self" && arg_invariant(&s.callers, 0, &f.name, &f.params, p) != Some(true)
                        })
                        .collect();
                    let items = targets(l);
                    s.src.block(l.line).iter().skip(1).any(|&b| {
                        let line = s.src.line_text(b);
                        let stmt = line.trim();
                        s.src.context(b).call_texts.iter().any(|c| {
                            c.split_once('(').is_some_and(|(callee, args)| {
                                varying.iter().any(|p| uses_ident(args, p))
                                    && (items.contains(&callee)
                                        // An item tried on the argument as a test, its result returned or
                                        // only checked (`strptime(cell, fmt)` in a try); storing both in a
                                        // table (`out.append(Period(year, n))`) still builds the table.
                                        || (items.iter().any(|i| uses_ident(args, i))
                                            && !["append", "add", "extend", "insert", "update"]
                                                .contains(&method(callee))
                                            && [stmt, stmt.trim_start_matches("return ")]
                                                .iter()
                                                .any(|t| t.starts_with(c.as_str()))))
                            })
                        })
                    })
                })
        })
        // (A scan that compares each item with a key is a join, not a rebuilt result.)
        && super::joins::scan_helper(s).is_none();
    if builds
        && !s
            .ctx
            .calls
            .iter()
            .any(|c| REGEX_CALLS.contains(&c.as_str()))
    {
        return hit_at_caller(
            s,
            if by_key { 0.6 } else { 0.7 },
            format!(
                "`{}` rebuilds the same result from data that does not change (line {}: `{}`), {}: cache or hoist it",
                f.name,
                s.ctx.line,
                s.ctx.text,
                s.repetition_text()
            ),
        );
    }
    None
}

/// `range(...)` with literal bounds only (`range(0x20, 0x100)`, `range(5)`).
fn literal_range(expr: &str) -> bool {
    expr.trim()
        .strip_prefix("range(")
        .and_then(|r| r.strip_suffix(')'))
        .is_some_and(|a| {
            a.split(',').all(|b| {
                let b = b.trim();
                b.chars()
                    .next()
                    .is_some_and(|c| c.is_ascii_digit() || c == '-')
                    && b.chars()
                        .all(|c| c.is_ascii_alphanumeric() || "_-+* ".contains(c))
            })
        })
}

/// A helper whose every argument is the same on every call the loop makes (traced up the call chain), and that
/// reads nothing else that could change (no `self` state, no globals it rebinds, no clock, random or reads),
/// computes the same result each time: cache it by its arguments or hoist the call out of the loop.
pub fn invariant_helper(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    let params: Vec<&String> = f
        .params
        .iter()
        .filter(|p| *p != "self" && *p != "cls")
        .collect();
    // Names the function binds itself (its locals).
    let locals: Vec<String> = (f.start + 1..=f.end)
        .filter_map(|l| {
            let t = s.src.line_text(l);
            let t = t.trim_start();
            let lhs = t.split_once(" = ").map(|(a, _)| a).or_else(|| {
                t.strip_prefix("for ")
                    .and_then(|r| r.split_once(" in ").map(|(a, _)| a))
            })?;
            Some(
                lhs.split(',')
                    .map(|x| x.trim().to_string())
                    .collect::<Vec<_>>(),
            )
        })
        .flatten()
        .collect();
    let constant = |n: &str| {
        n.len() > 1
            && n.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
            && ![
                ".append(", ".extend(", ".update(", ".insert(", ".pop(", " +=",
            ]
            .iter()
            .any(|m| s.src.mentions(&format!("{n}{m}")))
    };
    // A `while` counting with its own locals up to constants (`while t <= T_MAX:`) runs the same passes on
    // every call; one watching anything else (a queue, a flag) does not.
    let counted = |l: &crate::diagnose::source::LoopInfo| {
        l.kind != "while"
            || names_in(&l.iter)
                .iter()
                .all(|n| locals.iter().any(|x| x == n) || constant(n))
    };
    if !s.ctx.loops.iter().all(counted) || !s.repeated() {
        return None;
    }
    // With no arguments, the result depends only on what the body reads: locals, constants, modules and
    // builtins (a module-level variable could change between calls).
    if params.is_empty() {
        let module_variable = |n: &str| {
            !constant(n)
                && !locals.iter().any(|x| x == n)
                && s.src
                    .binding_lines(n)
                    .iter()
                    .any(|(l, _)| s.src.enclosing_function(*l).is_none())
        };
        let reads_variables = (f.start + 1..=f.end).any(|l| {
            names_in(&s.src.line_text(l)).iter().any(|n| {
                module_variable(n)
                    || (n.chars().any(|c| c.is_ascii_uppercase())
                        && n.chars().all(|c| !c.is_ascii_lowercase())
                        && !constant(n))
            })
        });
        if reads_variables || f.params.iter().any(|p| p == "cls") {
            return None;
        }
    }
    // The object's own data is the same on every call when the calls go to one object and only `__init__`
    // sets what the method reads (`self.points`); calling its other methods, or state that changes, is not.
    let same_self = same_receiver(s, &f.name);
    let reads_state = |t: &str| {
        t.match_indices("self.").any(|(i, m)| {
            let attr: String = t[i + m.len()..]
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            let called = t[i + m.len() + attr.len()..].starts_with('(');
            !same_self || called || !fixed_at_init(s.src, &attr)
        })
    };
    // (A generator's body runs per item it yields, not per call.)
    let body: Vec<String> = (f.start + 1..=f.end).map(|l| s.src.line_text(l)).collect();
    let impure = body.iter().any(|t| {
        reads_state(t)
            || t.starts_with("global ")
            || t.starts_with("nonlocal ")
            || t.starts_with("yield")
            || t.contains(" yield ")
            || t.starts_with("print(")
            || t.starts_with("raise ")
    }) || (f.start + 1..=f.end).any(|l| {
        s.src.context(l).calls.iter().any(|c| {
            let m = method(c);
            // (Filling a list the function made itself changes nothing outside it.)
            let own = c.rsplit_once('.').is_some_and(|(recv, _)| {
                let made = s
                    .src
                    .binding_lines(recv)
                    .into_iter()
                    .filter(|(b, _)| (f.start..=f.end).contains(b))
                    .collect::<Vec<_>>();
                !made.is_empty()
                    && made.iter().all(|(_, b)| {
                        let b = b.trim_start();
                        b.starts_with('[')
                            || b.starts_with('{')
                            || [
                                "set(",
                                "list(",
                                "dict(",
                                "defaultdict(",
                                "Counter(",
                                "deque(",
                            ]
                            .iter()
                            .any(|w| b.starts_with(w))
                    })
            });
            IMPURE.contains(&m)
                || MUTATORS.contains(&m)
                || (matches!(
                    m,
                    "append" | "extend" | "update" | "add" | "pop" | "write" | "send" | "put"
                ) && !own)
        })
    });
    if impure {
        return None;
    }
    if !params
        .iter()
        .all(|p| arg_invariant(&s.callers, 0, &f.name, &f.params, p) == Some(true))
    {
        return None;
    }
    let inputs = if params.is_empty() && body.iter().any(|t| t.contains("self.")) {
        "reads only what its object was built with".to_string()
    } else if params.is_empty() {
        "takes no arguments and reads only constants".to_string()
    } else {
        format!(
            "gets the same arguments ({}) on every call",
            params
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )
    };
    hit_at_caller(
        s,
        0.8,
        format!(
            "`{}` {inputs}, {}: it computes the same result each time (line {}); cache it by its arguments or compute it once before the loop",
            f.name,
            s.repetition_text(),
            s.ctx.line
        ),
    )
}

/// Calls that run a SQL query.
const QUERIES: [&str; 6] = [
    "execute",
    "executescript",
    "read_sql",
    "read_sql_query",
    "fetchval",
    "fetchrow",
];

/// The aggregate a SQL query run by the call `query` on the site's line computes (`AVG(`, `GROUP BY`), if any:
/// the statement's text (a query written over several lines) or the query a name stands for.
pub fn sql_aggregate(s: &Site, query: &str) -> Option<&'static str> {
    // The statement's text (a query written over several lines), and the query a name stands for.
    let (first, last) = s
        .src
        .statement_span(s.ctx.line)
        .unwrap_or((s.ctx.line, s.ctx.line));
    let mut text: String = (first..=last.min(first + 30))
        .map(|l| s.src.line_text(l))
        .collect::<Vec<_>>()
        .join(" ");
    let arg = query
        .split_once('(')
        .map_or("", |(_, a)| a.split([',', ')']).next().unwrap_or("").trim());
    if !arg.is_empty()
        && arg
            .chars()
            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
    {
        for b in s.src.bindings(arg.rsplit('.').next().unwrap_or(arg)) {
            text.push(' ');
            text.push_str(&b);
        }
    }
    let up = text.to_uppercase().replace(" (", "(");
    [
        "AVG(", "SUM(", "COUNT(", "MIN(", "MAX(", "TOTAL(", "GROUP BY",
    ]
    .into_iter()
    .find(|w| up.contains(w))
}

/// A SQL query that aggregates (`AVG`, `SUM`, `COUNT`, `MIN`, `MAX`, `GROUP BY`) run once per item of a loop:
/// the database works out the same kind of aggregate over the table again for every item, though the values it
/// groups by repeat; every group computed once (`GROUP BY`) and looked up per item does the work once.
pub fn aggregate_query(s: &Site) -> Option<Hit> {
    let query = s.ctx.call_texts.iter().find(|c| {
        let callee = c.split('(').next().unwrap_or("");
        QUERIES.contains(&callee.rsplit('.').next().unwrap_or(callee))
    })?;
    if !(s.in_loop() || s.repeated()) {
        return None;
    }
    let aggregate = sql_aggregate(s, query)?;
    hit_at_caller(
        s,
        0.75,
        format!(
            "line {} runs an aggregate query (`{}`) {}: the same aggregate over the table is worked out again for each item",
            s.ctx.line,
            aggregate.trim_end_matches('('),
            s.repetition_text()
        ),
    )
}

fn hit_at_caller(s: &Site, conf: f64, evidence: String) -> Option<Hit> {
    match s.caller_place() {
        Some(at) if !s.in_loop() => hit_at(conf, evidence, at),
        _ => hit(conf, evidence),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"import statistics
from functools import cache
RATES = {"a": 1}
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)
@cache
def fib2(n):
    return n if n < 2 else fib2(n - 1) + fib2(n - 2)
def zscore(v, values):
    return (v - statistics.mean(values)) / statistics.stdev(values)
def scores(values):
    out = []
    for v in values:
        out.append(zscore(v, values))
    return out
def scores2(batches):
    for b in batches:
        zscore(b[0], b)
def loop(values, cfg):
    for v in values:
        t = build_table(cfg)
def build_table(cfg):
    return {k: v for k, v in RATES.items()}
"#;

    /// An aggregate query per item (written inline or held in a constant) repeats the aggregate; near misses: the
    /// same query run once, a per-item lookup that aggregates nothing.
    /// A pure helper called per item with arguments that do not change in the loop (through an intermediate
    /// function) recomputes one result; near misses: an argument that changes per item, a helper with state on
    /// `self`, one that appends to what it is given.
    #[test]
    fn invariant_helpers() {
        let s = src("def model(golden, chamber):\n    ref = golden.loc[golden['c'] == chamber]\n    return ref.cov()\ndef score(x, chamber, golden):\n    m = model(golden, chamber)\n    return x @ m\ndef judge(lot, golden):\n    chamber = lot.chamber\n    for x in lot.rows:\n        score(x, chamber, golden)\n        per(x, golden)\n        keep(golden, chamber)\ndef per(x, golden):\n    return golden.loc[golden['id'] == x]\ndef keep(out, chamber):\n    out.append(chamber)\n    return out\nclass M:\n    def fit(self, golden):\n        return golden.cov() + self.bias\n");
        let h = invariant_helper(&site(&s, 2).called_from(&[5, 10])).unwrap();
        assert!(h.evidence.contains("(golden, chamber)"), "{h:?}");
        assert!(invariant_helper(&site(&s, 14).called_from(&[11])).is_none());
        assert!(invariant_helper(&site(&s, 16).called_from(&[12])).is_none());
        assert!(invariant_helper(&site(&s, 20).called_from(&[10])).is_none());
    }

    /// The object's own data passed on (`fit(self.elev, self.storage)` in a method called per reading) is the
    /// same on every call, so a numeric loop over it gives the same numbers again: the repetition is the
    /// finding, not the arithmetic. Near misses: an attribute another method replaces, and calls that go to
    /// each item of the loop.
    /// A method of a frame handed in on every call unchanged (`history.pivot_table(...)`) summarises the
    /// receiver; a parameter's name inside a string (`index="region"`) is no use of it. Near miss: the same
    /// summary of a frame that changes per item.
    /// A loop over fixed data that reads the call's own argument element by element (a DFT over a fixed basis
    /// for each window) computes something new per call; near miss: the argument drawn from a few constants
    /// (`for stat in CATEGORIES`), where the same results recur. A loop over a constant sliced by state the
    /// method replaces, read through a local alias, is per-call work too; near miss: the constant alone.
    #[test]
    fn per_call_work_over_fixed_data() {
        let s = src(r#"BASIS = [(1, 2), (3, 4)]
CATEGORIES = ["hr", "rbi"]
def spectrum(samples, basis):
    out = []
    for c, d in basis:
        re = 0.0
        for i in range(len(samples)):
            re += samples[i] * c
        out.append(re)
    return out
def baseline(rows, stat):
    total = 0.0
    for r in ROSTER:
        total += r[stat]
    return total
def run(values, rows):
    for start in range(0, len(values), 64):
        window = values[start:start + 64]
        spectrum(window, BASIS)
    for r in rows:
        for stat in CATEGORIES:
            baseline(rows, stat)
"#);
        assert!(helper_recomputes(&site(&s, 5).called_from(&[19])).is_none());
        assert!(helper_recomputes(&site(&s, 13).called_from(&[22])).is_some());
        let t = src(r#"SECTORS = [100, 200, 300]
class Stint:
    def feed(self, rec):
        if rec.beacon:
            self.lap = Lap(rec.tick)
        lap = self.lap
        for b in SECTORS[len(lap.sectors):]:
            if lap.distance >= b:
                lap.sectors.append(rec.tick)
            break
    def marks(self, rec):
        out = []
        for b in SECTORS:
            out.append(b * 2)
        return out
def replay(stint, records):
    for rec in records:
        stint.feed(rec)
        stint.marks(rec)
"#);
        assert!(helper_recomputes(&site(&t, 7).called_from(&[18])).is_none());
        assert!(helper_recomputes(&site(&t, 13).called_from(&[19])).is_some());
    }

    /// A helper behind a decorator's wrapper (`return fn(*args, **kwargs)`): the arguments are the ones passed
    /// to the wrapper a frame further up. Near miss: a different year per pass.
    #[test]
    fn arguments_through_a_decorator() {
        let s = src(r#"def timed(fn):
    def wrapper(*args, **kwargs):
        return fn(*args, **kwargs)
    return wrapper
@timed
def calendar(year):
    days = []
    for d in range(365):
        days.append((year, d))
    return days
def run(tickets, year):
    for t in tickets:
        calendar(year)
    for t in tickets:
        calendar(t.year)
"#);
        assert!(helper_recomputes(&site(&s, 9).called_from(&[3, 13])).is_some());
        assert!(helper_recomputes(&site(&s, 9).called_from(&[3, 15])).is_none());
    }

    /// A table built per request from a database, keyed by a field of the request (`body["payer"]`) and a
    /// setting fixed at init: the keys recur, so the same tables are built again (less sure). Near miss: keyed
    /// by the request itself.
    #[test]
    fn tables_keyed_by_a_field_of_the_item() {
        let s = src(r#"class Repo:
    def __init__(self, conn):
        self.conn = conn
    def schedule_for(self, payer_id, version):
        rows = self.conn.execute("SELECT a FROM t WHERE p = ? AND v = ?", (payer_id, version))
        out = {}
        for code, allowed in rows:
            out[code] = allowed
        return out
class Handler:
    def __init__(self, repo, settings):
        self.repo = repo
        self.settings = settings
    def estimate(self, req):
        body = req.body
        schedule = self.repo.schedule_for(body["payer"], self.settings.version)
        other = self.repo.schedule_for(req, self.settings.version)
        return schedule
def serve(handler, requests):
    for req in requests:
        handler.estimate(req)
"#);
        let h = helper_recomputes(&site(&s, 8).called_from(&[16, 21])).unwrap();
        assert_eq!(h.confidence, 0.6);
        assert!(helper_recomputes(&site(&s, 8).called_from(&[17, 21])).is_none());
    }

    #[test]
    fn summaries_of_a_frame_handed_in() {
        let s = src(r#"import pandas as pd
def bench(history, region, species):
    m = history.pivot_table(index="region", columns="species", aggfunc="median")
    return m.loc[region, species]
def run(history, bids, frames):
    for b in bids:
        bench(history, b.region, b.species)
    for fr in frames:
        bench(fr, "n", "s")
"#);
        assert!(helper_recomputes(&site(&s, 3).called_from(&[7])).is_some());
        assert!(helper_recomputes(&site(&s, 3).called_from(&[9])).is_none());
    }

    #[test]
    fn the_objects_own_data_passed_on() {
        let s = src(r#"def fit(xs, ys):
    n = len(xs) - 1
    h = [0.0] * n
    for i in range(1, n):
        h[i] = 3.0 / (xs[i + 1] - xs[i]) * (ys[i + 1] - ys[i])
    return h
class Curve:
    def __init__(self, survey):
        self.elev = [r[0] for r in survey]
        self.storage = [r[1] for r in survey]
    def lookup(self, stage):
        return fit(self.elev, self.storage)
    def lookup_live(self, stage):
        return fit(self.elev, self.live)
    def refresh(self, new):
        self.live = new
def run(curve, curves, readings):
    for r in readings:
        curve.lookup(r.stage)
        curve.lookup_live(r.stage)
    for c in curves:
        c.lookup(1.0)
"#);
        let here = |callers: &[u32]| site(&s, 5).called_from(callers);
        assert!(invariant_helper(&here(&[12, 19])).is_some());
        assert!(invariant_helper(&here(&[14, 20])).is_none());
        assert!(invariant_helper(&here(&[12, 22])).is_none());
        // The numeric loop's own finding yields to the repetition.
        let hits = crate::diagnose::rules::apply(&here(&[12, 19]));
        assert!(hits
            .iter()
            .any(|h| h.0 == crate::diagnose::rules::Category::PythonNumericLoop));
        let top = hits
            .iter()
            .max_by(|a, b| a.2.confidence.total_cmp(&b.2.confidence))
            .unwrap();
        assert_eq!(
            top.0,
            crate::diagnose::rules::Category::RepeatedComputation,
            "{hits:?}"
        );
    }

    #[test]
    fn aggregate_queries() {
        let s = src("PEERS = \"SELECT AVG(pay) FROM staff WHERE grade = ?\"\ndef avg(conn, g):\n    return conn.execute(\n        \"SELECT AVG(pay), COUNT(*) FROM staff WHERE grade = ?\",\n        (g,),\n    ).fetchone()\ndef review(conn, staff):\n    for e in staff:\n        a = avg(conn, e.grade)\n        b = conn.execute(PEERS, (e.grade,)).fetchone()\n        c = conn.execute(\"SELECT name FROM staff WHERE id = ?\", (e.id,)).fetchone()\n    total = conn.execute(\"SELECT SUM(pay) FROM staff\").fetchone()\n");
        let h = aggregate_query(&site(&s, 3).called_from(&[9])).unwrap();
        assert!(h.evidence.contains("`AVG`"), "{h:?}");
        assert!(
            aggregate_query(&site(&s, 10)).is_some(),
            "the query in a constant"
        );
        assert!(aggregate_query(&site(&s, 11)).is_none());
        assert!(aggregate_query(&site(&s, 12)).is_none());
        assert!(aggregate_query(&site(&s, 3)).is_none(), "not repeated");
    }

    /// A serialisation of a read-only table's entry chosen by the argument, per item; near misses: a table
    /// the program writes into between calls, an argument that is the item itself.
    #[test]
    fn keyed_entries_of_a_read_only_table() {
        let code = "import json\nclass R:\n    def __init__(self, cat):\n        self.tables = cat\n        self.live = {}\n    def fp(self, table):\n        return json.dumps(self.tables[table], sort_keys=True)\n    def cur(self, table):\n        return json.dumps(self.live[table])\n    def put(self, table, row):\n        self.live[table] = row\n    def enc(self, row):\n        return json.dumps(row)\ndef run(r, changes):\n    for c in changes:\n        r.fp(c.table)\n        r.cur(c.table)\n        r.enc(c.row)\n";
        let s = src(code);
        assert!(keyed_entry(&site(&s, 7).called_from(&[16])).is_some());
        assert!(keyed_entry(&site(&s, 9).called_from(&[17])).is_none());
        assert!(keyed_entry(&site(&s, 13).called_from(&[18])).is_none());
        // Once: nothing repeats it.
        assert!(keyed_entry(&site(&s, 7)).is_none());
        // A summary of the entry, per bid; near miss: entries that grow between calls (a sort in a loop).
        let q = src("import numpy as np\nclass S:\n    def __init__(self, h, live):\n        self.h = h\n        self.live = live\n    def curve(self, ex):\n        return np.quantile(self.h[ex], LEVELS)\n    def now(self, ex):\n        return np.quantile(self.live[ex], LEVELS)\n    def see(self, ex, p):\n        self.live[ex].append(p)\ndef run(s, bids):\n    for b in bids:\n        s.curve(b.ex)\n        s.now(b.ex)\n");
        assert!(keyed_entry(&site(&q, 7).called_from(&[14])).is_some());
        assert!(keyed_entry(&site(&q, 9).called_from(&[15])).is_none());
        // The entry through local names: a key the function derives from its argument, the entry unpacked
        // beside another, a conversion around it. Near misses: a key from the object's own moving state, and
        // an entry of a table that grows.
        let b = src(r#"import statistics
import numpy as np
class C:
    def __init__(self, t, s):
        self.t, self.s, self.live, self.pos = t, s, {}, 0
    def bin_of(self, p):
        return min(int(p // 10), N_BINS - 1)
    def limits(self, pressure):
        b = self.bin_of(pressure)
        temps, sals = self.t[b], self.s[b]
        m = statistics.mean(temps)
        return np.percentile(np.asarray(sals), [2.0, 98.0])
    def moving(self, pressure):
        b = self.pos
        temps = self.t[b]
        return statistics.mean(temps)
    def grows(self, pressure):
        b = self.bin_of(pressure)
        seen = self.live[b]
        self.live[b].append(pressure)
        return statistics.mean(seen)
def run(c, samples):
    for x in samples:
        c.limits(x.p)
        c.moving(x.p)
        c.grows(x.p)
"#);
        let h = keyed_entry(&site(&b, 11).called_from(&[24])).unwrap();
        assert!(h.evidence.contains("`b`"), "{h:?}");
        assert!(keyed_entry(&site(&b, 12).called_from(&[24])).is_some());
        assert!(keyed_entry(&site(&b, 16).called_from(&[25])).is_none());
        assert!(keyed_entry(&site(&b, 21).called_from(&[26])).is_none());
    }

    /// Each element of the same data computed with an argument that varies per call is new work; over a table
    /// of constants keyed by the arguments the same few results recur.
    #[test]
    fn elements_with_a_varying_argument() {
        let code = "import math\nFIXED = {'a': '01-01 12-25'}\ndef fit(stages, h0):\n    d = [math.log(h - h0) for h in stages]\n    return d\ndef hol(year, region):\n    return {parse(year, md) for md in FIXED[region].split()}\ndef run(stages, grid, days, region):\n    for g in grid:\n        fit(stages, g)\n    for d in days:\n        hol(d.year, region)\n";
        let s = src(code);
        assert!(helper_recomputes(&site(&s, 4).called_from(&[10])).is_none());
        assert!(helper_recomputes(&site(&s, 7).called_from(&[12])).is_some());
        // A fixed number of steps computed from per-call arguments: per-call work.
        let code = "import math\nSTEPS = 96\ndef profile(subject, dose):\n    ke = subject.cl / subject.v\n    out = []\n    for k in range(STEPS):\n        out.append(dose * math.exp(-ke * k))\n    return out\ndef run(subjects, dose):\n    for s in subjects:\n        profile(s, dose)\n";
        let s = src(code);
        assert!(helper_recomputes(&site(&s, 7).called_from(&[11])).is_none());
    }

    #[test]
    fn enum_members_are_constants_and_per_call_arguments_are_not() {
        // A table over an enumeration's members, rebuilt for every item; near miss: a class that is no enum.
        let code = "import enum, math\nclass Unit(enum.Enum):\n    G = 'g'\nclass Box:\n    pass\ndef table():\n    units = list(Unit)\n    out = {}\n    for a in units:\n        for b in units:\n            out[a, b] = 1\n    return out\ndef boxes():\n    out = {}\n    for a in list(Box):\n        out[a] = 1\ndef convert(items):\n    for it in items:\n        table()[it]\n        boxes()[it]\n";
        let s = src(code);
        assert!(helper_recomputes(&site(&s, 11).called_from(&[19])).is_some());
        assert!(helper_recomputes(&site(&s, 16).called_from(&[20])).is_none());
        // A sum over the same samples that computes each element from the call's own argument differs per call;
        // the same sum without the argument does not.
        let code = "import math\nclass P:\n    def power(self, freq):\n        w = 2 * freq\n        return sum(math.sin(w * t) for t in self.t)\n    def level(self, freq):\n        return sum(t * t for t in self.t) * freq\n    def run(self, freqs):\n        return [self.power(f) + self.level(f) for f in freqs]\n";
        let s = src(code);
        // (The loop over the same samples may still count as a rebuilt result, at the weaker confidence.)
        assert!(
            helper_recomputes(&site(&s, 5).called_from(&[9])).is_none_or(|h| h.confidence < 0.85)
        );
        assert!(
            helper_recomputes(&site(&s, 7).called_from(&[9])).is_some_and(|h| h.confidence >= 0.85)
        );
        // Near miss: a clamp inside a comprehension's element works on each item of the same list.
        let code = "class W:\n    def tick(self, players):\n        self.buf = bytes(max(0, min(p.hp, 255)) for p in players)\n    def run(self, players, n):\n        for _ in range(n):\n            self.tick(players)\n";
        let s = src(code);
        assert!(
            helper_recomputes(&site(&s, 3).called_from(&[6])).is_none_or(|h| h.confidence < 0.85)
        );
    }

    #[test]
    fn tables_over_literal_ranges_and_partial_bound_arguments() {
        // A table over a fixed range, rebuilt under a sort key bound by `partial` to the chapter's locale; near
        // miss: a 5-step loop over the call's own frame (a stencil).
        let code = "from functools import partial\ndef table(locale):\n    out = {}\n    for cp in range(0x20, 0x100):\n        out[chr(cp)] = (locale, cp)\n    return out\ndef key(member, locale):\n    t = table(locale)\n    return [t[c] for c in member]\ndef main(groups):\n    for name, locale in groups:\n        members = sorted(name, key=partial(key, locale=locale))\ndef smooth(frame):\n    for ky in range(5):\n        acc = frame[ky]\ndef run(frames):\n    for f in frames:\n        smooth(f)\n";
        let s = src(code);
        assert!(helper_recomputes(&site(&s, 5).called_from(&[8, 12])).is_some());
        assert!(helper_recomputes(&site(&s, 15).called_from(&[18])).is_none());
        // The mapped item differs per call, the partial-bound argument does not; a lambda's parameter is the item.
        let c = site(&s, 5).called_from(&[8, 12]);
        let params = vec!["member".to_string(), "locale".to_string()];
        assert_eq!(
            arg_invariant(&c.callers, 1, "key", &params, "locale"),
            Some(true)
        );
        let l = src("def main(xs, loc):\n    return sorted(xs, key=lambda m: key(m, loc))\n");
        let c = site(&l, 2).called_from(&[2]);
        assert_eq!(
            arg_invariant(&c.callers, 0, "key", &params, "member"),
            Some(false)
        );
        assert_eq!(
            arg_invariant(&c.callers, 0, "key", &params, "locale"),
            Some(true)
        );
    }

    #[test]
    fn calls_on_what_a_helper_gets_from_outside() {
        // A decorator's wrapper inspecting the function it closes over, and a helper grouping a module-level
        // frame, on every call; near miss: the same grouping of the frame each call is given.
        let code = "import inspect\ntally = load()\ndef validated(fn):\n    def wrapper(*args):\n        sig = inspect.signature(fn)\n        return fn(*args)\n    return wrapper\ndef wall(segment):\n    by = tally.groupby(\"segment\")\n    return by.median()[segment]\ndef run(items, f):\n    for it in items:\n        wall(it)\n        f(it)\ndef near(rows):\n    by = rows.groupby(\"s\")\n    return by\ndef run2(items):\n    for it in items:\n        near(it)\n";
        let s = src(code);
        assert!(invariant_call(&site(&s, 5).called_from(&[14])).is_some());
        assert!(invariant_call(&site(&s, 9).called_from(&[13])).is_some());
        assert!(invariant_call(&site(&s, 16).called_from(&[20])).is_none());
        // Near miss: the same call with a random draw among its arguments differs on every pass.
        let d = src("import datetime\ndef make(rng, n, start):\n    for i in range(n):\n        a = datetime.date.fromordinal(start - int(rng.expovariate(0.1)))\n        b = datetime.date.fromordinal(start - 30)\n");
        assert!(invariant_call(&site(&d, 4)).is_none());
        assert!(invariant_call(&site(&d, 5)).is_some());
    }

    #[test]
    fn calls_that_change_their_argument_are_not_invariant() {
        // Dijkstra's `heappop(heap)` under `while heap:`; near miss: a fixed lookup in the same loop.
        let s = src("import heapq\nimport json\nCONF = '{}'\ndef walk(heap):\n    while heap:\n        d = heapq.heappop(heap)\n        c = json.loads(CONF)\n");
        assert!(invariant_call(&site(&s, 6)).is_none());
        assert!(invariant_call(&site(&s, 7)).is_some());
    }

    #[test]
    fn cache_keyed_on_a_finer_value_than_it_uses() {
        let code = "import functools\n@functools.lru_cache(maxsize=64)\ndef calendar(site, as_of):\n    day = as_of.date()\n    return build(site, day, as_of.year)\n@functools.cache\ndef rates(site, day):\n    return build(site, day)\n@functools.cache\ndef label(code):\n    return code.lower() + code\ndef settle(scans):\n    for s in scans:\n        calendar(1, s.at)\n";
        let s = src(code);
        let h = cache_keyed_finer(&site(&s, 4).calls(18_900)).unwrap();
        assert!(h.evidence.contains("`as_of.date()`"), "{}", h.evidence);
        // Found through the loop that calls it, too.
        assert!(cache_keyed_finer(&site(&s, 5).called_from(&[14])).is_some());
        // Near misses: a cache keyed on what it uses; a parameter also used whole; a cached function that
        // runs only a few times (its misses are the first sight of each key).
        assert!(cache_keyed_finer(&site(&s, 8).calls(5000)).is_none());
        assert!(cache_keyed_finer(&site(&s, 11).calls(5000)).is_none());
        assert!(cache_keyed_finer(&site(&s, 4).calls(12)).is_none());
    }

    #[test]
    fn shapes() {
        let s = src(CODE);
        assert!(recursion(&site(&s, 5)).is_some());
        assert!(recursion(&site(&s, 8)).is_none());
        // Near miss: a walk over a tree visits each node once.
        let w = src("def walk(node, prefix, flat):\n    for k, v in node.items():\n        walk(v, f\"{prefix}{k}-\", flat)\ndef count(s):\n    return 0 if not s else 1 + count(s[1:])\n");
        assert!(recursion(&site(&w, 3)).is_none());
        assert!(recursion(&site(&w, 5)).is_some());
        // A flat view rebuilt per lookup, three calls under the loop; near misses: a method that changes its
        // object (a counter), and one called on each item of the loop (a different object per pass).
        let r = src("class Ctx:\n    def fields(self):\n        flat = {}\n        for k, v in self.deal.items():\n            flat[k] = v\n        return flat\n    def lookup(self, p):\n        return self.fields().get(p)\n    def bump(self):\n        self.n += 1\n        return self.n\n    def next_id(self, p):\n        return self.bump()\ndef run(ctx, paths):\n    for p in paths:\n        ctx.lookup(p)\n        ctx.next_id(p)\ndef each(items):\n    for it in items:\n        it.lookup(1)\n");
        assert_eq!(
            rebuilt_per_call(&site(&r, 5).called_from(&[8, 16]))
                .unwrap()
                .at,
            Some((0, 8))
        );
        assert!(rebuilt_per_call(&site(&r, 10).called_from(&[13, 17])).is_none());
        assert!(rebuilt_per_call(&site(&r, 5).called_from(&[8, 20])).is_none());
        assert!(rebuilt_per_call(&site(&r, 5).called_from(&[8])).is_none());
        // A total over the whole table per row; near misses: the row's own parts, two values, a running max.
        let a = src("def allocate(rows, cap):\n    out = []\n    for r in rows:\n        out.append(r.kg / sum(x.kg for x in rows))\n        t = sum(p.kg for p in r.parts)\n        m = max(r.kg, cap)\n        best = max(out)\n");
        assert!(aggregate_in_loop(&site(&a, 4)).is_some());
        assert!(aggregate_in_loop(&site(&a, 5)).is_none());
        assert!(aggregate_in_loop(&site(&a, 6)).is_none());
        assert!(aggregate_in_loop(&site(&a, 7)).is_none());
        // Options by keyword are no second value, and a method's receiver is the data (`bg.mean(axis=0)`); near
        // misses: the loop's own item summarised, two positional values.
        let k = src("import numpy as np\ndef run(lines, bg):\n    for i, spectra in lines:\n        mu = bg.mean(axis=0)\n        cov = np.cov(bg, rowvar=False)\n        m = spectra.mean(axis=0)\n        c = np.cov(spectra, bg)\n");
        assert!(aggregate_in_loop(&site(&k, 4)).is_some());
        assert!(aggregate_in_loop(&site(&k, 5)).is_some());
        assert!(aggregate_in_loop(&site(&k, 6)).is_none());
        assert!(aggregate_in_loop(&site(&k, 7)).is_none());
        // Near miss: a collection reached through an attribute path that the function grows itself, in its loop
        // and from call to call.
        let g = src("BOUNDS = [1, 2, 3]\nclass A:\n    def feed(self, t):\n        lap = self.lap\n        for b in BOUNDS:\n            lap.sectors.append(t - sum(lap.sectors))\ndef run(a, ts):\n    for t in ts:\n        a.feed(t)\n");
        assert!(aggregate_in_loop(&site(&g, 6)).is_none());
        assert!(helper_recomputes(&site(&g, 6).called_from(&[9]))
            .is_none_or(|h| !h.evidence.contains("computes `sum(")));
        assert_eq!(
            paths_in("t - sum(lap.sectors) + x.y[2]"),
            vec!["lap.sectors", "x.y"]
        );
        // Near miss: fixed alternatives tried on each call's own argument.
        let d = src("DECODERS = (int, float)\ndef decode(body):\n    for dec in DECODERS:\n        try:\n            return dec(body)\n        except ValueError:\n            continue\ndef run(lines):\n    for line in lines:\n        decode(line)\n");
        assert!(helper_recomputes(&site(&d, 3).called_from(&[10])).is_none());
        // ... or each fixed format given with the argument (`strptime(cell, fmt)`); the positive beside it: a
        // table of the formats rebuilt per call, the argument not used.
        let f = src("import datetime
FORMATS = ('%Y-%m-%d', '%d/%m/%Y')
def sniff(cell):
    for fmt in FORMATS:
        try:
            datetime.datetime.strptime(cell, fmt)
            return 'date'
        except ValueError:
            pass
def table(cell):
    t = {}
    for fmt in FORMATS:
        t[fmt] = fmt.replace('%', '')
    return t.get(cell)
def run(cells):
    for c in cells:
        sniff(c)
        table(c)
");
        assert!(helper_recomputes(&site(&f, 4).called_from(&[17])).is_none());
        assert!(helper_recomputes(&site(&f, 12).called_from(&[18])).is_some());
        // An inner loop over what the outer loop's items give, the outer over the call's own argument
        // (`for f, v in lookup.items() for o in self._fetch(f, v)`): per-call work; near miss: the outer over
        // an attribute that is the same on each call.
        let q = src("class QS:\n    def get(self, **lookup):\n        return [o for f, v in lookup.items() for o in self._fetch(f, v)]\n    def every(self, key):\n        return [o for f, v in self.fields.items() for o in self._fetch(f, v)]\ndef run(qs, rows):\n    for r in rows:\n        qs.get(sku=r)\n        qs.every(r)\n");
        assert!(helper_recomputes(&site(&q, 3).called_from(&[8])).is_none());
        assert!(helper_recomputes(&site(&q, 5).called_from(&[9])).is_some());
        // The statistic of the same list per item: positive; of a different batch per item: near miss.
        let h = helper_recomputes(&site(&s, 10).called_from(&[14])).unwrap();
        assert_eq!(h.at, Some((0, 14)));
        assert!(helper_recomputes(&site(&s, 10).called_from(&[18])).is_none());
        assert!(helper_recomputes(&site(&s, 10)).is_none());
        assert!(invariant_call(&site(&s, 21)).is_some());
        assert!(invariant_call(&site(&s, 14)).is_none());
        // A helper called per item (here through `map`) recomputes a library result of fixed arguments.
        let hints = src("import typing\nclass R:\n    def fields(self):\n        h = typing.get_type_hints(type(self), globalns=globals())\n        v = typing.get_origin(self.kind)\n        return h\ndef export(rows, w):\n    w.writerows(map(R.fields, rows))\n");
        assert!(invariant_call(&site(&hints, 4).called_from(&[8])).is_some());
        // The same object's fixed settings, through a local: a key derived again for every message.
        let kdf = src("import hashlib\nclass S:\n    def key(self):\n        salt = f\"x:{self.tenant}\".encode()\n        return hashlib.pbkdf2_hmac(\"sha256\", self.secret, salt, 1000)\n    def sign(self, m, part):\n        return hashlib.sha256(part).digest()\ndef run(signer, msgs, signers):\n    for m in msgs:\n        signer.key()\n    for s in signers:\n        s.key()\n");
        assert!(invariant_call(&site(&kdf, 5).called_from(&[10])).is_some());
        // Near misses: a different object per pass; an argument that is the call's own input.
        assert!(invariant_call(&site(&kdf, 5).called_from(&[12])).is_none());
        assert!(invariant_call(&site(&kdf, 7).called_from(&[10])).is_none());
        // Near misses: an argument of the object's own data; not called repeatedly.
        assert!(invariant_call(&site(&hints, 5).called_from(&[8])).is_none());
        assert!(invariant_call(&site(&hints, 4)).is_none());
        // Near miss: the loop's own iterable is made once.
        let once = src("import json\ndef load(p):\n    return json.load(open(p))\ndef settle(path):\n    for txn in load(path):\n        print(txn)\n");
        assert!(invariant_call(&site(&once, 5)).is_none());
        assert!(helper_recomputes(&site(&s, 23).called_from(&[21])).is_some());
    }

    #[test]
    fn names_an_expression_reads() {
        assert_eq!(
            names_in("enumerate(pattern, start=1) + self.x[\"a b\"] == y"),
            ["enumerate", "pattern", "self", "y"]
        );
        assert_eq!(
            names_in("f\"x:{self.tenant} {{n}}\".encode() + rb'z' + g(row)"),
            ["self", "g", "row"]
        );
    }

    /// The statistic of a group, recomputed for each member of that group: the outer loop changes the group,
    /// the comprehension repeats the call with the same one.
    #[test]
    fn per_member_of_a_group() {
        let s = src("import statistics\ndef index(v, ys):\n    m = statistics.mean(ys)\n    return v / m\ndef bench(groups):\n    for g, ys in groups.items():\n        out = [index(y, ys) for y in ys]\n    for g, ys in groups.items():\n        one = index(ys[0], ys)\n");
        assert!(helper_recomputes(&site(&s, 3).called_from(&[7])).is_some());
        // Near miss: one call per group.
        assert!(helper_recomputes(&site(&s, 3).called_from(&[9])).is_none());
    }

    /// A fit of the same reference points refitted for every item (`statistics.linear_regression` of lists
    /// made from an argument the caller never changes). Near miss: the points differ per item.
    #[test]
    fn a_fit_of_fixed_points() {
        let s = src("import statistics\ndef recal(mz, pts):\n    xs = [p.x for p in pts]\n    ys = [p.y for p in pts]\n    a, b = statistics.linear_regression(xs, ys)\n    return mz * a + b\ndef run(peaks, pts, scans):\n    for mz in peaks:\n        v = recal(mz, pts)\n    for sc in scans:\n        v = recal(sc.mz, sc.points)\n");
        assert!(helper_recomputes(&site(&s, 5).called_from(&[9])).is_some());
        assert!(helper_recomputes(&site(&s, 5).called_from(&[11])).is_none());
    }

    /// A helper with no arguments that builds a table from constants, called for every reading: the same
    /// table each time. Near misses: one that reads a module-level variable, one that fills a list it was given
    /// (through a global), a `while` that watches a queue.
    /// A frame's rows matching the key, selected per call only to be summarised: repeated (and not a join);
    /// near misses: the selected rows used themselves (a join by scanning), and a frame another method changes.
    #[test]
    fn filtered_summaries() {
        let s = src(r#"import pandas as pd
class C:
    def __init__(self, archive, live):
        self.archive = archive
        self.live = live
    def levels(self, station):
        ref = self.archive[(self.archive["station"] == station)]
        q = ref["hs"].quantile([0.5, 0.9])
        return float(q.loc[0.5])
    def row(self, station):
        hit = self.archive[self.archive["station"] == station]
        return hit.iloc[0]
    def now(self, station):
        ref = self.live[self.live["station"] == station]
        return ref["hs"].mean()
    def feed(self, frame):
        self.live = frame
def run(c, bursts):
    for b in bursts:
        c.levels(b.station)
        c.row(b.station)
        c.now(b.station)
"#);
        let h = filtered_summary(&site(&s, 7).called_from(&[20])).unwrap();
        assert!(h.evidence.contains("quantile"), "{h:?}");
        assert!(super::super::joins::mask_lookup(&site(&s, 7).called_from(&[20])).is_none());
        assert!(filtered_summary(&site(&s, 11).called_from(&[21])).is_none());
        assert!(super::super::joins::mask_lookup(&site(&s, 11).called_from(&[21])).is_some());
        assert!(filtered_summary(&site(&s, 14).called_from(&[22])).is_none());
        // A comparison with an entry is no store into it.
        assert!(!changed_outside_init(&s, "archive"));
        assert!(changed_outside_init(&s, "live"));
    }

    /// A method of one object that reads only what `__init__` set (a property refitting a curve on each
    /// access); near misses: state another method changes, a call per item of the loop (many objects), and
    /// another method of the object called inside.
    #[test]
    fn method_of_data_fixed_at_init() {
        let s = src(r#"import numpy as np
class Cal:
    def __init__(self, points):
        self.points = list(points)
        self.seen = []
    @property
    def curve(self):
        r = np.array([p.r for p in self.points])
        return np.polyfit(r, r * 2, 2)
    def drift(self):
        return np.mean(self.seen)
    def note(self, x):
        self.seen.append(x)
    def both(self):
        return np.polyfit(self.helper(), 1, 2)
def run(cal, cals, xs):
    for x in xs:
        cal.curve
        cal.drift()
        cal.both()
    for c in cals:
        c.curve
"#);
        let h = invariant_helper(&site(&s, 9).called_from(&[18])).unwrap();
        assert!(
            h.evidence.contains("what its object was built with"),
            "{h:?}"
        );
        assert!(invariant_helper(&site(&s, 11).called_from(&[19])).is_none());
        assert!(invariant_helper(&site(&s, 9).called_from(&[22])).is_none());
        assert!(invariant_helper(&site(&s, 15).called_from(&[20])).is_none());
    }

    #[test]
    fn argument_free_table_from_constants() {
        let s = src("T_MIN, T_MAX, STEP = 0.0, 40.0, 0.5\npending = []\ndef table():\n    out = []\n    t = T_MIN\n    while t <= T_MAX + 1e-9:\n        out.append(1.0 - 1.3e-4 * t)\n        t += STEP\n    return out\ndef factor(temp):\n    tab = table()\n    return tab[int(temp / STEP)]\ndef run(readings):\n    for r in readings:\n        v = factor(r)\ndef drain():\n    out = []\n    while pending:\n        out.append(pending.pop())\n    return out\ndef scaled():\n    return [x * 2 for x in pending]\n");
        let h = invariant_helper(&site(&s, 7).called_from(&[11, 15])).unwrap();
        assert_eq!(h.at, None, "{h:?}");
        assert!(h.evidence.contains("takes no arguments"), "{h:?}");
        assert!(invariant_helper(&site(&s, 19).called_from(&[15])).is_none());
        assert!(invariant_helper(&site(&s, 22).called_from(&[15])).is_none());
    }

    /// A method that loops over its object's own data, called once per object, recomputes nothing.
    #[test]
    fn per_object_methods() {
        let s = src("class B:\n    def soc(self):\n        out = []\n        for i in self.current:\n            out.append(i * 2)\n        return out\ndef run(bats, hub):\n    for b in bats:\n        b.soc()\n    for x in bats:\n        hub.soc()\n");
        assert!(helper_recomputes(&site(&s, 5).called_from(&[9])).is_none());
        assert!(helper_recomputes(&site(&s, 5).called_from(&[11])).is_some());
    }

    /// A table read from the same file on every call: the path is the caller's, unchanged by its loop.
    #[test]
    fn table_from_the_same_file() {
        let s = src("import csv\ndef deck(path):\n    out = {}\n    with open(path) as f:\n        rows = csv.reader(f)\n        for a, b in rows:\n            out[a] = b\n    return out\ndef rate(calls, path, paths):\n    for c in calls:\n        d = deck(path)\n    for p in paths:\n        d = deck(p)\n");
        assert!(helper_recomputes(&site(&s, 7).called_from(&[11])).is_some());
        // Near miss: a different file per pass.
        assert!(helper_recomputes(&site(&s, 7).called_from(&[13])).is_none());
    }

    /// A calendar rebuilt from a local copy of a constant on every call, per row.
    #[test]
    fn table_from_a_local_copy_of_a_constant() {
        let s = src("PATTERN = (4, 4, 5)\ndef calendar(year):\n    pattern = list(PATTERN)\n    out = []\n    for n in pattern:\n        out.append((year, n))\n    return out\ndef total(items):\n    t = []\n    for x in items:\n        t.append(x)\n    return t\ndef post(rows):\n    for r in rows:\n        calendar(r.year)\n        total(r.items)\n");
        assert!(helper_recomputes(&site(&s, 6).called_from(&[15])).is_some());
        // Near miss: a loop over the argument is per-item work.
        let passes = src("PASSES = 3\ndef clip(xs):\n    keep = xs\n    for _ in range(PASSES):\n        keep = [x for x in keep if x < 9]\n    return keep\ndef run(frames):\n    for f in frames:\n        clip(f)\n");
        assert!(helper_recomputes(&site(&passes, 5).called_from(&[9])).is_none());
        assert!(helper_recomputes(&site(&s, 11).called_from(&[16])).is_none());
    }
}
