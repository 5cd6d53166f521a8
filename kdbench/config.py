"""Typed view of the params files: one dataclass per block, and the one place defaults live.

A setup's params (setups/<name>/params.yaml: seed, tasks, teacher, softlabels, fasttext) and a study's
(studies/<name>/params.yaml: its `setup`, the tasks it runs, students, variants, distill, replicate, bench,
report, gate, grid) write only what differs from the defaults here; `load` reads a study together with its
setup, and gives the Params a `layout` (kdbench.layout) that says where every artifact of both lives. Every key is
checked when the file is parsed, nested ones too: unknown keys, wrong types, values out of range, names that
are not registered or not safe as paths fail with the key's dotted name, before any stage starts. The blocks
are pydantic dataclasses (asdict, replace and fields work as on any dataclass), strict so that YAML's "8" or
`yes` is not taken for 8 or true, and refusing NaN and infinity: NaN fails every comparison, so it slips
through a check such as `if lr <= 0`.
"""

import dataclasses
import re
import typing
from dataclasses import field
from pathlib import Path
from typing import Annotated, Literal

import pydantic
import yaml
from pydantic import AfterValidator, Field

from kdbench.errors import KdbenchError
from kdbench.layout import SETUPS, Layout
from kdbench.registry import check_name
from kdbench.tasks import CUSTOM_FORMATS, SCHEMES, TRANSFER_SOURCES, get_task

STRICT = pydantic.ConfigDict(strict=True, allow_inf_nan=False)
dataclass = pydantic.dataclasses.dataclass(config=STRICT)  # every block below checks its values when built


def _must(test, says):
    """A field check: the value must be `says`, and is when `test(value)` is true."""
    def check(value):
        if not test(value):
            raise ValueError(f"must be {says}, got {value!r}")
        return value
    return AfterValidator(check)


def _registered(what):
    """A field check: a name in the registry of `what` (imported when a value is checked, not before)."""
    def check(name):
        registry = _registry(what)
        if name not in registry:
            raise ValueError(f"unknown {registry.what} {name!r} (known: {', '.join(registry)})")
        return name
    return AfterValidator(check)


def _model_runtime(name):
    if name not in _model_runtimes():
        raise ValueError(f"{name!r} runs the non-neural reference only (the runtimes of the models: "
                         f"{', '.join(_model_runtimes())})")
    return name


Size = Annotated[int, Field(gt=0)]            # counts and lengths that 0 would make meaningless
Count = Annotated[int, Field(ge=0)]           # where 0 means none (or all)
Seed = Annotated[int, Field(ge=0, lt=2**32)]  # what np.random.seed takes
Rate = Annotated[float, Field(gt=0)]
NonNegative = Annotated[float, Field(ge=0)]
Probability = Annotated[float, Field(ge=0, le=1)]
Fraction = Annotated[float, Field(ge=0, lt=1)]
Unique = _must(lambda items: len(set(items)) == len(items), "without repeats")
Commit = Annotated[str, _must(lambda c: re.fullmatch("[0-9a-f]{40}", c), "a full commit hash (40 hex digits)")]
Device = Annotated[str, _must(lambda d: re.fullmatch(r"auto|cpu|cuda(:\d+)?|mps", d),
                              "auto, cpu, cuda, cuda:N or mps")]
ModelRuntime = Annotated[str, _registered("runtime"), AfterValidator(_model_runtime)]
TagColumn = Annotated[int, _must(lambda c: c != 0, "a tag column (0 is the token)")]


@dataclass
class FetchConfig:
    indonlu_commit: Commit = "ce728f6926a36174b9923dfe49d6a6839b6e9bb7"  # IndoNLP/indonlu, folder dataset/
    indolem_commit: Commit = "777fdc680cfa85243f08e60045e3d34ca49756ed"  # indolem/indolem


