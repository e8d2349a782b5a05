//! `whole_file_load` (a whole file or table read into memory where one pass would do) and `sequential_io`
//! (independent blocking waits done one after another).

use super::common::{hit, hit_at, loops_text, method, plain_name, waits_in_text, work_loop};
use super::{Hit, Site};
use crate::diagnose::source::{LineContext, SourceFile};

const LOADS: [&str; 17] = [
    "fetchall",
    "read",
    "readlines",
    "read_csv",
    "read_table",
    "read_fwf",
    "read_excel",
    "loadtxt",
    "genfromtxt",
    "safe_load",
    "read_json",
    "load",
    "loads",
    "read_text",
    "read_bytes",
    "read_parquet",
    "getvalue",
];

/// The argument of a `read(...)` is a size (a number, or a name that says so: `n`, `chunk`, `bufsize`).
fn sized(args: &str) -> bool {
    let a = args
        .trim()
        .trim_start_matches('(')
        .trim_end_matches(')')
        .trim();
    a.chars().next().is_some_and(|c| c.is_ascii_digit())
        || a.len() <= 2
        || [
            "size", "chunk", "block", "buf", "len", "n_bytes", "nbytes", "count", "*",
        ]
        .iter()
        .any(|w| a.to_lowercase().contains(w))
}

/// A call that reads a whole file or dataset at once (`f.read()`, `readlines()`, `json.load`, `pd.read_csv`
/// without `chunksize`).
pub fn read_all(s: &Site) -> Option<Hit> {
    if s.ctx.text.contains("chunksize") || s.ctx.text.contains("iterator=True") {
        return None;
    }
    // A call's callee is its text up to the argument list that closes it: `db.execute(q).fetchall` for
    // `db.execute(q).fetchall()`.
    let callee_of = |c: &str| -> String {
        let Some(body) = c.strip_suffix(')') else {
            return c.split('(').next().unwrap_or("").to_string();
        };
        let mut depth = 0i32;
        for (i, ch) in body.char_indices().rev() {
            match ch {
                ')' => depth += 1,
                '(' if depth == 0 => return body[..i].to_string(),
                '(' => depth -= 1,
                _ => {}
            }
        }
        c.split('(').next().unwrap_or("").to_string()
    };
    // A response body read whole and cut into lines or rows on the spot is a dataset in memory, not one reply.
    let split_into_records = [
        ".splitlines()",
        ".split(\"\\n\")",
        "csv.reader(",
        "csv.DictReader(",
    ]
    .iter()
    .any(|m| s.ctx.text.contains(m));
    let c = s
        .ctx
        .call_texts
        .iter()
        .find(|c| {
            let callee = &callee_of(c);
            let args = &c[callee.len()..];
            // A whole XML document parsed into a tree (`ET.parse(path)`, `minidom.parse`).
            let xml_tree = method(callee) == "parse"
                && ["ET.", "etree", "ElementTree", "minidom"]
                    .iter()
                    .any(|m| callee.contains(m));
            (LOADS.contains(&method(callee)) || xml_tree)
                && callee.contains('.')
                // `f.read(4096)` reads a chunk; `zf.read(member)` reads a whole archive member.
                && (method(callee) != "read" || args.trim() == "()" || !sized(args))
                // The object's own `self.load()` is the program's method; `self.path.read_text()` is a read.
                && !(callee.starts_with("self.") && callee.matches('.').count() == 1)
                && ((!callee.contains("sock") && !callee.contains("resp"))
                    || (split_into_records && method(callee) == "read"))
        })?
        .clone();
    let callee = callee_of(&c);
    // `json.loads(line)` in a loop parses one record per pass: streaming already; in a function called once per
    // item it parses that item (or the same text again: repeated work, not a load).
    if method(&callee) == "loads" && (s.in_loop() || s.repeated()) {
        return None;
    }
    // The rows of a query that aggregates (`GROUP BY`, `MAX(...)`) are a summary, not the dataset.
    if method(&callee) == "fetchall" && super::repeated::sql_aggregate(s, &c).is_some() {
        return None;
    }
    let strong = matches!(
        method(&callee),
        "readlines"
            | "read"
            | "read_text"
            | "read_csv"
            | "read_json"
            | "read_table"
            | "read_fwf"
            | "load"
            | "fetchall"
            | "parse"
    );
    hit(
        if strong { 0.75 } else { 0.5 },
        format!(
            "line {} loads a whole file or dataset into memory (`{callee}`): memory grows with the input",
            s.ctx.line
        ),
    )
}

/// An expression that is an open file or a reader of one, by its text (`f`, `open(path)`, `csv.reader(f)`).
fn file_expr(e: &str) -> bool {
    let e = e.trim();
    e == "f" || e.contains("open(") || e.to_lowercase().contains("reader(")
}

/// A name that a `with` statement of the function around line `at` binds to an open file (`with open(path) as
/// fh:`, `with gzip.open(p) as src`).
fn opened_as(src: &SourceFile, name: &str, at: u32) -> bool {
    let alias = format!(" as {name}");
    let (a, b) = src
        .enclosing_function(at)
        .map_or((1, src.lines()), |f| (f.start, f.end));
    plain_name(name)
        && (a..=b).any(|l| {
            let t = src.line_text(l);
            let t = t.trim();
            t.starts_with("with ")
                && t.contains("open(")
                && t.strip_suffix(':')
                    .unwrap_or(t)
                    .split(',')
                    .any(|part| part.trim_end().ends_with(&alias))
        })
}

/// A `for` loop over an open file or a reader of one, by its text or by what the name is bound to.
fn loops_over_file(src: &SourceFile, l: &crate::diagnose::source::LoopInfo) -> bool {
    l.kind == "for"
        && (file_expr(&l.iter)
            || opened_as(src, l.iter.trim(), l.line)
            || src.bindings(l.iter.trim()).iter().any(|b| file_expr(b)))
}

/// A loop that reads a source record by record: a file or reader, or a database cursor fetched in batches
/// (`while rows := cursor.fetchmany(n)`, `for row in cursor`).
fn loops_over_records(src: &SourceFile, l: &crate::diagnose::source::LoopInfo) -> bool {
    let cursor = |e: &str| {
        let e = e.trim();
        e.contains(".fetchmany(")
            || e.contains(".fetchone(")
            || e == "cursor"
            || e == "cur"
            || e.ends_with(".cursor")
    };
    loops_over_file(src, l)
        || cursor(&l.iter)
        || src.bindings(l.iter.trim()).iter().any(|b| cursor(b))
}

/// Calls that make a whole new copy of the text they are called on (`raw.decode()`, `text.replace(...)`,
/// `text.split("\n")`).
const COPIES: [&str; 12] = [
    "decode",
    "encode",
    "replace",
    "split",
    "splitlines",
    "lower",
    "upper",
    "casefold",
    "strip",
    "rstrip",
    "lstrip",
    "translate",
];

/// What `name` is bound to as seen from `line`: its assignments in the function around the line when there
/// are any (a name reused in other functions is theirs), else anywhere in the file.
fn scoped_bindings(src: &SourceFile, name: &str, line: u32) -> Vec<String> {
    let local = local_bindings(src, name, line);
    let chosen = if local.is_empty() {
        src.binding_lines(name)
    } else {
        local
    };
    chosen.into_iter().map(|(_, b)| b).collect()
}

/// The assignments of `name` (line, right-hand side) in the function around `line` (anywhere outside one).
pub(super) fn local_bindings(src: &SourceFile, name: &str, line: u32) -> Vec<(u32, String)> {
    let f = src.enclosing_function(line);
    src.binding_lines(name)
        .into_iter()
        .filter(|(b, _)| f.is_none_or(|f| (f.start..=f.end).contains(b)))
        .collect()
}

/// The text reads a whole file or buffer: `f.read()`, `path.read_text(encoding="ascii")`, `p.read_bytes()`,
/// `buf.getvalue()` (these take no size, whatever their arguments).
fn reads_whole(text: &str) -> bool {
    text.contains(".read()")
        || [".read_text(", ".read_bytes(", ".getvalue("]
            .iter()
            .any(|r| text.contains(r))
}

/// The name holds a whole file's text: bound to a whole read (`f.read()`, `path.read_text()`), or to a copy of
/// such a text (`raw.decode(...).replace(...)`).
fn whole_text(src: &SourceFile, name: &str, depth: u32, line: u32) -> bool {
    accumulates_file(src, name, line).is_some()
        || scoped_bindings(src, name, line).iter().any(|b| {
            reads_whole(b)
                || (depth > 0
                    && copy_of_whole(src, b, depth - 1, line)
                        .is_some_and(|m| m != "split" && m != "splitlines"))
                // What a function of the program hands back (`text = read_all(path)`).
                || (depth > 0 && {
                    let callee = b.trim().split('(').next().unwrap_or("");
                    plain_name(callee)
                        && b.trim().ends_with(')')
                        && src.functions().iter().any(|f| {
                            f.name == callee
                                && src.returns_of(callee).iter().any(|r| {
                                    plain_name(r.trim()) && whole_text(src, r.trim(), depth - 1, f.end)
                                })
                        })
                })
        })
}

