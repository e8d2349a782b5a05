//! `etlkit drill`: graded practice at naming bottlenecks. A drill is a folder (`exercises/drills/NN-slug/`)
//! with `README.md` (the story), `slow.py`, `fast.py`, `answer.toml` and optionally a recorded
//! `profile.raw.txt` (py-spy). The learner sees the profile, names the place and the kind, and is graded.

pub mod fix;
pub mod flow;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::diagnose::Category;
use crate::{Error, Result};

/// `answer.toml`.
#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Answer {
    pub category: String,
    pub function: String,
    pub lines: [u32; 2],
    pub difficulty: String,
    pub explanation: String,
    pub fix: String,
    #[serde(default)]
    pub decoy: Option<Decoy>,
}

#[derive(Debug, Clone, Deserialize, Serialize)]
pub struct Decoy {
    pub function: String,
    pub lines: [u32; 2],
}

/// One drill.
#[derive(Debug, Clone, Serialize)]
pub struct Drill {
    pub id: String,
    pub dir: PathBuf,
    pub story: String,
    pub answer: Answer,
}

impl Drill {
    pub fn category(&self) -> Option<Category> {
        Category::parse(&self.answer.category)
    }

    pub fn slow(&self) -> PathBuf {
        self.dir.join("slow.py")
    }

    pub fn fast(&self) -> PathBuf {
        self.dir.join("fast.py")
    }

    /// The committed py-spy profile, when the drill has one.
    pub fn cached_profile(&self) -> Option<PathBuf> {
        Some(self.dir.join("profile.raw.txt")).filter(|p| p.is_file())
    }

    /// The recorded cProfile profile (`python -m cProfile -o profile.pstats slow.py`), if any.
    pub fn cached_pstats(&self) -> Option<PathBuf> {
        Some(self.dir.join("profile.pstats")).filter(|p| p.is_file())
    }

    /// The recorded line_profiler profile (`kernprof -l -p slow.py`, scripts/record-profiles), if any.
    pub fn cached_lprof(&self) -> Option<PathBuf> {
        Some(self.dir.join("profile.lprof")).filter(|p| p.is_file())
    }

    /// The recorded Scalene profile (`scalene run --no-stacks`, scripts/record-profiles), if any.
    pub fn cached_scalene(&self) -> Option<PathBuf> {
        Some(self.dir.join("profile.scalene.json")).filter(|p| p.is_file())
    }
}

/// Loads every drill under `root` (folders holding an `answer.toml`), sorted by id.
pub fn catalog(root: &Path) -> Result<Vec<Drill>> {
    let entries = std::fs::read_dir(root).map_err(|e| Error::io(root, e))?;
    let mut out = Vec::new();
    for e in entries.flatten() {
        let dir = e.path();
        let answer_path = dir.join("answer.toml");
        if !answer_path.is_file() {
            continue;
        }
        let text = std::fs::read_to_string(&answer_path).map_err(|e| Error::io(&answer_path, e))?;
        let answer: Answer = toml::from_str(&text).map_err(|e| Error::Format {
            path: answer_path.clone(),
            message: e.to_string(),
        })?;
        if Category::parse(&answer.category).is_none() {
            return Err(Error::Format {
                path: answer_path,
                message: format!("unknown category '{}'", answer.category),
            });
        }
        let story = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
        out.push(Drill {
            id: e.file_name().to_string_lossy().into_owned(),
            dir,
            story,
            answer,
        });
    }
    out.sort_by(|a, b| a.id.cmp(&b.id));
    Ok(out)
}

/// How right an answer is, for the location and for the kind separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Mark {
    Right,
    /// The right function, but not the lines of the bottleneck.
    Partly,
    Wrong,
}

/// A learner's answer: a location (`slow.py:35`, `35`, or a function name) and a category id.
#[derive(Debug, Clone, Serialize)]
pub struct Guess {
    pub location: String,
    pub category: String,
}

/// The grade of a guess.
#[derive(Debug, Clone, Serialize)]
pub struct Grade {
    pub location: Mark,
    pub category: Mark,
    /// The guess points at the drill's decoy.
    pub took_decoy: bool,
    pub comment: String,
}

impl Grade {
    /// 2 for a right location, 1 for partly; 2 for the right kind: out of 4.
    pub fn points(&self) -> u32 {
        let l = match self.location {
            Mark::Right => 2,
            Mark::Partly => 1,
            Mark::Wrong => 0,
        };
        l + if self.category == Mark::Right { 2 } else { 0 }
    }
}

/// The line number of a location like `slow.py:35`, `35` or `slow.py:35-37` (its first line).
fn guessed_line(location: &str) -> Option<u32> {
    let tail = location.rsplit(':').next().unwrap_or(location);
    tail.split('-').next()?.trim().parse().ok()
}

