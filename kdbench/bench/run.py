"""`kdbench bench`: the `bench` DVC stage. Runs the pytest-benchmark cases of tests/benchmarks/ (the same
ones `pytest --benchmark-only` runs) and writes their JSON atomically.

One bench stage measures one task of one study (`kdbench bench smsa`): the teacher, its reference and every
student of the study side by side in one session. One failed case does not take the others down: the JSON
holds every case that passed, the failed ones are named, and only then does the stage exit non-zero. Each run
that measured something also appends a compact record to its history file (kdbench.bench.history, a declared
output of the stage), from which the report draws the trends."""

import json
import os
import subprocess
import sys
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

from kdbench.bench import history
from kdbench.errors import KdbenchError
from kdbench.io import write_json

CASES = Path(__file__).resolve().parents[2] / "tests" / "benchmarks"  # the cases kdbench ships beside itself


def failed_cases(junit_xml):
    """Test ids of the failed and errored cases in a pytest JUnit XML report."""
    if not Path(junit_xml).is_file():
        return []
    failed = []
    for case in ET.parse(junit_xml).iter("testcase"):
        if case.find("failure") is not None or case.find("error") is not None:
            name = case.get("name", "")
            failed.append(name[name.find("[") + 1:-1] if "[" in name else name)
    return failed


def writable_export_cache():
    """One line before any case runs, not a traceback in each case, when the export cache cannot be written."""
    from kdbench.bench.harness import export_cache
    cache = export_cache()
    try:
        cache.mkdir(parents=True, exist_ok=True)
        tempfile.TemporaryFile(dir=cache).close()
    except OSError as e:
        raise KdbenchError(f"{cache}: the export cache cannot be written ({e.strerror}); point KDBENCH_EXPORT_CACHE "
                           f"at a folder that can")


def run_bench(params_path, tasks, out, history_path=None, pytest_args=()):
    """Run the cases of `tasks` of the study in `params_path`; write `out` with every case that passed and
    append them to the history (history_path, None for none); raise naming the failed ones (after writing)."""
    if not CASES.is_dir():
        raise KdbenchError(f"{CASES}: benchmark cases not found (kdbench's tests/benchmarks folder)")
    writable_export_cache()
    env = {**os.environ, "KDBENCH_PARAMS": str(Path(params_path).resolve()), "KDBENCH_TASKS": ",".join(tasks)}
    with tempfile.TemporaryDirectory() as work:
        raw, junit = Path(work) / "benchmark.json", Path(work) / "junit.xml"
        cmd = [sys.executable, "-m", "pytest", str(CASES), "--benchmark-only", f"--benchmark-json={raw}",
               f"--junitxml={junit}", "-p", "no:cacheprovider", "-q", "--rootdir", str(CASES),
               "--confcutdir", str(CASES), *pytest_args]  # not the test suite's conftest.py: its settings are its own
        status = subprocess.run(cmd, env=env).returncode
        failed = failed_cases(junit)
        passed = 0
        if raw.is_file():
            data = json.loads(raw.read_text())
            # a case that failed after timing has stats but no row: keep only the measured rows
            data["benchmarks"] = [b for b in data.get("benchmarks", []) if b.get("extra_info", {}).get("id")]
            passed = len(data["benchmarks"])
            write_json(out, data)
            # a case whose RSS subprocess failed keeps its timings but is named as failed (rss_error says why)
            lost = [b["extra_info"]["id"] for b in data["benchmarks"] if b["extra_info"].get("rss_error")]
            failed, status = failed + lost, status or (1 if lost else 0)
            if passed and history_path:
                rows = [b["extra_info"] for b in data["benchmarks"]]
                history.append(history.make_record(rows, data.get("datetime"), Path(params_path).parent),
                               history_path)
    if status != 0:
        named = f": {', '.join(failed)}" if failed else ""
        raise KdbenchError(f"{len(failed) or 'some'} benchmark case(s) failed{named}; "
                           f"{out} holds the {passed} that passed" if passed else
                           f"benchmark cases failed (pytest exit {status}){named}; {out} not written")
    return 0