/// The line of the function around `line` where every chunk or line of a file is added, as read, to the
/// string `name` (`data += chunk` after `chunk = f.read(4096)`, or `text += line` in `for line in f`): the
/// whole file ends up in one string.
fn accumulates_file(src: &SourceFile, name: &str, line: u32) -> Option<u32> {
    let f = src.enclosing_function(line)?;
    let prefix = format!("{name} += ");
    (f.start..=f.end).find(|&l| {
        let t = src.line_text(l);
        let Some(v) = t.trim().strip_prefix(&prefix).map(str::trim) else {
            return false;
        };
        if !plain_name(v) {
            return false;
        }
        let ctx = src.context(l);
        ctx.loops.iter().any(|lp| {
            (lp.kind == "for"
                && loops_over_file(src, lp)
                && super::common::targets(lp).contains(&v))
                || (lp.kind == "while"
                    && src.block(lp.line).iter().any(|&b| {
                        let t = src.line_text(b);
                        t.trim().strip_prefix(&format!("{v} = ")).is_some_and(|r| {
                            [".read(", ".recv(", ".readline("]
                                .iter()
                                .any(|m| r.contains(m))
                        })
                    }))
        })
    })
}

/// The expression copies a whole file's text (`raw.decode("utf-8").replace(...)`): the copying method it
/// starts with.
fn copy_of_whole<'a>(src: &SourceFile, e: &'a str, depth: u32, line: u32) -> Option<&'a str> {
    let (name, rest) = e.trim().split_once('.')?;
    let m = rest.split('(').next()?;
    (plain_name(name)
        && COPIES.contains(&m)
        && rest.len() > m.len()
        && whole_text(src, name, depth, line))
    .then_some(m)
}

/// Where the lines of a text read whole are made, for a loop over them around the line or on it
/// (`data = f.read()`, then `for line in data.split("\n")`: the loop; `lines = text.split("\n")`, then
/// `for line in lines[1:]`: the split): the file is held twice at once, as the text and as the list of its
/// lines.
fn split_whole_loop(src: &SourceFile, ctx: &LineContext) -> Option<u32> {
    let split = |e: &str| {
        copy_of_whole(src, e, 2, ctx.line).is_some_and(|m| {
            (m == "splitlines" || (m == "split" && e.contains("\\n")))
                && e.trim().ends_with(')')
                && e.matches('(').count() == 1
        })
    };
    ctx.loops.iter().find_map(|l| {
        let it = l.iter.trim();
        if split(it) {
            return Some(l.line);
        }
        // (A slice of the lines, `lines[1:]`, is still all of them.)
        let root = it.split('[').next().unwrap_or("").trim();
        if !plain_name(root) || l.kind != "for" {
            return None;
        }
        let made = local_bindings(src, root, l.line);
        (made.len() == 1 && split(&made[0].1)).then(|| made[0].0)
    })
}

/// A statement that copies a whole file's text (`text = raw.decode("utf-8-sig").replace("\r\n", "\n")` after
/// `raw = f.read()`): the text is held again, whole.
fn copies_whole(src: &SourceFile, ctx: &LineContext) -> bool {
    ctx.loops.is_empty()
        && ctx.text.split_once(" = ").is_some_and(|(lhs, rhs)| {
            plain_name(lhs.trim()) && copy_of_whole(src, rhs, 2, ctx.line).is_some()
        })
}

/// How a statement holds a whole file at once: `Some(false)` a list of its lines or records
/// (`list(csv.reader(f))`, `[parse(r) for r in reader]`), `Some(true)` everything joined into one string.
fn materialises(src: &SourceFile, ctx: &LineContext, repeated: bool) -> Option<bool> {
    // (`list(fh)`, `sorted(fh)`: every line of the file `with open(...) as fh` opened, in one collection.)
    let opened = |name: &str| opened_as(src, name, ctx.line);
    let listed = ctx.call_texts.iter().any(|c| {
        c.strip_prefix("list(").is_some_and(|arg| {
            // `list(reader)` where `reader = csv.reader(f)`: the name's binding says what it reads.
            let name = arg.trim_end_matches(')').trim();
            c.to_lowercase().contains("reader(")
                || c.contains("open(")
                || c.contains("(f)")
                || (plain_name(name) && src.bindings(name).iter().any(|b| file_expr(b)))
                || opened(name)
        }) || ["tuple(", "sorted(", "set("].iter().any(|w| {
            c.strip_prefix(w)
                .and_then(|arg| arg.strip_suffix(')'))
                .is_some_and(|name| opened(name.trim()))
        })
    });
    // A list comprehension over a file or a reader of one (by its text or by what the name is bound to).
    // (... or the lines of a text read whole: `fh.read().splitlines()`, `text.split("\n")`.)
    let file_like = |e: &str| {
        let e = e.trim();
        file_expr(e)
            || e.ends_with("readlines()")
            || (e.ends_with(".splitlines()") && reads_whole(e))
            || copy_of_whole(src, e, 2, ctx.line).is_some_and(|m| m == "splitlines" || m == "split")
    };
    // A reader spread into a call's arguments (`zip(*reader)`, transposing a file into columns): every row
    // becomes an argument at once.
    let spread = ctx.call_texts.iter().any(|c| {
        c.match_indices("(*").any(|(i, _)| {
            let name: String = c[i + 2..]
                .chars()
                .take_while(|ch| ch.is_alphanumeric() || *ch == '_' || *ch == '.')
                .collect();
            !name.is_empty()
                && (file_like(&name) || src.bindings(&name).iter().any(|b| file_like(b)))
        })
    });
    let comp_over_file = ctx.loops.iter().any(|l| {
        // (A slice of the lines, `lines[1:]`, is still all of them.)
        let root = l.iter.trim().split('[').next().unwrap_or("").trim();
        l.kind == "comprehension"
            && (file_like(&l.iter)
                || opened(l.iter.trim())
                || l.iter.to_lowercase().contains("reader")
                || scoped_bindings(src, root, ctx.line)
                    .iter()
                    .any(|b| file_like(b)))
    }) && (ctx.text.contains("= [")
        || ctx.text.trim_start().starts_with("return ["));
    // (... or every chunk of a file added to one string as it is read.)
    let accumulated = ctx
        .text
        .split_once(" += ")
        .is_some_and(|(lhs, _)| accumulates_file(src, lhs.trim(), ctx.line) == Some(ctx.line));
    let split_whole = split_whole_loop(src, ctx).is_some() || copies_whole(src, ctx) || accumulated;
    let joined_big = ctx.calls.iter().any(|c| method(c) == "join")
        && ctx.text.contains(".join(")
        && src.mentions(".split(")
        && ctx.loops.is_empty()
        && !repeated;
    if listed || comp_over_file || spread || split_whole {
        Some(false)
    } else if joined_big {
        Some(true)
    } else {
        None
    }
}

/// Every record of a file appended, inside the loop that reads it, to a collection kept for after the loop
/// (`for row in reader: self.by_key[row[1]].append(parse(row))`): the file is held whole before any work.
fn buffered(src: &SourceFile, ctx: &LineContext) -> bool {
    ctx.loops.iter().any(|l| {
        let body: Vec<String> = src
            .block(l.line)
            .iter()
            .skip(1)
            .map(|&b| src.line_text(b))
            .collect();
        loops_over_file(src, l)
            && src.block(l.line).iter().skip(1).any(|&b| {
                let t = src.line_text(b);
                t.find(".append(").is_some_and(|i| {
                    // The collection: the name before any subscript (`self.by_fridge[...]` -> `self.by_fridge`).
                    let recv = t[..i].split('[').next().unwrap_or("").trim();
                    let root = recv.rsplit('.').next().unwrap_or(recv);
                    !recv.is_empty()
                        && recv
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '_' || c == '.')
                        && !l.assigned.iter().any(|a| a == root || a == recv)
                        && !super::common::targets(l).contains(&recv)
                        // (Keys kept to test the next records against, `if key not in seen:
                        // seen.append(key)`, are de-duplication state, not the file.)
                        && !body.iter().any(|t| {
                            t.contains(&format!(" in {recv}")) && !t.trim_start().starts_with("for ")
                        })
                })
            })
    })
}

