//! `nested_loop_join`: matching two collections by scanning one for every item of the other.

use super::common::{hit, hit_at, is_literal, loops_text, targets, uses_ident};
use super::{Hit, Site};

/// Two loops over collections around the line (statements or comprehension clauses), the inner one not
/// derived from the outer item; surest when a key of one is compared with a key of the other.
pub fn nested_loops(s: &Site) -> Option<Hit> {
    let ctx = &s.ctx;
    let loops: Vec<_> = ctx
        .loops
        .iter()
        .filter(|l| {
            l.kind != "while" && !l.iter.starts_with("range(") || l.iter.starts_with("range(len(")
        })
        .collect();
    if loops.len() < 2 || ctx.loops.iter().all(|l| l.iter.starts_with("range(")) {
        return None;
    }
    let (outer, inner) = (loops[loops.len() - 2], loops[loops.len() - 1]);
    // Two comprehensions side by side on one line are not nested.
    if !(outer.span.0 <= inner.span.0 && inner.span.1 <= outer.span.1) {
        return None;
    }
    let (ov, iv) = (targets(outer), targets(inner));
    let compares_both = ctx.equalities.iter().any(|(a, b)| {
        let uses = |t: &str, vs: &[&str]| vs.iter().any(|v| uses_ident(t, v));
        (uses(a, &iv) && uses(b, &ov)) || (uses(b, &iv) && uses(a, &ov))
    });
    // An inner loop over something made from the outer item (the words of a text) is not a join.
    let derived = ov.iter().any(|v| uses_ident(&inner.iter, v))
        || s.src
            .bindings(inner.iter.trim())
            .iter()
            .any(|b| ov.iter().any(|v| uses_ident(b, v)));
    // Without a comparison between the two loops' items it is only O(n*m) work, not (surely) a join.
    let conf = if compares_both {
        0.95
    } else if derived {
        0.25
    } else {
        0.35
    };
    hit(
        conf,
        format!(
            "line {} is inside loops over {}{}: O(n*m) work",
            ctx.line,
            loops_text(ctx),
            if compares_both {
                "; it compares a key of one with a key of the other: a join by scanning"
            } else {
                ""
            }
        ),
    )
}

/// Every pair of two collections (`itertools.product(counts, ledger)`) tested for equal keys: the nested loop
/// written as a product, the test usually a lambda or a comprehension's `if`.
pub fn product_pairs(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    if s.ctx.equalities.is_empty() {
        return None;
    }
    let at = (f.start..=f.end).find(|&l| {
        let t = s.src.line_text(l);
        t.find("product(").is_some_and(|i| {
            let args = &t[i + "product(".len()..];
            args.contains(',') && !args.trim_start().starts_with("range(")
        })
    })?;
    hit_at(
        0.85,
        format!(
            "line {} tests every pair of two collections (`{}`) for equal keys (line {}): a join by scanning, O(n*m)",
            at,
            s.src.line_text(at).chars().take(60).collect::<String>(),
            s.ctx.line
        ),
        (s.file, at),
    )
}

/// A DataFrame filtered by a key per call (`df[df["upc"] == upc]`, `.loc[df.id == key]`): each call compares
/// the whole column with one key, and a loop calls it per item; an index or a merge does it once.
pub fn mask_lookup(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    if !(s.repeated() || s.in_loop()) || !s.src.mentions("pandas") {
        return None;
    }
    // Rows selected only to be summarised are a repeated summary (`repeated_computation`), not a join.
    if super::repeated::summarised_selection(s).is_some() {
        return None;
    }
    let key_like = |t: &str| {
        let t = t.trim();
        !t.is_empty()
            && t.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
            && !t.chars().next().is_some_and(|c| c.is_ascii_digit())
            && !matches!(t, "None" | "True" | "False")
    };
    let text = s.ctx.text.replace(' ', "");
    let (col, key) = s.ctx.equalities.iter().find_map(|(a, b)| {
        let column = |x: &str| x.contains("[\"") || x.contains("['");
        let (col, key) = if column(a) && key_like(b) {
            (a, b)
        } else if column(b) && key_like(a) {
            (b, a)
        } else {
            return None;
        };
        // The comparison selects rows: it sits inside a subscript of the frame.
        let c = col.replace(' ', "");
        (text.contains(&format!("[{c}==")) || text.contains(&format!("[({c}==")))
            .then(|| (col.clone(), key.clone()))
    })?;
    hit(
        0.85,
        format!(
            "`{}` selects rows by comparing the whole column `{col}` with `{key}` (line {}), {}: a join by scanning; index the frame once (or merge)",
            f.name,
            s.ctx.line,
            s.repetition_text()
        ),
    )
}

