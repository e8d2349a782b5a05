"""Typed wrappers around the library's results (which cross from Rust as JSON): attribute access for the common
fields, ``.to_dict()`` for everything, ``.to_polars()`` for the tables."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import TYPE_CHECKING, Any, Dict, Iterator, List, Optional, Sequence, Tuple, Union, overload

if TYPE_CHECKING:  # pragma: no cover
    import polars

__all__ = [
    "Table",
    "Manifest",
    "Summary",
    "Finding",
    "Diagnosis",
    "ProfileDiff",
    "CheckResult",
]


def _polars() -> Any:
    try:
        import polars
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("to_polars() needs polars: pip install polars (or pip install 'etlkit[polars]')") from e
    return polars


class Table(Sequence[Dict[str, Any]]):
    """Rows of a result table (a list of dicts with the same keys, in ``columns`` order).

    ``table[0]`` is a row dict, ``table[:5]`` a shorter ``Table``; ``.to_dicts()`` copies the rows and
    ``.to_polars()`` makes a ``polars.DataFrame`` (columns as listed, even when there are no rows).
    ``note`` carries a caveat of the table when the library gives one (e.g. why a hot path stops).
    """

    __slots__ = ("_rows", "columns", "note")

    def __init__(self, rows: List[Dict[str, Any]], columns: Sequence[str], note: Optional[str] = None) -> None:
        self._rows = rows
        self.columns: List[str] = list(columns)
        self.note = note

    @overload
    def __getitem__(self, index: int) -> Dict[str, Any]: ...

    @overload
    def __getitem__(self, index: slice) -> Table: ...

    def __getitem__(self, index: Union[int, slice]) -> Union[Dict[str, Any], Table]:
        if isinstance(index, slice):
            return Table(self._rows[index], self.columns, self.note)
        return self._rows[index]

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Dict[str, Any]]:
        return iter(self._rows)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Table):
            return self._rows == other._rows and self.columns == other.columns
        if isinstance(other, list):
            return self._rows == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def to_dicts(self) -> List[Dict[str, Any]]:
        """The rows as plain dicts (a deep copy)."""
        return copy.deepcopy(self._rows)

    def to_polars(self) -> polars.DataFrame:
        """The table as a ``polars.DataFrame`` (needs polars)."""
        pl = _polars()
        frame: polars.DataFrame = pl.DataFrame({c: [r.get(c) for r in self._rows] for c in self.columns})
        return frame

    def __repr__(self) -> str:
        head = ", ".join(self.columns)
        body = "".join(f"\n  {r!r}" for r in self._rows[:10])
        more = f"\n  ... {len(self._rows) - 10} more" if len(self._rows) > 10 else ""
        return f"Table[{len(self._rows)} rows: {head}]{body}{more}"


def _table(rows: Any, columns: Sequence[str], note: Optional[str] = None) -> Table:
    return Table(list(rows or []), columns, note)


class _Result:
    """A result backed by the library's JSON; ``to_dict()`` returns all of it, ``result["key"]`` one field."""

    __slots__ = ("_data",)

    def __init__(self, data: Dict[str, Any]) -> None:
        self._data = data

    def to_dict(self) -> Dict[str, Any]:
        """Everything, as plain Python values (a deep copy; ``json.dumps`` works on it)."""
        return copy.deepcopy(self._data)

    def __getitem__(self, key: str) -> Any:
        return self._data[key]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, _Result) and type(other) is type(self):
            return self._data == other._data
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self._data!r})"


_FILE_COLUMNS = ("path", "table", "rows", "bytes", "uncompressed_bytes", "sha256", "bom", "crlf")


class Manifest(_Result):
    """What ``generate`` wrote (``manifest.json``): the options, the dataset's shape, every file, defect counts
    and the schema. ``to_polars()`` gives the files table."""

    __slots__ = ("out_dir",)

    def __init__(self, data: Dict[str, Any], out_dir: Path) -> None:
        super().__init__(data)
        self.out_dir = out_dir

    @property
    def seed(self) -> int:
        return int(self._data["seed"])

    @property
    def version(self) -> str:
        return str(self._data["version"])

    @property
    def fact_rows(self) -> int:
        """Rows of the whole ``orders`` fact table (defective ones included)."""
        return int(self._data["dataset"]["fact_rows"])

    @property
    def fact_files(self) -> int:
        return int(self._data["dataset"]["fact_files"])

    @property
    def customers(self) -> int:
        return int(self._data["dataset"]["customers"])

    @property
    def products(self) -> int:
        return int(self._data["dataset"]["products"])

    @property
    def dirty_rate(self) -> float:
        return float(self._data["options"]["dirty_rate"])

    @property
    def defects_total(self) -> int:
        """Defects recorded in ``defects.csv``."""
        return int(self._data["defects"]["total"])

    @property
    def defects_by_kind(self) -> Dict[str, int]:
        return dict(self._data["defects"]["by_kind"])

    @property
    def files(self) -> Table:
        """The written files: path (relative to ``out_dir``), table, rows, bytes, sha256..."""
        return _table(self._data["files"], _FILE_COLUMNS)

    @property
    def bytes(self) -> int:
        """Bytes on disk of all files."""
        return sum(int(f["bytes"]) for f in self._data["files"])

    def to_polars(self) -> polars.DataFrame:
        """The files table as a ``polars.DataFrame``."""
        return self.files.to_polars()


