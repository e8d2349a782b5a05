from __future__ import annotations

import os
import shutil
import sys
from pathlib import Path
from typing import Iterator

import pytest

import etlkit

ROOT = Path(__file__).resolve().parents[2]
PYTHON_DIR = ROOT / "python"
DRILL = ROOT / "exercises" / "drills" / "01-order-enrichment"
PSTATS = ROOT / "tests" / "fixtures" / "profile" / "pstats" / "nested-3.11.pstats"
SOLUTIONS = ROOT / "exercises" / "etl_10gb" / "solutions"


@pytest.fixture(scope="session")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A small dirty dataset, made once."""
    out = tmp_path_factory.mktemp("data") / "small"
    etlkit.generate(out, rows=3000, files=2, dirty_rate=0.01, progress=False)
    return out


@pytest.fixture(scope="session")
def console_script() -> str:
    """The `etlkit` command installed by the wheel (next to this interpreter)."""
    here = Path(sys.executable).parent / "etlkit"
    found = str(here) if here.exists() else shutil.which("etlkit")
    assert found, "the etlkit console script is not installed"
    return found


@pytest.fixture()
def no_cwd_pollution(tmp_path: Path) -> Iterator[Path]:
    old = os.getcwd()
    os.chdir(tmp_path)
    try:
        yield tmp_path
    finally:
        os.chdir(old)