/// The innermost function whose definition spans `line` in the drill's slow.py.
fn function_at(drill: &Drill, line: u32) -> Option<String> {
    let src = crate::diagnose::source::SourceFile::parse(&drill.slow()).ok()?;
    src.functions()
        .iter()
        .filter(|f| f.start <= line && line <= f.end)
        .min_by_key(|f| f.end - f.start)
        .map(|f| f.name.clone())
}

pub fn grade(drill: &Drill, guess: &Guess) -> Grade {
    let a = &drill.answer;
    let [lo, hi] = a.lines;
    let line = guessed_line(&guess.location);
    let function = match line {
        Some(l) => function_at(drill, l),
        None => Some(guess.location.trim().trim_end_matches("()").to_string()),
    };
    let in_range = |l: u32, r: [u32; 2]| r[0] <= l && l <= r[1];
    let took_decoy = a.decoy.as_ref().is_some_and(|d| {
        line.is_some_and(|l| in_range(l, d.lines))
            || (line.is_none() && function.as_deref() == Some(d.function.as_str()))
    });
    let location = match line {
        Some(l) if in_range(l, a.lines) => Mark::Right,
        _ if function.as_deref() == Some(a.function.as_str()) && !took_decoy => Mark::Partly,
        _ => Mark::Wrong,
    };
    let category = if Category::parse(&guess.category).is_some_and(|c| c.id() == a.category) {
        Mark::Right
    } else {
        Mark::Wrong
    };
    let mut comment = match location {
        Mark::Right => format!("Right place: lines {lo}-{hi} of {}().", a.function),
        Mark::Partly => format!(
            "Right function ({}), but the bottleneck is at lines {lo}-{hi}.",
            a.function
        ),
        Mark::Wrong => format!("The bottleneck is in {}(), lines {lo}-{hi}.", a.function),
    };
    if took_decoy {
        comment.push_str(
            " You picked the decoy: it is hot, but it is not what makes the program slow.",
        );
    }
    match category {
        Mark::Right => comment.push_str(&format!(" Right kind: {}.", a.category)),
        _ => comment.push_str(&format!(
            " The kind is {} ({}), not {}.",
            a.category,
            Category::parse(&a.category).map_or("", |c| c.title()),
            guess.category
        )),
    }
    Grade {
        location,
        category,
        took_decoy,
        comment,
    }
}

/// One graded attempt, as kept in the history file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Attempt {
    pub drill: String,
    pub category: String,
    pub answered_category: String,
    pub location: Mark,
    pub category_mark: Mark,
    pub unix_time: u64,
}

/// `$ETLKIT_HOME/drill-history.jsonl` (default `~/.local/share/etlkit`).
pub fn history_path() -> PathBuf {
    let base = std::env::var_os("ETLKIT_HOME")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            let home = std::env::var_os("HOME")
                .map(PathBuf::from)
                .unwrap_or_else(|| PathBuf::from("."));
            home.join(".local/share/etlkit")
        });
    base.join("drill-history.jsonl")
}

/// Appends one line of JSON (an [`Attempt`], a [`fix::FixAttempt`]) to a history file.
pub fn record(path: &Path, attempt: &impl Serialize) -> Result<()> {
    use std::io::Write;
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut f = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .map_err(|e| Error::io(path, e))?;
    let line = serde_json::to_string(attempt).expect("attempt serialises");
    writeln!(f, "{line}").map_err(|e| Error::io(path, e))
}

/// The entries of a history file (lines that do not parse are skipped: a history is a convenience).
pub fn load_history<T: serde::de::DeserializeOwned>(path: &Path) -> Vec<T> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}

/// Per category: (attempts, right kinds, right places).
pub fn stats(history: &[Attempt]) -> BTreeMap<String, (u32, u32, u32)> {
    let mut m: BTreeMap<String, (u32, u32, u32)> = BTreeMap::new();
    for a in history {
        let e = m.entry(a.category.clone()).or_default();
        e.0 += 1;
        e.1 += (a.category_mark == Mark::Right) as u32;
        e.2 += (a.location == Mark::Right) as u32;
    }
    m
}

/// The categories to practise first: never tried, then lowest share of right kinds.
pub fn weak_categories(drills: &[Drill], history: &[Attempt]) -> Vec<String> {
    let s = stats(history);
    let mut cats: Vec<String> = drills.iter().map(|d| d.answer.category.clone()).collect();
    cats.sort();
    cats.dedup();
    cats.sort_by(|a, b| {
        let score = |c: &String| {
            s.get(c)
                .map_or(-1.0, |(n, k, l)| (*k + *l) as f64 / (2 * *n).max(1) as f64)
        };
        score(a).total_cmp(&score(b)).then(a.cmp(b))
    });
    cats
}

