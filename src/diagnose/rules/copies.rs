//! `deepcopy_in_loop`: copying a large object graph per iteration.

use super::common::hit;
use super::{Hit, Site};

/// Library calls that copy a whole object graph: `dataclasses.asdict`/`astuple` recurse through nested
/// dataclasses, lists and dicts and deep-copy every other value.
const DEEP_COPIES: [&str; 3] = ["copy.deepcopy", "dataclasses.asdict", "dataclasses.astuple"];

/// `copy.deepcopy` (or `dataclasses.asdict`, or a pickle / JSON round trip) on a line that repeats.
pub fn deepcopy(s: &Site) -> Option<Hit> {
    let from_dataclasses = s.src.mentions("from dataclasses import");
    let by_text = s.ctx.calls.iter().any(|c| {
        DEEP_COPIES.contains(&c.as_str())
            || c == "deepcopy"
            || (from_dataclasses && (c == "asdict" || c == "astuple"))
    }) || (s.ctx.text.contains("loads(") && (s.ctx.text.contains("dumps(")));
    let by_profile = s
        .callee(|n| DEEP_COPIES.contains(&n))
        .is_some_and(|c| c.direct);
    if !(by_text || by_profile) {
        return None;
    }
    let repeats = s.in_loop() || s.repeated();
    hit(
        if repeats { 0.95 } else { 0.7 },
        format!(
            "line {} deep-copies an object{}{}",
            s.ctx.line,
            if repeats {
                format!(" {}", s.repetition_text())
            } else {
                String::new()
            },
            s.callee(|n| n == "copy.deepcopy")
                .and_then(|c| c.calls)
                .map_or(String::new(), |n| format!(" ({n} deepcopy calls)"))
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"import copy, json
def run(reqs, tmpl):
    base = copy.deepcopy(tmpl)
    for r in reqs:
        cfg = copy.deepcopy(tmpl)
        c2 = json.loads(json.dumps(tmpl))
        c3 = dict(tmpl)
"#;

    #[test]
    fn copies() {
        let s = src(CODE);
        assert!(deepcopy(&site(&s, 5)).unwrap().confidence > 0.9);
        assert!(deepcopy(&site(&s, 6)).is_some());
        // Near misses: once, before the loop (lower); a shallow copy.
        assert!(deepcopy(&site(&s, 3)).unwrap().confidence < 0.8);
        assert!(deepcopy(&site(&s, 7)).is_none());
        // A dataclass turned into plain data per message (a recursive copy); near miss: `replace` is shallow.
        let d = src("from dataclasses import asdict, replace\nclass T:\n    def snap(self):\n        return asdict(self)\n    def bump(self):\n        return replace(self, v=1)\ndef run(t, msgs):\n    for m in msgs:\n        t.snap()\n        t.bump()\n");
        assert!(deepcopy(&site(&d, 4).called_from(&[9])).unwrap().confidence > 0.9);
        assert!(deepcopy(&site(&d, 6).called_from(&[10])).is_none());
    }
}
