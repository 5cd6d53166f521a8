"""Distillation losses, by name (params.yaml `distill.loss`).

Every loss is `fn(student_logits, teacher_logits, targets, mask, *, temperature=1.0, alpha=0.5) -> scalar`:
  student_logits, teacher_logits  (N, L)  one row per prediction; callers flatten aspects / words into rows
  targets                         (N,)    gold label ids, -100 where there is no gold (unlabeled pool rows)
  mask                            (N,)    bool, the rows to use (False for padding and truncated words)

  mse      mean squared error between the logits (the paper's loss; temperature is ignored)
  kl       KL(teacher_T || student_T) * T^2, averaged over rows
  ce       cross-entropy on the gold labels only, no teacher: the no-KD baseline
  mse+ce   alpha * ce + (1 - alpha) * mse
  kl+ce    alpha * ce + (1 - alpha) * kl
  mse+layers  mse, plus the layer-wise terms of kdbench.distill.layers (BERT students: hidden states and
           attention maps of mapped layers), which the Distiller adds because they need more than logits
In the mixed losses the soft term uses every row in `mask` and the ce term only the rows that have gold, so
a batch of pool rows contributes (1 - alpha) * soft. A term with no rows to use is 0, never NaN.
"""

import re

from torch.nn import functional as F

from kdbench.registry import Registry

# metadata: uses_teacher (False: the run needs no soft labels), layers (True: the student also matches the
# teacher's layers). A loss name is never a path, so "+" is fine.
LOSSES = Registry("loss", re.compile(r"[a-z0-9][a-z0-9_+-]*"))


def register_loss(name, uses_teacher=True, layers=False):
    return LOSSES.register(name, uses_teacher=uses_teacher, layers=layers)


def list_losses():
    return LOSSES.names()


def get_loss(name):
    return LOSSES.get(name)


def _zero(x):
    return x.sum() * 0.0  # keeps the graph (and the dtype/device) when no row is usable


def _soft_rows(student_logits, teacher_logits, mask):
    """The used rows of both, the teacher's detached: it is a fixed target."""
    return student_logits[mask], teacher_logits[mask].detach().to(student_logits.dtype)


@register_loss("mse")
def mse(student_logits, teacher_logits, targets, mask, *, temperature=1.0, alpha=0.5):
    s, t = _soft_rows(student_logits, teacher_logits, mask)  # (n, L)
    return F.mse_loss(s, t) if len(s) else _zero(student_logits)


@register_loss("kl")
def kl(student_logits, teacher_logits, targets, mask, *, temperature=1.0, alpha=0.5):
    s, t = _soft_rows(student_logits, teacher_logits, mask)  # (n, L)
    if not len(s):
        return _zero(student_logits)
    log_p_s = F.log_softmax(s / temperature, dim=-1)
    log_p_t = F.log_softmax(t / temperature, dim=-1)
    # T^2 keeps the gradient scale independent of T (Hinton et al. 2015)
    return F.kl_div(log_p_s, log_p_t, reduction="batchmean", log_target=True) * temperature ** 2


@register_loss("ce", uses_teacher=False)
def ce(student_logits, teacher_logits, targets, mask, *, temperature=1.0, alpha=0.5):
    gold = mask & (targets != -100)  # (N,)
    if not gold.any():
        return _zero(student_logits)
    return F.cross_entropy(student_logits[gold], targets[gold])


def _mixed(soft):
    def fn(student_logits, teacher_logits, targets, mask, *, temperature=1.0, alpha=0.5):
        hard = ce(student_logits, teacher_logits, targets, mask)
        return alpha * hard + (1 - alpha) * soft(student_logits, teacher_logits, targets, mask,
                                                 temperature=temperature)
    fn.__name__ = f"{soft.__name__}_ce"
    return fn


register_loss("mse+ce")(_mixed(mse))
register_loss("kl+ce")(_mixed(kl))
register_loss("mse+layers", layers=True)(mse)
