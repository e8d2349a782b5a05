//! A leaderboard over time: each `compare` appends one line of JSON (the ranked rows, the machine, the dataset,
//! the etlkit version) to a history file, and the standings across those lines are printed as a table, so a
//! team sees whether a solution got faster and whether a figure came from another machine.

use std::io::Write;
use std::path::Path;

use serde::{Deserialize, Serialize};

use super::report::truncate;
use super::{Comparison, Verdict};
use crate::{Error, Result};

/// The machine a comparison ran on.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    pub cpu_model: String,
    pub cores: usize,
    pub memory_bytes: u64,
}

impl Machine {
    /// This machine, from `/proc/cpuinfo` and `/proc/meminfo` (empty model and 0 bytes where they are missing).
    pub fn detect() -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpu_model = cpuinfo
            .lines()
            .find_map(|l| {
                let (k, v) = l.split_once(':')?;
                (k.trim() == "model name").then(|| v.trim().to_string())
            })
            .unwrap_or_default();
        let meminfo = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
        let memory_bytes = meminfo
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map_or(0, |kb| kb * 1024);
        Machine {
            cpu_model,
            cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
            memory_bytes,
        }
    }

    /// `"AMD EPYC 7B13, 2 cores, 24 GiB"`.
    pub fn short(&self) -> String {
        format!(
            "{}, {} cores, {:.0} GiB",
            if self.cpu_model.is_empty() {
                "unknown CPU"
            } else {
                &self.cpu_model
            },
            self.cores,
            self.memory_bytes as f64 / (1u64 << 30) as f64
        )
    }
}

/// One solution's standing in one comparison.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Standing {
    pub name: String,
    pub verdict: Verdict,
    /// The median of the timed runs, else the checked run's time.
    pub wall_seconds: f64,
    /// Standard deviation of the timed runs (0 with one).
    pub sd: f64,
    pub runs: usize,
    pub mb_per_s: f64,
    pub cpu_seconds: f64,
    pub peak_rss_bytes: u64,
}

/// One comparison, as one line of the history file.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub unix_time: u64,
    pub etlkit_version: String,
    pub machine: Machine,
    pub dataset: String,
    pub input_bytes: u64,
    /// Ranked as `compare` ranked them; the reference first when it ran.
    pub standings: Vec<Standing>,
}

impl Entry {
    pub fn of(c: &Comparison) -> Entry {
        Entry {
            unix_time: std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_secs()),
            etlkit_version: env!("CARGO_PKG_VERSION").to_string(),
            machine: Machine::detect(),
            dataset: c.data.display().to_string(),
            input_bytes: c.input_bytes,
            standings: c
                .rows
                .iter()
                .filter(|r| r.timed)
                .map(|r| Standing {
                    name: r.name.clone(),
                    verdict: r.verdict,
                    wall_seconds: r.wall_seconds,
                    sd: r.timing.as_ref().map_or(0.0, |t| t.sd),
                    runs: r.timing.as_ref().map_or(1, |t| t.runs.len()),
                    mb_per_s: r.mb_per_s,
                    cpu_seconds: r.cpu_seconds,
                    peak_rss_bytes: r.peak_rss_bytes,
                })
                .collect(),
        }
    }
}

/// Appends `entry` to the history file (created with its folder when missing), as one line.
pub fn append(path: &Path, entry: &Entry) -> Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let mut line = serde_json::to_string(entry).map_err(|e| Error::internal(e.to_string()))?;
    line.push('\n');
    // One write of the whole line: an appended line is never interleaved with another writer's.
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
        .and_then(|mut f| f.write_all(line.as_bytes()))
        .map_err(|e| Error::io(path, e))
}

/// Every entry of a history file, oldest first; a line that is not an entry is an error naming it.
pub fn load(path: &Path) -> Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let mut out = Vec::new();
    let mut offset = 0u64;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        if !line.trim().is_empty() {
            let entry = serde_json::from_str(line).map_err(|e| Error::BadInput {
                path: path.to_path_buf(),
                line: i as u64 + 1,
                offset: offset + e.column().saturating_sub(1) as u64,
                message: format!("not a compare history entry: {e}"),
            })?;
            out.push(entry);
        }
        offset += line.len() as u64;
    }
    Ok(out)
}

