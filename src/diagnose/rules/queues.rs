//! `list_as_queue`: `list.pop(0)` / `list.insert(0, x)` on a long list.

use super::common::hit;
use super::{Hit, Site};

/// Taking from or putting at the front of a list (by the text, or by pstats' `list.pop` / `list.insert`).
pub fn front(s: &Site) -> Option<Hit> {
    let called = s.ctx.call_texts.iter().any(|c| {
        let c = c.replace(' ', "");
        c.ends_with(".pop(0)") || c.contains(".insert(0,") || c.ends_with(".pop(-len(")
    });
    // `del lots[0]`: the same shift of every other element (a deque's `del d[0]` is O(1)).
    let deleted = s.ctx.text.strip_prefix("del ").is_some_and(|t| {
        let t = t.replace(' ', "");
        t.strip_suffix("[0]")
            .or_else(|| t.strip_suffix("[:1]"))
            .is_some_and(|recv| !s.src.bindings(recv).iter().any(|b| b.contains("deque(")))
    });
    if !called && !deleted {
        return None;
    }
    // A deque's pop(0) does not exist; a deque named so is not a list.
    if called
        && s.src.mentions("deque(")
        && s.ctx.call_texts.iter().all(|c| {
            let recv = c.split('.').next().unwrap_or("");
            s.src.bindings(recv).iter().any(|b| b.contains("deque("))
        })
    {
        return None;
    }
    if called && bounded_window(s) {
        return None;
    }
    let measured = s.calls_any(&["pop", "insert"]);
    hit(
        if measured.is_some() || s.in_loop() || s.repeated() { 0.95 } else { 0.8 },
        format!(
            "line {} takes from / puts at the front of a list (`{}`){}: every call moves all the other elements",
            s.ctx.line,
            s.ctx.text,
            measured
                .and_then(|c| c.calls)
                .map_or(String::new(), |n| format!(", {n} times"))
        ),
    )
}

/// Longest list whose front removal still costs next to nothing (a memmove of a few KB).
const SMALL_WINDOW: i64 = 1000;

/// `pop(0)` that keeps a sliding window at a fixed small size (`if len(window) > SMOOTH: window.pop(0)`, just
/// above): each call moves at most that many elements, so the list never grows into a queue.
fn bounded_window(s: &Site) -> bool {
    let Some(recv) = s.ctx.call_texts.iter().find_map(|c| {
        let c = c.replace(' ', "");
        c.strip_suffix(".pop(0)").map(str::to_string)
    }) else {
        return false;
    };
    let guard = format!("len({recv})");
    (s.ctx.line.saturating_sub(2)..=s.ctx.line).any(|l| {
        let text = s.src.line_text(l).replace(' ', "");
        let Some(i) = text.find(&guard) else {
            return false;
        };
        let rest = &text[i + guard.len()..];
        let Some(bound) = [">=", ">", "=="]
            .iter()
            .find_map(|op| rest.strip_prefix(op))
        else {
            return false;
        };
        let bound: String = bound
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
            .collect();
        let value = |t: &str| t.trim().parse::<i64>().ok();
        let n = value(&bound).or_else(|| {
            let b = s.src.bindings(&bound);
            (!b.is_empty())
                .then(|| b.iter().map(|x| value(x)).collect::<Option<Vec<_>>>())
                .flatten()
                .and_then(|v| v.into_iter().max())
        });
        n.is_some_and(|n| n <= SMALL_WINDOW)
    })
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"from collections import deque
def bfs(start):
    q = [start]
    d = deque([start])
    while q:
        x = q.pop(0)
        y = q.pop()
        q.insert(0, x)
        z = d.popleft()
"#;

    #[test]
    fn queues() {
        let s = src(CODE);
        assert!(front(&site(&s, 6)).is_some());
        assert!(front(&site(&s, 8)).is_some());
        // Near misses: pop from the end; a deque.
        assert!(front(&site(&s, 7)).is_none());
        assert!(front(&site(&s, 9)).is_none());
        let d = src("from collections import deque\nclass Q:\n    def __init__(self):\n        self.lots = []\n        self.d = deque()\n    def take(self):\n        del self.lots[0]\n        del self.d[0]\n");
        assert!(front(&site(&d, 7)).is_some());
        assert!(front(&site(&d, 8)).is_none());
        // Near miss: a sliding window kept at a small fixed size; the same window bounded by a big size is a queue.
        let w = src("SMOOTH = 6\nBIG = 100000\ndef f(xs):\n    window, big = [], []\n    for x in xs:\n        window.append(x)\n        if len(window) > SMOOTH:\n            window.pop(0)\n        big.append(x)\n        if len(big) >= BIG:\n            big.pop(0)\n");
        assert!(front(&site(&w, 8)).is_none());
        assert!(front(&site(&w, 11)).is_some());
    }
}
