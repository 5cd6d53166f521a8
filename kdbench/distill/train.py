"""The `distill` stage: train one student on one task under one variant (loss, embeddings, unlabeled data).

The student learns from the teacher's logits on the train split (and, with `unlabeled`, on the pool); `ce` is
the no-KD baseline that sees gold labels only. Early stopping on validation cross-entropy against gold; the
test split is only scored.
"""

import copy
import dataclasses
import json
import math
import random
import time
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import save_file
from tqdm import tqdm

from kdbench import metrics
from kdbench.data.prepare import load_prepared
from kdbench.distill.embeddings import init_embeddings
from kdbench.distill.losses import get_loss
from kdbench.distill.vocab import SubwordVocab, WordVocab
from kdbench.io import atomic_path, read_jsonl, write_json
from kdbench.predict import CONFIG, VOCAB_DIR, WEIGHTS
from kdbench.students import count_parameters, create_student
from kdbench.tasks import decode, gold_labels, record_labels
from kdbench.teacher.softlabels import unpack
from kdbench.teacher.train import length_batches, record_length, seed_everything


def texts_of(records):
    """What a vocabulary is built from: token lists for tagging, strings otherwise."""
    out = []
    for r in records:
        if "tokens" in r:
            out += [r["tokens"]] + ([r["question"]] if "question" in r else [])
        else:
            out += [r["text"]] + ([r["text_b"]] if "text_b" in r else [])
    return out


def _build_vocab(cfg, train, teacher_dir, prefix):
    if cfg.embeddings == "teacher":  # the teacher's tokenizer, pruned to the pieces the task's texts use
        from transformers import AutoTokenizer
        return SubwordVocab.build(AutoTokenizer.from_pretrained(teacher_dir), texts_of(train), prefix=prefix)
    return WordVocab.build(texts_of(train), min_count=cfg.min_count)


class Distiller:
    """Holds what one run needs: the student, its vocabulary, the loss and the label set."""

    def __init__(self, student, vocab, kind, labels, cfg, device):
        self.student, self.vocab, self.kind, self.labels, self.cfg = student, vocab, kind, labels, cfg
        self.device, self.loss = device, get_loss(cfg.loss)
        self.index = {label: i for i, label in enumerate(labels)}

    def logits(self, records):
        ids, mask, word_pos = self.vocab.encode(records, self.kind, self.cfg.max_length)
        wp = None if word_pos is None else word_pos.to(self.device)
        return self.student(ids.to(self.device), mask.to(self.device), wp), word_pos

    def batch_loss(self, batch):
        """Loss over every output row of the batch (examples x aspects or words) that has a target."""
        records = [r for r, _, _ in batch]
        logits, word_pos = self.logits(records)
        n_labels = len(self.labels)
        s_rows, t_rows, targets, keep = [], [], [], []
        for i, (r, teacher, with_gold) in enumerate(batch):
            s = logits[i].reshape(-1, n_labels)
            n = len(r["tokens"]) if "tokens" in r else s.shape[0]
            s = s[:n]
            s_rows.append(s)
            t = torch.zeros_like(s) if teacher is None else torch.as_tensor(teacher[:n], dtype=s.dtype)
            t_rows.append(t.to(self.device))
            tgt = [self.index[x] for x in record_labels(self.kind, r)][:n] if with_gold else [-100] * n
            targets.append(torch.tensor(tgt))
            ok = torch.ones(n, dtype=torch.bool)
            if word_pos is not None:
                ok &= word_pos[i, :n] >= 0  # words cut off by max_length have no student output
            if teacher is not None:
                ok &= torch.as_tensor(np.abs(teacher[:n]).sum(-1) > 0)  # nor, maybe, a teacher output
            keep.append(ok)
        return self.loss(torch.cat(s_rows), torch.cat(t_rows), torch.cat(targets).to(self.device),
                         torch.cat(keep).to(self.device), temperature=self.cfg.temperature, alpha=self.cfg.alpha)

    @torch.no_grad()
    def predict(self, records, batch_size=128):
        """Per-record logits arrays, in input order."""
        self.student.eval()
        out = [None] * len(records)
        order = sorted(range(len(records)), key=lambda i: record_length(records[i]))
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            logits, _ = self.logits([records[i] for i in idx])
            logits = logits.float().cpu().numpy()
            for j, i in enumerate(idx):
                out[i] = logits[j, : len(records[i]["tokens"])] if "tokens" in records[i] else logits[j]
        return out

    def evaluate(self, records):
        logits = self.predict(records)
        gold = [gold_labels(r, self.kind) for r in records]
        flat = np.concatenate([np.reshape(x, (-1, len(self.labels))) for x in logits])
        gold_ids = [self.index[g] for r in records for g in record_labels(self.kind, r)]
        loss = float(torch.nn.functional.cross_entropy(torch.from_numpy(flat), torch.tensor(gold_ids)))
        pred = [decode(x, self.labels, self.kind) for x in logits]
        return dict(loss=loss, **metrics.score(self.kind, gold, pred)), pred


