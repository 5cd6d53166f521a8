"""The `distill` stage: train one student on one task under one variant (loss, embeddings, transfer set).

The student learns from the teacher's logits on the labelled train split and on the parts of the transfer
set the variant names (`transfer`: own, pool, augment; kdbench.teacher.softlabels); `ce` is the no-KD
baseline that sees gold labels only. Training runs `epochs` (raised to reach `min_steps`), stopping early on the
KD loss against the teacher's validation logits (`stop_on: teacher`), on validation cross-entropy against
gold (`gold`) or on validation macro F1 (`f1`, and for no-KD unless told `gold`); the test split is only scored.
"""

import dataclasses
import json
import math
import random
from pathlib import Path

import numpy as np
import torch

from kdbench import stats
from kdbench.config import recorded
from kdbench.data.prepare import load_prepared
from kdbench.distill.embeddings import EMBEDDINGS, init_embeddings
from kdbench.distill.layers import LayerMatch
from kdbench.distill.losses import LOSSES
from kdbench.distill.slice import copy_teacher, teacher_shape
from kdbench.encoding import load_tokenizer
from kdbench.errors import KdbenchError
from kdbench.io import load_logits, read_jsonl, write_json
from kdbench.students import STUDENTS, count_parameters, create_student
from kdbench.students.artifact import WEIGHTS, save_student, student_config
from kdbench.students.vocab import SubwordVocab, WordVocab
from kdbench.tasks import decode, gold_labels, record_labels, texts_of
from kdbench.trainer import (
    MAXIMISED,
    Diverged,
    budget,
    evaluate,
    fit,
    improves,
    predict,
    record_length,
    seed_everything,
    torch_forward,
)

EVAL_BATCH = 128
# Linear warm-up over the first 10% of steps, then linear decay to 0, as BERT fine-tuning does: with a
# constant rate, BERT-Mini diverged on the transfer set at the 1e-3 its short learning-rate sweep chose.
WARMUP = 0.1

# DistillConfig.stop_on -> the validation scores it watches (Distiller.watched; config.py says why f1 waits on loss)
STOP_ON = {"teacher": ("teacher_loss",), "gold": ("loss",), "f1": ("macro_f1", "loss")}


def build_vocab(cfg, train, teacher_dir, prefix, subword=False):
    """The student's vocabulary: the teacher's sub-word pieces that the texts use, for a student cut from the
    teacher (`subword`), an embedding init that needs them (`teacher`) and a layer-wise loss (positions must
    align), else whitespace words seen at least min_count times."""
    if subword or EMBEDDINGS.meta(cfg.embeddings, "vocab") == "subword" or LOSSES.meta(cfg.loss, "layers"):
        return SubwordVocab.build(load_tokenizer(teacher_dir), texts_of(train), prefix=prefix)
    return WordVocab.build(texts_of(train), min_count=cfg.min_count)


