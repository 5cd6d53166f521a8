"""Typed view of params.yaml: one dataclass per block, and the one place defaults live.

The dataclass defaults are the quick profile's values; every profile in profiles/ writes every key out
(tests/test_config.py checks it), so no run silently takes a value its profile does not show. Every key is
checked when the file is parsed, nested ones too: unknown keys, wrong types, names that are not registered
or not safe as paths fail with the key's dotted name, before any stage starts.
"""

import dataclasses
import re
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from kdbench.errors import KdbenchError
from kdbench.registry import check_name


@dataclass
class FetchConfig:
    indonlu_commit: str = "ce728f6926a36174b9923dfe49d6a6839b6e9bb7"  # IndoNLP/indonlu, folder dataset/
    indolem_commit: str = "777fdc680cfa85243f08e60045e3d34ca49756ed"  # indolem/indolem


@dataclass
class TeacherConfig:
    backbone: str = "e5-small"      # e5-small | minilm | tiny-random (offline) | a hub id | a local directory
    pooling: str = "auto"           # mean | first | auto (= what the backbone was trained with)
    prefix: str = "auto"            # text prepended to classification inputs; auto = "query: " for e5, else ""
    num_layers: int = 0             # keep only the lowest N encoder layers (0 = all)
    freeze_embeddings: bool = True  # the e5 word table is 96M of its 118M parameters: freezing it is the speed lever
    freeze_layers: int = 4          # freeze the lowest N encoder layers as well
    max_length: int = 64            # sub-word tokens per example
    epochs: int = 3
    patience: int = 2               # early stopping on validation loss, in epochs
    batch_size: int = 16
    lr: float = 1e-4                # encoder learning rate (AdamW, linear decay)
    head_lr: float = 1e-3           # the freshly initialised head learns faster
    warmup: float = 0.1             # fraction of steps with linear warm-up
    weight_decay: float = 0.01
    seed: int = 0
    threads: int = 2                # intra-op threads: fixed, because float sums depend on how work is split
    device: str = "auto"            # auto = CUDA when present, else CPU

    def __post_init__(self):
        _choice("teacher.pooling", self.pooling, ("auto", "mean", "first"))
        _positive("teacher", self, ("max_length", "epochs", "patience", "batch_size", "lr", "head_lr", "threads"))


