"""fetch: verified copies from a mirror, hash mismatch, missing files, unreachable upstream (no network)."""

import hashlib
import shutil
import urllib.error
from pathlib import Path

import pytest

import kdbench.data.fetch as fetch_mod
from kdbench.data.fetch import fetch, read_manifest, upstream_url
from kdbench.errors import KdbenchError
from kdbench.tasks import SPLITS, get_task, list_tasks

MANIFEST = Path(__file__).resolve().parents[1] / "data" / "SHA256SUMS"
SMSA_TRAIN = "indonlu/smsa_doc-sentiment-prosa/train_preprocess.tsv"


def test_manifest_lists_exactly_the_task_files():
    rels = [rel for _, rel in read_manifest(MANIFEST)]
    assert len(rels) == 42
    assert set(rels) == {get_task(t).files[s] for t in list_tasks() for s in SPLITS}


def test_fetch_from_mirror(mirror, tmp_path):
    out = fetch(MANIFEST, tmp_path / "raw", mirror=mirror)
    entries = read_manifest(MANIFEST)
    files = sorted(str(p.relative_to(out)) for p in out.rglob("*") if p.is_file())
    assert files == sorted(rel for _, rel in entries)
    for sha, rel in entries:
        assert hashlib.sha256((out / rel).read_bytes()).hexdigest() == sha
    assert [p.name for p in tmp_path.iterdir()] == ["raw"]


@pytest.fixture
def mirror_copy(mirror, tmp_path):
    """A writable copy of just the manifest's files."""
    copy = tmp_path / "mirror"
    for _, rel in read_manifest(MANIFEST):
        (copy / rel).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(mirror / rel, copy / rel)
    return copy


def test_changed_byte_is_a_hash_mismatch(mirror_copy, tmp_path):
    path = mirror_copy / SMSA_TRAIN
    data = bytearray(path.read_bytes())
    data[1000] ^= 1
    path.write_bytes(bytes(data))
    with pytest.raises(KdbenchError, match=f"^{SMSA_TRAIN}: sha256 mismatch \\(expected [0-9a-f]{{64}}, got"):
        fetch(MANIFEST, tmp_path / "out" / "raw", mirror=mirror_copy)
    assert list((tmp_path / "out").iterdir()) == []


def test_missing_file(mirror_copy, tmp_path):
    (mirror_copy / "indolem/pos/dev.01.tsv").unlink()
    with pytest.raises(KdbenchError, match="^indolem/pos/dev.01.tsv: missing from the mirror"):
        fetch(MANIFEST, tmp_path / "raw", mirror=mirror_copy)
    assert not (tmp_path / "raw").exists()


def test_unreachable_upstream_names_the_file(tmp_path, monkeypatch):
    def offline(url, timeout):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(fetch_mod.urllib.request, "urlopen", offline)
    with pytest.raises(KdbenchError, match="^indolem/pos/dev.01.tsv: cannot download https://raw"):
        fetch(MANIFEST, tmp_path / "raw")
    assert not (tmp_path / "raw").exists()


def test_upstream_urls():
    raw = "https://raw.githubusercontent.com"
    assert (upstream_url(SMSA_TRAIN, "abc")
            == f"{raw}/IndoNLP/indonlu/abc/dataset/smsa_doc-sentiment-prosa/train_preprocess.tsv")
    assert (upstream_url("indolem/sentiment/dev0.csv", indolem_commit="c")
            == f"{raw}/indolem/indolem/c/sentiment/data/dev0.csv")
    assert (upstream_url("indolem/pos/test.01.tsv", indolem_commit="c")
            == f"{raw}/indolem/indolem/c/pos_tagging/data/test.01.tsv")
    with pytest.raises(KdbenchError, match="no upstream source"):
        upstream_url("other/file.txt")


def test_bad_manifest_line(tmp_path):
    manifest = tmp_path / "SHA256SUMS"
    manifest.write_text(f"{'0' * 64}  ./ok.txt\n{'0' * 64}  ../escape.txt\n")
    with pytest.raises(KdbenchError, match=r"SHA256SUMS:2: expected"):
        read_manifest(manifest)