class Distiller:
    """One run's student, vocabulary, loss and label set: encodes batches and computes their loss. `layers`:
    a kdbench.distill.layers.LayerMatch for a layer-wise loss, whose term is added to the logit loss."""

    def __init__(self, student, vocab, kind, labels, cfg, device="cpu", layers=None):
        self.student, self.vocab, self.kind, self.labels, self.cfg = student.to(device), vocab, kind, labels, cfg
        self.device, self.loss = device, LOSSES.get(cfg.loss)
        self.layers = None if layers is None else layers.to(device)
        # student id -> teacher id; every piece of a training text is kept, so this gives back the teacher's ids
        self.to_teacher = None if layers is None else torch.as_tensor(vocab.kept_ids, device=device)
        self.index = {label: i for i, label in enumerate(labels)}

    def encode(self, records):
        return self.vocab.encode(records, self.kind, self.cfg.max_length)

    def batch_loss(self, batch):
        """Loss over every output row of the batch (examples x aspects or words) that has a target. `batch`:
        (record, teacher logits or None, whether the record's gold label may be used) triples."""
        records = [r for r, _, _ in batch]
        input_ids, attention_mask, word_pos = (None if x is None else x.to(self.device) for x in self.encode(records))
        extra = 0.0
        if self.layers is None:
            logits = self.student(input_ids, attention_mask, word_pos).cpu()
        else:
            logits, extra = self.layers(self.student, input_ids, attention_mask, word_pos, self.to_teacher[input_ids])
            logits, extra = logits.cpu(), extra.cpu()
        word_pos = None if word_pos is None else word_pos.cpu()
        n_labels = len(self.labels)
        s_rows, t_rows, targets, keep = [], [], [], []
        for i, (r, teacher, with_gold) in enumerate(batch):
            s = logits[i].reshape(-1, n_labels)
            n = len(r["tokens"]) if "tokens" in r else s.shape[0]
            s = s[:n]
            s_rows.append(s)
            t_rows.append(torch.zeros_like(s) if teacher is None else torch.as_tensor(teacher[:n], dtype=s.dtype))
            tgt = [self.index[x] for x in record_labels(self.kind, r)][:n] if with_gold else [-100] * n
            targets.append(torch.tensor(tgt))
            ok = torch.ones(n, dtype=torch.bool)
            if word_pos is not None:
                ok &= word_pos[i, :n] >= 0  # words cut off by max_length have no student output
            if teacher is not None:
                ok &= torch.as_tensor(np.abs(teacher[:n]).sum(-1) > 0)  # nor, maybe, a teacher output
            keep.append(ok)
        return self.loss(torch.cat(s_rows), torch.cat(t_rows), torch.cat(targets), torch.cat(keep),
                         temperature=self.cfg.temperature, alpha=self.cfg.alpha) + extra

    def evaluate(self, records, teacher=None):
        """(scores, predicted labels) on prepared records; with the teacher's logits of those records, the
        scores add `teacher_loss`: the run's loss against them, without gold (what `stop_on: teacher` watches)."""
        logits, _ = predict(self.encode, torch_forward(self.student, self.device), records, EVAL_BATCH)
        scores, pred = evaluate(logits, records, self.kind, self.labels)
        if teacher is not None:
            n_labels = len(self.labels)
            s = torch.from_numpy(np.concatenate([np.reshape(x, (-1, n_labels)) for x in logits]))
            t = torch.from_numpy(np.concatenate([np.reshape(x, (-1, n_labels))[: len(np.reshape(y, (-1, n_labels)))]
                                                 for x, y in zip(teacher, logits)])).to(s.dtype)
            keep = (t.abs().sum(-1) > 0) & (s.abs().sum(-1) > 0)  # words cut off by either max_length
            no_gold = torch.full((len(s),), -100)
            scores["teacher_loss"] = float(self.loss(s, t, no_gold, keep, temperature=self.cfg.temperature,
                                                     alpha=self.cfg.alpha))
        return scores, pred

    @property
    def watched(self):
        """The validation scores of `stop_on`: the first picks the epoch kept and the lr sweep's rate (minimised;
        macro F1 maximised); any of them improving keeps training going (kdbench.trainer.fit's `also`)."""
        return STOP_ON[self.cfg.stop_on]

    @property
    def monitor(self):
        return self.watched[0]

    def distill(self, examples, valid, valid_teacher=None, log=print, run="distill", hint="lower the learning rate"):
        """Train with early stopping on `monitor` (kdbench.trainer.fit); returns the history. valid_teacher:
        the teacher's logits of `valid`. A NaN or infinite loss raises kdbench.trainer.Diverged naming `run`,
        with `hint`."""
        from transformers import get_linear_schedule_with_warmup

        cfg = self.cfg
        trained = [*self.student.parameters(), *(self.layers.parameters() if self.layers is not None else [])]
        optimizer = torch.optim.AdamW([p for p in trained if p.requires_grad], lr=cfg.lr)
        epochs = budget(len(examples), cfg.batch_size, cfg.epochs, cfg.min_steps)
        steps = epochs * math.ceil(len(examples) / cfg.batch_size)
        scheduler = get_linear_schedule_with_warmup(optimizer, int(WARMUP * steps), steps)
        teacher = valid_teacher if self.monitor == "teacher_loss" else None
        if self.monitor == "teacher_loss" and teacher is None:
            raise ValueError("stop_on: teacher needs the teacher's logits of the validation records")
        return fit(self.student, [record_length(r) for r, _, _ in examples],
                   lambda idx: self.batch_loss([examples[i] for i in idx]), lambda: self.evaluate(valid, teacher)[0],
                   optimizer, epochs=epochs, patience=cfg.patience, batch_size=cfg.batch_size, seed=cfg.seed,
                   scheduler=scheduler, monitor=self.monitor, also=self.watched[1:], desc="distill", log=log, run=run,
                   hint=hint)


