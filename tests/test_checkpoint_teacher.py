"""A teacher the user already has (teacher.checkpoint): a tiny classifier and a tiny tagger are fine-tuned here,
saved with `save_pretrained` under label orders other than the task's, and taken as they are by the teacher
stage; its test predictions are what transformers gives for the same checkpoint on the same texts, and the soft
labels and a student come out of it. Label sets that do not match give one line naming both."""

import json
import shutil

import pytest
import torch
from transformers import (
    AutoConfig,
    AutoModelForSequenceClassification,
    AutoModelForTokenClassification,
    AutoTokenizer,
)

from kdbench.config import DistillConfig, SoftlabelConfig, TeacherConfig
from kdbench.data.prepare import load_prepared, prepare_task
from kdbench.encoding import load_tokenizer
from kdbench.errors import KdbenchError
from kdbench.tasks import get_task
from kdbench.teacher.checkpoint import label_order, locate
from kdbench.teacher.model import Teacher
from kdbench.teacher.softlabels import write_softlabels
from kdbench.teacher.train import run_teacher

# the task's labels in another order, in other cases: matched by name, case-insensitively
CHECKPOINT_LABELS = {"smsa": ["Positive", "NEGATIVE", "neutral"],
                     "nergrit": ["O", "I-PERSON", "B-PLACE", "I-ORGANISATION", "B-PERSON", "I-PLACE",
                                 "B-ORGANISATION"]}


@pytest.fixture(scope="module")
def project(mirror, tmp_path_factory, tiny_backbone):
    """checkpoints/<task>: a tiny BERT with its task head, fine-tuned for a few steps on the prepared task."""
    root = tmp_path_factory.mktemp("own-teacher")
    shutil.copytree(tiny_backbone, root / "backbone")
    for name in CHECKPOINT_LABELS:
        prepare_task(get_task(name), mirror, root / "prepared" / name, max_train=48, max_valid=16)
        _fine_tune(root / "backbone", root / "prepared" / name, root / "checkpoints" / name, CHECKPOINT_LABELS[name])
    return root


def _fine_tune(backbone, prepared, out, labels, steps=6, lr=1e-4):
    meta, splits = load_prepared(prepared)
    tagging = meta["kind"] == "tagging"
    # weights drawn wide (initializer_range): a tiny random BERT's outputs otherwise barely differ between inputs,
    # and a checkpoint that predicts one label everywhere would hide a label mapped to the wrong column
    config = AutoConfig.from_pretrained(backbone, id2label=dict(enumerate(labels)), initializer_range=0.5,
                                        label2id={label: i for i, label in enumerate(labels)})
    auto = AutoModelForTokenClassification if tagging else AutoModelForSequenceClassification
    torch.manual_seed(0)
    model, tokenizer = auto.from_config(config), load_tokenizer(backbone)
    column = {label.lower(): i for i, label in enumerate(labels)}
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    for step in range(steps):
        batch = splits["train"][(step * 16) % 48:][:16]
        enc = _encode(tokenizer, batch, tagging)
        if tagging:  # the first sub-word of each word carries its tag, as kdbench's teachers are trained
            y = torch.full(enc["input_ids"].shape, -100)
            for i, r in enumerate(batch):
                for pos, word in _first_subwords(enc, i):
                    y[i, pos] = column[r["tags"][word].lower()]
        else:
            y = torch.tensor([column[r["label"].lower()] for r in batch])
        loss = model(**enc, labels=y).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    model.save_pretrained(out)
    tokenizer.save_pretrained(out)


def _encode(tokenizer, records, tagging, max_length=64):
    texts = [r["tokens"] if tagging else r["text"] for r in records]
    return tokenizer(texts, is_split_into_words=tagging, truncation=True, max_length=max_length, padding=True,
                     return_tensors="pt")


def _first_subwords(enc, i):
    seen = set()
    for pos, word in enumerate(enc.word_ids(i)):
        if word is not None and word not in seen:
            seen.add(word)
            yield pos, word


def _transformers_predictions(checkpoint, records, tagging):
    """What transformers itself gives for the checkpoint: its own labels, one per text or per word."""
    auto = AutoModelForTokenClassification if tagging else AutoModelForSequenceClassification
    model, tokenizer = auto.from_pretrained(checkpoint).eval(), AutoTokenizer.from_pretrained(checkpoint)
    names = model.config.id2label
    out = []
    for start in range(0, len(records), 64):
        batch = records[start:start + 64]
        enc = _encode(tokenizer, batch, tagging)
        with torch.no_grad():
            ids = model(**enc).logits.argmax(-1)
        for i, r in enumerate(batch):
            if tagging:
                tags = {word: names[int(ids[i, pos])] for pos, word in _first_subwords(enc, i)}
                out.append([tags.get(w, "?") for w in range(len(r["tokens"]))])
            else:
                out.append(names[int(ids[i])])
    return out