/// Picks a drill: by id (prefix or substring), else among those of `category`/`difficulty`, else one of the
/// weakest categories (`focus`), using `seed` to choose among candidates.
pub fn pick<'a>(
    drills: &'a [Drill],
    name: Option<&str>,
    category: Option<&str>,
    difficulty: Option<&str>,
    focus: Option<&[Attempt]>,
    seed: u64,
) -> Result<&'a Drill> {
    let mut pool: Vec<&Drill> = drills.iter().collect();
    if let Some(n) = name {
        pool.retain(|d| d.id.contains(n));
    }
    if let Some(c) = category {
        pool.retain(|d| d.answer.category == c);
    }
    if let Some(x) = difficulty {
        pool.retain(|d| d.answer.difficulty == x);
    }
    if let Some(h) = focus {
        let weak = weak_categories(drills, h);
        if let Some(first) = weak
            .iter()
            .find(|c| pool.iter().any(|d| &&d.answer.category == c))
        {
            // Prefer drills of the weak category not yet attempted.
            pool.retain(|d| &d.answer.category == first);
            let fresh: Vec<&Drill> = pool
                .iter()
                .copied()
                .filter(|d| !h.iter().any(|a| a.drill == d.id))
                .collect();
            if !fresh.is_empty() {
                pool = fresh;
            }
        }
    }
    if pool.is_empty() {
        return Err(Error::InvalidArgument {
            what: "drill selection",
            value: [name, category, difficulty]
                .iter()
                .flatten()
                .copied()
                .collect::<Vec<_>>()
                .join(" "),
            expected: format!(
                "one of: {}",
                drills
                    .iter()
                    .map(|d| d.id.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        });
    }
    Ok(pool[(seed % pool.len() as u64) as usize])
}

#[cfg(test)]
mod tests {
    use super::*;

    fn drill() -> Drill {
        let dir = tempfile::tempdir().unwrap().keep();
        std::fs::write(
            dir.join("slow.py"),
            "import csv\n\ndef load():\n    return [1, 2]\n\ndef join(orders, customers):\n    out = []\n    for o in orders:\n        for c in customers:\n            if c == o:\n                out.append(c)\n    return out\n",
        )
        .unwrap();
        Drill {
            id: "01-test".into(),
            dir,
            story: String::new(),
            answer: Answer {
                category: "nested_loop_join".into(),
                function: "join".into(),
                lines: [9, 10],
                difficulty: "easy".into(),
                explanation: String::new(),
                fix: String::new(),
                decoy: Some(Decoy {
                    function: "load".into(),
                    lines: [4, 4],
                }),
            },
        }
    }

    fn guess(location: &str, category: &str) -> Guess {
        Guess {
            location: location.into(),
            category: category.into(),
        }
    }

    #[test]
    fn right_half_right_and_wrong_answers() {
        let d = drill();
        let g = grade(&d, &guess("slow.py:10", "nested_loop_join"));
        assert_eq!(
            (g.location, g.category, g.points()),
            (Mark::Right, Mark::Right, 4)
        );
        // Right function, wrong lines; wrong kind.
        let g = grade(&d, &guess("slow.py:7", "linear_membership"));
        assert_eq!(
            (g.location, g.category, g.points()),
            (Mark::Partly, Mark::Wrong, 1)
        );
        assert!(
            g.comment.contains("lines 9-10") && g.comment.contains("not linear_membership"),
            "{}",
            g.comment
        );
        // A function name is a partly right location; the right kind still counts.
        let g = grade(&d, &guess("join", "nested_loop_join"));
        assert_eq!((g.location, g.category), (Mark::Partly, Mark::Right));
        // The decoy.
        let g = grade(&d, &guess("4", "whole_file_load"));
        assert_eq!(
            (g.location, g.category, g.took_decoy, g.points()),
            (Mark::Wrong, Mark::Wrong, true, 0)
        );
        assert!(g.comment.contains("decoy"));
        // Nonsense category.
        assert_eq!(grade(&d, &guess("9", "fast")).category, Mark::Wrong);
    }

    #[test]
    fn history_and_focus() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("h.jsonl");
        let mut d2 = drill();
        d2.id = "02-other".into();
        d2.answer.category = "list_as_queue".into();
        let drills = vec![drill(), d2];
        record(
            &path,
            &Attempt {
                drill: "01-test".into(),
                category: "nested_loop_join".into(),
                answered_category: "nested_loop_join".into(),
                location: Mark::Right,
                category_mark: Mark::Right,
                unix_time: 1,
            },
        )
        .unwrap();
        let h: Vec<Attempt> = load_history(&path);
        assert_eq!(h.len(), 1);
        assert_eq!(stats(&h)["nested_loop_join"], (1, 1, 1));
        // The never-tried category comes first.
        assert_eq!(weak_categories(&drills, &h)[0], "list_as_queue");
        assert_eq!(
            pick(&drills, None, None, None, Some(&h), 0).unwrap().id,
            "02-other"
        );
        assert!(pick(&drills, Some("nope"), None, None, None, 0).is_err());
    }
}
