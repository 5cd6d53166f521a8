"""One pytest-benchmark case per (task, model, distill variant, runtime) found in the pipeline outputs.

The timed body is one forward pass of one tokenised test sentence; the rounds walk a fixed sample of
sentences from shortest to longest, `bench.passes` times. Everything else a row carries (score, speed-up,
RSS, size, versions, DVC hashes) goes into the benchmark JSON's `extra_info`: see kdbench/bench/harness.py.
"""

import itertools
import os

import pytest
from pytest_benchmark.stats import Stats

from kdbench import config
from kdbench.bench.harness import discover

# the study to measure (`kdbench bench` sets both): KDBENCH_PARAMS=studies/quick/params.yaml, KDBENCH_TASKS=smsa
# (conftest.py's `harness` fixture reads the same)
PARAMS = os.environ.get("KDBENCH_PARAMS", "")
TASKS = [t for t in os.environ.get("KDBENCH_TASKS", "").split(",") if t] or None
CASES = discover(config.load(PARAMS), TASKS) if PARAMS else []


@pytest.mark.parametrize("case", CASES or [None], ids=[c.id for c in CASES] or ["no-models"])
def test_inference(benchmark, harness, case):
    if case is None:
        pytest.skip("no trained models: set KDBENCH_PARAMS to a study's params.yaml after its `dvc repro`")
    prep = harness.prepare(case)
    warm, timed = harness.rounds(prep)
    feed = itertools.chain(warm, timed)  # pytest-benchmark calls setup before each warm-up and timed round
    benchmark.group = case.task
    benchmark.pedantic(prep.predict, setup=lambda: (next(feed), {}), rounds=len(timed),
                       warmup_rounds=harness.params.bench.warmup)
    row = harness.record(prep, benchmark.stats.stats.data)
    # one latency vocabulary: pytest-benchmark's own stats (what --benchmark-compare reads) are computed from
    # the same per-sentence fastest passes as the row's latency_ms, so its median is the row's p50
    stats = Stats()
    stats.data = list(harness.best_per_sentence(benchmark.stats.stats.data))
    benchmark.stats.stats = stats

    # the harness must measure the very model the pipeline scored
    if case.runtime in ("eager", "native"):
        assert row["test_macro_f1"] == pytest.approx(harness.pipeline_score(case), abs=1e-6)
    if case.runtime == "eager" and case.model != "teacher":  # a student's validation score, which picks it
        assert row["valid_macro_f1"] == pytest.approx(harness.pipeline_score(case, "valid"), abs=1e-6)
    if case.runtime == "onnx":  # same graph, other kernels: predictions may flip only on near-ties
        assert row["test_macro_f1"] == pytest.approx(harness.pipeline_score(case), abs=0.01)
    # int8 may lose accuracy: that is what its row reports, not a failure
    assert row["file_bytes"] > 0  # speed-ups: filled in after every case (conftest.py)
    benchmark.extra_info.update(row)  # only a case that passed gets a row
