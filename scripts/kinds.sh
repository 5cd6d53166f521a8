#!/usr/bin/env bash
# The kinds profile's teachers (profiles/kinds.yaml): one real-teacher run for each task kind the quick
# profile does not train (multi-aspect CASA, sentence-pair WReTE, NERGrit tagging, FacQA question answering),
# each against its non-neural reference. They run in a temporary clone of HEAD that shares this repository's
# DVC cache, so this workspace keeps the quick profile; their metrics, timings and the dvc.lock they ran under
# land in reports/kinds/, with a summary table in reports/kinds/README.md. About 45 minutes on 2 cores; a
# second run restores every teacher from the run-cache in a minute.
source "$(dirname "$0")/clone.sh" kinds
dvc repro teacher
out="$repo/reports/kinds"
rm -rf "$out.tmp" && mkdir -p "$out.tmp"
tasks=$(python -c "import yaml; print(' '.join(yaml.safe_load(open('params.yaml'))['tasks']))")
for t in $tasks; do
    mkdir -p "$out.tmp/$t"
    cp "reports/metrics/$t/teacher.json" "$out.tmp/$t/teacher.json"
    # the wall time of a teacher that ran here; one restored from the run-cache keeps the earlier run's
    for timing in "reports/timing/$t/teacher.json" "$out/$t/timing.json"; do
        [ -f "$timing" ] && { cp "$timing" "$out.tmp/$t/timing.json"; break; }
    done
done
cp dvc.lock "$out.tmp/dvc.lock"
python - "$out.tmp" $tasks <<'EOF'
import json, sys
from pathlib import Path
out, tasks = Path(sys.argv[1]), sys.argv[2:]
ci = lambda d: f"[{100 * d['low']:.2f}, {100 * d['high']:.2f}]"
rows = ["| task | kind | labelled train | teacher test macro F1 [95% CI] | reference | reference F1 [95% CI] "
        "| teacher - reference | epochs | minutes |", "| --- | --- | ---: | --- | --- | --- | ---: | ---: | ---: |"]
for t in tasks:
    m = json.loads((out / t / "teacher.json").read_text())
    timing = out / t / "timing.json"
    minutes = f"{json.loads(timing.read_text())['seconds'] / 60:.1f}" if timing.is_file() else ""
    te, ref = m["test"], m["reference"]
    rows.append(f"| {t} | {m['kind']} | {m['train_size']} | {100 * te['macro_f1']:.2f} {ci(te['interval'])} "
                f"| {ref['name']} | {100 * ref['test_macro_f1']:.2f} {ci(ref['test_interval'])} "
                f"| {100 * (te['macro_f1'] - ref['test_macro_f1']):+.2f} | {m['epochs_run']} | {minutes} |")
(out / "README.md").write_text(
    "# Kinds profile: teachers of the task kinds the quick profile does not train\n\n"
    "Made by `scripts/kinds.sh` (profiles/kinds.yaml; the offline e5-small teacher, seed 0; test macro F1 with\n"
    "its 95% bootstrap interval over test examples, sentences for tagging; minutes on 2 CPU cores). Each task's\n"
    "`teacher.json` is the stage's metrics file, `timing.json` its wall time; `dvc.lock` is the lock file the\n"
    "teachers ran under.\n\n"
    + "\n".join(rows) + "\n")
EOF
rm -rf "$out" && mv "$out.tmp" "$out"
cat "$out/README.md"
