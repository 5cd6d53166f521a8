"""CNN student: embedding + sinusoidal positions -> residual depth-wise separable 1-D convs -> head (~4.0M)."""

import math
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import nn

from kdbench.errors import KdbenchError
from kdbench.students.heads import Head
from kdbench.students.registry import StudentConfig, build_config, register_student


@dataclass
class CNNConfig(StudentConfig):
    emb_dim: int = 300            # 300 = FastText vectors
    hidden: int = 300             # conv width; a Linear maps emb_dim -> hidden when they differ
    n_layers: int = 11
    kernel: int = 5               # odd, so "same" padding is symmetric
    max_positions: int = 512      # length of the fixed sinusoid table

    def __post_init__(self):
        super().__post_init__()
        if self.kernel % 2 == 0:
            raise KdbenchError(f"cnn kernel must be odd, not {self.kernel}")


def sinusoids(n, dim):
    """The fixed positions of Vaswani et al. 2017: (n, dim), sin on even and cos on odd channels."""
    pos = torch.arange(n, dtype=torch.float32).unsqueeze(1)  # (n, 1)
    freq = torch.exp(torch.arange(0, dim, 2, dtype=torch.float32) * (-math.log(10000.0) / dim))
    table = torch.zeros(n, dim)
    table[:, 0::2] = torch.sin(pos * freq)
    table[:, 1::2] = torch.cos(pos * freq[: dim // 2])
    return table


class SepConvBlock(nn.Module):
    """x + dropout(GELU(pointwise(depthwise(x)))), then LayerNorm. Padding is zeroed before the conv so
    a word next to the padding sees the same zeros whatever the batch's length."""

    def __init__(self, dim, kernel, dropout):
        super().__init__()
        self.depthwise = nn.Conv1d(dim, dim, kernel, padding="same", groups=dim)
        self.pointwise = nn.Conv1d(dim, dim, 1)
        self.drop = nn.Dropout(dropout)
        self.norm = nn.LayerNorm(dim)

    def forward(self, x, keep):  # x (B, T, H), keep (B, T, 1) 1.0 at real tokens
        h = self.pointwise(self.depthwise((x * keep).transpose(1, 2)))  # (B, H, T)
        return self.norm(x + self.drop(F.gelu(h.transpose(1, 2))))  # (B, T, H)


class CNNStudent(nn.Module):
    def __init__(self, cfg: CNNConfig):
        super().__init__()
        self.config = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.emb_dim, padding_idx=cfg.pad_id)
        self.register_buffer("pos", sinusoids(cfg.max_positions, cfg.emb_dim), persistent=False)
        self.proj = nn.Linear(cfg.emb_dim, cfg.hidden) if cfg.emb_dim != cfg.hidden else nn.Identity()
        self.blocks = nn.ModuleList(SepConvBlock(cfg.hidden, cfg.kernel, cfg.dropout)
                                    for _ in range(cfg.n_layers))
        self.drop = nn.Dropout(cfg.dropout)
        self.head = Head(cfg.hidden, cfg.kind, cfg.n_labels, cfg.n_aspects, "mean", cfg.dropout)

    def get_input_embeddings(self):
        return self.embed

    def forward(self, input_ids, attention_mask, word_pos=None):
        T = input_ids.size(1)
        if T > self.config.max_positions:
            raise ValueError(f"input of {T} tokens is longer than max_positions={self.config.max_positions}")
        x = self.proj(self.drop(self.embed(input_ids) + self.pos[:T]))  # (B, T, H)
        keep = attention_mask.unsqueeze(-1).to(x.dtype)  # (B, T, 1)
        for block in self.blocks:
            x = block(x, keep)
        return self.head(x, attention_mask, word_pos)


@register_student("cnn", CNNConfig)
def cnn(**kw):
    return CNNStudent(build_config(CNNConfig, **kw))