@pytest.mark.parametrize("task", list(CHECKPOINT_LABELS))
def test_a_fine_tuned_checkpoint_is_the_teacher_as_it_is(project, task, tmp_path, monkeypatch):
    import huggingface_hub.constants
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)  # the copy's bytes must not record it
    prepared = project / "prepared" / task
    cfg = TeacherConfig(checkpoint=f"checkpoints/{task}", max_length=64)
    report = run_teacher(task, cfg, prepared, project / "backbone", tmp_path / "teacher", tmp_path / "metrics.json",
                         tmp_path / "predictions.json", tmp_path / "reference", project / "checkpoints")
    assert report["epochs_run"] == 0 and report["backbone"] is None  # scored, not trained
    assert json.loads((tmp_path / "teacher" / "tokenizer_config.json").read_text())["local_files_only"] is True
    assert report["checkpoint"]["files_sha256"]["model.safetensors"]  # what it was, in the stage's record
    mapped = report["checkpoint"]["label_map"]
    assert sorted(mapped) == sorted(CHECKPOINT_LABELS[task]) and all(k.lower() == v.lower() for k, v in mapped.items())
    meta, splits = load_prepared(prepared)
    tagging = meta["kind"] == "tagging"
    expected = _transformers_predictions(project / "checkpoints" / task, splits["test"], tagging)
    by_name = {label.lower(): label for label in meta["labels"]}
    predicted = json.loads((tmp_path / "predictions.json").read_text())["teacher"]
    assert len({t for e in expected for t in (e if tagging else [e])} - {"?"}) >= 2  # a wrong column would show
    if tagging:  # word by word, where the words fit in max_length sub-words (past it neither predicts)
        pairs = [(p, by_name[e.lower()]) for ps, es in zip(predicted, expected) for p, e in zip(ps, es) if e != "?"]
        assert len(pairs) > 0.9 * sum(map(len, expected)) and all(p == e for p, e in pairs)
    else:  # transformers' own predictions, in the task's label names
        assert predicted == [by_name[label.lower()] for label in expected]
    assert "beats_reference" in report and report["reference"]["test_macro_f1"] >= 0
    # the rest of the pipeline reads it like any teacher: soft labels in the task's label order
    teacher = Teacher.load(tmp_path / "teacher")
    assert teacher.labels == meta["labels"] and type(teacher).__name__ == "CheckpointTeacher"
    info, _ = write_softlabels(tmp_path / "teacher", prepared, tmp_path, get_task(task).group,  # no pool
                               tmp_path / "softlabels", SoftlabelConfig(pool=False, augment=0, transfer_max=20))
    assert info["labels"] == meta["labels"] and info["test_size"] == len(splits["test"])


def test_a_student_distils_from_a_checkpoint_teacher(project, tmp_path):
    from kdbench.distill.train import run_distill
    task = "smsa"
    prepared = project / "prepared" / task
    cfg = TeacherConfig(checkpoint=f"checkpoints/{task}", max_length=64)
    run_teacher(task, cfg, prepared, project / "backbone", tmp_path / "teacher", tmp_path / "metrics.json",
                tmp_path / "predictions.json", tmp_path / "reference", project / "checkpoints")
    write_softlabels(tmp_path / "teacher", prepared, tmp_path, "classification", tmp_path / "softlabels",
                     SoftlabelConfig(pool=False, augment=1, transfer_max=20))
    metrics = run_distill(task, "bilstm", "kd", DistillConfig(loss="mse", transfer=["own", "augment"], epochs=1, min_steps=0,
                                                              lr_grid=[], max_length=32),
                          {"hidden": 16, "emb_dim": 32}, prepared, tmp_path / "softlabels", tmp_path / "teacher",
                          None, tmp_path / "student", tmp_path / "student.json", tmp_path / "student-pred.json")
    assert 0 <= metrics["test_agreement_with_teacher"] <= 1 and metrics["transfer_size"] > 0


def test_labels_match_by_name_whatever_the_order_and_case():
    assert label_order({0: "Positive", 1: "NEGATIVE", 2: "neutral"}, ["negative", "neutral", "positive"], {}, "m") \
        == [1, 2, 0]
    assert label_order({"0": "LABEL_0", "1": "LABEL_1"}, ["neg", "pos"], {"LABEL_0": "pos", "LABEL_1": "neg"}, "m") \
        == [1, 0]


@pytest.mark.parametrize("id2label, label_map, message", [
    ({0: "LABEL_0", 1: "LABEL_1", 2: "LABEL_2"}, {}, "generic (LABEL_0, LABEL_1, LABEL_2...): say which task label"),
    ({0: "positive", 1: "negative", 2: "mixed"}, {}, "its labels ['mixed', 'negative', 'positive'] (after "
     "teacher.label_map) are not the task's ['negative', 'neutral', 'positive']"),
    ({0: "positive", 1: "negative"}, {}, "are not the task's"),  # one the task has is missing
    ({0: "pos", 1: "neg", 2: "neu"}, {"pos": "positive", "neg": "negative", "nu": "neutral"},
     "teacher.label_map: ['nu'] are not labels of ckpt"),
    ({0: "POSITIVE", 1: "positive", 2: "neutral"}, {}, "are not the task's"),  # two columns for one label
])
def test_a_label_set_that_does_not_match_is_one_line(id2label, label_map, message):
    with pytest.raises(KdbenchError) as e:
        label_order(id2label, ["negative", "neutral", "positive"], label_map, "ckpt")
    assert message in str(e.value) and "\n" not in str(e.value)


def test_a_checkpoint_outside_checkpoints_is_refused(project, tmp_path):
    assert locate("checkpoints/smsa", project / "checkpoints") == (project / "checkpoints/smsa").resolve()
    assert locate("indobenchmark/indobert-base-p1", project / "checkpoints") == "indobenchmark/indobert-base-p1"
    for name, message in ((str(project / "backbone"), "a local checkpoint goes under"),
                          ("checkpoints/nosuch", "no such folder under")):
        with pytest.raises(KdbenchError, match=message):
            locate(name, project / "checkpoints")
