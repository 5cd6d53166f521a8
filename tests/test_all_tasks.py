"""All 14 public tasks end to end: every task kind (single, pair, multi-aspect, tagging, QA tagging) through
every stage, the bench (eager, ONNX, int8 and the non-neural reference) and the report, on the smoke-all
study and setup: a tiny random teacher, one tiny student, a few dozen examples each. About ten minutes on 2 cores, so
`make test` leaves it out and .ci/run runs it (`pytest -m all_tasks`)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import copy_repo

pytestmark = pytest.mark.all_tasks
TASKS = ["emot", "smsa", "casa", "hoasa", "wrete", "posp", "bapos", "terma", "keps", "nergrit", "nerp", "facqa",
         "indolem_sentiment", "indolem_pos"]


@pytest.fixture(scope="module")
def repo(tmp_path_factory, mirror):
    repo = tmp_path_factory.mktemp("all")
    copy_repo(repo, ("setups/smoke-all", "studies/smoke-all"))
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    env = {**os.environ, "PATH": str(Path(sys.executable).parent) + os.pathsep + os.environ["PATH"],
           "KDBENCH_DATA_MIRROR": str(mirror), "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(repo)}
    out = subprocess.run(["dvc", "repro", "studies/smoke-all/dvc.yaml"], cwd=repo, env=env, capture_output=True,
                         text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return repo


def test_every_task_kind_trains_and_scores(repo):
    kinds = {}
    for task in TASKS:
        teacher = json.loads((repo / f"setups/smoke-all/reports/metrics/{task}/teacher.json").read_text())
        student = json.loads((repo / f"studies/smoke-all/reports/metrics/{task}/bilstm/kd.json").read_text())
        kinds[task] = teacher["kind"]
        for scores in (teacher["test"], student["test"]):
            assert 0 <= scores["interval"]["low"] <= scores["macro_f1"] <= scores["interval"]["high"] <= 1
    assert set(kinds.values()) == {"single", "pair", "multi-aspect", "tagging", "qa-tagging"}


def test_every_case_of_every_task_is_benchmarked(repo):
    rows = [b for task in TASKS for b in json.loads(
        (repo / f"studies/smoke-all/reports/bench/{task}.json").read_text())["benchmarks"]]
    ids = {b["extra_info"]["id"] for b in rows}
    expected = {f"{t}-{m}-{r}" for t in TASKS for m in ("teacher", "bilstm-kd") for r in ("eager", "onnx", "int8")}
    assert ids == expected | {f"{t}-reference-native" for t in TASKS}  # 98 cases, every one passed


def test_the_report_answers_for_every_task(repo):
    summary = json.loads((repo / "studies/smoke-all/reports/report.json").read_text())
    assert sorted(summary["tasks"]) == sorted(TASKS) and set(summary["recommendations"]) == set(TASKS)
    assert (repo / "studies/smoke-all/reports/tables/bench.csv").read_text().count("\n") == 1 + 98
