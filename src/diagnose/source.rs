//! Python source, parsed with tree-sitter, and the syntactic context of a line: the enclosing function, the
//! loops around it (with what they iterate over), and what the line itself does.

use std::path::{Path, PathBuf};

use tree_sitter::{Node, Parser, Tree};

use crate::{Error, Result};

/// A parsed Python file.
pub struct SourceFile {
    pub path: PathBuf,
    pub text: String,
    tree: Tree,
    /// Every function definition, by first line (computed once: rules ask often).
    funcs: Vec<FunctionInfo>,
    /// Byte offset where each line starts (line texts are asked for often).
    line_starts: Vec<usize>,
}

/// A call in a function's body: its line and the callee's text (`self.lookup`, `re.compile`, `sorted`).
#[derive(Debug, Clone, PartialEq)]
pub struct CallSite {
    pub line: u32,
    pub callee: String,
}

/// A loop around a line: a `for`/`while` statement or a comprehension's `for` clause.
#[derive(Debug, Clone, PartialEq)]
pub struct LoopInfo {
    pub line: u32,
    pub kind: &'static str,
    /// The loop variable(s) (`for` only).
    pub target: String,
    /// What it iterates over (`for`) or its condition (`while`).
    pub iter: String,
    /// Names bound inside the loop's body (they change from one pass to the next).
    pub assigned: Vec<String>,
    /// The bytes of the whole loop: the statement, or a comprehension clause's comprehension. Two loops on one
    /// line are nested only when one span holds the other (`[a for a in x], [b for b in y]` are siblings).
    pub span: (usize, usize),
}

/// A function around a line.
#[derive(Debug, Clone, PartialEq)]
pub struct FunctionInfo {
    pub name: String,
    /// The `def` line.
    pub start: u32,
    /// The first decorator's line, else the `def` line (what CPython's `co_firstlineno` says).
    pub first: u32,
    /// The class the function is a method of, if any.
    pub class: Option<String>,
    pub end: u32,
    pub decorators: Vec<String>,
    pub params: Vec<String>,
}

/// What a line is and what is around it.
#[derive(Debug, Clone)]
pub struct LineContext {
    pub line: u32,
    /// The line's text, trimmed.
    pub text: String,
    pub function: Option<FunctionInfo>,
    /// Enclosing loops, outermost first, including comprehension clauses on the line itself.
    pub loops: Vec<LoopInfo>,
    /// Calls made on the line: the callee's text (`re.compile`, `rows.pop`, `sorted`).
    pub calls: Vec<String>,
    /// Call texts with arguments (`rows.pop(0)`).
    pub call_texts: Vec<String>,
    /// `in` / `not in` comparisons on the line: the right-hand side.
    pub membership: Vec<String>,
    /// `==` comparisons on the line: (left, right).
    pub equalities: Vec<(String, String)>,
    /// Augmented assignments on the line: (target, operator, value).
    pub augmented: Vec<(String, String, String)>,
    /// Plain assignments on the line: (target, value).
    pub assignments: Vec<(String, String)>,
    /// Exception types handled by `try` statements around the line (innermost first), when inside a `try` body.
    pub try_handlers: Vec<String>,
    /// The line is itself an `except` clause or a `raise`.
    pub is_except_or_raise: bool,
    /// The line is inside an `except` clause's body (the handler's work).
    pub in_handler: bool,
    /// The base classes of the class around the line (`(LookupError)`), if any.
    pub class_bases: Option<String>,
}

/// The text inside a bracket already opened, up to the bracket that closes it (`"a, f(b)) + c"` -> `"a, f(b)"`);
/// all of it when it never closes.
pub fn inside_brackets(rest: &str) -> &str {
    let mut depth = 0i32;
    let end = rest
        .char_indices()
        .find(|&(_, c)| {
            match c {
                '(' | '[' | '{' => depth += 1,
                ')' | ']' | '}' => depth -= 1,
                _ => {}
            }
            depth < 0
        })
        .map_or(rest.len(), |(j, _)| j);
    &rest[..end]
}

impl LineContext {
    /// The innermost loop statement around the line (`for`/`while`; comprehension clauses are not statements).
    pub fn innermost_loop(&self) -> Option<&LoopInfo> {
        self.loops.iter().rev().find(|l| l.kind != "comprehension")
    }
}

