"""The student registry: `@register_student(name)` on a factory, `create_student(name, ...)` to build one.

A factory takes the common settings (vocab_size, kind, n_labels, n_aspects, pad_id) plus the student's
own overrides and returns an `nn.Module` whose `forward(input_ids, attention_mask, word_pos=None)` gives
logits in the teacher's shapes (see kdbench.teacher.model).
"""

from dataclasses import dataclass, fields

from torch import nn

from kdbench.errors import KdbenchError
from kdbench.registry import Registry
from kdbench.tasks import KINDS

STUDENTS = Registry("student")


@dataclass
class StudentConfig:
    """Settings every student shares; each student subclasses it with its own sizes (all defaulted)."""
    vocab_size: int
    kind: str                     # one of kdbench.tasks.KINDS
    n_labels: int
    n_aspects: int = 0            # multi-aspect only
    pad_id: int = 0               # the tokenizer's padding id (its embedding row stays zero)
    dropout: float = 0.1

    def __post_init__(self):
        if self.kind not in KINDS:
            raise KdbenchError(f"unknown task kind {self.kind!r} (choose one of {', '.join(KINDS)})")
        if self.n_labels < 1 or (self.kind == "multi-aspect" and self.n_aspects < 1):
            raise KdbenchError(f"a {self.kind} student needs n_labels >= 1"
                               + (" and n_aspects >= 1" if self.kind == "multi-aspect" else ""))


def register_student(name, config, from_teacher=()):
    """Decorator: register `fn(**settings) -> nn.Module` under `name`, with its config dataclass (what
    params.yaml `students.<name>.model` may override, but for the `from_teacher` fields, which distillation
    sets from the teacher); a second use of a name is a bug."""
    return STUDENTS.register(name, config=config, from_teacher=tuple(from_teacher))


def list_students():
    return STUDENTS.names()


def build_config(cls, defaults=None, **overrides):
    """`cls(**defaults, **overrides)`; an override the config does not have is a KdbenchError naming it."""
    valid = [f.name for f in fields(cls)]
    unknown = [k for k in overrides if k not in valid]
    if unknown:
        raise KdbenchError(f"unknown setting(s) {', '.join(map(repr, unknown))} (valid: {', '.join(valid)})")
    return cls(**{**(defaults or {}), **overrides})


def create_student(name, vocab_size, kind, n_labels, n_aspects=0, pad_id=0, **overrides) -> nn.Module:
    """Build the registered student `name` for a task of `kind`, with any config field overridden."""
    factory = STUDENTS.get(name)
    try:
        return factory(vocab_size=vocab_size, kind=kind, n_labels=n_labels, n_aspects=n_aspects,
                               pad_id=pad_id, **overrides)
    except KdbenchError as e:  # say which student the bad setting was for
        raise KdbenchError(f"student {name!r}: {e}") from None


def count_parameters(model):
    """Parameter counts: all of them, and all but the token embedding table(s).

    Position and segment embeddings count as model parameters: they do not grow with the vocabulary."""
    total = sum(p.numel() for p in model.parameters())
    emb = model.get_input_embeddings()
    tables = emb if isinstance(emb, (list, tuple)) else [emb]
    n_emb = sum(p.numel() for t in tables for p in t.parameters())
    return {"params": total, "params_without_embeddings": total - n_emb}
