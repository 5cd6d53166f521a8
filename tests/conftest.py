"""Shared pytest fixtures, and offline mode for the whole suite."""

import os
from pathlib import Path

# Before anything imports huggingface_hub, which reads HF_HUB_OFFLINE once, at import: set later (say with
# monkeypatch in a test), it has no effect. No test may reach a model hub.
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import pytest  # noqa: E402

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def mirror():
    """The local read-only copy of the public raw data (env KDBENCH_DATA_MIRROR, default ../shared/data).

    A relative KDBENCH_DATA_MIRROR is taken relative to the repository root, as the Makefile sets it."""
    path = (REPO / os.environ.get("KDBENCH_DATA_MIRROR", "../shared/data")).resolve()
    if not (path / "SHA256SUMS").is_file():
        pytest.skip(f"no data mirror at {path}; set KDBENCH_DATA_MIRROR")
    return path
