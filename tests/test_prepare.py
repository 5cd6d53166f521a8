"""prepare_task: output files, labels.json, seeded sampling, and atomicity on failure."""

import json

import pytest

import kdbench.data.prepare as prepare_mod
from kdbench.data.prepare import load_prepared, load_unlabeled, prepare_task
from kdbench.data.readers import READERS
from kdbench.errors import DataError
from kdbench.tasks import SPLITS, custom_task, get_task
from tests.conftest import REPO


def leftovers(parent):
    """Anything in `parent` besides what a test put there: atomic_path's temp dirs start with a dot."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_prepare_pair_task(mirror, tmp_path):
    out = tmp_path / "prepared" / "wrete"
    meta = prepare_task(get_task("wrete"), mirror, out)
    names = sorted(p.name for p in out.iterdir())
    assert names == ["labels.json", "test.jsonl", "train.jsonl", "unlabeled.jsonl", "valid.jsonl"]
    assert json.loads((out / "labels.json").read_text()) == meta == {
        "task": "wrete", "kind": "pair", "labels": ["Entail_or_Paraphrase", "NotEntail"], "aspects": None,
        "scheme": None, "sizes": {"train": 300, "valid": 50, "test": 100, "unlabeled": 0},
        "source_sizes": {"train": 300, "valid": 50, "test": 100},
    }
    loaded_meta, data = load_prepared(out)
    assert loaded_meta == meta
    assert set(data["train"][0]) == {"text", "text_b", "label"}  # no _line
    assert data["test"][-1]["label"] == "NotEntail"
    assert leftovers(tmp_path / "prepared") == []


def test_prepare_multi_aspect(mirror, tmp_path):
    prepare_task(get_task("casa"), mirror, tmp_path / "casa")
    meta, data = load_prepared(tmp_path / "casa")
    assert meta["kind"] == "multi-aspect"
    assert meta["aspects"] == ["fuel", "machine", "others", "part", "price", "service"]
    assert meta["labels"] == ["negative", "neutral", "positive"]
    assert all(len(r["labels"]) == 6 for r in data["valid"])


def test_seeded_sampling(mirror, tmp_path):
    task = get_task("emot")
    metas = [prepare_task(task, mirror, tmp_path / name, max_train=100, max_valid=30, seed=seed)
             for name, seed in (("a", 1), ("b", 1), ("c", 2))]
    assert metas[0]["sizes"] == {"train": 100, "valid": 30, "test": 440, "unlabeled": 3421}
    assert metas[0]["source_sizes"] == {"train": 3521, "valid": 440, "test": 440}
    a, b, c = (load_prepared(tmp_path / name)[1] for name in "abc")
    assert a == b
    assert a["train"] != c["train"]
    # The sample keeps the source order.
    source = [{k: v for k, v in r.items() if k != "_line"}
              for r in READERS[task.format](mirror / task.files["train"])]
    positions = [source.index(r) for r in a["train"]]
    assert positions == sorted(positions)
    # the rest of train becomes unlabeled text: the same texts without their labels, none of the sample's
    unlabeled = load_unlabeled(tmp_path / "a")
    assert len(unlabeled) == 3421 and all(set(r) == {"text"} for r in unlabeled)
    assert {r["text"] for r in unlabeled} | {r["text"] for r in a["train"]} == {r["text"] for r in source}
    assert len(unlabeled) + len(a["train"]) == len(source)


def test_max_larger_than_split_keeps_everything(mirror, tmp_path):
    meta = prepare_task(get_task("wrete"), mirror, tmp_path / "w", max_train=10_000, max_valid=10)
    assert meta["sizes"] == {"train": 300, "valid": 10, "test": 100, "unlabeled": 0}


def custom_raw(root, name, fmt, rows_by_split, header):
    task = custom_task(name, fmt)
    for split in SPLITS:
        path = root / task.files[split]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + rows_by_split[split], encoding="utf-8")
    return task


def test_custom_pair_and_conll_tasks(tmp_path):
    pair = custom_raw(tmp_path / "raw", "nli", "csv",
                      {"train": "a,b,yes\nc,d,no\n", "valid": "e,f,no\n", "test": "g,h,yes\n"},
                      "text,text_b,label\n")
    meta = prepare_task(pair, tmp_path / "raw", tmp_path / "nli")
    assert (meta["kind"], meta["labels"]) == ("pair", ["no", "yes"])
    conll = custom_raw(tmp_path / "raw", "ner", "conll",
                       {"train": "A\tO\nB\tB-X\n", "valid": "C\tO\n", "test": "D\tB-X\n\n"}, "")
    meta = prepare_task(conll, tmp_path / "raw", tmp_path / "ner")
    assert (meta["kind"], meta["labels"], meta["sizes"]) == ("tagging", ["B-X", "O"], {**{s: 1 for s in SPLITS}, "unlabeled": 0})


def test_unknown_test_tag_fails_and_leaves_nothing(tmp_path):
    task = custom_raw(tmp_path / "raw", "ner", "conll",
                      {"train": "A\tO\n", "valid": "B\tO\n", "test": "C\tO\n\nD\tO\nE\tB-NEW\n"}, "")
    out = tmp_path / "prepared" / "ner"
    with pytest.raises(DataError, match=r"test\.conll:4: label 'B-NEW'"):
        prepare_task(task, tmp_path / "raw", out)
    assert not out.exists()


def test_write_failure_leaves_no_out_dir_and_no_temp_dir(mirror, tmp_path, monkeypatch):
    def fail(*args):
        raise OSError("disk full")

    # labels.json is written last, after the three jsonl files: fail there.
    monkeypatch.setattr(prepare_mod, "write_json", fail)
    parent = tmp_path / "prepared"
    with pytest.raises(OSError, match="disk full"):
        prepare_task(get_task("wrete"), mirror, parent / "wrete")
    assert list(parent.iterdir()) == []


def test_a_killed_writer_leaves_nothing_the_next_write_keeps(tmp_path):
    """SIGKILL skips `finally`: a writer killed inside atomic_path leaves its temporary directory. The next
    write of the same artifact removes it (its process is gone), and DVC never hashes it (.dvcignore)."""
    import signal
    import subprocess
    import sys

    from kdbench.io import atomic_path, write_json
    dest = tmp_path / "models" / "kd"
    child = subprocess.Popen([sys.executable, "-c", (
        "import sys, time; from kdbench.io import atomic_path\n"
        f"with atomic_path({str(dest)!r}, is_dir=True) as tmp:\n"
        "    (tmp / 'half.bin').write_bytes(b'x' * 100)\n"
        "    print('writing', flush=True); time.sleep(60)\n")], stdout=subprocess.PIPE, text=True)
    assert child.stdout.readline().strip() == "writing"
    child.send_signal(signal.SIGKILL)
    child.wait()
    leftover = [p.name for p in dest.parent.iterdir()]
    assert not dest.exists() and len(leftover) == 1 and leftover[0].startswith(".kd.tmp-")
    assert ".*.tmp-*" in (REPO / ".dvcignore").read_text()
    with atomic_path(dest, is_dir=True) as tmp:
        write_json(tmp / "ok.json", {"ok": True})
    assert [p.name for p in dest.parent.iterdir()] == ["kd"] and (dest / "ok.json").is_file()
