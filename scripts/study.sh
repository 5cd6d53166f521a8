#!/usr/bin/env bash
# The study: the paper's five claims on real data, over 3 seeds (profiles/study.yaml). Run it after the quick
# profile's `dvc repro`: the study shares its tasks, teacher, soft labels and its nokd/kd runs, which DVC
# restores from its cache. It trains the study's other variants and the replicas (`dvc repro distill
# replicate`), writes the study's report to reports/study/ (its cost table and trade-off claim read the quick
# profile's benchmark of the same nokd/kd models: the ablation variants are not benchmarked) with the
# dvc.lock it ran under, then switches back to the quick profile and reruns what that changed (the bench,
# whose inputs now hold the study's models too, and the report).
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"
cmp -s params.yaml profiles/quick.yaml || { echo "study.sh: start from the quick profile (kdbench use quick)" >&2; exit 2; }
test -f reports/bench/benchmark.json || { echo "study.sh: run the quick profile's dvc repro first" >&2; exit 2; }
bench=$(mktemp)
trap 'rm -f "$bench"; kdbench use quick >/dev/null' EXIT
cp reports/bench/benchmark.json "$bench"
kdbench use study
dvc repro distill replicate
kdbench report --bench "$bench" --out reports/study
cp dvc.lock reports/study/dvc.lock
kdbench use quick
dvc repro
