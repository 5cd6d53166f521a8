"""Layer-wise distillation (kdbench.distill.layers): the layer map, the loss terms, and a BERT student
learning a real (tiny, random) teacher's layers on SmSA sentences."""

import pytest
import torch
from torch import nn

from kdbench.config import DistillConfig
from kdbench.distill.layers import LayerMatch, layer_loss, layer_map
from kdbench.distill.train import Distiller
from kdbench.errors import KdbenchError
from kdbench.students import create_student
from kdbench.students.vocab import SubwordVocab

LABELS = ["negative", "neutral", "positive"]


def test_student_layers_map_uniformly_onto_the_teachers():
    assert layer_map(4, 12) == [0, 3, 6, 9, 12]     # BERT-Mini / Small on e5-small (TinyBERT's g(m) = 3m)
    assert layer_map(2, 12) == [0, 6, 12]           # BERT-Tiny
    assert layer_map(2, 2) == [0, 1, 2]


def _states(seed, B=3, T=5, H=4, heads=2, layers=2):
    g = torch.Generator().manual_seed(seed)
    hidden = [torch.randn(B, T, H, generator=g) for _ in range(layers + 1)]
    attn = [torch.softmax(torch.randn(B, heads, T, T, generator=g), -1) for _ in range(layers)]
    return hidden, attn


def test_layer_loss_is_zero_on_a_match_ignores_padding_and_measures_a_shift():
    hidden, attn = _states(0)
    mask = torch.tensor([[1, 1, 1, 1, 1], [1, 1, 1, 0, 0], [1, 0, 0, 0, 0]])
    identity = nn.Linear(4, 4)
    with torch.no_grad():
        identity.weight.copy_(torch.eye(4))
        identity.bias.zero_()
    loss = lambda *args: [float(x.detach()) for x in layer_loss(*args, mask, identity)]  # noqa: E731
    assert loss(hidden, hidden, attn, attn) == [0.0, 0.0]
    padded = [h.clone() for h in hidden]
    for h in padded:
        h[1, 3:] += 5.0                                 # only padding differs
    assert loss(padded, hidden, attn, attn) == [0.0, 0.0]
    shifted = [h + 1.0 for h in hidden]                 # every real value 1 off: a mean squared error of 1
    assert loss(shifted, hidden, attn, attn)[0] == pytest.approx(1.0)
    other = _states(1)[1]                               # different attention: a positive term, heads averaged
    assert loss(hidden, hidden, other, attn)[1] > 0.01


def test_a_bert_student_learns_the_teachers_layers(smsa64, tiny_teacher):
    smsa, teacher = smsa64, tiny_teacher
    vocab = SubwordVocab.build(teacher.tokenizer, [r["text"] for r in smsa])
    torch.manual_seed(0)
    student = create_student("bert-tiny", len(vocab), "single", 3, pad_id=vocab.pad_id)
    layers = LayerMatch(teacher, student)
    cfg = DistillConfig(loss="mse+layers", epochs=4, min_steps=0, patience=4, batch_size=16, lr=1e-3, seed=0)
    d = Distiller(student, vocab, "single", LABELS, cfg, layers=layers)
    soft = [torch.randn(1, 3).numpy() for _ in smsa]
    examples = list(zip(smsa, soft, [False] * len(smsa)))

    def layer_term():
        ids, mask, _ = vocab.encode(smsa, "single", cfg.max_length)
        with torch.no_grad():
            return float(layers(student, ids, mask, None, d.to_teacher[ids])[1])

    before, proj = layer_term(), layers.proj.weight.detach().clone()
    assert d.to_teacher[vocab.encode(smsa[:2], "single", 64)[0]].tolist() == \
        teacher.encode(smsa[:2])[0].tolist()          # the teacher reads its own ids of the same pieces
    d.distill(examples, smsa[:16], soft[:16], log=lambda s: None)
    assert layer_term() < 0.7 * before, (before, layer_term())
    assert not torch.equal(layers.proj.weight, proj)   # the projection trains with the student
    assert not any(p is q for p in layers.parameters() for q in teacher.parameters())  # the teacher stays fixed


def test_a_layer_wise_loss_needs_a_bert_student(tiny_teacher):
    teacher = tiny_teacher
    with pytest.raises(KdbenchError, match="needs a BERT student .* not BiLSTMStudent"):
        LayerMatch(teacher, create_student("bilstm", 100, "single", 3))
