"""Distillation on real SmSA sentences with a stand-in teacher whose logits are known, save/reload and
`kdbench predict`."""

import dataclasses
from typing import get_args, get_type_hints

import numpy as np
import pytest
import torch

from kdbench.config import DistillConfig
from kdbench.data.readers import read_indonlu_tsv
from kdbench.distill.train import STOP_ON, Distiller
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
    cfg = DistillConfig(loss=loss, epochs=6, min_steps=0, patience=6, batch_size=32, lr=3e-3, max_length=64,
                        seed=seed)
    vocab = WordVocab.build([r["text"] for r in train], min_count=2)
    student = create_student("bilstm", len(vocab), "single", 3, emb_dim=64, hidden=64)
    return Distiller(student, vocab, "single", LABELS, cfg), cfg


def _kd_examples(train):
    return list(zip(train, _teacher_logits(train), [True] * len(train)))


def test_kd_beats_an_untrained_student(smsa):
    train, valid, test = smsa
    d, cfg = _distiller(train)
    untrained, _ = d.evaluate(test)
    history = d.distill(_kd_examples(train), valid, _teacher_logits(valid), log=lambda s: None)
    trained, _ = d.evaluate(test)
    assert d.monitor == "teacher_loss" and all("valid_teacher_loss" in h for h in history)
    assert trained["macro_f1"] > untrained["macro_f1"] + 0.15, (untrained, trained)


def test_same_seed_same_metrics(smsa):
    train, valid, test = smsa
    scores = []
    for _ in range(2):
        d, cfg = _distiller(train[:200])
        d.distill(_kd_examples(train[:200]), valid, _teacher_logits(valid), log=lambda s: None)
        scores.append(d.evaluate(test)[0])
    assert scores[0] == scores[1]


def test_nokd_baseline_needs_no_teacher(smsa):
    train, valid, test = smsa
    d, cfg = _distiller(train[:200], loss="ce")
    history = d.distill(list(zip(train[:200], [None] * 200, [True] * 200)), valid, log=lambda s: None)
    assert history[-1]["train_loss"] < history[0]["train_loss"]
    assert cfg.stop_on == "f1" and d.monitor == "macro_f1"  # no teacher to agree with: the default takes f1
    assert dataclasses.replace(cfg, stop_on="gold").stop_on == "gold"  # told otherwise, it keeps what it was told


def test_stop_on_f1_keeps_the_epoch_of_the_best_validation_macro_f1(smsa):
    """`stop_on: f1`: early stopping and the restored weights follow validation macro F1 (highest kept), for a
    no-KD run too, where cross-entropy can bottom out epochs before the minority class is learnt."""
    train, valid, _ = smsa
    d, cfg = _distiller(train[:200], loss="ce")
    d.cfg = dataclasses.replace(cfg, stop_on="f1", patience=2)
    history = d.distill(list(zip(train[:200], [None] * 200, [True] * 200)), valid, log=lambda s: None)
    assert d.monitor == "macro_f1"
    f1 = [h["valid_macro_f1"] for h in history]
    assert d.evaluate(valid)[0]["macro_f1"] == max(f1)  # the best epoch's weights, not the last's
    loss = [h["valid_loss"] for h in history]
    last_gain = max(i for i in range(len(history))  # the last epoch at which F1 or cross-entropy beat all before it
                    if i == 0 or f1[i] > max(f1[:i]) or loss[i] < min(loss[:i]))
    assert len(history) == cfg.epochs or len(history) - 1 - last_gain == 2


def test_fit_waits_while_any_watched_score_improves():
    """`fit(..., also=...)`: a macro F1 plateau (a model answering the majority class) does not stop training
    while the validation loss still falls; the weights kept are the best macro F1's, not the last epoch's."""
    from kdbench.trainer import fit
    f1 = [0.30, 0.30, 0.30, 0.30, 0.55, 0.50, 0.50, 0.50, 0.60, 0.60]
    loss = [1.0, 0.9, 0.8, 0.7, 0.6, 0.65, 0.66, 0.67, 0.5, 0.5]
    model = torch.nn.Linear(1, 1, bias=False)
    seen = []

    def validate():
        seen.append(len(seen))
        torch.nn.init.constant_(model.weight, len(seen))  # the weights say which epoch they are from
        return {"macro_f1": f1[len(seen) - 1], "loss": loss[len(seen) - 1]}

    opt = torch.optim.SGD(model.parameters(), lr=0.0)
    run = dict(lengths=[1] * 4, batch_loss=lambda idx: model(torch.ones(len(idx), 1)).sum(), validate=validate,
               optimizer=opt, epochs=10, patience=3, batch_size=2, seed=0, monitor="macro_f1", log=lambda s: None)
    history = fit(model, **run, also=("loss",))
    assert len(history) == 8  # F1 flat for epochs 2-4 while the loss fell; stopped 3 epochs after epoch 5
    assert model.weight.item() == 5  # epoch 5: the best macro F1
    seen.clear()
    assert len(fit(model, **run)) == 4  # watching F1 alone, the plateau stops it at epoch 4


