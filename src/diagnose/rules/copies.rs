//! `deepcopy_in_loop`: copying a large object graph per iteration.

use super::common::hit;
use super::{Hit, Site};

/// `copy.deepcopy` (or a pickle / JSON round trip) on a line that repeats.
pub fn deepcopy(s: &Site) -> Option<Hit> {
    let by_text = s
        .ctx
        .calls
        .iter()
        .any(|c| c == "copy.deepcopy" || c == "deepcopy")
        || (s.ctx.text.contains("loads(") && (s.ctx.text.contains("dumps(")));
    let by_profile = s.callee(|n| n == "copy.deepcopy").is_some_and(|c| c.direct);
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
    }
}
