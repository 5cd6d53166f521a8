"""Reading the benchmark JSON back: each pytest-benchmark case carries its row in `extra_info`."""

import json
from pathlib import Path

from kdbench.errors import KdbenchError


def bench_rows(bench_json):
    """The rows of a pytest-benchmark JSON file written by the benchmark cases, in run order; of a folder of
    them (a study's reports/bench/, one file a task), the files' rows in name order."""
    path = Path(bench_json)
    if path.is_dir():
        files = sorted(path.glob("*.json"))
        if not files:
            raise KdbenchError(f"{path}: no benchmark JSON files (run the study's bench stages first)")
        return [row for f in files for row in bench_rows(f)]
    if not path.is_file():
        raise KdbenchError(f"{path}: not found (run `kdbench bench` or `pytest --benchmark-only` first)")
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        raise KdbenchError(f"{path}: line {getattr(e, 'lineno', '?')}: not valid JSON") from None
    benchmarks = data.get("benchmarks") if isinstance(data, dict) else None
    if not isinstance(benchmarks, list):
        raise KdbenchError(f"{path}: not a pytest-benchmark JSON file (no `benchmarks` list at the top)")
    rows = []
    for i, b in enumerate(benchmarks):
        info = b.get("extra_info") if isinstance(b, dict) else None
        if not isinstance(info, dict):
            raise KdbenchError(f"{path}: benchmarks[{i}]: not a benchmark entry (no `extra_info` mapping)")
        if info.get("id"):
            rows.append(info)
    return rows
