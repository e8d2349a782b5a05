//! Runs a program as a child in its own process group, under limits, and measures it.
//!
//! Limits are enforced by a monitor that samples the whole process group from `/proc` every 50 ms: wall time,
//! resident memory of the whole tree (so a multiprocessing pool counts as one program), CPU time, and the size
//! of the output directory. On a breach the whole group is killed. After the program ends, whatever is left
//! of its group (a forked child that hangs, say) is killed too, so no process survives a run.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::{Error, Result};

/// Limits of one run. `None` means no limit.
#[derive(Debug, Clone, Serialize)]
pub struct Limits {
    pub wall: Duration,
    /// Resident memory of the whole process tree, in bytes.
    pub memory: Option<u64>,
    /// CPU time (user + system) of the whole process tree.
    pub cpu: Option<Duration>,
    /// Bytes under the output directory.
    pub output: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            wall: Duration::from_secs(600),
            memory: Some(8 << 30),
            cpu: None,
            output: Some(10 << 30),
        }
    }
}

/// Which limit stopped a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Limit {
    Wall,
    Memory,
    Cpu,
    Output,
}

impl Limit {
    pub fn name(self) -> &'static str {
        match self {
            Limit::Wall => "wall time",
            Limit::Memory => "memory",
            Limit::Cpu => "CPU time",
            Limit::Output => "output size",
        }
    }
}

/// What a run did.
#[derive(Debug, Clone, Serialize)]
pub struct RunOutcome {
    /// The process group the program ran in (its leader's pid).
    pub pgid: i32,
    /// Exit code, when the program exited.
    pub exit_code: Option<i32>,
    /// Signal that ended the program, when one did.
    pub signal: Option<i32>,
    /// The limit that was hit (the group was then killed).
    pub limit: Option<Limit>,
    pub wall_seconds: f64,
    /// User + system CPU of the program and the descendants it waited for (from `wait4`).
    pub cpu_seconds: f64,
    /// Peak resident memory of the whole process group (sampled every 50 ms), at least the largest single
    /// process's own peak.
    pub peak_rss_bytes: u64,
    /// The most threads one process of the group ran at once (sampled with the memory): with the CPU time, it
    /// tells threads that share one core (the GIL) from a program that uses several.
    pub peak_threads: u32,
    /// Processes of the group still alive when the program ended, that the runner killed.
    pub killed_leftovers: usize,
    pub stdout_tail: String,
    pub stderr_tail: String,
}

impl RunOutcome {
    pub fn success(&self) -> bool {
        self.exit_code == Some(0) && self.limit.is_none()
    }
}

/// One process of the group, from `/proc/PID/stat`.
struct ProcStat {
    pid: String,
    pgrp: i32,
    cpu_ticks: u64,
    rss_pages: u64,
    threads: u32,
}

fn read_stat(pid: &str) -> Option<ProcStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // Zombies hold no memory and are about to go.
    if text.rsplit(')').next()?.trim_start().starts_with('Z') {
        return None;
    }
    // The command name is in parentheses and may hold spaces: the fields start after the last ')'.
    let rest = &text[text.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    // Field numbers of proc(5), minus 3: state(3) ppid(4) pgrp(5) ... utime(14) stime(15) ... num_threads(20)
    // ... rss(24).
    Some(ProcStat {
        pid: pid.to_string(),
        pgrp: f.get(2)?.parse().ok()?,
        cpu_ticks: f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?,
        rss_pages: f.get(21)?.parse().ok()?,
        threads: f.get(17)?.parse().ok()?,
    })
}

/// A process's own peak resident memory since it started (`VmHWM`), in bytes.
fn peak_of(pid: &str) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Live processes of a process group.
fn group_members(pgid: i32) -> Vec<ProcStat> {
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    dir.filter_map(|e| e.ok())
        .filter_map(|e| {
            let name = e.file_name();
            let name = name.to_str()?;
            if !name.bytes().all(|b| b.is_ascii_digit()) {
                return None;
            }
            read_stat(name)
        })
        .filter(|s| s.pgrp == pgid)
        .collect()
}

fn dir_size(path: &Path) -> u64 {
    let mut total = 0;
    let mut stack = vec![path.to_path_buf()];
    while let Some(d) = stack.pop() {
        let Ok(entries) = std::fs::read_dir(&d) else {
            continue;
        };
        for e in entries.flatten() {
            match e.metadata() {
                Ok(m) if m.is_dir() => stack.push(e.path()),
                Ok(m) => total += m.len(),
                Err(_) => {}
            }
        }
    }
    total
}

