"""`kdbench predict`: label text with a saved student. Needs only the student's directory (weights, config,
vocabulary): no teacher and no training code."""

import sys

from kdbench.errors import KdbenchError
from kdbench.students.artifact import load_student
from kdbench.tasks import decode


def parse_line(line, kind, n):
    """One input line -> a record: text; text<TAB>text_b (pair); tokens (tagging); question<TAB>passage (qa)."""
    parts = line.rstrip("\n").split("\t")
    if not line.strip() or not all(p.strip() for p in parts):
        raise KdbenchError(f"line {n}: empty input")
    want = 2 if kind in ("pair", "qa-tagging") else 1
    if len(parts) != want:
        raise KdbenchError(f"line {n}: expected {want} TAB-separated field(s) for a {kind} task, got {len(parts)}")
    if kind == "pair":
        return {"text": parts[0], "text_b": parts[1]}
    if kind == "qa-tagging":
        return {"question": parts[0].split(), "tokens": parts[1].split()}
    return {"tokens": parts[0].split()} if kind == "tagging" else {"text": parts[0]}


def predict_lines(model_dir, lines, warn=lambda msg: print(msg, file=sys.stderr)):
    """Labels for each input line, formatted for printing."""
    import torch

    student, vocab, config = load_student(model_dir)
    kind, labels, max_len = config["kind"], config["labels"], config["max_length"]
    records = [parse_line(line, kind, n) for n, line in enumerate(lines, 1)]
    if not records:
        raise KdbenchError("no input lines")
    out = []
    with torch.no_grad():
        for n, rec in enumerate(records, 1):
            ids, mask, word_pos = vocab.encode([rec], kind, max_len)
            if int(mask.sum()) >= max_len:
                warn(f"line {n}: longer than {max_len} tokens; the rest is cut off"
                     + (" (those words are tagged O)" if word_pos is not None else ""))
            logits = student(ids, mask, word_pos)[0].numpy()
            if word_pos is not None:
                logits = logits[: len(rec["tokens"])]
            pred = decode(logits, labels, kind)
            if kind == "multi-aspect":
                out.append(" ".join(f"{a}={p}" for a, p in zip(config["aspects"], pred)))
            elif word_pos is not None:
                out.append(" ".join(f"{t}/{p}" for t, p in zip(rec["tokens"], pred)))
            else:
                out.append(pred)
    return out
