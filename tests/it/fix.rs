//! Fix mode (`etlkit drill NN --fix`, `--submit`), on two small drills made here so that each grading takes
//! seconds: a list used as a queue (graded on speed) and a whole-file load (graded on memory).

use std::path::{Path, PathBuf};
use std::process::Output;

const QUEUE_SLOW: &str = r#""""Settle a queue of transfers in arrival order."""
import os
import random


def make(n=150000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 5)))
    return [(i, rng.randrange(1, 1000)) for i in range(n)]


def settle(queue):
    total = 0
    while queue:
        _, cents = queue.pop(0)
        total += cents
    return total


print(f"total={settle(make())}")
"#;

const QUEUE_FAST: &str = r#""""Settle a queue of transfers in arrival order."""
import os
import random
from collections import deque


def make(n=150000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 5)))
    return [(i, rng.randrange(1, 1000)) for i in range(n)]


def settle(queue):
    queue = deque(queue)
    total = 0
    while queue:
        _, cents = queue.popleft()
        total += cents
    return total


print(f"total={settle(make())}")
"#;

const LOAD_SLOW: &str = r#""""Sum the amounts of a large export."""
import os
import random
import tempfile


def make(path, n=700000):
    rng = random.Random(int(os.environ.get("DRILL_SEED", 9)))
    with open(path, "w") as f:
        for i in range(0, n, 1000):
            f.write("".join(f"{j},{rng.randrange(100000)}\n" for j in range(i, i + 1000)))


def total(path):
    with open(path) as f:
        text = f.read()
    lines = text.splitlines()
    return sum(int(line.split(",")[1]) for line in lines)


with tempfile.TemporaryDirectory() as tmp:
    path = os.path.join(tmp, "export.csv")
    make(path)
    print(f"total={total(path)}")
"#;

fn answer(category: &str, function: &str, lines: [u32; 2]) -> String {
    format!(
        "category = \"{category}\"\nfunction = \"{function}\"\nlines = [{}, {}]\ndifficulty = \"easy\"\n\
         explanation = \"\"\"test drill\"\"\"\nfix = \"\"\"test fix\"\"\"\n",
        lines[0], lines[1]
    )
}

/// A drills folder with `01-queue` and `02-load`.
fn tiny_drills(root: &Path) -> PathBuf {
    let drills = root.join("drills");
    let load_fast = LOAD_SLOW.replace(
        "        text = f.read()\n    lines = text.splitlines()\n    return sum(int(line.split(\",\")[1]) for line in lines)",
        "        return sum(int(line.split(\",\")[1]) for line in f)",
    );
    assert_ne!(load_fast, LOAD_SLOW);
    for (id, slow, fast, answer) in [
        (
            "01-queue",
            QUEUE_SLOW,
            QUEUE_FAST.to_string(),
            answer("list_as_queue", "settle", [14, 14]),
        ),
        (
            "02-load",
            LOAD_SLOW,
            load_fast,
            answer("whole_file_load", "total", [15, 17]),
        ),
    ] {
        let d = drills.join(id);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("slow.py"), slow).unwrap();
        std::fs::write(d.join("fast.py"), fast).unwrap();
        std::fs::write(d.join("answer.toml"), answer).unwrap();
        std::fs::write(d.join("README.md"), format!("The {id} story.\n")).unwrap();
    }
    drills
}

struct Grade {
    out: Output,
    json: serde_json::Value,
}

impl Grade {
    fn check(&self, name: &str) -> &serde_json::Value {
        self.json["checks"]
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["name"] == name)
            .unwrap_or_else(|| panic!("no check {name}: {}", self.json))
    }
}

/// `etlkit drill ID --submit FILE --json` with one timed round.
fn submit(py: &Path, work: &Path, id: &str, solution: &Path, extra: &[&str]) -> Grade {
    let out = crate::common::etlkit()
        .args([
            "drill",
            id,
            "--runs",
            "1",
            "--hidden-seed",
            "4242",
            "--json",
            "--drills",
        ])
        .arg(work.join("drills"))
        .arg("--submit")
        .arg(solution)
        .args(extra)
        .env("ETLKIT_PYTHON", py)
        .env("ETLKIT_HOME", work.join("home"))
        .output()
        .unwrap();
    let json = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "{e}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    Grade { out, json }
}

