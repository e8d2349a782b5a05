"""The ``etlkit`` console script: the Rust CLI, run on ``sys.argv``."""

from __future__ import annotations

import sys
from typing import List, Optional

from . import _etlkit


def main(argv: Optional[List[str]] = None) -> None:
    """Runs ``etlkit ARGS...`` (``argv`` defaults to ``sys.argv[1:]``) and exits with its exit code."""
    args = sys.argv[1:] if argv is None else argv
    sys.stdout.flush()
    sys.exit(_etlkit.cli_main(["etlkit", *args]))


if __name__ == "__main__":
    main()
