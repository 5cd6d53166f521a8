"""The `softlabels` stage: the teacher's logits on the train split and on the transfer set (what a student
learns from), and on valid and test (to measure a student's agreement with its teacher).

The transfer set is text the student may learn from without gold labels, labelled by the teacher:
  own      the task's training texts left out of the labelled sample (their gold labels dropped)
  pool     texts of the other datasets of the task group (not for pair / QA tasks, whose inputs differ)
  augment  `augment` copies of every labelled training example, masked, POS-replaced and n-gram-cut
           (kdbench.data.augment, after Tang et al. 2019)
own and pool together are capped at `transfer_max` (own first, then a seeded sample of the pool). Each
record carries its `source`, so a distill variant picks the parts it learns from.

data/softlabels/<task>/{train,valid,test,transfer}.safetensors (kdbench.io.save_logits) hold the logits of each
example: one row for single/pair, one per aspect for multi-aspect, one per word for tagging, in the order
of train.jsonl / transfer.jsonl, so a student can match them example by example and word by word. Tagging
words cut off by the teacher's max_length have all-zero rows and are counted in meta.json.
"""

import random
from pathlib import Path

import numpy as np

from kdbench.data.augment import augment, read_lexicon
from kdbench.data.pool import LEXICON
from kdbench.data.prepare import load_prepared, load_unlabeled, load_yours
from kdbench.io import atomic_path, read_jsonl, save_logits, write_json, write_jsonl
from kdbench.tasks import TRANSFER_SOURCES, text_key
from kdbench.teacher.logits import LogitsTeacher, check_extra, require
from kdbench.teacher.model import Teacher
from kdbench.trainer import predict, record_length, torch_forward


def length_bounds(train):
    """The inter-quartile range of the train lengths: the paper's filter for length-matched unlabeled text
    (a distill variant with `length_filter` keeps the pool texts inside it)."""
    q1, q3 = np.percentile([record_length(r) for r in train], [25, 75])
    return [float(q1), float(q3)]


def select_pool(pool, exclude, kind, limit, seed):
    """Pool entries usable for this task: not among `exclude` (its own texts), at most `limit` of them (a seeded
    sample, kept in pool order; no limit when None)."""
    if kind in ("pair", "qa-tagging"):  # the pool has single texts / passages without questions
        return []
    own = {text_key(r) for r in exclude}
    pool = [p for p in pool if text_key(p) not in own]
    if limit is not None and len(pool) > limit:
        keep = sorted(random.Random(seed).sample(range(len(pool)), limit))
        pool = [pool[i] for i in keep]
    return pool


def transfer_set(cfg, splits, unlabeled, pool, kind, unk, lexicon, seed, yours=()):
    """The transfer set's records, each with its `source` (own, pool or augment). Under `transfer_max` the
    task's own left-out training texts come first, then the user's own texts (`yours`, counted as pool),
    then the public pool in what room is left."""
    own = unlabeled if cfg.own_train else []
    if cfg.transfer_max and len(own) > cfg.transfer_max:
        keep = sorted(random.Random(seed).sample(range(len(own)), cfg.transfer_max))
        own = [own[i] for i in keep]
    room = cfg.transfer_max - len(own) if cfg.transfer_max else None
    exclude = [r for s in splits.values() for r in s] + unlabeled
    yours = [{**r, "yours": True} for r in select_pool(list(yours), exclude, kind, room, seed)]
    room = None if room is None else room - len(yours)
    pool = yours + (select_pool(pool, exclude + yours, kind, room, seed) if cfg.pool else [])
    augmented = augment(splits["train"], cfg.augment, seed, unk, lexicon, cfg.p_mask, cfg.p_pos, cfg.p_ngram,
                        (cfg.ngram_min, cfg.ngram_max)) if cfg.augment else []
    return ([{**r, "source": "own"} for r in own] + [{**r, "source": "pool"} for r in pool]
            + [{**r, "source": "augment"} for r in augmented])


def inputs(prepared_dir, pool_dir, group, cfg, seed, public_pool, unk):
    """(task meta, {split: records}, the transfer set, the user's own texts): everything the teacher labels."""
    meta, splits = load_prepared(prepared_dir)
    pool = read_jsonl(Path(pool_dir) / f"{group}.jsonl") if cfg.pool and public_pool else []
    yours = load_yours(prepared_dir)
    transfer = transfer_set(cfg, splits, load_unlabeled(prepared_dir), pool, meta["kind"], unk,
                            read_lexicon(Path(pool_dir) / LEXICON), seed, yours)
    return meta, splits, transfer, yours


def write_softlabels(teacher_dir, prepared_dir, pool_dir, group, out_dir, cfg, seed=0, public_pool=True):
    """Label every split and the transfer set with the teacher; returns the meta dict and the labelling
    throughput (sentences per second of teacher forward passes, kept out of the stage's output)."""
    teacher = Teacher.load(teacher_dir)
    forward = torch_forward(teacher)
    unk = teacher.tokenizer.unk_token if teacher.tokenizer is not None else teacher.unk_token
    meta, splits, transfer, yours = inputs(prepared_dir, pool_dir, group, cfg, seed, public_pool, unk)
    if isinstance(teacher, LogitsTeacher):  # a logits file: it holds exactly these inputs
        require(teacher.index, transfer, "transfer texts", teacher.source)
        check_extra(teacher, [r for s in splits.values() for r in s] + transfer)
    labelled = seconds = 0
    with atomic_path(out_dir, is_dir=True) as tmp:
        info = {"labels": meta["labels"], "aspects": meta["aspects"], "kind": meta["kind"],
                "pool_length_bounds": length_bounds(splits["train"])}
        for name, records in (*splits.items(), ("transfer", transfer)):
            if not records:
                continue
            logits, spent = predict(teacher.encode, forward, records, cfg.batch_size, desc=f"soft labels: {name}")
            labelled, seconds = labelled + len(records), seconds + spent
            rows = save_logits(tmp / f"{name}.safetensors", logits)
            info[f"{name}_size"] = len(records)
            if teacher.is_tagging:
                info[f"{name}_words_truncated"] = int((np.abs(rows).sum(-1) == 0).sum())
        if transfer:
            info["transfer_sources"] = {s: sum(r["source"] == s for r in transfer) for s in TRANSFER_SOURCES}
            if yours:  # how many of the user's own texts made it (the task's own texts come first under the cap)
                info["transfer_yours"] = {"kept": sum(bool(r.get("yours")) for r in transfer), "of": len(yours)}
            write_jsonl(tmp / "transfer.jsonl", transfer)
        write_json(tmp / "meta.json", info)
    return info, labelled / seconds if seconds else None
