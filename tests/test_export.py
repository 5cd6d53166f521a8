"""Deployment files: the ONNX export and its ONNX Runtime int8 quantisation agree with eager torch for every
student and the teacher, for every task kind, at batch 1 and at a padded batch longer and wider than the
one the export saw."""

import numpy as np
import pytest
import torch
from transformers import AutoModel, BertConfig, BertModel, BertTokenizerFast

from kdbench.bench.export import export_onnx, quantize_onnx
from kdbench.bench.onnxrun import OnnxRunner
from kdbench.encoding import load_tokenizer, segment_ids
from kdbench.students import create_student, list_students
from kdbench.tasks import KINDS
from kdbench.teacher.model import Teacher

V, LABELS, ASPECTS, PAD = 50, 3, 4, 0
TINY = {"bilstm": dict(emb_dim=16, hidden=8, n_heads=2, ffn=32),
        "cnn": dict(emb_dim=16, hidden=24, n_layers=2, kernel=3)}
TINY_BERT = dict(n_layers=1, max_positions=32)


def batch(lengths, seed, extra_t=0):
    """Right-padded random ids, mask (B, T) and word_pos (B, W): a word starts at every other token."""
    g = torch.Generator().manual_seed(seed)
    T, W = max(lengths) + extra_t, max((n + 1) // 2 for n in lengths)
    ids = torch.full((len(lengths), T), PAD)
    word_pos = torch.full((len(lengths), W), -1)
    for i, n in enumerate(lengths):
        ids[i, :n] = torch.randint(1, V, (n,), generator=g)
        starts = torch.arange(0, n, 2)
        word_pos[i, : len(starts)] = starts
    return ids, (ids != PAD).long(), word_pos


EXAMPLE = batch([6, 4], seed=0)  # what the export sees: B=2, T=6, W=3
UNSEEN = [batch([9, 1, 4], seed=1, extra_t=2), batch([1], seed=2)]  # B=3, T=11, W=5 and B=1, T=1, W=1


def build(name, kind, **kw):
    torch.manual_seed(0)
    n_aspects = ASPECTS if kind == "multi-aspect" else 0
    return create_student(name, V, kind, LABELS, n_aspects, PAD, **{**TINY.get(name, TINY_BERT), **kw}).eval()


def n_args(kind):
    return 3 if "tagging" in kind else 2


def close_to(quantized, eager):
    """int8 logits within 10% of the float logits' range: broken quantisation (zeros, noise) is far off."""
    return np.abs(quantized - eager).max() <= 0.1 * np.abs(eager).max() + 1e-3


def check_parity(model, example, batches, tmp_path):
    """Export `model` on `example`, quantise the export, and compare both with eager on `batches`."""
    tmp_path = tmp_path / "export"
    tmp_path.mkdir()
    export_onnx(model, example, tmp_path / "m.onnx")
    quantize_onnx(tmp_path / "m.onnx", tmp_path / "m.int8.onnx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.int8.onnx", "m.onnx"]  # no temporary left behind
    onnx, int8 = OnnxRunner(tmp_path / "m.onnx"), OnnxRunner(tmp_path / "m.int8.onnx")
    assert onnx.inputs == ["input_ids", "attention_mask", "word_pos"][:len(example)]
    for inputs in batches:
        with torch.no_grad():
            eager = model(*inputs[:len(example)]).numpy()
        np.testing.assert_allclose(onnx(*inputs), eager, atol=1e-4, rtol=1e-4)
        q = int8(*inputs)
        assert q.shape == eager.shape and close_to(q, eager)
        if len(example) == 3:  # words past the end (padding, or cut by max_length) stay exactly 0
            assert (q[inputs[2].numpy() < 0] == 0).all()


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list_students())
def test_student_exports_match_eager(name, kind, tmp_path):
    model, k = build(name, kind), n_args(kind)
    check_parity(model, EXAMPLE[:k], UNSEEN, tmp_path)


