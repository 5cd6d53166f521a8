"""Hand-computed scores for kdbench.metrics (IndoNLU's conlleval chunk F1 and sklearn-style macro F1)."""

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, f1_score

from kdbench.metrics import chunk_scores, classification_scores, score


def approx(x):
    return pytest.approx(x, abs=1e-12)


def test_chunk_perfect_prediction_is_one():
    gold = [["B-PER", "I-PER", "O", "B-LOC"], ["S-X", "B-Y", "E-Y"], ["O"]]
    assert chunk_scores(gold, gold) == {"macro_f1": 1.0, "micro_f1": 1.0, "accuracy": 1.0}


def test_i_tag_without_b_starts_a_chunk():
    # conlleval: O -> I-LOC opens a chunk, so both predicted chunks equal the gold ones
    # (LOC at 1-2, PER at 4): chunk F1 = 1. Tags agree on tokens 0, 2, 3 only: accuracy 3/5.
    # (Upstream would also count its inserted sentence-end 'O': (3+1)/(5+1); we do not.)
    gold = [["O", "I-LOC", "I-LOC", "O", "B-PER"]]
    pred = [["O", "B-LOC", "I-LOC", "O", "I-PER"]]
    assert chunk_scores(gold, pred) == {"macro_f1": 1.0, "micro_f1": 1.0, "accuracy": approx(0.6)}


def test_type_mismatch():
    # gold PER(0-1), LOC(3); pred ORG(0-1), LOC(3). Only LOC is right.
    # per type: PER 0/0 found, 1 gold -> F 0; LOC P=R=1 -> 1; ORG predicted only -> 0.
    # macro over {PER, LOC, ORG} = 1/3; micro P = 1/2, R = 1/2 -> 0.5; accuracy tokens 2, 3 -> 2/4.
    gold = [["B-PER", "I-PER", "O", "B-LOC"]]
    pred = [["B-ORG", "I-ORG", "O", "B-LOC"]]
    assert chunk_scores(gold, pred) == {"macro_f1": approx(1 / 3), "micro_f1": 0.5, "accuracy": 0.5}


def test_crossing_chunks_do_not_match():
    # sentence 0: gold X(0-1), pred X(1-2) overlap but differ; sentence 1: X(0) matches.
    # X: correct 1, found 2, gold 2 -> P = R = F = 0.5. accuracy: token 3 of s0 and s1 -> 2/5.
    gold = [["B-X", "I-X", "O", "O"], ["B-X"]]
    pred = [["O", "B-X", "I-X", "O"], ["B-X"]]
    assert chunk_scores(gold, pred) == {"macro_f1": 0.5, "micro_f1": 0.5, "accuracy": approx(0.4)}


def test_sentence_boundary_closes_chunks():
    # the I-X opening sentence 1 is a chunk of its own (upstream inserts 'O' between sentences):
    # gold has 2 chunks, pred finds 1 correct one -> P = 1, R = 1/2, F = 2/3.
    gold = [["B-X", "I-X"], ["I-X"]]
    pred = [["B-X", "I-X"], ["O"]]
    assert chunk_scores(gold, pred)["micro_f1"] == approx(2 / 3)


def test_plain_bio_tags_without_type():
    # KEPS/FacQA style: one chunk type ''. gold (1-2), (4); pred (1), (4): correct 1 of 2 and 2
    # -> F 0.5 both macro (one type) and micro. accuracy: token 2 wrong -> 4/5.
    gold = [["O", "B", "I", "O", "B"]]
    pred = [["O", "B", "O", "O", "B"]]
    assert chunk_scores(gold, pred) == {"macro_f1": 0.5, "micro_f1": 0.5, "accuracy": approx(0.8)}
    # and a bare I after O opens a chunk exactly like B
    assert chunk_scores([["I", "I", "O"]], [["B", "I", "O"]])["macro_f1"] == 1.0


def test_chunk_macro_differs_from_micro():
    # A: 3 gold chunks all found; B: 1 gold chunk missed (predicted O).
    # macro = (1 + 0) / 2 = 0.5; micro P = 3/3, R = 3/4 -> F = 2*0.75/1.75 = 6/7.
    gold = [["B-A", "O", "B-A", "O", "B-A", "B-B"]]
    pred = [["B-A", "O", "B-A", "O", "B-A", "O"]]
    out = chunk_scores(gold, pred)
    assert out["macro_f1"] == 0.5 and out["micro_f1"] == approx(6 / 7)


def test_no_chunks_at_all_scores_zero():
    # upstream divides by zero here; we return 0 rather than crash
    assert chunk_scores([["O", "O"]], [["O", "O"]]) == {"macro_f1": 0.0, "micro_f1": 0.0, "accuracy": 1.0}


def test_length_mismatch_names_the_sentence():
    with pytest.raises(ValueError, match="sentence 1"):
        chunk_scores([["O"], ["O", "B-X"]], [["O"], ["O"]])
    with pytest.raises(ValueError):
        chunk_scores([["O"]], [])


def test_macro_f1_with_a_class_never_predicted():
    # a: tp 2 -> F 1; b: tp 1, fp 1 -> 2/(2+1) = 2/3; c: never predicted, fn 1 -> 0.
    # macro = (1 + 2/3 + 0) / 3 = 5/9; accuracy 3/4.
    out = classification_scores(["a", "a", "b", "c"], ["a", "a", "b", "b"])
    assert out == {"macro_f1": approx(5 / 9), "accuracy": 0.75}


def test_multi_aspect_labels_are_flattened():
    # flat gold [pos, neg, neut, neg], pred [pos, neg, neg, neg]:
    # pos F 1; neg tp 2, fp 1 -> 4/5; neut 0 -> macro (1 + 0.8 + 0) / 3 = 0.6; accuracy 3/4.
    gold = [["pos", "neg"], ["neut", "neg"]]
    pred = [["pos", "neg"], ("neg", "neg")]
    assert classification_scores(gold, pred) == {"macro_f1": approx(0.6), "accuracy": 0.75}
    assert score("multi-aspect", gold, pred) == classification_scores(gold, pred)


@settings(max_examples=300, deadline=None)
@given(st.integers(1, 400), st.integers(0, 2**32 - 1))
def test_classification_is_sklearn_to_the_last_bit(n, seed):
    """kdbench computes sklearn's scores without importing it: the same floats, bit for bit, so metrics files
    keep their bytes whichever computes them."""
    rng = random.Random(seed)
    gold = [rng.choice("abcd") for _ in range(n)]
    pred = [g if rng.random() < 0.6 else rng.choice("abce") for g in gold]  # d never predicted, e never gold
    out = classification_scores(gold, pred)
    assert out["macro_f1"] == f1_score(gold, pred, labels=sorted(set(gold) | set(pred)), average="macro",
                                       zero_division=0)
    assert out["accuracy"] == accuracy_score(gold, pred)


def test_score_dispatches_on_kind():
    assert score("single", ["a", "b"], ["a", "a"])["accuracy"] == 0.5
    assert score("pair", ["y"], ["y"])["macro_f1"] == 1.0
    assert set(score("tagging", [["B-X"]], [["B-X"]])) == {"macro_f1", "micro_f1", "accuracy"}
    assert score("qa-tagging", [["O", "B", "I"]], [["O", "B", "I"]])["macro_f1"] == 1.0
    with pytest.raises(ValueError, match="kind"):
        score("regression", [1], [1])
