//! What several rules ask of a site: loops, callers, callees, what a name is bound to.

use super::{Caller, Hit, Site};
use crate::diagnose::evidence::{last, Callee, Loc};
use crate::diagnose::source::{LineContext, LoopInfo, SourceFile};

/// A plain name (`raw`, `text`), not an attribute or an expression.
pub fn plain_name(e: &str) -> bool {
    !e.is_empty() && e.chars().all(|c| c.is_alphanumeric() || c == '_')
}

/// The first line in `lines` that heads a `for` loop over `name` or a slice of it (`for r in rows[1:]:`).
pub fn for_loop_over(
    src: &SourceFile,
    name: &str,
    lines: std::ops::RangeInclusive<u32>,
) -> Option<u32> {
    lines.into_iter().find(|&l| {
        let t = src.line_text(l);
        let t = t.trim_start();
        t.starts_with("for ")
            && t.strip_suffix(':').is_some_and(|h| {
                h.rsplit_once(" in ")
                    .is_some_and(|(_, it)| it.trim().split('[').next() == Some(name))
            })
    })
}

/// Words in a program's text that say it waits on I/O (sleeps, sockets, HTTP).
const WAIT_WORDS: [&str; 6] = [
    "urlopen",
    "http.client",
    "socket",
    "requests.",
    "sleep(",
    "recv(",
];

/// The program's text says it waits on I/O; `children` also counts child processes and connects.
pub fn waits_in_text(src: &SourceFile, children: bool) -> bool {
    WAIT_WORDS.iter().any(|w| src.mentions(w))
        || (children && ["subprocess.", "connect("].iter().any(|w| src.mentions(w)))
}

pub fn hit(confidence: f64, evidence: String) -> Option<Hit> {
    Some(Hit {
        confidence,
        evidence,
        at: None,
    })
}

pub fn hit_at(confidence: f64, evidence: String, at: Loc) -> Option<Hit> {
    Some(Hit {
        confidence,
        evidence,
        at: Some(at),
    })
}

/// The dotted name that ends where `text` ends (`"x = np.cov"` -> `np.cov`, `"f(self.rows"` -> `self.rows`).
pub fn dotted_name_before(text: &str) -> &str {
    text.rsplit(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
        .next()
        .unwrap_or("")
}

/// `a, f(b, c), d[e]` -> its top-level items.
pub fn split_top_commas(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let (mut depth, mut start) = (0i32, 0usize);
    for (i, c) in text.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => {
                out.push(text[start..i].trim());
                start = i + 1;
            }
            _ => {}
        }
    }
    out.push(text[start..].trim());
    out
}

/// True when `text` uses the identifier `ident` (not as part of a longer name, not as an attribute).
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

/// A literal constant (`"ACTIVE"`, `3`, `None`): comparing with one filters, it looks nothing up.
pub fn is_literal(t: &str) -> bool {
    let t = t.trim();
    t.starts_with(['"', '\'']) || t.parse::<f64>().is_ok() || matches!(t, "None" | "True" | "False")
}

/// The last dotted component of a callee (`self.rows.pop` -> `pop`).
pub fn method(callee: &str) -> &str {
    callee.rsplit('.').next().unwrap_or(callee)
}

/// The names a loop binds (`for k, (a, b) in ...` -> k, a, b).
pub fn targets(l: &LoopInfo) -> Vec<&str> {
    l.target
        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
        .filter(|v| !v.is_empty())
        .collect()
}

pub fn loops_text(ctx: &LineContext) -> String {
    if ctx.loops.is_empty() {
        // A call that maps a function over items (`map(f, rows)`) is the loop.
        return format!("the items mapped on line {} (`{}`)", ctx.line, ctx.text);
    }
    ctx.loops
        .iter()
        .map(|l| match l.kind {
            "while" => format!("`while {}` (line {})", l.iter, l.line),
            _ => format!("`{}` (line {})", l.iter, l.line),
        })
        .collect::<Vec<_>>()
        .join(" and ")
}

/// `f` is a generator function (a `yield` in its own body, not in a nested function's).
pub fn is_generator(src: &SourceFile, f: &crate::diagnose::source::FunctionInfo) -> bool {
    (f.start..=f.end).any(|l| {
        let t = src.line_text(l);
        (t.starts_with("yield") || t.contains("= yield") || t.contains("(yield"))
            && src.enclosing_function(l).map(|g| g.start) == Some(f.start)
    })
}

/// A loop over work items (not a retry or polling loop).
pub fn work_loop(l: &LoopInfo) -> bool {
    !(l.target.contains("attempt")
        || l.target.contains("retr")
        || l.iter.contains("retr")
        || l.iter.contains("attempt"))
}

