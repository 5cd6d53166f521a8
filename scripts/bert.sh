#!/usr/bin/env bash
# The BERT profile (profiles/bert.yaml): BERT-Mini and BERT-Small, no-KD and the default recipe, on the quick
# profile's tasks, teacher and transfer set (restored from the DVC cache), with their own bench and report. It
# runs in a temporary clone of HEAD sharing this repository's DVC cache; the report, the students' metrics and
# timings, the bench and the dvc.lock it ran under land in reports/bert/. About 50 minutes on 2 cores after the
# quick profile; a rerun starts from what reports/bert/ holds, so only what changed since runs again.
source "$(dirname "$0")/clone.sh" bert
out="$repo/reports/bert"
students=$(python -c "import yaml; print(' '.join(yaml.safe_load(open('params.yaml'))['students']))")
if [ -f "$out/dvc.lock" ]; then
    cp "$out/dvc.lock" dvc.lock
    cp -r "$out/metrics/." reports/metrics/  # the metrics files are in git, not in the DVC cache
    mkdir -p reports/bench && cp "$out/bench/benchmark.json" reports/bench/
    dvc checkout -q || true  # what the last run made, from the cache; whatever is missing, dvc repro makes
fi
dvc repro
rm -rf "$out.tmp" && mkdir -p "$out.tmp/bench"
cp -r reports/tables reports/plots reports/index.html reports/recommendation.md reports/conclusions.md \
    reports/report.json dvc.lock "$out.tmp/"
cp reports/bench/benchmark.json "$out.tmp/bench/"
for t in $(python -c "import yaml; print(' '.join(yaml.safe_load(open('params.yaml'))['tasks']))"); do
    for s in $students; do
        mkdir -p "$out.tmp/metrics/$t" "$out.tmp/timing/$t"
        cp -r "reports/metrics/$t/$s" "$out.tmp/metrics/$t/"
        # the wall times of the runs made here; a run restored from the cache keeps the earlier run's
        for timing in "reports/timing/$t/$s" "$out/timing/$t/$s"; do
            [ -d "$timing" ] && { cp -r "$timing" "$out.tmp/timing/$t/"; break; }
        done
    done
done
rm -rf "$out" && mv "$out.tmp" "$out"
cat "$out/recommendation.md"
