"""The `softlabels` stage: the teacher's logits on the train split and on the unlabeled pool (what a student
learns from), and on valid and test (to measure a student's agreement with its teacher).

data/softlabels/<task>/{train,valid,test,pool}.safetensors (kdbench.io.save_logits) hold the logits of each
example: one row for single/pair, one per aspect for multi-aspect, one per word for tagging, in the order of train.jsonl / pool.jsonl, so a student can match them example by
example and word by word. Tagging words cut off by the teacher's max_length have all-zero rows and are
counted in meta.json.
"""

import random

import numpy as np

from kdbench.data.pool import pool_key
from kdbench.data.prepare import load_prepared
from kdbench.io import atomic_path, read_jsonl, save_logits, write_json, write_jsonl
from kdbench.teacher.model import Teacher
from kdbench.trainer import predict, record_length, torch_forward


def length_bounds(train):
    """The inter-quartile range of the train lengths: the paper's filter for length-matched unlabeled text
    (a distill variant with `length_filter` keeps the pool texts inside it)."""
    q1, q3 = np.percentile([record_length(r) for r in train], [25, 75])
    return [float(q1), float(q3)]


def select_pool(pool, splits, kind, pool_max, seed):
    """Pool entries usable for this task: not in any of its splits, at most pool_max of them (a seeded sample,
    kept in pool order)."""
    if kind in ("pair", "qa-tagging"):  # the pool has single texts / passages without questions
        return []
    own = {pool_key(r) for s in splits.values() for r in s}
    pool = [p for p in pool if pool_key(p) not in own]
    if pool_max and len(pool) > pool_max:
        keep = sorted(random.Random(seed).sample(range(len(pool)), pool_max))
        pool = [pool[i] for i in keep]
    return pool


def write_softlabels(teacher_dir, prepared_dir, pool_path, out_dir, cfg, seed=0):
    """Label every split and the selected pool with the teacher; returns the meta dict."""
    teacher = Teacher.load(teacher_dir)
    forward = torch_forward(teacher)
    meta, splits = load_prepared(prepared_dir)
    pool = select_pool(read_jsonl(pool_path), splits, meta["kind"], cfg.pool_max, seed) if cfg.pool else []
    with atomic_path(out_dir, is_dir=True) as tmp:
        info = {"labels": meta["labels"], "aspects": meta["aspects"], "kind": meta["kind"],
                "pool_length_bounds": length_bounds(splits["train"])}
        for name, records in (*splits.items(), ("pool", pool)):
            if not records:
                continue
            logits, _ = predict(teacher.encode, forward, records, cfg.batch_size, desc=f"soft labels: {name}")
            rows = save_logits(tmp / f"{name}.safetensors", logits)
            info[f"{name}_size"] = len(records)
            if teacher.is_tagging:
                info[f"{name}_words_truncated"] = int((np.abs(rows).sum(-1) == 0).sum())
        if pool:
            write_jsonl(tmp / "pool.jsonl", pool)
        write_json(tmp / "meta.json", info)
    return info
