//! `python_numeric_loop`: arithmetic on numbers element by element in Python where NumPy would do.

use super::common::{hit, hit_at, loops_text, uses_ident};
use super::{Hit, Site};

fn arithmetic(s: &Site) -> bool {
    s.ctx
        .augmented
        .iter()
        .any(|(_, op, _)| matches!(op.as_str(), "+=" | "-=" | "*=" | "/=" | "**="))
        || [
            "math.", " * ", " ** ", " / ", " - ", " + ", "sqrt(", "exp(", "log(",
        ]
        .iter()
        .any(|op| s.ctx.text.contains(op))
}

/// Math calls and power operators on the line.
fn math_weight(s: &Site) -> usize {
    s.ctx
        .calls
        .iter()
        .filter(|c| {
            c.starts_with("math.")
                || c.starts_with("np.")
                || c.starts_with("numpy.")
                || c.starts_with("cmath.")
                || matches!(
                    c.as_str(),
                    "sqrt" | "exp" | "log" | "sin" | "cos" | "atan2" | "hypot"
                )
        })
        .count()
        + s.ctx.text.matches("**").count()
        + s.callees
            .iter()
            .filter(|c| c.name.starts_with("math."))
            .count()
}

/// An element loop (`range`, `zip`, over a numeric array) doing arithmetic on items.
pub fn element_loop(s: &Site) -> Option<Hit> {
    let ctx = &s.ctx;
    let numpy = s.src.mentions("numpy");
    let is_array = |l: &crate::diagnose::source::LoopInfo| {
        numpy
            && l.kind != "while"
            && s.src.bindings(l.iter.trim()).iter().any(|b| {
                b.starts_with("np.")
                    || b.starts_with("numpy.")
                    || b.contains(".to_numpy(")
                    || b.contains(".values")
            })
    };
    // Loops over indexes, zipped sequences or arrays: the loops whose items are numbers.
    // (A loop whose item is `_` only repeats its body.)
    let element = |l: &crate::diagnose::source::LoopInfo| {
        (l.iter.starts_with("range(") || l.iter.contains("zip(") || is_array(l))
            && super::common::targets(l).iter().any(|v| *v != "_")
    };
    let index_loop = ctx.loops.iter().any(|l| l.iter.starts_with("range("));
    let zip_loop = ctx.loops.iter().any(|l| l.iter.contains("zip("));
    let array_loop = ctx.loops.iter().any(is_array);
    // A sum of products over a generator (`sum(x * y for x, y in zip(a, b))`): a dot product, a norm; or an
    // arithmetic lambda mapped over sequences (`map(lambda p, b: (p - b) * g, raw, bias)`).
    let products = [" * ", "**", " - ", " / "]
        .iter()
        .any(|op| ctx.text.contains(op));
    // ... or an operator mapped pairwise (`sum(map(operator.mul, taps, window))`: a dot product).
    let op_mapped = ["mul", "add", "sub", "truediv"].iter().any(|o| {
        ctx.text.contains(&format!("map(operator.{o},"))
            || (ctx.text.contains(&format!("map({o},")) && s.src.mentions("from operator import"))
    });
    let mapped = ctx.text.contains("map(lambda") && products || op_mapped;
    let reduction = (ctx.loops.iter().any(|l| l.kind == "comprehension")
        && ["sum(", "fsum("].iter().any(|r| ctx.text.contains(r))
        && products)
        || mapped;
    // Array elements read at the loop's indexes (`raw[y, x]`) and handed to a function of the program that does
    // the arithmetic (`v = correct_pixel(float(raw[y, x]), ...)`): element by element, though the operators sit
    // in the helper.
    let element_helper = numpy && indexes_elements(ctx) && calls_arithmetic_helper(s);
    // A loop over records (particles, positions) whose float fields the line works with through math calls
    // (`rel = math.sqrt(ur * ur + ...)` on `e.u`, `e.z`): array-of-structs physics that NumPy does as columns.
    // (Plain business arithmetic on a record's fields, with no math call, is not.)
    // (The loop's body does the math; a line of it works on the record's fields or on values the body made
    // from them.)
    let object_loop = ctx
        .loops
        .iter()
        .rev()
        .find(|l| l.kind == "for")
        .is_some_and(|l| {
            let item = super::common::targets(l);
            let body: String = s
                .src
                .block(l.line)
                .iter()
                .map(|&b| s.src.line_text(b))
                .collect::<Vec<_>>()
                .join("\n");
            let math_calls = ["math.", "sqrt(", "exp(", "log(", "sin(", "cos(", "**"]
                .iter()
                .map(|m| body.matches(m).count())
                .sum::<usize>();
            item.len() == 1
                && item[0] != "_"
                && math_calls >= 3
                && (ctx.text.contains(&format!("{}.", item[0]))
                    || l.assigned.iter().any(|a| uses_ident(&ctx.text, a)))
                && arithmetic(s)
        });
    if object_loop && !ctx.text.contains('"') && !ctx.text.contains('\'') {
        return hit(
            0.55,
            format!(
                "line {} does float math on each record's fields in the Python loop over {}",
                ctx.line,
                loops_text(ctx)
            ),
        );
    }
    if !(index_loop || zip_loop || array_loop || reduction)
        || !(arithmetic(s) || op_mapped || element_helper)
    {
        return None;
    }
    // Element by element: the line works on the loop's item (or index); `for _ in range(n)` only repeats.
    // (Whether the line reads an element through a name the loop bound at its index: `c = row[j]`.)
    let mut via_alias = false;
    let uses_item = ctx
        .loops
        .iter()
        .filter(|l| element(l) || reduction)
        .any(|l| {
            // ... or, in a loop over zipped values or an array (its items are numbers), what the loop carries
            // from pass to pass: a filter's state updated from the items.
            let carried = !l.iter.starts_with("range(");
            let targets = super::common::targets(l);
            // ... or, in a loop over indexes, a value the body reads at the index (`lat = radians(lats[i])`):
            // the element under another name.
            // So is a value computed from the index (`t = k * STEP`, `dt = t - d * TAU`): the index is the number.
            let indexed = |a: &str| {
                !carried
                    && s.src.bindings(a).iter().any(|b| {
                        targets.iter().any(|t| {
                            *t != "_"
                                && (b.contains(&format!("[{t}]"))
                                    || (uses_ident(b, t)
                                        && [" * ", " / ", " + ", " - "]
                                            .iter()
                                            .any(|op| b.contains(op))))
                        })
                    })
            };
            let aliases: Vec<&str> = l
                .assigned
                .iter()
                .map(|a| a.as_str())
                .filter(|a| a.chars().all(|c| c.is_alphanumeric() || c == '_'))
                .filter(|a| carried || indexed(a))
                .collect();
            // (Read on the right-hand side: the name the line assigns is not what it reads.)
            let read = if ctx.assignments.is_empty() {
                ctx.text.clone()
            } else {
                ctx.assignments
                    .iter()
                    .map(|(_, v)| v.as_str())
                    .collect::<Vec<_>>()
                    .join(" ")
            };
            if !carried
                && aliases.iter().any(|a| {
                    super::common::uses_ident(&read, a)
                        && s.src
                            .bindings(a)
                            .iter()
                            .any(|b| targets.iter().any(|t| *t != "_" && subscripted_by(b, t)))
                })
            {
                via_alias = true;
            }
            targets
                .iter()
                .copied()
                .chain(aliases.iter().copied())
                .any(|v| v != "_" && super::common::uses_ident(&ctx.text, v))
        });
    if !(uses_item || mapped || element_helper) {
        return None;
    }
    // String work and container building are not numeric loops.
    if ctx.text.contains('"') || ctx.text.contains('\'') {
        return None;
    }
    let conf = if numpy {
        0.8
    } else if reduction && s.repeated() {
        // Vector math in a helper called per item: the classic place for NumPy.
        0.75
    } else if ctx.text.contains('[') || via_alias || math_weight(s) > 0 || reduction || zip_loop {
        0.55
    } else {
        return None;
    };
    hit(
        conf,
        format!(
            "line {} does arithmetic element by element in the Python loop over {}",
            ctx.line,
            loops_text(ctx)
        ),
    )
}