/// The standings over time: one column per comparison (the last `max_columns`), one row per solution, each
/// cell its median time and rank (or its verdict when not correct); machines and datasets listed under it.
pub fn standings(entries: &[Entry], max_columns: usize) -> String {
    let shown = &entries[entries.len().saturating_sub(max_columns.max(1))..];
    if shown.is_empty() {
        return "no comparisons in the history yet\n".to_string();
    }
    let mut names: Vec<&str> = Vec::new();
    for e in shown {
        for s in &e.standings {
            if !names.contains(&s.name.as_str()) {
                names.push(&s.name);
            }
        }
    }
    // The latest comparison's order first, then the names it did not have.
    let latest = &shown[shown.len() - 1];
    names.sort_by_key(|n| {
        latest
            .standings
            .iter()
            .position(|s| s.name == *n)
            .unwrap_or(usize::MAX)
    });
    // UTC: `(2026, 12, 5, 7, 24)`.
    let when = |t: u64| {
        let (y, m, d) = civil((t / 86_400) as i64);
        (y, m, d, t % 86_400 / 3600, t % 3600 / 60)
    };
    let mut s = format!("{:<32}", "solution");
    for (i, e) in shown.iter().enumerate() {
        let (_, m, d, hh, mm) = when(e.unix_time);
        s.push_str(&format!(
            " {:>16}",
            format!("#{} {m:02}-{d:02} {hh:02}:{mm:02}", i + 1)
        ));
    }
    s.push('\n');
    for n in &names {
        s.push_str(&format!("{:<32}", truncate(n, 32)));
        for e in shown {
            let cell = match e.standings.iter().position(|x| x.name == *n) {
                None => "-".to_string(),
                Some(i) if e.standings[i].verdict != Verdict::Correct => {
                    e.standings[i].verdict.label().to_string()
                }
                Some(i) => {
                    let x = &e.standings[i];
                    // The rank among correct rows, the reference included when it ran.
                    let rank = e.standings[..i]
                        .iter()
                        .filter(|y| y.verdict == Verdict::Correct)
                        .count()
                        + 1;
                    format!("{:.2} s ({rank})", x.wall_seconds)
                }
            };
            s.push_str(&format!(" {cell:>16}"));
        }
        s.push('\n');
    }
    s.push('\n');
    for (i, e) in shown.iter().enumerate() {
        let runs = e.standings.iter().map(|x| x.runs).max().unwrap_or(1);
        let (y, m, d, hh, mm) = when(e.unix_time);
        s.push_str(&format!(
            "#{}: {y:04}-{m:02}-{d:02} {hh:02}:{mm:02} UTC, {} MB from {}, {} run{} each, {}, etlkit {}\n",
            i + 1,
            e.input_bytes / 1_000_000,
            e.dataset,
            runs,
            if runs == 1 { "" } else { "s" },
            e.machine.short(),
            e.etlkit_version
        ));
    }
    s
}

/// The calendar date of a day count since 1970-01-01 (Howard Hinnant's civil_from_days).
fn civil(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (yoe + era * 400 + i64::from(m <= 2), m, d)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(t: u64, rows: &[(&str, Verdict, f64)]) -> Entry {
        Entry {
            unix_time: t,
            etlkit_version: "0.1.0".into(),
            machine: Machine {
                cpu_model: "Test CPU".into(),
                cores: 2,
                memory_bytes: 24 << 30,
            },
            dataset: "data".into(),
            input_bytes: 10_000_000,
            standings: rows
                .iter()
                .map(|&(name, verdict, wall)| Standing {
                    name: name.into(),
                    verdict,
                    wall_seconds: wall,
                    sd: 0.01,
                    runs: 5,
                    mb_per_s: 10.0 / wall,
                    cpu_seconds: wall,
                    peak_rss_bytes: 1 << 20,
                })
                .collect(),
        }
    }

    #[test]
    fn history_round_trips_and_bad_lines_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub/history.jsonl");
        let a = entry(1_764_892_800, &[("a.py", Verdict::Correct, 2.0)]);
        let b = entry(1_764_979_200, &[("a.py", Verdict::Correct, 1.5)]);
        append(&path, &a).unwrap();
        append(&path, &b).unwrap();
        assert_eq!(load(&path).unwrap(), vec![a, b]);
        std::fs::write(
            &path,
            format!(
                "{}\n{{\"oops\": 1}}\n",
                std::fs::read_to_string(&path)
                    .unwrap()
                    .lines()
                    .next()
                    .unwrap()
            ),
        )
        .unwrap();
        let e = load(&path).unwrap_err().to_string();
        assert!(
            e.contains("history.jsonl:2:") && e.contains("not a compare history entry"),
            "{e}"
        );
    }

    #[test]
    fn standings_show_each_comparison_as_a_column() {
        let entries = [
            entry(
                1_764_892_800,
                &[
                    ("etlkit pipeline (reference)", Verdict::Correct, 0.1),
                    ("pandas.py", Verdict::Correct, 4.0),
                    ("naive.py", Verdict::Wrong, 9.0),
                ],
            ),
            entry(
                1_764_979_200,
                &[
                    ("etlkit pipeline (reference)", Verdict::Correct, 0.1),
                    ("streaming.py", Verdict::Correct, 2.5),
                    ("pandas.py", Verdict::Correct, 3.9),
                ],
            ),
        ];
        let s = standings(&entries, 8);
        let lines: Vec<&str> = s.lines().collect();
        assert!(
            lines[0].contains("#1 12-05 00:00") && lines[0].contains("#2 12-06 00:00"),
            "{s}"
        );
        // Rows in the latest order; a solution missing from a comparison shows "-".
        assert!(
            lines[2].starts_with("streaming.py")
                && lines[2].contains("-")
                && lines[2].contains("2.50 s (2)"),
            "{s}"
        );
        assert!(
            lines[3].starts_with("pandas.py")
                && lines[3].contains("4.00 s (2)")
                && lines[3].contains("3.90 s (3)"),
            "{s}"
        );
        assert!(
            lines[4].starts_with("naive.py") && lines[4].contains("wrong"),
            "{s}"
        );
        assert!(
            s.contains("#2: 2025-12-06 00:00 UTC, 10 MB from data, 5 runs each, Test CPU, 2 cores"),
            "{s}"
        );
        // Only the last columns.
        assert!(!standings(&entries, 1).contains("#2"));
        assert_eq!(civil(0), (1970, 1, 1));
        assert_eq!(civil(20_428), (2025, 12, 6));
        assert_eq!(civil(-1), (1969, 12, 31));
    }
}
