"""`kdbench gate` on hand-made benchmark JSON: directions, tolerances, missing cases, --update."""

import json

import pytest

from kdbench.bench.gate import compare, gate, summarize
from kdbench.cli import main
from kdbench.config import GateConfig
from kdbench.errors import KdbenchError


def row(case, f1=0.80, speedup=20.0, rss=400.0, size=5_000_000):
    return dict(id=case, test_macro_f1=f1, speedup_vs_teacher_same_runtime=speedup, peak_rss_mb=rss, file_bytes=size)


def bench_file(path, rows):
    path.write_text(json.dumps({"benchmarks": [{"name": r["id"], "extra_info": r} for r in rows]}))
    return path


BASE = [row("smsa-teacher-eager", 0.81, 1.0, 900.0, 470_000_000), row("smsa-bilstm-kd-eager"),
        row("smsa-bilstm-kd-onnx", speedup=40.0, rss=150.0)]


@pytest.mark.parametrize("change, field", [
    (dict(f1=0.785), "test_macro_f1"),          # dropped 0.015 > 0.01
    (dict(speedup=7.0), "speedup_vs_teacher_same_runtime"),   # 65% slower relative to the teacher > 60%
    (dict(rss=500.0), "peak_rss_mb"),            # +25% > 20%
    (dict(size=5_300_000), "file_bytes"),        # +6% > 5%
])
def test_each_direction_fails_beyond_tolerance(change, field):
    current = summarize([BASE[0], row("smsa-bilstm-kd-eager", **change), BASE[2]])
    regressions, _ = compare(current, summarize(BASE), GateConfig())
    assert [(r[0], r[1]) for r in regressions] == [("smsa-bilstm-kd-eager", field)]


def test_within_tolerance_and_improvements_pass():
    better = row("smsa-bilstm-kd-eager", f1=0.995, speedup=60.0, rss=100.0, size=1000)
    wobble = row("smsa-bilstm-kd-onnx", f1=0.795, speedup=21.0, rss=175.0, size=5_200_000)
    regressions, notes = compare(summarize([BASE[0], better, wobble]), summarize(BASE), GateConfig())
    assert regressions == [] and notes == []


def test_missing_case_regresses_and_new_case_is_noted():
    current = summarize([BASE[0], BASE[1], row("smsa-cnn-kd-eager")])
    regressions, notes = compare(current, summarize(BASE), GateConfig())
    assert [(r[0], r[1]) for r in regressions] == [("smsa-bilstm-kd-onnx", "missing")]
    assert notes == ["new case (not in the baseline): smsa-cnn-kd-eager"]


def test_gate_command_prints_a_table_and_exits_nonzero(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text("tasks: {smsa: {}}\nstudents: {bilstm: {}}\nvariants: {kd: {}}\n")
    bench_file(tmp_path / "base.json", BASE)
    assert main_exit(["gate", "--bench", "base.json", "--baseline", "baseline.json", "--update"]) == 0
    assert set(json.loads((tmp_path / "baseline.json").read_text())["cases"]) == {r["id"] for r in BASE}
    assert main_exit(["gate", "--bench", "base.json", "--baseline", "baseline.json"]) == 0
    assert "gate passed: 3 cases" in capsys.readouterr().out

    slower = [BASE[0], row("smsa-bilstm-kd-eager", speedup=6.0), BASE[2]]
    bench_file(tmp_path / "new.json", slower)
    assert main_exit(["gate", "--bench", "new.json", "--baseline", "baseline.json"]) == 1
    out = capsys.readouterr().out
    assert "1 regression(s)" in out
    line = next(line for line in out.splitlines() if line.startswith("smsa-bilstm-kd-eager"))
    assert line.split() == ["smsa-bilstm-kd-eager", "speedup_vs_teacher_same_runtime", "20", "6", ">=", "8"]


def test_gate_without_baseline_or_rows_is_a_clear_error(tmp_path):
    bench_file(tmp_path / "b.json", BASE)
    with pytest.raises(KdbenchError, match="no baseline"):
        gate(tmp_path / "b.json", tmp_path / "none.json", GateConfig())
    bench_file(tmp_path / "empty.json", [])
    with pytest.raises(KdbenchError, match="no benchmark rows"):
        gate(tmp_path / "empty.json", tmp_path / "none.json", GateConfig())


def main_exit(argv):
    with pytest.raises(SystemExit) as e:
        main(argv)
    return e.value.code
