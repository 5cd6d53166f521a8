"""Benchmark cases run only when asked for (`pytest --benchmark-only`, or `kdbench bench`): they need the
trained models of `dvc repro` and take minutes, so the plain test suite skips them."""

import os

import pytest

from kdbench.bench.harness import Harness, add_speedups
from kdbench.config import load as load_params

SESSION = {}  # the run's Harness, for the JSON hook below


@pytest.fixture(scope="session")
def harness(tmp_path_factory):
    """One benchmark session for every case: the study in KDBENCH_PARAMS (`kdbench bench` sets it)."""
    SESSION["harness"] = Harness(load_params(os.environ["KDBENCH_PARAMS"]), work_dir=tmp_path_factory.mktemp("bench"))
    return SESSION["harness"]


def pytest_collection_modifyitems(config, items):
    if config.getoption("benchmark_only", False):
        return
    skip = pytest.mark.skip(reason="benchmark case: run `pytest --benchmark-only` (or `kdbench bench`)")
    for item in items:
        if "benchmarks" in item.path.parts:
            item.add_marker(skip)


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Once every case has been timed: each row's peak RSS (its subprocess ran beside the next case's
    preparation) and its speed-ups, ratios between the rows of this run."""
    rows = [b["extra_info"] for b in output_json["benchmarks"] if b.get("extra_info", {}).get("id")]
    if "harness" in SESSION:
        SESSION["harness"].fill_rss(rows)
    add_speedups(rows)
