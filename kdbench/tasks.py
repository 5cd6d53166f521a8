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
from kdbench.registry import Registry

KINDS = ("single", "pair", "multi-aspect", "tagging", "qa-tagging")
CLASSIFICATION_KINDS = ("single", "pair", "multi-aspect")
GROUPS = ("classification", "labeling")  # the paper pools unlabeled text per group
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


def text_key(record):
    """What makes two records the same text (pool entries, test records, a user's unlabeled texts)."""
    return " ".join(record["tokens"]) if "tokens" in record else record["text"]


def texts_of(records):
    """The texts of prepared records, what vocabularies and FastText vectors are built from: token lists
    for tagging (question and passage), strings otherwise (both texts of a pair)."""
    out = []
    for r in records:
        if "tokens" in r:
            out += [r["tokens"]] + ([r["question"]] if "question" in r else [])
        else:
            out += [r["text"]] + ([r["text_b"]] if "text_b" in r else [])
    return out


def record_labels(kind, record):
    """Every label a prepared record carries, as a list: one, one per aspect or one per word."""
    gold = record[GOLD_KEY[kind]]
    return [gold] if isinstance(gold, str) else gold


SPLITS = ("train", "valid", "test")
# The parts of a task's transfer set (kdbench.teacher.softlabels): its own unlabelled training texts, the
# group's pool, augmented copies of its labelled examples.
TRANSFER_SOURCES = ("own", "pool", "augment")
SCHEMES = ("auto", "bio", "plain")  # how tags are chunked for scoring: see tag_scheme


@dataclass(frozen=True)
class Task:
    name: str
    kind: str
    format: str                   # which reader parses the raw files (kdbench.data.readers.READERS)
    files: dict                   # split -> path relative to the raw data root (data/raw or a custom dir)
    paper_name: str = ""          # the name the paper uses, if the paper used this task
    labels: tuple = ()            # fixed label order where upstream defines one (else sorted from train)
    aspects: tuple = ()           # multi-aspect only: aspect column names in file order
    custom: bool = False
    scheme: str = "bio"           # tagging: bio (B-/I- chunks) or plain (every tag a one-word chunk); auto decides
    options: dict = field(default_factory=dict)  # reader keyword arguments, e.g. {"tag_column": 2}

    @property
    def group(self):
        return group_of(self.kind)

    @property
    def is_tagging(self):
        return self.group == "labeling"


def group_of(kind):
    """classification or labeling: the unlabeled pool a task of this kind shares."""
    return GROUPS[0] if kind in CLASSIFICATION_KINDS else GROUPS[1]


def _chunk_prefixed(tag):
    return tag == "O" or tag in ("B", "I", "E", "S") or tag[:2] in ("B-", "I-", "E-", "S-")


def tag_scheme(scheme, tags):
    """bio or plain for a tagging task's train tags. `auto`: bio when every tag is O or carries a chunk
    prefix (B-PER, I-PER, or bare B/I as in KEPS), else plain: part-of-speech style tags, where each word is
    a chunk of its own (without this the chunk scorer finds no chunks and every model scores 0.0)."""
    if scheme != "auto":
        return scheme
    return "bio" if all(_chunk_prefixed(t) for t in tags) else "plain"


def plain_to_chunks(tags):
    """Plain tags as one-word chunks: NN -> B-NN (O stays outside), as POSP and BaPOS write theirs."""
    return [t if t == "O" else f"B-{t}" for t in tags]


TASKS = Registry("task")
_BAPOS_TAGS = (  # upstream IndoNLU PosTagIdnDataset's 41 tags
    "B-CC", "B-CD", "B-DT", "B-FW", "B-IN", "B-JJ", "B-MD", "B-NEG", "B-NN", "B-NND", "B-NNP", "B-OD", "B-PR",
    "B-PRP", "B-RB", "B-RP", "B-SC", "B-SYM", "B-UH", "B-VB", "B-WH", "B-X", "B-Z", "I-CC", "I-CD", "I-IN",
    "I-JJ", "I-NN", "I-NND", "I-NNP", "I-OD", "I-PR", "I-PRP", "I-RB", "I-SC", "I-SYM", "I-UH", "I-VB", "I-WH",
    "I-X", "I-Z")


def _register(name, kind, fmt, folder, ext, paper_name="", **kw):
    if folder.startswith("indolem/"):
        files = kw.pop("files")
    else:
        files = {s: f"indonlu/{folder}/{s}_preprocess.{ext}" for s in SPLITS}
    TASKS.add(name, Task(name, kind, fmt, files, paper_name, **kw))


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
_register("indolem_pos", "tagging", "conll", "indolem/pos", "tsv", "POS", scheme="plain",
          files={"train": "indolem/pos/train.01.tsv", "valid": "indolem/pos/dev.01.tsv",
                 "test": "indolem/pos/test.01.tsv"})

CUSTOM_FORMATS = {"csv": "custom-csv", "tsv": "custom-tsv", "conll": "conll"}


def custom_task(name, fmt, labels=(), scheme="auto", tag_column=-1):
    """A user's own data: data/custom/<name>/{train,valid,test}.<fmt> (see data/custom/README.md).

    csv/tsv: a header row `text,label` (single) or `text,text_b,label` (pair); the kind is decided from
    the header when the files are read. conll: `token ... tag` lines (tag in column `tag_column`, default
    the last), a blank line between sentences. `labels` fixes the label set (else: the train labels)."""
    if fmt not in CUSTOM_FORMATS:
        raise KdbenchError(f"params.yaml: tasks.{name}.custom: unknown format {fmt!r} "
                           f"(choose one of {', '.join(CUSTOM_FORMATS)})")
    files = {s: f"{name}/{s}.{fmt}" for s in SPLITS}
    options = {"tag_column": tag_column} if fmt == "conll" else {}
    return Task(name, "tagging" if fmt == "conll" else "single", CUSTOM_FORMATS[fmt], files, custom=True,
                labels=tuple(labels), scheme=scheme, options=options)


def list_tasks():
    return TASKS.names()


def get_task(name, settings=None):
    """The registered task `name`, or the user's own task when `settings` (a config.TaskConfig) says
    `custom: <format>`."""
    if settings is not None and settings.custom:
        if name in TASKS:
            raise KdbenchError(f"params.yaml: tasks.{name}: a custom task cannot reuse the public task name")
        return custom_task(name, settings.custom, settings.labels, settings.scheme, settings.tag_column)
    if name not in TASKS:
        raise KdbenchError(f"unknown task {name!r}; known tasks: {', '.join(TASKS)} "
                           "(or declare your own with `custom:` in params.yaml)")
    return TASKS.get(name)
