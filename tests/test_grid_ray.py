"""End to end: the smoke study on a local Ray cluster (`kdbench grid`, built by tests/conftest.py's `grid_repo`).
A file of its own, so that pytest-xdist (`--dist loadfile`) runs it on the other worker, beside the serial build;
its bytes are compared with the serial run's at the end of tests/test_pipeline.py, when both are done."""

import json
import os
import shutil
from pathlib import Path

import pytest

from tests.conftest import SETUP, STUDY

pytestmark = pytest.mark.slow


def test_grid_on_ray_then_dvc_repro_reruns_nothing(grid_repo):
    """Every stage DVC can restore ran on a Ray worker in a workspace of its own, the driver's `dvc repro` then
    restored all of them and ran only bench and report, and the study is up to date."""
    repo, sh, stdout, _ = grid_repo
    print(stdout)
    if os.environ.get("KDBENCH_SMOKE_DIR"):  # .ci/run prints where each stage ran
        shutil.copy(repo / STUDY / "reports/grid.json", Path(os.environ["KDBENCH_SMOKE_DIR"]) / "grid.json")
    log = json.loads((repo / STUDY / "reports/grid.json").read_text())
    stages = {s["stage"]: s for s in log["stages"]}
    students = [s for s in stages if ":distill@" in s or ":replicate@" in s]
    assert sorted(students) == [f"{STUDY}/dvc.yaml:{s}" for s in ("distill@smsa-bilstm-kd", "replicate@smsa-bilstm-kd-1")]
    assert f"{SETUP}/dvc.yaml:teacher@smsa" in stages and not any("nergrit" in s for s in stages)
    assert all(stages[s]["ran"] == [s] for s in stages)  # each ran its own stage only
    assert len({s["pid"] for s in stages.values()}) == 2 and log["nodes"] == 1  # the two local workers
    assert sorted(log["driver"]["ran"]) == [f"{STUDY}/dvc.yaml:bench@smsa", f"{STUDY}/dvc.yaml:report"]
    assert sorted(log["driver"]["restored"]) == sorted(stages)  # the rest came back from the run-cache
    assert (repo / STUDY / "reports/timing/smsa/bilstm/kd.json").is_file()  # the workers' wall times came back
    out = sh("dvc", "status", f"{STUDY}/dvc.yaml", "--with-deps")
    assert "up to date" in out.stdout, out.stdout
