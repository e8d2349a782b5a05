//! Compares a candidate's outputs with the reference's, and says what differs in terms a person can act on:
//! missing rows, extra rows, wrong cents (with the size of the error), reject counts by kind.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use serde::Serialize;

/// How many examples each finding lists.
const EXAMPLES: usize = 5;

/// The comparison of one output file.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct FileCheck {
    pub file: String,
    pub ok: bool,
    /// One line each: what is wrong, with a few examples.
    pub findings: Vec<String>,
}

/// The comparison of all outputs.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verification {
    pub ok: bool,
    pub files: Vec<FileCheck>,
}

impl Verification {
    /// A short text for the terminal.
    pub fn render(&self) -> String {
        let mut s = String::new();
        for f in &self.files {
            let mark = if f.ok { "ok" } else { "DIFFERS" };
            s.push_str(&format!("  {:<20} {mark}\n", f.file));
            for line in &f.findings {
                s.push_str(&format!("    - {line}\n"));
            }
        }
        s
    }
}

fn read_rows(path: &Path) -> Result<(Vec<String>, Vec<Vec<String>>), String> {
    let mut r = csv::ReaderBuilder::new()
        .flexible(true)
        .from_path(path)
        .map_err(|e| format!("cannot read: {e}"))?;
    let header = r
        .headers()
        .map_err(|e| format!("cannot read the header: {e}"))?
        .iter()
        .map(str::to_string)
        .collect();
    let mut rows = Vec::new();
    for rec in r.records() {
        let rec = rec.map_err(|e| format!("unreadable CSV: {e}"))?;
        rows.push(rec.iter().map(str::to_string).collect());
    }
    Ok((header, rows))
}

fn examples<T: std::fmt::Debug>(items: impl Iterator<Item = T>) -> String {
    let v: Vec<String> = items.take(EXAMPLES).map(|x| format!("{x:?}")).collect();
    v.join(", ")
}

/// Keyed comparison of a CSV: `key` columns identify a row, the others are values.
fn compare_keyed(
    name: &str,
    reference: &Path,
    candidate: &Path,
    key: usize,
    money_col: Option<usize>,
) -> FileCheck {
    let mut findings = Vec::new();
    let r = read_rows(reference);
    let c = read_rows(candidate);
    let (Ok((rh, rr)), Ok((ch, cr))) = (&r, &c) else {
        let e = c.err().or(r.err()).unwrap_or_default();
        return FileCheck {
            file: name.into(),
            ok: false,
            findings: vec![format!("{e}")],
        };
    };
    if rh != ch {
        findings.push(format!(
            "header is {} (expected {})",
            ch.join(","),
            rh.join(",")
        ));
    }
    let index = |rows: &Vec<Vec<String>>| -> BTreeMap<Vec<String>, Vec<String>> {
        rows.iter()
            .map(|r| {
                (
                    r[..key.min(r.len())].to_vec(),
                    r[key.min(r.len())..].to_vec(),
                )
            })
            .collect()
    };
    let (ri, ci) = (index(rr), index(cr));
    let missing: Vec<_> = ri.keys().filter(|k| !ci.contains_key(*k)).collect();
    let extra: Vec<_> = ci.keys().filter(|k| !ri.contains_key(*k)).collect();
    if !missing.is_empty() {
        findings.push(format!(
            "{} rows missing, e.g. {}",
            missing.len(),
            examples(missing.iter().map(|k| k.join(",")))
        ));
    }
    if !extra.is_empty() {
        findings.push(format!(
            "{} unexpected rows, e.g. {}",
            extra.len(),
            examples(extra.iter().map(|k| k.join(",")))
        ));
    }
    let mut wrong = Vec::new();
    let mut cents_off = Vec::new();
    for (k, rv) in &ri {
        if let Some(cv) = ci.get(k) {
            if rv != cv {
                wrong.push(format!(
                    "{}: {} (expected {})",
                    k.join(","),
                    cv.join(","),
                    rv.join(",")
                ));
                if let Some(m) = money_col {
                    let (a, b) = (
                        rv.get(m - key).and_then(|x| x.parse::<i128>().ok()),
                        cv.get(m - key).and_then(|x| x.parse::<i128>().ok()),
                    );
                    if let (Some(a), Some(b)) = (a, b) {
                        if a != b {
                            cents_off.push((b - a).abs());
                        }
                    }
                }
            }
        }
    }
    if !wrong.is_empty() {
        findings.push(format!(
            "{} rows with wrong values, e.g. {}",
            wrong.len(),
            examples(wrong.iter())
        ));
    }
    if !cents_off.is_empty() {
        let max = cents_off.iter().max().copied().unwrap_or(0);
        let hint = if max <= 2 {
            " — off by a cent or two: a rounding rule (float arithmetic, or rounding the wrong step)"
        } else {
            ""
        };
        findings.push(format!(
            "revenue differs in {} rows, by up to {max} cents{hint}",
            cents_off.len()
        ));
    }
    if findings.is_empty() && rr != cr {
        findings.push("same rows, different order (sort by the spec's keys)".into());
    }
    FileCheck {
        file: name.into(),
        ok: findings.is_empty(),
        findings,
    }
}

