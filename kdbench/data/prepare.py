"""Prepare a task: read its raw splits, check labels, optionally subsample, and write
out_dir/{train,valid,test}.jsonl + labels.json (format: see kdbench.tasks), and unlabeled.jsonl: the training
texts a `max_train` sample left out, without their labels (in-domain text for the transfer set), and yours.jsonl:
the user's own unlabeled texts (tasks.<task>.unlabeled), test texts dropped."""

import json
import random
from pathlib import Path

from kdbench.data.readers import READERS
from kdbench.data.unlabeled import drop_test_texts, read_unlabeled
from kdbench.errors import DataError, KdbenchError
from kdbench.io import atomic_path, read_jsonl, write_json, write_jsonl
from kdbench.tasks import GOLD_KEY, SPLITS, plain_to_chunks, record_labels, tag_scheme


def _kind(task, paths, data):
    """The task's kind; a custom csv/tsv task is a pair task when its files have a text_b column."""
    if task.format not in ("custom-csv", "custom-tsv"):
        return task.kind
    kinds = {s: "pair" if "text_b" in data[s][0] else "single" for s in SPLITS}
    if len(set(kinds.values())) > 1:
        raise KdbenchError(f"{task.name}: splits disagree on the number of columns: "
                           + ", ".join(f"{paths[s]} is {kinds[s]}" for s in SPLITS))
    return kinds["train"]


def _check_labels(path, kind, records, vocab, aspects, hint=""):
    known = set(vocab)
    for rec in records:
        labels = record_labels(kind, rec)
        if aspects and len(labels) != len(aspects):
            raise DataError(path, rec["_line"], f"{len(labels)} aspect labels, expected {len(aspects)}")
        for i, label in enumerate(labels):
            if label not in known:
                # conll sentences have one token per line, so token i sits i lines below the first.
                line = rec["_line"] + i if kind == "tagging" else rec["_line"]
                shown = ", ".join(vocab) if len(vocab) <= 20 else f"{len(vocab)} labels"
                raise DataError(path, line, f"label {label!r} is not in the label set ({shown}){hint}")


def _sample(records, k, seed):
    """(a seeded random sample of k records, the records left out), both in their original order; all records
    when k is None."""
    if k is None or k >= len(records):
        return records, []
    keep = set(random.Random(seed).sample(range(len(records)), k))
    return [r for i, r in enumerate(records) if i in keep], [r for i, r in enumerate(records) if i not in keep]


def prepare_task(task, raw_root, out_dir, max_train=None, max_valid=None, seed=0, unlabeled_file=None,
                 column="text"):
    """Read, check and write one task, with the user's own unlabeled texts from `unlabeled_file`
    (kdbench.data.unlabeled) when given; returns the labels.json dict. Nothing is written on failure."""
    for name, k in (("max_train", max_train), ("max_valid", max_valid)):
        if k is not None and k < 1:
            raise KdbenchError(f"{task.name}: {name} must be at least 1, got {k}")
    read = READERS[task.format]
    paths = {s: Path(raw_root) / task.files[s] for s in SPLITS}
    data = {}
    for s in SPLITS:
        if not paths[s].is_file():
            raise KdbenchError(f"{paths[s]}: file not found (task {task.name}, split {s})")
        data[s] = read(paths[s], **task.options)
        if not data[s]:
            raise DataError(paths[s], None, "no records")
    kind = _kind(task, paths, data)
    scheme = None
    if kind in ("tagging", "qa-tagging"):
        scheme = tag_scheme(task.scheme, {t for r in data["train"] for t in r["tags"]})
        if scheme == "plain":  # each tag a one-word chunk, so the chunk scorer has chunks to score
            for s in SPLITS:
                for r in data[s]:
                    r["tags"] = plain_to_chunks(r["tags"])
    aspects = list(task.aspects) if kind == "multi-aspect" else None
    labels = list(task.labels)
    if scheme == "plain" and task.custom:
        labels = plain_to_chunks(labels)
    vocab = labels or sorted({x for rec in data["train"] for x in record_labels(kind, rec)})
    hint = "; list every label under tasks.<name>.labels if it is meant to be there" if task.custom else ""
    for s in SPLITS:
        _check_labels(paths[s], kind, data[s], vocab, aspects, hint if not labels else "")

    train, left_out = _sample(data["train"], max_train, seed)
    sampled = {"train": train, "valid": _sample(data["valid"], max_valid, seed)[0], "test": data["test"]}
    # the training texts outside the labelled sample, gold dropped: in-domain text for the transfer set
    unlabeled = [{k: v for k, v in r.items() if k != GOLD_KEY[kind]} for r in left_out]
    meta = {"task": task.name, "kind": kind, "labels": vocab, "aspects": aspects, "scheme": scheme,
            "sizes": {**{s: len(sampled[s]) for s in SPLITS}, "unlabeled": len(unlabeled)},
            "source_sizes": {s: len(data[s]) for s in SPLITS}}
    yours = []
    if unlabeled_file:
        if kind in ("pair", "qa-tagging"):
            raise KdbenchError(f"{unlabeled_file}: a {kind} task's inputs are two texts; unlabeled text is for "
                               "single-text and tagging tasks")
        yours, dropped = drop_test_texts(read_unlabeled(unlabeled_file, kind, column), data["test"])
        meta["yours"] = {"file": Path(unlabeled_file).name, "texts": len(yours), "test_texts_dropped": dropped}
    with atomic_path(out_dir, is_dir=True) as tmp:
        for name, records in (*sampled.items(), ("unlabeled", unlabeled), *((("yours", yours),) if yours else ())):
            write_jsonl(tmp / f"{name}.jsonl", ({k: v for k, v in r.items() if k != "_line"} for r in records))
        write_json(tmp / "labels.json", meta)
    return meta


def load_prepared(out_dir):
    """(labels.json dict, {split: records}) of a prepared task directory."""
    out_dir = Path(out_dir)
    if not (out_dir / "labels.json").is_file():
        raise KdbenchError(f"{out_dir}: not a prepared task (no labels.json); run the prepare stage first")
    meta = json.loads((out_dir / "labels.json").read_text(encoding="utf-8"))
    return meta, {s: read_jsonl(out_dir / f"{s}.jsonl") for s in SPLITS}


def load_yours(out_dir):
    """The user's own unlabeled texts (tasks.<task>.unlabeled), test texts dropped."""
    path = Path(out_dir) / "yours.jsonl"
    return read_jsonl(path) if path.is_file() else []


def load_unlabeled(out_dir):
    """The task's training texts that were not sampled into the labelled split, without their gold."""
    path = Path(out_dir) / "unlabeled.jsonl"
    return read_jsonl(path) if path.is_file() else []
