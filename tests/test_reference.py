"""The non-neural references: behaviour on toy data, and the figures they reach on the real IndoNLU files."""

import os
from pathlib import Path

import pytest

from kdbench.reference import fit_reference, load_reference, reference_scores, save_reference


def scores(kind, train, test):
    return reference_scores(fit_reference(kind, train), test)

MIRROR = Path(os.environ.get("KDBENCH_DATA_MIRROR", Path(__file__).resolve().parents[1] / ".." / "shared" / "data"))
INDONLU = MIRROR / "indonlu"
needs_mirror = pytest.mark.skipif(not INDONLU.is_dir(), reason=f"no IndoNLU mirror at {INDONLU}")


# Tiny readers, so these checks do not depend on kdbench.data.readers.
def read_conll(path):
    sentences, tokens, tags = [], [], []
    for line in [*Path(path).read_text(encoding="utf-8").splitlines(), ""]:
        if line.strip():
            token, tag = line.split("\t")
            tokens.append(token)
            tags.append(tag)
        elif tokens:
            sentences.append({"tokens": tokens, "tags": tags})
            tokens, tags = [], []
    return sentences


def read_tsv(path):
    return [dict(zip(("text", "label"), line.split("\t")))
            for line in Path(path).read_text(encoding="utf-8").splitlines()]


def test_most_frequent_tag_backs_off_exact_lower_global():
    train = [{"tokens": ["Bank", "bank", "bank", "di", "di", "di"],
              "tags": ["B-ORG", "O", "O", "O", "O", "O"]}]
    test = [{"tokens": ["Bank", "BANK", "bank", "Jakarta"]}]
    # exact "Bank" -> B-ORG; "BANK" unseen, lowercased "bank" -> O (2 of 3); "Jakarta" unknown -> O (global)
    assert fit_reference("tagging", train).predict(test) == [["B-ORG", "O", "O", "O"]]


def test_tfidf_logreg_shapes():
    pos, neg = "enak sekali mantap", "buruk sekali kecewa"
    train = [{"text": pos, "text_b": pos, "label": "yes", "labels": ["positive", "none"]},
             {"text": neg, "text_b": pos, "label": "no", "labels": ["negative", "none"]}] * 5
    test = [{"text": "mantap enak", "text_b": "enak", "labels": ["positive", "none"]}]
    for kind in ("single", "pair"):
        train_k = [{**r, "label": r["label"]} for r in train]
        assert fit_reference(kind, train_k).predict(test) == ["yes"]
    # the second aspect has one class in train: predicted as that class, not an error
    assert fit_reference("multi-aspect", train).predict(test) == [["positive", "none"]]
    with pytest.raises(ValueError):
        fit_reference("regression", train)


@pytest.mark.parametrize("kind", ["single", "multi-aspect", "tagging"])
def test_saved_reference_predicts_the_same_without_pickle(kind, tmp_path):
    words = "enak sekali mantap buruk kecewa lambat murah mahal bersih".split()
    train = [{"text": " ".join(words[i % 9:i % 9 + 3]), "label": ("pos", "neg")[i % 2],
              "labels": [("pos", "neg")[i % 2], ("a", "b", "c")[i % 3]],
              "tokens": words[i % 9:i % 9 + 3], "tags": ["O", "B-X", "O"][: len(words[i % 9:i % 9 + 3])]}
             for i in range(40)]
    train = [r for r in train if r["tokens"]]
    model = fit_reference(kind, train)
    save_reference(model, tmp_path / "ref")
    assert {p.suffix for p in (tmp_path / "ref").iterdir()} <= {".json", ".safetensors"}
    again = load_reference(tmp_path / "ref")
    assert again.predict(train) == model.predict(train)


@needs_mirror
@pytest.mark.parametrize("folder, expected", [
    ("posp_pos-prosa", 0.942),
    # The earlier probe's 0.339 was a lowercased-only lookup (checked below); NERGrit is the one cased
    # data set, so exact-word-first scores higher. The chunk F1 itself matches upstream conlleval.
    ("nergrit_ner-grit", 0.354),
    ("terma_term-extraction-airy", 0.626),
])
def test_most_frequent_tag_reference_figures(folder, expected):
    train = read_conll(INDONLU / folder / "train_preprocess.txt")
    test = read_conll(INDONLU / folder / "test_preprocess.txt")
    out = scores("tagging", train, test)
    assert out["name"] == "most-frequent-tag"
    assert out["macro_f1"] == pytest.approx(expected, abs=0.01)


@needs_mirror
def test_nergrit_lowercased_lookup_reproduces_earlier_probe():
    folder = INDONLU / "nergrit_ner-grit"
    lower = [[{"tokens": [t.lower() for t in r["tokens"]], "tags": r["tags"]}
              for r in read_conll(folder / f"{split}_preprocess.txt")] for split in ("train", "test")]
    assert scores("tagging", *lower)["macro_f1"] == pytest.approx(0.339, abs=0.01)


@needs_mirror
def test_tfidf_logreg_smsa_reference_figure():
    folder = INDONLU / "smsa_doc-sentiment-prosa"
    train, test = read_tsv(folder / "train_preprocess.tsv"), read_tsv(folder / "test_preprocess.tsv")
    assert len(train) == 11000 and len(test) == 500
    out = scores("single", train, test)
    assert out["name"] == "tfidf-logreg"
    # Measured: macro F1 0.646, accuracy 0.752. The offline-teacher note's "0.745 macro F1 on all
    # 11000" is not reproduced by this configuration (it is close to the accuracy), and its "0.645
    # with 3000" equals the all-11000 macro F1; the first 3000 rows give 0.526.
    assert out["macro_f1"] == pytest.approx(0.646, abs=0.01)
    assert out["accuracy"] == pytest.approx(0.752, abs=0.01)
