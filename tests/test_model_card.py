"""The model card `kdbench export` writes describes the model in the folder: bench figures only from rows that
measured these exact weights (their DVC md5), else "not benchmarked" with the command that fills it."""

from kdbench.ship import _model_card

METRICS = {"test": {"macro_f1": 0.7893, "interval": {"low": 0.7469, "high": 0.8285}}, "params": 1000,
           "settings": {"loss": "mse"}, "transfer_size": 70}
ORIGIN = {"weights": "abc123.dir", "teacher": "checkpoint `checkpoints/mine` (label map {\"LABEL_0\": \"negative\"})",
          "teacher_md5": "t1.dir", "data_md5": "d1.dir", "transfer": "20 own, 30 pool, 40 augment texts",
          "labels": ["negative", "neutral", "positive"]}
ROW = {"runtime": "eager", "latency_ms": {"p50": 0.5, "p90": 0.7, "p99": 0.9}, "speedup_vs_fastest_teacher": 30.0,
       "fastest_teacher_runtime": "int8", "speedup_vs_teacher_same_runtime": 60.0,
       "peak_rss_mb": 200.0, "file_bytes": 2**20, "test_macro_f1": 0.7893, "threads": 1, "machine": {"cpu": "Xeon"}}
RERUN = "dvc repro studies/quick/dvc.yaml:bench@smsa"


def test_a_card_without_a_bench_of_its_weights_says_not_benchmarked():
    card = _model_card("smsa", "bilstm", "kd", METRICS, [], ORIGIN, RERUN)
    assert "78.93 (95% bootstrap interval 74.69 to 82.85)" in card
    assert "Not benchmarked: no bench row measured these weights" in card and RERUN in card
    assert "| runtime |" not in card  # no latency table borrowed from another model
    assert "checkpoint `checkpoints/mine`" in card and "`abc123.dir`" in card and "20 own, 30 pool" in card
    assert "of which this variant learned from 70." in card
    assert "Outputs, in order: negative, neutral, positive" in card and "Predictor(" in card


def test_a_card_with_its_bench_rows_shows_them():
    card = _model_card("smsa", "bilstm", "kd", METRICS, [ROW], ORIGIN, RERUN)
    assert "on these weights" in card and "| eager | 0.500 | 0.700 | 0.900 | 30.0x (int8) | 60.0x | 200 | 1.0 | 78.93 |" in card
    assert "Not benchmarked" not in card
