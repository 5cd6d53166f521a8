"""The teacher: a pretrained encoder plus one task head, for every task kind.

  single / pair   pooled sentence vector (mean or first token) -> Linear(H, labels)
  multi-aspect    pooled vector -> Linear(H, aspects * labels), one softmax per aspect
  tagging         first sub-word of every word -> Linear(H, labels)
  qa-tagging      question and passage as a pair; first sub-word of every passage word -> Linear(H, labels)

Saved as a Hugging Face `save_pretrained` directory (encoder + tokenizer) with the head in
`head.safetensors` and everything else needed to rebuild it in `kdbench_teacher.json`. A word table that
stayed frozen in training (e5's is 96M of its 118M weights, 384 of a teacher's 487 MB) is not written again:
the teacher refers to the backbone directory's copy by relative path and digest, so 14 teachers store it
once, and `Teacher.load(dir)` puts it back.
"""

import hashlib
import json
import math
import os
from pathlib import Path

import torch
from safetensors import safe_open
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoConfig, AutoModel

from kdbench.encoding import hf_encode, load_tokenizer, segment_ids
from kdbench.errors import KdbenchError
from kdbench.tasks import CLASSIFICATION_KINDS

HEAD_FILE, META_FILE = "head.safetensors", "kdbench_teacher.json"


class Teacher(nn.Module):
    def __init__(self, encoder, tokenizer, kind, labels, aspects=None, pooling="mean", prefix="",
                 max_length=128):
        super().__init__()
        self.encoder, self.tokenizer = encoder, tokenizer
        self.kind, self.labels, self.aspects = kind, list(labels), list(aspects or [])
        self.pooling, self.prefix, self.max_length = pooling, prefix, max_length
        n_out = len(self.labels) * max(1, len(self.aspects))
        self.head = nn.Linear(encoder.config.hidden_size, n_out)
        self.dropout = nn.Dropout(0.1)
        # BERT-style tokenizers mark a pair's second text with token_type_ids 1; XLM-R style ones (e5) have none
        self.segments = "token_type_ids" in tokenizer.model_input_names and kind in ("pair", "qa-tagging")

    @property
    def is_tagging(self):
        return self.kind not in CLASSIFICATION_KINDS

    # ---- inputs -------------------------------------------------------------------------------
    def encode(self, records):
        """(input_ids, attention_mask, word_pos) of a batch of prepared records (see kdbench.encoding)."""
        return hf_encode(self.tokenizer, records, self.kind, self.max_length, self.prefix)

    def targets(self, records, word_pos=None):
        """Gold label ids: (B,), (B, aspects) or (B, W) with -100 where there is no prediction."""
        index = {label: i for i, label in enumerate(self.labels)}
        if self.kind == "multi-aspect":
            return torch.tensor([[index[a] for a in r["labels"]] for r in records])
        if not self.is_tagging:
            return torch.tensor([index[r["label"]] for r in records])
        y = torch.full(word_pos.shape, -100, dtype=torch.long)
        for i, r in enumerate(records):
            y[i, : len(r["tags"])] = torch.tensor([index[t] for t in r["tags"]])
        return y.masked_fill(word_pos < 0, -100)

    # ---- forward ------------------------------------------------------------------------------
    def forward(self, input_ids, attention_mask, word_pos=None):
        """Logits: (B, labels), (B, aspects, labels) or (B, W, labels) for tagging (zeros at word_pos -1)."""
        enc = {"input_ids": input_ids, "attention_mask": attention_mask}
        if self.segments:  # derived from [SEP], so the exported graph takes the same two inputs
            enc["token_type_ids"] = segment_ids(input_ids, attention_mask, self.tokenizer.sep_token_id)
        hidden = self.encoder(**enc).last_hidden_state  # (B, T, H)
        if self.is_tagging:
            idx = word_pos.clamp(min=0).unsqueeze(-1).expand(-1, -1, hidden.size(-1))
            words = torch.gather(hidden, 1, idx)  # (B, W, H)
            logits = self.head(self.dropout(words))
            return logits.masked_fill((word_pos < 0).unsqueeze(-1), 0.0)
        if self.pooling == "mean":
            mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
            pooled = (hidden * mask).sum(1) / mask.sum(1).clamp(min=1)
        else:  # first token ([CLS] / <s>)
            pooled = hidden[:, 0]
        logits = self.head(self.dropout(pooled))
        if self.kind == "multi-aspect":  # the batch size stays symbolic, so exported graphs take any batch
            logits = logits.unflatten(-1, (len(self.aspects), len(self.labels)))
        return logits

    # ---- persistence --------------------------------------------------------------------------
    def save(self, out_dir, backbone_dir=None, final_dir=None):
        """Write the teacher to `out_dir` (a temporary directory that is renamed to `final_dir` afterwards,
        when they differ). With `backbone_dir`, a word table equal to the backbone's is stored by reference."""
        out_dir = Path(out_dir)
        meta = dict(kind=self.kind, labels=self.labels, aspects=self.aspects, pooling=self.pooling,
                    prefix=self.prefix, max_length=self.max_length)
        state = self.encoder.state_dict()
        key = _word_table_key(self.encoder)
        if backbone_dir is not None and torch.equal(state[key].cpu(), read_tensor(backbone_dir, key)):
            meta["word_table"] = {"backbone": os.path.relpath(backbone_dir, final_dir or out_dir), "key": key,
                                  "rows_sha256": _rows_digest(state[key])}
            state = {k: v for k, v in state.items() if k != key}
        self.encoder.save_pretrained(out_dir, state_dict=state)
        self.tokenizer.save_pretrained(out_dir)
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, out_dir / HEAD_FILE)
        (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, model_dir):
        model_dir = Path(model_dir)
        meta = json.loads((model_dir / META_FILE).read_text())
        if "checkpoint" in meta:  # a fine-tuned checkpoint used as it is (teacher.checkpoint)
            from kdbench.teacher.checkpoint import CheckpointTeacher
            return CheckpointTeacher.load(model_dir)
        if "logits" in meta:  # a table of logits from a file (teacher.logits)
            from kdbench.teacher.logits import LogitsTeacher
            return LogitsTeacher.load(model_dir)
        shared = meta.pop("word_table", None)
        if shared:
            # the backbone's weights, memory-mapped as from_pretrained maps them (so the 384 MB table is read
            # only where it is used), under the teacher's config; then the teacher's own weights on top
            backbone = _backbone(model_dir, shared)
            encoder = AutoModel.from_pretrained(backbone, config=AutoConfig.from_pretrained(model_dir))
            missing, unexpected = encoder.load_state_dict(load_file(model_dir / "model.safetensors"), strict=False)
            if missing != [shared["key"]] or unexpected:
                raise KdbenchError(f"{model_dir}: its weights do not fit its config (missing {missing[:3]}, "
                                   f"unexpected {unexpected[:3]})")
            _check_rows(encoder.get_input_embeddings().weight, model_dir, backbone, shared)
        else:
            encoder = AutoModel.from_pretrained(model_dir)
        teacher = cls(encoder, load_tokenizer(model_dir), **meta)
        teacher.head.load_state_dict(load_file(model_dir / HEAD_FILE))
        return teacher.eval()