fn write_solution(work: &Path, name: &str, code: &str) -> PathBuf {
    let dir = work.join("mine");
    std::fs::create_dir_all(&dir).unwrap();
    let p = dir.join(name);
    std::fs::write(&p, code).unwrap();
    p
}

/// `--fix` copies slow.py into a folder of the learner's, never into the drills, and never over a solution.
#[test]
fn fix_copies_slow_py_to_a_folder_of_ones_own() {
    let work = tempfile::tempdir().unwrap();
    let drills = tiny_drills(work.path());
    let fix = |into: &Path| {
        crate::common::etlkit()
            .args(["drill", "01", "--fix", "--drills"])
            .arg(&drills)
            .arg("--into")
            .arg(into)
            .output()
            .unwrap()
    };
    let out = fix(&work.path().join("attempt"));
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let copy = std::fs::read_to_string(work.path().join("attempt/solution.py")).unwrap();
    assert_eq!(copy, QUEUE_SLOW);
    assert!(String::from_utf8_lossy(&out.stdout).contains("--submit"));
    // A second --fix would lose the work.
    let again = fix(&work.path().join("attempt"));
    assert_eq!(again.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&again.stderr).contains("solution.py exists"));
    // Inside the drills folder: refused, nothing written.
    let inside = fix(&drills.join("01-queue/../mine"));
    assert_eq!(inside.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&inside.stderr).contains("outside the drills"));
    assert!(!drills.join("mine").exists());
    // Without --into: ./drill-NN.
    let out = crate::common::etlkit()
        .args(["drill", "02", "--fix", "--drills"])
        .arg(&drills)
        .current_dir(work.path())
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(work.path().join("drill-02/solution.py").is_file());
    assert!(work.path().join("drill-02/README.md").is_file());
}

/// A correct fix passes; the same code as slow.py fails with the measured speedup and what is still hot; an
/// answer printed for the visible input only fails on the hidden one.
#[test]
fn submit_grades_output_hidden_input_and_speedup() {
    let py = python_or_skip!(
        "fix::submit_grades_output_hidden_input_and_speedup",
        "py-spy"
    );
    let work = tempfile::tempdir().unwrap();
    tiny_drills(work.path());

    let good = write_solution(work.path(), "good.py", QUEUE_FAST);
    let g = submit(&py, work.path(), "01", &good, &[]);
    assert!(g.out.status.success(), "{}", g.json);
    assert_eq!(g.json["passed"], true);
    assert_eq!(g.check("hidden input")["passed"], true);
    assert!(g.json["speedup"].as_f64().unwrap() >= 3.0, "{}", g.json);
    assert_eq!(g.json["hidden_seed"], 4242);

    let same = write_solution(work.path(), "same.py", QUEUE_SLOW);
    let g = submit(&py, work.path(), "01", &same, &[]);
    assert_eq!(g.out.status.code(), Some(1), "{}", g.json);
    assert_eq!(g.json["passed"], false);
    let speedup = g.json["speedup"].as_f64().unwrap();
    assert!(speedup < 2.0, "{}", g.json);
    let detail = g.check("speedup")["detail"].as_str().unwrap().to_string();
    assert_eq!(g.check("speedup")["passed"], false);
    assert!(
        detail.contains("x (slow.py") && detail.contains("target"),
        "{detail}"
    );
    let hot = g.json["still_hot"].as_str().unwrap_or_default();
    assert!(
        hot.contains("list_as_queue") && hot.contains("same.py:14"),
        "{}",
        g.json
    );

    // The visible input's answer, hard-coded: right there, wrong on the hidden input.
    let visible = std::process::Command::new(&py)
        .arg(work.path().join("drills/01-queue/slow.py"))
        .output()
        .unwrap();
    let printed = String::from_utf8(visible.stdout).unwrap();
    let canned = write_solution(
        work.path(),
        "canned.py",
        &format!("print({:?})\n", printed.trim_end()),
    );
    let g = submit(&py, work.path(), "01", &canned, &[]);
    assert_eq!(g.json["passed"], false, "{}", g.json);
    assert_eq!(g.check("same output")["passed"], true);
    let hidden = g.check("hidden input");
    assert_eq!(hidden["passed"], false);
    assert!(
        hidden["detail"]
            .as_str()
            .unwrap()
            .contains("DRILL_SEED=4242"),
        "{hidden}"
    );

    // The history keeps every fix; --stats shows them.
    let history = std::fs::read_to_string(work.path().join("home/drill-fixes.jsonl")).unwrap();
    assert_eq!(history.lines().count(), 3);
    let stats = crate::common::etlkit()
        .args(["drill", "--stats", "--drills"])
        .arg(work.path().join("drills"))
        .env("ETLKIT_HOME", work.path().join("home"))
        .output()
        .unwrap();
    let stats = String::from_utf8_lossy(&stats.stdout);
    assert!(
        stats
            .lines()
            .any(|l| l.starts_with("list_as_queue") && l.contains(" 3 ") && l.contains(" 1 ")),
        "{stats}"
    );
}

