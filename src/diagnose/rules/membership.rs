//! `linear_membership`: `x in some_list` (or tuple, or sorted list) inside a loop.

use super::common::{collection_kind, hit, loops_text};
use super::{Hit, Site};

/// An `in` / `not in` test against a collection that is not a set or dict, on a line that repeats.
pub fn in_list(s: &Site) -> Option<Hit> {
    let ctx = &s.ctx;
    let repeats = s.in_loop() || s.repeated();
    let tests: Vec<String> = ctx
        .membership
        .iter()
        .cloned()
        .chain(contains_calls(s))
        .collect();
    for rhs in &tests {
        let kind = collection_kind(s.src, rhs);
        if kind == Some("set")
            || kind == Some("dict")
            || rhs.contains("range(")
            || small_constant(s, rhs)
        {
            continue;
        }
        let (conf, what) = match kind {
            Some("list") => (0.9, "a list"),
            _ if rhs.ends_with(".values()") => (0.8, "a dict's values (a list scan)"),
            _ if rhs.ends_with(".tolist()") || rhs.ends_with(".columns") => (0.8, "a list"),
            _ if rhs.contains('"') || rhs.contains('\'') => continue,
            _ => (0.55, "a collection that is not a set"),
        };
        let conf = if repeats { conf } else { conf * 0.7 };
        return hit(
            conf,
            format!(
                "line {} tests `in {rhs}`, {what}: each test compares with its items one by one{}",
                ctx.line,
                if s.in_loop() {
                    format!(", inside the loop over {}", loops_text(ctx))
                } else if repeats {
                    format!(", {}", s.repetition_text())
                } else {
                    String::new()
                }
            ),
        );
    }
    None
}

/// At most this many items, a constant list or tuple is scanned about as fast as a set is hashed.
const SMALL_LITERAL: usize = 16;

/// `rhs` is a short literal list or tuple of constants (`KEEP = ("White", "Black", "Result")`) that the
/// program never grows: testing it costs a few comparisons, not a scan of data.
fn small_constant(s: &Site, rhs: &str) -> bool {
    let rhs = rhs.trim();
    let bound = if rhs.starts_with(['(', '[']) {
        vec![rhs.to_string()]
    } else {
        if ["append(", "extend(", "insert("]
            .iter()
            .any(|m| s.src.mentions(&format!("{rhs}.{m}")))
            || s.src.mentions(&format!("{rhs} +="))
        {
            return false;
        }
        s.src.bindings(rhs)
    };
    !bound.is_empty()
        && bound.iter().all(|b| {
            let b = b.trim();
            let Some(inner) = b
                .strip_prefix('(')
                .and_then(|x| x.strip_suffix(')'))
                .or_else(|| b.strip_prefix('[').and_then(|x| x.strip_suffix(']')))
            else {
                return false;
            };
            let items: Vec<&str> = inner
                .split(',')
                .map(str::trim)
                .filter(|i| !i.is_empty())
                .collect();
            // A display written on the line is as small as it looks, whatever its items are (`where in ("*",
            // branch)`); one bound elsewhere must be all literals to be a constant.
            items.len() <= SMALL_LITERAL
                && (items.iter().all(|i| super::common::is_literal(i))
                    || (rhs.starts_with(['(', '[']) && !items.iter().any(|i| i.starts_with('*'))))
        })
}