/// `if slot.key != key:` followed by `continue`: an equality test written as "skip the others".
fn skip_unless_equal(
    src: &crate::diagnose::source::SourceFile,
    line: u32,
) -> Option<(String, String)> {
    let text = src.line_text(line);
    let cond = text.strip_prefix("if ")?.strip_suffix(':')?;
    let (a, b) = cond.split_once(" != ")?;
    (src.line_text(line + 1) == "continue" && !a.contains(" and ") && !b.contains(" or "))
        .then(|| (a.trim().to_string(), b.trim().to_string()))
}

/// The table and column a query looks rows up by: `SELECT ... FROM consignment WHERE lot_no = ?` ->
/// (`consignment`, `lot_no`); case-insensitive keywords, any of the usual placeholders.
fn lookup_of(sql: &str) -> Option<(String, String)> {
    let lower = sql.to_lowercase();
    let word = |from: usize| -> String {
        lower[from..]
            .trim_start()
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let table = word(lower.find(" from ")? + 6);
    let after_where = lower.find(" where ")? + 7;
    let column = word(after_where);
    let rest = lower[after_where..].trim_start()[column.len()..].trim_start();
    let placeholder = rest
        .strip_prefix('=')
        .map(str::trim_start)
        .is_some_and(|r| {
            r.starts_with('?') || r.starts_with(':') || r.starts_with("%s") || r.starts_with('$')
        });
    (!table.is_empty() && !column.is_empty() && placeholder).then_some((table, column))
}

/// Whether the program's own schema makes `column` of `table` a key or indexes it: `Some(false)` when the
/// program creates the table and neither declares the column a key nor indexes it; `None` when the program does
/// not create the table (the schema lives elsewhere).
fn indexed(src: &crate::diagnose::source::SourceFile, table: &str, column: &str) -> Option<bool> {
    let text = (1..=src.lines())
        .map(|l| src.line_text(l))
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
        .replace(['"', '\'', '`'], " ");
    let create = [
        format!("create table {table} ("),
        format!("create table {table}("),
        format!("create table if not exists {table} ("),
        format!("create table if not exists {table}("),
    ]
    .iter()
    .find_map(|c| text.find(c.as_str()).map(|i| i + c.len()))?;
    // The column list, up to the parenthesis that closes it.
    let mut depth = 1;
    let body_end = text[create..]
        .char_indices()
        .find(|&(_, c)| {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            depth == 0
        })
        .map_or(text.len(), |(i, _)| create + i);
    let body = &text[create..body_end];
    let keyed_column = body.split(',').any(|def| {
        let def = def.trim();
        def.split_whitespace().next() == Some(column)
            && (def.contains("primary key") || def.contains("unique"))
    });
    let table_key = ["primary key", "unique"].iter().any(|k| {
        body.match_indices(k).any(|(i, _)| {
            body[i + k.len()..]
                .trim_start()
                .strip_prefix('(')
                .is_some_and(|r| r.trim_start().starts_with(column))
        })
    });
    let index = text.match_indices("create ").any(|(i, _)| {
        let rest = &text[i..];
        let head: String = rest.chars().take(200).collect();
        (head.starts_with("create index") || head.starts_with("create unique index"))
            && head.find(" on ").is_some_and(|o| {
                let on = head[o + 4..].trim_start();
                on.starts_with(table)
                    && on[table.len()..]
                        .trim_start()
                        .strip_prefix('(')
                        .is_some_and(|r| r.trim_start().starts_with(column))
            })
    });
    Some(keyed_column || table_key || index)
}

/// A query per item that looks a row up by a column the program's own schema neither keys nor indexes
/// (`SELECT ... FROM consignment WHERE lot_no = ?` on a table created without a key on `lot_no`): the database
/// scans the whole table for every lookup, a nested-loop join done in C. The SQL may be on the line or in the
/// call that passes it down (a repository's helper).
pub fn unindexed_query(s: &Site) -> Option<Hit> {
    if !s.ctx.calls.iter().any(|c| c.ends_with(".execute")) || !(s.in_loop() || s.repeated()) {
        return None;
    }
    let statement = |src: &crate::diagnose::source::SourceFile, line: u32| {
        let (a, b) = src.statement_span(line).unwrap_or((line, line));
        (a..=b)
            .map(|l| src.line_text(l))
            .collect::<Vec<_>>()
            .join(" ")
    };
    let texts = std::iter::once(statement(s.src, s.ctx.line)).chain(
        s.callers
            .iter()
            .take(3)
            .map(|c| statement(c.src, c.ctx.line)),
    );
    for sql in texts {
        let Some((table, column)) = lookup_of(&sql) else {
            continue;
        };
        if indexed(s.src, &table, &column) == Some(false) {
            return hit(
                0.8,
                format!(
                    "line {} runs a query per item that looks `{table}` up by `{column}`, {}: the table is created without a key or an index on `{column}`, so every lookup scans the whole table (a nested-loop join inside the database)",
                    s.ctx.line,
                    s.repetition_text()
                ),
            );
        }
    }
    None
}

/// A lookup by scanning: the line's function loops over a collection it was given (a parameter, an attribute,
/// a module-level table) comparing each item with a key, and a loop up the stack calls it once per item.
pub fn scan_helper(s: &Site) -> Option<Hit> {
    let ctx = &s.ctx;
    let f = ctx.function.as_ref()?;
    if !s.repeated() {
        return None;
    }
    // Items selected only to be summarised are a repeated summary (`repeated_computation`), not a join.
    if super::repeated::summarised_selection(s).is_some() {
        return None;
    }
    let params: Vec<&str> = f
        .params
        .iter()
        .map(|p| p.as_str())
        .filter(|p| *p != "self")
        .collect();
    let given = |it: &str| {
        params.iter().any(|p| uses_ident(it, p))
            || it.starts_with("self.")
            || it.chars().next().is_some_and(|c| c.is_ascii_uppercase())
    };
    let Some(scan) = ctx
        .loops
        .iter()
        .find(|l| l.kind != "while" && !l.iter.starts_with("range(") && given(&l.iter))
    else {
        // `ids.index(key)` on a list: the scan is the method's.
        if let Some(list) = ctx.call_texts.iter().find_map(|c| {
            let (callee, args) = c.split_once('(')?;
            let recv = callee.strip_suffix(".index")?;
            let arg = args.trim_end_matches(')').trim();
            (!is_literal(arg)
                && !arg.is_empty()
                && super::common::collection_kind(s.src, recv) == Some("list"))
            .then(|| recv.to_string())
        }) {
            return hit(
                0.85,
                format!(
                    "`{}` finds a key's position with `{list}.index(...)` (line {}), a scan of the list, and {}: a join by scanning, O(n*m)",
                    f.name,
                    ctx.line,
                    repetition(s)
                ),
            );
        }
        let (collection, test) = ctx.call_texts.iter().find_map(|c| predicate_scan(c))?;
        if !given(&collection) {
            return None;
        }
        return hit(
            0.85,
            format!(
                "`{}` scans `{collection}` with a test against a key (`{test}`, line {}), and {}: a join by scanning, O(n*m)",
                f.name,
                ctx.line,
                repetition(s)
            ),
        );
    };
    // What the scan binds: its items, and the parts of them that loops inside it walk
    // (`for consist in self.consists: for slot in consist.slots:`).
    let vars: Vec<&str> = ctx
        .loops
        .iter()
        .skip_while(|l| !std::ptr::eq(*l, scan))
        .flat_map(targets)
        .collect();
    // The compared key comes from outside the scan: a parameter, or anything not bound by the scan. On the
    // loop's own header line, the comparison is in the first lines of its body.
    let mut equalities = ctx.equalities.clone();
    equalities.extend(skip_unless_equal(s.src, ctx.line));
    if scan.line == ctx.line {
        for l in ctx.line + 1..=ctx.line + 3 {
            equalities.extend(s.src.context(l).equalities);
            equalities.extend(skip_unless_equal(s.src, l));
        }
    }
    // (A comparison with a literal, `status == "ACTIVE"`, filters; it looks nothing up.)
    let keyed = equalities.iter().any(|(a, b)| {
        let (ua, ub) = (
            vars.iter().any(|v| uses_ident(a, v)),
            vars.iter().any(|v| uses_ident(b, v)),
        );
        ua != ub && !is_literal(if ua { b } else { a })
    }) || ctx
        .call_texts
        .iter()
        .any(|c| c.contains(".index(") || c.contains("startswith("))
        && vars.iter().any(|v| ctx.text.contains(v));
    if !keyed {
        return None;
    }
    let by = repetition(s);
    hit(
        0.9,
        format!(
            "`{}` scans `{}` for a matching key (line {}), and {by}: a join by scanning, O(n*m)",
            f.name, scan.iter, ctx.line
        ),
    )
}

/// How the scanning function is repeated, in words.
fn repetition(s: &Site) -> String {
    match s.looping_caller() {
        Some(c) => format!(
            "line {} calls it on every pass of the loop over {}",
            c.ctx.line,
            loops_text(&c.ctx)
        ),
        None => format!("it is called {} times", s.calls.unwrap_or(0)),
    }
}

/// A scan written as a predicate over a collection (`takewhile(lambda p: p.day <= day, self.points)`,
/// `filter(lambda r: r.id == key, rows)`): the collection and the test, when the test compares the item with
/// something else (a key, not a literal).
fn predicate_scan(call: &str) -> Option<(String, String)> {
    let (callee, args) = call.split_once('(')?;
    if !matches!(
        super::common::method(callee),
        "takewhile" | "dropwhile" | "filter" | "filterfalse"
    ) {
        return None;
    }
    let rest = args.trim().strip_prefix("lambda")?;
    let (var, rest) = rest.split_once(':')?;
    let var = var.trim();
    // The lambda's body ends at the first comma outside brackets; the collection follows.
    let mut depth = 0i32;
    let cut = rest.char_indices().find(|&(_, c)| {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            _ => {}
        }
        c == ',' && depth == 0
    })?;
    let (test, collection) = (rest[..cut.0].trim(), rest[cut.0 + 1..].trim());
    let collection = collection.trim_end_matches(')').split(',').next()?.trim();
    let keyed = ["==", "<=", ">=", "<", ">"].iter().any(|op| {
        test.split_once(op).is_some_and(|(a, b)| {
            let b = b.trim_start_matches('=');
            let (ua, ub) = (uses_ident(a, var), uses_ident(b, var));
            ua != ub && !is_literal(if ua { b } else { a })
        })
    });
    keyed.then(|| (collection.to_string(), test.to_string()))
}

