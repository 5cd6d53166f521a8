"""The task registry: one entry per task. Adding a public task = one `_register(...)` line.

Kinds:
  single        one text -> one label                       (smsa, emot, IndoLEM sentiment)
  pair          two texts -> one label                      (wrete)
  multi-aspect  one text -> one label per aspect            (casa, hoasa)
  tagging       tokens -> one tag per token                 (posp, bapos, terma, keps, nergrit, nerp, IndoLEM POS)
  qa-tagging    question tokens + passage tokens -> tags on the passage (facqa)

Prepared record format (data/prepared/<task>/{train,valid,test}.jsonl, one JSON object a line):
  single        {"text": str, "label": str}
  pair          {"text": str, "text_b": str, "label": str}
  multi-aspect  {"text": str, "labels": [str, ...]}            one label per aspect, in `aspects` order
  tagging       {"tokens": [str, ...], "tags": [str, ...]}
  qa-tagging    {"tokens": [str, ...], "question": [str, ...], "tags": [str, ...]}
and data/prepared/<task>/labels.json: {"task", "kind", "labels": [...], "aspects": [...] or null}.
"""

from dataclasses import dataclass, field

import numpy as np

from kdbench.errors import KdbenchError

KINDS = ("single", "pair", "multi-aspect", "tagging", "qa-tagging")
CLASSIFICATION_KINDS = ("single", "pair", "multi-aspect")
GOLD_KEY = {"single": "label", "pair": "label", "multi-aspect": "labels", "tagging": "tags", "qa-tagging": "tags"}


def gold_labels(record, kind):
    """A record's gold: one label (single, pair), one per aspect, or one per word."""
    return record[GOLD_KEY[kind]]


def decode(logits, labels, kind):
    """Labels from logits: (L,) -> one label; (aspects or words, L) -> one per row."""
    logits = np.asarray(logits)
    ids = logits.argmax(-1)
    if kind in ("single", "pair"):
        return labels[int(ids)]
    if kind in ("tagging", "qa-tagging") and "O" in labels:  # words cut off by max_length: outside any chunk
        ids = np.where(np.abs(logits).sum(-1) == 0, labels.index("O"), ids)
    return [labels[int(i)] for i in ids]


def record_labels(kind, record):
    """Every label a prepared record carries, as a list: one, one per aspect or one per word."""
    gold = record[GOLD_KEY[kind]]
    return [gold] if isinstance(gold, str) else gold


SPLITS = ("train", "valid", "test")
# File formats a reader exists for (kdbench.data.readers.READERS); `custom` tasks pick one by extension.
FORMATS = ("indonlu-csv", "indonlu-tsv", "indonlu-aspect-csv", "indonlu-pair-csv", "indonlu-qa-csv",
           "conll", "indolem-pos", "indolem-sentiment-csv", "custom-csv", "custom-tsv")


@dataclass(frozen=True)
class Task:
    name: str
    kind: str
    format: str                   # which reader parses the raw files
    files: dict                   # split -> path relative to the raw data root (data/raw or a custom dir)
    paper_name: str = ""          # the name the paper uses, if the paper used this task
    labels: tuple = ()            # fixed label order where upstream defines one (else sorted from train)
    aspects: tuple = ()           # multi-aspect only: aspect column names in file order
    custom: bool = False
    extra: dict = field(default_factory=dict)

    @property
    def group(self):
        """The paper pools unlabeled text per group: classification or labeling."""
        return "classification" if self.kind in CLASSIFICATION_KINDS else "labeling"

    @property
    def is_tagging(self):
        return self.group == "labeling"


_REGISTRY: dict[str, Task] = {}
_BAPOS_TAGS = (  # upstream IndoNLU PosTagIdnDataset's 41 tags
    "B-CC", "B-CD", "B-DT", "B-FW", "B-IN", "B-JJ", "B-MD", "B-NEG", "B-NN", "B-NND", "B-NNP", "B-OD", "B-PR",
    "B-PRP", "B-RB", "B-RP", "B-SC", "B-SYM", "B-UH", "B-VB", "B-WH", "B-X", "B-Z", "I-CC", "I-CD", "I-IN",
    "I-JJ", "I-NN", "I-NND", "I-NNP", "I-OD", "I-PR", "I-PRP", "I-RB", "I-SC", "I-SYM", "I-UH", "I-VB", "I-WH",
    "I-X", "I-Z")


