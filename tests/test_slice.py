"""The teacher-slice student (kdbench.distill.slice): cut from a real (tiny, random) teacher, it computes the
teacher's lowest layers exactly, takes the teacher's shape, trains, and refuses what it cannot copy."""

import pytest
import torch

from kdbench.config import DistillConfig
from kdbench.distill.slice import copy_teacher, teacher_shape
from kdbench.distill.train import Distiller
from kdbench.errors import KdbenchError
from kdbench.students import create_student
from kdbench.students.vocab import SubwordVocab

LABELS = ["negative", "neutral", "positive"]


def _slice(teacher, smsa, n_layers):
    vocab = SubwordVocab.build(teacher.tokenizer, [r["text"] for r in smsa], prefix=teacher.prefix)
    torch.manual_seed(0)
    student = create_student("teacher-slice", len(vocab), "single", 3, pad_id=vocab.pad_id,
                             **teacher_shape(teacher), n_layers=n_layers)
    return student, vocab, copy_teacher(student, teacher, vocab.kept_ids)


@pytest.mark.parametrize("n_layers", [1, 2])
def test_a_slice_computes_the_teachers_lowest_layers(tiny_teacher, smsa64, n_layers):
    teacher, smsa = tiny_teacher, smsa64
    student, vocab, info = _slice(teacher, smsa, n_layers)
    assert info["layers"] == list(range(n_layers)) and info["size"] == len(vocab) < len(teacher.tokenizer)
    ids, mask, _ = vocab.encode(smsa[:8], "single", 64)
    teacher_ids = torch.as_tensor(vocab.kept_ids)[ids]
    assert teacher_ids.tolist() == teacher.encode(smsa[:8])[0].tolist()  # the same pieces, the teacher's ids
    with torch.no_grad():
        mine = student.eval().encoder(input_ids=ids, attention_mask=mask).last_hidden_state
        theirs = teacher.encoder(input_ids=teacher_ids, attention_mask=mask, output_hidden_states=True)
    assert torch.equal(mine, theirs.hidden_states[n_layers])
    assert not torch.equal(mine, theirs.hidden_states[n_layers - 1])


def test_a_slice_takes_the_teachers_shape_and_pooling(tiny_teacher):
    teacher = tiny_teacher
    cfg = teacher.encoder.config
    assert teacher_shape(teacher) == {"hidden": cfg.hidden_size, "n_heads": cfg.num_attention_heads,
                                      "ffn": cfg.intermediate_size, "max_positions": cfg.max_position_embeddings,
                                      "pooling": "mean"}  # e5 was trained with mean pooling, as its teacher reads


def test_a_slice_learns_from_the_teacher_and_its_copied_layers_train(tiny_teacher, smsa64):
    teacher, smsa = tiny_teacher, smsa64[:48]
    student, vocab, _ = _slice(teacher, smsa, 1)
    layer = student.encoder.encoder.layer[0].attention.self.query.weight.detach().clone()
    cfg = DistillConfig(loss="mse", epochs=10, min_steps=0, patience=10, batch_size=16, lr=2e-3, seed=0)
    d = Distiller(student, vocab, "single", LABELS, cfg)
    soft = [torch.tensor([[2.0 if label == r["label"] else -2.0 for label in LABELS]]).numpy() for r in smsa]
    before = d.evaluate(smsa[:16], soft[:16])[0]["teacher_loss"]
    history = d.distill(list(zip(smsa, soft, [False] * len(smsa))), smsa[:16], soft[:16], log=lambda s: None)
    assert history[-1]["valid_teacher_loss"] < 0.5 * before, (before, history)
    assert not torch.equal(student.encoder.encoder.layer[0].attention.self.query.weight, layer)


def test_a_slice_deeper_than_its_teacher_or_of_another_architecture_is_one_error(tiny_teacher, smsa64):
    teacher, smsa = tiny_teacher, smsa64
    with pytest.raises(KdbenchError, match="n_layers 3 is more than the teacher's 2 layers"):
        _slice(teacher, smsa, 3)
    teacher.encoder.config.hidden_act = "relu"
    try:
        with pytest.raises(KdbenchError, match="with hidden_act 'gelu'; the teacher's is 'relu'"):
            teacher_shape(teacher)
    finally:
        teacher.encoder.config.hidden_act = "gelu"
