"""A trained student on disk: everything inference needs and nothing else, so `kdbench predict`, the
benchmark and a deployment load it without the teacher or the training code.

  model.safetensors   the weights
  student.json        the config it is rebuilt from (student name, size overrides, kind, labels, ...)
  vocab               the vocabulary: a JSON file (WordVocab) or a tokenizer directory (SubwordVocab)
"""

import json
from pathlib import Path

from safetensors.torch import load_file, save_file

from kdbench.errors import KdbenchError
from kdbench.io import atomic_path, write_json
from kdbench.students.registry import create_student
from kdbench.students.vocab import load_vocab

WEIGHTS, CONFIG, VOCAB_DIR = "model.safetensors", "student.json", "vocab"


def student_config(name, overrides, kind, labels, aspects, vocab, max_length, **extra):
    """The config `load_student` rebuilds a student from; `extra` is recorded as it is."""
    return {"student": name, "overrides": overrides, "kind": kind, "labels": labels, "aspects": aspects,
            "max_length": max_length, "vocab_size": len(vocab), "pad_id": vocab.pad_id, **extra}


def save_student(student, vocab, config, out_dir):
    """Write the student directory atomically: weights, vocabulary, config (labels included)."""
    with atomic_path(out_dir, is_dir=True) as tmp:
        save_file({k: v.detach().cpu().contiguous() for k, v in student.state_dict().items()}, tmp / WEIGHTS)
        vocab.save(tmp / VOCAB_DIR)
        write_json(tmp / CONFIG, config)


def load_student(model_dir):
    """(student in eval mode, vocabulary, config) from a student directory."""
    model_dir = Path(model_dir)
    if not (model_dir / CONFIG).is_file():
        raise KdbenchError(f"{model_dir}: no trained student here (run `dvc repro` first)")
    config = json.loads((model_dir / CONFIG).read_text())
    vocab = load_vocab(model_dir / VOCAB_DIR)
    student = create_student(config["student"], config["vocab_size"], config["kind"], len(config["labels"]),
                             len(config["aspects"] or []), pad_id=config["pad_id"], **config["overrides"])
    student.load_state_dict(load_file(model_dir / WEIGHTS))
    return student.eval(), vocab, config