/// `text` subscripts something with an expression of `index` (`row[j]`, `row[j - 1]`, `g[i][j + 1]`).
fn subscripted_by(text: &str, index: &str) -> bool {
    let mut rest = text;
    while let Some(open) = rest.find('[') {
        let inner = &rest[open + 1..];
        let close = inner.find(']').unwrap_or(inner.len());
        if uses_ident(&inner[..close], index) {
            return true;
        }
        rest = inner;
    }
    false
}

/// The line subscripts something with the indexes of the range loops around it, all of them in order
/// (`a[i]`, `img[y, x]`, `m[i][j]`).
fn indexes_elements(ctx: &crate::diagnose::source::LineContext) -> bool {
    let idx: Vec<&str> = ctx
        .loops
        .iter()
        .filter(|l| l.iter.starts_with("range("))
        .flat_map(super::common::targets)
        .filter(|v| *v != "_")
        .collect();
    !idx.is_empty()
        && (ctx.text.contains(&format!("[{}]", idx.join(", ")))
            || ctx.text.contains(&format!("[{}]", idx.join("][")))
            || (idx.len() == 1 && ctx.text.contains(&format!("[{}]", idx[0]))))
}

/// The line calls a function of the program whose body does arithmetic (an operator outside strings).
fn calls_arithmetic_helper(s: &Site) -> bool {
    s.ctx.calls.iter().any(|c| {
        let name = c.rsplit('.').next().unwrap_or(c);
        s.src.functions().iter().any(|f| {
            f.name == name
                && (f.start + 1..=f.end).any(|l| {
                    let text = s.src.line_text(l);
                    !text.contains(['"', '\''])
                        && [" * ", " / ", " - ", " + ", " ** "]
                            .iter()
                            .any(|op| text.contains(op))
                })
        })
    })
}