#[cfg(test)]
mod tests {

    /// A lookup per item by a column the schema does not index; near misses: by the primary key, by an
    /// indexed column, against a schema the program does not create.
    #[test]
    fn lookups_by_unindexed_columns() {
        let code = "import sqlite3\ndef load(conn):\n    conn.execute(\"CREATE TABLE lot (id INTEGER PRIMARY KEY, lot_no TEXT, cat TEXT)\")\n    conn.execute(\"CREATE INDEX lot_cat ON lot (cat)\")\nclass Repo:\n    def one(self, sql, params):\n        return self.conn.execute(sql, params).fetchone()\n    def by_no(self, n):\n        return self.one(\"SELECT id FROM lot WHERE lot_no = ?\", (n,))\n    def by_id(self, i):\n        return self.one(\"SELECT cat FROM lot WHERE id = ?\", (i,))\n    def by_cat(self, c):\n        return self.one(\"SELECT id FROM lot WHERE cat = ?\", (c,))\n    def other(self, c):\n        return self.one(\"SELECT id FROM remote WHERE code = ?\", (c,))\ndef run(r, xs):\n    for x in xs:\n        r.by_no(x)\n        r.by_id(x)\n        r.by_cat(x)\n        r.other(x)\n";
        let s = src(code);
        let h = unindexed_query(&site(&s, 7).called_from(&[9, 18])).unwrap();
        assert!(h.evidence.contains("`lot_no`"), "{}", h.evidence);
        assert!(unindexed_query(&site(&s, 7).called_from(&[11, 19])).is_none());
        assert!(unindexed_query(&site(&s, 7).called_from(&[13, 20])).is_none());
        assert!(unindexed_query(&site(&s, 7).called_from(&[15, 21])).is_none());
        // Once: nothing repeats it.
        assert!(unindexed_query(&site(&s, 7)).is_none());
        assert_eq!(
            lookup_of("select a from t where b=:b"),
            Some(("t".into(), "b".into()))
        );
        assert_eq!(lookup_of("SELECT a FROM t WHERE b > ?"), None);
    }

    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"def enrich(orders, customers):
    for o in orders:
        for c in customers:
            if c["id"] == o["cid"]:
                yield o, c

def words(docs):
    for d in docs:
        for w in d.split():
            if w == "x":
                pass

def find(rates, code):
    return next((r for r in rates if r.code == code), None)

def total(rows, rates):
    return [find(rates, r.code) for r in rows]

def grid(n):
    for i in range(n):
        for j in range(n):
            if i == j:
                pass
"#;

