//! `exceptions_control_flow`: exceptions raised and caught for the common case in a hot loop.

use super::common::{hit, hit_at, loops_text};
use super::{Hit, Site};

/// A hot line inside a `try` (or an `except`/`raise` line) that runs per item.
pub fn try_in_loop(s: &Site) -> Option<Hit> {
    let raising = s.ctx.is_except_or_raise || s.ctx.in_handler;
    if !(s.in_loop() || s.repeated()) || (s.ctx.try_handlers.is_empty() && !raising) {
        return None;
    }
    // A try around a whole loop, or around blocking I/O (the wait is the cost, not the handler), is not the
    // pattern.
    if s.ctx
        .try_handlers
        .iter()
        .any(|h| h.contains("KeyboardInterrupt"))
        || (!raising && super::io::is_blocking(s))
    {
        return None;
    }
    // From pstats the `raise` line only shares its function's own time: nothing says it runs often.
    let conf = match (raising, s.derived) {
        (true, false) => 0.85,
        (true, true) => 0.5,
        _ => 0.6,
    };
    hit(
        conf,
        format!(
            "line {} runs inside a try/except ({}) {}: raising and catching costs far more than a test",
            s.ctx.line,
            if s.ctx.try_handlers.is_empty() {
                "the handler itself".to_string()
            } else {
                s.ctx.try_handlers.join(", ")
            },
            s.repetition_text()
        ),
    )
}

/// Time in building or raising an exception (an exception class's code, a `raise`) caught by a caller's `try`
/// that runs per item.
pub fn raised_per_item(s: &Site) -> Option<Hit> {
    let exception_class = s
        .ctx
        .class_bases
        .as_deref()
        .is_some_and(|b| b.contains("Error") || b.contains("Exception"));
    if !(exception_class || s.ctx.is_except_or_raise) {
        return None;
    }
    let t = s.callers.iter().find(|c| !c.ctx.try_handlers.is_empty())?;
    if t.ctx.loops.is_empty() && s.looping_caller().is_none() {
        return None;
    }
    hit_at(
        0.9,
        format!(
            "time goes into raising exceptions (line {}: `{}`), caught by `except {}` at line {} {}",
            s.ctx.line,
            s.ctx.text,
            t.ctx.try_handlers.join(", "),
            t.ctx.line,
            if t.ctx.loops.is_empty() {
                String::new()
            } else {
                format!("on every pass of the loop over {}", loops_text(&t.ctx))
            }
        ),
        t.loc,
    )
}

/// Work called from an exception handler or a `raise` line (building the message, `', '.join(self)`) in a
/// function that runs per item: the time is the cost of failing the common case, wherever its lines are.
pub fn handler_callee(s: &Site) -> Option<Hit> {
    if s.ctx.in_handler || s.ctx.is_except_or_raise {
        return None;
    }
    let (i, c) = s
        .callers
        .iter()
        .enumerate()
        .take(3)
        .find(|(_, c)| c.ctx.in_handler || c.ctx.is_except_or_raise)?;
    // The handler's function repeats: a loop around it, or further up the chain.
    let repeated = !c.ctx.loops.is_empty()
        || s.callers[i + 1..].iter().any(|u| {
            u.ctx.loops.iter().any(super::common::work_loop)
                || u.ctx.calls.iter().any(|n| n.ends_with(".get"))
        });
    if !repeated {
        return None;
    }
    // When a `try` in the loop further up is what catches it, that loop's try is where the fix goes.
    let c = s.callers[i + 1..]
        .iter()
        .take(3)
        .find(|u| !u.ctx.try_handlers.is_empty() && !u.ctx.loops.is_empty())
        .unwrap_or(c);
    hit_at(
        0.8,
        format!(
            "line {} runs for the exception handling at line {} (`{}`), once per failure: the common case fails and pays for it",
            s.ctx.line, c.ctx.line, c.ctx.text
        ),
        c.loc,
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"class Invalid(ValueError):
    pass
def check(r):
    if not r:
        raise Invalid(r)
def run(rows):
    for r in rows:
        try:
            v = int(r)
        except ValueError:
            v = 0
        try:
            check(r)
        except Invalid:
            pass
    try:
        x = 1
    except KeyError:
        pass
"#;

    #[test]
    fn exceptions() {
        let s = src(CODE);
        assert!(try_in_loop(&site(&s, 9)).is_some());
        assert!(try_in_loop(&site(&s, 10)).unwrap().confidence > 0.8);
        // Near miss: a try outside any loop, called once.
        assert!(try_in_loop(&site(&s, 17)).is_none());
        assert_eq!(
            raised_per_item(&site(&s, 5).called_from(&[13])).unwrap().at,
            Some((0, 13))
        );
        assert!(raised_per_item(&site(&s, 5)).is_none());
    }

    /// Work called from a `raise` in a handler (the message lists the record's keys), once per failed lookup;
    /// the place is the `try` in the loop that catches it. Near misses: the same once; work under a plain line.
    #[test]
    fn work_under_a_handler() {
        let s = src("class R:\n    def __getitem__(self, k):\n        try:\n            return self.d[k]\n        except KeyError:\n            raise KeyError(f\"no {k}: {', '.join(self)}\")\n    def __iter__(self):\n        return (c for c in COLS if c in self.d)\ndef get(r, k):\n    for n in range(3):\n        try:\n            return r[k[:n]]\n        except KeyError:\n            continue\n");
        assert_eq!(
            handler_callee(&site(&s, 8).called_from(&[6, 12]))
                .unwrap()
                .at,
            Some((0, 12))
        );
        assert_eq!(
            handler_callee(&site(&s, 8).called_from(&[6, 10]))
                .unwrap()
                .at,
            Some((0, 6))
        );
        assert!(handler_callee(&site(&s, 8).called_from(&[6])).is_none());
        assert!(handler_callee(&site(&s, 8).called_from(&[4, 12])).is_none());
    }

    /// The handler's own work (formatting a message, sorting keys for it), run once per failed lookup.
    #[test]
    fn handler_work() {
        let s = src("class P:\n    def __getattr__(self, name):\n        try:\n            return self._p[name]\n        except KeyError:\n            at = stamp(self.ts)\n            raise AttributeError(f\"{name} {sorted(self._p)}\")\ndef cell(m, c):\n    return getattr(m, c, None)\ndef flat(m, cols):\n    return [cell(m, c) for c in cols]\n");
        assert!(try_in_loop(&site(&s, 6).called_from(&[9, 11])).is_some());
        assert!(crate::diagnose::rules::sorting::sorting_helper(
            &site(&s, 7).called_from(&[9, 11])
        )
        .is_none());
        // Near miss: the handler of a function called once.
        assert!(try_in_loop(&site(&s, 6)).is_none());
        // Near miss: a request inside a try, per item: the wait is the cost.
        let io = src("import urllib.request\ndef poll(urls):\n    for u in urls:\n        try:\n            r = urllib.request.urlopen(u)\n        except OSError:\n            pass\n");
        assert!(try_in_loop(&site(&io, 5)).is_none());
    }
}
