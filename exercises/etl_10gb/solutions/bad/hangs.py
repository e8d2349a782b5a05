#!/usr/bin/env python3
"""Deliberately wrong (a harness test case): never finishes, using no CPU.

Usage: python hangs.py INPUT_DIR OUTPUT_DIR

A plausible bug: it waits for an "input complete" marker file (INPUT_DIR/_SUCCESS, as some upstream jobs
write) that the generator never writes, polling once a second forever. Only a wall-clock limit ends it.
"""

import sys
import time
from pathlib import Path

marker = Path(sys.argv[1]) / "_SUCCESS"
print(f"waiting for {marker}", file=sys.stderr)
while not marker.exists():
    time.sleep(1)
