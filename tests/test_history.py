"""The benchmark history: compact records appended run after run, read back strictly, drawn as trends."""

import pytest

from kdbench.bench import history
from kdbench.errors import KdbenchError
from kdbench.report.plots import trend_png


def _row(case, score, p50, speedup):
    task, model = case.split("-")[:2]
    return {"id": case, "task": task, "model": model, "test_macro_f1": score, "flops_per_sentence": 1e6,
            "file_bytes": 1000, "latency_ms": {"p50": p50}, "speedup_vs_fastest_teacher": speedup,
            "machine": {"cpu": "test cpu", "cores": 2, "memory_gb": 1}}


def test_runs_append_and_read_back_in_order(tmp_path):
    path = tmp_path / "reports/history/bench.jsonl"
    assert history.load(path) == []
    for i, p50 in enumerate((2.0, 2.5)):
        rows = [_row("smsa-teacher-eager", 0.8, 10.0, 1.0), _row("smsa-bilstm-kd-onnx", 0.7 + i / 100, p50, 10 / p50)]
        history.append(history.make_record(rows, f"2026-11-2{i}T00:00:00", root=tmp_path), path)
    first, second = history.load(path)
    assert first["commit"] is None  # not a git repository: recorded as unknown, not invented
    assert first["machine"] == {"cpu": "test cpu", "cores": 2}
    assert second["cases"]["smsa-bilstm-kd-onnx"] == {"score": 0.71, "flops": 1e6, "bytes": 1000, "p50_ms": 2.5,
                                                      "speedup": 4.0}
    png = trend_png("smsa", [first, second])
    assert png.startswith(b"\x89PNG") and png == trend_png("smsa", [first, second])  # same records, same bytes


@pytest.mark.parametrize("line, message", [("{not json", "line 2: not valid JSON"),
                                           ('{"commit": "abc"}', "line 2: not a history record")])
def test_a_damaged_history_is_one_clear_error(tmp_path, line, message):
    path = tmp_path / "bench.jsonl"
    path.write_text('{"cases": {}}\n' + line + "\n")
    with pytest.raises(KdbenchError, match=f"bench.jsonl: {message}"):
        history.load(path)


def test_a_record_names_its_commit_and_whether_code_was_changed(tmp_path):
    import subprocess
    git = ["git", "-c", "user.name=kdbench", "-c", "user.email=kdbench@example.org"]
    for rel in ("code.py", "dvc.lock", "reports/bench/benchmark.json"):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text("a\n")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    subprocess.run(["git", "add", "."], cwd=tmp_path, check=True)
    subprocess.run([*git, "commit", "-qm", "first"], cwd=tmp_path, check=True)
    sha = subprocess.run(["git", "rev-parse", "--short=12", "HEAD"], cwd=tmp_path, capture_output=True,
                         text=True).stdout.strip()
    for rel in ("dvc.lock", "reports/bench/benchmark.json"):  # what a `dvc repro` rewrites: still the commit
        (tmp_path / rel).write_text("b\n")
    assert history.make_record([], "d", root=tmp_path)["commit"] == sha
    (tmp_path / "code.py").write_text("b\n")  # a code change: the run is not that commit's
    assert history.make_record([], "d", root=tmp_path)["commit"] == sha + "+dirty"