def capped(records, cfg):
    """Indices of the transfer records within the variant's caps: at most `transfer_max` own + pool texts (own
    first, then a seeded pool sample: the rule of softlabels.transfer_max) and `augment_max` copies of each
    labelled example."""
    by_source = {s: [i for i, r in enumerate(records) if r["source"] == s] for s in ("own", "pool", "augment")}
    rng = random.Random(cfg.seed)
    keep = []
    room = cfg.transfer_max or None
    for source in ("own", "pool"):
        picked = by_source[source]
        if room is not None:
            picked = sorted(rng.sample(picked, min(room, len(picked))))
            room -= len(picked)
        keep += picked
    keep += [i for i in by_source["augment"] if not cfg.augment_max or records[i].get("copy", 0) < cfg.augment_max]
    return sorted(keep)


def balanced(logits, seed):
    """Indices of a class-balanced resample of a transfer set, by the class the teacher predicts (its logits, one
    row per record): the same size, each class `size // classes` times, a smaller class's records all taken
    (whole copies, then a seeded sample), a larger one's sampled down, in transfer-set order."""
    by_class = {}
    for i, row in enumerate(logits):
        by_class.setdefault(int(np.argmax(row)), []).append(i)
    share, rng, keep = len(logits) // max(len(by_class), 1), random.Random(seed), []
    for _, idx in sorted(by_class.items()):
        copies, rest = divmod(share, len(idx))
        keep += idx * copies + rng.sample(idx, rest)
    return sorted(keep)


def transfer_examples(softlabels_dir, cfg):
    """The transfer-set records this variant learns from and their teacher logits (none without `transfer`):
    the parts `transfer` names, within the caps, and with `length_filter` pool texts only within the labelled
    train's inter-quartile length range."""
    path = Path(softlabels_dir) / "transfer.jsonl"
    if not cfg.transfer or not path.exists():
        return [], []
    records, logits = read_jsonl(path), load_logits(Path(softlabels_dir) / "transfer.safetensors")
    lo, hi = json.loads((Path(softlabels_dir) / "meta.json").read_text())["pool_length_bounds"]
    keep = [i for i in capped(records, cfg) if records[i]["source"] in cfg.transfer
            and (records[i]["source"] != "pool" or not cfg.length_filter or lo <= record_length(records[i]) <= hi)]
    if cfg.balance:
        keep = [keep[i] for i in balanced([np.reshape(logits[i], -1) for i in keep], cfg.seed)]
    return [records[i] for i in keep], [logits[i] for i in keep]


def lr_hint(student_name):
    """What to change when a student's loss diverges."""
    return f"lower the learning rate (students.{student_name}.lr or distill.lr_grid)"


