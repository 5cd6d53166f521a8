"""Layer-wise distillation for the BERT students (TinyBERT, Jiao et al. 2020), the `+layers` losses.

Besides the logit loss, a BERT student learns each teacher layer it is mapped to:
  hidden     MSE between the student's hidden states, through one learned projection to the teacher's width,
             and the teacher's, embeddings included (student layer i <- teacher layer i * L_t / L_s)
  attention  squared error between the attention distributions of each mapped layer pair, averaged over
             heads (the students have fewer heads than the teacher), summed over keys, on every real query
both averaged over the real tokens. The projection trains with the student and is not part of what ships.

Student and teacher read the same sub-word pieces (a layer-wise run's vocabulary is the teacher's tokenizer,
kdbench.students.vocab.SubwordVocab), so their positions align one to one. The teacher's states are computed
on the fly, batch by batch: stored like the soft labels they would take texts x pieces x (L_s + 1) layers x
width x 2 bytes, 27,832 x 40 x 5 x 384 x 2 = 4.3 GB for a BERT-Mini on the quick setup's SmSA training and
transfer texts.
"""

import torch
from torch import nn

from kdbench.encoding import segment_ids
from kdbench.errors import KdbenchError


def layer_map(student_layers, teacher_layers):
    """Teacher layer of each student layer 0..L_s (0 is the embeddings' output): spread uniformly, the last
    on the last, as TinyBERT's g(m) = m * L_t / L_s."""
    return [round(i * teacher_layers / student_layers) for i in range(student_layers + 1)]


def layer_loss(s_hidden, t_hidden, s_attn, t_attn, attention_mask, proj):
    """(hidden term, attention term) over the real tokens of a batch.

    s_hidden, t_hidden: the mapped layers' states, lists of (B, T, H_s) and (B, T, H_t); s_attn, t_attn: lists
    of (B, heads, T, T) attention distributions of the mapped layers (student layers 1..L_s); attention_mask
    (B, T); proj: H_s -> H_t."""
    real = attention_mask.to(s_hidden[0].dtype)  # (B, T)
    n = real.sum().clamp(min=1)
    hidden = sum(((proj(s) - t.detach()) ** 2).mean(-1).mul(real).sum() / n for s, t in zip(s_hidden, t_hidden))
    attention = sum(((s.mean(1) - t.detach().mean(1)) ** 2).sum(-1).mul(real).sum() / n   # (B, T) per query
                    for s, t in zip(s_attn, t_attn))
    return hidden / len(s_hidden), attention / max(1, len(s_attn))


class LayerMatch(nn.Module):
    """A frozen teacher encoder and the learned projection: `forward(student, ids, mask, word_pos, teacher_ids)`
    gives the student's logits and its layer-wise loss in one student forward."""

    def __init__(self, teacher, student):
        super().__init__()
        encoder = getattr(student, "encoder", None)
        if encoder is None or not hasattr(encoder, "set_attn_implementation"):
            raise KdbenchError("a layer-wise loss needs a BERT student (bert-tiny, bert-mini, bert-small, "
                               f"teacher-slice), not {type(student).__name__}")
        if not hasattr(teacher, "encoder"):
            raise KdbenchError("a layer-wise loss needs the teacher's encoder; a teacher from a logits file "
                               "or a checkpoint has none here: use a logit loss (mse, kl)")
        self.teacher = [teacher]  # a list, so the teacher's weights are not this module's parameters
        for module in (teacher.encoder, encoder):
            module.set_attn_implementation("eager")  # the fused (sdpa) kernels do not return attention maps
        s_cfg, t_cfg = encoder.config, teacher.encoder.config
        self.map = layer_map(s_cfg.num_hidden_layers, t_cfg.num_hidden_layers)
        self.proj = nn.Linear(s_cfg.hidden_size, t_cfg.hidden_size)

    @torch.no_grad()
    def teacher_states(self, teacher_ids, attention_mask):
        teacher = self.teacher[0]
        enc = {"input_ids": teacher_ids, "attention_mask": attention_mask, "output_hidden_states": True,
               "output_attentions": True}
        if teacher.segments:  # as Teacher.forward: [SEP] marks the second text for BERT-style tokenizers
            enc["token_type_ids"] = segment_ids(teacher_ids, attention_mask, teacher.tokenizer.sep_token_id)
        out = teacher.encoder.eval()(**enc)
        return [out.hidden_states[j] for j in self.map], [out.attentions[j - 1] for j in self.map[1:]]

    def forward(self, student, input_ids, attention_mask, word_pos, teacher_ids):
        out = student.encoder(input_ids=input_ids, attention_mask=attention_mask, output_hidden_states=True,
                              output_attentions=True)
        logits = student.head(out.last_hidden_state, attention_mask, word_pos)
        t_hidden, t_attn = self.teacher_states(teacher_ids, attention_mask)
        hidden, attention = layer_loss(list(out.hidden_states), t_hidden, list(out.attentions), t_attn,
                                       attention_mask, self.proj)
        return logits, hidden + attention