def _register(name, kind, fmt, folder, ext, paper_name="", **kw):
    if name in _REGISTRY:
        raise ValueError(f"task {name!r} registered twice")
    if folder.startswith("indolem/"):
        files = kw.pop("files")
    else:
        files = {s: f"indonlu/{folder}/{s}_preprocess.{ext}" for s in SPLITS}
    _REGISTRY[name] = Task(name, kind, fmt, files, paper_name, **kw)


# IndoNLU (IndoNLP/indonlu, dataset/), in the IndoNLU paper's order.
_register("emot", "single", "indonlu-csv", "emot_emotion-twitter", "csv", "EmoT")
_register("smsa", "single", "indonlu-tsv", "smsa_doc-sentiment-prosa", "tsv", "SmSA")
_register("casa", "multi-aspect", "indonlu-aspect-csv", "casa_absa-prosa", "csv",
          aspects=("fuel", "machine", "others", "part", "price", "service"))
_register("hoasa", "multi-aspect", "indonlu-aspect-csv", "hoasa_absa-airy", "csv",
          aspects=("ac", "air_panas", "bau", "general", "kebersihan", "linen", "service", "sunrise_meal",
                   "tv", "wifi"))
_register("wrete", "pair", "indonlu-pair-csv", "wrete_entailment-ui", "csv")
_register("posp", "tagging", "conll", "posp_pos-prosa", "txt", "POSP")
# BaPOS: I-IN occurs in valid/test but never in train, so the label set is upstream's 41 tags
# (IndoNLU PosTagIdnDataset), not the train set.
_register("bapos", "tagging", "conll", "bapos_pos-idn", "txt", labels=_BAPOS_TAGS)
_register("terma", "tagging", "conll", "terma_term-extraction-airy", "txt", "TermA")
_register("keps", "tagging", "conll", "keps_keyword-extraction-prosa", "txt")
_register("nergrit", "tagging", "conll", "nergrit_ner-grit", "txt", "NERGrit")
_register("nerp", "tagging", "conll", "nerp_ner-prosa", "txt", "NERP")
_register("facqa", "qa-tagging", "indonlu-qa-csv", "facqa_qa-factoid-itb", "csv")
# IndoLEM (indolem/indolem): sentiment fold 0 and POS fold 1, as in the paper.
_register("indolem_sentiment", "single", "indolem-sentiment-csv", "indolem/sentiment", "csv", "SentA",
          files={"train": "indolem/sentiment/train0.csv", "valid": "indolem/sentiment/dev0.csv",
                 "test": "indolem/sentiment/test0.csv"})
_register("indolem_pos", "tagging", "indolem-pos", "indolem/pos", "tsv", "POS",
          files={"train": "indolem/pos/train.01.tsv", "valid": "indolem/pos/dev.01.tsv",
                 "test": "indolem/pos/test.01.tsv"})

CUSTOM_FORMATS = {"csv": ("custom-csv", None), "tsv": ("custom-tsv", None), "conll": ("conll", "tagging")}


def custom_task(name, fmt):
    """A user's own data: data/custom/<name>/{train,valid,test}.<fmt>.

    csv/tsv rows are `text,label` (single) or `text,text_b,label` (pair), with a header row;
    conll is `token<TAB>tag` lines with a blank line between sentences. The kind of a csv/tsv task is
    decided from its column count when it is read."""
    if fmt not in CUSTOM_FORMATS:
        raise KdbenchError(f"params.yaml: tasks.{name}.custom: unknown format {fmt!r} "
                           f"(choose one of {', '.join(CUSTOM_FORMATS)})")
    reader, kind = CUSTOM_FORMATS[fmt]
    files = {s: f"{name}/{s}.{fmt}" for s in SPLITS}
    return Task(name, kind or "single", reader, files, custom=True)


def list_tasks():
    return list(_REGISTRY)


def get_task(name, custom=None):
    """The registered task `name`, or a custom task when `custom` (a format name) is given."""
    if custom:
        if name in _REGISTRY:
            raise KdbenchError(f"params.yaml: tasks.{name}: a custom task cannot reuse the public task name")
        return custom_task(name, custom)
    if name not in _REGISTRY:
        raise KdbenchError(f"unknown task {name!r}; known tasks: {', '.join(_REGISTRY)} "
                           "(or declare your own with `custom:` in params.yaml)")
    return _REGISTRY[name]