/// A whole file materialised as a list (`list(csv.reader(f))`, `list(open(...))`, `[l for l in f]`) or
/// everything joined into one string; or a per-record function called from such a statement (the hot line
/// is the parsing, the cost is holding every result at once).
pub fn materialise(s: &Site) -> Option<Hit> {
    if let Some(joined) = materialises(s.src, &s.ctx, s.repeated()) {
        // The body of a loop over a whole text's lines: the place is the loop that splits it.
        if let Some(at) = split_whole_loop(s.src, &s.ctx).filter(|&l| l != s.ctx.line) {
            return hit_at(
                0.75,
                format!(
                    "line {at} splits a file read whole into its lines (`{}`): the text and the list of its lines are both in memory at once",
                    s.src.line_text(at)
                ),
                (s.file, at),
            );
        }
        return hit(
            if joined { 0.5 } else { 0.75 },
            format!(
                "line {} holds a whole file's contents in memory at once (`{}`)",
                s.ctx.line, s.ctx.text
            ),
        );
    }
    if let Some(h) = stream_collected(s) {
        return Some(h);
    }
    if buffered(s.src, &s.ctx) {
        return hit(
            0.6,
            format!(
                "line {} runs in a loop that appends every record of a file to a collection kept for later: the whole file is held in memory before the work",
                s.ctx.line
            ),
        );
    }
    let c = s.callers.first()?;
    if materialises(c.src, &c.ctx, false) != Some(false) {
        return None;
    }
    if let Some(at) = split_whole_loop(c.src, &c.ctx) {
        return hit_at(
            0.75,
            format!(
                "line {at} splits a file read whole into its lines (`{}`), and `{}` runs for each of them: the text and the list of its lines are both in memory at once",
                c.src.line_text(at),
                s.function_name()
            ),
            (c.loc.0, at),
        );
    }
    hit_at(
        0.75,
        format!(
            "line {} builds a list of every record of a file at once (`{}`), calling `{}` for each: memory grows with the input",
            c.ctx.line,
            c.ctx.text,
            s.function_name()
        ),
        c.loc,
    )
}

/// A file read record by record through generators, then collected whole further up (`sorted(records)`,
/// `list(stream)`): the streaming below is undone, every record is held at once. Seen on the stack: a frame
/// looping over a file, and above it a line collecting the generator (a generator function's, or a generator
/// expression's) that the file loop runs under.
fn stream_collected(s: &Site) -> Option<Hit> {
    let file_loop =
        |ctx: &LineContext, src: &SourceFile| ctx.loops.iter().any(|l| loops_over_records(src, l));
    let mut streaming = file_loop(&s.ctx, s.src);
    let mut below: (&SourceFile, &LineContext) = (s.src, &s.ctx);
    for c in &s.callers {
        let generator = below.1.text.contains(" for ") && below.1.text.contains('(')
            || below
                .1
                .function
                .as_ref()
                .is_some_and(|f| super::common::is_generator(below.0, f));
        // ... or one copy of a `tee`d stream run to its end while the other waits: tee buffers all of it.
        let teed = c
            .ctx
            .function
            .as_ref()
            .is_some_and(|f| (f.start..=f.end).any(|l| c.src.line_text(l).contains("tee(")));
        let collects = c.ctx.call_texts.iter().find(|t| {
            ["sorted(", "list(", "tuple("]
                .iter()
                .any(|m| t.starts_with(m))
                || (teed
                    && [
                        "sum(",
                        "len(",
                        "max(",
                        "min(",
                        "collections.deque(",
                        "deque(",
                    ]
                    .iter()
                    .any(|m| t.starts_with(m)))
        });
        // A generator function's records must be what is collected: its call, or a name bound to one, is in
        // the collecting call (`sorted(chain.from_iterable(streams))` after `streams = [reads(p) for p in ...]`);
        // else a later line of the function may collect the name this line binds them to.
        let gen_fn = below
            .1
            .function
            .as_ref()
            .filter(|f| super::common::is_generator(below.0, f))
            .map(|f| f.name.clone());
        let feeds = |t: &str, at: u32| match &gen_fn {
            None => true,
            Some(g) => {
                let call = format!("{g}(");
                t.contains(&call)
                    || t.split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                        .filter(|w| plain_name(w))
                        .any(|w| {
                            scoped_bindings(c.src, w, at)
                                .iter()
                                .any(|b| b.contains(&call))
                        })
            }
        };
        let mut collects = collects
            .filter(|t| feeds(t, c.loc.1))
            .map(|t| (c.loc, t.clone()));
        if collects.is_none() {
            if let (Some(g), Some(f)) = (&gen_fn, c.ctx.function.as_ref()) {
                let bound =
                    c.ctx.text.split_once(" = ").filter(|(lhs, rhs)| {
                        plain_name(lhs.trim()) && rhs.contains(&format!("{g}("))
                    });
                if let Some((lhs, _)) = bound {
                    collects = (c.loc.1 + 1..=f.end).find_map(|l| {
                        c.src.context(l).call_texts.into_iter().find_map(|t| {
                            (["sorted(", "list(", "tuple("]
                                .iter()
                                .any(|m| t.starts_with(m))
                                && t.split(|ch: char| !(ch.is_alphanumeric() || ch == '_'))
                                    .any(|w| w == lhs.trim()))
                            .then_some(((c.loc.0, l), t))
                        })
                    });
                }
            }
        }
        if streaming && generator {
            if let Some((at, t)) = collects {
                return hit_at(
                    0.6,
                    format!(
                        "line {} collects a file streamed record by record into memory at once (`{}`): every record is held, memory grows with the input",
                        at.1,
                        t.chars().take(60).collect::<String>()
                    ),
                    at,
                );
            }
        }
        streaming = streaming || file_loop(&c.ctx, c.src);
        below = (c.src, &c.ctx);
    }
    None
}

/// True when the line waits on blocking I/O (network, sockets, sleeps), by its text or by what the profile
/// found under it.
pub fn is_blocking(s: &Site) -> bool {
    // An import's time is loading modules, whatever they are about.
    let t = s.ctx.text.as_str();
    if t.starts_with("import ") || t.starts_with("from ") {
        return false;
    }
    const IO: [&str; 16] = [
        "urlopen",
        "recv",
        "recv_into",
        "sleep",
        "getresponse",
        "connect",
        "request",
        "get",
        "post",
        "read",
        "sendall",
        "create_connection",
        "select",
        "readline",
        "recvfrom",
        "sendto",
    ];
    let by_text = s.ctx.calls.iter().any(|c| {
        runs_a_process(c)
            // `select.select(...)`, `selectors...select()`: the module is waiting.
            || c.starts_with("select.")
            || IO.contains(&method(c))
                && (c.contains("urllib")
                    || c.contains("requests")
                    || c.contains("http")
                    || c.contains("sleep")
                    || c.contains("sock")
                    || c.contains("conn")
                    || c.contains("client")
                    || c.contains("session")
                    || c.contains("urlopen"))
    });
    // A reply read from a child process's pipe (`self.engine.stdout.readline()`): the program waits for the
    // child to answer.
    let child_pipe = s.src.mentions("Popen(")
        && s.ctx.call_texts.iter().any(|c| {
            let callee = c.split('(').next().unwrap_or("");
            (callee.contains(".stdout.") || callee.starts_with("stdout."))
                && ["readline", "read", "readlines", "read1", "readinto"].contains(&method(callee))
        });
    // A wait found below another library call counts when it carries a good part of what the line calls:
    // pstats cannot tell whose `__exit__` closed a socket, a file's or a response's.
    let heaviest = s.callees.iter().map(|c| c.weight).fold(0.0, f64::max);
    let by_profile = s
        .callee(|n| {
            n == "time.sleep"
                || n.contains("socket")
                || n.starts_with("http.client")
                || n.starts_with("urllib.request")
                || n.starts_with("ssl")
                || n.starts_with("select")
                // asyncio's streams and socket calls (`open_connection`, `loop.sock_recv`).
                || n.starts_with("asyncio.streams")
                || n.contains(".sock_")
                // A child process waited for.
                || n == "posix.waitpid"
                || runs_a_process(n)
        })
        .is_some_and(|c| c.direct || (c.weight > 0.0 && c.weight >= 0.2 * heaviest));
    by_text || child_pipe || by_profile
}

/// A call that starts a program and waits for it to finish (`subprocess.run(...)`, `os.system(...)`,
/// `proc.communicate()` on a `subprocess` module's object): the caller sits idle until the child exits.
pub fn runs_a_process(callee: &str) -> bool {
    let m = method(callee);
    (callee.starts_with("subprocess.")
        && matches!(
            m,
            "run" | "call" | "check_call" | "check_output" | "wait" | "communicate" | "getoutput"
        ))
        || callee == "os.system"
}