@dataclass
class TeacherConfig:
    backbone: Annotated[str, Field(min_length=1)] = "e5-small"  # e5-small | minilm | tiny-random (offline) |
    # a hub id | a local directory
    checkpoint: str = ""            # a fine-tuned model used as it is, not trained: a folder under checkpoints/ or
    # a hub id (kdbench.teacher.checkpoint); "" = fine-tune the backbone
    logits: str = ""                # a teacher kdbench cannot run: its logits in a JSONL file under checkpoints/
    # (kdbench.teacher.logits); "" = a model
    label_map: dict[str, str] = field(default_factory=dict)  # checkpoint (or logits file) label -> task label
    pooling: Literal["auto", "mean", "first"] = "auto"  # auto = what the backbone was trained with
    prefix: str = "auto"            # text prepended to classification inputs; auto = "query: " for e5, else ""
    num_layers: Count = 0           # keep only the lowest N encoder layers (0 = all)
    freeze_embeddings: bool = True  # the e5 word table is 96M of its 118M parameters: freezing it is the speed lever
    freeze_layers: Count = 4        # freeze the lowest N encoder layers as well
    max_length: Size = 64           # sub-word tokens per example
    epochs: Size = 3
    min_steps: Count = 200          # a floor: a small task trains more epochs until it takes this many steps
    patience: Size = 2              # early stopping on validation loss, in epochs
    batch_size: Size = 16
    lr: Rate = 1e-4                 # encoder learning rate (AdamW, linear decay)
    head_lr: Rate = 1e-3            # the freshly initialised head learns faster
    warmup: Fraction = 0.1          # fraction of steps with linear warm-up
    weight_decay: NonNegative = 0.01
    seed: Seed = 0
    threads: Size = 2               # intra-op threads: fixed, because float sums depend on how work is split
    device: Device = "auto"         # auto = CUDA when present, else CPU

    def __post_init__(self):
        if self.checkpoint and self.logits:
            raise ValueError("checkpoint and logits name two teachers: keep one")


@dataclass
class SoftlabelConfig:
    """The transfer set the teacher labels (kdbench.teacher.softlabels) and how it is labelled."""
    own_train: bool = True          # the task's training texts left out of the labelled sample, gold dropped
    pool: bool = True               # texts of the other datasets of the task group
    transfer_max: Count = 0         # cap on own + pool texts (0 = none): own first, then a seeded pool sample
    augment: Count = 4              # augmented copies of each labelled training example (0 = none)
    p_mask: Probability = 0.1       # augmentation: a word becomes the unknown token...
    p_pos: Probability = 0.1        # ...or another word of its part of speech...
    p_ngram: Probability = 0.25     # ...and the sentence is cut to an n-gram, n in [ngram_min, ngram_max]
    ngram_min: Size = 1
    ngram_max: Size = 5
    batch_size: Size = 64

    def __post_init__(self):
        if self.p_mask + self.p_pos > 1:  # one draw per word picks mask, part-of-speech swap or neither
            raise ValueError(f"p_mask + p_pos must be <= 1, got {self.p_mask} + {self.p_pos}")
        if self.ngram_min > self.ngram_max:
            raise ValueError(f"ngram_min must be <= ngram_max, got {self.ngram_min} > {self.ngram_max}")