@dataclass
class SoftlabelConfig:
    """The transfer set the teacher labels (kdbench.teacher.softlabels) and how it is labelled."""
    own_train: bool = True          # the task's training texts left out of the labelled sample, gold dropped
    pool: bool = True               # texts of the other datasets of the task group
    transfer_max: int = 6000        # cap on own + pool texts (0 = none): own first, then a seeded pool sample
    augment: int = 2                # augmented copies of each labelled training example (0 = none)
    p_mask: float = 0.1             # augmentation: a word becomes the unknown token...
    p_pos: float = 0.1              # ...or another word of its part of speech...
    p_ngram: float = 0.25           # ...and the sentence is cut to an n-gram, n in [ngram_min, ngram_max]
    ngram_min: int = 1
    ngram_max: int = 5
    batch_size: int = 64

    def __post_init__(self):
        _positive("softlabels", self, ("batch_size", "ngram_min", "ngram_max"))
        for name in ("p_mask", "p_pos", "p_ngram"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise KdbenchError(f"params.yaml: softlabels.{name}: must be in [0, 1], got {getattr(self, name)}")
        if self.p_mask + self.p_pos > 1 or self.ngram_min > self.ngram_max or self.transfer_max < 0 \
                or self.augment < 0:
            raise KdbenchError("params.yaml: softlabels: needs p_mask + p_pos <= 1, ngram_min <= ngram_max, "
                               "transfer_max >= 0 and augment >= 0")


@dataclass
class DistillConfig:
    loss: str = "mse"               # kdbench.distill.losses: mse (the paper's) | kl | ce (no KD) | mse+ce | kl+ce
    temperature: float = 1.0        # kl only
    alpha: float = 0.5              # weight of the hard-label term in mse+ce / kl+ce
    embeddings: str = "random"      # kdbench.distill.embeddings: random | fasttext | teacher
    fasttext_vec: str = ""          # a .vec file (e.g. cc.id.300.vec); empty = the one the fasttext stage trains
    transfer: list[str] = field(default_factory=list)  # transfer-set parts learnt from: own, pool, augment
    length_filter: bool = True      # pool texts only within the train inter-quartile length range
    max_length: int = 64            # tokens per example
    min_count: int = 2              # word-level vocabulary: words seen fewer times in train become <unk>
    epochs: int = 8
    patience: int = 2               # early stopping on validation loss (cross-entropy on valid gold), in epochs
    batch_size: int = 32
    lr: float = 0.001               # used as it is without lr_grid, or when students.<name>.lr sets one by hand
    lr_grid: list[float] = field(default_factory=lambda: [0.005, 0.001, 0.0005, 0.0001])  # tried per run: the
    # study's grid without 5e-5 and 1e-5, which no student reached a good model with in 8 epochs from scratch
    sweep_epochs: int = 2           # each try: this many epochs...
    sweep_examples: int = 2000      # ...on a seeded sample of this many training examples
    seed: int = 0
    threads: int = 2                # intra-op threads: fixed, because float sums depend on how work is split

    def __post_init__(self):
        _registry("loss").check(self.loss, "distill.loss")
        _registry("embedding").check(self.embeddings, "distill.embeddings")
        _positive("distill", self, ("temperature", "max_length", "min_count", "epochs", "patience", "batch_size",
                                    "lr", "threads", "sweep_epochs", "sweep_examples"))
        if any(lr <= 0 for lr in self.lr_grid):
            raise KdbenchError(f"params.yaml: distill.lr_grid: learning rates must be > 0, got {self.lr_grid}")
        if not 0.0 <= self.alpha <= 1.0:
            raise KdbenchError(f"params.yaml: distill.alpha: must be in [0, 1], got {self.alpha}")
        from kdbench.tasks import TRANSFER_SOURCES
        for i, source in enumerate(self.transfer):
            _choice(f"distill.transfer[{i}]", source, TRANSFER_SOURCES)


@dataclass
class StudentSettings:
    """params.yaml `students.<name>`: what is particular to one student. Each distill stage depends on
    exactly its student's entry, so changing BERT-Small's learning rate reruns only BERT-Small."""
    lr: float | None = None         # learning rate set by hand for this student (null: distill's lr / lr_grid)
    model: dict = field(default_factory=dict)  # size overrides of the student's config, e.g. {hidden: 256}


@dataclass
class ReplicateConfig:
    """Extra seeds of the cheap students: every claim compares runs across seeds with a paired test. Which
    students is the pipeline's shape, like `students:`: none unless listed (the quick profile: bilstm, cnn,
    bert-tiny)."""
    students: list[str] = field(default_factory=list)
    seeds: list[int] = field(default_factory=lambda: [1, 2])  # on top of each variant's own seed

    def __post_init__(self):
        if len(set(self.seeds)) != len(self.seeds) or len(set(self.students)) != len(self.students):
            raise KdbenchError("params.yaml: replicate: students and seeds must not repeat")


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
    runtimes: list[str] = field(default_factory=lambda: _model_runtimes())  # kdbench.bench.runtimes
    rss: bool = True                # peak RSS of a fresh subprocess per case (about 3 s each)

    def __post_init__(self):
        _positive("bench", self, ("sample", "passes", "threads", "batch_size"))
        for i, r in enumerate(self.runtimes):
            _registry("runtime").check(r, f"bench.runtimes[{i}]")
            if r not in _model_runtimes():
                raise KdbenchError(f"params.yaml: bench.runtimes[{i}]: {r!r} runs the non-neural reference only "
                                   f"(the runtimes of the models: {', '.join(_model_runtimes())})")


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
class Resources:
    """params.yaml `grid.<stage>`: what one stage's Ray task asks a worker for (`kdbench grid`). A scheduling
    claim, not a limit: a stage still trains with its own `threads`, so the bytes it writes do not depend on
    where it ran."""
    num_cpus: float = 1.0
    num_gpus: float = 0.0

    def __post_init__(self):
        if self.num_cpus < 0 or self.num_gpus < 0:
            raise KdbenchError("params.yaml: num_cpus and num_gpus must be >= 0")


def _default_grid():  # the stages that train or label with 2 threads ask for 2 CPUs; the rest for one
    return {"default": Resources(), "teacher": Resources(2.0), "softlabels": Resources(2.0)}


@dataclass
class TaskConfig:
    """params.yaml `tasks.<name>`; every key is optional."""
    max_train: int = 0              # cap on training examples (0 = all); a seeded sample
    max_valid: int = 0              # cap on validation examples (0 = all); test is never sampled
    custom: str = ""                # csv | tsv | conll: your own data in data/custom/<task>/
    labels: list[str] = field(default_factory=list)  # custom: the label set (else the train labels)
    scheme: str = "auto"            # custom conll: bio | plain (each tag a one-word chunk) | auto
    tag_column: int = -1            # custom conll: the tag's column (0 is the token; -1 = the last)
    teacher: dict = field(default_factory=dict)  # overrides of the teacher block for this task

    def __post_init__(self):
        from kdbench.tasks import CUSTOM_FORMATS, SCHEMES

        if self.custom:
            _choice("custom", self.custom, tuple(CUSTOM_FORMATS))
        _choice("scheme", self.scheme, SCHEMES)
        if self.max_train < 0 or self.max_valid < 0:
            raise KdbenchError("params.yaml: max_train and max_valid must be >= 0 (0 = all)")


BLOCKS = {"fetch": FetchConfig, "teacher": TeacherConfig, "softlabels": SoftlabelConfig, "distill": DistillConfig,
          "replicate": ReplicateConfig, "fasttext": FasttextConfig, "bench": BenchConfig, "gate": GateConfig,
          "report": ReportConfig}


@dataclass
class Params:
    seed: int = 0                   # data sampling and the transfer set's samples
    tasks: dict = field(default_factory=dict)       # name -> TaskConfig
    students: dict = field(default_factory=dict)    # name -> StudentSettings
    variants: dict = field(default_factory=dict)    # name -> overrides of the distill block
    fetch: FetchConfig = field(default_factory=FetchConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    softlabels: SoftlabelConfig = field(default_factory=SoftlabelConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    replicate: ReplicateConfig = field(default_factory=ReplicateConfig)
    fasttext: FasttextConfig = field(default_factory=FasttextConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    grid: dict = field(default_factory=_default_grid)  # stage name in dvc.yaml (or default) -> Resources

    def resources(self, stage):
        """The Ray resources of a dvc.yaml stage (`distill@smsa-bilstm-kd` is stage `distill`)."""
        return self.grid.get(stage.split("@")[0], self.grid.get("default", Resources()))

    def task(self, name):
        if name not in self.tasks:
            raise KdbenchError(f"params.yaml: tasks.{name}: task not listed (listed: {', '.join(self.tasks)})")
        return self.tasks[name]

    def task_spec(self, name):
        """The kdbench.tasks.Task of a listed task: the registered one, or the user's own (`custom:`)."""
        from kdbench.tasks import get_task
        return get_task(name, self.task(name))

    def teacher_for(self, name):
        """The teacher block with this task's overrides applied."""
        return build(TeacherConfig, {**dataclasses.asdict(self.teacher), **self.task(name).teacher},
                     f"tasks.{name}.teacher")

    def distill_for(self, variant, student=None):
        """The distill block with the variant's overrides applied, then the student's learning rate."""
        if variant not in self.variants:
            raise KdbenchError(f"params.yaml: variants.{variant}: not listed (listed: {', '.join(self.variants)})")
        cfg = build(DistillConfig, {**dataclasses.asdict(self.distill), **self.variants[variant]},
                    f"variants.{variant}")
        if student is not None:
            if student not in self.students:
                raise KdbenchError(f"params.yaml: students.{student}: not listed "
                                   f"(listed: {', '.join(self.students)})")
            if self.students[student].lr is not None:  # set by hand: no sweep
                cfg = dataclasses.replace(cfg, lr=self.students[student].lr, lr_grid=[])
        return cfg


def _registry(what):
    """The registry of `what`, imported to check that a name is registered. tests/test_dvc_deps.py does not
    count the imports in this function as code a stage runs: a name check cannot change what a stage
    writes, and counting them would make every stage depend on every student, loss and runtime."""
    if what == "student":
        from kdbench.students import STUDENTS
        return STUDENTS
    if what == "loss":
        from kdbench.distill.losses import LOSSES
        return LOSSES
    if what == "embedding":
        from kdbench.distill.embeddings import EMBEDDINGS
        return EMBEDDINGS
    if what == "runtime":
        from kdbench.bench.runtimes import RUNTIMES
        return RUNTIMES
    from kdbench.tasks import TASKS
    return TASKS


def _model_runtimes():
    """The runtimes the teacher and the students run in (not the reference's own)."""
    runtimes = _registry("runtime")
    return [r for r in runtimes.names() if not runtimes.meta(r, "reference")]


def _choice(key, value, allowed):
    if value not in allowed:
        raise KdbenchError(f"params.yaml: {key}: {value!r} is not one of {', '.join(allowed)}")


def _positive(block, obj, names):
    for n in names:
        if getattr(obj, n) <= 0:
            raise KdbenchError(f"params.yaml: {block}.{n}: must be > 0, got {getattr(obj, n)}")


def _typed(value, hint, key):
    """`value` as type `hint` (int, float, bool, str, list[X], dict, X | None), or an error naming `key`."""
    if isinstance(hint, types.UnionType):  # X | None
        args = [a for a in typing.get_args(hint) if a is not type(None)]
        return None if value is None else _typed(value, args[0], key)
    origin = typing.get_origin(hint)
    if origin is list:
        if not isinstance(value, list):
            raise KdbenchError(f"params.yaml: {key}: expected a list, got {value!r}")
        return [_typed(v, typing.get_args(hint)[0], f"{key}[{i}]") for i, v in enumerate(value)]
    if hint is dict:
        if not isinstance(value, dict):
            raise KdbenchError(f"params.yaml: {key}: expected a mapping, got {value!r}")
        return value
    if hint is float and isinstance(value, int) and not isinstance(value, bool):
        return float(value)  # YAML reads 1 as an int
    if not isinstance(value, hint) or (hint is int and isinstance(value, bool)):
        raise KdbenchError(f"params.yaml: {key}: expected {hint.__name__}, got {value!r}")
    return value


def build(cls, values, key):
    """cls(**values), refusing unknown keys and values of the wrong type with the key's dotted name.
    Errors raised by cls's own checks are re-keyed to `key`."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise KdbenchError(f"params.yaml: {key}: expected a mapping, got {values!r}")
    hints = typing.get_type_hints(cls)
    known = [f.name for f in dataclasses.fields(cls)]
    typed = {}
    for k, v in values.items():
        if k not in known:
            raise KdbenchError(f"params.yaml: {key}.{k}: unknown key (known: {', '.join(known)})")
        typed[k] = _typed(v, hints[k], f"{key}.{k}")
    try:
        return cls(**typed)
    except KdbenchError as e:  # "params.yaml: distill.loss: ..." -> "params.yaml: variants.kd.loss: ..."
        message = str(e)
        block = re.match(r"params\.yaml: (\w+)\.", message)
        if block and block.group(1) in BLOCKS:
            message = message.replace(f"params.yaml: {block.group(1)}.", f"params.yaml: {key}.", 1)
        elif not message.startswith(f"params.yaml: {key}"):
            message = message.replace("params.yaml: ", f"params.yaml: {key}.", 1)
        raise KdbenchError(message) from None


def _named(raw, key, check=None):
    """A mapping of safe names (validated with `check(name)` too) -> its values."""
    if not isinstance(raw, dict):
        hint = f" (a mapping of name -> settings, e.g. {{{raw}: {{}}}})" if isinstance(raw, str) else \
            " (a mapping of name -> settings)"
        raise KdbenchError(f"params.yaml: {key}: expected a mapping, got {raw!r}{hint}")
    if not raw:
        raise KdbenchError(f"params.yaml: {key}: list at least one (a mapping of name -> settings)")
    for name in raw:
        check_name(name, f"{key}.{name}")
        if check:
            check(name, f"{key}.{name}")
    return raw


def _check_student_settings(name, settings):
    STUDENTS = _registry("student")
    known = [f.name for f in dataclasses.fields(STUDENTS.meta(name, "config"))]
    for k, v in settings.model.items():
        if k not in known or k in ("vocab_size", "kind", "n_labels", "n_aspects", "pad_id"):
            raise KdbenchError(f"params.yaml: students.{name}.model.{k}: unknown size setting of {name} "
                               f"(known: {', '.join(n for n in known if n not in ('vocab_size', 'kind'))})")
        _typed(v, typing.get_type_hints(STUDENTS.meta(name, "config"))[k], f"students.{name}.model.{k}")
    if settings.lr is not None and settings.lr <= 0:
        raise KdbenchError(f"params.yaml: students.{name}.lr: must be > 0, got {settings.lr}")


def parse(raw):
    """Params from the parsed YAML mapping."""
    STUDENTS, TASKS = _registry("student"), _registry("task")

    if not isinstance(raw, dict):
        raise KdbenchError("params.yaml: expected a mapping of blocks (tasks, students, variants, teacher, ...)")
    names = [f.name for f in dataclasses.fields(Params)]
    unknown = sorted(set(raw) - set(names))
    if unknown:
        raise KdbenchError(f"params.yaml: {unknown[0]}: unknown key (known: {', '.join(names)})")
    tasks = _named(raw.get("tasks"), "tasks")
    task_configs = {name: build(TaskConfig, v, f"tasks.{name}") for name, v in tasks.items()}
    for name, tc in task_configs.items():
        if not tc.custom and name not in TASKS:
            raise KdbenchError(f"params.yaml: tasks.{name}: unknown task (public tasks: {', '.join(TASKS)}; "
                               "or declare your own with `custom: csv | tsv | conll`)")
    students = _named(raw.get("students"), "students", STUDENTS.check)
    student_settings = {name: build(StudentSettings, v, f"students.{name}") for name, v in students.items()}
    for name, settings in student_settings.items():
        _check_student_settings(name, settings)
    variants = _named(raw.get("variants"), "variants")
    grid = _default_grid() if raw.get("grid") is None else \
        {name: build(Resources, v, f"grid.{name}") for name, v in _named(raw["grid"], "grid").items()}
    params = Params(
        seed=_typed(raw.get("seed", 0), int, "seed"),
        tasks=task_configs, students=student_settings,
        variants={name: _typed(v if v is not None else {}, dict, f"variants.{name}") for name, v in variants.items()},
        grid=grid,
        **{block: build(cls, raw.get(block), block) for block, cls in BLOCKS.items()},
    )
    for i, name in enumerate(params.replicate.students):
        if name not in params.students:
            raise KdbenchError(f"params.yaml: replicate.students[{i}]: {name!r} is not under students "
                               f"({', '.join(params.students)})")
    # validate per-task and per-variant overrides now, not halfway through a run
    for name in params.tasks:
        params.teacher_for(name)
    for name in params.variants:
        params.distill_for(name)
    return params


class _Loader(yaml.SafeLoader):
    """YAML with YAML 1.2's floats: PyYAML (YAML 1.1) reads 5e-05, as DVC writes `-S teacher.lr=5e-5`, as a
    string; with this resolver it is the float it looks like."""


_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:float",
    re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                   |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                   |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                   |[-+]?\.(?:inf|Inf|INF)
                   |\.(?:nan|NaN|NAN))$""", re.X),
    list("-+0123456789."))


def read_yaml(path):
    """The YAML file at `path` (floats as YAML 1.2 reads them), or one error naming the file and line."""
    path = Path(path)
    if not path.exists():
        raise KdbenchError(f"{path}: not found (run kdbench from the project root)")
    try:
        return yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{path}:{mark.line + 1}" if mark else str(path)
        raise KdbenchError(f"{where}: not valid YAML: {getattr(e, 'problem', None) or e}".splitlines()[0]) from None


def load(path="params.yaml"):
    return parse(read_yaml(path))
