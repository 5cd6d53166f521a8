"""Where every artifact lives: the one place that knows the folder layout of setups and studies.

A *setup* (setups/<name>/) holds what studies share: its tasks' prepared data, teachers, non-neural references,
soft labels and fastText vectors. A *study* (studies/<name>/) holds its student runs, their replicas over more
seeds, the benchmark and the report, and names the setup it distils from. setup.dvc.yaml and study.dvc.yaml
write these same paths, relative to the folder each stage runs in.
"""

from dataclasses import dataclass
from pathlib import Path

SETUPS, STUDIES = "setups", "studies"


@dataclass(frozen=True)
class Layout:
    setup: Path             # setups/<name>
    study: Path | None      # studies/<name>; None for a setup's own stages

    # ---- the setup: one of each per task, shared by every study that names the setup ----
    @property
    def backbone(self):
        return self.setup / "models" / "backbone"

    def prepared(self, task):
        return self.setup / "data" / "prepared" / task

    def softlabels(self, task):
        return self.setup / "data" / "softlabels" / task

    def teacher(self, task):
        return self.setup / "models" / task / "teacher"

    def reference(self, task):
        return self.setup / "models" / task / "reference"

    def fasttext(self, task):
        return self.setup / "models" / task / "fasttext.vec"

    def teacher_metrics(self, task):
        return self.setup / "reports" / "metrics" / task / "teacher.json"

    def teacher_predictions(self, task):
        return self.setup / "reports" / "predictions" / task / "teacher.json"

    @property
    def checkpoints(self):  # fine-tuned teachers a user brings (teacher.checkpoint): every teacher stage reads it
        return self.setup.resolve().parent.parent / "checkpoints"  # the repository's, from setups/<name>

    # ---- the study: one run per task x student x variant, and its replicas (seed not None) ----
    @property
    def root(self):
        return self.study if self.study is not None else self.setup

    def student(self, task, student, variant, seed=None):
        if seed is None:
            return self.root / "models" / task / student / variant
        return self.root / "replicas" / task / student / variant / f"seed{seed}"

    def student_metrics(self, task, student, variant, seed=None):
        if seed is None:
            return self.root / "reports" / "metrics" / task / student / f"{variant}.json"
        return self.root / "reports" / "replicas" / task / student / variant / f"seed{seed}.json"

    def student_predictions(self, task, student, variant, seed=None):
        suffix = "" if seed is None else f".seed{seed}"
        return self.root / "reports" / "predictions" / task / student / f"{variant}{suffix}.json"

    def bench(self, task):
        return self.root / "reports" / "bench" / f"{task}.json"

    def history(self, task):
        return self.root / "reports" / "history" / f"{task}.jsonl"

    @property
    def reports(self):
        return self.root / "reports"
