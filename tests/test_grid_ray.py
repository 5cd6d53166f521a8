"""End to end: the smoke study on a local Ray cluster (`kdbench grid`), in a copy of its own, against the serial
run that tests/test_pipeline.py shares (`smoke_repo`). A file of its own, so that pytest-xdist (`--dist
loadfile`) runs it on the other worker, beside the serial build (tests/conftest.py orders the files)."""

import hashlib
import json
import os
import shutil
import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import SETUP, STUDY, copy_repo, runner

pytestmark = pytest.mark.slow


def test_grid_on_ray_then_dvc_repro_reruns_nothing(mirror, request, tmp_path):
    """`kdbench grid` on a local Ray of two workers, exchanging everything through a local-directory DVC
    remote (as workers on other machines would), on the smoke study cut to one task, one student and one variant: every
    stage DVC can restore ran on a worker in a workspace of its own, the driver's `dvc repro` then restores
    all of them and runs only bench and report, and the metrics are the serial run's, byte for byte. It runs
    beside the serial build (`smoke_repo`), which it waits for only to compare bytes."""
    repo = tmp_path / "repo"
    repo.mkdir()
    copy_repo(repo)
    for folder, cut in ((SETUP, {"tasks": ["smsa"]}), (STUDY, {"tasks": ["smsa"], "students": ["bilstm"], "variants": ["kd"]})):
        params = yaml.safe_load((repo / folder / "params.yaml").read_text())
        for key, keep in cut.items():
            params[key] = keep if isinstance(params[key], list) else {k: params[key][k] for k in keep}
        if folder == STUDY:  # the driver's bench: that it runs, not what it measures
            params["bench"].update(sample=8, passes=1, runtimes=["eager"])
        (repo / folder / "params.yaml").write_text(yaml.safe_dump(params, sort_keys=False))
    sh = runner(repo, mirror)
    git = ["git", "-c", "user.name=kdbench", "-c", "user.email=kdbench@example.org"]
    for cmd in (["git", "init", "-q"], ["dvc", "remote", "add", "--local", "-d", "store", str(tmp_path / "remote")],
                ["git", "add", "-A"], [*git, "commit", "-q", "-m", "smoke"]):
        out = sh(*cmd)
        assert out.returncode == 0, out.stderr
    t0 = time.time()
    out = sh("kdbench", "--study", "smoke", "grid", "--workers", "2", "--remote", "--node-cache",
             str(tmp_path / "node-cache"))
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    print(out.stdout, f"grid + driver repro: {time.time() - t0:.0f} s")
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
    files = sorted(p.relative_to(repo) for folder in (f"{SETUP}/reports/metrics", f"{STUDY}/reports/metrics",
                                                      f"{STUDY}/reports/replicas") for p in (repo / folder).rglob("*.json"))
    assert [str(f).split("/metrics/")[-1].split("/replicas/")[-1] for f in files] == [
        "smsa/teacher.json", "smsa/bilstm/kd.json", "smsa/bilstm/kd/seed1.json"]
    _, serial = request.getfixturevalue("smoke_repo")  # the serial build, done by now on the other worker
    for rel in files:  # the serial run's, byte for byte (as its build left them: other tests rerun stages there)
        assert hashlib.sha256((repo / rel).read_bytes()).hexdigest() == serial.metrics[str(rel)], rel
    assert (repo / STUDY / "reports/timing/smsa/bilstm/kd.json").is_file()  # the workers' wall times came back
    out = sh("dvc", "status", f"{STUDY}/dvc.yaml", "--with-deps")
    assert "up to date" in out.stdout, out.stdout
