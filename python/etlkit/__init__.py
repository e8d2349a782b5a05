"""etlkit from Python: generate dirty ``orders`` datasets, run the reference ETL, grade Python solutions,
read profiles and name their bottleneck.

A thin layer over the Rust library (the ``etlkit`` command's own code)::

    import etlkit
    m = etlkit.generate("data/small", rows=100_000)
    s = etlkit.run_pipeline("data/small", "out/small")
    p = etlkit.load_profile("prof.txt")
    p.top(10).to_polars()
    print(etlkit.diagnose(p, "src/"))

Long calls (``generate``, ``run_pipeline``, ``check``, profile views and exports) release the GIL;
``generate``, ``run_pipeline`` and ``check`` stop cleanly on Ctrl-C (``KeyboardInterrupt``). Library errors are
raised as :class:`EtlkitError` subclasses.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Sequence, Union

from . import _etlkit
from ._errors import (
    DatasetError,
    EtlkitError,
    InternalError,
    InvalidArgumentError,
    IoError,
    ProfileFormatError,
    ProgramError,
)
from ._results import CheckResult, Diagnosis, Finding, Manifest, ProfileDiff, Summary, Table

if TYPE_CHECKING:  # pragma: no cover
    import polars

__version__: str = _etlkit.__version__

__all__ = [
    "__version__",
    "generate",
    "run_pipeline",
    "load_profile",
    "diagnose",
    "check",
    "Profile",
    "Manifest",
    "Summary",
    "Diagnosis",
    "Finding",
    "ProfileDiff",
    "CheckResult",
    "Table",
    "EtlkitError",
    "DatasetError",
    "ProfileFormatError",
    "InvalidArgumentError",
    "IoError",
    "ProgramError",
    "InternalError",
]

StrPath = Union[str, "os.PathLike[str]"]


def _size(value: Union[str, int, None], what: str) -> Optional[str]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise InvalidArgumentError(f"invalid {what} '{value!r}': a byte count or a size such as '1GB'")
    return str(value)


def _invalid(what: str, value: object, expected: str) -> InvalidArgumentError:
    e = InvalidArgumentError(f"invalid {what} '{value}': {expected}")
    e.what, e.value, e.expected = what, str(value), expected
    return e


def generate(
    out_dir: StrPath,
    size: Union[str, int] = "1GB",
    rows: Optional[int] = None,
    seed: int = 42,
    dirty_rate: float = 0.001,
    threads: Optional[int] = None,
    files: Optional[int] = None,
    progress: bool = True,
    *,
    force: bool = False,
    compression: str = "none",
    dirt: Optional[Iterable[str]] = None,
) -> Manifest:
    """Generates a deterministic synthetic ``orders`` dataset with recorded dirt into ``out_dir``.

    Args:
        out_dir: The dataset directory (created; a non-empty one needs ``force=True``).
        size: Approximate total size, ``"1GB"``, ``"512MiB"`` or a byte count. Ignored when ``rows`` is given.
        rows: Exact number of fact rows.
        seed: Same seed and etlkit version, same bytes (whatever ``threads``).
        dirty_rate: Share of dirty fact rows, 0 to 1 (0: clean data). Every defect is listed in
            ``defects.csv``.
        threads: Worker threads (default: all cores).
        files: Number of fact files (default: about 256 MB each).
        progress: Show a progress bar on stderr when it is a terminal (never in notebooks or pipes).
        force: Replace the dataset files of a non-empty ``out_dir``.
        compression: ``"none"``, ``"gzip"`` or ``"zstd"``.
        dirt: Only these defect kinds (names as in ``datasets/orders/SCHEMA.md``); default all.

    Returns:
        The dataset's :class:`Manifest` (also written as ``out_dir/manifest.json``, last).

    Raises:
        InvalidArgumentError: a bad size, rate, count or dirt kind; a non-empty ``out_dir`` without ``force``.
        IoError: ``out_dir`` cannot be written.
        KeyboardInterrupt: Ctrl-C; temporary files are removed and no manifest is written.
    """
    manifest = _etlkit.generate(
        out_dir,
        None if rows is not None else _size(size, "size"),
        rows,
        seed,
        dirty_rate,
        threads,
        files,
        progress,
        force,
        compression,
        None if dirt is None else ",".join(dirt),
    )
    return Manifest(json.loads(manifest), Path(out_dir))


def run_pipeline(
    data_dir: StrPath,
    out_dir: StrPath,
    engine: str = "csv",
    *,
    threads: Optional[int] = None,
    fail_fast: bool = False,
    progress: bool = True,
    mmap: bool = True,
) -> Summary:
    """Runs the reference ETL on a generated dataset: validate, clean, de-duplicate, join, aggregate.

    Writes ``daily_revenue.csv``, ``top_customers.csv``, ``rejects.csv`` and ``summary.json`` into ``out_dir``
    (the exercise's spec: ``exercises/etl_10gb/README.md``).

    Args:
        data_dir: A dataset made by :func:`generate` (``orders/part-*.csv`` and the dimension tables).
        out_dir: Where the outputs go (created).
        engine: ``"csv"`` (the streaming Rust reference). ``"polars"`` needs a build with the ``polars`` cargo
            feature, which the wheel leaves out.
        threads: Worker threads (default: all cores); results do not depend on it.
        fail_fast: Raise :class:`DatasetError` at the first rejected row instead of writing it to
            ``rejects.csv``.
        progress: Show a progress bar on stderr when it is a terminal.
        mmap: Read plain files through memory maps (the default; no copy). ``False`` reads them with
            ``read(2)``, for files another process might truncate during the run; results are the same.

    Raises:
        DatasetError: a bad header, a missing table, a rejected row with ``fail_fast``.
        InvalidArgumentError: an unknown or unavailable engine.
        IoError: a file cannot be read or written.
        KeyboardInterrupt: Ctrl-C.
    """
    summary = _etlkit.run_pipeline(data_dir, out_dir, engine, threads, fail_fast, progress, mmap)
    return Summary(json.loads(summary), Path(out_dir))


_HIDE = {"idle", "imports", "stdlib", "site", "lib"}


class Profile:
    """A profile: cProfile/pstats, py-spy raw or speedscope, folded stacks, or line_profiler, in one model.

    Views return :class:`Table` objects (``.to_polars()``, ``.to_dicts()``). ``hide`` drops frames from a view:
    ``"idle"`` (waiting), ``"imports"`` (import time), ``"stdlib"``, ``"site"`` (site-packages), ``"lib"``
    (both). Weights are in :attr:`unit` (``samples`` or ``seconds``).
    """

    __slots__ = ("_raw", "_meta")

    def __init__(self, raw: _etlkit.RawProfile) -> None:
        self._raw = raw
        self._meta: Dict[str, Any] = json.loads(raw.meta_json())

    @property
    def path(self) -> Path:
        return Path(self._raw.path)

    @property
    def format(self) -> str:
        """``pstats``, ``folded``, ``speedscope``, ``lprof``, ``scalene`` or ``memray``."""
        return str(self._meta["format"])

    @property
    def tool(self) -> str:
        """The tool that wrote the file, as far as can be told (``cProfile``, ``py-spy``...)."""
        return str(self._meta["tool"])

    @property
    def unit(self) -> str:
        """``samples``, ``seconds``, ``milliseconds``, ``bytes`` (memray's CSV) or ``other``."""
        return str(self._meta["unit"])

    @property
    def notes(self) -> List[str]:
        """Caveats a reader should know (e.g. cProfile's overhead on call-heavy code)."""
        return [str(n) for n in self._meta["notes"]]

    @property
    def total(self) -> float:
        """Total weight: all samples, or pstats' total time."""
        return self._raw.total

    def report(self, n: int = 15, *, hide: Iterable[str] = (), function: Optional[str] = None) -> Dict[str, Any]:
        """Everything ``etlkit profile --json`` shows, as a dict: top functions by self and total, hot lines, the
        hot path, and the callers/callees of ``function`` (a substring of a function name, or ``name@file``)."""
        hidden = set(hide)
        unknown = hidden - _HIDE
        if unknown:
            raise _invalid("hide", ",".join(sorted(unknown)), "idle, imports, stdlib, site or lib")
        lib = "lib" in hidden
        data = self._raw.report(
            n,
            "idle" in hidden,
            "imports" in hidden,
            "stdlib" in hidden or lib,
            "site" in hidden or lib,
            function,
        )
        result: Dict[str, Any] = json.loads(data)
        return result

    def memory(self, n: int = 15, *, hide: Iterable[str] = ()) -> Optional[Dict[str, Any]]:
        """The memory side of a Scalene or memray profile (``None`` for the others): ``peak_bytes``,
        ``peak_at``, ``allocated_bytes``, ``allocations``, ``allocators``, and the top ``n`` rows of ``lines``
        (by peak for Scalene, by bytes for memray), ``by_count`` (memray stats), ``cpu_lines`` and
        ``functions`` (Scalene, with the Python / native / system CPU split). Bytes are bytes; ``mb`` is the
        tool's MB (2**20 for Scalene, 10**6 for memray)."""
        memory: Optional[Dict[str, Any]] = self.report(n, hide=hide).get("memory")
        return memory

    def top(self, n: int = 10, by: str = "self", *, hide: Iterable[str] = ()) -> Table:
        """The ``n`` heaviest functions by ``"self"`` time (in the function itself) or ``"total"`` time
        (including callees). Columns: function, file, line (pstats: definition line), self, total, self_pct,
        total_pct, calls, primitive_calls (pstats only)."""
        if by not in ("self", "total"):
            raise _invalid("by", by, "self or total")
        r = self.report(n, hide=hide)
        return Table(r["top_self" if by == "self" else "top_total"], _FUNCTION_COLUMNS)

    def hot_lines(self, n: int = 20, *, hide: Iterable[str] = ()) -> Table:
        """The ``n`` hottest executing lines by self time (samplers with line numbers; empty for pstats).
        Columns: file, line, function, self, total, self_pct, total_pct."""
        r = self.report(n, hide=hide)
        return Table(r["hot_lines"], _LINE_COLUMNS)

    def hot_path(self, *, hide: Iterable[str] = ()) -> Table:
        """The heaviest root-to-leaf chain of calls. Columns: function, file, total, total_pct; ``.note`` says
        why it stops early, when it does."""
        r = self.report(1, hide=hide)
        return Table(r["hot_path"], ("function", "file", "total", "total_pct"), r.get("hot_path_note"))

    def callers(self, function: str, *, hide: Iterable[str] = ()) -> Dict[str, Table]:
        """``{"callers": Table, "callees": Table}`` of the functions matching ``function``."""
        nb = self.report(1, hide=hide, function=function)["neighbours"]
        cols = ("function", "file", "weight", "pct", "calls")
        return {"callers": Table(nb["callers"], cols), "callees": Table(nb["callees"], cols)}

    def export(self, path: StrPath, format: Optional[str] = None, *, title: Optional[str] = None) -> Path:
        """Writes ``path`` as ``"svg"`` (flamegraph), ``"speedscope"`` (JSON), ``"pprof"`` or ``"folded"``; by
        default the format follows the extension (.svg, .json, .pb/.pb.gz, anything else folded). pstats
        profiles are exported from stacks estimated from their caller edges. Returns ``path``."""
        self._raw.export(path, format, title)
        return Path(path)

    def to_speedscope(self, path: StrPath) -> Path:
        """Writes speedscope JSON (open it at https://www.speedscope.app). Returns ``path``."""
        return self.export(path, "speedscope")

    def to_flamegraph(self, path: StrPath, title: Optional[str] = None) -> Path:
        """Writes a flamegraph SVG. Returns ``path``."""
        return self.export(path, "svg", title=title)

    def diff(self, other: Profile) -> ProfileDiff:
        """Compares this profile (before) with ``other`` (after), per function and per line. Both must measure
        the same kind of thing (two sample counts, or two times): otherwise :class:`InvalidArgumentError`."""
        if not isinstance(other, Profile):
            raise TypeError(f"diff() needs a Profile, not {type(other).__name__}")
        return ProfileDiff(json.loads(self._raw.diff(other._raw)))

    def diagnose(self, source_dir: StrPath) -> Diagnosis:
        """Same as :func:`etlkit.diagnose` on this profile."""
        data, text = self._raw.diagnose(source_dir)
        return Diagnosis(json.loads(data), text)

    def to_dict(self, n: int = 15) -> Dict[str, Any]:
        """The report (see :meth:`report`) as plain values."""
        return self.report(n)

    def to_polars(self, by: str = "self") -> polars.DataFrame:
        """Every function, heaviest first by ``by``, as a ``polars.DataFrame``."""
        return self.top(1 << 31, by).to_polars()

    def __repr__(self) -> str:
        return f"Profile({str(self.path)!r}, format={self.format!r}, tool={self.tool!r}, unit={self.unit!r})"


_FUNCTION_COLUMNS = (
    "function", "file", "line", "self", "total", "self_pct", "total_pct", "calls", "primitive_calls",
)
_LINE_COLUMNS = ("file", "line", "function", "self", "total", "self_pct", "total_pct")


def load_profile(path: StrPath, format: Optional[str] = None) -> Profile:
    """Reads a profile: a cProfile/pstats dump, py-spy ``--format raw`` or other folded stacks, speedscope
    JSON (gzip-compressed too), a line_profiler ``.lprof``, a Scalene JSON profile, or memray's JSON stats
    or CSV transform. ``format`` (``"pstats"``, ``"folded"``, ``"speedscope"``, ``"lprof"``, ``"scalene"``,
    ``"memray"``) forces a reader; by default it is guessed from the content.

    Raises:
        ProfileFormatError: not a profile in a supported format (``.path``, and ``.line``/``.offset`` where known).
        IoError: the file cannot be read.
    """
    return Profile(_etlkit.load_profile(path, format))


def diagnose(
    profile: Union[Profile, StrPath, Sequence[Union[Profile, StrPath]]], source_dir: StrPath
) -> Diagnosis:
    """Names the bottleneck of a Python program from its profile (a :class:`Profile` or a path) and its source
    (a directory or one ``.py`` file): where, what kind, why, and the fix. ``str(result)`` is the CLI's text.

    A list of profiles of the same run is diagnosed together: the time per line comes from the first that
    measures lines (py-spy, line_profiler, Scalene), call counts from cProfile, memory per line from Scalene or
    memray (``Finding.memory_pct``); memory profiles alone rank lines by memory (``Diagnosis.measure``).

    Raises:
        IoError: ``source_dir`` holds no ``.py`` file or cannot be read.
        ProfileFormatError: ``profile`` is a path to a file that is not a profile.
    """
    if isinstance(profile, Profile):
        return profile.diagnose(source_dir)
    if isinstance(profile, (str, os.PathLike)):
        return load_profile(profile).diagnose(source_dir)
    ps = [p if isinstance(p, Profile) else load_profile(p) for p in profile]
    data, text = _etlkit.diagnose_many([p._raw for p in ps], source_dir)
    return Diagnosis(json.loads(data), text)


def check(
    solution_path: StrPath,
    data_dir: StrPath,
    python: Optional[StrPath] = None,
    timeout: float = 600,
    memory: Union[str, int, None] = "8GB",
    profiler: str = "py-spy",
    *,
    reference: Optional[StrPath] = None,
    work: Optional[StrPath] = None,
    runs: int = 1,
    warmup: int = 0,
) -> CheckResult:
    """Runs a candidate Python solution of the ETL exercise (``python SOLUTION DATA_DIR OUT_DIR``) under limits,
    verifies its outputs against the reference pipeline, measures and profiles it.

    Args:
        solution_path: The candidate's ``.py`` file.
        data_dir: A dataset made by :func:`generate`.
        python: The interpreter that runs the solution (default: ``$ETLKIT_PYTHON``, else this one,
            ``sys.executable``; py-spy is looked for next to it, then on ``PATH``).
        timeout: Wall-time limit in seconds.
        memory: Limit on the resident memory of the whole process tree (``"8GB"``, bytes, or ``None``).
        profiler: ``"py-spy"`` (sampling, needs ptrace), ``"cprofile"``, ``"line"`` (line_profiler's
            ``kernprof -l -p``) or ``"none"``.
        reference: Reference outputs to compare with (default: computed with :func:`run_pipeline`).
        work: Keep the working directory (outputs, profile, logs) here (default: a new temp dir).
        runs: Timed runs after the checked one (unprofiled); more than one fills ``timing`` (median, spread) and
            ``mb_per_s`` comes from the median.
        warmup: Untimed runs before them.

    Returns:
        A :class:`CheckResult`; ``.verdict`` is ``correct``, ``wrong``, ``crashed`` or ``over_limit`` (a wrong or
        crashing solution is a result, not an exception).

    Raises:
        InvalidArgumentError, DatasetError, IoError: the check itself cannot run.
        KeyboardInterrupt: Ctrl-C; the solution's whole process group is killed first.
    """
    if python is None:
        python = os.environ.get("ETLKIT_PYTHON") or sys.executable
    data, text = _etlkit.check(
        solution_path,
        data_dir,
        python,
        float(timeout),
        _size(memory, "memory"),
        profiler,
        reference,
        work,
        int(runs),
        int(warmup),
    )
    return CheckResult(json.loads(data), text)
