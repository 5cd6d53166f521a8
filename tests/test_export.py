"""Deployment variants: ONNX export run by ONNX Runtime at batch sizes and lengths the export never saw,
and int8 dynamic quantisation, for every student and the teacher."""

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer, BertConfig, BertModel, BertTokenizerFast

from kdbench.bench.export import TeacherCore, export_onnx, quantize_int8, segment_ids, state_bytes
from kdbench.bench.onnxrun import OnnxRunner
from kdbench.students import create_student, list_students
from kdbench.teacher.backbone import build_backbone
from kdbench.teacher.model import Teacher

V, LABELS, ASPECTS, PAD = 50, 3, 4, 0
TINY = {"bilstm": dict(emb_dim=16, hidden=8, n_heads=2, ffn=32),
        "cnn": dict(emb_dim=16, hidden=24, n_layers=2, kernel=3)}
TINY_BERT = dict(n_layers=1, max_positions=32)
KINDS = ("single", "pair", "multi-aspect", "tagging")  # students treat pair as single, qa-tagging as tagging


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


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list_students())
def test_student_onnx_matches_eager(name, kind, tmp_path):
    model, k = build(name, kind), n_args(kind)
    export_onnx(model, EXAMPLE[:k], tmp_path / "m.onnx")
    assert [p.name for p in tmp_path.iterdir()] == ["m.onnx"]  # one file, no temporary left behind
    run = OnnxRunner(tmp_path / "m.onnx")
    assert run.inputs == ["input_ids", "attention_mask", "word_pos"][:k]
    for inputs in UNSEEN:
        with torch.no_grad():
            eager = model(*inputs[:k]).numpy()
        np.testing.assert_allclose(run(*inputs), eager, atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("name", ["cnn", "bert-tiny"])
def test_dynamo_export_of_the_models_it_can_capture(name, tmp_path):
    """The torch.export route, kept for when TorchScript export goes; it cannot capture the BiLSTM."""
    model = build(name, "tagging")
    export_onnx(model, EXAMPLE, tmp_path / "m.onnx", dynamo=True)
    run = OnnxRunner(tmp_path / "m.onnx")
    for inputs in UNSEEN:
        with torch.no_grad():
            np.testing.assert_allclose(run(*inputs), model(*inputs).numpy(), atol=1e-4, rtol=1e-4)


@pytest.mark.parametrize("kind", ("multi-aspect", "tagging"))
@pytest.mark.parametrize("name", list_students())
def test_student_int8(name, kind):
    model, k = build(name, kind), n_args(kind)
    quantized = quantize_int8(model)
    quantized_types = {type(m).__name__ for m in quantized.modules() if "quantized" in type(m).__module__}
    assert "Linear" in quantized_types and (name != "bilstm" or "LSTM" in quantized_types)
    assert not any("quantized" in type(m).__module__ for m in model.modules())  # the original is untouched
    for inputs in UNSEEN:
        with torch.no_grad():
            eager, q = model(*inputs[:k]).numpy(), quantized(*inputs[:k]).numpy()
        assert q.shape == eager.shape and close_to(q, eager)
        if "tagging" in kind:
            assert (q[inputs[2].numpy() < 0] == 0).all()


def test_int8_shrinks_bert_mini():
    model = build("bert-mini", "single", n_layers=4)  # default widths: Linear weights are most of the model
    assert state_bytes(quantize_int8(model)) < 0.4 * state_bytes(model)


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
def backbone(tmp_path_factory):
    """The tiny-random backbone's directory and its tokenizer (e5's: slow to load, so loaded once)."""
    out = tmp_path_factory.mktemp("bb") / "tiny"
    build_backbone("tiny-random", out)
    return out, AutoTokenizer.from_pretrained(out)


def bert_tokenizer(tmp_path):
    """A WordPiece tokenizer (BERT style: it emits token_type_ids) over the words of RECORDS."""
    texts = [" ".join([*r.get("tokens", []), *r.get("question", []), r.get("text", ""), r.get("text_b", "")])
             for recs in RECORDS.values() for r in recs]
    words = sorted({w.lower() for t in texts for w in t.split()})
    specials = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    (tmp_path / "vocab.txt").write_text("\n".join(specials + words) + "\n")
    return BertTokenizerFast(vocab_file=str(tmp_path / "vocab.txt"))


def teacher_parity(teacher, tmp_path):
    """TeacherCore's ONNX logits equal Teacher.forward's on a batch longer and wider than the export's;
    its int8 copy runs too."""
    torch.manual_seed(0)
    torch.nn.init.normal_(teacher.head.weight)  # a visible head: the tiny backbone's features are small
    teacher.eval()
    core, records = TeacherCore(teacher), RECORDS[teacher.kind]
    example_enc, example_wp = teacher.encode(records[:2])
    example = (example_enc["input_ids"], example_enc["attention_mask"], example_wp)
    k = 3 if teacher.is_tagging else 2
    export_onnx(core, example[:k], tmp_path / "t.onnx")
    enc, word_pos = teacher.encode(records)
    assert enc["input_ids"].shape[1] > example[0].shape[1]
    with torch.no_grad():
        eager = teacher(enc, word_pos).numpy()
        assert np.array_equal(core(enc["input_ids"], enc["attention_mask"], word_pos).numpy(), eager)
        q = quantize_int8(core)(enc["input_ids"], enc["attention_mask"], word_pos).numpy()
    onnx = OnnxRunner(tmp_path / "t.onnx")(enc["input_ids"], enc["attention_mask"], word_pos)
    np.testing.assert_allclose(onnx, eager, atol=1e-4, rtol=1e-4)
    assert q.shape == eager.shape and close_to(q, eager)
    return enc, word_pos


@pytest.mark.parametrize("kind", ("single", "multi-aspect", "tagging"))
def test_teacher_onnx_matches_eager(backbone, kind, tmp_path):
    path, tokenizer = backbone
    aspects = ["bensin", "mesin"] if kind == "multi-aspect" else None
    teacher = Teacher(AutoModel.from_pretrained(path), tokenizer, kind, LABEL_SETS[kind], aspects)
    enc, _ = teacher_parity(teacher, tmp_path)
    assert "token_type_ids" not in enc  # e5's tokenizer has no segments


@pytest.mark.parametrize("kind", ("pair", "qa-tagging"))
def test_bert_style_teacher_segments(kind, tmp_path):
    """A BERT tokenizer marks the second text with token_type_ids 1; TeacherCore derives them from [SEP]."""
    tok = bert_tokenizer(tmp_path)
    torch.manual_seed(0)
    encoder = BertModel(BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1,
                                   num_attention_heads=2, intermediate_size=64), add_pooling_layer=False)
    teacher = Teacher(encoder, tok, kind, LABEL_SETS[kind], pooling="first")
    enc, word_pos = teacher_parity(teacher, tmp_path)
    assert enc["token_type_ids"].sum() > 0
    assert torch.equal(segment_ids(enc["input_ids"], enc["attention_mask"], tok.sep_token_id),
                       enc["token_type_ids"])
    with torch.no_grad():  # the segments matter: without them the logits differ
        no_segments = teacher({k: v for k, v in enc.items() if k != "token_type_ids"}, word_pos).numpy()
        assert not np.allclose(no_segments, teacher(enc, word_pos).numpy(), atol=1e-4)
