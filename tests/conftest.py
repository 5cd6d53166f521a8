"""Shared pytest fixtures."""

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mirror():
    """The local read-only copy of the public raw data (env KDBENCH_DATA_MIRROR, default ../shared/data).

    A relative KDBENCH_DATA_MIRROR is taken relative to the repository root, as the Makefile sets it."""
    path = (REPO / os.environ.get("KDBENCH_DATA_MIRROR", "../shared/data")).resolve()
    if not (path / "SHA256SUMS").is_file():
        pytest.skip(f"no data mirror at {path}; set KDBENCH_DATA_MIRROR")
    return path