/// The memory drill grades peak memory: a fix that is faster but still holds the whole file fails.
#[test]
fn submit_demands_less_memory_for_a_whole_file_load() {
    let py = python_or_skip!("fix::submit_demands_less_memory_for_a_whole_file_load");
    let work = tempfile::tempdir().unwrap();
    tiny_drills(work.path());
    let faster_not_leaner = LOAD_SLOW.replace(
        "    return sum(int(line.split(\",\")[1]) for line in lines)",
        "    return sum(map(int, (line[line.index(\",\") + 1:] for line in lines)))",
    );
    assert_ne!(faster_not_leaner, LOAD_SLOW);
    let mine = write_solution(work.path(), "mine.py", &faster_not_leaner);
    let g = submit(&py, work.path(), "02", &mine, &["--no-history"]);
    assert_eq!(g.json["passed"], false, "{}", g.json);
    assert_eq!(g.check("peak memory")["passed"], false, "{}", g.json);
    assert!(g.json["memory_ratio"].as_f64().unwrap() < 1.5, "{}", g.json);

    let fast = std::fs::read_to_string(work.path().join("drills/02-load/fast.py")).unwrap();
    let lean = write_solution(work.path(), "lean.py", &fast);
    let g = submit(&py, work.path(), "02", &lean, &["--no-history"]);
    assert_eq!(g.json["passed"], true, "{}", g.json);
    assert!(
        g.json["memory_ratio"].as_f64().unwrap() >= 3.0,
        "{}",
        g.json
    );
}

/// A crashing submission fails with its error; a hanging one is stopped at its limit, and nothing it started
/// outlives the grading.
#[test]
fn submit_stops_crashing_and_hanging_solutions() {
    let py = python_or_skip!("fix::submit_stops_crashing_and_hanging_solutions");
    let work = tempfile::tempdir().unwrap();
    tiny_drills(work.path());
    let crash = write_solution(work.path(), "crash.py", "raise SystemExit('no idea yet')\n");
    let g = submit(&py, work.path(), "01", &crash, &["--no-history"]);
    assert_eq!(g.json["passed"], false);
    let runs = g.check("runs")["detail"].as_str().unwrap().to_string();
    assert!(
        runs.contains("exit 1") && runs.contains("no idea yet"),
        "{runs}"
    );

    let pids = work.path().join("pids");
    let hang = write_solution(
        work.path(),
        "hang.py",
        &format!(
            "import os, subprocess, time\nchild = subprocess.Popen(['sleep', '600'])\n\
             open({:?}, 'w').write(f'{{os.getpid()}} {{child.pid}}')\ntime.sleep(600)\n",
            pids.display().to_string()
        ),
    );
    let started = std::time::Instant::now();
    let g = submit(
        &py,
        work.path(),
        "01",
        &hang,
        &["--no-history", "--timeout", "2"],
    );
    assert!(started.elapsed().as_secs() < 60, "{:?}", started.elapsed());
    assert_eq!(g.json["passed"], false);
    let runs = g.check("runs")["detail"].as_str().unwrap().to_string();
    assert!(runs.contains("wall time limit"), "{runs}");
    let text = std::fs::read_to_string(&pids).unwrap();
    for pid in text.split_whitespace() {
        let pid: i32 = pid.parse().unwrap();
        assert!(!crate::common::process_alive(pid), "{pid} survived");
    }
}