/// Process groups of the runs in progress, so that a second Ctrl-C (which exits at once) can kill them first.
static RUNNING: Mutex<Vec<i32>> = Mutex::new(Vec::new());

/// Kills the process group of every run in progress (for an interrupt handler that is about to exit).
pub fn kill_running() {
    let groups = RUNNING.lock().map(|g| g.clone()).unwrap_or_default();
    for pgid in groups {
        kill_group(pgid);
    }
}

/// Memory and CPU limits are measured from `/proc`: without it they could not be enforced, so a run with them
/// is refused rather than run unlimited.
fn check_enforceable(limits: &Limits, proc_root: &Path) -> Result<()> {
    if (limits.memory.is_some() || limits.cpu.is_some()) && !proc_root.join("self/stat").is_file() {
        return Err(Error::InvalidArgument {
            what: "limits",
            value: format!(
                "memory {}, CPU {}",
                limits.memory.map_or("none".into(), |m| format!("{m} bytes")),
                limits
                    .cpu
                    .map_or("none".into(), |c| format!("{:.0} s", c.as_secs_f64()))
            ),
            expected: format!(
                "no memory or CPU limit on this system: they are measured from {}, which is not available \
                 (only the wall-time and output limits work here)",
                proc_root.display()
            ),
        });
    }
    Ok(())
}

fn kill_group(pgid: i32) {
    // SAFETY: kill(2) with a negative pid signals the process group; no memory is touched.
    unsafe {
        libc::kill(-pgid, libc::SIGKILL);
    }
}

fn tail(path: &Path, limit: usize) -> String {
    let data = std::fs::read(path).unwrap_or_default();
    let start = data.len().saturating_sub(limit);
    String::from_utf8_lossy(&data[start..]).into_owned()
}

/// A program to run.
#[derive(Debug, Clone)]
pub struct RunSpec {
    pub program: PathBuf,
    pub args: Vec<OsString>,
    pub cwd: PathBuf,
    /// Watched for the output-size limit.
    pub output_dir: PathBuf,
    pub env: Vec<(OsString, OsString)>,
    /// Where `stdout.txt` and `stderr.txt` go (`cwd` when absent).
    pub logs: Option<PathBuf>,
}

/// Runs `spec` under `limits`. Standard output and error go to files in `cwd` (their tails are kept).
/// `on_start` gets the program's pid as soon as it runs (to attach a profiler).
pub fn run(spec: &RunSpec, limits: &Limits, on_start: impl FnOnce(i32)) -> Result<RunOutcome> {
    run_cancellable(spec, limits, None, on_start)
}