/// Membership written as a call: `operator.contains(coll, x)`, `coll.__contains__(x)`, or a predicate bound to
/// one (`is_blocked = partial(operator.contains, coll)` then `filter(is_blocked, tokens)`): the collections.
fn contains_calls(s: &Site) -> Vec<String> {
    fn of(text: &str) -> Option<String> {
        // `operator.contains(` or a bare imported `contains(`, not a method (`s.str.contains(pat)`).
        for (i, _) in text.match_indices("contains(") {
            let before = &text[..i];
            let bare = !before.ends_with(|c: char| c.is_alphanumeric() || c == '_' || c == '.');
            if bare || before.ends_with("operator.") {
                let arg = text[i + "contains(".len()..]
                    .split([',', ')'])
                    .next()?
                    .trim();
                return (!arg.is_empty()).then(|| arg.to_string());
            }
        }
        let i = text.find(".__contains__")?;
        let start = text[..i]
            .rfind(|c: char| !(c.is_alphanumeric() || c == '_' || c == '.'))
            .map_or(0, |j| j + 1);
        Some(text[start..i].to_string())
    }
    let mut out: Vec<String> = Vec::new();
    if let Some(c) = of(&s.ctx.text) {
        out.push(c);
    }
    // A predicate passed by name: what it is bound to.
    for c in &s.ctx.call_texts {
        let Some((_, args)) = c.split_once('(') else {
            continue;
        };
        for a in args.split([',', ')']) {
            let a = a.trim();
            if a.is_empty()
                || !a
                    .chars()
                    .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            {
                continue;
            }
            for b in s.src.bindings(a) {
                if let Some(rest) = b.split("partial(").nth(1) {
                    let mut parts = rest.split(',');
                    let f = parts.next().unwrap_or("").trim();
                    if f == "operator.contains" || f == "contains" {
                        let arg = parts
                            .next()
                            .unwrap_or("")
                            .trim()
                            .trim_end_matches(')')
                            .trim();
                        if !arg.is_empty() {
                            out.push(arg.to_string());
                        }
                    }
                } else if b.contains(".__contains__") {
                    out.extend(of(&b));
                }
            }
        }
    }
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"BLOCKED = [line.strip() for line in open("blocked.txt")]
ALLOWED = {"a", "b"}
class Seen:
    def __init__(self):
        self.ids = []
    def add(self, x):
        if x not in self.ids:
            self.ids.append(x)
def run(xs, seen):
    for x in xs:
        if x in BLOCKED:
            pass
        if x in ALLOWED:
            pass
        if x in "abc":
            pass
        seen.add(x)
"#;

    #[test]
    fn lists_and_sets() {
        let s = src(CODE);
        assert!(in_list(&site(&s, 11)).unwrap().confidence >= 0.9);
        // Near misses: a set; a substring test.
        assert!(in_list(&site(&s, 13)).is_none());
        assert!(in_list(&site(&s, 15)).is_none());
        // Near miss: a short constant tuple (a few comparisons); the same grown at run time is data.
        let t = src("KEEP = (\"White\", \"Black\", 3)\nSEEN = [\"a\"]\ndef f(xs):\n    for x in xs:\n        if x in KEEP or x in SEEN:\n            SEEN.append(x)\n");
        let c = site(&t, 5);
        assert!(small_constant(&c, "KEEP"));
        assert!(!small_constant(&c, "SEEN"));
        assert!(in_list(&c).is_some_and(|h| h.evidence.contains("in SEEN")));
        // Near miss: a two-item tuple written on the line, one item a name.
        let d = src("def f(rows, branch):\n    return [day for where, day in rows if where in (\"*\", branch)]\n");
        assert!(in_list(&site(&d, 2)).is_none());
        // A method called per item tests a list attribute.
        assert!(in_list(&site(&s, 7).called_from(&[17])).unwrap().confidence >= 0.9);
        assert!(in_list(&site(&s, 7)).unwrap().confidence < 0.7);
        // No `in` written: a predicate bound to operator.contains over a tuple, and `__contains__`; near misses:
        // the same over a frozenset, and pandas' `str.contains`.
        let p = src("import operator\nfrom functools import partial\nclass M:\n    def __init__(self, words):\n        self.blocked = tuple(words)\n        self.ok = frozenset(words)\n        self._is_blocked = partial(operator.contains, self.blocked)\n        self._is_ok = partial(operator.contains, self.ok)\n    def screen(self, tokens, df):\n        a = list(filter(self._is_blocked, tokens))\n        b = list(filter(self._is_ok, tokens))\n        c = [t for t in tokens if self.blocked.__contains__(t)]\n        d = df.text.str.contains(self.blocked[0])\n");
        assert!(in_list(&site(&p, 10).calls(500)).is_some());
        assert!(in_list(&site(&p, 11).calls(500)).is_none());
        assert!(in_list(&site(&p, 12)).is_some());
        assert!(in_list(&site(&p, 13).calls(500)).is_none());
    }
}
