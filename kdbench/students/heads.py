"""The one output head every student uses, so all students return logits in the teacher's shapes."""

import torch
from torch import nn

from kdbench.tasks import CLASSIFICATION_KINDS


class Head(nn.Module):
    """Per-position features (B, T, H) -> (B, labels), (B, aspects, labels) or (B, W, labels).

    Classification pools one vector per text (`first` position or `mean` over non-pad positions);
    tagging reads each word's first sub-word at `word_pos` and gives 0.0 where word_pos is -1,
    exactly as kdbench.teacher.model.Teacher does, so KD losses compare like with like."""

    def __init__(self, hidden, kind, n_labels, n_aspects=0, pooling="first", dropout=0.1):
        super().__init__()
        if pooling not in ("first", "mean"):
            raise ValueError(f"pooling must be 'first' or 'mean', not {pooling!r}")
        self.kind, self.n_labels, self.n_aspects, self.pooling = kind, n_labels, n_aspects, pooling
        self.drop = nn.Dropout(dropout)
        self.proj = nn.Linear(hidden, n_labels * (n_aspects if kind == "multi-aspect" else 1))

    def forward(self, feats, attention_mask, word_pos=None):
        if self.kind not in CLASSIFICATION_KINDS:
            if word_pos is None:
                raise ValueError(f"a {self.kind} student needs word_pos")
            idx = word_pos.clamp(min=0).unsqueeze(-1).expand(-1, -1, feats.size(-1))  # (B, W, H)
            logits = self.proj(self.drop(torch.gather(feats, 1, idx)))  # (B, W, labels)
            return logits.masked_fill((word_pos < 0).unsqueeze(-1), 0.0)
        if self.pooling == "mean":
            mask = attention_mask.unsqueeze(-1).to(feats.dtype)  # (B, T, 1)
            pooled = (feats * mask).sum(1) / mask.sum(1).clamp(min=1)  # (B, H)
        else:
            pooled = feats[:, 0]  # (B, H)
        logits = self.proj(self.drop(pooled))
        if self.kind == "multi-aspect":  # the batch size stays symbolic, so exported graphs take any batch
            logits = logits.unflatten(-1, (self.n_aspects, self.n_labels))  # (B, aspects, labels)
        return logits
