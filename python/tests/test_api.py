"""Every API function on small data; errors with the right class and message."""

from __future__ import annotations

import errno
import json
import shutil
from pathlib import Path

import polars as pl
import pytest

import etlkit
from conftest import DRILL, PSTATS, SOLUTIONS


# ---- generate ----------------------------------------------------------------------------------------------


def test_generate_writes_a_dataset_and_returns_its_manifest(tmp_path: Path) -> None:
    m = etlkit.generate(tmp_path / "d", rows=1000, files=2, seed=7, dirty_rate=0.02, progress=False)
    assert isinstance(m, etlkit.Manifest)
    assert (m.fact_rows, m.fact_files, m.seed) == (1000, 2, 7)
    assert m.out_dir == tmp_path / "d"
    assert (tmp_path / "d" / "manifest.json").is_file()
    on_disk = json.loads((tmp_path / "d" / "manifest.json").read_text())
    assert on_disk == m.to_dict()
    assert m.defects_total == sum(m.defects_by_kind.values()) > 0
    paths = [f["path"] for f in m.files]
    assert paths == ["customers.csv", "products.csv", "fx_rates.csv", "orders/part-00000.csv", "orders/part-00001.csv"]
    df = m.to_polars()
    assert df.columns[:3] == ["path", "table", "rows"] and df.height == 5
    assert df.filter(pl.col("table") == "orders")["rows"].sum() == 1000


def test_generate_is_deterministic_and_threads_do_not_matter(tmp_path: Path) -> None:
    a = etlkit.generate(tmp_path / "a", rows=2000, seed=3, threads=1, progress=False)
    b = etlkit.generate(tmp_path / "b", rows=2000, seed=3, threads=3, progress=False)
    assert [f["sha256"] for f in a.files] == [f["sha256"] for f in b.files]


def test_generate_size_compression_and_dirt(tmp_path: Path) -> None:
    m = etlkit.generate(tmp_path / "d", size="300KB", compression="gzip", dirt=["bad_number"], progress=False)
    assert 200_000 < sum(f["uncompressed_bytes"] for f in m.files) < 450_000
    assert all(f["path"].endswith(".csv.gz") for f in m.files)
    assert set(m.defects_by_kind) <= {"bad_number"}


def test_generate_errors(tmp_path: Path) -> None:
    with pytest.raises(etlkit.InvalidArgumentError, match=r"invalid size '10XB': a number with an optional unit") as e:
        etlkit.generate(tmp_path / "x", size="10XB")
    assert isinstance(e.value, ValueError) and isinstance(e.value, etlkit.EtlkitError)
    assert (e.value.what, e.value.value) == ("size", "10XB")
    with pytest.raises(etlkit.InvalidArgumentError, match=r"invalid dirty rate '2': a number from 0 to 1"):
        etlkit.generate(tmp_path / "x", rows=10, dirty_rate=2.0)
    with pytest.raises(etlkit.InvalidArgumentError, match="compression"):
        etlkit.generate(tmp_path / "x", rows=10, compression="lzma")
    with pytest.raises(etlkit.InvalidArgumentError, match="dirt"):
        etlkit.generate(tmp_path / "x", rows=10, dirt=["no_such_kind"])
    etlkit.generate(tmp_path / "full", rows=10, progress=False)
    with pytest.raises(etlkit.InvalidArgumentError, match=r"output directory is not empty \(pass force=True"):
        etlkit.generate(tmp_path / "full", rows=10, progress=False)
    etlkit.generate(tmp_path / "full", rows=10, progress=False, force=True)
    (tmp_path / "file").write_text("not a directory")
    with pytest.raises(etlkit.IoError) as io:
        etlkit.generate(tmp_path / "file" / "sub", rows=10, progress=False)
    assert isinstance(io.value, OSError) and io.value.errno == errno.ENOTDIR
    assert io.value.filename and "file" in io.value.filename


# ---- run_pipeline ------------------------------------------------------------------------------------------


