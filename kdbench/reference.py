"""Non-neural references a teacher has to beat, and a student too: TF-IDF + logistic regression for
classification, the most frequent training tag per word for tagging.

A reference is a model like any other: fitted by the teacher stage, saved without pickle (JSON and
safetensors) to models/<task>/reference/, and benchmarked and recommended like a student. On some data it
beats the teacher, and then the honest answer is to ship it, or to get a better teacher."""

import json
from collections import Counter, defaultdict
from pathlib import Path

import numpy as np
from safetensors.numpy import load_file, save_file
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from kdbench import stats
from kdbench.io import atomic_path
from kdbench.metrics import score
from kdbench.tasks import CLASSIFICATION_KINDS, KINDS, gold_labels

SEED = 0
PAIR_SEP = " _sep_ "  # a token of its own, so bigrams across the two texts differ from bigrams within one
META, WEIGHTS = "reference.json", "reference.safetensors"


def _text(record, kind):
    return record["text"] + PAIR_SEP + record["text_b"] if kind == "pair" else record["text"]


class TfidfLogreg:
    """One TF-IDF (word 1-2-grams, sublinear tf) over the texts, one logistic regression per output (the
    label, or each aspect's label); an output with one class in train always predicts it."""
    name = "tfidf-logreg"

    def __init__(self, kind, vectorizer, outputs):
        self.kind, self.vectorizer, self.outputs = kind, vectorizer, outputs  # outputs: LogisticRegression or a label

    @classmethod
    def fit(cls, kind, records):
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
        x = vectorizer.fit_transform([_text(r, kind) for r in records])
        gold = [gold_labels(r, kind) for r in records]
        columns = [gold] if kind != "multi-aspect" else [list(c) for c in zip(*gold)]
        outputs = [y[0] if len(set(y)) == 1 else LogisticRegression(max_iter=1000, random_state=SEED).fit(x, y)
                   for y in columns]  # LogisticRegression refuses a single class; an aspect can have one
        return cls(kind, vectorizer, outputs)

    def predict(self, records):
        x = self.vectorizer.transform([_text(r, self.kind) for r in records])
        columns = [[o] * x.shape[0] if isinstance(o, str) else o.predict(x).tolist() for o in self.outputs]
        return columns[0] if self.kind != "multi-aspect" else [list(labels) for labels in zip(*columns)]

    def n_params(self):
        return len(self.vectorizer.idf_) + sum(o.coef_.size + o.intercept_.size for o in self.outputs
                                               if not isinstance(o, str))

    def save(self, out_dir):
        v = self.vectorizer
        meta = {"type": self.name, "kind": self.kind, "vocabulary": {t: int(i) for t, i in sorted(v.vocabulary_.items())},
                "outputs": [o if isinstance(o, str) else [str(c) for c in o.classes_] for o in self.outputs]}
        arrays = {"idf": v.idf_}
        for i, o in enumerate(self.outputs):
            if not isinstance(o, str):
                arrays[f"coef{i}"], arrays[f"intercept{i}"] = o.coef_, o.intercept_
        (Path(out_dir) / META).write_text(json.dumps(meta, ensure_ascii=False) + "\n", encoding="utf-8")
        # C order: safetensors writes a Fortran-ordered array (sklearn's coef_ can be one) scrambled
        save_file({k: np.ascontiguousarray(a, dtype=np.float64) for k, a in arrays.items()},
                  str(Path(out_dir) / WEIGHTS))

    @classmethod
    def load(cls, meta, arrays):
        vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, vocabulary=meta["vocabulary"])
        vectorizer.idf_ = arrays["idf"]
        outputs = []
        for i, o in enumerate(meta["outputs"]):
            if isinstance(o, str):
                outputs.append(o)
                continue
            model = LogisticRegression()
            model.classes_ = np.array(o)
            model.coef_, model.intercept_ = arrays[f"coef{i}"], arrays[f"intercept{i}"]
            outputs.append(model)
        return cls(meta["kind"], vectorizer, outputs)


class MostFrequentTag:
    """Each token gets its most frequent train tag: exact word first, then lower-cased word, else the
    globally most frequent tag. Ties go to the tag seen first in train."""
    name = "most-frequent-tag"

    def __init__(self, kind, exact, lower, default):
        self.kind, self.exact, self.lower, self.default = kind, exact, lower, default

    @classmethod
    def fit(cls, kind, records):
        exact, lower, overall = defaultdict(Counter), defaultdict(Counter), Counter()
        for r in records:
            for token, tag in zip(r["tokens"], r["tags"]):
                exact[token][tag] += 1
                lower[token.lower()][tag] += 1
                overall[tag] += 1
        return cls(kind, {w: c.most_common(1)[0][0] for w, c in exact.items()},
                   {w: c.most_common(1)[0][0] for w, c in lower.items()}, overall.most_common(1)[0][0])

    def predict(self, records):
        return [[self.exact[t] if t in self.exact else self.lower.get(t.lower(), self.default) for t in r["tokens"]]
                for r in records]

    def n_params(self):
        return len(self.exact) + len(self.lower) + 1  # one tag per entry

    def save(self, out_dir):
        meta = {"type": self.name, "kind": self.kind, "exact": dict(sorted(self.exact.items())),
                "lower": dict(sorted(self.lower.items())), "default": self.default}
        (Path(out_dir) / META).write_text(json.dumps(meta, ensure_ascii=False) + "\n", encoding="utf-8")

    @classmethod
    def load(cls, meta, arrays):
        return cls(meta["kind"], meta["exact"], meta["lower"], meta["default"])


def fit_reference(kind, train):
    """The kind's reference fitted on `train`."""
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}")
    return (TfidfLogreg if kind in CLASSIFICATION_KINDS else MostFrequentTag).fit(kind, train)


def save_reference(model, out_dir):
    with atomic_path(out_dir, is_dir=True) as tmp:
        model.save(tmp)


def load_reference(model_dir):
    model_dir = Path(model_dir)
    meta = json.loads((model_dir / META).read_text(encoding="utf-8"))
    arrays = load_file(str(model_dir / WEIGHTS)) if (model_dir / WEIGHTS).is_file() else {}
    return {c.name: c for c in (TfidfLogreg, MostFrequentTag)}[meta["type"]].load(meta, arrays)


def reference_scores(model, test):
    """{"name", "macro_f1", "accuracy", "interval", "pred"} of a fitted reference on `test`, with the bootstrap
    interval of its macro F1 and its predictions (for paired comparisons)."""
    pred = model.predict(test)
    gold = [gold_labels(r, model.kind) for r in test]
    scores = score(model.kind, gold, pred)
    return {"name": model.name, "macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"],
            "interval": stats.interval(model.kind, gold, pred), "pred": pred}