impl<'a> Site<'a> {
    pub fn in_loop(&self) -> bool {
        !self.ctx.loops.is_empty()
    }

    pub fn function_name(&self) -> &str {
        self.ctx
            .function
            .as_ref()
            .map_or("<module>", |f| f.name.as_str())
    }

    /// The nearest caller whose call site runs in a loop over work items.
    pub fn looping_caller(&self) -> Option<&Caller<'a>> {
        // `for x in gen(...)` resumes a generator once per item: that is iteration, not repetition, and what runs
        // under the generator's frame runs once per generator, however many items it yields.
        let mut name = self.function_name();
        // (A loop over what a plain function returns, `for t in self.standings()[:10]`, runs it once per pass
        // of any loop above, like any other call.)
        let generator = |name: &str| {
            std::iter::once(self.src)
                .chain(self.callers.iter().map(|c| c.src))
                .any(|src| {
                    src.functions()
                        .iter()
                        .any(|f| f.name == name && is_generator(src, f))
                })
        };
        for c in &self.callers {
            if c.loops_here().any(|l| l.iter.contains(&format!("{name}("))) && generator(name) {
                return None;
            }
            // (The loop whose iterable holds the call runs the call once, not per pass.)
            let call = format!("{name}(");
            if c.ctx
                .loops
                .iter()
                .filter(|l| !(l.line == c.ctx.line && l.iter.contains(&call)))
                .any(work_loop)
                || c.maps(name)
            {
                return Some(c);
            }
            name = c
                .ctx
                .function
                .as_ref()
                .map_or("<module>", |f| f.name.as_str());
        }
        None
    }

    /// The line's function is a generator (a `yield` in its own body).
    pub fn in_generator(&self) -> bool {
        self.ctx
            .function
            .as_ref()
            .is_some_and(|f| is_generator(self.src, f))
    }

    /// The line's function runs many times: a caller's loop repeats it, or pstats counted many calls (for a
    /// generator, pstats counts every resumption, so its count says nothing of repetition).
    pub fn repeated(&self) -> bool {
        self.looping_caller().is_some()
            || (self.calls.is_some_and(|n| n >= 50) && !self.in_generator())
    }

    /// The heaviest callee whose normalised name satisfies `pred`.
    pub fn callee(&self, pred: impl Fn(&str) -> bool) -> Option<&Callee> {
        self.callees.iter().find(|c| pred(&c.name))
    }

    /// A callee called by the line itself whose last name component is one of `names`.
    pub fn calls_any(&self, names: &[&str]) -> Option<&Callee> {
        self.callees
            .iter()
            .find(|c| c.direct && names.contains(&last(&c.name)))
    }

    /// Where a finding about the repetition belongs: the caller's loop line, or this line.
    pub fn caller_place(&self) -> Option<Loc> {
        self.looping_caller().map(|c| c.loc)
    }

    /// Words for "on every pass of ...": the line's own loops, else the caller's loop.
    pub fn repetition_text(&self) -> String {
        if self.in_loop() {
            format!("on every pass of the loop over {}", loops_text(&self.ctx))
        } else if let Some(c) = self.looping_caller() {
            format!(
                "on every call of `{}`, which line {} makes on every pass of the loop over {}",
                self.function_name(),
                c.ctx.line,
                loops_text(&c.ctx)
            )
        } else if let Some(n) = self.calls {
            format!("in each of the {n} calls of `{}`", self.function_name())
        } else {
            "again and again".into()
        }
    }
}

impl Caller<'_> {
    /// The call site maps the function over items (`map(Record.to_fields, rows)`, `filter(is_valid, rows)`,
    /// `sorted(rows, key=partial(rank, table))`, `pattern.sub(replace, text)`): one call per item, each on its
    /// own item.
    pub fn maps(&self, function: &str) -> bool {
        let names = |arg: &str| {
            let arg = arg.trim();
            // `key=lambda r: rank(r)`: what the lambda calls.
            let arg = match arg.strip_prefix("lambda") {
                Some(rest) => rest.split_once(':').map_or("", |x| x.1).trim(),
                None => arg,
            };
            let arg = arg
                .strip_prefix("functools.partial(")
                .or_else(|| arg.strip_prefix("partial("))
                .unwrap_or(arg);
            let first = arg.split([',', ')', '(']).next().unwrap_or("").trim();
            first == function || first.ends_with(&format!(".{function}"))
        };
        self.ctx.call_texts.iter().any(|t| {
            let Some((callee, args)) = t.split_once('(') else {
                return false;
            };
            let mapped = match callee {
                "map" | "filter" | "itertools.starmap" | "starmap" | "reduce"
                | "functools.reduce" => Some(args),
                // `re.sub(pattern, repl, text)`; a compiled pattern's `.sub(repl, text)`.
                "re.sub" | "re.subn" => args.split_once(',').map(|x| x.1),
                c if c.ends_with(".sub") || c.ends_with(".subn") => Some(args),
                _ => None,
            };
            mapped.is_some_and(names)
                || args
                    .match_indices("key=")
                    .any(|(i, _)| names(&args[i + 4..]))
        })
    }

    /// The loops whose header is the call site's own line.
    pub fn loops_here(&self) -> impl Iterator<Item = &LoopInfo> {
        self.ctx.loops.iter().filter(|l| l.line == self.ctx.line)
    }
}

