"""The teacher: a pretrained encoder plus one task head, for every task kind.

  single / pair   pooled sentence vector (mean or first token) -> Linear(H, labels)
  multi-aspect    pooled vector -> Linear(H, aspects * labels), one softmax per aspect
  tagging         first sub-word of every word -> Linear(H, labels)
  qa-tagging      question and passage as a pair; first sub-word of every passage word -> Linear(H, labels)

Saved as a Hugging Face `save_pretrained` directory (encoder + tokenizer) with the head in
`head.safetensors` and everything else needed to rebuild it in `kdbench_teacher.json`.
"""

import json
from pathlib import Path

import torch
from safetensors.torch import load_file, save_file
from torch import nn
from transformers import AutoModel, AutoTokenizer

from kdbench.encoding import hf_encode, segment_ids
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
    def save(self, out_dir):
        out_dir = Path(out_dir)
        self.encoder.save_pretrained(out_dir)
        self.tokenizer.save_pretrained(out_dir)
        save_file({k: v.contiguous() for k, v in self.head.state_dict().items()}, out_dir / HEAD_FILE)
        meta = dict(kind=self.kind, labels=self.labels, aspects=self.aspects, pooling=self.pooling,
                    prefix=self.prefix, max_length=self.max_length)
        (out_dir / META_FILE).write_text(json.dumps(meta, indent=2, ensure_ascii=False) + "\n")

    @classmethod
    def load(cls, model_dir):
        model_dir = Path(model_dir)
        meta = json.loads((model_dir / META_FILE).read_text())
        teacher = cls(AutoModel.from_pretrained(model_dir), AutoTokenizer.from_pretrained(model_dir), **meta)
        teacher.head.load_state_dict(load_file(model_dir / HEAD_FILE))
        return teacher.eval()
