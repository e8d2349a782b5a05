//! `gil_bound_threads`: CPU-bound Python on threads, serialised by the GIL.

use super::common::{hit_at, method};
use super::io::is_blocking;
use super::{Hit, Site};
use crate::diagnose::evidence::Loc;
use crate::diagnose::source::SourceFile;

/// A pool of threads: `concurrent.futures`' executor, `multiprocessing.pool.ThreadPool`, or
/// `multiprocessing.dummy`'s `Pool` (threads behind the process pool's API).
fn thread_pool(src: &SourceFile) -> bool {
    src.mentions("ThreadPoolExecutor")
        || src.mentions("ThreadPool(")
        || src.mentions("multiprocessing.dummy")
        // asyncio hands blocking calls to its default executor, a thread pool.
        || src.mentions("to_thread(")
        || src.mentions("run_in_executor(None")
}

/// The file starts threads.
pub fn threads_in_file(src: &SourceFile) -> bool {
    thread_pool(src) || src.mentions("threading.Thread") || src.mentions("Thread(")
}

/// Where work is handed to threads (the fix goes there): a pool's `map`/`submit`, else a `Thread(` creation.
pub fn thread_dispatch(src: &SourceFile) -> Option<u32> {
    let lines: Vec<&str> = src.text.lines().collect();
    // Only lines that call something: a docstring or comment that names `.apply_async()` is not a dispatch.
    let find = |pred: &dyn Fn(&str) -> bool| {
        lines
            .iter()
            .enumerate()
            .find(|(i, l)| pred(l) && !src.context(*i as u32 + 1).calls.is_empty())
            .map(|(i, _)| i as u32 + 1)
    };
    if thread_pool(src) {
        find(&|l: &str| {
            [
                ".map(",
                ".submit(",
                ".imap(",
                ".imap_unordered(",
                ".starmap(",
                ".apply_async(",
                "to_thread(",
                "run_in_executor(",
            ]
            .iter()
            .any(|m| l.contains(m))
                && !l.trim_start().starts_with("def ")
        })
        .or_else(|| find(&|l: &str| l.contains("ThreadPoolExecutor(") || l.contains("ThreadPool(")))
    } else {
        find(&|l: &str| l.contains("Thread(") && !l.trim_start().starts_with("class "))
    }
}

/// The line that creates a thread pool (`ThreadPoolExecutor(...)`, `ThreadPool(...)`), in code.
fn pool_creation(src: &SourceFile) -> Option<u32> {
    (1..=src.text.lines().count() as u32).find(|&l| {
        let t = src.line_text(l);
        (t.contains("ThreadPoolExecutor(") || t.contains("ThreadPool("))
            && !src.context(l).calls.is_empty()
    })
}

/// The function threads run: the first argument of a pool's `map`/`submit`, a `Thread(target=...)`, or the
/// `run` method of a `Thread` subclass.
pub fn thread_target(src: &SourceFile) -> Option<String> {
    for line in src.text.lines() {
        let l = line.trim();
        for key in [
            ".map(",
            ".submit(",
            "target=",
            "to_thread(",
            "run_in_executor(None, ",
        ] {
            if let Some(i) = l.find(key) {
                let rest = &l[i + key.len()..];
                let name: String = rest
                    .chars()
                    .take_while(|c| c.is_alphanumeric() || *c == '_' || *c == '.')
                    .collect();
                let name = name.rsplit('.').next().unwrap_or("").to_string();
                if src.functions().iter().any(|f| f.name == name) {
                    return Some(name);
                }
            }
        }
    }
    src.functions()
        .iter()
        .find(|f| f.name == "run" && f.class.is_some() && src.mentions("Thread)"))
        .map(|f| f.name.clone())
}

/// Where a thread target does its work: its innermost statement that calls a function of the program (the
/// CPU-bound work), else its innermost statement.
pub fn thread_work_line(src: &SourceFile, target: &str) -> Option<u32> {
    let f = src.functions().iter().find(|f| f.name == target)?;
    let (lines, calls) = src.body(Some(f));
    let depth = |l: u32| src.context(l).loops.len();
    let max = lines.iter().map(|&l| depth(l)).max()?;
    let program_call = |l: u32| {
        calls
            .iter()
            .any(|c| c.line == l && src.functions().iter().any(|g| g.name == method(&c.callee)))
    };
    lines
        .iter()
        .copied()
        .filter(|&l| program_call(l))
        .max_by_key(|&l| (depth(l), std::cmp::Reverse(l)))
        .or_else(|| lines.iter().copied().find(|&l| depth(l) == max))
}