def fit(d, examples, valid, cfg, log=print):
    """Train `d.student` with early stopping on validation loss; keeps the best weights."""
    optimizer = torch.optim.AdamW([p for p in d.student.parameters() if p.requires_grad], lr=cfg.lr)
    rng = random.Random(cfg.seed)
    records = [r for r, _, _ in examples]
    best, best_loss, bad, history = None, math.inf, 0, []
    for epoch in range(1, cfg.epochs + 1):
        d.student.train()
        t0, total, batches = time.time(), 0.0, length_batches(records, cfg.batch_size, rng)
        for idx in tqdm(batches, desc=f"distill epoch {epoch}/{cfg.epochs}", leave=False, disable=None):
            loss = d.batch_loss([examples[i] for i in idx])
            optimizer.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(d.student.parameters(), 1.0)
            optimizer.step()
            total += loss.item()
        scores, _ = d.evaluate(valid)
        history.append(dict(epoch=epoch, train_loss=total / max(1, len(batches)), seconds=round(time.time() - t0, 1),
                            **{f"valid_{k}": v for k, v in scores.items()}))
        log(f"epoch {epoch}: train loss {history[-1]['train_loss']:.4f}, valid loss {scores['loss']:.4f}, "
            f"valid macro F1 {scores['macro_f1']:.4f}")
        if scores["loss"] < best_loss:
            best, best_loss, bad = copy.deepcopy(d.student.state_dict()), scores["loss"], 0
        else:
            bad += 1
            if bad >= cfg.patience:
                break
    d.student.load_state_dict(best)
    return history


def save_student(student, vocab, config, out_dir):
    """Everything `kdbench predict` needs, and nothing else: weights, vocabulary, config (labels included)."""
    with atomic_path(out_dir, is_dir=True) as tmp:
        save_file({k: v.contiguous() for k, v in student.state_dict().items()}, tmp / WEIGHTS)
        vocab.save(tmp / VOCAB_DIR)
        write_json(tmp / CONFIG, config)


def student_config(name, overrides, kind, labels, aspects, vocab, max_length, **extra):
    """The config `kdbench.predict.load_student` rebuilds a student from."""
    return {"student": name, "overrides": overrides, "kind": kind, "labels": labels, "aspects": aspects,
            "max_length": max_length, "vocab_size": len(vocab), "pad_id": vocab.pad_id, **extra}


def _pool(softlabels_dir, cfg):
    """The labeled pool examples this variant uses (none without `unlabeled`)."""
    path = Path(softlabels_dir) / "pool.jsonl"
    if not cfg.unlabeled or not path.exists():
        return [], []
    pool, logits = read_jsonl(path), unpack(Path(softlabels_dir) / "pool.npz")
    if cfg.length_filter:
        lo, hi = json.loads((Path(softlabels_dir) / "meta.json").read_text())["pool_length_bounds"]
        keep = [i for i, r in enumerate(pool) if lo <= record_length(r) <= hi]
        pool, logits = [pool[i] for i in keep], [logits[i] for i in keep]
    return pool, logits


def run_distill(task, student_name, variant, cfg, prepared_dir, softlabels_dir, teacher_dir, fasttext_vec,
                out_dir, metrics_path):
    """Train, score and save one (task, student, variant); writes the model directory and metrics JSON."""
    cfg = dataclasses.replace(cfg, lr=cfg.lr_by_student.get(student_name, cfg.lr))
    seed_everything(cfg.seed)
    meta, splits = load_prepared(prepared_dir)
    kind, labels = meta["kind"], meta["labels"]
    teacher_meta = json.loads((Path(teacher_dir) / "kdbench_teacher.json").read_text())
    pool, pool_logits = _pool(softlabels_dir, cfg)
    train_logits = unpack(Path(softlabels_dir) / "train.npz") if cfg.uses_teacher else None
    examples = list(zip(splits["train"], train_logits or [None] * len(splits["train"]),
                        [True] * len(splits["train"])))
    examples += list(zip(pool, pool_logits, [False] * len(pool)))

    vocab = _build_vocab(cfg, splits["train"] + pool, teacher_dir, teacher_meta.get("prefix", ""))
    student = create_student(student_name, len(vocab), kind, len(labels), len(meta["aspects"] or []),
                             pad_id=vocab.pad_id, **cfg.student.get(student_name, {}))
    table = student.get_input_embeddings()
    weights, emb_info = init_embeddings(cfg.embeddings, vocab, table.embedding_dim, vec_path=fasttext_vec or None,
                                        teacher_dir=teacher_dir, seed=cfg.seed)
    table.weight.data.copy_(weights)
    d = Distiller(student, vocab, kind, labels, cfg, "cpu")

    t0 = time.time()
    history = fit(d, examples, splits["valid"], cfg)
    seconds = time.time() - t0
    valid, _ = d.evaluate(splits["valid"])
    test, test_pred = d.evaluate(splits["test"])
    teacher_test = unpack(Path(softlabels_dir) / "test.npz")  # rows per example: one for single/pair
    teacher_pred = [decode(x[0] if kind in ("single", "pair") else x, labels, kind) for x in teacher_test]
    flat = lambda preds: [x for p in preds for x in ([p] if isinstance(p, str) else p)]  # noqa: E731
    agreement = float(np.mean([a == b for a, b in zip(flat(test_pred), flat(teacher_pred))]))

    config = student_config(student_name, cfg.student.get(student_name, {}), kind, labels, meta["aspects"], vocab,
                            cfg.max_length, variant=variant, distill=dataclasses.asdict(cfg), embeddings=emb_info)
    save_student(student, vocab, config, out_dir)
    report = {
        "task": task, "student": student_name, "variant": variant, "kind": kind,
        "loss": cfg.loss, "embeddings": cfg.embeddings, "unlabeled": cfg.unlabeled,
        "train_size": len(splits["train"]), "pool_size": len(pool),
        "valid": valid, "test": test, "test_agreement_with_teacher": agreement,
        **count_parameters(student), "file_bytes": (Path(out_dir) / WEIGHTS).stat().st_size,
        "vocab_size": len(vocab), "epochs_run": len(history), "train_seconds": round(seconds, 1),
        "history": history,
    }
    write_json(metrics_path, report)
    return report

