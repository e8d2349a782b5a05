//! `regex_in_loop`: a regex, parser or dialect built (or compiled) again for every item.

use super::common::hit;
use super::{Hit, Site};

/// The `re` module's functions that take a pattern (compiled, or looked up in `re`'s cache).
pub const REGEX_CALLS: [&str; 9] = [
    "re.compile",
    "re.match",
    "re.search",
    "re.fullmatch",
    "re.findall",
    "re.finditer",
    "re.sub",
    "re.split",
    "re.subn",
];

/// `re.compile` or a module-level `re.*` call on a line that repeats: the pattern is parsed again, or looked up
/// in `re`'s small cache (which a pattern built per item, or many patterns, defeat). The profile's evidence is
/// time under `re._compile` (the parser and compiler).
pub fn compile_in_loop(s: &Site) -> Option<Hit> {
    let regex: Vec<&String> = s
        .ctx
        .calls
        .iter()
        .filter(|c| REGEX_CALLS.contains(&c.as_str()) || c.ends_with("regex.compile"))
        .collect();
    let compiling = s
        .callee(|n| {
            n.contains("re._compile")
                || n.contains("sre_compile")
                || n.contains("re._parser")
                || n.contains("sre_parse")
                || n.contains("_compiler")
        })
        .is_some();
    if !(s.in_loop() || s.repeated()) {
        return None;
    }
    if regex.is_empty() {
        // No `re` call written on the line, yet most of the library work under it is re's compiler: a library
        // call that builds a pattern from its argument (`strptime` with a format per item) past re's cache.
        let is_compiler = |n: &str| {
            n.contains("re._compile")
                || n == "re.compile"
                || n.contains("sre_compile")
                || n.contains("re._parser")
                || n.contains("sre_parse")
                || n.ends_with("TimeRE.compile")
        };
        let top = s.callees.first()?;
        let compiler = s
            .callees
            .iter()
            .filter(|c| is_compiler(&c.name))
            .map(|c| c.weight)
            .fold(0.0, f64::max);
        let via = s.callees.iter().find(|c| c.direct).unwrap_or(top);
        if compiler < 0.3 * top.weight || compiler <= 0.0 {
            return None;
        }
        return hit(
            0.8,
            format!(
                "line {} calls `{}` {}, and {:.0}% of the work under it is re's compiler: a pattern is built again each time (more distinct patterns than re's cache holds, or none cached)",
                s.ctx.line,
                via.name,
                s.repetition_text(),
                100.0 * compiler / top.weight
            ),
        );
    }
    let built = s.ctx.call_texts.iter().any(|c| {
        REGEX_CALLS.iter().any(|r| c.starts_with(r))
            && (c.contains("f\"")
                || c.contains("f'")
                || c.contains(" + ")
                || c.contains(".format(")
                || c.contains("escape("))
    });
    let conf = if regex[0] == "re.compile" || built || compiling {
        0.9
    } else {
        0.75
    };
    hit(
        conf,
        format!(
            "line {} calls {} {}{}: the pattern is parsed (or looked up in re's small cache) each time",
            s.ctx.line,
            regex[0],
            s.repetition_text(),
            if compiling { ", and the profile shows the time in re's compiler" } else { "" }
        ),
    )
}

/// A parser object built for one use per item (`csv.Sniffer()`, a decoder, a template, a dialect).
pub fn parser_object(s: &Site) -> Option<Hit> {
    const FACTORIES: [&str; 12] = [
        "Sniffer()",
        "ArgumentParser(",
        "add_argument(",
        "JSONDecoder(",
        "JSONEncoder(",
        "XMLParser(",
        "HTMLParser(",
        "Template(",
        "Decimal(",
        "ElementTree(",
        "struct.Struct(",
        "Formatter(",
    ];
    if !(s.in_loop() || s.repeated()) {
        return None;
    }
    let factory = |c: &str| FACTORIES.iter().any(|f| c.contains(f)) && !c.starts_with("Decimal(");
    // Built on the line, or by a helper of the program that the line calls (`parser = build_parser()`).
    let built = s.ctx.call_texts.iter().find(|c| factory(c)).or_else(|| {
        s.ctx.call_texts.iter().find(|c| {
            let name = super::common::method(c.split('(').next().unwrap_or(""));
            s.src.functions().iter().any(|f| {
                f.name == name
                    && (f.start + 1..=f.end)
                        .any(|l| s.src.context(l).call_texts.iter().any(|c| factory(c)))
            })
        })
    })?;
    hit(
        0.8,
        format!(
            "line {} builds a parser object (`{}`) {} and throws it away",
            s.ctx.line,
            built.chars().take(50).collect::<String>(),
            s.repetition_text()
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"import re, csv
WORD = re.compile(r"\w+")
def clean(line, tag):
    return re.sub(f"<{tag}>", "", line)
def run(lines):
    for line in lines:
        p = re.compile(r"\d+")
        m = WORD.match(line)
        d = csv.Sniffer().sniff(line)
        clean(line, "b")
"#;

    #[test]
    fn regex() {
        let s = src(CODE);
        assert!(compile_in_loop(&site(&s, 7)).unwrap().confidence >= 0.9);
        // Near misses: a precompiled pattern; the module-level compile.
        assert!(compile_in_loop(&site(&s, 8)).is_none());
        assert!(compile_in_loop(&site(&s, 2)).is_none());
        assert!(
            compile_in_loop(&site(&s, 4).called_from(&[10]))
                .unwrap()
                .confidence
                >= 0.9
        );
        assert!(compile_in_loop(&site(&s, 4)).is_none());
        assert!(parser_object(&site(&s, 9)).is_some());
        assert!(parser_object(&site(&s, 8)).is_none());
        // A format per item: the profile shows the library call's time in re's compiler.
        let t = src("from datetime import datetime\ndef run(photos, fmts):\n    for p in photos:\n        datetime.strptime(p.stem, fmts[p.cam])\n");
        let mut hot = site(&t, 4)
            .with_callee("_strptime._strptime_datetime")
            .with_callee("_strptime.TimeRE.compile");
        hot.callees[1].weight = 0.6;
        hot.callees[1].direct = false;
        assert!(compile_in_loop(&hot).is_some());
        // Near miss: the compiler is a sliver of the work (the cache holds the formats).
        hot.callees[1].weight = 0.05;
        assert!(compile_in_loop(&hot).is_none());
    }

    /// The parser is built by a helper of the program, called on the repeated line.
    #[test]
    fn parser_built_by_a_helper() {
        let s = src("import argparse\ndef build():\n    p = argparse.ArgumentParser()\n    return p\ndef plain():\n    return 1\ndef run(cmds):\n    for c in cmds:\n        a = build().parse_args(c)\n        b = plain()\n");
        assert!(parser_object(&site(&s, 9)).is_some());
        assert!(parser_object(&site(&s, 10)).is_none());
        // Near miss: a helper that makes a Decimal of its argument builds no parser.
        let d = src("from decimal import Decimal\ndef amount(p):\n    a = Decimal(p) * 2\n    return a\ndef run(ps):\n    for p in ps:\n        amount(p)\n");
        assert!(parser_object(&site(&d, 7)).is_none());
    }
}