@pytest.mark.parametrize("name", ["cnn", "bert-tiny"])
def test_dynamo_export_of_the_models_it_can_capture(name, tmp_path):
    """The torch.export route, kept for when TorchScript export goes; it cannot capture the BiLSTM."""
    model = build(name, "tagging")
    export_onnx(model, EXAMPLE, tmp_path / "m.onnx", dynamo=True)
    run = OnnxRunner(tmp_path / "m.onnx")
    for inputs in UNSEEN:
        with torch.no_grad():
            np.testing.assert_allclose(run(*inputs), model(*inputs).numpy(), atol=1e-4, rtol=1e-4)


def test_int8_shrinks_bert_mini(tmp_path):
    model = build("bert-mini", "single", n_layers=4)  # default widths: Linear weights are most of the model
    export_onnx(model, EXAMPLE[:2], tmp_path / "m.onnx")
    quantize_onnx(tmp_path / "m.onnx", tmp_path / "m.int8.onnx")
    assert (tmp_path / "m.int8.onnx").stat().st_size < 0.4 * (tmp_path / "m.onnx").stat().st_size


# ---- teacher ------------------------------------------------------------------------------------------
RECORDS = {
    "single": [{"text": "makanannya enak sekali", "label": "pos"}, {"text": "buruk", "label": "neg"},
               {"text": "pelayanan lambat tapi murah dan makanannya enak", "label": "pos"}],
    "multi-aspect": [{"text": "bensin boros tapi mesin halus", "labels": ["neg", "pos"]},
                     {"text": "biasa", "labels": ["neu", "neu"]},
                     {"text": "mesin halus dan bensin irit sekali", "labels": ["pos", "pos"]}],
    "pair": [{"text": "Budi pergi ke pasar", "text_b": "Budi di pasar", "label": "yes"},
             {"text": "hujan", "text_b": "cerah", "label": "no"},
             {"text": "pasar ramai sekali hari ini", "text_b": "hujan di pasar", "label": "no"}],
    "tagging": [{"tokens": ["Joko", "Widodo", "ke", "Bandung"], "tags": ["B", "I", "O", "B"]},
                {"tokens": ["halo"], "tags": ["O"]},
                {"tokens": ["pergi", "ke", "pasar", "di", "Bandung", "kemarin", "sore"], "tags": ["O"] * 7}],
    "qa-tagging": [{"question": ["siapa", "presiden", "?"], "tokens": ["presiden", "Joko", "Widodo"],
                    "tags": ["O", "B", "I"]},
                   {"question": ["di", "mana", "?"], "tokens": ["Bandung"], "tags": ["B"]},
                   {"question": ["kapan", "Budi", "pergi", "ke", "pasar", "?"], "tokens": ["kemarin", "sore"],
                    "tags": ["B", "I"]}],
}
LABEL_SETS = {"single": ["neg", "pos"], "multi-aspect": ["neg", "neu", "pos"], "pair": ["no", "yes"],
              "tagging": ["B", "I", "O"], "qa-tagging": ["B", "I", "O"]}


@pytest.fixture(scope="module")
def backbone(tiny_backbone):
    """The tiny-random backbone's directory and its tokenizer (e5's: slow to load, so loaded once)."""
    return tiny_backbone, load_tokenizer(tiny_backbone)


def bert_tokenizer(tmp_path):
    """A WordPiece tokenizer (BERT style: it emits token_type_ids) over the words of RECORDS."""
    texts = [" ".join([*r.get("tokens", []), *r.get("question", []), r.get("text", ""), r.get("text_b", "")])
             for recs in RECORDS.values() for r in recs]
    words = sorted({w.lower() for t in texts for w in t.split()})
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (tmp_path / "vocab.txt").write_text("\n".join(specials + words) + "\n")
    return BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))


