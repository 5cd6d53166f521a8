"""Benchmark cases run only when asked for (`pytest --benchmark-only`, or `kdbench bench`): they need the
trained models of `dvc repro` and take minutes, so the plain test suite skips them."""

import pytest

from kdbench.bench.harness import add_speedups


def pytest_collection_modifyitems(config, items):
    if config.getoption("benchmark_only", False):
        return
    skip = pytest.mark.skip(reason="benchmark case: run `pytest --benchmark-only` (or `kdbench bench`)")
    for item in items:
        if "benchmarks" in item.path.parts:
            item.add_marker(skip)


def pytest_benchmark_update_json(config, benchmarks, output_json):
    """Speed-ups are ratios between the rows of this run: filled in once every case has been timed."""
    add_speedups([b["extra_info"] for b in output_json["benchmarks"] if b.get("extra_info", {}).get("id")])