def _word_table_key(encoder):
    table = encoder.get_input_embeddings().weight
    return next(name for name, p in encoder.named_parameters() if p is table)


ROW_STEP = 997  # the digest of a shared table covers every 997th row: cheap on a memory-mapped table


def _rows_digest(table):
    rows = table.detach().cpu()[::ROW_STEP].contiguous()
    return hashlib.sha256(rows.view(torch.uint8).numpy().tobytes()).hexdigest()


def _backbone(model_dir, shared):
    backbone = Path(model_dir) / shared["backbone"]
    if not backbone.is_dir():
        raise KdbenchError(f"{model_dir}: its word table is the backbone's at {backbone} "
                           f"({META_FILE}: word_table), which is missing (dvc checkout models/backbone)")
    return backbone


def _check_rows(table, model_dir, backbone, shared):
    if _rows_digest(table) != shared["rows_sha256"]:
        raise KdbenchError(f"{model_dir}: the word table in {backbone} is not the one this teacher was trained "
                           "with (its digest differs): rerun the teacher stage")


def _tensor_file(model_dir, key):
    """(file, name) of one tensor of a `save_pretrained` directory (one safetensors file or an index of
    shards), found by the name it has in the encoder's state dict (a checkpoint may prefix it, e.g. `bert.`)."""
    model_dir = Path(model_dir)
    index = model_dir / "model.safetensors.index.json"
    files = sorted(set(json.loads(index.read_text())["weight_map"].values())) if index.is_file() else \
        ["model.safetensors"]
    for name in files:
        with safe_open(str(model_dir / name), framework="pt") as f:
            for k in f.keys():
                if k == key or k.endswith("." + key):
                    return model_dir / name, k
    raise KdbenchError(f"{model_dir}: no tensor {key!r} in its weights")


def read_tensor(model_dir, key):
    path, name = _tensor_file(model_dir, key)
    with safe_open(str(path), framework="pt") as f:
        return f.get_tensor(name)


def _shared(model_dir):
    """A teacher's word_table record, or None (its own table, or a plain `save_pretrained` directory)."""
    meta = Path(model_dir) / META_FILE
    return json.loads(meta.read_text()).get("word_table") if meta.is_file() else None


def word_table(model_dir):
    """The teacher's input word table: its own, or the backbone's it refers to (checked by digest)."""
    shared = _shared(model_dir)
    if not shared:
        return AutoModel.from_pretrained(model_dir).get_input_embeddings().weight.detach()
    backbone = _backbone(model_dir, shared)
    table = read_tensor(backbone, shared["key"])
    _check_rows(table, model_dir, backbone, shared)
    return table


def weight_bytes(model_dir):
    """Bytes of the weights the teacher loads: its own files plus a word table it shares with its backbone
    (what a deployment of the teacher carries)."""
    model_dir = Path(model_dir)
    size = sum(f.stat().st_size for f in model_dir.glob("*.safetensors"))
    shared = _shared(model_dir)
    if shared:  # its size from the file's header, without reading 384 MB
        path, name = _tensor_file(_backbone(model_dir, shared), shared["key"])
        with safe_open(str(path), framework="pt") as f:
            table = f.get_slice(name)
            size += math.prod(table.get_shape()) * _ITEMSIZE[table.get_dtype()]
    return size


_ITEMSIZE = {"F64": 8, "F32": 4, "F16": 2, "BF16": 2}