@dataclass
class DistillConfig:
    loss: Annotated[str, _registered("loss")] = "mse"  # mse (the paper's) | kl | ce (no KD) | mse+ce | kl+ce
    temperature: Rate = 1.0         # kl only
    alpha: Probability = 0.5        # weight of the hard-label term in mse+ce / kl+ce
    embeddings: Annotated[str, _registered("embedding")] = "random"  # random | fasttext | teacher
    fasttext_vec: str = ""          # a .vec file (e.g. cc.id.300.vec); empty = the one the fasttext stage trains
    transfer: Annotated[list[Literal[TRANSFER_SOURCES]], Unique] = field(default_factory=list)  # transfer-set
    # parts learnt from: own, pool, augment
    length_filter: bool = True      # pool texts only within the train inter-quartile length range
    transfer_max: Count = 0         # learn from at most this many own + pool texts of the setup's (0 = all):
    # own first, then a seeded pool sample, as softlabels.transfer_max caps them
    augment_max: Count = 0          # learn from at most this many augmented copies of each example (0 = all)
    balance: bool = False           # the transfer set resampled to its own size with each class the teacher
    # predicts equally often (single-label tasks): a minority class's texts repeated, the others sampled down
    max_length: Size = 64           # tokens per example; parse checks that every student takes this many
    min_count: Size = 2             # word-level vocabulary: words seen fewer times in train become <unk>
    epochs: Size = 20
    min_steps: Count = 1000         # a floor: a small task trains more epochs until it takes this many steps
    patience: Size = 4              # early stopping, in epochs, on...
    stop_on: Literal["teacher", "gold", "f1"] = "teacher"  # ...the KD loss against the teacher's validation
    # logits (a run without a teacher, loss: ce, takes f1 instead), cross-entropy on the validation gold
    # labels, or validation macro F1 (highest kept): the score the report ranks by; f1's patience waits while
    # either macro F1 or the gold cross-entropy improves (F1 can sit on a majority-answer plateau while the model
    # still learns: the kinds study's CASA CNN). f1 for no-KD: the stopping study, where gold cross-entropy kept a
    # CNN epoch that had not learnt a class yet
    batch_size: Size = 32
    lr: Rate = 0.001                # used as it is without lr_grid, or when students.<name>.lr sets one by hand
    lr_grid: list[Rate] = field(default_factory=lambda: [0.005, 0.001, 0.0005, 0.0001])  # tried per run: the
    # study's grid without 5e-5 and 1e-5, which no student reached a good model with in 8 epochs from scratch
    sweep_epochs: Size = 2          # each try: this many epochs...
    sweep_examples: Size = 2000     # ...on a seeded sample of this many training examples
    seed: Seed = 0
    threads: Size = 2               # intra-op threads: fixed, because float sums depend on how work is split

    def __post_init__(self):
        if self.stop_on == "teacher" and not _registry("loss").meta(self.loss, "uses_teacher"):
            self.stop_on = "f1"  # no teacher to agree with; recorded as f1, so the run says what it watched


# options added after runs were recorded: a run's record (metrics, student config) leaves them out at their
# default, so that every run from before them keeps its bytes
RECORDED_WHEN_SET = ("balance",)


def recorded(cfg):
    """A DistillConfig as a run records it (the `settings` of its metrics)."""
    default = DistillConfig()
    return {k: v for k, v in dataclasses.asdict(cfg).items()
            if k not in RECORDED_WHEN_SET or v != getattr(default, k)}


@dataclass
class StudentSettings:
    """params.yaml `students.<name>`: what is particular to one student. Each distill stage depends on
    exactly its student's entry, so changing BERT-Small's learning rate reruns only BERT-Small."""
    lr: Rate | None = None          # learning rate set by hand for this student (null: distill's lr / lr_grid)
    epochs: Size | None = None      # this student's epoch budget, over the variant's (null: the variant's)
    model: dict = field(default_factory=dict)  # size overrides of the student's config, e.g. {hidden: 256}


@dataclass
class ReplicateConfig:
    """Extra seeds of the cheap students: every claim compares runs across seeds with a paired test. Which
    students is the pipeline's shape, like `students:`: none unless listed (the quick profile: bilstm, cnn,
    bert-tiny)."""
    students: Annotated[list[str], Unique] = field(default_factory=list)
    seeds: Annotated[list[Seed], Unique] = field(default_factory=lambda: [1, 2])  # on top of each variant's
    # own seed, which they must differ from (parse checks)


@dataclass
class FasttextConfig:
    dim: Size = 100                 # vector size of the FastText model trained on train texts + the pool
    epochs: Size = 5
    min_count: Size = 2


@dataclass
class BenchConfig:
    sample: Size = 100              # test sentences timed one at a time: a fixed spread of lengths, short to long
    warmup: Count = 10              # untimed calls first (allocator and thread-pool warm-up)
    passes: Size = 3                # timed walks over the sample; each sentence keeps its fastest
    threads: Size = 1               # torch and ONNX Runtime intra-op threads, recorded with every row
    batch_size: Size = 32           # throughput is measured on the whole test split at this batch size
    runtimes: Annotated[list[ModelRuntime], Field(min_length=1), Unique] = field(
        default_factory=lambda: _model_runtimes())  # kdbench.bench.runtimes
    rss: bool = True                # peak RSS of a fresh subprocess per case (about 3 s each)


