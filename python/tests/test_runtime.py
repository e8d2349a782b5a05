"""The GIL is released, Ctrl-C stops long calls cleanly, the console script and the example work, the stubs
type-check."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import pytest

import etlkit
from conftest import PYTHON_DIR, ROOT


def test_generate_releases_the_gil(tmp_path: Path) -> None:
    count = 0
    done = threading.Event()

    def spin() -> None:
        nonlocal count
        while not done.is_set():
            count += 1

    t = threading.Thread(target=spin)
    t.start()
    try:
        time.sleep(0.05)
        before = count
        started = time.perf_counter()
        etlkit.generate(tmp_path / "d", size="30MB", threads=1, progress=False)
        elapsed = time.perf_counter() - started
        during = count - before
    finally:
        done.set()
        t.join()
    # With the GIL held for the whole call the counter could not move (beyond a switch interval or two).
    assert elapsed > 0.02
    assert during > 10_000, f"the Python thread counted only {during} times in {elapsed:.2f} s"


def test_profile_views_release_the_gil_too(tmp_path: Path) -> None:
    # A cheap smoke check: views work from several threads at once (each call releases the GIL).
    p = etlkit.load_profile(ROOT / "exercises" / "drills" / "01-order-enrichment" / "profile.raw.txt")
    results: list[str] = []
    threads = [threading.Thread(target=lambda: results.append(p.top(1)[0]["function"])) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results == ["enrich_orders"] * 4


@pytest.mark.parametrize("call", ["generate", "run_pipeline", "check"])
def test_ctrl_c_stops_long_calls_cleanly(call: str, tmp_path: Path, dataset: Path) -> None:
    if call == "check":
        hang = tmp_path / "hang.py"
        hang.write_text("import time\ntime.sleep(60)\n")
        body = f"etlkit.check({str(hang)!r}, {str(dataset)!r}, profiler='none', timeout=120, work={str(tmp_path / 'w')!r})"
    elif call == "generate":
        body = f"etlkit.generate({str(tmp_path / 'big')!r}, size='20GB', threads=1, progress=False)"
    else:
        big = tmp_path / "pipe"
        etlkit.generate(big, size="100MB", progress=False)
        body = f"etlkit.run_pipeline({str(big)!r}, {str(tmp_path / 'out')!r}, threads=1, progress=False)"
    script = textwrap.dedent(
        f"""
        import os, signal, threading, time
        import etlkit
        threading.Timer(0.1, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
        t = time.perf_counter()
        try:
            {body}
            print("finished")
        except KeyboardInterrupt:
            print("interrupted after", round(time.perf_counter() - t, 2))
        """
    )
    r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith("interrupted after"), r.stdout + r.stderr
    assert float(r.stdout.split()[-1]) < 5.0
    if call == "generate":
        assert not (tmp_path / "big" / "manifest.json").exists()
        leftovers = [p.name for p in (tmp_path / "big").rglob("*") if p.is_file()]
        assert not any(".tmp" in n for n in leftovers), leftovers


def test_console_script(console_script: str, tmp_path: Path) -> None:
    v = subprocess.run([console_script, "--version"], capture_output=True, text=True, timeout=30)
    assert v.returncode == 0 and v.stdout.strip() == f"etlkit {etlkit.__version__}"
    g = subprocess.run(
        [console_script, "generate", "--rows", "100", "--out", str(tmp_path / "d")],
        capture_output=True, text=True, timeout=60,
    )
    assert g.returncode == 0, g.stderr
    assert "100 fact rows" in g.stdout + g.stderr
    assert (tmp_path / "d" / "manifest.json").is_file()
    j = subprocess.run(
        [console_script, "pipeline", str(tmp_path / "d"), "--out", str(tmp_path / "o"), "--json"],
        capture_output=True, text=True, timeout=60,
    )
    assert j.returncode == 0 and '"rows_read": 100' in j.stdout
    bad = subprocess.run(
        [console_script, "generate", "--size", "10XB", "--out", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=30,
    )
    assert bad.returncode == 2 and "invalid value '10XB'" in bad.stderr
    h = subprocess.run([console_script, "profile", "--help"], capture_output=True, text=True, timeout=30)
    assert h.returncode == 0 and "Usage: etlkit profile" in h.stdout
    m = subprocess.run([sys.executable, "-m", "etlkit", "--version"], capture_output=True, text=True, timeout=30)
    assert m.returncode == 0 and m.stdout.startswith("etlkit ")


def test_notebook_example_runs(tmp_path: Path) -> None:
    r = subprocess.run(
        [sys.executable, str(PYTHON_DIR / "examples" / "profile_notebook.py"), str(tmp_path)],
        capture_output=True, text=True, timeout=300,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert "bottleneck: nested_loop_join at slow.py:36" in r.stdout
    assert (tmp_path / "nested.svg").is_file()


def test_stubs_pass_mypy_strict(tmp_path: Path) -> None:
    typed = tmp_path / "typed_use.py"
    typed.write_text(
        textwrap.dedent(
            """
            from pathlib import Path
            from typing import Dict, List, Optional

            import etlkit

            def run(tmp: Path) -> Optional[str]:
                m: etlkit.Manifest = etlkit.generate(tmp / "d", rows=100, seed=1, progress=False)
                n: int = m.fact_rows
                s: etlkit.Summary = etlkit.run_pipeline(tmp / "d", tmp / "o", engine="csv")
                kinds: Dict[str, int] = s.rejected_by_kind
                p: etlkit.Profile = etlkit.load_profile("prof.txt")
                rows: etlkit.Table = p.top(5, by="total")
                first: Dict[str, object] = dict(rows[0])
                svg: Path = p.to_flamegraph(tmp / "f.svg")
                d: etlkit.Diagnosis = etlkit.diagnose(p, "src")
                c: etlkit.CheckResult = etlkit.check("sol.py", tmp / "d", timeout=10, memory="1GB")
                diff: etlkit.ProfileDiff = p.diff(p)
                notes: List[str] = p.notes
                try:
                    etlkit.load_profile("x")
                except etlkit.ProfileFormatError as e:
                    where: Optional[str] = e.path
                except etlkit.IoError as e:
                    code: Optional[int] = e.errno
                return d.top.category if d.top else None
            """
        )
    )
    env = dict(os.environ, MYPY_CACHE_DIR=str(tmp_path / ".mypy_cache"))
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(typed),
         str(PYTHON_DIR / "examples" / "profile_notebook.py"), str(PYTHON_DIR / "etlkit")],
        capture_output=True, text=True, timeout=300, cwd=PYTHON_DIR, env=env,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    # And mypy does catch a misuse (the stubs are not Any).
    wrong = tmp_path / "wrong.py"
    wrong.write_text("import etlkit\nx: int = etlkit.load_profile('p').top(3)\n")
    r = subprocess.run(
        [sys.executable, "-m", "mypy", "--strict", "--no-incremental", str(wrong)],
        capture_output=True, text=True, timeout=300, cwd=PYTHON_DIR, env=env,
    )
    assert r.returncode == 1 and "Incompatible types in assignment" in r.stdout, r.stdout