/// [`run`], stopped early when `cancel` is set: the whole group is killed and reaped, then the call fails
/// with [`Error::Interrupted`].
pub fn run_cancellable(
    spec: &RunSpec,
    limits: &Limits,
    cancel: Option<&AtomicBool>,
    on_start: impl FnOnce(i32),
) -> Result<RunOutcome> {
    check_enforceable(limits, Path::new("/proc"))?;
    let logs = spec.logs.as_ref().unwrap_or(&spec.cwd);
    let out_path = logs.join("stdout.txt");
    let err_path = logs.join("stderr.txt");
    let stdout = std::fs::File::create(&out_path).map_err(|e| Error::io(&out_path, e))?;
    let stderr = std::fs::File::create(&err_path).map_err(|e| Error::io(&err_path, e))?;
    let mut cmd = Command::new(&spec.program);
    cmd.args(&spec.args)
        .current_dir(&spec.cwd)
        .stdin(Stdio::null())
        .stdout(stdout)
        .stderr(stderr)
        .envs(spec.env.iter().map(|(k, v)| (k, v)));
    std::os::unix::process::CommandExt::process_group(&mut cmd, 0);
    let started = Instant::now();
    let child = cmd.spawn().map_err(|e| Error::io(&spec.program, e))?;
    let pid = child.id() as i32;
    if let Ok(mut g) = RUNNING.lock() {
        g.push(pid);
    }
    // The runner reaps the child itself with wait4 (for its rusage), so the std handle is only forgotten.
    drop(child);
    on_start(pid);
    // SAFETY: sysconf only reads a configuration value.
    let ticks = (unsafe { libc::sysconf(libc::_SC_CLK_TCK) }).max(1) as f64;
    // SAFETY: as above.
    let page = (unsafe { libc::sysconf(libc::_SC_PAGESIZE) }).max(1) as u64;
    let mut peak_rss = 0u64;
    let mut peak_threads = 0u32;
    let mut limit_hit = None;
    let mut status = 0i32;
    // SAFETY: rusage is plain old data, zero is a valid value.
    let mut usage: libc::rusage = unsafe { std::mem::zeroed() };
    let mut polls = 0u64;
    let mut cancelled = false;
    loop {
        // SAFETY: wait4 writes into the two out-pointers we own.
        let r = unsafe { libc::wait4(pid, &mut status, libc::WNOHANG, &mut usage) };
        if r == pid {
            break;
        }
        if r < 0 {
            let e = std::io::Error::last_os_error();
            kill_group(pid);
            if let Ok(mut g) = RUNNING.lock() {
                g.retain(|&p| p != pid);
            }
            return Err(Error::io(&spec.program, e));
        }
        let members = group_members(pid);
        let (rss, cpu) = members.iter().fold((0u64, 0u64), |(r, c), m| {
            (r + m.rss_pages * page, c + m.cpu_ticks)
        });
        // The tree's current total, and each process's own high-water mark (which catches peaks between
        // samples). wait4's ru_maxrss is not used: Linux carries the parent's RSS at fork into it.
        let hwm = members.iter().map(|m| peak_of(&m.pid)).max().unwrap_or(0);
        peak_rss = peak_rss.max(rss).max(hwm);
        peak_threads = peak_threads.max(members.iter().map(|m| m.threads).max().unwrap_or(0));
        if limit_hit.is_none() {
            if started.elapsed() > limits.wall {
                limit_hit = Some(Limit::Wall);
            } else if limits.memory.is_some_and(|m| rss > m) {
                limit_hit = Some(Limit::Memory);
            } else if limits
                .cpu
                .is_some_and(|c| cpu as f64 / ticks > c.as_secs_f64())
            {
                limit_hit = Some(Limit::Cpu);
            } else if polls % 10 == 0
                && limits
                    .output
                    .is_some_and(|o| dir_size(&spec.output_dir) > o)
            {
                limit_hit = Some(Limit::Output);
            }
            if limit_hit.is_some() {
                kill_group(pid);
            }
        }
        if !cancelled && cancel.is_some_and(|c| c.load(Ordering::Relaxed)) {
            cancelled = true;
            kill_group(pid);
        }
        polls += 1;
        std::thread::sleep(Duration::from_millis(if polls < 20 { 10 } else { 50 }));
    }
    let wall = started.elapsed().as_secs_f64();
    // Whatever the program left behind in its group dies now.
    let leftovers = group_members(pid).len();
    if leftovers > 0 {
        kill_group(pid);
        let deadline = Instant::now() + Duration::from_secs(5);
        while !group_members(pid).is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
    }
    if let Ok(mut g) = RUNNING.lock() {
        g.retain(|&p| p != pid);
    }
    if cancelled {
        return Err(Error::Interrupted);
    }
    let tv = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    let (exit_code, signal) = if libc::WIFEXITED(status) {
        (Some(libc::WEXITSTATUS(status)), None)
    } else if libc::WIFSIGNALED(status) {
        (None, Some(libc::WTERMSIG(status)))
    } else {
        (None, None)
    };
    Ok(RunOutcome {
        pgid: pid,
        exit_code,
        signal,
        limit: limit_hit,
        wall_seconds: wall,
        cpu_seconds: tv(usage.ru_utime) + tv(usage.ru_stime),
        peak_rss_bytes: peak_rss,
        peak_threads,
        killed_leftovers: leftovers,
        stdout_tail: tail(&out_path, 4000),
        stderr_tail: tail(&err_path, 4000),
    })
}

/// True when a process of this group is still alive (for tests).
pub fn group_alive(pgid: i32) -> bool {
    !group_members(pgid).is_empty()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_and_cpu_limits_are_refused_without_proc() {
        let missing = Path::new("/nonexistent-proc");
        let limits = Limits::default();
        let err = check_enforceable(&limits, missing).unwrap_err().to_string();
        assert!(
            err.contains("/nonexistent-proc") && err.contains("memory"),
            "{err}"
        );
        let cpu_only = Limits {
            memory: None,
            cpu: Some(Duration::from_secs(5)),
            ..Limits::default()
        };
        assert!(check_enforceable(&cpu_only, missing).is_err());
        // Wall time and output size need no /proc.
        let wall_only = Limits {
            memory: None,
            cpu: None,
            ..Limits::default()
        };
        assert!(check_enforceable(&wall_only, missing).is_ok());
        assert!(check_enforceable(&limits, Path::new("/proc")).is_ok());
    }
}
