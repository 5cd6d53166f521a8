"""The measuring instrument behind `pytest --benchmark-only` and the `bench` stage.

A *case* is one (task, model, distill variant, runtime): `smsa-teacher-eager`, `smsa-bilstm-kd-onnx`.
For each case the harness
  - loads the model the way a deployment would (no training code) and prepares the runtime
    (kdbench.bench.runtimes: eager torch, ONNX Runtime, ONNX Runtime int8);
  - tokenises a fixed sample of real test sentences (shortest to longest, evenly spread) once, timing
    tokenisation on its own, so the timed body is the forward pass of one sentence;
  - re-scores the runtime on the whole test split at the bench batch size, which also gives throughput,
    and a student's (or the reference's) on the validation split, which the report's recommendation picks by;
  - keeps the ONNX and int8 files in a cache named by what they are exported from (`artifact_path`), so a
    model that did not change is exported once, whichever bench run or study measures it;
  - measures peak RSS in a fresh subprocess that loads only that model (kdbench.bench.rss). It runs while
    the next case loads and exports its model, and is waited for before that case is timed, so no timed
    call shares the machine with it; `fill_rss` puts the figures into the rows at the end of the run.
"""

import functools
import hashlib
import itertools
import json
import os
import platform
import subprocess
import sys
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import numpy as np
import torch

from kdbench import config, metrics
from kdbench.bench.models import REFERENCE_MARKER, TEACHER_MARKER, Loaded, load
from kdbench.bench.runtimes import BASELINE_RUNTIME, RUNTIMES
from kdbench.data.prepare import load_prepared
from kdbench.errors import KdbenchError
from kdbench.layout import Layout
from kdbench.students.artifact import CONFIG as STUDENT_MARKER
from kdbench.tasks import gold_labels
from kdbench.teacher.logits import is_logits_teacher
from kdbench.trainer import evaluate, predict, record_length


@dataclass
class Case:
    task: str
    model: str              # "teacher", "reference" or a student name
    variant: str | None     # distill variant (None for the teacher and the reference)
    runtime: str
    layout: Layout = None   # where its model lives (kdbench.layout)

    @property
    def id(self):
        return "-".join(x for x in (self.task, self.model, self.variant, self.runtime) if x)

    @property
    def model_key(self):    # the case without its runtime
        return "-".join(x for x in (self.task, self.model, self.variant) if x)

    @property
    def model_dir(self):
        if self.model == "teacher":
            return self.layout.teacher(self.task)
        if self.model == "reference":
            return self.layout.reference(self.task)
        return self.layout.student(self.task, self.model, self.variant)