impl SourceFile {
    pub fn parse(path: &Path) -> Result<SourceFile> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Self::from_text(path, text)
    }

    pub fn from_text(path: &Path, text: String) -> Result<SourceFile> {
        let mut parser = Parser::new();
        parser
            .set_language(&tree_sitter_python::LANGUAGE.into())
            .map_err(|e| Error::Format {
                path: path.to_path_buf(),
                message: format!("cannot load the Python grammar: {e}"),
            })?;
        let tree = parser.parse(&text, None).ok_or_else(|| Error::Format {
            path: path.to_path_buf(),
            message: "the Python parser gave up".into(),
        })?;
        let mut s = SourceFile {
            path: path.to_path_buf(),
            text,
            tree,
            funcs: Vec::new(),
            line_starts: Vec::new(),
        };
        s.line_starts = std::iter::once(0)
            .chain(s.text.match_indices('\n').map(|(i, _)| i + 1))
            .collect();
        let mut funcs = Vec::new();
        let mut stack = vec![s.tree.root_node()];
        while let Some(n) = stack.pop() {
            if n.kind() == "function_definition" {
                funcs.push(s.function_info(n));
            }
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c));
        }
        funcs.sort_by_key(|f| f.start);
        s.funcs = funcs;
        Ok(s)
    }

    /// Like [`SourceFile::parse`], but a file that is not valid Python is an error naming the first place the
    /// parser could not read.
    pub fn parse_strict(path: &Path) -> Result<SourceFile> {
        let s = Self::parse(path)?;
        if let Some((line, offset)) = s.syntax_error() {
            return Err(Error::BadInput {
                path: path.to_path_buf(),
                line: line as u64,
                offset: offset as u64,
                message: format!(
                    "not valid Python here (`{}`): the source must be the program that was profiled",
                    s.line_text(line).chars().take(60).collect::<String>()
                ),
            });
        }
        Ok(s)
    }

    /// The first syntax error: (line, byte offset), if the parser found one.
    pub fn syntax_error(&self) -> Option<(u32, usize)> {
        let root = self.tree.root_node();
        if !root.has_error() {
            return None;
        }
        let mut stack = vec![root];
        let mut first: Option<Node<'_>> = None;
        while let Some(n) = stack.pop() {
            if n.is_error() || n.is_missing() {
                if first.is_none_or(|f| n.start_byte() < f.start_byte()) {
                    first = Some(n);
                }
                continue;
            }
            if n.has_error() {
                let mut c = n.walk();
                stack.extend(n.children(&mut c));
            }
        }
        let n = first.unwrap_or(root);
        Some((n.start_position().row as u32 + 1, n.start_byte()))
    }

    /// The function whose code object starts at `line` (a `def` line, or its first decorator's).
    pub fn function_at(&self, line: u32) -> Option<&FunctionInfo> {
        self.funcs
            .iter()
            .find(|f| f.start == line)
            .or_else(|| self.funcs.iter().find(|f| f.first == line))
    }

    /// The innermost function around `line`.
    pub fn enclosing_function(&self, line: u32) -> Option<&FunctionInfo> {
        self.funcs
            .iter()
            .filter(|f| f.start <= line && line <= f.end)
            .max_by_key(|f| f.start)
    }

    /// The node of a function (by its `def` line), or the module for `None`.
    fn scope_node(&self, f: Option<&FunctionInfo>) -> Option<Node<'_>> {
        let root = self.tree.root_node();
        let Some(f) = f else { return Some(root) };
        let mut stack = vec![root];
        while let Some(n) = stack.pop() {
            if n.kind() == "function_definition" && n.start_position().row as u32 + 1 == f.start {
                return n.child_by_field_name("body");
            }
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c));
        }
        None
    }

    /// The lines where statements of a function's own body start (nested `def`s and classes left out), with
    /// the calls made in that body. `None`: the module's top level.
    pub fn body(&self, f: Option<&FunctionInfo>) -> (Vec<u32>, Vec<CallSite>) {
        let (mut lines, mut calls) = (Vec::new(), Vec::new());
        let Some(scope) = self.scope_node(f) else {
            return (lines, calls);
        };
        let mut stack = vec![scope];
        while let Some(n) = stack.pop() {
            let k = n.kind();
            if n.id() != scope.id()
                && matches!(
                    k,
                    "function_definition" | "class_definition" | "decorated_definition"
                )
            {
                continue;
            }
            if k.ends_with("_statement") && !matches!(k, "block") {
                lines.push(n.start_position().row as u32 + 1);
            }
            if k == "call" {
                if let Some(callee) = n.child_by_field_name("function") {
                    calls.push(CallSite {
                        line: n.start_position().row as u32 + 1,
                        callee: self.node_text(callee),
                    });
                }
            }
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c));
        }
        lines.sort_unstable();
        lines.dedup();
        calls.sort_by_key(|c| c.line);
        (lines, calls)
    }

    pub fn node_text(&self, n: Node<'_>) -> String {
        n.utf8_text(self.text.as_bytes()).unwrap_or("").to_string()
    }

    pub fn line_text(&self, line: u32) -> String {
        self.raw_line(line).trim().to_string()
    }

    /// Line `line` (1-based) as written, without its line break.
    fn raw_line(&self, line: u32) -> &str {
        let Some(&start) = self.line_starts.get(line.saturating_sub(1) as usize) else {
            return "";
        };
        let end = self
            .line_starts
            .get(line as usize)
            .map_or(self.text.len(), |&e| e);
        self.text[start..end].trim_end_matches(['\n', '\r'])
    }

    /// A compound statement's header line and the lines of its block: those after it indented deeper (blank
    /// lines included).
    pub fn block(&self, header: u32) -> Vec<u32> {
        let indent = |l: u32| {
            let raw = self.raw_line(l);
            raw.len() - raw.trim_start().len()
        };
        let top = indent(header);
        let mut body = vec![header];
        let mut l = header + 1;
        while l <= self.lines() && (self.line_text(l).is_empty() || indent(l) > top) {
            body.push(l);
            l += 1;
        }
        body
    }

    /// Number of lines.
    pub fn lines(&self) -> u32 {
        self.text.lines().count() as u32
    }

    /// Every function definition, by `def` line.
    pub fn functions(&self) -> &[FunctionInfo] {
        &self.funcs
    }

    fn function_info(&self, f: Node<'_>) -> FunctionInfo {
        let name = f
            .child_by_field_name("name")
            .map(|n| self.node_text(n))
            .unwrap_or_default();
        let mut decorators = Vec::new();
        let start = f.start_position().row as u32 + 1;
        let mut first = start;
        let holder = f.parent().filter(|p| p.kind() == "decorated_definition");
        if let Some(p) = holder {
            first = p.start_position().row as u32 + 1;
        }
        // A method: the definition (or its decorated form) sits directly in a class body.
        let class = holder
            .unwrap_or(f)
            .parent()
            .filter(|b| b.kind() == "block")
            .and_then(|b| b.parent())
            .filter(|c| c.kind() == "class_definition")
            .and_then(|c| c.child_by_field_name("name"))
            .map(|n| self.node_text(n));
        if let Some(p) = holder {
            let mut c = p.walk();
            for d in p.named_children(&mut c).filter(|d| d.kind() == "decorator") {
                decorators.push(self.node_text(d));
            }
        }
        let mut params = Vec::new();
        if let Some(ps) = f.child_by_field_name("parameters") {
            let mut c = ps.walk();
            for p in ps.named_children(&mut c) {
                let t = self.node_text(p);
                let name = t
                    .split([':', '='])
                    .next()
                    .unwrap_or("")
                    .trim()
                    .trim_start_matches('*')
                    .to_string();
                params.push(name);
            }
        }
        FunctionInfo {
            name,
            start,
            first,
            class,
            end: f.end_position().row as u32 + 1,
            decorators,
            params,
        }
    }

    /// The innermost named node at the first non-blank character of `line` (1-based), with its row.
    fn node_at_line(&self, line: u32) -> Option<(usize, Node<'_>)> {
        let row = line.checked_sub(1)? as usize;
        let text_line = self.raw_line(line);
        let col = text_line.len() - text_line.trim_start().len();
        let point = tree_sitter::Point::new(row, col);
        let n = self
            .tree
            .root_node()
            .named_descendant_for_point_range(point, point)?;
        Some((row, n))
    }

    /// The innermost statement that starts on `line` (1-based), if any.
    fn statement_at(&self, line: u32) -> Option<Node<'_>> {
        let (row, mut n) = self.node_at_line(line)?;
        loop {
            let k = n.kind();
            if (k.ends_with("_statement")
                || k == "function_definition"
                || k == "class_definition"
                || k.ends_with("_clause"))
                && n.start_position().row == row
            {
                return Some(n);
            }
            n = n.parent()?;
        }
    }

    /// The first line of the innermost statement that spans `line`.
    fn statement_around(&self, line: u32) -> Option<u32> {
        let (_, mut n) = self.node_at_line(line)?;
        loop {
            let k = n.kind();
            if k.ends_with("_statement") || k.ends_with("_clause") {
                return Some(n.start_position().row as u32 + 1);
            }
            n = n.parent()?;
        }
    }

    /// How many branches (`if`/`elif`/`else`, `except`, `case`) hold the statement at `line` inside its
    /// innermost loop (or function): a line under a branch runs on fewer passes than one beside it.
    pub fn branch_depth(&self, line: u32) -> u32 {
        let start = self.statement_around(line).unwrap_or(line);
        let Some(mut n) = self.statement_at(start) else {
            return 0;
        };
        let mut depth = 0;
        while let Some(p) = n.parent() {
            match p.kind() {
                "for_statement" | "while_statement" | "function_definition" => break,
                // (An `if`'s own header line is not under it.)
                "if_statement" | "elif_clause" | "else_clause" | "except_clause"
                | "case_clause"
                    if p.start_position().row + 1 != start as usize =>
                {
                    depth += 1;
                }
                _ => {}
            }
            n = p;
        }
        depth
    }

    /// The first and last line of the simple statement that holds `line` (a compound statement's header).
    pub fn statement_span(&self, line: u32) -> Option<(u32, u32)> {
        let start = match self.statement_at(line) {
            Some(_) => line,
            None => self.statement_around(line)?,
        };
        let stmt = self.statement_at(start)?;
        let mut c = stmt.walk();
        let block = stmt.children(&mut c).find(|k| k.kind() == "block");
        let end = match block {
            Some(b) => b.start_position().row.max(start as usize),
            None => stmt.end_position().row + 1,
        };
        Some((start, end as u32))
    }

    /// The context of `line` (1-based).
    pub fn context(&self, line: u32) -> LineContext {
        let mut ctx = LineContext {
            line,
            text: self.line_text(line),
            function: None,
            loops: Vec::new(),
            calls: Vec::new(),
            call_texts: Vec::new(),
            membership: Vec::new(),
            equalities: Vec::new(),
            augmented: Vec::new(),
            assignments: Vec::new(),
            try_handlers: Vec::new(),
            is_except_or_raise: false,
            in_handler: false,
            class_bases: None,
        };
        let Some(stmt) = self.statement_at(line) else {
            // A continuation line (a long call or comprehension spread over lines): the statement it belongs to.
            return match self.statement_around(line) {
                Some(start) if start < line => LineContext {
                    line,
                    text: ctx.text,
                    ..self.context(start)
                },
                _ => ctx,
            };
        };
        let row = line as usize - 1;
        // `with suppress(E):` is a `try`/`except E: pass`: its line is where the exception is caught.
        let suppressed = |n: Node<'_>| -> Option<String> {
            if n.kind() != "with_statement" {
                return None;
            }
            let head = self.node_text(n);
            let head = head.lines().next().unwrap_or("");
            let i = head.find("suppress(")?;
            let args = &head[i + "suppress(".len()..];
            Some(
                args[..args.rfind(')').unwrap_or(args.len())]
                    .trim()
                    .to_string(),
            )
        };
        ctx.is_except_or_raise = matches!(stmt.kind(), "except_clause" | "raise_statement")
            || suppressed(stmt).is_some();
        // Ancestors: loops, try bodies, the function.
        let mut child = stmt;
        let mut n = stmt.parent();
        let mut loops = Vec::new();
        while let Some(p) = n {
            match p.kind() {
                "for_statement" | "while_statement" => loops.push(self.loop_info(p)),
                // Only a line inside the try body is protected by the handlers.
                "try_statement"
                    if p.child_by_field_name("body")
                        .is_some_and(|b| b.id() == child.id()) =>
                {
                    let mut c = p.walk();
                    for h in p
                        .named_children(&mut c)
                        .filter(|h| h.kind() == "except_clause")
                    {
                        let t = self.node_text(h);
                        let head = t
                            .lines()
                            .next()
                            .unwrap_or("")
                            .trim_start_matches("except")
                            .trim()
                            .trim_end_matches(':');
                        ctx.try_handlers
                            .push(head.split(" as ").next().unwrap_or("").trim().to_string());
                    }
                }
                "with_statement"
                    if p.child_by_field_name("body")
                        .is_some_and(|b| b.id() == child.id()) =>
                {
                    ctx.try_handlers.extend(suppressed(p));
                }
                "except_clause" if ctx.function.is_none() => ctx.in_handler = true,
                "function_definition" if ctx.function.is_none() => {
                    ctx.function = Some(self.function_info(p))
                }
                "class_definition" if ctx.class_bases.is_none() => {
                    ctx.class_bases = Some(
                        p.child_by_field_name("superclasses")
                            .map(|b| self.node_text(b))
                            .unwrap_or_default(),
                    );
                }
                _ => {}
            }
            child = p;
            n = p.parent();
        }
        loops.reverse();
        // Nodes of the statement: for a compound statement only its header (the body is other lines); a simple
        // statement spread over lines (a comprehension with its `for` on the next line) is one unit.
        let mut c = stmt.walk();
        let block = stmt.children(&mut c).find(|k| k.kind() == "block");
        let last_row = match block {
            Some(b) => b.start_position().row.saturating_sub(1).max(row),
            None => stmt.end_position().row,
        };
        let mut stack = vec![stmt];
        let mut own_loops = Vec::new();
        while let Some(x) = stack.pop() {
            if x.start_position().row > last_row {
                continue;
            }
            match x.kind() {
                "call" => {
                    if let Some(f) = x.child_by_field_name("function") {
                        ctx.calls.push(self.node_text(f));
                    }
                    ctx.call_texts.push(self.node_text(x));
                }
                "comparison_operator" => {
                    let mut c = x.walk();
                    let kids: Vec<Node<'_>> = x.children(&mut c).collect();
                    for (i, k) in kids.iter().enumerate() {
                        let op = k.kind();
                        if (op == "in" || op == "not in") && i + 1 < kids.len() {
                            ctx.membership.push(self.node_text(kids[i + 1]));
                        }
                        if op == "==" && i > 0 && i + 1 < kids.len() {
                            ctx.equalities
                                .push((self.node_text(kids[i - 1]), self.node_text(kids[i + 1])));
                        }
                    }
                }
                "augmented_assignment" => {
                    let l = x
                        .child_by_field_name("left")
                        .map(|n| self.node_text(n))
                        .unwrap_or_default();
                    let r = x
                        .child_by_field_name("right")
                        .map(|n| self.node_text(n))
                        .unwrap_or_default();
                    let op = x
                        .child_by_field_name("operator")
                        .map(|n| self.node_text(n))
                        .unwrap_or_default();
                    ctx.augmented.push((l, op, r));
                }
                "assignment" => {
                    let l = x
                        .child_by_field_name("left")
                        .map(|n| self.node_text(n))
                        .unwrap_or_default();
                    let r = x
                        .child_by_field_name("right")
                        .map(|n| self.node_text(n))
                        .unwrap_or_default();
                    ctx.assignments.push((l, r));
                }
                "for_in_clause" => {
                    let target = x
                        .child_by_field_name("left")
                        .map(|n| self.node_text(n))
                        .unwrap_or_default();
                    let iter = x
                        .child_by_field_name("right")
                        .map(|n| self.node_text(n))
                        .unwrap_or_default();
                    own_loops.push((
                        x.start_byte(),
                        LoopInfo {
                            line: x.start_position().row as u32 + 1,
                            kind: "comprehension",
                            target,
                            iter,
                            assigned: Vec::new(),
                            span: x.parent().map_or((x.start_byte(), x.end_byte()), |p| {
                                (p.start_byte(), p.end_byte())
                            }),
                        },
                    ));
                }
                _ => {}
            }
            let mut c = x.walk();
            for (i, k) in x.children(&mut c).enumerate() {
                // Skip the bodies of compound statements and nested definitions.
                let field = x.field_name_for_child(i as u32);
                if matches!(
                    field,
                    Some("body") | Some("alternative") | Some("consequence")
                ) && k.start_position().row > last_row
                {
                    continue;
                }
                if k.kind() == "block" && k.start_position().row > last_row {
                    continue;
                }
                stack.push(k);
            }
        }
        if matches!(stmt.kind(), "for_statement" | "while_statement") {
            loops.push(self.loop_info(stmt));
        }
        own_loops.sort_by_key(|l| l.0);
        loops.extend(own_loops.into_iter().map(|l| l.1));
        ctx.loops = loops;
        ctx
    }

    fn loop_info(&self, n: Node<'_>) -> LoopInfo {
        let line = n.start_position().row as u32 + 1;
        // Names bound in the body: assignment targets, nested loop targets, `with ... as x`.
        let mut assigned: Vec<String> = Vec::new();
        if let Some(body) = n.child_by_field_name("body") {
            let mut stack = vec![body];
            while let Some(x) = stack.pop() {
                let target = match x.kind() {
                    "assignment" | "augmented_assignment" | "for_statement" | "for_in_clause" => {
                        x.child_by_field_name("left")
                    }
                    "as_pattern_target" => Some(x),
                    _ => None,
                };
                if let Some(t) = target {
                    for name in self
                        .node_text(t)
                        .split(|c: char| !(c.is_alphanumeric() || c == '_'))
                    {
                        if !name.is_empty() && !assigned.iter().any(|a| a == name) {
                            assigned.push(name.to_string());
                        }
                    }
                }
                let mut c = x.walk();
                stack.extend(x.named_children(&mut c));
            }
        }
        let field = |f: &str| {
            n.child_by_field_name(f)
                .map(|x| self.node_text(x))
                .unwrap_or_default()
        };
        if n.kind() == "for_statement" {
            LoopInfo {
                line,
                kind: "for",
                target: field("left"),
                iter: field("right"),
                assigned,
                span: (n.start_byte(), n.end_byte()),
            }
        } else {
            LoopInfo {
                line,
                kind: "while",
                target: String::new(),
                iter: field("condition"),
                assigned,
                span: (n.start_byte(), n.end_byte()),
            }
        }
    }

    /// What a name is bound to in the file: the right-hand sides of `name = ...` assignments (any scope).
    pub fn bindings(&self, name: &str) -> Vec<String> {
        self.binding_lines(name)
            .into_iter()
            .map(|(_, r)| r)
            .collect()
    }

    /// The assignments of `name` in the file: each one's first line and right-hand side.
    pub fn binding_lines(&self, name: &str) -> Vec<(u32, String)> {
        let mut out = Vec::new();
        let mut stack = vec![self.tree.root_node()];
        while let Some(n) = stack.pop() {
            if n.kind() == "assignment" {
                let l = n
                    .child_by_field_name("left")
                    .map(|x| self.node_text(x))
                    .unwrap_or_default();
                if l == name || l.split(',').any(|p| p.trim() == name) {
                    if let Some(r) = n.child_by_field_name("right") {
                        out.push((n.start_position().row as u32 + 1, self.node_text(r)));
                    }
                }
            }
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c));
        }
        out
    }

    /// The expressions returned by the function `name`.
    pub fn returns_of(&self, name: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stack = vec![self.tree.root_node()];
        while let Some(n) = stack.pop() {
            if n.kind() == "function_definition"
                && n.child_by_field_name("name")
                    .is_some_and(|x| self.node_text(x) == name)
            {
                let mut inner = vec![n];
                while let Some(x) = inner.pop() {
                    if x.kind() == "return_statement" {
                        if let Some(v) = x.named_child(0) {
                            out.push(self.node_text(v));
                        }
                    }
                    let mut c = x.walk();
                    inner.extend(x.named_children(&mut c));
                }
            }
            let mut c = n.walk();
            stack.extend(n.named_children(&mut c));
        }
        out
    }

    /// True when `name` is an enumeration defined in this file (`class Unit(enum.Enum):`): its members are
    /// constants, so iterating it gives the same items every time.
    pub fn is_enum_class(&self, name: &str) -> bool {
        let head = format!("class {name}(");
        self.text.lines().any(|l| {
            l.trim_start().strip_prefix(&head).is_some_and(|rest| {
                let bases = rest.split(')').next().unwrap_or("");
                ["Enum", "Flag"].iter().any(|b| bases.contains(b))
            })
        })
    }

    /// True when the whole text contains `needle` (cheap checks for imports and APIs).
    pub fn mentions(&self, needle: &str) -> bool {
        self.text.contains(needle)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CODE: &str = r#"import re

def enrich(orders, customers):
    out = []
    for o in orders:
        for c in customers:
            if c["id"] == o["cid"]:
                out.append((o, c))
    return out

@cache
def fib(n):
    return n if n < 2 else fib(n - 1) + fib(n - 2)

def f(rows, seen):
    s = ""
    while rows:
        r = rows.pop(0)
        try:
            v = int(r)
        except ValueError:
            continue
        if r not in seen:
            s += str(v)
    return [x for x in rows for y in seen if x == y]
"#;

    /// Branches inside the innermost loop: an `if`'s body and an `except` count, the `if` header and a line
    /// beside it do not, nor a branch outside the loop.
    #[test]
    fn branch_depth() {
        let s = SourceFile::from_text(Path::new("t.py"), CODE.into()).unwrap();
        assert_eq!(s.branch_depth(7), 0);
        assert_eq!(s.branch_depth(8), 1);
        assert_eq!(s.branch_depth(18), 0);
        assert_eq!(s.branch_depth(22), 1);
        assert_eq!(s.branch_depth(24), 1);
        let t = SourceFile::from_text(
            Path::new("t.py"),
            "def g(xs, x):\n    if x:\n        for v in xs:\n            y = (v +\n                 1)\n".into(),
        )
        .unwrap();
        assert_eq!(t.branch_depth(4), 0);
        assert_eq!(t.branch_depth(5), 0);
    }

    #[test]
    fn contexts() {
        let s = SourceFile::from_text(Path::new("t.py"), CODE.into()).unwrap();
        let c = s.context(7);
        assert_eq!(c.function.as_ref().unwrap().name, "enrich");
        assert_eq!(
            c.loops.iter().map(|l| l.iter.as_str()).collect::<Vec<_>>(),
            ["orders", "customers"]
        );
        assert_eq!(
            c.equalities,
            vec![("c[\"id\"]".to_string(), "o[\"cid\"]".to_string())]
        );
        let c = s.context(18);
        assert_eq!(c.call_texts, vec!["rows.pop(0)"]);
        assert_eq!(c.loops[0].kind, "while");
        let c = s.context(20);
        assert_eq!(c.try_handlers, vec!["ValueError"]);
        // `with suppress(E):` handles E for its body, and its own line is where E is caught.
        let w = SourceFile::from_text(
            Path::new("w.py"),
            "def f(rows):\n    for r in rows:\n        with suppress(KeyError, IndexError):\n            g(r)\n".into(),
        )
        .unwrap();
        assert_eq!(w.context(4).try_handlers, vec!["KeyError, IndexError"]);
        assert!(w.context(3).is_except_or_raise);
        assert!(!w.context(2).is_except_or_raise);
        assert!(s.context(21).is_except_or_raise);
        let c = s.context(23);
        assert_eq!(c.membership, vec!["seen"]);
        let c = s.context(24);
        assert_eq!(
            c.augmented,
            vec![("s".to_string(), "+=".to_string(), "str(v)".to_string())]
        );
        let c = s.context(25);
        assert_eq!(c.loops.len(), 2);
        assert_eq!(c.loops[1].iter, "seen");
        let fib = s.functions().iter().find(|f| f.name == "fib").unwrap();
        assert_eq!(fib.decorators, vec!["@cache"]);
        assert_eq!(s.bindings("out"), vec!["[]"]);
        // The header line of a loop sees only its header.
        let c = s.context(5);
        assert_eq!(c.loops.last().unwrap().iter, "orders");
        assert!(c.calls.is_empty());
    }

    /// A statement spread over lines is one unit: the first line of a comprehension sees the `for` clause on
    /// the next line, and a continuation line sees the calls of its statement; a compound statement's header
    /// still sees only the header.
    #[test]
    fn multi_line_statements() {
        let code = "def load(path, book):\n    with open(path) as f:\n        rows = csv.reader(f)\n        out = [parse(r)\n               for r in rows]\n    return (\n        price(c, toml.loads(book))\n        for c in out\n    )\n    if (a and\n            b):\n        go()\n";
        let s = SourceFile::from_text(Path::new("t.py"), code.into()).unwrap();
        let c = s.context(4);
        assert_eq!(c.loops.len(), 1);
        assert_eq!(
            (c.loops[0].kind, c.loops[0].iter.as_str()),
            ("comprehension", "rows")
        );
        let c = s.context(7);
        assert_eq!(c.loops.len(), 1);
        assert!(
            c.call_texts.contains(&"toml.loads(book)".to_string()),
            "{:?}",
            c.call_texts
        );
        assert_eq!(s.statement_span(7), Some((6, 9)));
        // `with` and `if` headers: the body's calls are other lines.
        assert_eq!(s.context(2).call_texts, vec!["open(path)"]);
        assert!(s.context(10).calls.is_empty());
        assert_eq!(s.statement_span(10), Some((10, 11)));
    }
}
