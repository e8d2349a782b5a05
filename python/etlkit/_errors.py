"""The exceptions etlkit raises. The Rust layer builds these (``etlkit._etlkit`` imports this module), so every
library error arrives as one of them, with the library's message."""

from __future__ import annotations

from typing import Optional

__all__ = [
    "EtlkitError",
    "DatasetError",
    "ProfileFormatError",
    "InvalidArgumentError",
    "IoError",
    "ProgramError",
    "InternalError",
]


class EtlkitError(Exception):
    """Base class of every etlkit error."""


class DatasetError(EtlkitError):
    """A dataset (``generate``/``run_pipeline``/``check`` input) that cannot be used: a bad header, a missing
    table, a bad row under ``fail_fast=True``. ``path`` names the file; ``line`` and ``offset`` (bytes) the
    position when there is one."""

    path: Optional[str] = None
    line: Optional[int] = None
    offset: Optional[int] = None


class ProfileFormatError(EtlkitError):
    """A profile file that cannot be read as any supported format (or as the forced one). ``path`` names the
    file; ``line`` and ``offset`` the position when there is one."""

    path: Optional[str] = None
    line: Optional[int] = None
    offset: Optional[int] = None


class InvalidArgumentError(EtlkitError, ValueError):
    """An argument value that cannot be used (``size="10XB"``, ``engine="spark"``, a non-empty ``out_dir``
    without ``force=True``...). ``what`` names the argument, ``value`` the given value, ``expected`` what would
    do."""

    what: Optional[str] = None
    value: Optional[str] = None
    expected: Optional[str] = None


class IoError(EtlkitError, OSError):
    """A file or directory that cannot be read or written; ``errno``, ``strerror`` and ``filename`` as for any
    ``OSError``."""


class ProgramError(EtlkitError):
    """A program etlkit runs (a profiler, the Python interpreter running a script) is missing or failed;
    ``program`` names it and the message says what it reported."""

    program: Optional[str] = None


class InternalError(EtlkitError):
    """A bug in etlkit (a worker panicked, an invariant broke), not a fault of the input: the message says what
    was known; please report it."""
