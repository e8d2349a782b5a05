//! `sort_in_loop`: sorting a whole collection again on every iteration to read one element.

use super::common::{hit, hit_at, loops_text, method};
use super::{Hit, Site};

/// Statistics that sort their whole input to read one or a few positions.
pub const SORTING_STATISTICS: [&str; 5] = [
    "quantiles",
    "median",
    "median_low",
    "median_high",
    "median_grouped",
];

/// A collection that grows while the statistic is taken again and again: the loop that repeats the line
/// (its function, and the functions that function calls, a few levels down) also adds to it
/// (`self.samples.append(x)` in `observe`, called by the same request loop).
pub fn grows(s: &Site, collection: &str) -> bool {
    let attr = collection.trim().rsplit('.').next().unwrap_or("");
    if !super::common::plain_name(attr) {
        return false;
    }
    let adds: Vec<String> = [".append(", ".extend(", ".insert("]
        .iter()
        .map(|m| format!("{attr}{m}"))
        .collect();
    let adds_on = |src: &crate::diagnose::source::SourceFile, l: u32| {
        let t = src.line_text(l);
        adds.iter().any(|a| t.contains(a.as_str()))
    };
    // The body of the loop that repeats the line: the lines under its header, indented deeper.
    let (src, ctx) = if s.in_loop() {
        (s.src, &s.ctx)
    } else {
        match s.looping_caller() {
            Some(c) => (c.src, &c.ctx),
            None => return false,
        }
    };
    let Some(header) = ctx.innermost_loop() else {
        return false;
    };
    let body = src.block(header.line);
    if body.iter().any(|&l| adds_on(src, l)) {
        return true;
    }
    // The functions the loop body calls, and theirs, a few levels down.
    let called: Vec<String> = body
        .iter()
        .flat_map(|&l| src.context(l).calls)
        .map(|c| super::common::method(&c).to_string())
        .collect();
    let funcs = src.functions();
    let mut queue: Vec<(&crate::diagnose::source::FunctionInfo, u32)> = funcs
        .iter()
        .filter(|g| called.contains(&g.name))
        .map(|g| (g, 1))
        .collect();
    let mut seen: Vec<u32> = Vec::new();
    while let Some((f, depth)) = queue.pop() {
        if seen.contains(&f.start) {
            continue;
        }
        seen.push(f.start);
        if (f.start..=f.end).any(|l| adds_on(src, l)) {
            return true;
        }
        if depth >= 3 {
            continue;
        }
        let (_, calls) = src.body(Some(f));
        for c in calls {
            let name = super::common::method(&c.callee);
            queue.extend(
                funcs
                    .iter()
                    .filter(|g| g.name == name)
                    .map(|g| (g, depth + 1)),
            );
        }
    }
    false
}

fn sorts(s: &Site) -> Option<String> {
    // `statistics.quantiles(self.samples)` of a growing collection: a sort hidden in the library.
    let hidden = s.ctx.call_texts.iter().find_map(|t| {
        let (callee, args) = t.split_once('(')?;
        let first = args.split(',').next().unwrap_or("").trim_end_matches(')');
        (SORTING_STATISTICS.contains(&super::common::method(callee)) && grows(s, first))
            .then(|| callee.to_string())
    });
    if hidden.is_some() {
        return hidden;
    }
    // `counts.most_common()[0]`: a Counter sorts all its keys to hand back the top one.
    if let Some(c) = s.ctx.calls.iter().find(|c| c.ends_with(".most_common")) {
        return Some(c.clone());
    }
    if let Some(c) = s.ctx.calls.iter().find(|c| {
        c.as_str() == "sorted"
            || method(c) == "sort"
            || c.as_str() == "heapq.nlargest"
            || c.as_str() == "heapq.nsmallest"
            || c.as_str() == "heapify"
            || c.as_str() == "heapq.heapify"
    }) {
        return Some(c.clone());
    }
    // A DataFrame's or Series' sort (`self.prices[port].sort_index()`) of data kept between calls: the same
    // table sorted again. One built from the call's own arguments or locals is that call's own data.
    let kept = |receiver: &str| {
        let root = receiver
            .split(|c: char| !(c.is_alphanumeric() || c == '_'))
            .next()
            .unwrap_or("");
        let local = s.ctx.function.as_ref().is_some_and(|f| {
            f.params.iter().any(|p| p == root)
                || (f.start + 1..=f.end).any(|l| {
                    let t = s.src.line_text(l);
                    t.starts_with(&format!("{root} ="))
                        || t.starts_with(&format!("{root}:"))
                        || t.contains(&format!("for {root} in"))
                        || t.contains(&format!(" as {root}"))
                })
        });
        root == "self" && receiver.len() > 5 || !root.is_empty() && !local
    };
    s.ctx
        .calls
        .iter()
        .find(|c| {
            matches!(method(c), "sort_values" | "sort_index")
                && c.rsplit_once('.').is_some_and(|(r, _)| kept(r))
        })
        .cloned()
}