class Summary(_Result):
    """What ``run_pipeline`` did (``summary.json``): rows read, valid, rejected (by kind), duplicates dropped,
    revenue in USD cents, speed. The outputs are in ``out_dir`` (``daily_revenue.csv``, ``top_customers.csv``,
    ``rejects.csv``, ``summary.json``). ``to_polars()`` gives one row of the counts."""

    __slots__ = ("out_dir",)

    def __init__(self, data: Dict[str, Any], out_dir: Path) -> None:
        super().__init__(data)
        self.out_dir = out_dir

    @property
    def engine(self) -> str:
        return str(self._data["engine"])

    @property
    def files(self) -> int:
        return int(self._data["files"])

    @property
    def bytes_read(self) -> int:
        return int(self._data["bytes_read"])

    @property
    def rows_read(self) -> int:
        return int(self._data["rows_read"])

    @property
    def valid(self) -> int:
        return int(self._data["valid"])

    @property
    def rejected(self) -> int:
        return int(self._data["rejected"])

    @property
    def rejected_by_kind(self) -> Dict[str, int]:
        return dict(self._data["rejected_by_kind"])

    @property
    def duplicates_dropped(self) -> int:
        return int(self._data["duplicates_dropped"])

    @property
    def cancelled(self) -> int:
        return int(self._data["cancelled"])

    @property
    def revenue_usd_cents(self) -> int:
        return int(self._data["revenue_usd_cents"])

    @property
    def elapsed_seconds(self) -> float:
        return float(self._data["elapsed_seconds"])

    @property
    def mb_per_s(self) -> float:
        return float(self._data["mb_per_s"])

    def rejects_by_kind(self) -> Table:
        """Rejected rows per kind, as a table (kind, rows)."""
        rows = [{"kind": k, "rows": v} for k, v in sorted(self._data["rejected_by_kind"].items())]
        return Table(rows, ("kind", "rows"))

    def to_polars(self) -> polars.DataFrame:
        """One row: the scalar counts (rejects per kind are in ``rejects_by_kind()``)."""
        row = {k: v for k, v in self._data.items() if not isinstance(v, (dict, list))}
        return Table([row], list(row)).to_polars()


_FINDING_COLUMNS = (
    "category", "title", "file", "function", "line", "share_pct", "confidence", "evidence", "fix",
)


class Finding(_Result):
    """One diagnosed bottleneck: where (file, function, line), what kind (``category``, ``None`` for an
    unclassified hot spot), why (``evidence``) and the fix (``fix``, ``sketch``)."""

    __slots__ = ()

    @property
    def category(self) -> Optional[str]:
        c = self._data["category"]
        return None if c is None else str(c)

    @property
    def title(self) -> str:
        return str(self._data["title"])

    @property
    def file(self) -> str:
        return str(self._data["file"])

    @property
    def function(self) -> str:
        return str(self._data["function"])

    @property
    def line(self) -> int:
        return int(self._data["line"])

    @property
    def lines(self) -> Tuple[int, int]:
        first, last = self._data["lines"]
        return int(first), int(last)

    @property
    def share_pct(self) -> float:
        return float(self._data["share_pct"])

    @property
    def confidence(self) -> float:
        return float(self._data["confidence"])

    @property
    def evidence(self) -> str:
        return str(self._data["evidence"])

    @property
    def fix(self) -> str:
        return str(self._data["fix"])

    @property
    def sketch(self) -> str:
        return str(self._data["sketch"])

    @property
    def rule(self) -> str:
        """The rule that found it, ``category.shape`` (``unclassified`` for an unclassified hot spot)."""
        return str(self._data["rule"])

    @property
    def memory_pct(self) -> Optional[float]:
        """Share of the memory its lines hold (at the peak, or allocated), when a memory profile was given."""
        m = self._data.get("memory_pct")
        return None if m is None else float(m)

    @property
    def alternatives(self) -> List[Tuple[str, float]]:
        """Other categories that fit the same lines, best first: (category id, confidence)."""
        return [(str(a["category"]), float(a["confidence"])) for a in self._data["alternatives"]]


