"""BERT students: small ones in the shapes of Turc et al. 2019, randomly initialised (not pre-trained), and
`teacher-slice`, the teacher's own lowest layers (kdbench.distill.slice copies them in)."""

from dataclasses import dataclass
from typing import Literal

from torch import nn

from kdbench.students.heads import Head
from kdbench.students.registry import StudentConfig, build_config, register_student


@dataclass
class BertStudentConfig(StudentConfig):
    n_layers: int = 2
    hidden: int = 128
    n_heads: int = 2
    ffn: int = 512
    max_positions: int = 512
    pooling: Literal["first", "mean"] = "first"  # a text's vector (classification): its first position or the mean


class BertStudent(nn.Module):
    def __init__(self, cfg: BertStudentConfig):
        from transformers import BertConfig, BertModel  # here, not at the top: importing it costs 1.5 s

        super().__init__()
        self.config = cfg
        self.encoder = BertModel(BertConfig(
            vocab_size=cfg.vocab_size, hidden_size=cfg.hidden, num_hidden_layers=cfg.n_layers,
            num_attention_heads=cfg.n_heads, intermediate_size=cfg.ffn, max_position_embeddings=cfg.max_positions,
            hidden_dropout_prob=cfg.dropout, attention_probs_dropout_prob=cfg.dropout, pad_token_id=cfg.pad_id,
        ), add_pooling_layer=False)  # the head pools; BERT's pooler would be unused weights
        self.head = Head(cfg.hidden, cfg.kind, cfg.n_labels, cfg.n_aspects, cfg.pooling, cfg.dropout)

    def get_input_embeddings(self):
        return self.encoder.get_input_embeddings()

    def forward(self, input_ids, attention_mask, word_pos=None):
        h = self.encoder(input_ids=input_ids, attention_mask=attention_mask).last_hidden_state  # (B, T, H)
        return self.head(h, attention_mask, word_pos)


def _create_bert(arch, **kw):
    return BertStudent(build_config(BertStudentConfig, arch, **kw))


@register_student("bert-tiny", BertStudentConfig)
def bert_tiny(**kw):
    return _create_bert(dict(n_layers=2, hidden=128, n_heads=2, ffn=512), **kw)


@register_student("bert-mini", BertStudentConfig)
def bert_mini(**kw):
    return _create_bert(dict(n_layers=4, hidden=256, n_heads=4, ffn=1024), **kw)


@register_student("bert-small", BertStudentConfig)
def bert_small(**kw):
    return _create_bert(dict(n_layers=4, hidden=512, n_heads=8, ffn=2048), **kw)


# DistilBERT's initialisation (Sanh et al. 2019): the student starts as the teacher cut to its lowest n_layers
# layers, with the word table pruned to the task's pieces, so it starts from what pre-training taught the teacher.
# Its width, heads, FFN, positions and pooling are the teacher's, set when it is distilled; only the depth is
# the student's own (students.teacher-slice.model: {n_layers: 3}).
TEACHER_SHAPE = ("hidden", "n_heads", "ffn", "max_positions", "pooling")


@register_student("teacher-slice", BertStudentConfig, from_teacher=TEACHER_SHAPE)
def teacher_slice(**kw):
    return _create_bert(dict(n_layers=2), **kw)