/// The collection a `sorted(...)` on the line sorts: its first argument.
fn sorted_argument(text: &str) -> Option<&str> {
    let inner = &text[text.find("sorted(")? + "sorted(".len()..];
    let mut depth = 0i32;
    for (i, ch) in inner.char_indices() {
        match ch {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' if depth == 0 => return Some(inner[..i].trim()),
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return Some(inner[..i].trim()),
            _ => {}
        }
    }
    None
}

/// Data made afresh on each pass (`sorted(rng.sample(...))`, `sorted(group)` for the loop's own item): sorting
/// it is per-item work, not the same collection sorted again.
fn fresh_each_pass(s: &Site, arg: &str) -> bool {
    let arg = arg
        .strip_prefix("list(")
        .or_else(|| arg.strip_prefix("set("))
        .unwrap_or(arg);
    let root: String = arg
        .chars()
        .take_while(|c| c.is_alphanumeric() || *c == '_')
        .collect();
    let item = s
        .ctx
        .loops
        .last()
        .is_some_and(|l| super::common::targets(l).contains(&root.as_str()));
    // A call that is not a view of a kept collection (`d.values()`, `d.items()`) builds new data.
    let built = arg.contains('(')
        && !["items(", "values(", "keys(", "copy("]
            .iter()
            .any(|v| arg.contains(v))
        && !arg.starts_with("self.");
    item || built
}

/// A sort on a line inside a loop (a loop whose own iterable is the sort sorts once).
pub fn sort_in_loop(s: &Site) -> Option<Hit> {
    let sort = sorts(s)?;
    if s.ctx.is_except_or_raise || s.ctx.in_handler {
        return None;
    }
    // The whole statement (a call spread over lines holds its sort on any of them).
    let text = &match s.src.statement_span(s.ctx.line) {
        Some((a, b)) if b > a => (a..=b)
            .map(|l| s.src.line_text(l))
            .collect::<Vec<_>>()
            .join(" "),
        _ => s.ctx.text.clone(),
    };
    if sorted_argument(text).is_some_and(|a| fresh_each_pass(s, a)) {
        return None;
    }
    // ... and so is the loop's own item sorted in place (`for key, pts in groups.items(): pts.sort()`): each
    // pass sorts a different list once.
    if let Some(recv) = sort.strip_suffix(".sort") {
        if s.ctx
            .innermost_loop()
            .is_some_and(|l| super::common::targets(l).contains(&recv))
        {
            return None;
        }
    }
    // A loop whose iterable is the sort sorts once; so does a generator inside the sort's own arguments.
    let sort_at = text.find("sorted(").or_else(|| text.find(".sort("));
    let inside_sort = |l: &crate::diagnose::source::LoopInfo| {
        l.line == s.ctx.line
            && l.kind == "comprehension"
            && sort_at.is_some_and(|i| {
                text.find(&format!("for {}", l.target))
                    .is_some_and(|j| j > i)
            })
    };
    let repeats = s.ctx.loops.iter().any(|l| {
        !(l.line == s.ctx.line
            && (l.iter.contains("sorted(")
                || l.iter.contains(".sort(")
                || l.iter.contains(".most_common("))
            || inside_sort(l))
    });
    if !repeats {
        return None;
    }
    hit(
        0.9,
        format!(
            "line {} sorts (`{sort}`) on every pass of the loop over {}",
            s.ctx.line,
            loops_text(&s.ctx)
        ),
    )
}