def export_cache():
    """Where exported files are kept: $KDBENCH_EXPORT_CACHE, else $XDG_CACHE_HOME/kdbench/exports (by default
    ~/.cache/kdbench/exports). Delete it at will: what is missing is exported again."""
    if os.environ.get("KDBENCH_EXPORT_CACHE"):
        return Path(os.environ["KDBENCH_EXPORT_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "kdbench" / "exports"


def artifact_path(case, example):
    """The file a runtime runs (None for one that loads the model folder itself), named by everything its
    bytes depend on: the model folder's DVC md5, the example input the exporter traces, the export code and the
    exporter's versions. A file of that name was exported from these weights by this code, so it is reused by
    every later bench run and by every study that measures the same model (a setup's teacher, the dearest to
    export, is shared by all its studies)."""
    suffix = RUNTIMES.meta(case.runtime, "suffix")
    if not suffix:
        return None
    import onnx
    import onnxruntime

    key = hashlib.sha256()
    for part in (dvc_md5(case.model_dir), Path(__file__).with_name("export.py").read_bytes(), torch.__version__,
                 onnx.__version__, onnxruntime.__version__, *(np.asarray(x).tobytes() for x in example if x is not None)):
        key.update(part if isinstance(part, bytes) else str(part).encode())
        key.update(b"\0")
    return export_cache() / f"{case.model_key}-{key.hexdigest()[:16]}{suffix}"


def speedup(teacher_p50, p50):
    return None if teacher_p50 is None or not p50 else teacher_p50 / p50


def add_speedups(rows):
    """Fill in every row's speed-ups from the rows of one run (a ratio of two timings of one session): against
    the teacher's row of its task in the same runtime, and against the teacher's fastest runtime in this run
    (what a user who ships the teacher would ship: the figure to lead with), whose name it records. None where
    the run timed no teacher for the task (a teacher from a logits file, or cases selected without it)."""
    teacher = {}
    for r in rows:
        if r["model"] == "teacher":
            teacher.setdefault(r["task"], {})[r["runtime"]] = r["latency_ms"]["p50"]
    for r in rows:
        timed = teacher.get(r["task"], {})
        fastest = min(timed, key=timed.get) if timed else None
        p50 = r["latency_ms"]["p50"]
        r.update(speedup_vs_teacher_same_runtime=speedup(timed.get(r["runtime"]), p50),
                 speedup_vs_fastest_teacher=speedup(timed.get(fastest), p50), fastest_teacher_runtime=fastest)
    return rows


def discover(params, tasks=None):
    """Every case of the study (params: a config.Params) whose trained model exists, for `tasks` (default: all
    of its tasks), teacher first within each task."""
    layout, cases = params.layout, []
    tasks = list(params.tasks) if tasks is None else tasks
    for task in tasks:
        params.task(task)
        reference = [r for r in RUNTIMES if RUNTIMES.meta(r, "reference")]
        if (layout.reference(task) / REFERENCE_MARKER).is_file():
            cases += [Case(task, "reference", None, r, layout) for r in reference]
        # a teacher given as a logits file (teacher.logits) has no network to time: its students' speed-ups are None
        teacher = [] if is_logits_teacher(layout.teacher(task)) else [("teacher", None)]
        models = teacher + [(s, v) for s in params.students for v in params.variants]
        for model, variant in models:
            for runtime in params.bench.runtimes:
                case = Case(task, model, variant, runtime, layout)
                if (case.model_dir / (TEACHER_MARKER if model == "teacher" else STUDENT_MARKER)).is_file():
                    cases.append(case)
    # the teacher first within each task: a slow teacher is measured before the machine warms up with the rest
    return sorted(cases, key=lambda c: (tasks.index(c.task), c.model != "teacher"))


def prepare_runtime(case, loaded, example, threads):
    """(predict(ids, mask, word_pos) -> numpy logits, bytes of the runtime's model file)."""
    path = artifact_path(case, example)
    if path is not None:
        path.parent.mkdir(parents=True, exist_ok=True)
    return RUNTIMES.get(case.runtime)(loaded, example, path, threads)


# ---- measuring --------------------------------------------------------------------------------------
def length_spread(records, n):
    """n records evenly spread over the length-sorted list: short, typical and long sentences alike."""
    order = sorted(range(len(records)), key=lambda i: (record_length(records[i]), i))
    picks = np.unique(np.linspace(0, len(order) - 1, min(n, len(order))).round().astype(int))
    return [records[order[i]] for i in picks]


def flops_per_sentence(loaded, sample_inputs):
    """Floating-point operations of one forward pass, averaged over the timed sample: counted by torch on the
    eager module (matrix products and convolutions), so the same on any machine and under any load. The ONNX
    and int8 runtimes run the same graph, traced from this module, so they share the count. None for the
    reference, which is no torch module."""
    if not isinstance(loaded.core, torch.nn.Module):
        return None
    from torch.utils.flop_counter import FlopCounterMode
    with FlopCounterMode(display=False) as counter, torch.inference_mode():
        for inputs in sample_inputs:
            loaded.core(*inputs)
    return counter.get_total_flops() / len(sample_inputs)


# what latency_ms (and the JSON's own `stats`) are computed from, said in every row
LATENCY_BASIS = ("one forward pass per call; for each of the {n} sample sentences its fastest of {passes} passes; "
                 "latency_ms and pytest-benchmark's stats (seconds: median = p50) are over these {n} values")


def percentiles_ms(seconds):
    s = np.asarray(seconds) * 1000
    return dict(mean=float(s.mean()), p50=float(np.percentile(s, 50)), p90=float(np.percentile(s, 90)),
                p99=float(np.percentile(s, 99)))


def rescore(run, loaded, records, batch_size):
    """Test scores of this runtime on `records`, and sentences per second of its forward passes at
    batch_size (the same batched predict-and-score routine as training uses; the reference predicts labels)."""
    if loaded.labels is None:  # the reference
        t0 = time.perf_counter()
        pred = [p for start in range(0, len(records), batch_size) for p in run(records[start:start + batch_size])]
        seconds = time.perf_counter() - t0
        return metrics.score(loaded.kind, [gold_labels(r, loaded.kind) for r in records], pred), len(records) / seconds
    logits, forward_s = predict(loaded.encode, run, records, batch_size)
    scores, _ = evaluate(logits, records, loaded.kind, loaded.labels)
    return scores, len(records) / forward_s


def start_rss(case, sample_inputs, threads, work_dir):
    """Start a fresh Python process that loads only this model and runs the tokenised sample; read_rss gives
    its peak RSS."""
    if RUNTIMES.meta(case.runtime, "reference"):  # the sample's records themselves
        sample, loader = Path(work_dir) / f"{case.id}.json", "reference"
        sample.write_text(json.dumps([inputs[0] for inputs in sample_inputs], ensure_ascii=False))
    else:
        sample = Path(work_dir) / f"{case.id}.npz"
        np.savez(sample, **{f"{k}{i}": np.asarray(x) for i, inputs in enumerate(sample_inputs)
                            for k, x in zip(("ids", "mask", "pos"), inputs) if x is not None})
        loader = "torch" if RUNTIMES.meta(case.runtime, "torch") else "onnx"
    artifact = artifact_path(case, sample_inputs[-1]) or case.model_dir  # the example prepare_runtime gives
    cmd = [sys.executable, "-m", "kdbench.bench.rss", loader, str(artifact), str(sample), str(threads)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def read_rss(case_id, proc):
    """The peak RSS (MB) a start_rss process printed, once it has exited."""
    out, err = proc.communicate()
    if proc.returncode != 0:
        raise KdbenchError(f"{case_id}: RSS subprocess failed: {(err.strip().splitlines() or ['no output'])[-1]}")
    return json.loads(out.strip().splitlines()[-1])["peak_rss_mb"]


def peak_rss_mb(case, sample_inputs, threads, work_dir):
    """Peak RSS of a fresh Python process that loads only this model and runs the tokenised sample."""
    return read_rss(case.id, start_rss(case, sample_inputs, threads, work_dir))


def machine():
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    import psutil
    return dict(cpu=cpu, cores=psutil.cpu_count(logical=False), logical_cores=psutil.cpu_count(),
                memory_gb=round(psutil.virtual_memory().total / 2**30, 1), platform=platform.platform())


def versions():
    import onnxruntime
    import transformers

    from kdbench import __version__
    return dict(python=platform.python_version(), torch=torch.__version__, onnxruntime=onnxruntime.__version__,
                transformers=transformers.__version__, numpy=np.__version__, kdbench=__version__)


@functools.cache
def dvc_md5(path):
    """DVC's md5 of a file or folder (a folder's ends in .dir), as dvc.lock records it: computed here, so the
    bench reads no lock file and its row names the exact artifact it measured."""
    from dvc_data.hashfile.build import build
    from dvc_data.hashfile.db import HashFileDB
    from dvc_objects.fs.local import LocalFileSystem
    from dvc_objects.fs.memory import MemoryFileSystem

    if not Path(path).exists():
        return None
    _, _, obj = build(HashFileDB(MemoryFileSystem(), "/odb"), str(Path(path).resolve()), LocalFileSystem(), "md5",
                      dry_run=True)
    return obj.hash_info.value


def dvc_hashes(case):
    """The DVC md5 of the prepared data, the teacher and the student this case measures."""
    layout = case.layout
    return dict(data=dvc_md5(layout.prepared(case.task)), teacher=dvc_md5(layout.teacher(case.task)),
                student=None if case.model == "teacher" else dvc_md5(case.model_dir))


@dataclass
class Prepared:
    """Everything a case needs before its timed loop."""
    case: Case
    loaded: Loaded
    predict: object
    runtime_bytes: int
    sample_inputs: list     # tokenised, one (ids, mask, word_pos) per sentence
    tokenize_s: list        # seconds to tokenise each sample sentence
    flops: float | None     # per sentence of the sample (flops_per_sentence)


@dataclass
class Harness:
    """One benchmark session: params (whose layout says where the models are), loaded models."""
    params: config.Params
    work_dir: Path = None
    _loaded: dict = field(default_factory=dict)
    _flops: dict = field(default_factory=dict)  # model folder -> FLOPs per sentence, shared by its runtimes
    _rss_running: dict = field(default_factory=dict)  # case id -> its RSS subprocess, not yet read
    rss: dict = field(default_factory=dict)  # case id -> peak RSS in MB, or the KdbenchError its subprocess gave

    def __post_init__(self):
        self.layout = self.params.layout
        torch.set_num_threads(self.params.bench.threads)

    @cached_property
    def machine(self):
        return machine()

    @cached_property
    def versions(self):
        return versions()

    def splits(self, task):
        return load_prepared(self.layout.prepared(task))[1]

    def prepare(self, case):
        if case.model_dir not in self._loaded:
            self._loaded = {case.model_dir: load(case.model_dir)}  # keep one model in memory at a time
        loaded = self._loaded[case.model_dir]
        sample = length_spread(self.splits(case.task)["test"], self.params.bench.sample)
        inputs, tokenize_s = [], []
        for r in sample:
            t0 = time.perf_counter()
            inputs.append(loaded.encode([r]))
            tokenize_s.append(time.perf_counter() - t0)
        predict, nbytes = prepare_runtime(case, loaded, inputs[-1], self.params.bench.threads)
        if case.model_dir not in self._flops:  # counting is slow (half of a bench stage's time, once per runtime)
            self._flops[case.model_dir] = flops_per_sentence(loaded, inputs)
        self.settle()  # the previous case's RSS subprocess ran beside this preparation: no timing shares with it
        return Prepared(case, loaded, predict, nbytes, inputs, tokenize_s, self._flops[case.model_dir])

    def settle(self):
        """Wait for the RSS subprocesses still running and keep their figures (or errors) in `rss`."""
        for case_id, proc in list(self._rss_running.items()):
            try:
                self.rss[case_id] = read_rss(case_id, proc)
            except KdbenchError as e:
                self.rss[case_id] = e
            del self._rss_running[case_id]

    def fill_rss(self, rows):
        """Put each row's peak RSS in (after `settle`); a row whose subprocess failed gets `rss_error`, the one
        line that names the case, and no figure."""
        self.settle()
        for r in rows:
            got = self.rss.get(r["id"])
            if isinstance(got, KdbenchError):
                r["rss_error"] = str(got)
            elif got is not None:
                r["peak_rss_mb"] = got
        return rows

    def rounds(self, prep):
        """The inputs of every call, in order: `warmup` untimed calls, then `passes` walks over the sample."""
        warm = itertools.islice(itertools.cycle(prep.sample_inputs), self.params.bench.warmup)
        return warm, prep.sample_inputs * self.params.bench.passes

    def time_forward(self, prep):
        """Seconds per timed call; what the benchmark fixture does, for the teacher p50 when its own case
        was not selected."""
        warm, timed = self.rounds(prep)
        for inputs in warm:
            prep.predict(*inputs)
        times = []
        for inputs in timed:
            t0 = time.perf_counter()
            prep.predict(*inputs)
            times.append(time.perf_counter() - t0)
        return times

    def best_per_sentence(self, forward_s):
        """Seconds of each sample sentence's fastest pass: the one set of timings every latency figure of a
        row (and pytest-benchmark's own stats, see tests/benchmarks) is computed from. A pass slowed by
        another process on the machine says nothing about the model; on a shared 2-core machine such passes
        are common."""
        return np.reshape(forward_s, (self.params.bench.passes, -1)).min(axis=0)

    def pipeline_score(self, case, split="test"):
        """Macro F1 on `split` (test or valid) that the teacher or distill stage wrote for this model (the
        reference's: test only)."""
        if case.model in ("teacher", "reference"):
            teacher = json.loads(self.layout.teacher_metrics(case.task).read_text())
            return teacher["reference"]["test_macro_f1"] if case.model == "reference" else teacher[split]["macro_f1"]
        path = self.layout.student_metrics(case.task, case.model, case.variant)
        return json.loads(path.read_text())[split]["macro_f1"]

    def record(self, prep, forward_s):
        """The benchmark row of a case, given the seconds of each timed call (`passes` walks over the sample).
        Each sentence counts with its fastest pass (best_per_sentence)."""
        case, bench = prep.case, self.params.bench
        latency = percentiles_ms(self.best_per_sentence(forward_s))
        test = self.splits(case.task)["test"]
        scores, throughput = rescore(prep.predict, prep.loaded, test, bench.batch_size)
        valid = None  # what the report's recommendation picks a student by (the test split never selects)
        if case.model != "teacher":
            valid, _ = rescore(prep.predict, prep.loaded, self.splits(case.task)["valid"], bench.batch_size)
        teacher_f1 = self.pipeline_score(Case(case.task, "teacher", None, BASELINE_RUNTIME, self.layout))
        # % of teacher is undefined when the teacher scored 0 (a bring-your-own task gone wrong): None, no crash
        pct = 100 * scores["macro_f1"] / teacher_f1 if teacher_f1 else None
        if bench.rss:  # read by fill_rss, at the end of the run
            self._rss_running[case.id] = start_rss(case, prep.sample_inputs, bench.threads, self.work_dir)
        return dict(
            id=case.id, task=case.task, model=case.model, variant=case.variant, runtime=case.runtime,
            kind=prep.loaded.kind, test_macro_f1=scores["macro_f1"], test_accuracy=scores["accuracy"],
            valid_macro_f1=valid and valid["macro_f1"],
            pct_of_teacher=pct, latency_ms=latency, latency_basis=LATENCY_BASIS.format(n=len(prep.sample_inputs),
                                                                                     passes=bench.passes),
            tokenize_ms=percentiles_ms(prep.tokenize_s), throughput_per_s=throughput,
            peak_rss_mb=None,
            file_bytes=prep.runtime_bytes, flops_per_sentence=prep.flops, params=prep.loaded.params,
            params_without_embeddings=prep.loaded.params_without_embeddings, threads=bench.threads,
            sample_size=len(prep.sample_inputs), batch_size=bench.batch_size, test_size=len(test),
            machine=self.machine, versions=self.versions, dvc=dvc_hashes(case))

