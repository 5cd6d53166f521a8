"""The paper's conclusions re-checked on the runs at hand, each held / not held / not tested.

A setting's effect is read only from controlled pairs: two runs of the same task and student whose distill
settings differ in that one key (loss, embeddings or unlabeled) and nowhere else. So a variant that changes
two things at once (e.g. KL with another temperature) never counts as evidence for either."""

import statistics
from dataclasses import dataclass

from kdbench.report.results import known
from kdbench.report.tables import POINTS, Table

HELD, NOT_HELD, NOT_TESTED = "held", "not held", "not tested"
SMALL = ("bilstm", "cnn")           # the students the paper found best per cost


@dataclass
class Claim:
    key: str                        # stable id, e.g. in report.json
    statement: str                  # the paper's claim
    rule: str                       # what "held" means here
    verdict: str                    # held | not held | not tested
    summary: str                    # the numbers behind the verdict
    details: Table | None = None


def pairs(students, key, better, worse):
    """(a, b) pairs of runs of the same task and student whose settings differ only in `key`, with
    `better(a.settings[key])` and `worse(b.settings[key])` true."""
    out = []
    for a in students:
        for b in students:
            if (a.task, a.model) != (b.task, b.model) or not (better(a.settings[key]) and worse(b.settings[key])):
                continue
            others_a = {k: v for k, v in a.settings.items() if k != key}
            others_b = {k: v for k, v in b.settings.items() if k != key}
            if others_a == others_b and a.settings[key] != b.settings[key]:
                out.append((a, b))
    return out


def _is(value):
    return lambda v: v == value


def _pair_table(name, label_a, label_b, comparisons):
    """One row per pair: task, student, the two variants and their scores; `comparisons` is a list of
    (comparison name, pairs)."""
    rows = [[what, a.task, a.model, a.variant, b.variant, a.f1 * POINTS, b.f1 * POINTS, (a.f1 - b.f1) * POINTS]
            for what, ps in comparisons for a, b in ps]
    columns = ["comparison", "task", "student", str(label_a), str(label_b), "F1 a", "F1 b", "a - b"]
    return Table(name, name, columns, rows)


def _mean_gap(ps):
    return statistics.fmean((a.f1 - b.f1) * POINTS for a, b in ps)


def _wins(ps):
    return sum(a.f1 > b.f1 for a, b in ps)


def kd_beats_nokd(students):
    ps = pairs(students, "loss", lambda v: v != "ce", _is("ce"))
    claim = Claim("kd_beats_nokd", "KD beats no-KD for every student.",
                  "held when every KD run beats the no-KD run (loss: ce) of the same task and student",
                  NOT_TESTED, "needs a variant with loss: ce and one that differs from it only in the loss")
    if not ps:
        return claim
    lost = [f"{a.task}/{a.model} {a.variant} {(a.f1 - b.f1) * POINTS:+.2f}" for a, b in ps if a.f1 <= b.f1]
    claim.verdict = NOT_HELD if lost else HELD
    claim.summary = (f"KD beat no-KD in {_wins(ps)} of {len(ps)} task x student pairs, "
                     f"by {_mean_gap(ps):+.2f} F1 points on average"
                     + (f"; it did not for {', '.join(lost)}." if lost else "."))
    claim.details = _pair_table("KD vs no-KD", "KD variant", "no-KD variant", [("KD - no-KD", ps)])
    return claim


def _on_average(key, statement, setting, better, worse, students):
    """A claim that `better` beats `worse` on `setting`, held when the mean gap over the pairs is > 0."""
    ps = pairs(students, setting, _is(better), _is(worse))
    claim = Claim(key, statement, f"held when {setting}: {better} beats {worse} on average over the pairs",
                  NOT_TESTED, f"needs two variants that differ only in {setting}: {better} vs {worse}")
    if not ps:
        return claim
    gap = _mean_gap(ps)
    claim.verdict = HELD if gap > 0 else NOT_HELD
    claim.summary = (f"{better} vs {worse}: {gap:+.2f} F1 points on average, "
                     f"better in {_wins(ps)} of {len(ps)} task x student pairs.")
    claim.details = _pair_table(f"{better} vs {worse}", better, worse, [(f"{better} - {worse}", ps)])
    return claim


