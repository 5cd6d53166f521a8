"""Loading a trained model (teacher or student) the way a deployment would: no training code, no teacher
for a student. Kept apart from the harness so the RSS subprocess imports as little as possible."""

from dataclasses import dataclass
from pathlib import Path

import torch

from kdbench.bench.export import TeacherCore


@dataclass
class Loaded:
    """A model reduced to what inference needs: encode(records) -> (ids, mask, word_pos) and a core module
    with forward(ids, mask, word_pos) -> logits."""
    core: torch.nn.Module
    encode: object
    kind: str
    labels: list
    file_bytes: int
    params: int
    params_without_embeddings: int


def load(model_dir):
    model_dir = Path(model_dir)
    if (model_dir / "kdbench_teacher.json").is_file():
        from kdbench.teacher.model import Teacher
        teacher = Teacher.load(model_dir)

        def encode(records):
            enc, word_pos = teacher.encode(records)
            return enc["input_ids"], enc["attention_mask"], word_pos

        emb = teacher.encoder.get_input_embeddings().weight.numel()
        n = sum(p.numel() for p in teacher.parameters())
        size = sum(f.stat().st_size for f in model_dir.glob("*.safetensors"))
        return Loaded(TeacherCore(teacher).eval(), encode, teacher.kind, teacher.labels, size, n, n - emb)
    from kdbench.predict import WEIGHTS, load_student
    student, vocab, cfg = load_student(model_dir)
    emb = student.get_input_embeddings().weight.numel()
    n = sum(p.numel() for p in student.parameters())
    return Loaded(student, lambda records: vocab.encode(records, cfg["kind"], cfg["max_length"]), cfg["kind"],
                  cfg["labels"], (model_dir / WEIGHTS).stat().st_size, n, n - emb)
