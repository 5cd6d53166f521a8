#!/usr/bin/env bash
# The BERT profile (profiles/bert.yaml): BERT-Mini and BERT-Small, no-KD and the default recipe, on the quick
# profile's tasks, teacher and transfer set (restored from the DVC cache), with their own bench and report. It
# runs in a temporary clone of HEAD sharing this repository's DVC cache; the report, the metrics, the bench and
# the dvc.lock it ran under land in reports/bert/. About 70 minutes on 2 cores after the quick profile.
source "$(dirname "$0")/clone.sh" bert
dvc repro
out="$repo/reports/bert"
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
cp -r reports/tables reports/plots reports/index.html reports/recommendation.md reports/conclusions.md \
    reports/report.json reports/metrics reports/bench dvc.lock "$out.tmp/"
# the wall times of the stages that ran here; a run restored from the run-cache keeps the earlier run's
if [ -d reports/timing ]; then cp -r reports/timing "$out.tmp/"; elif [ -d "$out/timing" ]; then cp -r "$out/timing" "$out.tmp/"; fi
rm -rf "$out" && mv "$out.tmp" "$out"
cat "$out/recommendation.md"
