"""How sure is a test score? Bootstrap intervals over test examples (sentences for tagging) and paired
comparisons of two systems on the same examples.

Both macro F1s kdbench reports are a mean over label (or chunk) types of 2 * correct / (guessed + gold), over
the types that occur in gold or prediction, and every one of those counts is a sum over examples. So each
example becomes a (correct, guessed, gold) count vector per type, and a bootstrap resample is a weighted sum
of those vectors: thousands of resamples cost milliseconds, whatever the scorer.
"""

import numpy as np

from kdbench.metrics import sentence_chunks
from kdbench.tasks import CLASSIFICATION_KINDS

RESAMPLES = 2000
LEVEL = 0.95


def example_counts(kind, gold, pred):
    """(counts (N, 3, K): correct, guessed and gold per example and type, types) of one system's predictions.
    Classification: one example per text (every aspect of a multi-aspect text); tagging: one per sentence."""
    if len(gold) != len(pred):
        raise ValueError(f"{len(gold)} gold examples but {len(pred)} predicted")
    per_example = []
    for g, p in zip(gold, pred):
        if kind in CLASSIFICATION_KINDS:
            gs, ps = ([g], [p]) if isinstance(g, str) else (g, p)
            right = [a for a, b in zip(gs, ps) if a == b]
            per_example.append((right, ps, gs))
        else:
            n_right, n_pred, n_gold = sentence_chunks(g, p)
            per_example.append(tuple([t for t, c in counter.items() for _ in range(c)]
                                     for counter in (n_right, n_pred, n_gold)))
    types = sorted({t for ex in per_example for part in ex for t in part})
    index = {t: i for i, t in enumerate(types)}
    counts = np.zeros((len(per_example), 3, max(1, len(types))))
    for i, ex in enumerate(per_example):
        for j, part in enumerate(ex):
            for t in part:
                counts[i, j, index[t]] += 1
    return counts, types


def macro_f1(totals):
    """Macro F1 from summed counts (..., 3, K): the mean of 2c / (guessed + gold) over present types."""
    correct, guessed, gold = totals[..., 0, :], totals[..., 1, :], totals[..., 2, :]
    denom = guessed + gold
    present = denom > 0
    f1 = np.divide(2 * correct, denom, out=np.zeros_like(denom, dtype=float), where=present)
    n = present.sum(-1)
    return np.divide(f1.sum(-1), n, out=np.zeros(np.shape(n)), where=n > 0)


def _weights(n, resamples, seed):
    """(resamples, n) bootstrap multiplicities: how often each example is drawn in each resample."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=resamples).astype(float)


def interval(kind, gold, pred, resamples=RESAMPLES, seed=0, level=LEVEL):
    """{"low", "high"}: the percentile bootstrap interval of macro F1 over test examples."""
    counts, _ = example_counts(kind, gold, pred)
    scores = macro_f1(np.einsum("bn,nck->bck", _weights(len(counts), resamples, seed), counts))
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(scores, [tail, 100 - tail])
    return {"low": float(low), "high": float(high), "level": level, "resamples": resamples}


def paired(kind, gold, preds_a, preds_b, resamples=RESAMPLES, seed=0, level=LEVEL):
    """Paired bootstrap of the difference in macro F1, system a minus system b, on the same test examples.

    preds_a, preds_b: lists of prediction lists, one per seed (the same number each, or one for a system
    without seeds); the difference is of the seed-averaged scores, each resample redrawing the examples for
    every seed alike. Returns the observed difference, its interval, the per-seed differences and a
    two-sided p-value (twice the share of resamples on the other side of zero)."""
    def totals(preds, weights):
        counts = [example_counts(kind, gold, p) for p in preds]
        return np.mean([macro_f1(np.einsum("bn,nck->bck", weights, c)) for c, _ in counts], axis=0)

    n = len(gold)
    observed = totals(preds_a, np.ones((1, n)))[0] - totals(preds_b, np.ones((1, n)))[0]
    weights = _weights(n, resamples, seed)
    diffs = totals(preds_a, weights) - totals(preds_b, weights)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(diffs, [tail, 100 - tail])
    p = min(1.0, 2 * min((diffs <= 0).mean(), (diffs >= 0).mean()))
    per_seed = [float(totals([a], np.ones((1, n)))[0] - totals([b], np.ones((1, n)))[0])
                for a, b in zip(preds_a, preds_b)] if len(preds_a) == len(preds_b) else []
    return {"diff": float(observed), "low": float(low), "high": float(high), "p": float(p),
            "per_seed": per_seed, "seeds": len(preds_a), "level": level, "resamples": resamples,
            "samples": diffs}


def pooled(comparisons, level=LEVEL):
    """The mean of several paired differences (say, one per task x student) with its interval: each
    comparison's resampled differences are independent draws, so their mean is a draw of the mean."""
    samples = np.mean([c["samples"] for c in comparisons], axis=0)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    p = min(1.0, 2 * min((samples <= 0).mean(), (samples >= 0).mean()))
    return {"diff": float(np.mean([c["diff"] for c in comparisons])), "low": float(low), "high": float(high),
            "p": float(p), "pairs": len(comparisons), "level": level}


HELD, NOT_HELD, NO_DIFFERENCE = "held", "not held", "no significant difference"


def verdict(comparison):
    """held (a beats b: the whole interval above 0), not held (the whole interval below 0), or no
    significant difference (the interval holds 0)."""
    if comparison["low"] > 0:
        return HELD
    if comparison["high"] < 0:
        return NOT_HELD
    return NO_DIFFERENCE
