"""Bootstrap intervals and paired comparisons: the counts reproduce the scorers, intervals cover the score
and narrow with more examples, and a paired test tells a real difference from none."""

import numpy as np
import pytest

from kdbench import metrics, stats

RNG = np.random.default_rng(0)
LABELS = ["neg", "neu", "pos"]
TAGS = ["O", "B-PER", "I-PER", "B-LOC"]


def noisy(gold, accuracy, rng, choices):
    """Each gold label kept with probability `accuracy`, else replaced by a random choice."""
    return [g if rng.random() < accuracy else choices[rng.integers(len(choices))] for g in gold]


def classification(n, accuracy, seed=0):
    rng = np.random.default_rng(seed)
    gold = [LABELS[i] for i in rng.integers(0, 3, n)]
    return gold, noisy(gold, accuracy, rng, LABELS)


def tagging(n, accuracy, seed=0):
    rng = np.random.default_rng(seed)
    gold = [[TAGS[i] for i in rng.integers(0, 4, rng.integers(1, 8))] for _ in range(n)]
    return gold, [noisy(g, accuracy, rng, TAGS) for g in gold]


@pytest.mark.parametrize("kind, make", [("single", classification), ("tagging", tagging)])
def test_counts_reproduce_the_scorer(kind, make):
    gold, pred = make(300, 0.7)
    counts, _ = stats.example_counts(kind, gold, pred)
    assert stats.macro_f1(counts.sum(0)) == pytest.approx(metrics.score(kind, gold, pred)["macro_f1"], abs=1e-12)


def test_multi_aspect_examples_are_texts():
    gold = [["pos", "neg"], ["neu", "neu"], ["pos", "pos"]]
    pred = [["pos", "pos"], ["neu", "neg"], ["pos", "pos"]]
    counts, _ = stats.example_counts("multi-aspect", gold, pred)
    assert counts.shape[0] == 3
    assert stats.macro_f1(counts.sum(0)) == pytest.approx(metrics.score("multi-aspect", gold, pred)["macro_f1"])


@pytest.mark.parametrize("kind, make", [("single", classification), ("tagging", tagging)])
def test_interval_covers_the_score_and_narrows_with_more_examples(kind, make):
    small, large = make(100, 0.7), make(2000, 0.7)
    a, b = stats.interval(kind, *small), stats.interval(kind, *large)
    for (gold, pred), ci in ((small, a), (large, b)):
        assert ci["low"] <= metrics.score(kind, gold, pred)["macro_f1"] <= ci["high"]
    assert b["high"] - b["low"] < (a["high"] - a["low"]) / 2  # ~ 1 / sqrt(n)
    assert stats.interval(kind, *small) == a  # seeded: the same interval every time


def test_paired_test_tells_a_difference_from_none():
    gold, better = classification(500, 0.85, seed=1)
    _, worse = classification(500, 0.65, seed=1)
    worse = noisy(gold, 0.65, np.random.default_rng(2), LABELS)
    up = stats.paired("single", gold, [better], [worse])
    assert up["diff"] > 0.1 and up["low"] > 0 and up["p"] < 0.01 and stats.verdict(up) == stats.HELD
    down = stats.paired("single", gold, [worse], [better])
    assert stats.verdict(down) == stats.NOT_HELD and down["diff"] == pytest.approx(-up["diff"])
    same = stats.paired("single", gold, [better], [better])
    assert same["diff"] == 0 and stats.verdict(same) == stats.NO_DIFFERENCE


def test_paired_over_seeds_averages_them():
    gold, _ = classification(400, 0.8)
    a = [noisy(gold, 0.80, np.random.default_rng(s), LABELS) for s in range(3)]
    b = [noisy(gold, 0.79, np.random.default_rng(10 + s), LABELS) for s in range(3)]
    result = stats.paired("single", gold, a, b)
    mean = np.mean([metrics.score("single", gold, x)["macro_f1"] for x in a]) - \
        np.mean([metrics.score("single", gold, x)["macro_f1"] for x in b])
    assert result["diff"] == pytest.approx(mean) and len(result["per_seed"]) == 3 and result["seeds"] == 3
    assert stats.verdict(result) == stats.NO_DIFFERENCE  # one point apart on 400 texts is noise