@dataclass
class GateConfig:
    """How much worse than reports/baseline a case may get before `kdbench gate` fails."""
    score_drop: NonNegative = 0.01  # absolute test macro F1
    speedup_drop: NonNegative = 0.6  # relative: speed-up vs the teacher (a same-run ratio that still drifts 2x here)
    rss_growth: NonNegative = 0.2   # relative peak RSS
    rss_slack_mb: NonNegative = 50.0  # smaller RSS changes never fail: ONNX Runtime's arena moved 30 MB between runs
    size_growth: NonNegative = 0.05  # relative file size


@dataclass
class ReportConfig:
    """The budgets the report's recommendation answers for."""
    latency_ms: NonNegative = 5.0   # p50 single-sentence latency
    size_mb: NonNegative = 20.0     # model file size
    max_score_loss: NonNegative = 0.05  # macro F1 the student may lose against its teacher
    compare: list[Annotated[list[str], Field(min_length=2, max_length=2)]] = field(default_factory=list)  # [a, b]
    # pairs of variants whose difference a - b the conclusions test, paired over seeds, per task and student


@dataclass
class Resources:
    """params.yaml `grid.<stage>`: what one stage's Ray task asks a worker for (`kdbench grid`). A scheduling
    claim, not a limit: a stage still trains with its own `threads`, so the bytes it writes do not depend on
    where it ran."""
    num_cpus: NonNegative = 1.0
    num_gpus: NonNegative = 0.0


def _default_grid():  # the stages that train or label with 2 threads ask for 2 CPUs; the rest for one
    return {"default": Resources(), "teacher": Resources(2.0), "softlabels": Resources(2.0)}


@dataclass
class UnlabeledConfig:
    """tasks.<name>.unlabeled: your own texts for the transfer set (kdbench.data.unlabeled)."""
    file: Annotated[str, Field(pattern=r"^[^/\\]*$")] = ""  # in data/custom/<task>/: .txt (a text a line), .csv, .tsv
    column: Annotated[str, Field(min_length=1)] = "text"  # csv / tsv: the column holding the texts
    public_pool: bool = True        # the public pool beside your texts; false: yours replace it


@dataclass
class TaskConfig:
    """params.yaml `tasks.<name>`; every key is optional."""
    max_train: Count = 0            # cap on training examples (0 = all); a seeded sample
    max_valid: Count = 0            # cap on validation examples (0 = all); test is never sampled
    custom: Literal[("", *CUSTOM_FORMATS)] = ""  # csv | tsv | conll: your own data in data/custom/<task>/
    labels: Annotated[list[str], Unique] = field(default_factory=list)  # custom: the label set (else train's)
    scheme: Literal[SCHEMES] = "auto"  # custom conll: bio | plain (each tag a one-word chunk) | auto
    tag_column: TagColumn = -1      # custom conll: the tag's column (0 is the token; -1 = the last)
    teacher: dict = field(default_factory=dict)  # overrides of the teacher block for this task
    unlabeled: UnlabeledConfig = field(default_factory=UnlabeledConfig)  # your own texts for the transfer set


BLOCKS = {"fetch": FetchConfig, "teacher": TeacherConfig, "softlabels": SoftlabelConfig, "distill": DistillConfig,
          "replicate": ReplicateConfig, "fasttext": FasttextConfig, "bench": BenchConfig, "gate": GateConfig,
          "report": ReportConfig}