def teacher_parity(teacher, tmp_path):
    """The teacher's ONNX and int8 logits agree with Teacher.forward at batch 1 and on a padded batch longer
    and wider than the export's."""
    torch.manual_seed(0)
    torch.nn.init.normal_(teacher.head.weight)  # a visible head: the tiny backbone's features are small
    teacher.eval()
    records = RECORDS[teacher.kind]
    k = 3 if teacher.is_tagging else 2
    example = teacher.encode(records[:2])[:k]
    batches = [teacher.encode(records), teacher.encode(records[1:2])]
    assert batches[0][0].shape[1] > example[0].shape[1]
    check_parity(teacher, example, batches, tmp_path)
    return batches[0]


@pytest.mark.parametrize("kind", KINDS)
def test_teacher_exports_match_eager(backbone, kind, tmp_path):
    path, tokenizer = backbone
    aspects = ["bensin", "mesin"] if kind == "multi-aspect" else None
    teacher = Teacher(AutoModel.from_pretrained(path), tokenizer, kind, LABEL_SETS[kind], aspects)
    assert not teacher.segments  # e5's tokenizer has no segments
    teacher_parity(teacher, tmp_path)


@pytest.mark.parametrize("kind", ("pair", "qa-tagging"))
def test_bert_style_teacher_segments(kind, tmp_path):
    """A BERT tokenizer marks the second text with token_type_ids 1; TeacherCore derives them from [SEP]."""
    tok = bert_tokenizer(tmp_path)
    torch.manual_seed(0)
    encoder = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1,
                                   num_attention_heads=2, intermediate_size=64), add_pooling_layer=False)
    teacher = Teacher(encoder, tok, kind, LABEL_SETS[kind], pooling="first")
    input_ids, attention_mask, word_pos = teacher_parity(teacher, tmp_path)
    records = RECORDS[kind]
    enc = (tok([r["text"] for r in records], [r["text_b"] for r in records], padding=True) if kind == "pair" else
           tok([r["question"] for r in records], [r["tokens"] for r in records], is_split_into_words=True,
               padding=True))
    assert torch.tensor(enc["token_type_ids"]).sum() > 0  # the tokenizer's own segments...
    assert torch.equal(segment_ids(input_ids, attention_mask, tok.sep_token_id), torch.tensor(enc["token_type_ids"]))
    with torch.no_grad():  # ...matter: without them the logits differ
        teacher.segments = False
        no_segments = teacher(input_ids, attention_mask, word_pos).numpy()
        teacher.segments = True
        assert not np.allclose(no_segments, teacher(input_ids, attention_mask, word_pos).numpy(), atol=1e-4)


@pytest.mark.parametrize("kind", ("pair", "tagging"))
def test_a_checkpoint_teacher_exports_match_eager(kind, tmp_path):
    """A fine-tuned checkpoint used as the teacher (kdbench.teacher.checkpoint) exports like kdbench's own: its
    label reordering and first-sub-word gather are in the graph."""
    from transformers import BertForSequenceClassification, BertForTokenClassification

    from kdbench.teacher.checkpoint import CheckpointTeacher
    tok = bert_tokenizer(tmp_path)
    labels = LABEL_SETS[kind]
    torch.manual_seed(0)
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                        intermediate_size=64, num_labels=len(labels), initializer_range=0.2)
    task_model = (BertForSequenceClassification if kind == "pair" else BertForTokenClassification)(config)
    order = list(range(len(labels)))[::-1]
    teacher = CheckpointTeacher(task_model, tok, kind, labels, order, "test").eval()
    records = RECORDS[kind]
    k = 3 if teacher.is_tagging else 2
    batches = [teacher.encode(records), teacher.encode(records[1:2])]
    with torch.no_grad():  # the columns come out in the task's order
        raw = task_model(input_ids=batches[0][0], attention_mask=batches[0][1],
                         **({"token_type_ids": segment_ids(batches[0][0], batches[0][1], tok.sep_token_id)}
                            if kind == "pair" else {})).logits
        out = teacher(*batches[0][:k])
    assert torch.equal(out if kind == "pair" else out[:, 0], (raw if kind == "pair" else raw[:, 1])[..., order])
    check_parity(teacher, teacher.encode(records[:2])[:k], batches, tmp_path)
