"""The `teacher-slice` student's start: the teacher itself, cut to its lowest layers (DistilBERT's initialisation).

`teacher_shape(teacher)` gives the student config fields the registry says come from the teacher (width, heads,
FFN, positions, pooling); `copy_teacher(student, teacher, kept_ids)` copies in the teacher's word rows of the
student's pruned vocabulary (kdbench.students.vocab.SubwordVocab), its position, segment and layer-norm
embeddings and its lowest `n_layers` encoder layers. The task head starts fresh: distillation trains it and every
copied weight. A slice reads exactly what the teacher reads, so its first layers compute the teacher's first
layers' states (tests/test_slice.py checks that to the last bit).
"""

import math

import torch

from kdbench.errors import KdbenchError

# the BERT settings a slice takes as BertModel's defaults: a teacher with others would not be reproduced by it
_SAME = {"model_type": "bert", "hidden_act": "gelu", "position_embedding_type": "absolute", "layer_norm_eps": 1e-12,
         "type_vocab_size": 2}


def _encoder(teacher):
    encoder = getattr(teacher, "encoder", None)
    if encoder is None:
        raise KdbenchError("teacher-slice starts from the teacher's encoder, and a teacher from a logits file "
                           "(teacher.logits) has none: distil another student")
    cfg = encoder.config
    for key, value in _SAME.items():
        theirs = getattr(cfg, key, value)
        if theirs != value and not (isinstance(value, float) and math.isclose(theirs, value, rel_tol=1e-6)):
            raise KdbenchError(f"teacher-slice copies a BERT encoder with {key} {value!r}; the teacher's is "
                               f"{theirs!r}: distil another student")
    return encoder


def teacher_shape(teacher):
    """{hidden, n_heads, ffn, max_positions, pooling} of the teacher: the slice's own are these."""
    cfg = _encoder(teacher).config
    return {"hidden": cfg.hidden_size, "n_heads": cfg.num_attention_heads, "ffn": cfg.intermediate_size,
            "max_positions": cfg.max_position_embeddings,
            # a fine-tuned checkpoint's classifier read the first position ([CLS]), as BERT's does
            "pooling": "mean" if teacher.pooling == "mean" else "first"}


@torch.no_grad()
def copy_teacher(student, teacher, kept_ids):
    """Overwrite a teacher-slice student's encoder with the teacher's (word rows `kept_ids`, in the student's id
    order) and say what was copied."""
    source, target = _encoder(teacher), student.encoder
    n_layers, n_teacher = len(target.encoder.layer), len(source.encoder.layer)
    if n_layers > n_teacher:
        raise KdbenchError(f"teacher-slice: n_layers {n_layers} is more than the teacher's {n_teacher} layers "
                           f"(students.teacher-slice.model.n_layers)")
    emb, t_emb = target.embeddings, source.embeddings
    emb.word_embeddings.weight.copy_(t_emb.word_embeddings.weight[torch.as_tensor(kept_ids)])
    for name in ("position_embeddings", "token_type_embeddings", "LayerNorm"):
        getattr(emb, name).load_state_dict(getattr(t_emb, name).state_dict())
    for layer, t_layer in zip(target.encoder.layer, source.encoder.layer):
        layer.load_state_dict(t_layer.state_dict())
    return {"kind": "teacher-slice", "layers": list(range(n_layers)), "teacher_layers": n_teacher,
            "size": len(kept_ids), "dim": emb.word_embeddings.embedding_dim}
