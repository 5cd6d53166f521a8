"""Reading the benchmark JSON back: each pytest-benchmark case carries its row in `extra_info`."""

import json
from pathlib import Path

from kdbench.errors import KdbenchError


def bench_rows(bench_json):
    """The rows of a pytest-benchmark JSON file written by the benchmark cases, in run order."""
    path = Path(bench_json)
    if not path.is_file():
        raise KdbenchError(f"{path}: not found (run `kdbench bench` or `pytest --benchmark-only` first)")
    try:
        data = json.loads(path.read_text())
    except json.JSONDecodeError as e:
        raise KdbenchError(f"{path}: line {e.lineno}: not valid JSON") from None
    return [b["extra_info"] for b in data.get("benchmarks", []) if b.get("extra_info", {}).get("id")]
