"""The report stage: tables, plots, a recommendation, the paper's claims re-checked, the study's
findings, and one HTML page.

`build_report(metrics_dir, records, params, out_dir)` writes everything (see kdbench.report.build);
the pieces are importable on their own: `pareto_front`, `recommend`, `check_claims`, `check_findings`, the
table builders."""

from kdbench.report.build import build_report
from kdbench.report.conclusions import check_claims, check_findings
from kdbench.report.pareto import pareto_front
from kdbench.report.recommend import recommend

__all__ = ["build_report", "check_claims", "check_findings", "pareto_front", "recommend"]