class Diagnosis(_Result):
    """The result of ``diagnose``: findings, best first; ``str(d)`` is the CLI's text; ``to_polars()`` gives the
    findings table."""

    __slots__ = ("_text",)

    def __init__(self, data: Dict[str, Any], text: str) -> None:
        super().__init__(data)
        self._text = text

    @property
    def findings(self) -> List[Finding]:
        return [Finding(f) for f in self._data["findings"]]

    @property
    def top(self) -> Optional[Finding]:
        """The best classified finding, if any."""
        return next((f for f in self.findings if f.category is not None), None)

    @property
    def measure(self) -> str:
        """What the findings' shares are of: ``"time"``, or ``"memory"`` when only memory profiles were given."""
        return str(self._data["measure"])

    @property
    def user_share_pct(self) -> float:
        """Share of the samples (or time) that fell in the program's own files."""
        return float(self._data["user_share_pct"])

    @property
    def notes(self) -> List[str]:
        return [str(n) for n in self._data["notes"]]

    def to_polars(self) -> polars.DataFrame:
        return _table(self._data["findings"], _FINDING_COLUMNS).to_polars()

    def __str__(self) -> str:
        return self._text


_DIFF_COLUMNS = (
    "function", "file", "line", "before_self", "after_self", "before_total", "after_total", "delta_self",
    "delta_self_pct",
)


class ProfileDiff(_Result):
    """``before.diff(after)``: totals and per-function / per-line changes, largest absolute change of self time
    first. ``to_polars()`` gives the functions table."""

    __slots__ = ()

    @property
    def unit(self) -> str:
        return str(self._data["unit"])

    @property
    def before_total(self) -> float:
        return float(self._data["before_total"])

    @property
    def after_total(self) -> float:
        return float(self._data["after_total"])

    @property
    def total_pct(self) -> float:
        """Relative change of the total, in percent (negative: faster)."""
        return float(self._data["total_pct"])

    @property
    def functions(self) -> Table:
        return _table(self._data["functions"], _DIFF_COLUMNS)

    @property
    def lines(self) -> Table:
        return _table(self._data["lines"], _DIFF_COLUMNS)

    def to_polars(self) -> polars.DataFrame:
        return self.functions.to_polars()


_HOT_LINE_COLUMNS = ("file", "line", "function", "share_pct", "source")
_FUNCTION_COLUMNS = (
    "function", "file", "line", "self", "total", "self_pct", "total_pct", "calls", "primitive_calls",
)


class CheckResult(_Result):
    """The result of ``check``: the verdict, measurements of the run, the comparison with the reference, the
    profile's hot spots. ``str(r)`` is the CLI's text; ``to_polars()`` gives the hot lines."""

    __slots__ = ("_text",)

    def __init__(self, data: Dict[str, Any], text: str) -> None:
        super().__init__(data)
        self._text = text

    @property
    def name(self) -> str:
        return str(self._data["name"])

    @property
    def verdict(self) -> str:
        """``correct``, ``wrong``, ``crashed`` or ``over_limit``."""
        return str(self._data["verdict"])

    @property
    def correct(self) -> bool:
        return self.verdict == "correct"

    @property
    def wall_seconds(self) -> float:
        return float(self._data["run"]["wall_seconds"])

    @property
    def cpu_seconds(self) -> float:
        return float(self._data["run"]["cpu_seconds"])

    @property
    def peak_rss_bytes(self) -> int:
        return int(self._data["run"]["peak_rss_bytes"])

    @property
    def mb_per_s(self) -> float:
        return float(self._data["mb_per_s"])

    @property
    def timing(self) -> Optional[Dict[str, Any]]:
        """With ``runs`` > 1 or a warm-up: ``{"runs": [seconds...], "min", "median", "mean", "sd"}`` of the timed
        runs after the checked one; else ``None``."""
        t = self._data.get("timing")
        return dict(t) if t is not None else None

    @property
    def limit(self) -> Optional[str]:
        """The limit that stopped the run (``wall``, ``memory``, ``cpu``, ``output``), if one did."""
        v = self._data["run"]["limit"]
        return None if v is None else str(v)

    @property
    def exit_code(self) -> Optional[int]:
        v = self._data["run"]["exit_code"]
        return None if v is None else int(v)

    @property
    def output_dir(self) -> Path:
        return Path(self._data["output_dir"])

    @property
    def verification(self) -> Optional[Dict[str, Any]]:
        """Per-file comparison with the reference (``None`` when the run did not finish cleanly)."""
        v = self._data["verification"]
        return None if v is None else dict(v)

    @property
    def hot_lines(self) -> Table:
        p = self._data["profile"]
        return _table(p["hot_lines"] if p else [], _HOT_LINE_COLUMNS, p["note"] if p else None)

    @property
    def top_functions(self) -> Table:
        p = self._data["profile"]
        return _table(p["top_self"] if p else [], _FUNCTION_COLUMNS, p["note"] if p else None)

    @property
    def flamegraph(self) -> Optional[Path]:
        p = self._data["profile"]
        return Path(p["flamegraph"]) if p and p["flamegraph"] else None

    def to_polars(self) -> polars.DataFrame:
        return self.hot_lines.to_polars()

    def __str__(self) -> str:
        return self._text