/// Most of the program's samples are CPU-bound Python on worker threads (sampled profiles).
pub fn cpu_on_threads(s: &Site) -> Option<Hit> {
    // (A worker waiting for its next job, `job = inbox.get()`, is idle, not computing.)
    if !s.threaded
        || is_blocking(s)
        || s.callees
            .iter()
            .any(|c| c.direct && super::io::waits_for_thread(&c.name))
        || !threads_in_file(s.src)
        || s.thread_share <= 30.0
    {
        return None;
    }
    let at: Loc = s
        .thread_entry
        .filter(|(f, _)| *f == s.file)
        .or_else(|| thread_dispatch(s.src).map(|l| (s.file, l)))?;
    hit_at(
        0.8,
        format!(
            "{:.0}% of the program's samples run on worker threads, and they are CPU-bound Python (line {}: `{}`): the GIL lets one thread run at a time",
            s.thread_share, s.ctx.line, s.ctx.text
        ),
        at,
    )
}

/// The least share of the run the main thread must spend waiting on workers for `main_waits` (a fifth: the
/// rest of a program, its input and output, can hold most of the time).
const MIN_WAIT_SHARE: f64 = 20.0;

/// pstats profiles only the main thread: when it spends its time waiting for threads (lock acquires under
/// joins, futures or a pool's map) while the threads run this file's CPU-bound functions, the GIL serialises
/// them. The site is the main thread's waiting line.
pub fn main_waits(s: &Site) -> Option<Hit> {
    if !s.derived || s.wait_share < MIN_WAIT_SHARE || !threads_in_file(s.src) {
        return None;
    }
    // (An event loop awaiting work handed to threads waits under `asyncio.run` / `run_until_complete`.)
    let awaits_threads = s.src.mentions("to_thread(") || s.src.mentions("run_in_executor(");
    let waiting = s
        .callee(|n| {
            method(n) == "acquire"
                || n.contains("lock")
                || n.contains("concurrent.futures")
                || (awaits_threads && n.starts_with("asyncio."))
        })
        .is_some()
        || s.ctx.calls.iter().any(|c| {
            matches!(
                method(c),
                "join" | "result" | "map" | "wait" | "as_completed" | "shutdown"
            )
        });
    if !waiting {
        return None;
    }
    // Work handed to a thread and awaited before the next item is handed over (`for x in xs: await
    // loop.run_in_executor(None, f, x)`) never runs two at a time: the waits are sequential, not a GIL fight.
    let awaited_in_turn = awaits_threads
        && !["gather(", "as_completed(", "asyncio.wait("]
            .iter()
            .any(|m| s.src.mentions(m))
        && (1..=s.src.lines()).any(|l| {
            let t = s.src.line_text(l);
            t.contains("await ")
                && (t.contains("run_in_executor(") || t.contains("to_thread("))
                && s.src
                    .context(l)
                    .loops
                    .iter()
                    .any(|lp| lp.kind != "comprehension")
        });
    if awaited_in_turn {
        return None;
    }
    // Threads that wait on I/O are the right tool: less sure when the file sleeps or uses sockets.
    let conf = if super::common::waits_in_text(s.src, false) {
        0.6
    } else {
        0.75
    };
    // The work the threads do is the finding's place (pstats never saw it: it profiles the main thread).
    // (A target that only hands the item on, `return Model(tile).report()`, does no work of its own there: the
    // place is the dispatch.)
    // When the function the threads run cannot be named (`pool.submit(self.fn, ...)` in a task framework), the
    // pool's creation is where the fix goes (a process pool), not a dispatch line that hands on any callable.
    let target = thread_target(s.src);
    let at = target
        .as_ref()
        .and_then(|t| thread_work_line(s.src, t))
        .filter(|&l| !s.src.context(l).loops.is_empty())
        .or_else(|| target.is_none().then(|| pool_creation(s.src)).flatten())
        .or_else(|| thread_dispatch(s.src))
        .map(|l| (s.file, l))
        .unwrap_or((s.file, s.ctx.line));
    hit_at(
        conf,
        format!(
            "the main thread spends {:.0}% of the time waiting for worker threads (line {}: `{}`) that run CPU-bound Python: the GIL lets one run at a time",
            s.wait_share, s.ctx.line, s.ctx.text
        ),
        at,
    )
}

#[cfg(test)]
mod tests {
    use super::super::testing::{site, src};
    use super::*;

    const CODE: &str = r#"from concurrent.futures import ThreadPoolExecutor
def work(chunk):
    return sum(x * x for x in chunk)
def run(chunks):
    with ThreadPoolExecutor(4) as pool:
        return list(pool.map(work, chunks))
"#;

