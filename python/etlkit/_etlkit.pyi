# Stubs of the Rust extension. Results cross as JSON text; `etlkit` wraps them in typed classes.
from os import PathLike
from typing import List, Optional, Tuple, Union

_Path = Union[str, "PathLike[str]"]

__version__: str

def generate(
    out_dir: _Path,
    size: Optional[str],
    rows: Optional[int],
    seed: int,
    dirty_rate: float,
    threads: Optional[int],
    files: Optional[int],
    progress: bool,
    force: bool,
    compression: str,
    dirt: Optional[str],
) -> str: ...
def run_pipeline(
    data_dir: _Path,
    out_dir: _Path,
    engine: str,
    threads: Optional[int],
    fail_fast: bool,
    progress: bool,
    mmap: bool,
) -> str: ...
def check(
    solution_path: _Path,
    data_dir: _Path,
    python: Optional[_Path],
    timeout: float,
    memory: Optional[str],
    profiler: str,
    reference: Optional[_Path],
    work: Optional[_Path],
    runs: int,
    warmup: int,
) -> Tuple[str, str]: ...
# format: "pstats", "folded", "speedscope", "lprof", "scalene", "memray", or None to guess from the content.
def load_profile(path: _Path, format: Optional[str]) -> RawProfile: ...
def diagnose_many(profiles: List[RawProfile], source_dir: _Path) -> Tuple[str, str]: ...
def cli_main(argv: List[str]) -> int: ...

class RawProfile:
    @property
    def path(self) -> str: ...
    @property
    def total(self) -> float: ...
    def meta_json(self) -> str: ...
    def report(
        self,
        top: int,
        idle: bool,
        imports: bool,
        stdlib: bool,
        site_packages: bool,
        function: Optional[str],
    ) -> str: ...
    def export(self, path: _Path, format: Optional[str], title: Optional[str]) -> None: ...
    def diff(self, other: RawProfile) -> str: ...
    def diagnose(self, source_dir: _Path) -> Tuple[str, str]: ...
