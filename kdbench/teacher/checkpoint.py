"""A teacher you already have: a fine-tuned transformers checkpoint with its own task head, used as it is.

`teacher.checkpoint` names a `save_pretrained` directory (under the repository's checkpoints/ folder, which the
teacher stage depends on, so a changed checkpoint reruns everything after it) or a hub id (loaded once, by the
teacher stage; its copy in the teacher's output is what every later stage reads). Its labels are matched to the
task's by name, case-insensitively, after `teacher.label_map` (checkpoint name -> task label); whatever does
not match is one error naming both sets, and generic `LABEL_k` names need a label map: their order is never
assumed. The checkpoint's tokenizer encodes the inputs (a tagger reads each word's first sub-word, as the
fine-tuned teacher does), and the logits come out in the task's label order, so soft labels, students, bench
and report work unchanged.
"""

import hashlib
import json
import re
from pathlib import Path

import torch

from kdbench.errors import KdbenchError
from kdbench.teacher.model import META_FILE, Teacher

GENERIC = re.compile(r"^LABEL_\d+$")


def label_order(id2label, task_labels, label_map, source):
    """For each task label, the checkpoint's logit column holding it; a mismatch is one readable error."""
    names = {int(i): str(name) for i, name in id2label.items()}
    unknown = sorted(set(label_map) - set(names.values()))
    if unknown:
        raise KdbenchError(f"teacher.label_map: {unknown} are not labels of {source} (its labels: "
                           f"{[names[i] for i in sorted(names)]})")
    mapped = {i: label_map.get(name, name) for i, name in names.items()}
    generic = [name for name in mapped.values() if GENERIC.match(name)]
    if generic:
        raise KdbenchError(f"{source}: its labels are generic ({', '.join(generic[:4])}...): say which task label "
                           f"each one is with teacher.label_map (for example {{{generic[0]}: {task_labels[0]}}}); "
                           f"the task's labels are {list(task_labels)}")
    column = {name.lower(): i for i, name in mapped.items()}
    if len(column) != len(mapped) or sorted(column) != sorted(label.lower() for label in task_labels):
        raise KdbenchError(f"{source}: its labels {sorted(mapped.values())} (after teacher.label_map) are not the "
                           f"task's {sorted(task_labels)}: map the names that differ with teacher.label_map")
    return [column[label.lower()] for label in task_labels]


def files_digest(model_dir):
    """{file name: sha256} of a checkpoint's weight and config files: what the teacher's metrics record."""
    return {f.name: hashlib.sha256(f.read_bytes()).hexdigest() for f in sorted(Path(model_dir).iterdir())
            if f.is_file() and f.suffix in (".safetensors", ".json", ".bin", ".model", ".txt")}


class CheckpointTeacher(Teacher):
    """A transformers task model behind the Teacher interface: encode(records) and forward(input_ids,
    attention_mask, word_pos) -> logits in the task's label order (tagging: one row per word)."""

    def __init__(self, task_model, tokenizer, kind, labels, order, source, max_length=128):
        torch.nn.Module.__init__(self)
        self.task_model, self.tokenizer = task_model, tokenizer
        self.kind, self.labels, self.aspects = kind, list(labels), []
        self.order, self.source = list(order), source
        self.pooling, self.prefix, self.max_length = "checkpoint", "", max_length
        self.segments = "token_type_ids" in tokenizer.model_input_names and kind in ("pair", "qa-tagging")
        self.register_buffer("columns", torch.tensor(self.order), persistent=False)

    @property
    def encoder(self):  # the body under the head: its word table is what `embeddings: teacher` reads
        return self.task_model.base_model

    def forward(self, input_ids, attention_mask, word_pos=None):
        from kdbench.encoding import segment_ids
        enc = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.segments:
            enc["token_type_ids"] = segment_ids(input_ids, attention_mask, self.tokenizer.sep_token_id)
        logits = self.task_model(**enc).logits.index_select(-1, self.columns)
        if not self.is_tagging:
            return logits
        idx = word_pos.clamp(min=0).unsqueeze(-1).expand(-1, -1, logits.size(-1))
        words = torch.gather(logits, 1, idx)  # (B, W, L): each word's first sub-word
        return words.masked_fill((word_pos < 0).unsqueeze(-1), 0.0)

    def save(self, out_dir, backbone_dir=None, final_dir=None):
        out_dir = Path(out_dir)
        self.task_model.save_pretrained(out_dir)
        # the copy is read from this folder from now on; unpinned, the flag would record HF_HUB_OFFLINE's
        # value when the checkpoint was read, so the same checkpoint gave other bytes with and without it
        self.tokenizer.init_kwargs["local_files_only"] = True
        self.tokenizer.save_pretrained(out_dir)
        meta = dict(kind=self.kind, labels=self.labels, aspects=[], max_length=self.max_length,
                    checkpoint={"source": self.source, "order": self.order})
        (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, model_dir):
        model_dir = Path(model_dir)
        meta = json.loads((model_dir / META_FILE).read_text())
        task_model, tokenizer = _read(model_dir, meta["kind"])
        return cls(task_model, tokenizer, meta["kind"], meta["labels"], meta["checkpoint"]["order"],
                   meta["checkpoint"]["source"], meta["max_length"]).eval()


def _read(source, kind):
    from transformers import (
        AutoModelForSequenceClassification,
        AutoModelForTokenClassification,
        AutoTokenizer,
    )
    auto = AutoModelForSequenceClassification if kind in ("single", "pair") else AutoModelForTokenClassification
    try:
        return auto.from_pretrained(source), AutoTokenizer.from_pretrained(source)
    except (OSError, ValueError) as e:
        raise KdbenchError(f"teacher.checkpoint {str(source)!r}: not a {auto.__name__[4:]} checkpoint that "
                           f"transformers can load ({str(e).splitlines()[0]})")


def load_checkpoint(source, meta, cfg):
    """The checkpoint `source` as this task's teacher (labels mapped, length capped by teacher.max_length)."""
    kind = meta["kind"]
    if kind == "multi-aspect":
        raise KdbenchError(f"teacher.checkpoint {source!r}: a multi-aspect task needs one checkpoint per aspect, "
                           "which kdbench does not take yet: fine-tune a teacher here (teacher.backbone) instead")
    task_model, tokenizer = _read(source, kind)
    order = label_order(task_model.config.id2label, meta["labels"], cfg.label_map, source)
    limit = min(tokenizer.model_max_length, getattr(task_model.config, "max_position_embeddings", 10**6))
    return CheckpointTeacher(task_model, tokenizer, kind, meta["labels"], order, str(source),
                             min(cfg.max_length, limit)).eval()


def locate(name, checkpoints_dir):
    """A folder under checkpoints/ (named from the repository root, `checkpoints/my-model`) or a hub id.
    A folder elsewhere is refused: the teacher stage's DVC record could not see it change."""
    checkpoints_dir = Path(checkpoints_dir).resolve()
    local = (checkpoints_dir.parent / name).resolve()
    if local.is_dir():
        if not local.is_relative_to(checkpoints_dir):
            raise KdbenchError(f"teacher.checkpoint {name!r}: a local checkpoint goes under {checkpoints_dir} "
                               "(the teacher stage depends on that folder): copy it there, or `dvc add` it there")
        return local
    if Path(name).is_absolute() or Path(name).exists() or name.startswith((".", f"{checkpoints_dir.name}/")):
        raise KdbenchError(f"teacher.checkpoint {name!r}: no such folder under {checkpoints_dir}, and not a hub id")
    return name  # a hub id: transformers loads it once, here; later stages read the teacher's own copy