    #[test]
    fn loops() {
        let s = src(CODE);
        assert!(nested_loops(&site(&s, 4)).unwrap().confidence > 0.9);
        // Near misses: the inner loop reads the outer item; plain index loops.
        assert!(nested_loops(&site(&s, 10)).unwrap().confidence < 0.3);
        assert!(nested_loops(&site(&s, 22)).is_none());
        // Near miss: two comprehensions side by side on one line; nested ones on one line are a join.
        let c = src("def f(c, a, b):\n    xs, ys = [v for v, _ in c], [p for _, p in c]\n    return [(x, y) for x in a for y in b if x.k == y.k]\n");
        assert!(nested_loops(&site(&c, 2)).is_none());
        assert!(nested_loops(&site(&c, 3)).unwrap().confidence > 0.9);
    }

    #[test]
    fn scan_that_skips_the_others() {
        // A method scanning nested parts, written as "skip unless equal"; near miss: `!=` that is no skip.
        let s = src("class Book:\n    def locate(self, wagon):\n        for c in self.consists:\n            for slot in c.slots:\n                if slot.no != wagon:\n                    continue\n                return c\n    def odd(self, wagon):\n        for c in self.consists:\n            for slot in c.slots:\n                if slot.no != wagon:\n                    slot.flag = 1\ndef run(book, wagons):\n    for w in wagons:\n        book.locate(w)\n        book.odd(w)\n");
        assert!(scan_helper(&site(&s, 5).called_from(&[15])).is_some());
        assert!(scan_helper(&site(&s, 11).called_from(&[16])).is_none());
    }

