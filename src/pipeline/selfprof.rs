//! `--pprof FILE`: sample the pipeline's own threads with pprof-rs and write a flamegraph (`.svg`) or a pprof
//! protobuf (`.pb`, for `go tool pprof` and speedscope) or folded stacks (`.folded`, for `etlkit profile`).

use std::io::Write;
use std::path::Path;

use pprof::protos::Message;

use crate::{Error, Result};

/// Runs `f` under the sampling profiler (about 1 kHz) and writes the profile to `out`.
pub fn with_profiler<T>(out: &Path, f: impl FnOnce() -> Result<T>) -> Result<T> {
    let fail = |message: String| Error::Format {
        path: out.to_path_buf(),
        message,
    };
    let guard = pprof::ProfilerGuardBuilder::default()
        .frequency(997)
        // Frames inside these libraries are signal-handler and threading noise.
        .blocklist(&["libc", "libgcc", "pthread", "vdso"])
        .build()
        .map_err(|e| fail(format!("cannot start the profiler: {e}")))?;
    let value = f()?;
    let report = guard
        .report()
        .build()
        .map_err(|e| fail(format!("cannot build the profile: {e}")))?;
    let mut file = std::fs::File::create(out).map_err(|e| Error::io(out, e))?;
    if out.extension().is_some_and(|e| e == "pb") {
        let profile = report
            .pprof()
            .map_err(|e| fail(format!("cannot encode pprof: {e}")))?;
        let mut bytes = Vec::new();
        profile
            .encode(&mut bytes)
            .map_err(|e| fail(format!("cannot encode pprof: {e}")))?;
        file.write_all(&bytes).map_err(|e| Error::io(out, e))?;
    } else if out.extension().is_some_and(|e| e == "folded" || e == "txt") {
        // Folded stacks (root first), readable by `etlkit profile` and inferno.
        let mut text = String::new();
        for (frames, count) in &report.data {
            text.push_str(&frames.thread_name);
            // pprof-rs keeps frames innermost first; inlined symbols of one frame likewise.
            for frame in frames.frames.iter().rev() {
                for sym in frame.iter().rev() {
                    text.push(';');
                    text.push_str(&sym.name().replace(';', ":"));
                }
            }
            text.push_str(&format!(" {count}\n"));
        }
        file.write_all(text.as_bytes())
            .map_err(|e| Error::io(out, e))?;
    } else {
        report
            .flamegraph(&mut file)
            .map_err(|e| fail(format!("cannot draw the flamegraph: {e}")))?;
    }
    Ok(value)
}