def test_run_pipeline(dataset: Path, tmp_path: Path) -> None:
    s = etlkit.run_pipeline(dataset, tmp_path / "out", progress=False)
    assert isinstance(s, etlkit.Summary)
    assert s.engine == "csv" and s.rows_read == 3000 and s.files == 2
    assert s.valid + s.rejected + s.duplicates_dropped == s.rows_read
    assert s.rejected == sum(s.rejected_by_kind.values()) > 0
    for name in ("daily_revenue.csv", "top_customers.csv", "rejects.csv", "summary.json"):
        assert (tmp_path / "out" / name).is_file()
    assert json.loads((tmp_path / "out" / "summary.json").read_text())["revenue_usd_cents"] == s.revenue_usd_cents
    assert s.to_polars().row(0, named=True)["valid"] == s.valid
    kinds = s.rejects_by_kind().to_polars()
    assert kinds["rows"].sum() == s.rejected
    # threads, and reading with read(2) instead of maps, do not change results
    for i, kw in enumerate([{"threads": 1}, {"mmap": False}]):
        t = etlkit.run_pipeline(dataset, tmp_path / f"out{i}", progress=False, **kw)
        assert {k: v for k, v in t.to_dict().items() if k not in ("elapsed_seconds", "mb_per_s")} == {
            k: v for k, v in s.to_dict().items() if k not in ("elapsed_seconds", "mb_per_s")
        }
        assert (tmp_path / f"out{i}" / "rejects.csv").read_bytes() == (tmp_path / "out" / "rejects.csv").read_bytes()


