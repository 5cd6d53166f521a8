"""BiLSTM student: embedding -> bidirectional LSTM -> one self-attention block -> head (paper: ~3.4M params)."""

from dataclasses import dataclass

from torch import nn
from torch.nn.utils.rnn import pack_padded_sequence, pad_packed_sequence

from kdbench.students.heads import Head
from kdbench.students.registry import StudentConfig, build_config, register_student


@dataclass
class BiLSTMConfig(StudentConfig):
    emb_dim: int = 300            # 300 = FastText vectors
    hidden: int = 64              # per direction; the attention block works on 2 * hidden
    lstm_layers: int = 1
    n_heads: int = 4
    ffn: int = 256                # position-wise feed-forward width of the attention block


class SelfAttentionBlock(nn.Module):
    """Post-LN Transformer encoder block: attention + residual + LayerNorm, FFN + residual + LayerNorm."""

    def __init__(self, dim, n_heads, ffn, dropout):
        super().__init__()
        self.attn = nn.MultiheadAttention(dim, n_heads, dropout=dropout, batch_first=True)
        self.norm1, self.norm2 = nn.LayerNorm(dim), nn.LayerNorm(dim)
        self.ffn = nn.Sequential(nn.Linear(dim, ffn), nn.GELU(), nn.Dropout(dropout), nn.Linear(ffn, dim))
        self.drop = nn.Dropout(dropout)

    def forward(self, x, pad):  # x (B, T, D), pad (B, T) True at padding
        a, _ = self.attn(x, x, x, key_padding_mask=pad, need_weights=False)  # pad keys get no weight
        x = self.norm1(x + self.drop(a))
        return self.norm2(x + self.drop(self.ffn(x)))  # (B, T, D)


class BiLSTMStudent(nn.Module):
    def __init__(self, cfg: BiLSTMConfig):
        super().__init__()
        self.config = cfg
        self.embed = nn.Embedding(cfg.vocab_size, cfg.emb_dim, padding_idx=cfg.pad_id)
        self.lstm = nn.LSTM(cfg.emb_dim, cfg.hidden, cfg.lstm_layers, batch_first=True, bidirectional=True,
                            dropout=cfg.dropout if cfg.lstm_layers > 1 else 0.0)
        self.block = SelfAttentionBlock(2 * cfg.hidden, cfg.n_heads, cfg.ffn, cfg.dropout)
        self.drop = nn.Dropout(cfg.dropout)
        self.head = Head(2 * cfg.hidden, cfg.kind, cfg.n_labels, cfg.n_aspects, "first", cfg.dropout)

    def get_input_embeddings(self):
        return self.embed

    def forward(self, input_ids, attention_mask, word_pos=None):
        T = input_ids.size(1)
        x = self.drop(self.embed(input_ids))  # (B, T, E)
        # Packing (not masking) keeps padding out of the backward direction, which reads right to left.
        lengths = attention_mask.sum(1).clamp(min=1).cpu()
        packed = pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = pad_packed_sequence(self.lstm(packed)[0], batch_first=True, total_length=T)  # (B, T, 2H)
        h = self.block(h, attention_mask == 0)  # (B, T, 2H)
        return self.head(h, attention_mask, word_pos)


@register_student("bilstm", BiLSTMConfig)
def bilstm(**kw):
    return BiLSTMStudent(build_config(BiLSTMConfig, **kw))