def sweep_lr(fresh, examples, valid, valid_teacher, cfg, log=print, run="distill", hint="lower the learning rate"):
    """The learning rate of `cfg.lr_grid` whose short run (`sweep_epochs` on a seeded sample of
    `sweep_examples` training examples) reaches the best validation score early stopping watches
    (Distiller.monitor: the lowest loss, or the highest macro F1); the test split plays no part. None without
    a grid (a learning rate set by hand).
    A rate whose loss turns NaN or infinite loses (its score is recorded as null); when every rate does,
    KdbenchError naming `run`, with `hint`."""
    if not cfg.lr_grid:
        return None
    rng = random.Random(cfg.seed)
    sample = [examples[i] for i in sorted(rng.sample(range(len(examples)), min(cfg.sweep_examples, len(examples))))]
    scores, diverged = {}, {}
    for lr in cfg.lr_grid:
        d, _ = fresh(dataclasses.replace(cfg, lr=lr, epochs=cfg.sweep_epochs, min_steps=0, patience=cfg.sweep_epochs))
        try:
            d.distill(sample, valid, valid_teacher, log=lambda line: None, run=run, hint=hint)
        except Diverged as e:  # this rate loses the sweep; fresh() reseeds, so the next try is unaffected
            diverged[lr] = e.detail
            log(f"lr sweep: lr {lr:g}: diverged: {e.detail}")
            continue
        scores[lr] = d.evaluate(valid, valid_teacher)[0][d.monitor]
        log(f"lr sweep: lr {lr:g}: valid {d.monitor.replace('_', ' ')} {scores[lr]:.4f}")
    if len(diverged) == len(cfg.lr_grid):
        tries = "; ".join(f"lr {lr:g}: {detail}" for lr, detail in diverged.items())
        raise KdbenchError(f"{run}: the lr sweep diverged at every rate of distill.lr_grid ({tries}): {hint}")
    chosen = None
    for lr in scores:  # in grid order: of equal scores, the first rate
        if improves(d.monitor, scores[lr], None if chosen is None else scores[chosen]):
            chosen = lr
    key = f"valid_{d.monitor}" if d.monitor in MAXIMISED else "valid_loss"  # every loss is recorded as valid_loss
    return {"grid": list(cfg.lr_grid), "monitor": d.monitor,
            key: {f"{lr:g}": scores.get(lr) for lr in cfg.lr_grid},
            "chosen": chosen, "epochs": cfg.sweep_epochs, "examples": len(sample)}


