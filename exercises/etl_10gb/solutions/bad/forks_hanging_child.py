#!/usr/bin/env python3
"""Deliberately wrong (a harness test case): leaves a child process behind that sleeps forever.

Usage: python forks_hanging_child.py INPUT_DIR OUTPUT_DIR [--wait]

A plausible bug: it starts a "progress reporter" child process (a separate interpreter printing a heartbeat
every few minutes), computes the correct outputs with streaming_csv.py, and then forgets to stop the
reporter. By default the parent exits (status 0, outputs correct) and the child lives on, holding the
inherited stdout/stderr open: a harness that waits for EOF on the pipes, or only kills the direct child,
hangs or leaks it. With --wait the parent also waits for the child, so the whole run hangs.
"""

import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
import streaming_csv as sc  # noqa: E402

REPORTER = "import time\nwhile True:\n    time.sleep(300)\n    print('still working', flush=True)\n"

if __name__ == "__main__":
    wait = "--wait" in sys.argv
    args = [a for a in sys.argv if a != "--wait"]
    reporter = subprocess.Popen([sys.executable, "-c", REPORTER])
    print(f"progress reporter started (pid {reporter.pid})", file=sys.stderr)
    status = sc.main(args)
    if wait:
        reporter.wait()  # never returns
    sys.exit(status)
