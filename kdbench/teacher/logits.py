"""A teacher kdbench cannot run (an API, another framework): its logits, read from a file.

`teacher.logits` names a JSONL file under the repository's checkpoints/ folder (which the teacher stage depends
on, so a changed file reruns everything after it). Its first line names the logit columns, the rest give the
teacher's logits for one input each, the input written as in a prepared record:

  {"labels": ["negative", "neutral", "positive"]}
  {"text": "makanannya enak", "logits": [-1.2, 0.3, 2.0]}                 single-text classification
  {"text": "...", "text_b": "...", "logits": [...]}                        sentence pairs
  {"tokens": ["Joko", "ke", "Bandung"], "logits": [[...], [...], [...]]}   tagging: one row per word
  {"question": [...], "tokens": [...], "logits": [[...], ...]}             QA tagging

The columns are matched to the task's labels by name (teacher.label_map for names that differ, as for a
checkpoint). The file must hold every train, valid and test example (the teacher stage scores valid and test
from it) and every text of the transfer set the softlabels stage builds; `kdbench texts` writes that list, in
the format above without the logits, for the teacher to label. A missing or extra text, a row of the wrong
width, a non-finite value or a line that is not JSON is one error naming the file and the line.

The teacher stage stores the table (texts.jsonl + logits.safetensors) as the teacher's model directory;
LogitsTeacher looks inputs up in it behind the Teacher interface, so soft labels and students work unchanged.
It has no network to time or export: the bench measures the students and the reference, and reports no
speed-up against this teacher.
"""

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from safetensors.torch import load_file, save_file

from kdbench.errors import KdbenchError
from kdbench.io import read_jsonl, write_jsonl
from kdbench.tasks import CLASSIFICATION_KINDS
from kdbench.teacher.checkpoint import label_order
from kdbench.teacher.model import META_FILE

INPUT_FIELDS = ("text", "text_b", "question", "tokens")
TABLE, TEXTS = "logits.safetensors", "texts.jsonl"
UNK = "<unk>"  # the word augmentation masks with, in the texts a logits-file teacher labels


def input_of(record):
    """The input fields of a prepared record (or of a line of the file): what identifies it."""
    return {k: record[k] for k in INPUT_FIELDS if k in record}


def key_of(record):
    return json.dumps(input_of(record), ensure_ascii=False, sort_keys=True)


def _rows(value, kind, width, words):
    """The logits of one line as a float32 array ((width,) or (words, width)), or None if they do not fit."""
    try:
        rows = np.asarray(value, dtype=np.float32)
    except (TypeError, ValueError):
        return None
    tagging = kind not in CLASSIFICATION_KINDS
    shape = (words, width) if tagging else (width,)
    return rows if rows.shape == shape else None


def read_file(path, kind, task_labels, label_map):
    """({key: logits in the task's label order}, {file label: task label}) of a logits file; one error line for
    anything wrong."""
    path = Path(path)
    if kind == "multi-aspect":
        raise KdbenchError(f"teacher.logits {path}: a multi-aspect task is not supported from a logits file: fine-tune "
                           "a teacher here (teacher.backbone) instead")
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        raise KdbenchError(f"teacher.logits: {path}: no such file") from None
    except UnicodeDecodeError as e:
        raise KdbenchError(f"{path}: not UTF-8 ({e.reason} at byte {e.start})") from None

    def parsed(n):
        try:
            value = json.loads(lines[n - 1])
        except json.JSONDecodeError as e:
            raise KdbenchError(f"{path}:{n}: not a JSON object ({e.msg})") from None
        if not isinstance(value, dict):
            raise KdbenchError(f"{path}:{n}: not a JSON object")
        return value

    if not lines:
        raise KdbenchError(f"{path}: empty (line 1 names the logit columns: {{\"labels\": [...]}})")
    header = parsed(1)
    names = header.get("labels")
    if not isinstance(names, list) or not names or not all(isinstance(x, str) for x in names):
        raise KdbenchError(f"{path}:1: the first line names the logit columns: {{\"labels\": [\"...\", ...]}}")
    order = label_order(dict(enumerate(names)), task_labels, label_map, str(path))
    field = "tokens" if kind not in CLASSIFICATION_KINDS else "text"
    table, first = {}, {}  # key -> rows, and the line it was first given on
    for n in range(2, len(lines) + 1):
        if not lines[n - 1].strip():
            continue
        line = parsed(n)
        if field not in line or "logits" not in line:
            raise KdbenchError(f"{path}:{n}: needs \"{field}\" and \"logits\" (a {kind} task)")
        text = line[field]
        if not (isinstance(text, str) if field == "text" else isinstance(text, list) and all(
                isinstance(w, str) for w in text)):
            raise KdbenchError(f"{path}:{n}: \"{field}\" is {'a string' if field == 'text' else 'a list of words'}")
        words = len(line["tokens"]) if field == "tokens" else None
        rows = _rows(line["logits"], kind, len(names), words)
        if rows is None:
            want = f"{words} rows (one a word) of {len(names)}" if words is not None else f"{len(names)}"
            raise KdbenchError(f"{path}:{n}: the logits are not {want} numbers (the header names {len(names)} labels)")
        if not np.isfinite(rows).all():
            raise KdbenchError(f"{path}:{n}: logits not finite (NaN or infinite)")
        rows = rows[..., order]
        key = key_of(line)
        if key in table and not np.array_equal(table[key], rows):
            raise KdbenchError(f"{path}:{n}: the input of line {first[key]} again, with other logits")
        table.setdefault(key, rows)
        first.setdefault(key, n)
    return table, dict(zip([names[i] for i in order], task_labels))