/// The line's math works on arrays: an argument of its calls is a name bound to an array built from a
/// collection (`stage = np.array([...])`, then `np.polyfit(np.log(stage), ...)`): vector work, not scalar.
fn on_arrays(s: &Site) -> bool {
    const MAKES_ARRAYS: [&str; 8] = [
        "np.array(",
        "np.asarray(",
        "np.fromiter(",
        "np.zeros(",
        "np.ones(",
        "np.empty(",
        "np.arange(",
        "np.linspace(",
    ];
    s.ctx.call_texts.iter().any(|c| {
        let Some((_, args)) = c.split_once('(') else {
            return false;
        };
        args.split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
            .filter(|w| !w.is_empty() && !w.chars().next().is_some_and(|ch| ch.is_ascii_digit()))
            .any(|w| {
                s.src
                    .bindings(w)
                    .iter()
                    .any(|b| MAKES_ARRAYS.iter().any(|m| b.contains(m)))
            })
    })
}

/// A loop over a few fixed values: a literal tuple or list of numbers, `range` of a literal or a constant, a
/// module constant, or those zipped with the element's own fields (`zip(WEIGHTS, px)`).
fn fixed_size(iter: &str) -> bool {
    let it = iter.trim();
    let constant = |w: &str| {
        let w = w.trim();
        !w.is_empty()
            && w.chars().any(|c| c.is_ascii_uppercase())
            && w.chars()
                .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit() || c == '_')
    };
    let literal = |w: &str| {
        let w = w.trim();
        (w.starts_with('(') || w.starts_with('['))
            && w.chars()
                .all(|c| c.is_ascii_digit() || "()[], -+.".contains(c))
    };
    if literal(it) || constant(it) {
        return true;
    }
    if let Some(args) = it.strip_prefix("range(").and_then(|r| r.strip_suffix(')')) {
        return args
            .split(',')
            .all(|a| a.trim().parse::<i64>().is_ok() || constant(a));
    }
    ["zip(", "enumerate("].iter().any(|z| {
        it.strip_prefix(z).is_some_and(|args| {
            args.split(',')
                .any(|a| constant(a.trim_end_matches(')')) || literal(a))
        })
    })
}

