"""Distillation on real SmSA sentences with a stand-in teacher whose logits are known, save/reload and
`kdbench predict`."""

import numpy as np
import pytest
import torch

from kdbench.config import DistillConfig
from kdbench.data.readers import read_indonlu_tsv
from kdbench.distill.train import Distiller
from kdbench.errors import KdbenchError
from kdbench.predict import predict_lines
from kdbench.students import create_student
from kdbench.students.artifact import save_student, student_config
from kdbench.students.vocab import WordVocab

LABELS = ["negative", "neutral", "positive"]


@pytest.fixture(scope="module")
def smsa(mirror):
    def read(split, n):
        rows = read_indonlu_tsv(mirror / f"indonlu/smsa_doc-sentiment-prosa/{split}_preprocess.tsv")[:n]
        return [{k: v for k, v in r.items() if k != "_line"} for r in rows]
    return read("train", 400), read("valid", 100), read("test", 200)


def _teacher_logits(records):
    """A confident, correct stand-in teacher: what KD should transfer is then known exactly."""
    out = []
    for r in records:
        row = np.full((1, 3), -2.0, dtype=np.float32)
        row[0, LABELS.index(r["label"])] = 2.0
        out.append(row)
    return out


def _distiller(train, loss="mse", seed=0):
    torch.manual_seed(seed)
    cfg = DistillConfig(loss=loss, epochs=6, patience=6, batch_size=32, lr=3e-3, max_length=64, seed=seed)
    vocab = WordVocab.build([r["text"] for r in train], min_count=2)
    student = create_student("bilstm", len(vocab), "single", 3, emb_dim=64, hidden=64)
    return Distiller(student, vocab, "single", LABELS, cfg), cfg


def _kd_examples(train):
    return list(zip(train, _teacher_logits(train), [True] * len(train)))


def test_kd_beats_an_untrained_student(smsa):
    train, valid, test = smsa
    d, cfg = _distiller(train)
    untrained, _ = d.evaluate(test)
    d.distill(_kd_examples(train), valid, log=lambda s: None)
    trained, _ = d.evaluate(test)
    assert trained["macro_f1"] > untrained["macro_f1"] + 0.15, (untrained, trained)


def test_same_seed_same_metrics(smsa):
    train, valid, test = smsa
    scores = []
    for _ in range(2):
        d, cfg = _distiller(train[:200])
        d.distill(_kd_examples(train[:200]), valid, log=lambda s: None)
        scores.append(d.evaluate(test)[0])
    assert scores[0] == scores[1]


def test_nokd_baseline_needs_no_teacher(smsa):
    train, valid, test = smsa
    d, cfg = _distiller(train[:200], loss="ce")
    history = d.distill(list(zip(train[:200], [None] * 200, [True] * 200)), valid, log=lambda s: None)
    assert history[-1]["train_loss"] < history[0]["train_loss"]


def test_saved_student_reloads_and_predicts_the_same(smsa, tmp_path, capsys):
    train, valid, test = smsa
    d, cfg = _distiller(train[:200])
    d.distill(_kd_examples(train[:200]), valid, log=lambda s: None)
    config = student_config("bilstm", {"emb_dim": 64, "hidden": 64}, "single", LABELS, None, d.vocab, 64)
    save_student(d.student, d.vocab, config, tmp_path / "student")
    expected = d.evaluate(test[:30])[1]
    assert predict_lines(tmp_path / "student", [r["text"] for r in test[:30]]) == expected

    warnings = []
    long_text = " ".join(["bagus"] * 100)
    assert len(predict_lines(tmp_path / "student", [long_text], warn=warnings.append)) == 1
    assert "longer than 64 tokens" in warnings[0]
    with pytest.raises(KdbenchError, match="line 2: empty input"):
        predict_lines(tmp_path / "student", ["enak sekali", "   "])
    with pytest.raises(KdbenchError, match="no trained student"):
        predict_lines(tmp_path / "missing", ["enak"])


def test_lr_sweep_picks_on_validation_and_is_recorded(smsa):
    from kdbench.distill.train import sweep_lr
    train, valid, _ = smsa
    vocab = WordVocab.build([r["text"] for r in train], min_count=2)
    tried = []

    def fresh(cfg):
        torch.manual_seed(0)
        tried.append(cfg.lr)
        student = create_student("bilstm", len(vocab), "single", 3, emb_dim=32, hidden=32)
        return Distiller(student, vocab, "single", LABELS, cfg), {}

    cfg = DistillConfig(loss="mse", lr_grid=[1e-6, 3e-3], sweep_epochs=1, sweep_examples=200, seed=0)
    sweep = sweep_lr(fresh, _kd_examples(train), valid[:60], cfg, log=lambda s: None)
    assert tried == [1e-6, 3e-3] and sweep["chosen"] == 3e-3  # 1e-6 barely moves in one epoch
    assert sweep["examples"] == 200 and set(sweep["valid_loss"]) == {"1e-06", "0.003"}
    assert sweep_lr(fresh, _kd_examples(train), valid, DistillConfig(lr_grid=[]), log=lambda s: None) is None
