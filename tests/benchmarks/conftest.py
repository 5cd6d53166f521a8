"""Benchmark cases run only when asked for (`pytest --benchmark-only`, or `kdbench bench`): they need the
trained models of `dvc repro` and take minutes, so the plain test suite skips them."""

import pytest


def pytest_collection_modifyitems(config, items):
    if config.getoption("benchmark_only", False):
        return
    skip = pytest.mark.skip(reason="benchmark case: run `pytest --benchmark-only` (or `kdbench bench`)")
    for item in items:
        if "benchmarks" in item.path.parts:
            item.add_marker(skip)
