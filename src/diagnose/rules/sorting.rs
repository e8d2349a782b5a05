//! `sort_in_loop`: sorting a whole collection again on every iteration to read one element.

use super::common::{hit, hit_at, loops_text, method};
use super::{Hit, Site};

fn sorts(s: &Site) -> Option<String> {
    s.ctx
        .calls
        .iter()
        .find(|c| {
            c.as_str() == "sorted"
                || method(c) == "sort"
                || c.as_str() == "heapq.nlargest"
                || c.as_str() == "heapq.nsmallest"
                || c.as_str() == "heapify"
                || c.as_str() == "heapq.heapify"
        })
        .cloned()
}

/// A sort on a line inside a loop (a loop whose own iterable is the sort sorts once).
pub fn sort_in_loop(s: &Site) -> Option<Hit> {
    let sort = sorts(s)?;
    // A loop whose iterable is the sort sorts once; so does a generator inside the sort's own arguments.
    let text = &s.ctx.text;
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
        !(l.line == s.ctx.line && (l.iter.contains("sorted(") || l.iter.contains(".sort("))
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

    #[test]
    fn sorting() {
        let s = src(CODE);
        assert!(sort_in_loop(&site(&s, 7)).is_some());
        // Near miss: a loop over a sort, sorted once.
        assert!(sort_in_loop(&site(&s, 8)).is_none());
        assert!(sort_in_loop(&site(&s, 10)).is_none());
        let h = sorting_helper(&site(&s, 2).called_from(&[6])).unwrap();
        assert_eq!(h.at, Some((0, 6)));
        assert!(sorting_helper(&site(&s, 2)).is_none());
    }
}
