#!/usr/bin/env bash
# The study: the paper's five claims on real data, over 3 seeds (profiles/study.yaml); `study.sh seeds` runs
# the seeds profile the same way (the quick profile's students over 3 seeds). Run it after the quick
# profile's `dvc repro`: the study shares its tasks, teacher, soft labels and its nokd/kd runs, which DVC
# restores from its cache. It trains the study's other variants and the replicas (`dvc repro distill
# replicate`), writes the report to reports/<profile>/ (its cost table and trade-off claim read the quick
# profile's benchmark of the same nokd/kd models: the ablation variants are not benchmarked) with the
# dvc.lock it ran under, then switches back to the quick profile and its dvc.lock, takes the other profile's
# models out of the workspace, and reruns what changed (the report, and the bench when models/ is not what
# it last measured).
set -euo pipefail
cd "$(dirname "$0")/.."
profile=${1:-study}
export PATH="$PWD/.venv/bin:$PATH"
cmp -s params.yaml profiles/quick.yaml || { echo "study.sh: start from the quick profile (kdbench use quick)" >&2; exit 2; }
test -f reports/bench/benchmark.json || { echo "study.sh: run the quick profile's dvc repro first" >&2; exit 2; }
bench=$(mktemp) lock=$(mktemp)
trap 'rm -f "$bench" "$lock"; kdbench use quick >/dev/null' EXIT
cp reports/bench/benchmark.json "$bench"
cp dvc.lock "$lock"  # the quick profile's: put back afterwards, without the other profile's stages
kdbench use "$profile"
dvc repro distill replicate
# a profile on the study's data and teachers shows the study's verdicts for the claims it cannot test
claims=(); [ "$profile" != study ] && claims=(--claims-from reports/study/report.json)
kdbench report --bench "$bench" "${claims[@]}" --out "reports/$profile"
cp dvc.lock "reports/$profile/dvc.lock"
kdbench use quick
cp "$lock" dvc.lock
# what the quick pipeline does not write leaves models/ and reports/predictions/ (it stays in the DVC cache):
# the bench and report stages depend on those folders, so they must hold just this pipeline's outputs for the
# committed dvc.lock to match a fresh clone's
python - <<'EOF'
import shutil
from pathlib import Path
from dvc.repo import Repo
outs = [Path(o.fs_path).absolute() for o in Repo(".").index.outs]
for top in ("models", "reports/predictions"):
    for path in sorted(Path(top).rglob("*"), reverse=True):  # deepest first
        real = path.absolute()  # not resolve(): an output may be a symlink into the cache
        if path.name == ".gitignore" or any(o == real or o in real.parents or real in o.parents for o in outs):
            continue  # an output, inside one, or a folder above one
        shutil.rmtree(path) if path.is_dir() else path.unlink()
EOF
dvc repro
