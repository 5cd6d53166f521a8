"""End to end, what a user ships and looks at, on the smoke study's shared build (tests/conftest.py,
`smoke_repo`): `kdbench export`'s folder runs without torch and predicts what `kdbench predict` does, `kdbench
profile` records the inference loop, and bad input to `kdbench predict` is one line. These only read the build
(and write to their own folders), so they run beside tests/test_pipeline.py's, which change it, on the other
pytest-xdist worker; tests/test_pipeline.py changes nothing they read (its reruns and edits touch other models,
or a scratch folder, and replace files whole)."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import SETUP, STUDY

pytestmark = pytest.mark.slow


def _error(repo, *argv):
    """The one line `kdbench *argv` prints for a user mistake in the copy, run in this process (no start-up)."""
    from kdbench import cli
    with pytest.MonkeyPatch.context() as mp, pytest.raises(SystemExit) as e:
        mp.chdir(repo)
        cli.main(list(argv))
    assert e.value.code == 2
    return e


def test_predict_gives_one_line_for_bad_input(smoke_repo, tmp_path, capsys):
    repo, _ = smoke_repo
    (tmp_path / "empty.txt").write_text("\n")
    _error(repo, "--study", "smoke", "predict", "--task", "smsa", "--student", "bilstm", "--input",
           str(tmp_path / "empty.txt"))
    err = capsys.readouterr().err
    assert "line 1: empty input" in err and err.count("\n") == 1, err
    _error(repo, "--study", "nosuch", "predict", "--task", "smsa", "--student", "bilstm")
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "studies/nosuch/params.yaml" in err, err


PEAK_RSS = ("import runpy, sys\nsys.argv = sys.argv[1:]\ntry:\n    runpy.run_path(sys.argv[0], run_name='__main__')\n"
            "finally:\n    print('VmHWM', open('/proc/self/status').read().split('VmHWM:')[1].split()[0],"
            " file=sys.stderr)\n")  # runs a script, then reports its peak RSS in KiB


def _peak_kib(stderr):
    return int(next(line.split()[1] for line in stderr.splitlines() if line.startswith("VmHWM")))


# what the shipped folder may not use: these imports fail in its process, as in an environment without them
NO_TORCH = "import sys\nfor m in ('torch', 'transformers', 'kdbench'):\n    sys.modules[m] = None\n"


def test_exported_student_runs_without_torch(smoke_repo, tmp_path):
    """`kdbench export` writes a folder whose predict.py, with torch, transformers and kdbench unimportable
    (onnxruntime, numpy and tokenizers only), gives `kdbench predict`'s labels on the whole test split, in
    less memory."""
    repo, run = smoke_repo
    for task, student, field in (("nergrit", "bert-tiny", "tokens"), ("smsa", "bilstm", "text")):
        folder = tmp_path / "shipped" / task
        out = run("kdbench", "--study", "smoke", "export", "--task", task, "--student", student, "--out", str(folder))
        assert out.returncode == 0, out.stderr[-2000:]
        assert {p.name for p in folder.iterdir()} >= {"model.onnx", "model.int8.onnx", "student.json", "predict.py",
                                                     "MODEL_CARD.md"}
        card = (folder / "MODEL_CARD.md").read_text()
        from kdbench.bench.harness import dvc_md5
        weights = dvc_md5(repo / STUDY / f"models/{task}/{student}/kd")
        # its figures are of these weights: the bench rows whose student md5 is theirs, and where it came from
        assert "Test macro F1" in card and f"Weights: DVC md5 `{weights}`" in card and "on these weights" in card
        assert "fine-tuned here from `tiny-random`" in card and re.search(r"\d+ own, \d+ pool, \d+ augment texts", card)
        lines = [" ".join(r[field]) if field == "tokens" else r[field] for r in map(
            json.loads, (repo / SETUP / f"data/prepared/{task}/test.jsonl").read_text().splitlines())]
        (tmp_path / "in.txt").write_text("\n".join(lines) + "\n")
        shipped = subprocess.run([sys.executable, "-c", NO_TORCH + PEAK_RSS, str(folder / "predict.py"), "--input",
                                  str(tmp_path / "in.txt")], capture_output=True, text=True)
        assert shipped.returncode == 0, shipped.stderr[-2000:]
        kdbench = run(sys.executable, "-c", PEAK_RSS, str(Path(sys.executable).parent / "kdbench"), "--study",
                      "smoke", "predict", "--task", task, "--student", student, "--input", str(tmp_path / "in.txt"))
        assert kdbench.returncode == 0, kdbench.stderr[-2000:]
        assert shipped.stdout == kdbench.stdout and len(shipped.stdout.splitlines()) == len(lines)
        if field == "text":  # `kdbench predict`: a label a line; for tagging, word/tag pairs of the line's words
            assert set(kdbench.stdout.split("\n")[:-1]) <= {"negative", "neutral", "positive"}
        else:
            assert [[w.rsplit("/", 1)[0] for w in line.split()] for line in kdbench.stdout.splitlines()] == [
                line.split() for line in lines]
        api = subprocess.run([sys.executable, "-c", NO_TORCH + f"import sys, json\nsys.path.insert(0, {str(folder)!r})\n"
                              f"from predict import Predictor\nprint(json.dumps(Predictor({str(folder)!r})("
                              f"{lines[:3]!r})))"], capture_output=True, text=True)  # the documented Python call
        assert api.returncode == 0, api.stderr[-2000:]
        first = [line.split() if field == "tokens" else line for line in shipped.stdout.splitlines()[:3]]
        assert json.loads(api.stdout) == ([[w.split("/")[-1] for w in f] for f in first] if field == "tokens"
                                          else first)
        print(f"{task} {student}: peak RSS {_peak_kib(shipped.stderr) / 1024:.0f} MB without torch, "
              f"{_peak_kib(kdbench.stderr) / 1024:.0f} MB with")
        assert _peak_kib(shipped.stderr) < _peak_kib(kdbench.stderr)
    blocked = subprocess.run([sys.executable, "-c", NO_TORCH + "import torch"], capture_output=True, text=True)
    assert blocked.returncode != 0 and "ModuleNotFoundError" in blocked.stderr  # the block holds


def test_profile_records_the_inference_loop(smoke_repo, capsys):
    repo, run = smoke_repo
    out = run("kdbench", "--study", "smoke", "profile", "--task", "smsa", "--model", "bilstm", "--variant", "nokd",
              "--seconds", "1")
    assert out.returncode == 0, out.stderr[-2000:]
    repo = repo / STUDY
    svg = (repo / "reports/profiles/smsa-bilstm-nokd-eager.svg").read_text()
    assert svg.startswith("<?xml") and "forward (kdbench/students/bilstm.py" in svg  # the student's own code
    frames = json.loads((repo / "reports/profiles/smsa-bilstm-nokd-eager.speedscope.json").read_text())
    assert any(f["name"] == "eager.<locals>.run" for f in frames["shared"]["frames"])  # the timed call
    _error(repo.parent.parent, "--study", "smoke", "profile", "--task", "smsa", "--model", "cnn")
    assert "no trained model" in capsys.readouterr().err
