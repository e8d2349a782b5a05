# %% [markdown]
# # etlkit in a notebook
#
# A notebook-style script (each `# %%` is a cell in VS Code / Jupytext): make a small dirty dataset, run the
# reference ETL on it, read a real py-spy profile, find its bottleneck, and look at everything as polars tables.
# Run it with `python python/examples/profile_notebook.py [WORK_DIR]` from the repository.

# %%
from __future__ import annotations

import sys
import tempfile
from pathlib import Path

import polars as pl

import etlkit

ROOT = Path(__file__).resolve().parents[2]  # the etlkit repository
WORK = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(tempfile.mkdtemp(prefix="etlkit-notebook-"))

# %% [markdown]
# ## 1. A dataset with recorded dirt

# %%
manifest = etlkit.generate(WORK / "data", rows=20_000, files=2, dirty_rate=0.01, progress=False)
print(f"{manifest.fact_rows} orders in {manifest.fact_files} files, {manifest.defects_total} defects")
files: pl.DataFrame = manifest.to_polars()
print(files.select("path", "rows", "bytes"))

# %% [markdown]
# ## 2. The reference ETL

# %%
summary = etlkit.run_pipeline(WORK / "data", WORK / "out", progress=False)
print(f"valid {summary.valid}, rejected {summary.rejected}, revenue {summary.revenue_usd_cents / 100:.2f} USD")
print(summary.rejects_by_kind().to_polars().filter(pl.col("rows") > 0))
daily = pl.read_csv(WORK / "out" / "daily_revenue.csv")
print(daily.head(3))

# %% [markdown]
# ## 3. A profile: top functions, hot lines, the hot path

# %%
prof = etlkit.load_profile(ROOT / "tests" / "fixtures" / "profile" / "pstats" / "nested-3.11.pstats")
print(prof)
top: pl.DataFrame = prof.top(5, by="self").to_polars()
print(top.select("function", "file", "self_pct", "calls"))
print(prof.hot_path().to_polars())
prof.to_flamegraph(WORK / "nested.svg")

# %% [markdown]
# ## 4. Name the bottleneck of a drill

# %%
drill = ROOT / "exercises" / "drills" / "01-order-enrichment"
sampled = etlkit.load_profile(drill / "profile.raw.txt")
print(sampled.hot_lines(3).to_polars().select("file", "line", "function", "self_pct"))
diagnosis = etlkit.diagnose(sampled, drill)
print(diagnosis)
best = diagnosis.top
assert best is not None, "the drill has a classified bottleneck"
print(f"bottleneck: {best.category} at {best.file}:{best.line} ({best.share_pct:.0f}% of the samples)")
findings: pl.DataFrame = diagnosis.to_polars()
print(findings.select("category", "function", "line", "share_pct"))
