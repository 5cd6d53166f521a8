"""`kdbench bench`: the `bench` DVC stage. Runs the pytest-benchmark cases of tests/benchmarks/ (the same
ones `pytest --benchmark-only` runs) and writes their JSON atomically, so a failed run leaves no file."""

import subprocess
import sys
from pathlib import Path

from kdbench.errors import KdbenchError
from kdbench.io import atomic_path

CASES = Path("tests") / "benchmarks"  # of the project in the working directory, as DVC runs stages


def run_bench(out, pytest_args=()):
    """The pytest exit status; `out` is written only when every case passed."""
    if not CASES.is_dir():
        raise KdbenchError(f"{CASES}: benchmark cases not found (run kdbench bench from the project root)")
    with atomic_path(out) as tmp:
        cmd = [sys.executable, "-m", "pytest", str(CASES), "--benchmark-only", f"--benchmark-json={tmp}",
               "-p", "no:cacheprovider", "-q", *pytest_args]
        status = subprocess.run(cmd).returncode
        if status != 0:
            raise KdbenchError(f"benchmark cases failed (pytest exit {status}); {out} not written")
    return 0