/// A scalar math helper (no loop of its own) called once per element from a loop.
pub fn scalar_helper(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    // Its own loops may only repeat a step (`for _ in range(NEWTON_STEPS)`) or walk a small fixed stencil or
    // table (`for dr in (-1, 0, 1)`, `zip(WEIGHTS, px)`), not walk the data.
    let repeats_only = s
        .ctx
        .loops
        .iter()
        .all(|l| super::common::targets(l).iter().all(|v| *v == "_") || fixed_size(&l.iter));
    // The math may be spread over the function's lines (an exponent here, a `math.exp` there).
    let function_weight = (f.start + 1..=f.end)
        .map(|l| {
            let t = s.src.line_text(l);
            ["math.", "cmath.", "**"]
                .iter()
                .map(|m| t.matches(m).count())
                .sum::<usize>()
        })
        .sum::<usize>();
    // ... or the function is a physics-style update of one object, most of its statements float arithmetic
    // around a math call (`norm = math.sqrt(gx * gx + gy * gy)`, `self.vx += (-gx / norm ...) * dt`): an agent
    // stepped per tick, the shape that becomes arrays of all agents.
    let arithmetic_lines = (f.start + 1..=f.end)
        .filter(|&l| {
            let t = s.src.line_text(l);
            !t.contains(['"', '\''])
                && [" * ", " / ", " ** ", " + ", " - "]
                    .iter()
                    .any(|op| t.contains(op))
        })
        .count();
    let body_lines = (f.start + 1..=f.end)
        .filter(|&l| !s.src.line_text(l).trim().is_empty())
        .count();
    let update =
        function_weight >= 1 && arithmetic_lines >= 4 && 3 * arithmetic_lines >= body_lines;
    // ... or plain arithmetic on numbers handed in: the parameters are used as values (never `p.attr`), and the
    // line calls nothing but a few numeric builtins (a weighted sum over a fixed table, a clamp, an index).
    let param_values = f.params.iter().filter(|p| *p != "self").all(|p| {
        let dotted = format!("{p}.");
        (f.start + 1..=f.end).all(|l| {
            let t = s.src.line_text(l);
            !t.match_indices(&dotted).any(|(i, _)| {
                !t[..i].ends_with(|ch: char| ch.is_alphanumeric() || ch == '_' || ch == '.')
            })
        })
    }) && f.params.iter().any(|p| {
        p != "self" && uses_ident(&s.ctx.text, p) || {
            // (or a local computed from them: `acc += row[...]`)
            !s.ctx.augmented.is_empty()
        }
    });
    let numeric_calls = s.ctx.call_texts.iter().all(|c| {
        let callee = c.split('(').next().unwrap_or("");
        matches!(
            callee,
            "min" | "max" | "abs" | "int" | "float" | "round" | "len" | "zip" | "range"
        ) || (callee == "sum" && c.contains(" for "))
    });
    let plain = param_values
        && numeric_calls
        && arithmetic(s)
        && !f.params.is_empty()
        && 2 * arithmetic_lines >= body_lines;
    let line_math =
        math_weight(s) >= 2 || (function_weight >= 2 && arithmetic(s)) || update || plain;
    if !repeats_only
        || !line_math
        || !s.repeated()
        || s.ctx.text.contains(['"', '\''])
        || on_arrays(s)
    {
        return None;
    }
    let evidence = format!(
        "`{}` does scalar math (line {}: `{}`) and is called once per element, {}: the arithmetic never leaves the interpreter",
        f.name,
        s.ctx.line,
        s.ctx.text,
        s.repetition_text()
    );
    match s.caller_place() {
        Some(at) => hit_at(0.85, evidence, at),
        None => hit(0.75, evidence),
    }
}

/// `x = rhs` or `x op= rhs` at the top level of a line: (target, operator or "", right-hand side).
fn assignment(t: &str) -> Option<(&str, &str, &str)> {
    let b = t.as_bytes();
    let mut depth = 0i32;
    for (i, &c) in b.iter().enumerate() {
        match c {
            b'(' | b'[' | b'{' => depth += 1,
            b')' | b']' | b'}' => depth -= 1,
            b'"' | b'\'' | b'#' => return None,
            b'=' if depth == 0 => {
                let prev = i.checked_sub(1).map(|j| b[j]);
                if b.get(i + 1) == Some(&b'=') || matches!(prev, Some(b'=' | b'<' | b'>' | b'!')) {
                    return None;
                }
                let op_start = t[..i].trim_end_matches(['+', '-', '*', '/', '%']).len();
                return Some((t[..op_start].trim(), &t[op_start..i], t[i + 1..].trim()));
            }
            _ => {}
        }
    }
    None
}

