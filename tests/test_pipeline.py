"""End to end: `dvc repro` of the smoke profile in a temporary copy of the repository."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tests.conftest import REPO

pytestmark = pytest.mark.slow


def _copy_repo(dest):
    """The working tree as git sees it (tracked + untracked, not ignored), without results."""
    files = subprocess.run(["git", "ls-files", "-co", "--exclude-standard"], cwd=REPO, check=True,
                           capture_output=True, text=True).stdout.split("\n")
    for rel in filter(None, files):
        if rel.startswith(("reports/", "tests/")) or rel == "dvc.lock" or not (REPO / rel).is_file():
            continue
        (dest / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / rel, dest / rel)


@pytest.fixture(scope="module")
def smoke_repo(tmp_path_factory, mirror):
    repo = tmp_path_factory.mktemp("repo")
    _copy_repo(repo)
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    bin_dir = str(Path(sys.executable).parent)
    env = {**os.environ, "PATH": bin_dir + os.pathsep + os.environ["PATH"], "KDBENCH_DATA_MIRROR": str(mirror),
           "HF_HUB_OFFLINE": "1"}
    run = lambda *cmd: subprocess.run(cmd, cwd=repo, env=env, capture_output=True, text=True)  # noqa: E731
    out = run("kdbench", "profile", "smoke")
    assert out.returncode == 0, out.stderr
    out = run("dvc", "repro")
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-3000:]
    return repo, run


def test_repro_writes_every_artifact(smoke_repo):
    repo, _ = smoke_repo
    for task, n_labels in (("smsa", 3), ("nergrit", 7)):
        meta = json.loads((repo / f"data/prepared/{task}/labels.json").read_text())
        assert len(meta["labels"]) == n_labels
        assert meta["sizes"]["train"] == {"smsa": 48, "nergrit": 32}[task]
        report = json.loads((repo / f"reports/metrics/{task}/teacher.json").read_text())
        for split in ("valid", "test"):
            assert 0.0 <= report[split]["macro_f1"] <= 1.0
        assert report["reference"]["name"] == {"smsa": "tfidf-logreg", "nergrit": "most-frequent-tag"}[task]
        assert report["beats_reference"] == (report["test"]["macro_f1"] > report["reference"]["test_macro_f1"])
        assert (repo / f"models/{task}/teacher/model.safetensors").is_file()
        assert (repo / f"models/{task}/teacher/head.safetensors").is_file()


def test_softlabels_align_with_train_and_pool(smoke_repo):
    repo, _ = smoke_repo
    from kdbench.io import read_jsonl
    from kdbench.teacher.softlabels import unpack
    for task in ("smsa", "nergrit"):
        train = read_jsonl(repo / f"data/prepared/{task}/train.jsonl")
        pool = read_jsonl(repo / f"data/softlabels/{task}/pool.jsonl")
        meta = json.loads((repo / f"data/softlabels/{task}/meta.json").read_text())
        test = read_jsonl(repo / f"data/prepared/{task}/test.jsonl")
        for records, name in ((train, "train"), (test, "test"), (pool, "pool")):
            logits = unpack(repo / f"data/softlabels/{task}/{name}.npz")
            assert len(logits) == len(records) == meta[f"{name}_size"]
            rows = [len(r["tokens"]) if "tokens" in r else 1 for r in records]  # word by word for tagging
            assert [len(x) for x in logits] == rows
            assert all(x.shape[1] == len(meta["labels"]) and np.isfinite(x).all() for x in logits)
        assert 0 < len(pool) <= 40
        lo, hi = meta["pool_length_bounds"]  # the train inter-quartile range, for the length filter
        assert lo <= hi
        own = {" ".join(r["tokens"]) if "tokens" in r else r["text"] for r in train}
        assert not own & {" ".join(p["tokens"]) if "tokens" in p else p["text"] for p in pool}


def test_second_repro_reruns_nothing(smoke_repo):
    _, run = smoke_repo
    out = run("dvc", "status")
    assert out.returncode == 0 and "up to date" in out.stdout, out.stdout


def test_same_params_same_metrics(smoke_repo):
    repo, run = smoke_repo
    before = json.loads((repo / "reports/metrics/smsa/teacher.json").read_text())
    out = run("dvc", "repro", "--force", "--single-item", "teacher@smsa")
    assert out.returncode == 0, out.stderr[-2000:]
    after = json.loads((repo / "reports/metrics/smsa/teacher.json").read_text())
    for key in ("valid", "test", "reference"):
        assert after[key] == before[key]


def test_every_student_and_variant_has_metrics(smoke_repo):
    repo, _ = smoke_repo
    for task in ("smsa", "nergrit"):
        for student in ("bilstm", "bert-tiny"):
            for variant in ("nokd", "kd"):
                m = json.loads((repo / f"reports/metrics/{task}/{student}/{variant}.json").read_text())
                assert 0.0 <= m["test"]["macro_f1"] <= 1.0 and 0.0 <= m["test_agreement_with_teacher"] <= 1.0
                assert m["params"] > m["params_without_embeddings"] > 0
                assert m["file_bytes"] == (repo / f"models/{task}/{student}/{variant}/model.safetensors").stat().st_size
                assert m["loss"] == {"nokd": "ce", "kd": "kl+ce"}[variant]
                assert (m["pool_size"] > 0) == (variant == "kd")


def test_predict_cli_on_a_trained_student(smoke_repo):
    repo, run = smoke_repo
    (repo / "in.txt").write_text("makanannya enak sekali\npelayanan buruk\n")
    out = run("kdbench", "predict", "--task", "smsa", "--student", "bilstm", "--variant", "kd", "--input", "in.txt")
    assert out.returncode == 0, out.stderr
    assert [line in ("negative", "neutral", "positive") for line in out.stdout.split()] == [True, True]
    (repo / "tags.txt").write_text("Joko Widodo ke Bandung\n")
    out = run("kdbench", "predict", "--task", "nergrit", "--student", "bert-tiny", "--input", "tags.txt")
    assert out.returncode == 0, out.stderr
    assert [w.split("/")[0] for w in out.stdout.split()] == ["Joko", "Widodo", "ke", "Bandung"]
    (repo / "empty.txt").write_text("\n")
    out = run("kdbench", "predict", "--task", "smsa", "--student", "bilstm", "--input", "empty.txt")
    assert out.returncode == 2 and "line 1: empty input" in out.stderr