def run_distill(task, student_name, variant, cfg, model_overrides, prepared_dir, softlabels_dir, teacher_dir,
                fasttext_vec, out_dir, metrics_path, predictions_path):
    """Train, score and save one (task, student, variant); writes the model directory, the metrics JSON (test
    score with its bootstrap interval) and the test predictions (for paired comparisons).
    cfg: the variant's DistillConfig with the student's settings applied (Params.distill_for)."""
    meta, splits = load_prepared(prepared_dir)
    kind, labels = meta["kind"], meta["labels"]
    teacher_meta = json.loads((Path(teacher_dir) / "kdbench_teacher.json").read_text())
    if "logits" in teacher_meta and EMBEDDINGS.meta(cfg.embeddings, "vocab") == "subword":
        raise KdbenchError(f"distill {task}/{student_name}/{variant}: embeddings: {cfg.embeddings} reads the "
                           "teacher's word table, and a teacher from a logits file (teacher.logits) has none: "
                           "use random or fasttext")
    from_teacher = bool(STUDENTS.meta(student_name, "from_teacher"))
    if "logits" in teacher_meta and from_teacher:
        raise KdbenchError(f"distill {task}/{student_name}/{variant}: {student_name} starts as the teacher's lowest "
                           "layers, and a teacher from a logits file (teacher.logits) has none: distil another "
                           "student")
    if "logits" in teacher_meta and LOSSES.meta(cfg.loss, "layers"):
        raise KdbenchError(f"distill {task}/{student_name}/{variant}: loss {cfg.loss} matches the teacher's layers, "
                           "and a teacher from a logits file (teacher.logits) has none: use a logit loss (mse, kl)")
    if cfg.balance and kind not in ("single", "pair"):
        raise KdbenchError(f"distill {task}/{student_name}/{variant}: balance: true resamples by the one class the "
                           f"teacher predicts per text; {task} is a {kind} task (balance a single or pair task)")
    transfer, transfer_logits = transfer_examples(softlabels_dir, cfg)
    uses_teacher = LOSSES.meta(cfg.loss, "uses_teacher")
    train_logits = load_logits(Path(softlabels_dir) / "train.safetensors") if uses_teacher else None
    examples = list(zip(splits["train"], train_logits or [None] * len(splits["train"]),
                        [True] * len(splits["train"])))
    examples += list(zip(transfer, transfer_logits, [False] * len(transfer)))

    vocab = build_vocab(cfg, splits["train"] + transfer, teacher_dir, teacher_meta.get("prefix", ""), from_teacher)
    device = "cuda" if torch.cuda.is_available() else "cpu"  # like the teacher's `device: auto`
    teacher = None
    if LOSSES.meta(cfg.loss, "layers") or from_teacher:
        from kdbench.teacher.model import Teacher
        teacher = Teacher.load(teacher_dir)
    if from_teacher:  # its shape is the teacher's: recorded with its own overrides, so load_student rebuilds it
        model_overrides = {**model_overrides, **teacher_shape(teacher)}

    def fresh(run_cfg):
        """A new student (seeded: the same weights for every learning rate tried) and its Distiller."""
        seed_everything(cfg.seed, cfg.threads)
        student = create_student(student_name, len(vocab), kind, len(labels), len(meta["aspects"] or []),
                                 pad_id=vocab.pad_id, **model_overrides)
        if from_teacher:  # the teacher's embeddings and lowest layers, whatever `embeddings` says
            info = copy_teacher(student, teacher, vocab.kept_ids)
        else:
            table = student.get_input_embeddings()
            weights, info = init_embeddings(cfg.embeddings, vocab, table.embedding_dim, vec_path=fasttext_vec or None,
                                            teacher_dir=teacher_dir, seed=cfg.seed)
            table.weight.data.copy_(weights)
        layers = LayerMatch(teacher, student) if LOSSES.meta(cfg.loss, "layers") else None
        return Distiller(student, vocab, kind, labels, run_cfg, device, layers), info

    run = f"distill {task}/{student_name}/{variant} seed {cfg.seed}"
    if teacher is not None:
        try:
            fresh(cfg)  # a student or teacher without layers to match or copy fails here, before any training
        except KdbenchError as e:
            raise KdbenchError(f"{run}: {e}") from None  # each says what it needs (layers to match or copy)
    hint = lr_hint(student_name)
    valid_teacher = load_logits(Path(softlabels_dir) / "valid.safetensors") if uses_teacher else None
    sweep = sweep_lr(fresh, examples, splits["valid"], valid_teacher, cfg, run=run, hint=hint)
    if sweep:
        cfg = dataclasses.replace(cfg, lr=sweep["chosen"])
    d, emb_info = fresh(cfg)
    student = d.student
    history = d.distill(examples, splits["valid"], valid_teacher, run=run, hint=hint)
    valid, _ = d.evaluate(splits["valid"])
    test, test_pred = d.evaluate(splits["test"])
    test["interval"] = stats.interval(kind, [gold_labels(r, kind) for r in splits["test"]], test_pred)
    teacher_test = load_logits(Path(softlabels_dir) / "test.safetensors")  # rows per example: one for single/pair
    teacher_pred = [decode(x[0] if kind in ("single", "pair") else x, labels, kind) for x in teacher_test]
    flat = lambda preds: [x for p in preds for x in ([p] if isinstance(p, str) else p)]  # noqa: E731
    agreement = float(np.mean([a == b for a, b in zip(flat(test_pred), flat(teacher_pred))]))

    settings = recorded(cfg)
    config = student_config(student_name, model_overrides, kind, labels, meta["aspects"], vocab, cfg.max_length,
                            variant=variant, distill=settings, embeddings=emb_info)
    save_student(student, vocab, config, out_dir)
    report = {
        "task": task, "student": student_name, "variant": variant, "kind": kind,
        "loss": cfg.loss, "embeddings": cfg.embeddings, "transfer": cfg.transfer, "settings": settings,
        "model": model_overrides, "train_size": len(splits["train"]), "transfer_size": len(transfer),
        "valid": valid, "test": test, "test_agreement_with_teacher": agreement,
        **count_parameters(student), "file_bytes": (Path(out_dir) / WEIGHTS).stat().st_size,
        "vocab_size": len(vocab), "epochs_run": len(history), "history": history, "lr_sweep": sweep,
        **({"layer_map": d.layers.map} if d.layers is not None else {}),
    }
    write_json(metrics_path, report)
    write_json(predictions_path, {"seed": cfg.seed, "pred": test_pred})
    return report