/// What a collection is built as, judged from its bindings: "list", "set", "dict" or unknown. Handles
/// literals, `self.attr` (any `self.attr = ...` in the file), and a local helper's return value.
pub fn collection_kind(src: &SourceFile, expr: &str) -> Option<&'static str> {
    let name = expr.trim();
    if let Some(k) = literal_kind(name) {
        return Some(k);
    }
    if name.contains('(') && !name.starts_with("self.") {
        // A call: a helper of this file tells by its returns.
        let callee = name.split('(').next().unwrap_or("").trim();
        let callee = callee.strip_prefix("self.").unwrap_or(callee);
        if src.functions().iter().any(|f| f.name == callee) {
            return src
                .returns_of(callee)
                .iter()
                .filter_map(|r| literal_kind(r.trim()))
                .next_back();
        }
        return None;
    }
    let mut kind = None;
    let mut bound = src.bindings(name);
    for b in bound.clone() {
        let callee = b.split('(').next().unwrap_or("").trim();
        let callee = callee.strip_prefix("self.").unwrap_or(callee).to_string();
        if b.contains('(') && src.functions().iter().any(|f| f.name == callee) {
            bound.extend(src.returns_of(&callee));
        }
    }
    for b in bound {
        if let Some(k) = literal_kind(b.trim()) {
            kind = Some(k);
        }
    }
    kind
}

fn literal_kind(b: &str) -> Option<&'static str> {
    if b.starts_with('[')
        || b.starts_with("list(")
        || b.starts_with("sorted(")
        || b.starts_with('(') && b.ends_with(')') && b.contains(',')
        || b.starts_with("tuple(")
        || b.contains(".split(")
        || b.contains(".readlines(")
        || b.ends_with(".tolist()")
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
        || b.starts_with("OrderedDict(")
    {
        Some("dict")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::src;
    use super::*;

    #[test]
    fn kinds() {
        let s = src("A = [1, 2]\nB = {1, 2}\nclass C:\n    def __init__(self):\n        self.seen = []\n        self.idx = {}\ndef ids():\n    return [x for x in A]\nD = ids()\nE = ('a', 'b')\n");
        assert_eq!(collection_kind(&s, "A"), Some("list"));
        assert_eq!(collection_kind(&s, "B"), Some("set"));
        assert_eq!(collection_kind(&s, "self.seen"), Some("list"));
        assert_eq!(collection_kind(&s, "self.idx"), Some("dict"));
        assert_eq!(collection_kind(&s, "D"), Some("list"));
        assert_eq!(collection_kind(&s, "ids()"), Some("list"));
        assert_eq!(collection_kind(&s, "E"), Some("list"));
        assert_eq!(collection_kind(&s, "unknown"), None);
        assert!(uses_ident("a.b + x", "x"));
        assert!(!uses_ident("a.x + y", "x"));
    }

    #[test]
    fn mapping_call_sites() {
        let s = src("def f(rows, t, pat, text):\n    a = list(map(rank, rows))\n    b = sorted(rows, key=functools.partial(rank, t))\n    c = max(rows, key=lambda r: rank(r))\n    d = pat.sub(rank, text)\n    e = re.sub(r\"x\", rank, text)\n    g = sorted(rows, key=len)\n    h = rank(rows)\n");
        let caller = |l: u32| Caller {
            loc: (0, l),
            src: &s,
            ctx: s.context(l),
        };
        for l in 2..=6 {
            assert!(caller(l).maps("rank"), "line {l}");
        }
        let r = src("def f(rows):\n    return functools.reduce(rank, rows, 0)\n");
        let caller = |l: u32| Caller {
            loc: (0, l),
            src: &r,
            ctx: r.context(l),
        };
        assert!(caller(2).maps("rank"));
        let caller = |l: u32| Caller {
            loc: (0, l),
            src: &s,
            ctx: s.context(l),
        };
        for l in 2..=6 {
            assert!(caller(l).maps("rank"), "line {l}");
        }
        // Near misses: another key function; a direct call.
        assert!(!caller(7).maps("rank"));
        assert!(!caller(8).maps("rank"));
    }
}