def mse_beats_kl(students):
    return _on_average("mse_beats_kl", "MSE on logits beats KL divergence (the paper: by 1.66 F1 on average).",
                       "loss", "mse", "kl", students)


def unlabeled_helps(students):
    return _on_average("unlabeled_helps", "Adding teacher-labeled unlabeled text helps.",
                       "unlabeled", True, False, students)


def teacher_embeddings_best(students):
    comparisons = [(f"teacher - {other}", pairs(students, "embeddings", _is("teacher"), _is(other)))
                   for other in ("fasttext", "random")]
    tested = [(what, ps) for what, ps in comparisons if ps]
    claim = Claim("teacher_embeddings_best", "Initialising with the teacher's embeddings beats FastText and random.",
                  "held when embeddings: teacher beats each other init run on average over the pairs",
                  NOT_TESTED, "needs a variant with embeddings: teacher and one differing from it only there")
    if not tested:
        return claim
    gaps = {what: _mean_gap(ps) for what, ps in tested}
    claim.verdict = HELD if all(g > 0 for g in gaps.values()) else NOT_HELD
    claim.summary = "; ".join(f"{what}: {g:+.2f} F1 points on average over {len(dict(tested)[what])} pairs"
                              for what, g in gaps.items())
    missing = [what for what, ps in comparisons if not ps]
    claim.summary += f" ({', '.join(missing)}: not run)." if missing else "."
    extra = ("fasttext - random", pairs(students, "embeddings", _is("fasttext"), _is("random")))
    claim.details = _pair_table("embedding inits", "a", "b", tested + ([extra] if extra[1] else []))
    return claim


def small_students_best_per_cost(students, rows):
    """BiLSTM and CNN give the best score per cost: per task, the student with the highest F1 points per
    million parameters (metrics JSON) and per millisecond of latency p50 (bench rows), each student at its
    best variant and runtime, is a BiLSTM or a CNN."""
    claim = Claim("small_students_best_per_cost", "BiLSTM and CNN give the best score per cost.",
                  "held when, in every task, the best F1 per M parameters and the best F1 per ms of p50 latency "
                  "(each student at its best variant and runtime) belong to a BiLSTM or a CNN",
                  NOT_TESTED, "needs a BiLSTM or CNN run and a BERT student run on the same task")
    table_rows, winners = [], []
    for task in dict.fromkeys(s.task for s in students):
        per_params = {}
        for s in students:
            if s.task == task and known(s.params) and s.params:
                per_params.setdefault(s.model, []).append((s.f1 * POINTS / (s.params / 1e6), s.variant))
        per_ms = {}
        for r in rows:
            if r["task"] == task and r["model"] != "teacher" and known(r["test_macro_f1"], r["latency_p50_ms"]):
                ratio = r["test_macro_f1"] * POINTS / r["latency_p50_ms"]
                per_ms.setdefault(r["model"], []).append((ratio, f"{r['variant']}, {r['runtime']}"))
        for measure, by_model in (("F1 per M params", per_params), ("F1 per ms p50", per_ms)):
            if not (set(by_model) & set(SMALL) and set(by_model) - set(SMALL)):
                continue
            best = {m: max(v) for m, v in by_model.items()}
            winner = max(best, key=lambda m: best[m][0])
            winners.append((task, measure, winner, best[winner][0]))
            table_rows += [[task, measure, m, where, ratio, "yes" if m == winner else ""]
                           for m, (ratio, where) in best.items()]
    if not winners:
        return claim
    lost = [w for w in winners if w[2] not in SMALL]
    claim.verdict = NOT_HELD if lost else HELD
    claim.summary = "Best per cost: " + "; ".join(f"{t} {m}: {w} ({v:.1f})" for t, m, w, v in winners) + "."
    claim.details = Table("score per cost", "score per cost",
                          ["task", "measure", "student", "at", "F1 per cost", "best"], table_rows)
    return claim


def check_claims(results):
    """Every claim of the paper that kdbench re-checks, in the paper's order of importance."""
    s = results.students
    return [kd_beats_nokd(s), small_students_best_per_cost(s, results.records), mse_beats_kl(s),
            teacher_embeddings_best(s), unlabeled_helps(s)]