    #[test]
    fn gil() {
        let s = src(CODE);
        let mut st = site(&s, 3);
        st.threaded = true;
        st.thread_share = 90.0;
        assert_eq!(cpu_on_threads(&st).unwrap().at, Some((0, 6)));
        // Near misses: the same line on the main thread; a worker waiting for its next job.
        assert!(cpu_on_threads(&site(&s, 3)).is_none());
        let mut idle = site(&s, 3).with_callee("queue.Queue.get");
        idle.threaded = true;
        idle.thread_share = 90.0;
        assert!(cpu_on_threads(&idle).is_none());
        let mut w = site(&s, 6).with_callee("_thread.lock.acquire");
        w.derived = true;
        w.wait_share = 80.0;
        assert_eq!(main_waits(&w).unwrap().at, Some((0, 3)));
        assert_eq!(thread_target(&s).as_deref(), Some("work"));
        w.wait_share = 5.0;
        assert!(main_waits(&w).is_none());
        // multiprocessing's ThreadPool is threads too; near miss: its process Pool is not.
        let t = src("from multiprocessing.pool import ThreadPool\ndef work(c):\n    return sum(x * x for x in c)\ndef run(cs):\n    with ThreadPool(4) as pool:\n        return pool.map(work, cs)\n");
        assert!(threads_in_file(&t));
        assert_eq!(thread_dispatch(&t), Some(6));
        let a = src("import asyncio\ndef work(t):\n    return t * t\nasync def run(tiles):\n    jobs = [asyncio.to_thread(work, t) for t in tiles]\n    return await asyncio.gather(*jobs)\n");
        assert!(threads_in_file(&a));
        assert_eq!(thread_dispatch(&a), Some(5));
        assert_eq!(thread_target(&a).as_deref(), Some("work"));
        let p = src("from multiprocessing import Pool\ndef run(cs):\n    with Pool(4) as pool:\n        return pool.map(work, cs)\n");
        assert!(!threads_in_file(&p));
    }

    #[test]
    fn an_event_loop_waiting_for_threads() {
        // The main thread waits under `asyncio.run` for `to_thread` work; the target only hands the tile on, so
        // the place is the dispatch. Near miss: a program that hands nothing to threads.
        let a = src("import asyncio\ndef route(tile):\n    return Model(tile).report()\nasync def batch(tiles):\n    jobs = [asyncio.to_thread(route, t) for t in tiles]\n    return await asyncio.gather(*jobs)\ndef main(tiles):\n    asyncio.run(batch(tiles))\n");
        let mut w = site(&a, 8).with_callee("asyncio.runners.run");
        w.derived = true;
        w.wait_share = 75.0;
        assert_eq!(main_waits(&w).unwrap().at, Some((0, 5)));
        // Near miss: each job handed to the executor and awaited before the next (sequential waits).
        let seq = src("import asyncio\ndef check(x):\n    return x * x\nasync def batch(xs):\n    loop = asyncio.get_running_loop()\n    for x in xs:\n        r = await loop.run_in_executor(None, check, x)\ndef main(xs):\n    asyncio.run(batch(xs))\n");
        let mut w = site(&seq, 9).with_callee("asyncio.runners.run");
        w.derived = true;
        w.wait_share = 75.0;
        assert!(main_waits(&w).is_none());
        let n = src("import asyncio\nasync def batch(urls):\n    return [await get(u) for u in urls]\ndef main(urls):\n    asyncio.run(batch(urls))\n");
        let mut w = site(&n, 5).with_callee("asyncio.runners.run");
        w.derived = true;
        w.wait_share = 75.0;
        assert!(main_waits(&w).is_none());
    }

    /// A task framework's pool runs whatever callable it is handed (`pool.submit(self.fn, ...)`): the place is
    /// the pool's creation; a docstring naming `.apply_async()` is no dispatch. Near miss: a named target.
    #[test]
    fn a_task_framework_pool() {
        let t = src("\"\"\"Fanned out with group(...).apply_async().\"\"\"\nfrom concurrent.futures import ThreadPoolExecutor\nclass Task:\n    def __init__(self, app, fn):\n        self.app, self.fn = app, fn\n    def delay(self, *args):\n        return self.app.pool.submit(self.fn, *args)\nclass App:\n    def __init__(self):\n        self.pool = ThreadPoolExecutor(4)\ndef main(app, task, items):\n    futures = [task.delay(i) for i in items]\n    return [f.result() for f in futures]\n");
        assert_eq!(thread_dispatch(&t), Some(7));
        assert_eq!(thread_target(&t), None);
        let mut w = site(&t, 13).with_callee("_thread.lock.acquire");
        w.derived = true;
        w.wait_share = 80.0;
        assert_eq!(main_waits(&w).unwrap().at, Some((0, 10)));
        let s = src(CODE);
        let mut w = site(&s, 6).with_callee("_thread.lock.acquire");
        w.derived = true;
        w.wait_share = 80.0;
        assert_eq!(main_waits(&w).unwrap().at, Some((0, 3)));
    }
}
