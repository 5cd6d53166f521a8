"""Non-neural references a teacher has to beat: TF-IDF + logistic regression for classification,
the most frequent training tag per word for tagging."""

from collections import Counter, defaultdict

from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression

from kdbench import stats
from kdbench.metrics import score
from kdbench.tasks import CLASSIFICATION_KINDS, KINDS, gold_labels

SEED = 0
PAIR_SEP = " _sep_ "  # a token of its own, so bigrams across the two texts differ from bigrams within one


def _text(record, kind):
    return record["text"] + PAIR_SEP + record["text_b"] if kind == "pair" else record["text"]


def tfidf_logreg(train_records, test_records, kind):
    """Predicted labels for `test_records`, shaped like their gold: one label per record, or for
    multi-aspect one list of labels per record (one classifier per aspect)."""
    if kind not in CLASSIFICATION_KINDS:
        raise ValueError(f"tfidf_logreg scores classification kinds, not {kind!r}")
    vectorizer = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True)
    x_train = vectorizer.fit_transform([_text(r, kind) for r in train_records])
    x_test = vectorizer.transform([_text(r, kind) for r in test_records])

    def fit_predict(y):
        if len(set(y)) == 1:  # LogisticRegression refuses a single class; an aspect can have one
            return [y[0]] * x_test.shape[0]
        model = LogisticRegression(max_iter=1000, random_state=SEED)
        return model.fit(x_train, y).predict(x_test).tolist()

    if kind != "multi-aspect":
        return fit_predict([r["label"] for r in train_records])
    n_aspects = len(train_records[0]["labels"])
    per_aspect = [fit_predict([r["labels"][a] for r in train_records]) for a in range(n_aspects)]
    return [list(labels) for labels in zip(*per_aspect)]


def most_frequent_tag(train_records, test_records):
    """Each test token gets its most frequent train tag: exact word first, then lowercased word,
    else the globally most frequent tag. Ties go to the tag seen first in train."""
    exact, lower, overall = defaultdict(Counter), defaultdict(Counter), Counter()
    for r in train_records:
        for token, tag in zip(r["tokens"], r["tags"]):
            exact[token][tag] += 1
            lower[token.lower()][tag] += 1
            overall[tag] += 1
    exact = {w: c.most_common(1)[0][0] for w, c in exact.items()}
    lower = {w: c.most_common(1)[0][0] for w, c in lower.items()}
    default = overall.most_common(1)[0][0]
    return [[exact[t] if t in exact else lower.get(t.lower(), default) for t in r["tokens"]]
            for r in test_records]


def reference_scores(kind, train, test):
    """{"name", "macro_f1", "accuracy", "interval", "pred"} of the kind's reference, fit on `train`, scored on
    `test`, with the bootstrap interval of its macro F1 and its predictions (for paired comparisons)."""
    if kind not in KINDS:
        raise ValueError(f"unknown task kind {kind!r}")
    if kind in CLASSIFICATION_KINDS:
        name, pred = "tfidf-logreg", tfidf_logreg(train, test, kind)
    else:
        name, pred = "most-frequent-tag", most_frequent_tag(train, test)
    gold = [gold_labels(r, kind) for r in test]
    scores = score(kind, gold, pred)
    return {"name": name, "macro_f1": scores["macro_f1"], "accuracy": scores["accuracy"],
            "interval": stats.interval(kind, gold, pred), "pred": pred}