def test_saved_student_reloads_and_predicts_the_same(smsa, tmp_path, capsys):
    train, valid, test = smsa
    d, cfg = _distiller(train[:200])
    d.distill(_kd_examples(train[:200]), valid, _teacher_logits(valid), log=lambda s: None)
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
    sweep = sweep_lr(fresh, _kd_examples(train), valid[:60], _teacher_logits(valid[:60]), cfg, log=lambda s: None)
    assert tried == [1e-6, 3e-3] and sweep["chosen"] == 3e-3  # 1e-6 barely moves in one epoch
    assert sweep["examples"] == 200 and set(sweep["valid_loss"]) == {"1e-06", "0.003"}
    assert sweep["monitor"] == "teacher_loss"
    f1 = sweep_lr(fresh, _kd_examples(train), valid[:60], None, dataclasses.replace(cfg, stop_on="f1"),
                  log=lambda s: None)
    assert f1["monitor"] == "macro_f1" and "valid_loss" not in f1  # a score, recorded under its own name
    assert f1["chosen"] == max(f1["grid"], key=lambda lr: f1["valid_macro_f1"][f"{lr:g}"])
    assert sweep_lr(fresh, _kd_examples(train), valid, None, DistillConfig(lr_grid=[]), log=lambda s: None) is None


def test_teacher_loss_is_the_runs_loss_against_the_teachers_validation_logits(smsa):
    train, valid, _ = smsa
    d, _ = _distiller(train[:100])
    _, pred = d.evaluate(valid)
    from kdbench.trainer import predict, torch_forward
    own, _ = predict(d.encode, torch_forward(d.student), valid, 64)
    assert d.evaluate(valid, own)[0]["teacher_loss"] == pytest.approx(0, abs=1e-12)  # its own logits: no loss
    shifted = [x + 1.0 for x in own]  # MSE of a constant shift of 1 is 1
    assert d.evaluate(valid, shifted)[0]["teacher_loss"] == pytest.approx(1.0, rel=1e-5)
    with pytest.raises(ValueError, match="stop_on: teacher needs"):
        d.distill(_kd_examples(train[:50]), valid, log=lambda s: None)


def test_budget_raises_small_tasks_to_the_step_floor():
    from kdbench.trainer import budget
    assert budget(11000, 32, 8, 1000) == 8          # 344 steps an epoch: 8 epochs are 2752 steps
    assert budget(71, 16, 3, 200) == 40             # 5 steps an epoch: 40 epochs reach 200
    assert budget(71, 16, 3, 0) == 3


def test_variant_caps_pick_own_first_then_a_seeded_pool_sample_and_the_first_copies():
    from kdbench.distill.train import capped
    records = ([{"source": "own"}] * 5 + [{"source": "pool"}] * 10
               + [{"source": "augment", "copy": k % 4} for k in range(8)])
    cfg = DistillConfig(transfer_max=8, augment_max=2, seed=3)
    keep = capped(records, cfg)
    assert [i for i in keep if i < 5] == list(range(5))            # every own text
    assert len([i for i in keep if 5 <= i < 15]) == 3               # the pool fills the room left
    assert [records[i]["copy"] for i in keep if i >= 15] == [0, 1, 0, 1]
    assert capped(records, DistillConfig()) == list(range(len(records)))  # no caps: all
    assert keep == capped(records, cfg)                             # seeded


def test_balance_resamples_the_transfer_set_to_equal_teacher_classes(tmp_path):
    """`balance: true`: the transfer set keeps its size, each class the teacher predicts takes a third of it, a
    small class's texts all kept (repeated), a large one's sampled down; seeded. Left out of a run's record
    unless set, so runs from before the option keep their bytes."""
    from collections import Counter

    from kdbench.config import recorded
    from kdbench.distill.train import transfer_examples
    from kdbench.io import save_logits, write_json, write_jsonl

    classes = [0] * 12 + [1] * 3 + [2] * 6                      # the teacher's argmax for 21 own texts
    write_jsonl(tmp_path / "transfer.jsonl", [{"text": f"t{i}", "source": "own"} for i in range(21)])
    save_logits(tmp_path / "transfer.safetensors", [np.eye(3, dtype=np.float32)[[c]] for c in classes])
    write_json(tmp_path / "meta.json", {"pool_length_bounds": [0, 99]})
    cfg = DistillConfig(transfer=["own"], balance=True, seed=1)
    picked, rows = transfer_examples(tmp_path, cfg)
    assert len(picked) == 21 and Counter(int(r.argmax()) for r in rows) == {0: 7, 1: 7, 2: 7}
    texts = Counter(r["text"] for r in picked)
    assert {f"t{i}" for i in range(12, 21)} <= set(texts)      # every text of the two smaller classes
    assert all(texts[f"t{i}"] >= 2 for i in range(12, 15))     # the smallest repeated
    assert sorted(texts[f"t{i}"] for i in range(12)) == [0] * 5 + [1] * 7  # the largest sampled down
    again, again_rows = transfer_examples(tmp_path, cfg)       # seeded: the same resample
    assert again == picked and [r.tolist() for r in again_rows] == [r.tolist() for r in rows]
    assert [r["text"] for r in transfer_examples(tmp_path, DistillConfig(transfer=["own"]))[0]] == [
        f"t{i}" for i in range(21)]                            # off: the transfer set as it is
    assert "balance" not in recorded(DistillConfig()) and recorded(cfg)["balance"] is True


def test_every_stop_on_value_has_its_watched_scores():
    """config.py names the stop_on values params.yaml may give, distill/train.py what each one watches: a value
    added to one and not the other fails here, not at the first run that uses it."""
    assert set(get_args(get_type_hints(DistillConfig)["stop_on"])) == set(STOP_ON)