/// An event loop run to completion (`asyncio.run(main())`) that spends its time waiting, for a coroutine that
/// awaits its requests one at a time in a loop (`for sku in skus: q = await api.quote(sku)`): while a
/// coroutine waits, no profiler sees its frame, only the loop's `select`, so the wait shows on the line that
/// runs the loop. The place is the `await` in the loop (the coroutine itself or one it awaits, two levels).
pub fn awaited_in_turn(s: &Site) -> Option<Hit> {
    let t = s.ctx.text.as_str();
    let runs_loop = t.contains("asyncio.run(") || t.contains(".run_until_complete(");
    if !runs_loop || !is_blocking(s) || s.threaded {
        return None;
    }
    // The coroutine functions called on the line, then the ones they await (two levels).
    let called = |ctx: &LineContext| -> Vec<String> {
        ctx.calls.iter().map(|c| method(c).to_string()).collect()
    };
    let is_async = |f: &crate::diagnose::source::FunctionInfo| {
        s.src
            .line_text(f.start)
            .trim_start()
            .starts_with("async def")
    };
    let mut queue: Vec<(String, u32)> = called(&s.ctx).into_iter().map(|n| (n, 0)).collect();
    let mut seen: Vec<String> = Vec::new();
    while let Some((name, depth)) = queue.pop() {
        if seen.contains(&name) {
            continue;
        }
        seen.push(name.clone());
        let Some(f) = s
            .src
            .functions()
            .iter()
            .find(|f| f.name == name && is_async(f))
        else {
            continue;
        };
        for l in f.start + 1..=f.end {
            let line = s.src.line_text(l);
            let ctx = s.src.context(l);
            let awaits = line.contains("await ")
                && ![
                    "gather(",
                    "wait(",
                    "as_completed(",
                    "TaskGroup",
                    "create_task(",
                ]
                .iter()
                .any(|m| line.contains(m));
            let in_loop = ctx
                .loops
                .iter()
                .any(|lp| lp.kind == "for" && (f.start..=f.end).contains(&lp.line));
            if awaits && in_loop {
                return hit_at(
                    0.85,
                    format!(
                        "line {} runs an event loop that mostly waits, for `{}`, which awaits one request at a time in the loop over {} (line {l}: `{}`): the waits line up one after another",
                        s.ctx.line,
                        f.name,
                        loops_text(&ctx),
                        line.trim()
                    ),
                    (s.file, l),
                );
            }
            if depth < 2 && line.contains("await ") {
                queue.extend(called(&ctx).into_iter().map(|n| (n, depth + 1)));
            }
        }
    }
    None
}

/// The line of the file that makes a pool of one worker (`ThreadPoolExecutor(max_workers=1)`, `Pool(1)`).
fn one_worker_pool(src: &SourceFile) -> Option<u32> {
    (1..=src.lines()).find(|&l| {
        let t = src.line_text(l).replace(' ', "");
        [
            "ThreadPoolExecutor(",
            "ProcessPoolExecutor(",
            "ThreadPool(",
            "Pool(",
        ]
        .iter()
        .any(|p| {
            t.match_indices(p).any(|(i, _)| {
                let args = &t[i + p.len()..];
                [
                    "max_workers=1)",
                    "max_workers=1,",
                    "processes=1)",
                    "processes=1,",
                    "1)",
                    "1,",
                ]
                .iter()
                .any(|a| args.starts_with(a))
            })
        })
    })
}

/// Blocking work handed to a pool of one worker: the pool runs the waits one after another, whether the
/// profile sees them in the worker (sampled stacks) or only the main thread waiting for it (pstats). The place
/// is the pool's creation, where the fix goes.
pub fn single_worker(s: &Site) -> Option<Hit> {
    let pool = one_worker_pool(s.src)?;
    let waits_for_pool = s.ctx.calls.iter().any(|c| {
        matches!(
            method(c),
            "map" | "result" | "as_completed" | "submit" | "starmap" | "imap"
        )
    });
    let worker_waits = s.threaded && is_blocking(s);
    // What the pool runs must wait (by its text: sleeps, sockets, HTTP, child processes).
    let io = waits_in_text(s.src, true);
    if !(worker_waits || (waits_for_pool && io)) {
        return None;
    }
    hit_at(
        0.85,
        format!(
            "line {pool} makes a pool of one worker (`{}`), and the work it runs waits on I/O: the waits run one after another as if there were no pool",
            s.src.line_text(pool).trim()
        ),
        (s.file, pool),
    )
}

/// A line that joins a thread started in the same pass of a loop (`t.start()` then `t.join()`): one thread
/// runs at a time.
fn joined_in_turn(src: &SourceFile) -> Option<u32> {
    (1..=src.lines()).find(|&l| {
        let t = src.line_text(l);
        let Some(var) = t.trim().strip_suffix(".join()") else {
            return false;
        };
        plain_name(var)
            && src.context(l).loops.iter().any(|lp| {
                lp.kind == "for"
                    && src
                        .block(lp.line)
                        .iter()
                        .any(|&b| b < l && src.line_text(b).trim() == format!("{var}.start()"))
            })
    })
}

/// Blocking work run on a thread that is started and joined in the same pass of a loop: the threads run one
/// after another, so do their waits. Seen from the worker's waiting line (stacks) or from the join (pstats).
pub fn thread_per_item(s: &Site) -> Option<Hit> {
    let join = joined_in_turn(s.src)?;
    let io = waits_in_text(s.src, true);
    let here = s.ctx.line == join || (s.threaded && is_blocking(s));
    if !here || !io {
        return None;
    }
    hit_at(
        0.85,
        format!(
            "line {join} (`{}`) waits for a thread started in the same pass of the loop over {}, and the thread waits on I/O: one request at a time, as if there were no threads",
            s.src.line_text(join).trim(),
            loops_text(&s.src.context(join))
        ),
        (s.file, join),
    )
}

/// A wait for another thread's answer, as profiles name it: a queue's `get`, a condition's or event's `wait`,
/// a future's `result`, a lock's `acquire`.
pub fn waits_for_thread(name: &str) -> bool {
    let m = method(name);
    (name.starts_with("queue.") && m == "get")
        || (name.starts_with("threading.") && m == "wait")
        || (name.starts_with("concurrent.futures") && m == "result")
        || (name.starts_with("_thread.") && m == "acquire")
}

/// A request handed to another thread (put on its queue with a reply channel, submitted to a pool) and its
/// answer waited for in the same pass (`inbox.put((req, reply)); reply.get()`), item after item: when the
/// threads wait on I/O, their waits line up one after another as if there were no threads. The place is the
/// loop over the items.
pub fn reply_in_turn(s: &Site) -> Option<Hit> {
    let f = s.ctx.function.as_ref()?;
    if s.threaded
        || !waits_in_text(s.src, true)
        || !s
            .callees
            .iter()
            .any(|c| c.direct && waits_for_thread(&c.name))
    {
        return None;
    }
    // What the line waits on (`reply` in `reply.get(timeout=5)`) is made for this request, in this function
    // before the line: a fresh reply queue, event or future ...
    let receivers: Vec<&str> = s
        .ctx
        .call_texts
        .iter()
        .filter_map(|c| {
            let callee = c.split('(').next()?;
            let (recv, m) = callee.rsplit_once('.')?;
            matches!(m, "get" | "wait" | "result" | "acquire").then_some(recv)
        })
        .filter(|r| super::common::plain_name(r))
        .collect();
    let fresh = receivers.iter().any(|r| {
        local_bindings(s.src, r, s.ctx.line).iter().any(|(l, b)| {
            *l < s.ctx.line
                && [
                    "Queue(",
                    "SimpleQueue(",
                    "Event(",
                    "Future(",
                    ".submit(",
                    ".apply_async(",
                    "Condition(",
                ]
                .iter()
                .any(|m| b.contains(m))
        })
    });
    // ... and the request is handed over before it, in the same function.
    let handed = (f.start..s.ctx.line).any(|l| {
        s.src.context(l).call_texts.iter().any(|c| {
            let callee = c.split('(').next().unwrap_or("");
            matches!(
                method(callee),
                "put" | "put_nowait" | "submit" | "send" | "apply_async"
            )
        })
    });
    if !fresh || !handed {
        return None;
    }
    let evidence = |over: &str| {
        format!(
            "line {} hands a request to another thread and waits for its answer (`{}`) before the next {over}: the threads wait on I/O one request at a time",
            s.ctx.line,
            s.ctx.text
        )
    };
    if s.ctx.loops.iter().any(work_loop) {
        return hit(
            0.85,
            evidence(&format!("item of the loop over {}", loops_text(&s.ctx))),
        );
    }
    let work = s
        .callers
        .iter()
        .find(|c| c.ctx.loops.iter().any(work_loop))?;
    hit_at(
        0.85,
        evidence(&format!("item of the loop over {}", loops_text(&work.ctx))),
        work.loc,
    )
}