/// A loop whose body is a chain of scalar arithmetic carrying state from pass to pass (a balance amortised
/// month by month, a simulation's step): every statement of it runs once per element in the interpreter.
pub fn stepwise(s: &Site) -> Option<Hit> {
    let header = s.ctx.innermost_loop()?;
    let body = s.src.block(header.line);
    let (mut arith, mut total) = (0, 0);
    let mut carried: Vec<String> = Vec::new();
    for &l in &body[1..] {
        let t = s.src.line_text(l);
        if t.is_empty() || t.starts_with('#') {
            continue;
        }
        total += 1;
        let Some((target, op, rhs)) = assignment(&t) else {
            continue;
        };
        let ops = [" * ", " / ", " - ", " + ", "**"];
        if !(matches!(op, "+" | "-" | "*" | "/") || ops.iter().any(|o| rhs.contains(o))) {
            continue;
        }
        arith += 1;
        // State: a name updated from itself by more than a count (`bal -= paid`, `p = (1 - k) * p`).
        let plain = target.chars().all(|c| c.is_alphanumeric() || c == '_');
        let state = if op.is_empty() {
            uses_ident(rhs, target)
        } else {
            !(matches!(op, "+" | "-") && rhs.parse::<f64>().is_ok())
        };
        if plain && state && !carried.iter().any(|c| c == target) {
            carried.push(target.to_string());
        }
    }
    if arith < 4 || arith * 2 < total || carried.len() < 2 {
        return None;
    }
    hit(
        0.55,
        format!(
            "the loop over {} (line {}) is a chain of {arith} scalar arithmetic statements carrying {} from pass to pass: each runs once per element in the interpreter",
            if header.kind == "while" { format!("`while {}`", header.iter) } else { format!("`{}`", header.iter) },
            header.line,
            carried.iter().map(|c| format!("`{c}`")).collect::<Vec<_>>().join(", ")
        ),
    )
}

