"""Scores as IndoNLU computes them (IndoNLP/indonlu, utils/metrics.py and utils/conlleval.py).

Classification: scikit-learn's macro F1 over the labels seen in gold or prediction (as IndoNLU calls it),
plus accuracy, computed with its float operations but without importing it; multi-aspect label lists are
flattened first. Tagging: CoNLL-2000 `conlleval` chunk F1, where
IndoNLU's headline F1 is the per-chunk-type macro average, not conlleval's usual micro F1.
"""

from collections import Counter

import numpy as np

from kdbench.tasks import CLASSIFICATION_KINDS, KINDS

# conlleval's chunk boundary rules on (previous prefix, current prefix) pairs; the type-change rules
# are applied in _starts/_ends. "[" and "]" are conlleval's one-token brackets, kept for fidelity.
_START_PAIRS = {("E", "E"), ("E", "I"), ("S", "E"), ("S", "I"), ("O", "E"), ("O", "I")}
_END_PAIRS = {("B", "B"), ("B", "S"), ("B", "O"), ("I", "B"), ("I", "S"), ("I", "O")}
_OUTSIDE = {"O", "."}


def _split(tag):
    """'B-PER' -> ('B', 'PER'); a tag without '-' (plain B/I/O, as in KEPS/FacQA) has type ''."""
    prefix, sep, kind = tag.partition("-")
    return (prefix, kind) if sep else (tag, "")


def _starts(prev, cur):
    (pp, pt), (cp, ct) = prev, cur
    # an I- after O (no B-) also opens a chunk, as does any type change
    return (cp in {"B", "S", "[", "]"} or (pp, cp) in _START_PAIRS
            or (cp not in _OUTSIDE and pt != ct))


def _ends(prev, cur):
    (pp, pt), (cp, ct) = prev, cur
    return (pp in {"E", "S", "[", "]"} or (pp, cp) in _END_PAIRS
            or (pp not in _OUTSIDE and pt != ct))


def _prf(correct, guessed, total):
    """conlleval's F1; every 0/0 is taken as 0."""
    p = correct / guessed if guessed else 0.0
    r = correct / total if total else 0.0
    return 2 * p * r / (p + r) if p + r else 0.0


def sentence_chunks(gold, pred):
    """conlleval's chunk counts of one sentence: (correct, guessed, gold) Counters by chunk type.

    conlleval runs its state across sentences, but the 'O' it inserts after each one closes every chunk,
    so a corpus' counts are the sum of its sentences' (which is what makes bootstrap resampling cheap)."""
    n_gold, n_pred, n_right = Counter(), Counter(), Counter()
    prev_g = prev_p = ("O", "")
    matching = False      # a gold and a predicted chunk opened together and agree so far
    for g_tag, p_tag in zip([*gold, "O"], [*pred, "O"]):
        g, p = _split(g_tag), _split(p_tag)
        end_g, end_p = _ends(prev_g, g), _ends(prev_p, p)
        start_g, start_p = _starts(prev_g, g), _starts(prev_p, p)
        if matching:
            if end_g and end_p and prev_g[1] == prev_p[1]:
                n_right[prev_g[1]] += 1
                matching = False
            elif end_g != end_p or g[1] != p[1]:
                matching = False
        if start_g and start_p and g[1] == p[1]:
            matching = True
        n_gold[g[1]] += start_g
        n_pred[p[1]] += start_p
        prev_g, prev_p = g, p
    return n_right, n_pred, n_gold


def chunk_scores(gold_seqs, pred_seqs):
    """conlleval over sentences of tags -> {"macro_f1", "micro_f1", "accuracy"}.

    macro_f1 averages per-type F1 over every type that starts a chunk in gold or prediction (a type
    only ever predicted counts as 0). accuracy is over real tokens; upstream also counts the 'O'
    it inserts between sentences, which inflates its accuracy slightly."""
    if len(gold_seqs) != len(pred_seqs):
        raise ValueError(f"{len(gold_seqs)} gold sentences but {len(pred_seqs)} predicted")
    n_gold, n_pred, n_right = Counter(), Counter(), Counter()
    right_tags = tokens = 0
    for i, (gold, pred) in enumerate(zip(gold_seqs, pred_seqs)):
        if len(gold) != len(pred):
            raise ValueError(f"sentence {i}: {len(gold)} gold tags but {len(pred)} predicted")
        tokens += len(gold)
        right_tags += sum(_split(g) == _split(p) for g, p in zip(gold, pred))
        right, guessed, total = sentence_chunks(gold, pred)
        n_right.update(right)
        n_pred.update(guessed)
        n_gold.update(total)

    types = sorted(t for t in {**n_gold, **n_pred} if n_gold[t] or n_pred[t])  # a fixed order: fixed last bits
    # upstream divides by zero when no chunk exists at all; call that 0
    macro = sum(_prf(n_right[t], n_pred[t], n_gold[t]) for t in types) / len(types) if types else 0.0
    micro = _prf(sum(n_right.values()), sum(n_pred.values()), sum(n_gold.values()))
    return {"macro_f1": macro, "micro_f1": micro, "accuracy": right_tags / tokens if tokens else 0.0}


def _flatten(labels):
    return [x for item in labels for x in item] if labels and isinstance(labels[0], (list, tuple)) \
        else list(labels)


def classification_scores(gold, pred):
    """Macro F1 over the labels seen in gold or pred, and accuracy; per-aspect label lists are flattened first.
    A label never predicted (or never gold) scores 0, as in IndoNLU. The same float operations as scikit-learn's
    f1_score(average="macro", zero_division=0) and accuracy_score, so the same bytes (tests/test_metrics.py),
    without importing scikit-learn in every stage (a second a process)."""
    gold, pred = _flatten(gold), _flatten(pred)
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold labels but {len(pred)} predicted")
    if not gold:
        raise ValueError("no labels to score")
    g, p = np.asarray(gold), np.asarray(pred)
    labels = np.asarray(sorted(set(gold) | set(pred)))
    tp = np.array([np.sum((g == x) & (p == x)) for x in labels], dtype=np.float64)
    denom = np.array([np.sum(g == x) + np.sum(p == x) for x in labels], dtype=np.float64)  # 2tp + fp + fn
    f1 = np.divide(2 * tp, denom, out=np.zeros_like(tp), where=denom > 0)
    return {"macro_f1": float(np.average(f1)), "accuracy": float(np.average(g == p))}


def score(kind, gold, pred):
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}")
    return classification_scores(gold, pred) if kind in CLASSIFICATION_KINDS else chunk_scores(gold, pred)