/// A pool used one task at a time: `pool.submit(f, x).result()` in a loop waits for each task before it
/// submits the next, so the waits line up as if there were no pool.
pub fn serial_pool(s: &Site) -> Option<Hit> {
    let text = s.ctx.text.replace(' ', "");
    let serial = text.contains(".submit(") && text.contains(").result(");
    if !serial || !s.ctx.loops.iter().any(work_loop) {
        return None;
    }
    let io = waits_in_text(s.src, false);
    hit(
        if io { 0.9 } else { 0.6 },
        format!(
            "line {} submits one task and waits for its result (`.result()`) on every pass of the loop over {}: the pool runs one task at a time",
            s.ctx.line,
            loops_text(&s.ctx)
        ),
    )
}

/// Blocking I/O on a line of a loop over work items.
pub fn blocking(s: &Site) -> Option<Hit> {
    if !is_blocking(s) || s.threaded {
        return None;
    }
    let in_work_loop = s.ctx.loops.iter().any(work_loop);
    hit(
        if in_work_loop { 0.85 } else { 0.55 },
        format!(
            "line {} waits on blocking I/O (`{}`){}: the program sits idle, one request at a time",
            s.ctx.line,
            s.ctx.text,
            if in_work_loop {
                format!(" inside the loop over {}", loops_text(&s.ctx))
            } else {
                String::new()
            }
        ),
    )
}