fn compare_rejects(reference: &Path, candidate: &Path) -> FileCheck {
    let load = |p: &Path| -> Result<BTreeSet<(String, String, String)>, String> {
        let (h, rows) = read_rows(p)?;
        let col = |n: &str| {
            h.iter()
                .position(|c| c == n)
                .ok_or(format!("no column {n}"))
        };
        let (f, l, k) = (col("file")?, col("line")?, col("kind")?);
        Ok(rows
            .iter()
            .map(|r| (r[f].clone(), r[l].clone(), r[k].clone()))
            .collect())
    };
    let (r, c) = match (load(reference), load(candidate)) {
        (Ok(r), Ok(c)) => (r, c),
        (Err(e), _) | (_, Err(e)) => {
            return FileCheck {
                file: "rejects.csv".into(),
                ok: false,
                findings: vec![e],
            }
        }
    };
    let mut findings = Vec::new();
    let kinds: BTreeSet<&String> = r.iter().chain(c.iter()).map(|x| &x.2).collect();
    for kind in kinds {
        let rk: BTreeSet<_> = r.iter().filter(|x| &x.2 == kind).collect();
        let ck: BTreeSet<_> = c.iter().filter(|x| &x.2 == kind).collect();
        let missed: Vec<_> = rk.difference(&ck).collect();
        let extra: Vec<_> = ck.difference(&rk).collect();
        if !missed.is_empty() || !extra.is_empty() {
            findings.push(format!(
                "{kind}: {} expected, {} found; missed {}{}; wrongly rejected {}{}",
                rk.len(),
                ck.len(),
                missed.len(),
                if missed.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (e.g. {})",
                        examples(missed.iter().map(|x| format!("{}:{}", x.0, x.1)))
                    )
                },
                extra.len(),
                if extra.is_empty() {
                    String::new()
                } else {
                    format!(
                        " (e.g. {})",
                        examples(extra.iter().map(|x| format!("{}:{}", x.0, x.1)))
                    )
                },
            ));
        }
    }
    FileCheck {
        file: "rejects.csv".into(),
        ok: findings.is_empty(),
        findings,
    }
}

fn compare_summary(reference: &Path, candidate: &Path) -> FileCheck {
    const COUNTS: [&str; 6] = [
        "rows_read",
        "valid",
        "rejected",
        "duplicates_dropped",
        "cancelled",
        "revenue_usd_cents",
    ];
    let load = |p: &Path| -> Result<serde_json::Value, String> {
        let text = std::fs::read(p).map_err(|e| format!("cannot read: {e}"))?;
        serde_json::from_slice(&text).map_err(|e| format!("not JSON: {e}"))
    };
    let mut findings = Vec::new();
    match (load(reference), load(candidate)) {
        (Ok(r), Ok(c)) => {
            for k in COUNTS {
                if r.get(k) != c.get(k) {
                    findings.push(format!(
                        "{k} is {} (expected {})",
                        c.get(k).map_or("missing".into(), |v| v.to_string()),
                        r.get(k).map_or("missing".into(), |v| v.to_string())
                    ));
                }
            }
        }
        (Err(e), _) | (_, Err(e)) => findings.push(e),
    }
    FileCheck {
        file: "summary.json".into(),
        ok: findings.is_empty(),
        findings,
    }
}

/// Compares the exercise's outputs in `candidate` with those in `reference`.
pub fn verify(reference: &Path, candidate: &Path) -> Verification {
    let mut files = Vec::new();
    for (name, key, money) in [
        ("daily_revenue.csv", 3, Some(5)),
        ("top_customers.csv", 1, Some(5)),
    ] {
        let c = candidate.join(name);
        files.push(if c.is_file() {
            compare_keyed(name, &reference.join(name), &c, key, money)
        } else {
            FileCheck {
                file: name.into(),
                ok: false,
                findings: vec!["not written".into()],
            }
        });
    }
    for (name, f) in [
        (
            "rejects.csv",
            compare_rejects as fn(&Path, &Path) -> FileCheck,
        ),
        ("summary.json", compare_summary),
    ] {
        let c = candidate.join(name);
        files.push(if c.is_file() {
            f(&reference.join(name), &c)
        } else {
            FileCheck {
                file: name.into(),
                ok: false,
                findings: vec!["not written".into()],
            }
        });
    }
    Verification {
        ok: files.iter().all(|f| f.ok),
        files,
    }
}