    #[test]
    fn helpers() {
        let s = src(CODE);
        assert!(scan_helper(&site(&s, 14).called_from(&[17])).is_some());
        // The scan's header line: the comparison is in its body.
        let s2 = src("def find(rows, k):\n    for r in rows:\n        if r.id == k:\n            return r\ndef run(xs, rows):\n    for x in xs:\n        find(rows, x)\n");
        assert!(scan_helper(&site(&s2, 2).called_from(&[7])).is_some());
        // Near miss: the same scan, called once.
        assert!(scan_helper(&site(&s, 14)).is_none());
        assert!(scan_helper(&site(&s, 14).calls(1)).is_none());
        assert!(scan_helper(&site(&s, 14).calls(5000)).is_some());
        let p = src("import itertools\ndef m(a, b):\n    same = lambda p: p[0].k == p[1].k\n    return list(filter(same, itertools.product(a, b)))\ndef g(n):\n    ok = lambda p: p[0] == p[1]\n    return [x for x in itertools.product(range(n), range(n)) if ok(x)]\n");
        assert_eq!(product_pairs(&site(&p, 3)).unwrap().at, Some((0, 4)));
        // Near miss: a grid of indexes.
        assert!(product_pairs(&site(&p, 6)).is_none());
        // Near miss: a filter by a literal looks nothing up.
        let f = src("def active(plans):\n    return [p for p in plans if p.status == \"ACTIVE\"]\ndef run(xs, plans):\n    for x in xs:\n        active(plans)\n");
        assert!(scan_helper(&site(&f, 2).called_from(&[5])).is_none());
        // An as-of lookup by scanning with a predicate; near misses: a threshold that is a literal, and the same
        // scan called once.
        let a = src("from itertools import takewhile\nclass S:\n    def as_of(self, day):\n        return list(takewhile(lambda p: p.day <= day, self.points))\n    def recent(self):\n        return list(takewhile(lambda p: p.day <= 5, self.points))\ndef run(s, days):\n    for d in days:\n        s.as_of(d)\n        s.recent()\n");
        assert!(scan_helper(&site(&a, 4).called_from(&[9])).is_some());
        assert!(scan_helper(&site(&a, 6).called_from(&[10])).is_none());
        assert!(scan_helper(&site(&a, 4)).is_none());
        // A position found with list.index per call; near misses: a str's index, a literal key.
        let ix = src("class R:\n    def __init__(self):\n        self.uids = []\n        self.name = \"abc\"\n    def pos(self, uid):\n        return self.uids.index(uid)\n    def dot(self, c):\n        return self.name.index(c)\n    def first(self):\n        return self.uids.index(\"x\")\ndef run(r, scans):\n    for s in scans:\n        r.pos(s)\n        r.dot(s)\n        r.first()\n");
        assert!(scan_helper(&site(&ix, 6).called_from(&[13])).is_some());
        assert!(scan_helper(&site(&ix, 8).called_from(&[14])).is_none());
        assert!(scan_helper(&site(&ix, 10).called_from(&[15])).is_none());
        // A frame filtered by each item's key; near misses: by a literal, and once.
        let m = src("import pandas as pd\nclass P:\n    def find(self, upc):\n        return self.frame[self.frame[\"upc\"] == upc]\n    def beer(self):\n        return self.frame[self.frame[\"kind\"] == \"beer\"]\ndef run(p, lines):\n    for l in lines:\n        p.find(l.upc)\n        p.beer()\n");
        assert!(mask_lookup(&site(&m, 4).called_from(&[9])).is_some());
        assert!(mask_lookup(&site(&m, 6).called_from(&[10])).is_none());
        assert!(mask_lookup(&site(&m, 4)).is_none());
        assert_eq!(
            predicate_scan("filter(lambda r: r.id == key, rows)"),
            Some(("rows".into(), "r.id == key".into()))
        );
    }
}