/// Blocking I/O reached from a loop over work items up the stack: the loop is where the waits line up.
pub fn per_item(s: &Site) -> Option<Hit> {
    if !is_blocking(s) || s.threaded {
        return None;
    }
    let work = s
        .callers
        .iter()
        .find(|c| c.ctx.loops.iter().any(work_loop))?;
    hit_at(
        0.9,
        format!(
            "the program waits on blocking I/O (line {}: `{}`) once per item of the loop over {}, one after another",
            s.ctx.line,
            s.ctx.text,
            loops_text(&work.ctx)
        ),
        work.loc,
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"import json, time, csv
def load(path):
    with open(path) as f:
        data = f.read()
        rows = list(csv.reader(f))
        chunk = f.read(4096)
        lines = csv.reader(f)
        return [r for r in lines]
    return json.loads(data)
class Client:
    def fetch(self, key):
        time.sleep(0.01)
        return key
def run(keys, c):
    for k in keys:
        c.fetch(k)
    for attempt in range(3):
        time.sleep(1)
"#;

    /// Memory per line confirms a whole-file load that holds the peak, doubts one that holds nothing, and
    /// only annotates other categories.
    #[test]
    fn memory_weighs_whole_file_loads() {
        use crate::diagnose::evidence::MemoryLine;
        use crate::diagnose::rules::{weigh_memory, Category};
        let s = src(CODE);
        let read = read_all(&site(&s, 4)).unwrap();
        let held = MemoryLine {
            bytes: 150e6,
            share: 0.9,
            at_peak: true,
        };
        let weigh = |memory: Option<MemoryLine>, known: bool, category: Category| {
            let mut site = site(&s, 4);
            site.memory = memory;
            site.memory_known = known;
            let mut h = read.clone();
            weigh_memory(&site, category, &mut h);
            h
        };
        let h = weigh(Some(held), true, Category::WholeFileLoad);
        assert!(h.confidence >= 0.9, "{h:?}");
        assert!(
            h.evidence.contains("90% of the memory (150.00 MB)"),
            "{h:?}"
        );
        // Allocated over the run (memray stats has no peak per site): likelier, less sure.
        let spread = MemoryLine {
            at_peak: false,
            ..held
        };
        let h = weigh(Some(spread), true, Category::WholeFileLoad);
        assert!((0.8..0.9).contains(&h.confidence), "{h:?}");
        // Near miss: the memory profile covers the file and the line holds nothing: doubtful.
        let h = weigh(None, true, Category::WholeFileLoad);
        assert!(h.confidence < read.confidence, "{h:?}");
        assert!(h.evidence.contains("holding little memory"), "{h:?}");
        // No memory profile: unchanged.
        let h = weigh(None, false, Category::WholeFileLoad);
        assert_eq!(h.confidence, read.confidence);
        // Another category: the figure is told, the confidence kept.
        let h = weigh(Some(held), true, Category::DeepcopyInLoop);
        assert_eq!(h.confidence, read.confidence);
        assert!(
            h.evidence.contains("at the peak, line 4 holds 90%"),
            "{h:?}"
        );
    }

    /// The lines of a text read whole, looped over: the file held twice. Near misses: the lines of a text the
    /// program made; the fields of one line.
    #[test]
    fn loop_over_the_lines_of_a_whole_read() {
        let s = src("def polls(path):\n    with open(path) as f:\n        data = f.read()\n    for line in data.split(\"\\n\"):\n        yield line\ndef report(rows):\n    text = \"\\n\".join(rows)\n    for line in text.splitlines():\n        print(line)\n    for part in data.split(\",\"):\n        print(part)\n");
        assert!(materialise(&site(&s, 4)).is_some());
        assert_eq!(materialise(&site(&s, 5)).unwrap().at, Some((0, 4)));
        // Every line but the header, parsed into a list at once.
        let r = src("def snap(path):\n    with open(path) as fh:\n        lines = fh.readlines()\n    return [parse(l) for l in lines[1:]]\n");
        assert!(materialise(&site(&r, 4)).is_some());
        // ... and of a text read whole and split; near miss: the lines of a text the program made.
        let t = src("def snap(self):\n    with open(self.path) as fh:\n        lines = fh.read().splitlines()\n    return [parse(l) for l in lines[1:] if l]\ndef made(rows):\n    lines = render(rows).splitlines()\n    return [parse(l) for l in lines]\n");
        assert!(materialise(&site(&t, 4)).is_some());
        assert!(materialise(&site(&t, 7)).is_none());
        // Every line of a file the `with` opened, collected (`list(fh)`, `sorted(fh)`, a comprehension), and
        // whole-table readers; near misses: a loop over the file (streaming), a list of the program's own rows.
        let w = src("import numpy as np\ndef a(path, made):\n    with open(path) as fh:\n        rows = list(fh)\n        keys = sorted(fh)\n        recs = [l.split(',') for l in fh]\n        for l in fh:\n            n = len(l)\n        copy = list(made)\n    grid = np.loadtxt(path, delimiter=',')\n    conf = yaml.safe_load(open(path))\n");
        for line in [4, 5, 6] {
            assert!(materialise(&site(&w, line)).is_some(), "line {line}");
        }
        assert!(read_all(&site(&w, 10)).is_some());
        assert!(read_all(&site(&w, 11)).is_some());
        // pandas' JSON reader reads the whole file like read_csv (no chunksize given).
        let j = src("import pandas as pd\ndef load(path):\n    return pd.read_json(path, lines=True)\ndef parts(path):\n    return pd.read_json(path, lines=True, chunksize=1000)\n");
        assert_eq!(read_all(&site(&j, 3)).unwrap().confidence, 0.75);
        assert!(read_all(&site(&j, 5)).is_none());
        for line in [7, 8, 9] {
            assert!(materialise(&site(&w, line)).is_none(), "line {line}");
            assert!(read_all(&site(&w, line)).is_none(), "line {line}");
        }
        // ... of a path read whole with an encoding named; near miss: a sized read (a chunk).
        let p = src("def legs(path, fh):\n    text = path.read_text(encoding=\"ascii\")\n    return [parse(l) for l in text.splitlines() if l]\ndef head(fh):\n    text = fh.read(4096)\n    return [parse(l) for l in text.splitlines()]\n");
        assert!(materialise(&site(&p, 3)).is_some());
        assert!(materialise(&site(&p, 6)).is_none());
        assert!(materialise(&site(&s, 8)).is_none());
        assert!(materialise(&site(&s, 9)).is_none());
        assert!(materialise(&site(&s, 11)).is_none());
    }

    /// A text read whole, copied (decoded, normalised) and split into lines in statements of their own, then
    /// looped over: each copy holds the file again, and the place of a hot line in the loop (or of a helper it
    /// calls) is the split. Near misses: a count over the text copies nothing; the fields of one line; lines
    /// of a text the program built; a name split twice in different places.
    #[test]
    fn a_whole_read_copied_then_split() {
        let s = src("def load(path):\n    with open(path, \"rb\") as f:\n        raw = f.read()\n    text = raw.decode(\"utf-8-sig\").replace(\"\\r\\n\", \"\\n\")\n    lines = text.split(\"\\n\")\n    n = raw.count(b\"\\n\")\n    for line in lines[1:]:\n        parts = line.split(\";\")\n        name(parts[0])\n    return n\ndef name(code):\n    return {c: c for c in CODES}.get(code)\ndef other(rows):\n    body = \"\\n\".join(rows)\n    items = body.split(\"\\n\")\n    for item in items:\n        print(item)\n    fields = text.split(\",\")\n    for x in fields:\n        print(x)\n");
        assert!(materialise(&site(&s, 4)).is_some());
        assert!(materialise(&site(&s, 5)).is_some());
        assert!(materialise(&site(&s, 6)).is_none());
        let h = materialise(&site(&s, 8)).unwrap();
        assert_eq!(h.at, Some((0, 5)), "{h:?}");
        let h = materialise(&site(&s, 12).called_from(&[9])).unwrap();
        assert_eq!(h.at, Some((0, 5)), "{h:?}");
        assert!(h.evidence.contains("`name` runs for each"), "{h:?}");
        assert!(materialise(&site(&s, 17)).is_none());
        assert!(materialise(&site(&s, 20)).is_none());
    }

    /// Generators reading files opened by `with ... as fh`, chained and sorted whole: every record held.
    /// Near miss: the name a `with` binds to a lock is no file.
    #[test]
    fn streams_of_files_opened_with_an_alias_sorted_whole() {
        let s = src("import itertools\ndef reads(path):\n    with open(path) as fh:\n        for line in fh:\n            yield line.split(',')\ndef timeline(paths):\n    streams = [reads(p) for p in paths]\n    return sorted(itertools.chain.from_iterable(streams))\ndef guarded(lock, items):\n    with lock as fh:\n        for x in fh:\n            yield x\ndef all_guarded(lock, items):\n    return sorted(guarded(lock, items))\n");
        assert_eq!(
            materialise(&site(&s, 5).called_from(&[8])).unwrap().at,
            Some((0, 8))
        );
        assert!(materialise(&site(&s, 12).called_from(&[14])).is_none());
        // pstats names the line that made the generators (7), not the one that runs them: the place is the
        // later line that collects the name they are bound to. Near miss: sorting the paths is not collecting.
        let h = materialise(&site(&s, 5).called_from(&[7])).unwrap();
        assert_eq!(h.at, Some((0, 8)), "{h:?}");
        let p = src("def reads(path):\n    with open(path) as fh:\n        for line in fh:\n            yield line\ndef paths(d):\n    return sorted(reads(p) for p in d)\ndef names(d):\n    streams = [reads(p) for p in sorted(d)]\n    return streams\n");
        assert!(materialise(&site(&p, 4).called_from(&[8])).is_none());
    }

    /// A whole-file load handed back to a caller that loops over it: that caller's loop runs while the file is
    /// held. Near misses: a caller that only counts the rows; a load that hands nothing back.
    #[test]
    fn the_loop_that_consumes_a_whole_load() {
        use crate::diagnose::rules::consumer;
        let s = src("class Ledger:\n    def tows(self):\n        rows = self.cur.fetchall()\n        return rows\ndef month_end(ledger):\n    for row in ledger.tows():\n        bill(row)\ndef later(ledger):\n    rows = ledger.tows()\n    for r in rows[1:]:\n        bill(r)\ndef count(ledger):\n    n = len(ledger.tows())\n    return n\ndef keep(self):\n    self.rows = self.cur.fetchall()\ndef run(self):\n    for x in keep(self):\n        pass\n");
        assert_eq!(
            consumer(&site(&s, 3).called_from(&[6]), (0, 3)),
            Some((0, 6))
        );
        assert_eq!(
            consumer(&site(&s, 3).called_from(&[9]), (0, 3)),
            Some((0, 10))
        );
        assert_eq!(consumer(&site(&s, 3).called_from(&[13]), (0, 3)), None);
        assert_eq!(consumer(&site(&s, 16).called_from(&[18]), (0, 16)), None);
        // A loop of the load's own function over the name it binds; near miss: a name only counted.
        let o = src("import json\ndef review(path):\n    with open(path) as fh:\n        events = json.load(fh)\n    n = 0\n    for ev in events:\n        n += 1\n    return n\ndef size(path):\n    with open(path) as fh:\n        events = json.load(fh)\n    return len(events)\n");
        assert_eq!(consumer(&site(&o, 4), (0, 4)), Some((0, 6)));
        assert_eq!(consumer(&site(&o, 11), (0, 11)), None);
        // Through the names made from it; near miss: a loop over something else.
        let d = src("def run(paths):\n    parts = []\n    for p in paths:\n        parts.append(open(p).read())\n    journal = ''.join(parts)\n    lines = journal.split('\\n')\n    for line in lines:\n        n = 1\ndef other(path, xs):\n    data = open(path).read()\n    ys = sorted(xs)\n    for y in ys:\n        n = 1\n");
        assert_eq!(consumer(&site(&d, 4), (0, 4)), Some((0, 7)));
        assert_eq!(consumer(&site(&d, 10), (0, 10)), None);
        // A loop that cuts records out of the data by offset; near miss: a loop that only uses a summary of it.
        let b = src("import struct\ndef scan(path):\n    data = open(path, 'rb').read()\n    for off in range(0, len(data), 64):\n        rec = struct.unpack_from('<Q', data, off)\ndef screen(path, claims):\n    table = pd.read_csv(path)\n    covered = table['ndc'].unique()\n    for c in claims:\n        ok = c in covered\n");
        assert_eq!(consumer(&site(&b, 3), (0, 3)), Some((0, 4)));
        assert_eq!(consumer(&site(&b, 7), (0, 7)), None);
        // Handed to a method of another object that loops over that parameter; files' lines gathered with
        // `+=`; near misses: handed to a function that only counts it, or as a part of an argument.
        let h = src(r#"class Pool:
    def screen(self, records):
        for line in records:
            n = 1
    def size(self, records):
        return len(records)
def run(path, paths):
    with open(path) as fh:
        lines = fh.readlines()
    return Pool().screen(lines)
def gather(paths):
    every = []
    for p in paths:
        every += open(p).readlines()
    for line in every:
        n = 1
def sized(path):
    lines = open(path).readlines()
    Pool().size(lines)
    Pool().screen(lines[:10])
"#);
        assert_eq!(consumer(&site(&h, 9), (0, 9)), Some((0, 3)));
        assert_eq!(consumer(&site(&h, 14), (0, 14)), Some((0, 15)));
        assert_eq!(consumer(&site(&h, 18), (0, 18)), None);
        // A comprehension or a map over the lines; near miss: a comprehension over something else.
        let c = src("def a(path, xs):\n    lines = open(path).readlines()\n    recs = [parse(l) for l in lines]\ndef b(path):\n    lines = open(path).readlines()\n    out = list(map(parse, lines))\ndef c(path, xs):\n    lines = open(path).readlines()\n    ys = [x * 2 for x in xs]\n");
        assert_eq!(consumer(&site(&c, 2), (0, 2)), Some((0, 3)));
        assert_eq!(consumer(&site(&c, 5), (0, 5)), Some((0, 6)));
        assert_eq!(consumer(&site(&c, 8), (0, 8)), None);
    }

    /// A whole load kept on the object: the other methods' loops over it and the statements outside those
    /// loops that go over it. Near misses: its length, an attribute that only starts with its name, the
    /// load's own function, and a load bound to a local name.
    #[test]
    fn passes_over_a_load_kept_on_the_object() {
        use crate::diagnose::rules::attribute_passes;
        let s = src(r#"class Repo:
    def load(self):
        with open(self.path) as fh:
            self.rows = list(csv.DictReader(fh))
        return len(self.rows)
    def local(self):
        rows = list(csv.DictReader(self.fh))
class Report:
    def run(self):
        n = len(self.repo.rows)
        ordered = sorted(self.repo.rows, key=KEY)
        for row in self.repo.rows:
            self.emit(row, self.repo.rows_seen)
        self.repo.rows_seen = 0
"#);
        assert_eq!(
            attribute_passes(&site(&s, 4), (0, 4)),
            vec![(0, 12), (0, 11)]
        );
        assert!(attribute_passes(&site(&s, 7), (0, 7)).is_empty());
    }

    /// Every chunk of a file added to one string as it is read, then split by another function: the file is
    /// held whole. Near misses: a report built from each line (`out += render(line)`), a string reset per record.
    #[test]
    fn a_file_accumulated_into_one_string() {
        let s = src("def read_all(path):\n    data = \"\"\n    with open(path) as f:\n        while True:\n            chunk = f.read(4096)\n            if not chunk:\n                break\n            data += chunk\n    return data\ndef summarise(text):\n    for line in text.split(\"\\n\"):\n        use(line)\ndef main(path):\n    summarise(read_all(path))\n    text = read_all(path)\ndef report(path):\n    out = \"\"\n    with open(path) as f:\n        for line in f:\n            out += render(line)\n    return out\n");
        assert!(materialise(&site(&s, 8)).is_some());
        assert_eq!(materialise(&site(&s, 12)).unwrap().at, Some((0, 11)));
        assert!(materialise(&site(&s, 20)).is_none());
    }

    /// `fetchall()` of a whole table loads it; of a query that aggregates (a report) it loads a summary.
    #[test]
    fn fetchall_of_a_summary() {
        let s = src("def rows(db):\n    return db.execute(\"SELECT * FROM stop_times\").fetchall()\ndef report(db):\n    return db.execute(\n        \"\"\"\n        SELECT route, MAX(dwell) FROM stop_times GROUP BY route\n        \"\"\"\n    ).fetchall()\n");
        assert!(read_all(&site(&s, 2)).is_some());
        assert!(read_all(&site(&s, 4)).is_none());
    }

    #[test]
    fn loads() {
        let s = src(CODE);
        assert!(read_all(&site(&s, 4)).is_some());
        assert!(materialise(&site(&s, 5)).is_some());
        assert!(materialise(&site(&s, 8)).is_some());
        // Near miss: a generator over the file streams.
        let g =
            src("def f(path):\n    rows = csv.reader(open(path))\n    return (r for r in rows)\n");
        assert!(materialise(&site(&g, 3)).is_none());
        // Near miss: a chunked read.
        assert!(read_all(&site(&s, 6)).is_none());
        let own = src("class J:\n    def entries(self):\n        return self.path.read_text().splitlines()\n    def run(self):\n        x = self.load()\n");
        assert!(read_all(&site(&own, 3)).is_some());
        assert!(read_all(&site(&own, 5)).is_none());
        let db = src("class T:\n    def samples(self):\n        return self.conn.execute(\n            \"SELECT a FROM t\").fetchall()\n");
        assert!(read_all(&site(&db, 4)).is_some());
        let xml = src("import xml.etree.ElementTree as ET\nfrom x import y\ndef doc(p):\n    return ET.parse(p).getroot()\ndef d(s):\n    return dateutil.parser.parse(s)\n");
        assert!(read_all(&site(&xml, 4)).is_some());
        assert!(read_all(&site(&xml, 6)).is_none());
        assert!(!is_blocking(&site(&xml, 2).with_callee("socket.socket")));
        let z = src("def t(zf, member, f, chunk_size):\n    text = zf.read(member).decode()\n    part = f.read(chunk_size)\n    b = f.read(1 << 20)\n");
        assert!(read_all(&site(&z, 2)).is_some());
        assert!(read_all(&site(&z, 3)).is_none());
        assert!(read_all(&site(&z, 4)).is_none());
        // Near miss: one record parsed per pass.
        let per_line = src(
            "import json\ndef f(lines):\n    for line in lines:\n        e = json.loads(line)\n",
        );
        assert!(read_all(&site(&per_line, 4)).is_none());
    }

    /// The per-record parser is hot; the place is the comprehension that keeps every record.
    #[test]
    fn a_response_body_cut_into_rows() {
        // The whole export read and split into CSV rows; near miss: one reply's bytes, per request.
        let s = src("import csv, json, urllib.request\ndef rows(url):\n    with urllib.request.urlopen(url) as resp:\n        return csv.reader(resp.read().decode().splitlines())\ndef one(url):\n    with urllib.request.urlopen(url) as resp:\n        return resp.read()\n");
        assert!(read_all(&site(&s, 4)).is_some());
        assert!(read_all(&site(&s, 7)).is_none());
    }

    #[test]
    fn parsing_into_a_whole_list() {
        let s = src("import csv\ndef parse(row):\n    return int(row[0])\ndef load(path):\n    with open(path) as f:\n        reader = csv.reader(f)\n        recs = [parse(r) for r in reader]\n    return recs\ndef stream(path):\n    with open(path) as f:\n        for r in csv.reader(f):\n            yield parse(r)\n");
        let h = materialise(&site(&s, 3).called_from(&[7])).unwrap();
        assert_eq!(h.at, Some((0, 7)));
        // Near miss: called from a generator that streams.
        assert!(materialise(&site(&s, 3).called_from(&[12])).is_none());
    }

    #[test]
    fn a_pool_used_one_task_at_a_time() {
        let s = src("import urllib.request\ndef get(u):\n    return urllib.request.urlopen(u).read()\ndef run(pool, urls):\n    out = {}\n    for u in urls:\n        out[u] = pool.submit(get, u).result()\n    futs = [pool.submit(get, u) for u in urls]\n    return [f.result() for f in futs]\n");
        assert!(serial_pool(&site(&s, 7)).unwrap().confidence > 0.8);
        // Near misses: submit everything, then collect.
        assert!(serial_pool(&site(&s, 8)).is_none());
        assert!(serial_pool(&site(&s, 9)).is_none());
    }

    /// `select.select` waits by its module; a child process's pipe read waits for the child. Near misses: a
    /// file's `readline`, and a `stdout` read in a program that starts no process.
    #[test]
    fn waits_on_select_and_child_pipes() {
        let s = src("import select, subprocess\nclass E:\n    def __init__(self):\n        self.p = subprocess.Popen(['e'], stdin=subprocess.PIPE, stdout=subprocess.PIPE)\n    def ask(self, q, log):\n        r, _, _ = select.select([self.sock], [], [], 0.1)\n        reply = self.p.stdout.readline()\n        line = log.readline()\n");
        assert!(is_blocking(&site(&s, 6)));
        assert!(is_blocking(&site(&s, 7)));
        assert!(!is_blocking(&site(&s, 8)));
        let n = src("import sys\ndef ask(q):\n    return sys.stdout.readline()\n");
        assert!(!is_blocking(&site(&n, 3)));
    }

    /// A request put on a worker's queue with a fresh reply queue, the reply awaited before the next item;
    /// near misses: futures submitted in an earlier loop and collected in this one (the waits overlap), and a
    /// program whose threads compute (no I/O in the file).
    #[test]
    fn replies_awaited_in_turn() {
        let code = r#"import queue, time, threading
class Session:
    def call(self, req):
        reply = queue.Queue(maxsize=1)
        self.inbox.put((req, reply))
        return reply.get(timeout=5)
def handle(req, reply):
    time.sleep(0.01)
    reply.put(req)
def run(s, items, pool):
    for it in items:
        s.call(it)
    futs = [pool.submit(handle, it) for it in items]
    for f in futs:
        f.result()
"#;
        let s = src(code);
        let wait = |line: u32, callers: &[u32]| {
            site(&s, line).called_from(callers).with_callee("queue.get")
        };
        assert_eq!(reply_in_turn(&wait(6, &[12])).unwrap().at, Some((0, 12)));
        assert!(reply_in_turn(&wait(6, &[])).is_none(), "not repeated");
        assert!(
            reply_in_turn(&site(&s, 15).with_callee("concurrent.futures._base.Future.result"))
                .is_none()
        );
        let cpu = src(&code.replace("time.sleep(0.01)", "sum(range(99))"));
        assert!(
            reply_in_turn(&site(&cpu, 6).called_from(&[12]).with_callee("queue.get")).is_none()
        );
    }

    #[test]
    fn waits() {
        let s = src(CODE);
        assert_eq!(
            per_item(&site(&s, 12).called_from(&[16])).unwrap().at,
            Some((0, 16))
        );
        assert!(per_item(&site(&s, 12)).is_none());
        // A retry loop is not a loop over work items.
        assert!(blocking(&site(&s, 18)).unwrap().confidence < 0.6);
        let sleepy = src("def f(xs):\n    for x in xs:\n        wait(x)\n");
        assert!(blocking(&site(&sleepy, 3)).is_none());
        assert!(blocking(&site(&sleepy, 3).with_callee("time.sleep")).is_some());
        // Below another library call: a socket read that carries the call's time is a wait; a response's
        // close reached through the `__exit__` every `with` shares, next to a file's heavy one, is not.
        let below = |inner: &str, weight: f64| {
            site(&sleepy, 3)
                .with_callee("_io._IOBase.__exit__")
                .with_inner_callee(inner, weight)
        };
        assert!(blocking(&below("socket.socket.recv_into", 0.8)).is_some());
        assert!(blocking(&below("http.client.close", 0.01)).is_none());
        // asyncio's streams are network waits.
        assert!(blocking(
            &site(&sleepy, 3)
                .with_callee("asyncio.streams.open_connection")
                .with_inner_callee("asyncio.selector_events.sock_connect", 0.7)
        )
        .is_some());
        assert!(blocking(&site(&sleepy, 3).with_callee("asyncio.queues.get")).is_none());
    }

    /// An event loop that waits, for a coroutine awaiting its requests one at a time in a loop: the place is
    /// the `await` in the loop. Near misses: requests gathered at once; one await and no loop.
    #[test]
    fn awaited_one_at_a_time() {
        let s = src("import asyncio\nclass Api:\n    async def quote(self, sku):\n        await asyncio.sleep(0.01)\n        return 1\nasync def fetch_all(api, skus):\n    rows = []\n    for sku in skus:\n        rows.append(await api.quote(sku))\n    return rows\nasync def fetch_gathered(api, skus):\n    return await asyncio.gather(*(api.quote(s) for s in skus))\nasync def one(api):\n    return await api.quote('a')\ndef main(skus):\n    a = asyncio.run(fetch_all(Api(), skus))\n    b = asyncio.run(fetch_gathered(Api(), skus))\n    c = asyncio.run(one(Api()))\n");
        let waiting = |l: u32| site(&s, l).with_callee("select.epoll.poll");
        assert_eq!(awaited_in_turn(&waiting(16)).unwrap().at, Some((0, 9)));
        assert!(awaited_in_turn(&waiting(17)).is_none());
        assert!(awaited_in_turn(&waiting(18)).is_none());
        // Near miss: an event loop that computes (nothing waits under it).
        assert!(awaited_in_turn(&site(&s, 16)).is_none());
    }

    /// Waits handed to a pool of one worker run one after another: from the worker's waiting line or the main
    /// thread's map. Near misses: a pool of eight; a pool of one that computes.
    #[test]
    fn a_pool_of_one_worker() {
        let one = src("import time\nfrom concurrent.futures import ThreadPoolExecutor\ndef fetch(k):\n    time.sleep(0.01)\n    return k\ndef main(keys):\n    with ThreadPoolExecutor(max_workers=1) as pool:\n        out = list(pool.map(fetch, keys))\n    return out\n");
        assert_eq!(single_worker(&site(&one, 8)).unwrap().at, Some((0, 7)));
        let mut worker = site(&one, 4).with_callee("time.sleep");
        worker.threaded = true;
        assert_eq!(single_worker(&worker).unwrap().at, Some((0, 7)));
        let eight = src("import time\nfrom concurrent.futures import ThreadPoolExecutor\ndef fetch(k):\n    time.sleep(0.01)\n    return k\ndef main(keys):\n    with ThreadPoolExecutor(max_workers=8) as pool:\n        out = list(pool.map(fetch, keys))\n    return out\n");
        assert!(single_worker(&site(&eight, 8)).is_none());
        let cpu = src("from concurrent.futures import ThreadPoolExecutor\ndef score(k):\n    return sum(i * i for i in range(k))\ndef main(keys):\n    with ThreadPoolExecutor(max_workers=1) as pool:\n        out = list(pool.map(score, keys))\n    return out\n");
        assert!(single_worker(&site(&cpu, 6)).is_none());
    }

    /// A thread started and joined in the same pass of a loop, waiting on I/O: one at a time. Near misses:
    /// threads started in one loop and joined in another; a thread per item that computes.
    #[test]
    fn a_thread_joined_in_turn() {
        let s = src("import threading, time\ndef fetch(k):\n    time.sleep(0.01)\ndef main(keys):\n    for k in keys:\n        t = threading.Thread(target=fetch, args=(k,))\n        t.start()\n        t.join()\n");
        assert_eq!(thread_per_item(&site(&s, 8)).unwrap().at, Some((0, 8)));
        let mut worker = site(&s, 3).with_callee("time.sleep");
        worker.threaded = true;
        assert_eq!(thread_per_item(&worker).unwrap().at, Some((0, 8)));
        let apart = src("import threading, time\ndef fetch(k):\n    time.sleep(0.01)\ndef main(keys):\n    ts = [threading.Thread(target=fetch, args=(k,)) for k in keys]\n    for t in ts:\n        t.start()\n    for t in ts:\n        t.join()\n");
        assert!(thread_per_item(&site(&apart, 9)).is_none());
        let cpu = src("import threading\ndef work(k):\n    return sum(range(k))\ndef main(keys):\n    for k in keys:\n        t = threading.Thread(target=work, args=(k,))\n        t.start()\n        t.join()\n");
        assert!(thread_per_item(&site(&cpu, 8)).is_none());
    }

    /// A child process run and waited for, per item: a wait, and not a computation to hoist even when its
    /// arguments never change. Near misses: a process started and not waited for; the program's own `run`.
    #[test]
    fn a_process_per_item() {
        let s = src("import subprocess, sys\ndef main(items):\n    for i in items:\n        subprocess.run([sys.executable, \"-c\", \"pass\"], check=True)\n        subprocess.Popen([sys.executable, \"-c\", \"pass\"])\n        run(i)\ndef run(i):\n    return i\n");
        assert!(blocking(&site(&s, 4)).is_some());
        assert!(crate::diagnose::rules::repeated::invariant_call(&site(&s, 4)).is_none());
        assert!(blocking(&site(&s, 5)).is_none());
        assert!(blocking(&site(&s, 6)).is_none());
        assert!(blocking(&site(&s, 6).with_callee("subprocess.Popen.wait")).is_some());
    }

    #[test]
    fn stream_collected_whole() {
        let s = src("def read(path):\n    with open(path) as f:\n        for line in f:\n            yield line.split(',')\ndef grouped(rows):\n    return sorted(rows, key=len)\ndef run(path):\n    for g in grouped(r for r in read(path) if r):\n        pass\ndef totals(path):\n    t = {}\n    with open(path) as f:\n        for line in f:\n            t[line] = 1\n    return t\ndef report(path):\n    return sorted(totals(path))\n");
        // The parsing runs under the generator expression (line 8), collected by `sorted` (line 6).
        assert_eq!(
            materialise(&site(&s, 4).called_from(&[8, 6, 8]))
                .unwrap()
                .at,
            Some((0, 6))
        );
        // Near miss: a function that aggregates the file and returns a small result, sorted.
        assert!(materialise(&site(&s, 14).called_from(&[17])).is_none());
        // A CSV transposed into columns by spreading its reader; near miss: spreading a small list.
        let z = src("import csv\ndef cols(path, pairs):\n    with open(path) as f:\n        reader = csv.reader(f)\n        table = dict(zip(next(reader), zip(*reader)))\n    return dict(zip(*pairs))\n");
        assert!(materialise(&site(&z, 5)).is_some());
        assert!(materialise(&site(&z, 6)).is_none());
        // Every row buffered per key while the file is read; near miss: rows aggregated as they come.
        let b = src("import csv\nclass R:\n    def load(self, path):\n        with open(path) as f:\n            for row in csv.reader(f):\n                self.by_key[row[1]].append(parse(row))\n    def count(self, path):\n        with open(path) as f:\n            for row in csv.reader(f):\n                self.n[row[1]] += 1\n");
        assert!(materialise(&site(&b, 6)).is_some());
        assert!(materialise(&site(&b, 10)).is_none());
        // Near miss: keys kept to de-duplicate the records as they come; the positive beside it: every record
        // kept on the side of a generator that yields them too.
        let d = src("import csv\ndef distinct(path):\n    seen = []\n    with open(path) as f:\n        for row in csv.reader(f):\n            key = row[0]\n            if key not in seen:\n                seen.append(key)\n    return len(seen)\ndef kept(path, out):\n    with open(path) as f:\n        for row in csv.reader(f):\n            out.rows.append(row)\n            yield row\n");
        assert!(materialise(&site(&d, 8)).is_none());
        assert!(materialise(&site(&d, 13)).is_some());
        // One copy of a tee'd stream counted to its end: tee holds every record for the other copy.
        let t = src("import itertools\ndef read(path):\n    with open(path) as f:\n        for line in f:\n            yield line\ndef with_total(rows):\n    a, b = itertools.tee(rows)\n    n = sum(1 for _ in a)\n    return n, b\ndef plain(rows):\n    n = sum(1 for _ in rows)\n    return n\n");
        assert_eq!(
            materialise(&site(&t, 5).called_from(&[8, 8])).unwrap().at,
            Some((0, 8))
        );
        assert!(materialise(&site(&t, 5).called_from(&[11, 11])).is_none());
    }

    /// `list(reader)` of a name bound to a CSV reader holds the file; near miss: `list(keys)` of a small dict.
    #[test]
    fn named_reader_listed() {
        let s = src("import csv
def rows(path, d):
    with open(path) as f:
        reader = csv.reader(f)
        header = next(reader)
        return header, list(reader)
def names(d):
    keys = d.keys()
    return list(keys)
");
        assert!(materialise(&site(&s, 6)).is_some());
        assert!(materialise(&site(&s, 9)).is_none());
    }

    /// A generator over a cursor fetched in batches, collected whole by `list(...)` (an ORM's result cache):
    /// every row is held. Near miss: the same generator consumed one row at a time.
    #[test]
    fn cursor_stream_collected() {
        let s = src("class QS:
    def iterator(self):
        cursor = self.db.execute(self.sql)
        while rows := cursor.fetchmany(2000):
            for row in rows:
                yield self.model(row)
    def fetch_all(self):
        self.cache = list(self.iterator())
    def total(self):
        n = 0
        for m in self.iterator():
            n += m.x
        return n
");
        assert_eq!(
            materialise(&site(&s, 4).called_from(&[8])).unwrap().at,
            Some((0, 8))
        );
        assert!(materialise(&site(&s, 4).called_from(&[11])).is_none());
    }
}
