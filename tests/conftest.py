"""Shared pytest fixtures, and offline mode for the whole suite."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

# Before anything imports huggingface_hub, which reads HF_HUB_OFFLINE once, at import: set later (say with
# monkeypatch in a test), it has no effect. No test may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mirror():
    """The local read-only copy of the public raw data (env KDBENCH_DATA_MIRROR, default ../shared/data).

    A relative KDBENCH_DATA_MIRROR is taken relative to the repository root, as the Makefile sets it."""
    path = (REPO / os.environ.get("KDBENCH_DATA_MIRROR", "../shared/data")).resolve()
    if not (path / "SHA256SUMS").is_file():
        pytest.skip(f"no data mirror at {path}; set KDBENCH_DATA_MIRROR")
    return path


SETUP, STUDY = "setups/smoke", "studies/smoke"  # the pipeline every end-to-end test shares


def copy_repo(dest):
    """The working tree as git sees it (tracked + untracked, not ignored) into dest, links kept as links (a
    study's dvc.yaml is one), without results: no dvc.lock and nothing under a reports/ folder."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split("\n")
    for rel in filter(None, files):
        src = REPO / rel
        if "reports" in Path(rel).parts or Path(rel).name == "dvc.lock" or not (src.is_file() or src.is_symlink()):
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, dest / rel, follow_symlinks=False)


@pytest.fixture(scope="session")
def smoke_repo(tmp_path_factory, mirror):
    """A copy of the repository after the smoke study's `dvc repro`, and a function that runs a command in it
    with the copy's kdbench. Built once per session: every end-to-end test reads or reruns this one run."""
    keep = os.environ.get("KDBENCH_SMOKE_DIR")
    repo = Path(keep) / "repo" if keep else tmp_path_factory.mktemp("repo")
    if repo.exists():
        shutil.rmtree(repo)
    repo.mkdir(parents=True)
    copy_repo(repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    bin_dir = str(Path(sys.executable).parent)
    # PYTHONPATH: the copy's kdbench, not the working tree's that the editable install points at
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"], "KDBENCH_DATA_MIRROR": str(mirror),
           "HF_HUB_OFFLINE": "1", "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(repo)}
    run = lambda *cmd: subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)  # noqa: E731
    run.env = env
    out = run("dvc", "repro", f"{STUDY}/dvc.yaml")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return repo, run
