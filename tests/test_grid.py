"""kdbench grid's parts that need no Ray: the working-tree snapshot the workspaces check out, and which stages
the grid may send to a worker (those DVC can restore from its run-cache). The whole grid runs on Ray in
tests/test_pipeline.py (test_grid_on_ray_then_dvc_repro_reruns_nothing)."""

import subprocess

import pytest

from kdbench import config
from kdbench.errors import KdbenchError
from kdbench.grid import SNAPSHOT_REF, pipeline, run_grid, snapshot
from tests.conftest import copy_repo


def _git(*args, cwd):
    return subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True,
                          capture_output=True, text=True).stdout.strip()


def test_snapshot_holds_the_working_tree_and_leaves_index_and_head_alone(tmp_path):
    _git("init", "-q", cwd=tmp_path)
    (tmp_path / ".gitignore").write_text("models/\n")
    (tmp_path / "params.yaml").write_text("a: 1\n")
    _git("add", "-A", cwd=tmp_path)
    _git("commit", "-qm", "one", cwd=tmp_path)
    head = _git("rev-parse", "HEAD", cwd=tmp_path)
    (tmp_path / "params.yaml").write_text("a: 2\n")          # changed, not staged
    (tmp_path / "new.txt").write_text("untracked\n")         # untracked, not ignored
    (tmp_path / "models").mkdir()
    (tmp_path / "models/w.bin").write_text("ignored\n")
    status = _git("status", "--porcelain", cwd=tmp_path)
    commit = snapshot(tmp_path)
    assert _git("rev-parse", SNAPSHOT_REF, cwd=tmp_path) == commit and _git("rev-parse", "HEAD", cwd=tmp_path) == head
    assert _git("status", "--porcelain", cwd=tmp_path) == status  # the index is as it was
    assert _git("show", f"{commit}:params.yaml", cwd=tmp_path) == "a: 2"
    assert _git("show", f"{commit}:new.txt", cwd=tmp_path) == "untracked"
    assert "models" not in _git("ls-tree", "--name-only", commit, cwd=tmp_path).split()
    assert _git("rev-parse", f"{commit}^", cwd=tmp_path) == head


@pytest.fixture(scope="module")
def quick_repo(tmp_path_factory):
    """The quick study's pipeline with one other study and setup beside it, in a copy of the working tree: DVC
    collects every dvc.yaml of a repository, and the 24 of this one take it ~10 s a call, these 4 under 1."""
    root = tmp_path_factory.mktemp("quick")
    copy_repo(root, ("setups/quick", "studies/quick", "studies/seeds", "setups/smoke"))
    _git("init", "-q", cwd=root)
    return root


def test_the_grid_sends_a_study_and_its_setup_but_bench_and_report(quick_repo, monkeypatch):
    monkeypatch.chdir(quick_repo)  # DVC names stages by their path from here
    stages, needs, cacheable = pipeline(quick_repo, "studies/quick/dvc.yaml")
    study, setup = "studies/quick/dvc.yaml:", "setups/quick/dvc.yaml:"
    assert {s for s in stages if not cacheable[s]} == {f"{study}bench@smsa", f"{study}bench@terma", f"{study}report"}
    # a run reads the backbone only through its teacher (which depends on it): no direct edge
    assert needs[f"{study}distill@smsa-bilstm-kd"] == sorted([f"{study}check", *(
        f"{setup}{s}" for s in ("prepare@smsa", "softlabels@smsa", "teacher@smsa", "fasttext@smsa"))])
    assert f"{setup}backbone" in needs[f"{setup}teacher@smsa"]
    assert needs[f"{setup}prepare@smsa"] == ["fetch", f"{setup}check"]  # names checked before a shell sees them
    assert f"{setup}teacher@terma" in needs[f"{setup}softlabels@terma"] and "fetch" in stages
    assert not any(s.startswith(("studies/seeds", "setups/smoke")) for s in stages)  # only what the study needs


def test_grid_resources_must_name_a_stage(quick_repo):
    params = config.load(quick_repo / "studies/quick/params.yaml")
    params.grid["distil"] = config.Resources()
    with pytest.raises(KdbenchError, match="grid.distil: no such stage in the pipeline"):
        run_grid(quick_repo, "studies/quick/dvc.yaml", params)


def test_run_cache_push_leaves_an_entry_whose_outputs_are_not_in_the_cache_yet(tmp_path):
    """DVC writes a stage's run-cache entry before it moves the stage's outputs into the cache; a worker pushing
    the node cache's entries in that moment (another worker's stage) skips that entry, with no error, and pushes
    it, objects first, once the outputs are there."""
    import shutil

    from kdbench.grid import push_run_cache

    ws, remote = tmp_path / "ws", tmp_path / "remote"
    ws.mkdir()
    _git("init", "-q", cwd=ws)
    (ws / "in").write_text("a\n")  # a stage without deps has no run-cache entry
    for args in (["init", "-q"], ["remote", "add", "-d", "r", str(remote)],
                 ["stage", "add", "-q", "-n", "make", "-d", "in", "-o", "out", "mkdir -p out && cp in out/a && echo b > out/b"],
                 ["repro", "-q"]):
        subprocess.run(["dvc", *args], cwd=ws, check=True, capture_output=True)
    cache = ws / ".dvc/cache/files/md5"
    dir_object = next(cache.glob("*/*.dir"))
    held = shutil.move(dir_object, tmp_path / "held.dir")  # the stage's commit, not done yet
    push_run_cache(ws)
    assert not list(remote.rglob("runs/*/*/*"))  # neither the entry ...
    assert not (remote / "files").exists()  # ... nor its objects
    shutil.move(held, dir_object)
    push_run_cache(ws)
    assert len(list(remote.rglob("runs/*/*/*"))) == 1
    assert len([p for p in (remote / "files/md5").rglob("*") if p.is_file()]) == 3  # out/a, out/b and out's listing
