"""Loading a trained model (teacher or student) the way a deployment would: no training code, no teacher
for a student. Kept apart from the harness so the RSS subprocess imports as little as possible."""

from dataclasses import dataclass
from pathlib import Path

TEACHER_MARKER = "kdbench_teacher.json"
REFERENCE_MARKER = "reference.json"


@dataclass
class Loaded:
    """A model reduced to what inference needs: encode(records) -> (ids, mask, word_pos) and a core module
    with forward(ids, mask, word_pos) -> logits."""
    core: object            # a torch module; for the reference, the fitted reference (kdbench.reference)
    encode: object
    kind: str
    labels: list
    file_bytes: int
    params: int
    params_without_embeddings: int


def load(model_dir):
    model_dir = Path(model_dir)
    if (model_dir / REFERENCE_MARKER).is_file():  # no torch: it reads the records themselves
        from kdbench.reference import load_reference
        model = load_reference(model_dir)
        size = sum(f.stat().st_size for f in model_dir.iterdir())
        return Loaded(model, lambda records: (records,), model.kind, None, size, model.n_params(), model.n_params())
    if (model_dir / TEACHER_MARKER).is_file():
        from kdbench.teacher.model import Teacher, weight_bytes
        model = Teacher.load(model_dir)
        encode, kind, labels = model.encode, model.kind, model.labels
        emb = model.encoder.get_input_embeddings().weight.numel()
        size = weight_bytes(model_dir)  # the word table it shares with the backbone counted in
    else:
        from kdbench.students.artifact import WEIGHTS, load_student
        model, vocab, cfg = load_student(model_dir)
        kind, labels = cfg["kind"], cfg["labels"]
        encode = lambda records: vocab.encode(records, kind, cfg["max_length"])  # noqa: E731
        emb = model.get_input_embeddings().weight.numel()
        size = (model_dir / WEIGHTS).stat().st_size
    n = sum(p.numel() for p in model.parameters())
    return Loaded(model.eval(), encode, kind, labels, size, n, n - emb)