def _preview(record):
    text = " ".join(record["tokens"]) if "tokens" in record else record["text"]
    return text if len(text) <= 60 else text[:57] + "..."


def require(table, records, what, source):
    """Every record's input in the table, or one line: how many are missing, and the first."""
    missing = [r for r in records if key_of(r) not in table]
    if missing:
        raise KdbenchError(f"teacher.logits {source}: no logits for {len(missing)} of the {len(records)} {what} "
                           f"(first: {_preview(missing[0])!r}); `kdbench texts` lists every input to label")


class LogitsTeacher(torch.nn.Module):
    """A table of logits behind the Teacher interface: encode(records) -> (row ids,), forward(ids) -> logits
    (B, labels) or (B, words, labels), zero-padded. An input not in the table is one error line."""

    def __init__(self, keys, table, kind, labels, source):
        super().__init__()
        self.kind, self.labels, self.aspects, self.source = kind, list(labels), [], source
        self.keys, self.index = list(keys), {k: i for i, k in enumerate(keys)}
        self.prefix, self.tokenizer, self.unk_token = "", None, UNK
        self.register_buffer("table", table)

    @classmethod
    def from_rows(cls, table, kind, labels, source):
        """From {key: rows}: in key order (the same file gives the same bytes), tagging rows zero-padded."""
        keys = sorted(table)
        rows = [torch.from_numpy(np.asarray(table[k], dtype=np.float32)) for k in keys]
        if kind not in CLASSIFICATION_KINDS:
            padded = torch.zeros(len(rows), max(len(r) for r in rows), len(labels))
            for i, r in enumerate(rows):
                padded[i, : len(r)] = r
            return cls(keys, padded, kind, labels, source)
        return cls(keys, torch.stack(rows), kind, labels, source)

    @property
    def is_tagging(self):
        return self.kind not in CLASSIFICATION_KINDS

    def encode(self, records):
        require(self.index, records, "inputs asked of it", self.source)
        return (torch.tensor([self.index[key_of(r)] for r in records], dtype=torch.long),)

    def forward(self, ids):
        return self.table.index_select(0, ids)

    def save(self, out_dir, backbone_dir=None, final_dir=None):
        out_dir = Path(out_dir)
        write_jsonl(out_dir / TEXTS, [json.loads(k) for k in self.keys])
        save_file({"table": self.table.contiguous()}, out_dir / TABLE)
        meta = dict(kind=self.kind, labels=self.labels, aspects=[], logits={"source": self.source})
        (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, model_dir):
        model_dir = Path(model_dir)
        meta = json.loads((model_dir / META_FILE).read_text())
        keys = [key_of(r) for r in read_jsonl(model_dir / TEXTS)]
        return cls(keys, load_file(model_dir / TABLE)["table"], meta["kind"], meta["labels"],
                   meta["logits"]["source"]).eval()


def locate(name, checkpoints_dir):
    """A file under checkpoints/ (named from the repository root, `checkpoints/teacher-smsa.jsonl`)."""
    checkpoints_dir = Path(checkpoints_dir).resolve()
    path = (checkpoints_dir.parent / name).resolve()
    if not path.is_relative_to(checkpoints_dir):
        raise KdbenchError(f"teacher.logits {name!r}: the file goes under {checkpoints_dir} (the teacher stage "
                           "depends on that folder)")
    if not path.is_file():
        raise KdbenchError(f"teacher.logits {name!r}: no such file under {checkpoints_dir}")
    return path


def load_teacher(name, checkpoints_dir, meta, splits, label_map):
    """The teacher stage's teacher from `teacher.logits`: the file read and checked against the task's splits
    (every train, valid and test example present). Returns (teacher, what the metrics record of it)."""
    path = locate(name, checkpoints_dir)
    table, mapping = read_file(path, meta["kind"], meta["labels"], label_map)
    for split, records in splits.items():
        require(table, records, f"{split} examples", name)
    teacher = LogitsTeacher.from_rows(table, meta["kind"], meta["labels"], name)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    return teacher, {"source": name, "label_map": mapping, "sha256": digest, "inputs": len(table)}


def check_extra(teacher, wanted):
    """The file's inputs that are neither an example of the task nor a transfer text: one error line (a file
    made for another task, or for another transfer set than this one)."""
    extra = sorted(set(teacher.keys) - {key_of(r) for r in wanted})
    if extra:
        first = json.loads(extra[0])
        raise KdbenchError(f"teacher.logits {teacher.source}: {len(extra)} inputs are neither examples of the task "
                           f"nor texts of its transfer set (first: {_preview(first)!r}); `kdbench texts` lists "
                           "the inputs to label, for these params")


def is_logits_teacher(model_dir):
    meta = Path(model_dir) / META_FILE
    return meta.is_file() and "logits" in json.loads(meta.read_text())

