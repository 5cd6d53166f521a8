"""`kdbench profile --task T --model M`: where does one model's inference time go? py-spy samples a
process that loops single-sentence inference over the benchmark sample, writing a flame graph (SVG, open
in a browser) and a speedscope JSON (drop on speedscope.app) under the study's reports/profiles/.

`python -m kdbench.bench.profile PARAMS TASK MODEL VARIANT RUNTIME SECONDS` is that loop; it is what py-spy
runs."""

import shutil
import subprocess
import sys
import time
from pathlib import Path

from kdbench.errors import KdbenchError
from kdbench.io import atomic_path


def profile(params_path, task, model, variant, runtime, out_dir, seconds=10.0):
    """Paths of the flame graph and the speedscope file written for this case of the study in params_path."""
    py_spy = shutil.which("py-spy")
    if py_spy is None:
        raise KdbenchError("py-spy not found: install the dev extras (`make setup`)")
    from kdbench import config
    from kdbench.bench.harness import Case
    variant = None if model == "teacher" else variant
    case = Case(task, model, variant, runtime, config.load(params_path).layout)
    if not case.model_dir.is_dir():
        raise KdbenchError(f"{case.model_dir}: no trained model (run `dvc repro` first)")
    name = case.id
    loop = [sys.executable, "-m", "kdbench.bench.profile", str(params_path), task, model, variant or "-", runtime,
            str(seconds)]
    written = []
    for fmt, suffix in (("flamegraph", "svg"), ("speedscope", "speedscope.json")):
        dest = Path(out_dir) / f"{name}.{suffix}"
        with atomic_path(dest) as tmp:
            done = subprocess.run([py_spy, "record", "--format", fmt, "--output", str(tmp), "--rate", "250",
                                   "--subprocesses", "--", *loop], capture_output=True, text=True)
            if done.returncode != 0 or not tmp.exists():
                lines = (done.stderr or done.stdout).strip().splitlines() or ["no output"]
                raise KdbenchError(f"py-spy failed for {name}: {lines[-1]}")
        written.append(dest)
    return written


def main(params_path, task, model, variant, runtime, seconds):
    from kdbench import config
    from kdbench.bench.harness import Case, Harness
    harness = Harness(config.load(params_path))
    prep = harness.prepare(Case(task, model, None if variant == "-" else variant, runtime, harness.layout))
    end = time.perf_counter() + seconds
    while time.perf_counter() < end:
        for inputs in prep.sample_inputs:
            prep.predict(*inputs)


if __name__ == "__main__":
    main(*sys.argv[1:6], float(sys.argv[6]))
