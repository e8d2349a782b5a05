//! `linear_membership`: `x in some_list` (or tuple, or sorted list) inside a loop.

use super::common::{collection_kind, hit, loops_text};
use super::{Hit, Site};

/// An `in` / `not in` test against a collection that is not a set or dict, on a line that repeats.
pub fn in_list(s: &Site) -> Option<Hit> {
    let ctx = &s.ctx;
    let repeats = s.in_loop() || s.repeated();
    for rhs in &ctx.membership {
        let kind = collection_kind(s.src, rhs);
        if kind == Some("set") || kind == Some("dict") || rhs.contains("range(") {
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

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"BLOCKED = ["a", "b"]
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
        // A method called per item tests a list attribute.
        assert!(in_list(&site(&s, 7).called_from(&[17])).unwrap().confidence >= 0.9);
        assert!(in_list(&site(&s, 7)).unwrap().confidence < 0.7);
    }
}