/// `np.vectorize(f)` (and `np.frompyfunc`) is a Python loop calling `f` once per element: the line that builds
/// or applies it, or a line of `f` when a caller applies it that way (or `f` is decorated with it).
pub fn vectorize(s: &Site) -> Option<Hit> {
    let vec = |t: &str| {
        [
            "np.vectorize",
            "numpy.vectorize",
            "np.frompyfunc",
            "numpy.frompyfunc",
        ]
        .iter()
        .any(|v| t.contains(v))
    };
    let evidence = |line: u32| {
        format!("`np.vectorize` (line {line}) calls a Python function once per element of the array: a Python loop, not vectorised code")
    };
    if vec(&s.ctx.text) {
        return hit(0.8, evidence(s.ctx.line));
    }
    let f = s.ctx.function.as_ref()?;
    let names_f = |t: &str| uses_ident(t, &f.name) || t.contains(&format!(".{}", f.name));
    if f.decorators.iter().any(|d| vec(d)) {
        return match s.callers.first() {
            Some(c) => hit_at(0.8, evidence(f.first), c.loc),
            None => hit(0.8, evidence(f.first)),
        };
    }
    let c = s.callers.iter().find(|c| {
        (vec(&c.ctx.text) && names_f(&c.ctx.text))
            || c.ctx
                .calls
                .iter()
                .any(|k| c.src.bindings(k).iter().any(|b| vec(b) && names_f(b)))
    })?;
    hit_at(0.8, evidence(c.ctx.line), c.loc)
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"import math
import numpy as np
def dist(a, b):
    return math.sqrt((a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2)
def run(points, xs):
    arr = np.array(xs)
    out = [dist(p, points[0]) for p in points]
    for i in range(len(xs)):
        xs[i] = xs[i] * 2 + 1
    for v in arr:
        t = v * 3.0 - 1
    for i in range(3):
        name = "a" + str(i)
"#;

    #[test]
    fn numeric() {
        let s = src(CODE);
        assert!(element_loop(&site(&s, 9)).is_some());
        assert!(element_loop(&site(&s, 11)).is_some());
        // Near miss: string work in an index loop.
        assert!(element_loop(&site(&s, 13)).is_none());
        // Near miss: a loop that only repeats (its item unused) updating a scalar.
        let rep = src("def f(n, steps, rng):\n    t = 0\n    for _ in range(n):\n        t += steps[rng.getrandbits(3)]\n");
        assert!(element_loop(&site(&rep, 4)).is_none());
        // Near miss: the numbers come from a dict's records, not from the index loop around it.
        let sim = src("def f(ticks, plans):\n    for tick in range(ticks):\n        for k, plan in plans.items():\n            plan[1] = plan[0] + 3\n");
        assert!(element_loop(&site(&sim, 4)).is_none());
        let m = src(
            "def cal(raw, bias, g):\n    return list(map(lambda p, b: (p - b) * g, raw, bias))\n",
        );
        assert!(element_loop(&site(&m, 2)).is_some());
        // A dot product per sample by a mapped operator; near miss: a mapped str function.
        let fir = src("from operator import mul\ndef fir(taps, samples, window):\n    out = []\n    for x in samples:\n        window.append(x)\n        out.append(sum(map(mul, taps, window)) >> 8)\n        out.append(list(map(str.upper, window)))\n");
        assert!(element_loop(&site(&fir, 6)).is_some());
        assert!(element_loop(&site(&fir, 7)).is_none());
        // A filter's state, updated from zipped measurements on every pass.
        let kf = src("def f(xs, ys):\n    p, s = 1.0, 0.0\n    for x, y in zip(xs, ys):\n        k = p / (p + 0.5)\n        s += k * (x - s)\n        p = (1 - k) * p\n");
        assert!(element_loop(&site(&kf, 6)).is_some());
        // A stencil step: the elements read at the indexes under other names (`c = row[j]`), the arithmetic on
        // those names. Near miss: a value computed once outside the index loop.
        let st = src("def step(h, k, n):\n    new = [0.0] * n\n    for j in range(1, n - 1):\n        c = h[j]\n        hw = h[j - 1]\n        lap = hw + h[j + 1] - 2.0 * c\n        val = c + k * lap\n        new[j] = val\n    s = k * 2\n    for j in range(n):\n        t = s * 3.0 - 1\n    return new\n");
        assert!(element_loop(&site(&st, 7)).is_some());
        assert!(element_loop(&site(&st, 11)).is_none());
        // Float math on each particle's fields; near misses: business arithmetic on a record's fields, and a
        // math call on something other than the record.
        let p = src("import math\ndef step(parts, rows, dt):\n    for e in parts:\n        rel = math.sqrt(e.u * e.u + e.w * e.w)\n        re = rel * e.d ** 2\n        cd = 24.0 / re * (1.0 + math.exp(-re))\n        e.z += e.w * dt * cd\n    for r in rows:\n        net = r.qty * r.price + r.fee\n        k = math.sqrt(dt) * 2\n        tax = net * 0.2\n");
        assert!(element_loop(&site(&p, 4)).is_some());
        assert!(element_loop(&site(&p, 7)).is_some());
        assert!(element_loop(&site(&p, 9)).is_none());
        assert!(element_loop(&site(&p, 11)).is_none());
        // Near miss: a value computed from the index (not an element read at it) under another name.
        let gen = src("def gen(n, rng):\n    for i in range(n):\n        r = rng.getrandbits(8)\n        secs = 600 + i * 34\n        tot = secs * 2 + r\n");
        assert!(element_loop(&site(&gen, 5)).is_none());
        let h = scalar_helper(&site(&s, 4).called_from(&[7])).unwrap();
        assert_eq!(h.at, Some((0, 7)));
        assert!(scalar_helper(&site(&s, 4)).is_none());
        // Newton steps on one value, the math spread over lines, mapped over readings.
        let n = src("import math\nclass K:\n    def c(self, mv):\n        t = mv * 2.0\n        for _ in range(3):\n            g = math.exp(t ** 2)\n            t -= (g - mv) / 2.0\n        return t\n    def all(self, xs):\n        return list(map(self.c, xs))\n");
        assert_eq!(
            scalar_helper(&site(&n, 7).called_from(&[10])).unwrap().at,
            Some((0, 10))
        );
        // Near miss: a fit over arrays built from the object's data, per reading (repeated work, not scalar).
        let fit = src("import numpy as np\nclass S:\n    def rating(self):\n        stage = np.array([g[0] for g in self.g])\n        b, a = np.polyfit(np.log(stage), np.log(stage * 2), 1)\n        return a, b\n    def q(self, h):\n        return self.rating()[0] * h\ndef run(s, hs):\n    return [s.q(h) for h in hs]\n");
        assert!(scalar_helper(&site(&fit, 5).called_from(&[8, 10])).is_none());
        // An agent's physics update, stepped per tick: mostly float arithmetic around a math call; near miss: a
        // business method that adds and multiplies without any.
        let agent = src("import math\nclass P:\n    def step(self, f, dt):\n        gx = f[0] - f[1] + self.lx\n        gy = f[2] - f[3] + self.ly\n        n = math.sqrt(gx * gx + gy * gy) or 1.0\n        self.vx += (-gx / n - self.vx) * dt\n        self.vy += (-gy / n - self.vy) * dt\n        if self.blocked(self.x, self.y):\n            self.vx = 0.0\n    def total(self, r):\n        net = r.qty * r.price\n        tax = net * r.rate\n        fee = net / 100 + 2\n        disc = net - r.coupon\n        if r.vip:\n            disc = disc * 0.9\ndef run(ps, rows, f):\n    for p in ps:\n        p.step(f, 0.1)\n    for r in rows:\n        ps[0].total(r)\n");
        assert!(scalar_helper(&site(&agent, 9).called_from(&[20])).is_some());
        assert!(scalar_helper(&site(&agent, 13).called_from(&[22])).is_none());
        // Near misses: the same once; a helper walking its own elements.
        assert!(scalar_helper(&site(&n, 7)).is_none());
        let w = src("import math\ndef norm(v):\n    s = 0.0\n    for x in v:\n        s += math.sqrt(x ** 2)\n    return s\ndef run(vs):\n    return [norm(v) for v in vs]\n");
        assert!(scalar_helper(&site(&w, 5).called_from(&[8])).is_none());
    }

    /// Plain arithmetic on numbers handed in, per pixel: a weighted sum over a fixed table, a 3x3 stencil
    /// with clamped indexes. Near misses: a helper reading its argument's attributes, one summarising a
    /// list it is given (a statistic, not element work), and one walking the data it is given.
    #[test]
    fn plain_arithmetic_helpers() {
        let s = src(r#"import statistics
def greenness(px):
    return sum(w * b for w, b in zip(WEIGHTS, px))
def focal(grid, r, c):
    acc = 0.0
    last = len(grid) - 1
    for dr in (-1, 0, 1):
        row = grid[min(max(r + dr, 0), last)]
        for dc in (-1, 0, 1):
            acc += row[min(max(c + dc, 0), last)]
    return acc / 9.0
def minutes(truck):
    return 12 + truck.units * RATE
def z(v, values):
    return (v - statistics.mean(values)) / statistics.stdev(values)
def total(row):
    return sum(x * 2 for x in row)
def run(grid, trucks, values):
    for r in range(len(grid)):
        for c in range(len(grid[0])):
            greenness(grid[r][c])
            focal(grid, r, c)
            minutes(trucks[c])
            z(grid[r][c], values)
            total(grid[r])
"#);
        assert_eq!(
            scalar_helper(&site(&s, 3).called_from(&[21])).unwrap().at,
            Some((0, 21))
        );
        assert_eq!(
            scalar_helper(&site(&s, 10).called_from(&[22])).unwrap().at,
            Some((0, 22))
        );
        assert!(scalar_helper(&site(&s, 13).called_from(&[23])).is_none());
        assert!(scalar_helper(&site(&s, 15).called_from(&[24])).is_none());
        assert!(scalar_helper(&site(&s, 17).called_from(&[25])).is_none());
        assert!(
            fixed_size("(-1, 0, 1)") && fixed_size("range(3)") && fixed_size("zip(WEIGHTS, px)")
        );
        assert!(!fixed_size("range(n)") && !fixed_size("zip(xs, ys)") && !fixed_size("rows"));
    }

    /// Array elements read at the loop's indexes and handed to an arithmetic helper of the program. Near misses:
    /// the same loop in a program without NumPy; a helper that only formats.
    #[test]
    fn array_elements_handed_to_a_helper() {
        let code = "import numpy as np\ndef px(r, d, t):\n    return (r - d) * t\ndef label(r):\n    return f\"{r:.1f}\"\ndef tile(raw, dark, t):\n    out = np.empty(raw.shape)\n    for y in range(raw.shape[0]):\n        for x in range(raw.shape[1]):\n            out[y, x] = px(float(raw[y, x]), float(dark[y, x]), t)\n            names.append(label(raw[y, x]))\n    return out\n";
        let s = src(code);
        assert!(element_loop(&site(&s, 10)).is_some());
        assert!(element_loop(&site(&s, 11)).is_none());
        let plain = src(&code
            .replace("import numpy as np\n", "")
            .replace("np.empty(raw.shape)", "{}"));
        assert!(element_loop(&site(&plain, 9)).is_none());
    }

    #[test]
    fn vector_math_in_a_helper() {
        let s = src("import math\ndef cosine(a, b):\n    dot = sum(x * y for x, y in zip(a, b))\n    na = math.sqrt(sum(x * x for x in a))\n    n = sum(1 for x in a if x)\n    return dot / na\ndef rank(items, q):\n    return [cosine(q, v) for v in items]\n");
        let h = element_loop(&site(&s, 3).called_from(&[8])).unwrap();
        assert_eq!(h.confidence, 0.75);
        assert!(element_loop(&site(&s, 4).called_from(&[8])).is_some());
        // Near miss: counting is not arithmetic on the elements.
        assert!(element_loop(&site(&s, 5).called_from(&[8])).is_none());
    }

    /// In a loop over indexes, a value read at the index under another name (`lat = radians(lats[i])`) is the
    /// element, in an inner loop too. Near miss: a name drawn afresh each pass (`x = rng.random()`).
    #[test]
    fn element_under_another_name() {
        let s = src("import math\ndef metrics(lats, parks, rng):\n    d = 0.0\n    for i in range(1, len(lats)):\n        lat = math.radians(lats[i])\n        x = rng.random()\n        for plat, pcos in parks:\n            a = math.sin(lat - plat) ** 2 + pcos\n            b = math.sin(x) ** 2 + pcos\n    return d\n");
        assert!(element_loop(&site(&s, 8)).is_some());
        assert!(element_loop(&site(&s, 9)).is_none());
        // A value computed from the index is the element too (time steps, dose offsets).
        let pk = src("import math\ndef conc(n, doses, ke, step, tau):\n    out = []\n    for k in range(n):\n        t = k * step\n        c = 0.0\n        for d in range(doses):\n            dt = t - d * tau\n            c += math.exp(-ke * dt)\n        out.append(c)\n    return out\n");
        assert!(element_loop(&site(&pk, 9)).is_some());
    }

    #[test]
    fn stepwise_state() {
        let s = src("def flows(bal, rate, pmt, mdr, n):\n    for m in range(n):\n        d = bal * mdr\n        bal -= d\n        i = bal * rate\n        sched = min(pmt - i, bal)\n        bal -= sched\n        pmt *= 0.99\n        yield (m, i, sched)\n");
        assert!(stepwise(&site(&s, 9)).is_some());
        assert!(stepwise(&site(&s, 4)).is_some());
        // Near misses: counters and one running total; text work; arithmetic without state carried over.
        let c = src("def agg(rows):\n    for r in rows:\n        n += 1\n        total += r.amount\n        label = r.a + r.b\n        w = r.x * 2\n        v = r.y / 3\n");
        assert!(stepwise(&site(&c, 4)).is_none());
        let t = src("def f(rows):\n    for r in rows:\n        a = r.x * 2\n        b = r.y * 3\n        c = a - b\n        d = c / 2\n        print(a, b, c, d)\n        log.info(\"x\")\n");
        assert!(stepwise(&site(&t, 4)).is_none());
        assert_eq!(assignment("if a == b:"), None);
        assert_eq!(assignment("x[i] = a == b"), Some(("x[i]", "", "a == b")));
        assert_eq!(assignment("f(a=1)"), None);
        assert_eq!(assignment("bal -= a * b"), Some(("bal", "-", "a * b")));
        assert_eq!(assignment("x **= 2"), Some(("x", "**", "2")));
    }

    #[test]
    fn vectorized() {
        let s = src("import numpy as np\nclass C:\n    def kw(self, v):\n        return v * 2\n    def run(self, a):\n        return np.vectorize(self.kw, otypes=[float])(a)\ndef other(a):\n    g = np.vectorize(lambda v: v + 1)\n    return g(a)\n@np.vectorize\ndef h(v):\n    return v - 1\n");
        assert!(vectorize(&site(&s, 6)).is_some());
        assert_eq!(
            vectorize(&site(&s, 4).called_from(&[6])).unwrap().at,
            Some((0, 6))
        );
        assert!(vectorize(&site(&s, 12)).is_some());
        // Near miss: the same function called directly per element.
        let d = src("def kw(v):\n    return v * 2\ndef run(a):\n    return [kw(v) for v in a]\n");
        assert!(vectorize(&site(&d, 2).called_from(&[4])).is_none());
    }
}