/// A function that sorts everything once per call, called once per event from a loop: the loop is the problem.
pub fn sorting_helper(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    // A sort that builds an error message is the exception's cost.
    if s.ctx.is_except_or_raise || s.ctx.in_handler {
        return None;
    }
    let sort = sorts(s)?;
    if s.ctx.loops.iter().any(|l| l.line != s.ctx.line) || !s.repeated() {
        return None;
    }
    let evidence = format!(
        "`{}` sorts everything (line {}: `{}`), {}: the whole collection is sorted again per item ({sort})",
        f.name,
        s.ctx.line,
        s.ctx.text,
        s.repetition_text()
    );
    match s.caller_place() {
        Some(at) => hit_at(0.85, evidence, at),
        None => hit(0.8, evidence),
    }
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"def top(scores):
    return sorted(scores, key=lambda s: -s)[0]
def run(events, scores):
    for e in events:
        scores.append(e)
        best = top(scores)
        scores.sort()
    for k in sorted(scores):
        print(k)
    return sorted(p for group in events for p in group)
"#;

    /// A pandas sort of a table kept between calls (on `self`, or module-level) is the same table sorted again per
    /// call; near misses: a sort of the call's own argument, of a local built in the call.
    #[test]
    fn pandas_sorts_of_kept_tables() {
        let s = src("import pandas as pd\nPRICES = pd.Series([1.0])\nclass Book:\n    def at(self, port, when):\n        series = self._quotes[port].sort_index()\n        return series.asof(when)\ndef latest(when):\n    return PRICES.sort_index().asof(when)\ndef top(df):\n    return df.sort_values(\"x\").head(3)\ndef mine(rows):\n    frame = pd.DataFrame(rows)\n    return frame.sort_values(\"x\").head(3)\ndef run(book, events, groups):\n    for e in events:\n        book.at(e.port, e.when)\n        latest(e.when)\n    for g in groups:\n        top(g)\n        mine(g)\n");
        assert!(sorting_helper(&site(&s, 5).called_from(&[16])).is_some());
        assert!(sorting_helper(&site(&s, 8).called_from(&[17])).is_some());
        assert!(sorting_helper(&site(&s, 10).called_from(&[19])).is_none());
        assert!(sorting_helper(&site(&s, 13).called_from(&[20])).is_none());
    }

    /// A method returning every team sorted, read for its top few by a method called per event.
    #[test]
    fn sorted_view_read_per_event() {
        let s = src("class B:\n    def standings(self):\n        return sorted(self.teams.values(), key=lambda t: (-t.score, t.name))\n    def submit(self, e):\n        self.teams[e].score += 1\n        top = [t.name for t in self.standings()[:10]]\ndef replay(board, events):\n    for e in events:\n        board.submit(e)\n");
        let h = sorting_helper(&site(&s, 3).called_from(&[6, 9])).unwrap();
        assert_eq!(h.at, Some((0, 9)));
    }

    #[test]
    fn sorting() {
        let s = src(CODE);
        assert!(sort_in_loop(&site(&s, 7)).is_some());
        // Near miss: a loop over a sort, sorted once.
        assert!(sort_in_loop(&site(&s, 8)).is_none());
        assert!(sort_in_loop(&site(&s, 10)).is_none());
        // Near miss: each group's own list sorted in place, once per pass; the same list sorted on every pass.
        let g = src("def tables(points, events, log):\n    for key, pts in points.items():\n        pts.sort()\n    for e in events:\n        log.append(e)\n        log.sort()\n");
        assert!(sort_in_loop(&site(&g, 3)).is_none());
        assert!(sort_in_loop(&site(&g, 6)).is_some());
        // A percentile of samples that keep arriving: the library sorts them on every request.
        let pct = src("import statistics\nclass T:\n    def observe(self, x):\n        self.samples.append(x)\n    def p95(self):\n        return statistics.quantiles(self.samples, n=100)[94]\n    def base(self):\n        return statistics.median(self.fixed)\ndef run(reqs, t):\n    for r in reqs:\n        t.observe(r)\n        t.p95()\n        t.base()\n");
        assert!(sorting_helper(&site(&pct, 6).called_from(&[12])).is_some());
        // Near miss: the median of data that never changes is repeated computation, not a sort in a loop.
        assert!(sorting_helper(&site(&pct, 8).called_from(&[13])).is_none());
        // Near misses: each pass sorts its own new data.
        let fresh = src("def f(groups, rng):\n    for g in groups:\n        a = sorted(g)\n        b = sorted(rng.sample(g, 3))\n        c = sorted(totals.values())[0]\n");
        assert!(sort_in_loop(&site(&fresh, 3)).is_none());
        assert!(sort_in_loop(&site(&fresh, 4)).is_none());
        assert!(sort_in_loop(&site(&fresh, 5)).is_some());
        // A Counter's most_common per pass sorts every key.
        let mc = src("def f(reports, counts):\n    for r in reports:\n        counts[r] += 1\n        top = counts.most_common()[0]\n");
        assert!(sort_in_loop(&site(&mc, 4)).is_some());
        // Near miss: a loop over most_common() sorts once.
        let once =
            src("def f(counts):\n    for k, n in counts.most_common():\n        print(k, n)\n");
        assert!(sort_in_loop(&site(&once, 2)).is_none());
        // ... also when the sort is on another line of a call spread over several.
        let spread = src("def f(out, rng, n):\n    for start in range(n):\n        out.writerows(zip(rng.choices(A, k=3),\n                          sorted(rng.choices(B, k=3))))\n");
        assert!(sort_in_loop(&site(&spread, 3)).is_none());
        assert!(sort_in_loop(&site(&spread, 4)).is_none());
        let h = sorting_helper(&site(&s, 2).called_from(&[6])).unwrap();
        assert_eq!(h.at, Some((0, 6)));
        assert!(sorting_helper(&site(&s, 2)).is_none());
    }
}