@dataclass
class Params:
    seed: Seed = 0                  # data sampling and the transfer set's samples
    tasks: dict[str, TaskConfig] = field(default_factory=dict)
    students: dict[str, StudentSettings] = field(default_factory=dict)
    variants: dict[str, dict] = field(default_factory=dict)  # name -> overrides of the distill block
    fetch: FetchConfig = field(default_factory=FetchConfig)
    teacher: TeacherConfig = field(default_factory=TeacherConfig)
    softlabels: SoftlabelConfig = field(default_factory=SoftlabelConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    replicate: ReplicateConfig = field(default_factory=ReplicateConfig)
    fasttext: FasttextConfig = field(default_factory=FasttextConfig)
    bench: BenchConfig = field(default_factory=BenchConfig)
    gate: GateConfig = field(default_factory=GateConfig)
    report: ReportConfig = field(default_factory=ReportConfig)
    grid: dict[str, Resources] = field(default_factory=_default_grid)  # stage name in dvc.yaml (or default)
    layout = None                   # where its files are (kdbench.layout.Layout): set by `load`

    def resources(self, stage):
        """The Ray resources of a dvc.yaml stage (`distill@smsa-bilstm-kd` is stage `distill`)."""
        return self.grid.get(stage.split("@")[0], self.grid.get("default", Resources()))

    def task(self, name):
        if name not in self.tasks:
            raise KdbenchError(f"params.yaml: tasks.{name}: task not listed (listed: {', '.join(self.tasks)})")
        return self.tasks[name]

    def task_spec(self, name):
        """The kdbench.tasks.Task of a listed task: the registered one, or the user's own (`custom:`)."""
        return get_task(name, self.task(name))

    def teacher_for(self, name):
        """The teacher block with this task's overrides applied."""
        return build(TeacherConfig, {**dataclasses.asdict(self.teacher), **self.task(name).teacher},
                     f"tasks.{name}.teacher")

    def distill_for(self, variant, student=None):
        """The distill block with the variant's overrides applied, then the student's learning rate and epochs."""
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
            if self.students[student].epochs is not None:  # a student that needs a longer (or shorter) budget
                cfg = dataclasses.replace(cfg, epochs=self.students[student].epochs)
        return cfg


def _registry(what):
    """The registry of `what`, imported to check that a name is registered. tests/test_dvc_deps.py does not
    count the imports in this function as code a stage runs: a name check cannot change what a stage
    writes, and counting them would make every stage depend on every student, loss and runtime. (The one
    lookup beyond a name, DistillConfig's stop_on for a loss without a teacher, is written by distill runs
    only, and they import the losses themselves.)"""
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


# pydantic's errors, worded as kdbench's other params.yaml errors are; the value given follows
_SAYS = {"int_type": "expected int", "float_type": "expected float", "bool_type": "expected bool",
         "string_type": "expected str", "list_type": "expected a list", "dict_type": "expected a mapping",
         "finite_number": "must be finite", "greater_than": "must be > {gt}", "greater_than_equal": "must be >= {ge}",
         "less_than": "must be < {lt}", "less_than_equal": "must be <= {le}", "literal_error": "must be {expected}",
         "too_short": "must not be empty", "string_too_short": "must not be empty"}


def _dotted(key, *loc):
    """("distill", "lr_grid", 1) -> "distill.lr_grid[1]"; the key "" is the file's top level."""
    return "".join([key, *(f"[{p}]" if isinstance(p, int) else f".{p}" for p in loc)]).lstrip(".")


def _validated(make, key):
    """make(), or its first pydantic error as one line naming the dotted key."""
    try:
        return make()
    except pydantic.ValidationError as e:
        err = e.errors()[0]
        if err["type"] == "value_error":  # ours (_must, __post_init__): the message says it all
            says = str(err["ctx"]["error"])
        else:
            says = _SAYS[err["type"]].format(**err.get("ctx", {})) if err["type"] in _SAYS else err["msg"]
            says += f", got {err['input']!r}"
        raise KdbenchError(f"params.yaml: {_dotted(key, *err['loc'])}: {says}") from None


def build(cls, values, key):
    """cls(**values), refusing unknown keys and wrong or out-of-range values with the key's dotted name."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise KdbenchError(f"params.yaml: {key}: expected a mapping, got {values!r}")
    known = [f.name for f in dataclasses.fields(cls)]
    for k in values:
        if k not in known:
            raise KdbenchError(f"params.yaml: {_dotted(key, str(k))}: unknown key (known: {', '.join(known)})")
    return _validated(lambda: cls(**values), key)


def _named(raw, key, check=None):
    """A mapping of safe names (validated with `check(name)` too) -> its values; {} when not given."""
    if raw is None:
        return {}
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


_SHARED = ("vocab_size", "kind", "n_labels", "n_aspects", "pad_id")  # set from the task, not students.<name>.model


def _student_fields(name):
    """The defaults of student `name`'s config fields that students.<name>.model may override."""
    return {f.name: f.default for f in dataclasses.fields(_registry("student").meta(name, "config"))
            if f.name not in _SHARED}


def _check_student_settings(name, settings):
    hints = typing.get_type_hints(_registry("student").meta(name, "config"))
    known = _student_fields(name)
    for k, v in settings.model.items():
        key = f"students.{name}.model.{k}"
        if k not in known:
            raise KdbenchError(f"params.yaml: {key}: unknown size setting of {name} (known: {', '.join(known)})")
        if k in _registry("student").meta(name, "from_teacher"):
            raise KdbenchError(f"params.yaml: {key}: {name} takes its {k} from the teacher (only its depth, "
                               "n_layers, and dropout are its own)")
        hint = Fraction if k == "dropout" else Size if hints[k] is int else hints[k]  # sizes, and dropout
        _validated(lambda: pydantic.TypeAdapter(hint, config=STRICT).validate_python(v), key)


def _check_cross_block(params):
    """What no block can check alone: replicas' seeds against the runs' own, lengths against the students."""
    own = {"distill.seed": params.distill.seed} | {
        f"variants.{name}.seed": v["seed"] for name, v in params.variants.items() if "seed" in v}
    for i, seed in enumerate(params.replicate.seeds):
        for key, taken in own.items():
            if seed == taken:
                raise KdbenchError(f"params.yaml: replicate.seeds[{i}]: {seed} is {key} already (extra seeds "
                                   "must differ from the runs' own)")
    for i, pair in enumerate(params.report.compare):
        for name in pair:
            if name not in params.variants:
                raise KdbenchError(f"params.yaml: report.compare[{i}]: {name!r} is not a variant (variants: "
                                   f"{', '.join(params.variants)})")
    lengths = {"distill.max_length": params.distill.max_length} | {
        f"variants.{name}.max_length": v["max_length"] for name, v in params.variants.items() if "max_length" in v}
    for student, settings in params.students.items():
        fields = _student_fields(student)
        if "max_positions" not in fields:  # no hard maximum (the BiLSTM)
            continue
        most = settings.model.get("max_positions", fields["max_positions"])
        for key, length in lengths.items():
            if length > most:
                raise KdbenchError(f"params.yaml: {key}: {length} tokens is more than student {student} takes "
                                   f"(max_positions {most}; students.{student}.model.max_positions can raise it)")


def _task(name, values):
    """tasks.<name>, its `unlabeled` block built first (strict models take no plain mapping for a nested one)."""
    if isinstance(values, dict) and "unlabeled" in values:
        values = {**values, "unlabeled": build(UnlabeledConfig, values["unlabeled"], f"tasks.{name}.unlabeled")}
    return build(TaskConfig, values, f"tasks.{name}")


def parse(raw):
    """Params from the parsed YAML mapping."""
    STUDENTS, TASKS = _registry("student"), _registry("task")

    if not isinstance(raw, dict):
        raise KdbenchError("params.yaml: expected a mapping of blocks (tasks, students, variants, teacher, ...)")
    tasks = {name: _task(name, v) for name, v in _named(raw.get("tasks"), "tasks").items()}
    for name, tc in tasks.items():
        if not tc.custom and name not in TASKS:
            raise KdbenchError(f"params.yaml: tasks.{name}: unknown task (public tasks: {', '.join(TASKS)}; "
                               "or declare your own with `custom: csv | tsv | conll`)")
    students = {name: build(StudentSettings, v, f"students.{name}")
                for name, v in _named(raw.get("students"), "students", STUDENTS.check).items()}
    for name, settings in students.items():
        _check_student_settings(name, settings)
    variants = {name: {} if v is None else v for name, v in _named(raw.get("variants"), "variants").items()}
    grid = _default_grid() if raw.get("grid") is None else \
        {name: build(Resources, v, f"grid.{name}") for name, v in _named(raw["grid"], "grid").items()}
    params = build(Params, {**raw, "tasks": tasks, "students": students, "variants": variants, "grid": grid,
                            **{block: build(cls, raw.get(block), block) for block, cls in BLOCKS.items()}}, "")
    for i, name in enumerate(params.replicate.students):
        if name not in params.students:
            raise KdbenchError(f"params.yaml: replicate.students[{i}]: {name!r} is not under students "
                               f"({', '.join(params.students)})")
    # validate per-task and per-variant overrides now, not halfway through a run
    for name in params.tasks:
        params.teacher_for(name)
    for name in params.variants:
        params.distill_for(name)
    _check_cross_block(params)
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


SETUP_KEYS = ("seed", "tasks", "teacher", "softlabels", "fasttext")  # a setup's; a study's `tasks` lists names


def load(path="params.yaml"):
    """The Params of a study, a setup, or a single folder holding both (tests build such projects). A study's
    file names its setup (`setup: quick`: setups/quick/params.yaml, two folders up) and, optionally, which of
    its tasks it runs; the setup's blocks join the study's. Errors name the file the key is in."""
    path = Path(path)
    raw = read_yaml(path)
    if not isinstance(raw, dict) or "setup" not in raw:
        return _located(parse, raw, path, Layout(path.parent, path.parent))
    name = raw["setup"]
    _located(check_name, name, path, None, "setup")
    setup_path = path.parent / ".." / ".." / SETUPS / str(name) / "params.yaml"
    if not setup_path.is_file():
        raise KdbenchError(f"{path}: setup: {name!r}: {setup_path} not found")
    setup = read_yaml(setup_path)
    if not isinstance(setup, dict):
        raise KdbenchError(f"{setup_path}: expected a mapping of blocks (tasks, teacher, softlabels, ...)")
    for key in SETUP_KEYS:
        if key in raw and key != "tasks":
            raise KdbenchError(f"{path}: {key}: a setup's setting: it belongs in {setup_path}")
    for key in ("students", "variants"):
        if not raw.get(key):
            raise KdbenchError(f"{path}: {key}: list at least one (a mapping of name -> settings)")
    tasks = _located(_named, setup.get("tasks"), setup_path, None, "tasks")
    chosen = raw.get("tasks", list(tasks))
    if not isinstance(chosen, list) or not chosen:
        raise KdbenchError(f"{path}: tasks: expected a list of the setup's task names, got {chosen!r}")
    for i, task in enumerate(chosen):
        if task not in tasks:
            raise KdbenchError(f"{path}: tasks[{i}]: {task!r} is not a task of setup {name} "
                               f"({', '.join(tasks)}: {setup_path})")
    merged = {**{k: v for k, v in raw.items() if k != "setup"}, **{k: setup[k] for k in SETUP_KEYS if k in setup},
              "tasks": {task: tasks[task] for task in chosen}}
    return _located(parse, merged, (path, setup_path), Layout(setup_path.parent, path.parent))


def _located(fn, raw, paths, layout, key=None):
    """fn(raw) with `layout` set on the Params; an error's "params.yaml: key" names the file the key is in."""
    study, setup = paths if isinstance(paths, tuple) else (paths, paths)
    try:
        params = fn(raw, key) if key else fn(raw)
    except KdbenchError as e:
        message = str(e)
        if message.startswith("params.yaml: "):
            rest = message.removeprefix("params.yaml: ")
            where = setup if rest.split(".")[0].split(":")[0].split("[")[0] in SETUP_KEYS else study
            message = f"{where}: {rest}"
        raise KdbenchError(message) from None
    if layout is not None:
        params.layout = layout
    return params