def test_run_pipeline_errors(dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(etlkit.InvalidArgumentError, match=r"invalid engine 'spark'"):
        etlkit.run_pipeline(dataset, tmp_path / "o", engine="spark")
    with pytest.raises(etlkit.InvalidArgumentError, match=r"invalid engine 'polars'.*no `polars` feature"):
        etlkit.run_pipeline(dataset, tmp_path / "o", engine="polars")
    with pytest.raises(etlkit.IoError, match="customers.csv") as e:
        etlkit.run_pipeline(tmp_path, tmp_path / "o")
    assert e.value.errno == errno.ENOENT
    bad = tmp_path / "bad"
    shutil.copytree(dataset, bad)
    part = bad / "orders" / "part-00000.csv"
    part.write_bytes(b"id,who,what\n" + part.read_bytes().split(b"\n", 1)[1])
    with pytest.raises(etlkit.DatasetError, match=r"part-00000.csv:1: byte 0: expected the header order_id,") as d:
        etlkit.run_pipeline(bad, tmp_path / "o", progress=False)
    assert d.value.path == str(part) and d.value.line == 1 and d.value.offset == 0
    with pytest.raises(etlkit.DatasetError, match=r"part-0000\d.csv:\d+: byte \d+: "):
        etlkit.run_pipeline(dataset, tmp_path / "o", fail_fast=True, progress=False)


# ---- profiles ----------------------------------------------------------------------------------------------


def test_load_profile_views() -> None:
    p = etlkit.load_profile(DRILL / "profile.raw.txt")
    assert (p.format, p.tool, p.unit) == ("folded", "py-spy", "samples")
    assert p.total > 0 and p.path == DRILL / "profile.raw.txt"
    top = p.top(3)
    assert len(top) == 3 and top[0]["function"] == "enrich_orders" and top[0]["self_pct"] > 80
    assert top.columns == ["function", "file", "line", "self", "total", "self_pct", "total_pct", "calls", "primitive_calls"]
    by_total = p.top(2, by="total")
    assert by_total[0]["total_pct"] == pytest.approx(100.0)
    lines = p.hot_lines(2)
    assert [(r["file"], r["function"]) for r in lines] == [("slow.py", "enrich_orders")] * 2
    path = p.hot_path()
    assert [s["function"] for s in path][-1] == "enrich_orders"
    df = p.to_polars()
    assert df.height > 3 and df["function"][0] == "enrich_orders"
    assert set(p.to_dict()) >= {"top_self", "top_total", "hot_lines", "hot_path", "meta"}
    nb = p.callers("enrich_orders")
    assert nb["callers"][0]["function"] == "main"
    assert len(p.top(5, hide=["lib"])) <= 5


def test_pstats_profile() -> None:
    p = etlkit.load_profile(PSTATS)
    assert (p.format, p.unit) == ("pstats", "seconds")
    top = p.top(1)
    assert top[0]["function"] == "inner" and top[0]["calls"] == 20
    assert p.hot_lines() == []  # pstats has no executing lines
    assert any("cProfile" in n for n in p.notes)


def test_memory_profiles(tmp_path: Path) -> None:
    fix = Path(PSTATS).parents[1]
    sc = etlkit.load_profile(fix / "scalene" / "2.4.0" / "prog.json")
    assert (sc.format, sc.tool, sc.unit) == ("scalene", "Scalene", "seconds")
    oracle = json.loads((fix / "scalene" / "2.4.0" / "prog.oracle.json").read_text())
    m = sc.memory()
    assert m is not None and m["peak_bytes"] == pytest.approx(oracle["max_footprint_mb"] * 2**20, rel=1e-12)
    assert m["peak_at"].endswith("lines.py:59 (read_data)")
    assert {r["line"] for r in m["cpu_lines"]} <= {l["lineno"] for l in oracle["lines"]}
    assert sc.total == pytest.approx(oracle["elapsed_time_sec"] * (oracle["sum_cpu_percent_python_c"] + oracle["sum_sys_percent"]) / 100)
    assert sc.top(1)[0]["function"] == "read_data"
    forced = etlkit.load_profile(fix / "scalene" / "2.4.0" / "prog.json", format="scalene")
    assert forced.total == sc.total
    mo = json.loads((fix / "memray" / "1.20.0" / "stats.oracle.json").read_text())
    st = etlkit.load_profile(fix / "memray" / "1.20.0" / "stats.json", format="memray")
    ms = st.memory()
    assert st.format == "memray" and ms is not None
    assert (ms["peak_bytes"], ms["allocated_bytes"]) == (mo["peak_memory"]["bytes"], mo["total_memory_allocated"]["bytes"])
    assert [r["allocated_bytes"] for r in ms["lines"]] == [s["bytes"] for s in mo["top_allocations_by_size"]]
    csv = etlkit.load_profile(fix / "memray" / "1.20.0" / "alloc.csv")
    assert (csv.format, csv.unit, csv.total) == ("memray", "bytes", mo["csv"]["bytes"])
    assert etlkit.load_profile(PSTATS).memory() is None
    with pytest.raises(etlkit.ProfileFormatError, match="no stacks"):
        st.to_flamegraph(tmp_path / "m.svg")
    assert not (tmp_path / "m.svg").exists()


def test_exports(tmp_path: Path) -> None:
    for prof in (etlkit.load_profile(DRILL / "profile.raw.txt"), etlkit.load_profile(PSTATS)):
        svg = prof.to_flamegraph(tmp_path / "f.svg", title="my title")
        assert svg.read_text().lstrip().startswith("<?xml") and "my title" in svg.read_text()
        ss = json.loads(prof.to_speedscope(tmp_path / "s.json").read_text())
        assert ss["$schema"].startswith("https://www.speedscope.app/")
        again = etlkit.load_profile(tmp_path / "s.json")
        assert again.format == "speedscope"
        folded = prof.export(tmp_path / "p.folded")
        assert ";" in folded.read_text()
        assert prof.export(tmp_path / "p.pb", "pprof").stat().st_size > 0
    with pytest.raises(etlkit.InvalidArgumentError, match="export format"):
        prof.export(tmp_path / "x", "png")
    with pytest.raises(etlkit.IoError):
        prof.to_flamegraph(tmp_path / "no" / "such" / "dir.svg")


def test_diff() -> None:
    slow = etlkit.load_profile(DRILL / "profile.raw.txt")
    same = slow.diff(slow)
    assert isinstance(same, etlkit.ProfileDiff) and same.total_pct == 0 and same.unit == "samples"
    assert same.functions[0]["delta_self"] == 0 and same.to_polars().height == len(same.functions)
    with pytest.raises(etlkit.InvalidArgumentError, match="measured the same way"):
        slow.diff(etlkit.load_profile(PSTATS))


def test_profile_errors(tmp_path: Path) -> None:
    junk = tmp_path / "junk.txt"
    junk.write_text("hello\nworld\n")
    with pytest.raises(etlkit.ProfileFormatError, match=r"junk.txt: not a profile etlkit can read.*name the format") as e:
        etlkit.load_profile(junk)
    assert e.value.path == str(junk)
    with pytest.raises(etlkit.ProfileFormatError) as e2:
        etlkit.load_profile(junk, format="pstats")
    assert e2.value.path == str(junk)
    with pytest.raises(etlkit.IoError) as io:
        etlkit.load_profile(tmp_path / "missing.prof")
    assert io.value.errno == errno.ENOENT and io.value.filename == str(tmp_path / "missing.prof")
    assert isinstance(io.value, FileNotFoundError) is False and isinstance(io.value, OSError)
    with pytest.raises(etlkit.InvalidArgumentError, match="profile format"):
        etlkit.load_profile(junk, format="perf")
    p = etlkit.load_profile(PSTATS)
    with pytest.raises(etlkit.InvalidArgumentError, match="invalid by 'calls': self or total"):
        p.top(3, by="calls")
    with pytest.raises(etlkit.InvalidArgumentError, match="hide"):
        p.top(3, hide=["everything"])


def test_diagnose_a_drill(tmp_path: Path) -> None:
    expected = (DRILL / "answer.toml").read_text().split('"')[1]
    d = etlkit.diagnose(DRILL / "profile.raw.txt", DRILL)
    assert isinstance(d, etlkit.Diagnosis)
    assert d.top is not None and d.top.category == expected == "nested_loop_join"
    assert d.top.function == "enrich_orders" and d.top.file.endswith("slow.py") and d.top.share_pct > 50
    assert d.top.rule.startswith("nested_loop_join.") and all(c != expected for c, _ in d.top.alternatives)
    from_pstats = etlkit.diagnose(DRILL / "profile.pstats", DRILL)
    assert from_pstats.top is not None and from_pstats.top.category == expected
    assert "nested_loop_join" in str(d) and "fix:" in str(d)
    assert d.to_polars()["category"][0] == expected
    assert json.loads(json.dumps(d.to_dict()))["findings"][0]["category"] == expected
    same = etlkit.load_profile(DRILL / "profile.raw.txt").diagnose(DRILL / "slow.py")
    assert same.top is not None and same.top.category == expected
    with pytest.raises(etlkit.IoError, match="no .py files here"):
        etlkit.diagnose(DRILL / "profile.raw.txt", tmp_path)


def test_diagnose_several_profiles_with_memory() -> None:
    drill = DRILL.parent / "20-daily-revenue-csv"
    both = etlkit.diagnose([drill / "profile.raw.txt", etlkit.load_profile(drill / "profile.memray.csv")], drill)
    assert both.measure == "time" and both.top is not None and both.top.category == "whole_file_load"
    assert both.top.line == 26 and both.top.memory_pct is not None and both.top.memory_pct > 50
    assert "of the memory" in str(both)
    alone = etlkit.diagnose(drill / "profile.raw.txt", drill)
    assert alone.top is not None and alone.top.memory_pct is None and alone.top.confidence < both.top.confidence
    memory = etlkit.diagnose([drill / "profile.memray.csv"], drill)
    assert memory.measure == "memory" and memory.top is not None and memory.top.line == 26


# ---- check -------------------------------------------------------------------------------------------------


def test_check_correct_and_crashing(dataset: Path, tmp_path: Path) -> None:
    r = etlkit.check(SOLUTIONS / "streaming_csv.py", dataset, profiler="cprofile", timeout=120, work=tmp_path / "w1")
    assert isinstance(r, etlkit.CheckResult)
    assert r.verdict == "correct" and r.correct, str(r)
    assert r.wall_seconds > 0 and r.peak_rss_bytes > 0 and r.exit_code == 0 and r.limit is None
    assert r.output_dir.is_dir() and (r.output_dir / "daily_revenue.csv").is_file()
    assert len(r.top_functions) > 0 and r.top_functions.to_polars().height == len(r.top_functions)
    assert "CORRECT" in str(r) and r.timing is None
    timed = etlkit.check(
        SOLUTIONS / "streaming_csv.py", dataset, profiler="none", timeout=120, work=tmp_path / "w4", runs=3
    )
    assert timed.timing is not None and len(timed.timing["runs"]) == 3, str(timed)
    assert timed.timing["min"] <= timed.timing["median"] and "timed 3 runs" in str(timed)
    bad = etlkit.check(SOLUTIONS / "bad" / "crashes.py", dataset, profiler="none", timeout=60, work=tmp_path / "w2")
    assert bad.verdict == "crashed" and not bad.correct and bad.exit_code != 0
    slow = etlkit.check(SOLUTIONS / "bad" / "hangs.py", dataset, profiler="none", timeout=1, work=tmp_path / "w3")
    assert slow.verdict == "over_limit" and slow.limit == "wall"


def test_check_errors(dataset: Path, tmp_path: Path) -> None:
    with pytest.raises(etlkit.InvalidArgumentError, match="invalid profiler 'perf'"):
        etlkit.check(SOLUTIONS / "streaming_csv.py", dataset, profiler="perf")
    with pytest.raises(etlkit.InvalidArgumentError, match="invalid memory|invalid size"):
        etlkit.check(SOLUTIONS / "streaming_csv.py", dataset, memory="lots")
    with pytest.raises(etlkit.IoError, match="nope.py"):
        etlkit.check(tmp_path / "nope.py", dataset, profiler="none", work=tmp_path / "w")
