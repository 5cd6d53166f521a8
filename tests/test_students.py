"""Every registered student x every task kind: shapes, gradients, padding invariance; plus the registry."""

import pytest
import torch

from kdbench.errors import KdbenchError
from kdbench.students import create_student, list_students
from kdbench.students.registry import count_parameters, register_student
from kdbench.tasks import KINDS

V, LABELS, ASPECTS, PAD = 50, 3, 4, 0
# Small widths keep the 25 combinations fast; test_default_sizes builds every student with its defaults.
TINY = {"bilstm": dict(emb_dim=16, hidden=8, n_heads=2, ffn=32),
        "cnn": dict(emb_dim=16, hidden=24, n_layers=2, kernel=3)}
TINY_BERT = dict(n_layers=1, max_positions=32)  # default widths and heads, so the three BERTs differ
LENGTHS = (5, 1, 3)  # includes a one-token text
SEQS = [torch.randint(1, V, (n,), generator=torch.Generator().manual_seed(n)) for n in LENGTHS]


def build(name, kind, seed=0, **kw):
    torch.manual_seed(seed)
    n_aspects = ASPECTS if kind == "multi-aspect" else 0
    return create_student(name, V, kind, LABELS, n_aspects, pad_id=PAD, **{**TINY.get(name, TINY_BERT), **kw})


def pad(seqs, extra_t=0, extra_w=0):
    """Right-padded ids and mask (B, T), and word_pos (B, W): a word starts at every other token, -1 after."""
    T, W = max(len(s) for s in seqs) + extra_t, max((len(s) + 1) // 2 for s in seqs) + extra_w
    ids = torch.full((len(seqs), T), PAD)
    word_pos = torch.full((len(seqs), W), -1)
    for i, s in enumerate(seqs):
        ids[i, : len(s)] = s
        starts = torch.arange(0, len(s), 2)
        word_pos[i, : len(starts)] = starts
    return ids, (ids != PAD).long(), word_pos


def expected_shape(kind, B, W):
    return {"multi-aspect": (B, ASPECTS, LABELS)}.get(kind, (B, W, LABELS) if "tagging" in kind else (B, LABELS))


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list_students())
def test_forward_backward(name, kind):
    model = build(name, kind).train()
    ids, mask, word_pos = pad(SEQS, extra_t=2, extra_w=1)
    out = model(ids, mask, word_pos)
    assert out.shape == expected_shape(kind, len(SEQS), word_pos.size(1))
    assert torch.isfinite(out).all()
    if "tagging" in kind:
        assert (out[word_pos == -1] == 0.0).all()
    out.pow(2).sum().backward()
    grad = model.get_input_embeddings().weight.grad
    assert grad is not None and grad[ids[mask.bool()]].abs().sum() > 0


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("name", list_students())
def test_padding_invariance(name, kind):
    """A text's logits are the same alone (no padding) and in a batch padded beyond its longest text."""
    model = build(name, kind).eval()
    with torch.no_grad():
        batched = model(*pad(SEQS, extra_t=3, extra_w=2))
        for i, s in enumerate(SEQS):
            alone = model(*pad([s]))[0]
            row = batched[i, : len(alone)] if "tagging" in kind else batched[i]
            torch.testing.assert_close(row, alone, atol=1e-5, rtol=1e-4)
            if "tagging" in kind:
                assert (batched[i, len(alone):] == 0.0).all()


@pytest.mark.parametrize("name", list_students())
def test_seeded_construction_is_deterministic(name):
    a, b, c = build(name, "single", seed=3), build(name, "single", seed=3), build(name, "single", seed=4)
    sa, sb, sc = a.state_dict(), b.state_dict(), c.state_dict()
    assert all(torch.equal(sa[k], sb[k]) for k in sa)
    assert not all(torch.equal(sa[k], sc[k]) for k in sa)


def test_default_sizes():
    """Defaults at vocab 10,000 (dim 300 for BiLSTM/CNN) land near the paper's totals; BERTs grow in order."""
    counts = {n: count_parameters(create_student(n, 10_000, "single", 3)) for n in list_students()}
    for name, c in counts.items():
        print(name, c)
        assert 0 < c["params_without_embeddings"] < c["params"]
    assert abs(counts["bilstm"]["params"] / 3.4e6 - 1) <= 0.25
    assert abs(counts["cnn"]["params"] / 4.0e6 - 1) <= 0.25
    assert counts["bilstm"]["params"] - counts["bilstm"]["params_without_embeddings"] == 10_000 * 300
    sizes = [counts[n]["params_without_embeddings"] for n in ("bert-tiny", "bert-mini", "bert-small")]
    assert sizes == sorted(sizes)


def test_create_student_errors():
    with pytest.raises(KdbenchError, match="unknown student 'lstm'.*bilstm.*cnn"):
        create_student("lstm", V, "single", LABELS)
    with pytest.raises(KdbenchError, match="'cnn'.*'n_layer'"):
        create_student("cnn", V, "single", LABELS, n_layer=2)
    with pytest.raises(KdbenchError, match="n_aspects"):
        create_student("bilstm", V, "multi-aspect", LABELS)


def test_registry_refuses_duplicates():
    before = list_students()
    with pytest.raises(ValueError, match="twice"):
        register_student("cnn", object)(lambda **kw: None)
    assert list_students() == before
