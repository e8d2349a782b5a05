//! Ctrl-C (and SIGTERM/SIGHUP) for long commands: the first signal sets a cancel flag that the library polls
//! (a run stops cleanly, a candidate's process group is killed); a second exits at once, after killing the
//! process groups of the runs still in progress, so no child outlives etlkit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// Exit code of a run stopped by a signal (128 + SIGINT), as shells report it.
pub const EXIT_INTERRUPTED: u8 = 130;

/// Installs the handler (once per process) and returns the flag it sets.
pub fn cancel_flag() -> Arc<AtomicBool> {
    let cancel = Arc::new(AtomicBool::new(false));
    let flag = cancel.clone();
    let _ = ctrlc::set_handler(move || {
        if flag.swap(true, Ordering::SeqCst) {
            crate::harness::runner::kill_running();
            std::process::exit(i32::from(EXIT_INTERRUPTED));
        }
    });
    cancel
}
