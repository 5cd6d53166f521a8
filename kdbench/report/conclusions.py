"""The paper's claims re-checked on the runs at hand, and the study's own findings (how close the students come
to the teacher, the comparisons it declares), with statistics behind every verdict.

A setting's effect is read from controlled pairs: two runs of the same task and student whose distill
settings differ only in the setting under test (for KD vs no-KD also in what only a KD loss can learn from:
the transfer set). Each pair is compared with a paired bootstrap on the same test examples, over every seed
both runs have (the cheap students are replicated with more seeds: the `replicate` stages). A claim's verdict:
  held                       the 95% interval of the difference lies above 0
  not held                   it lies below 0
  no significant difference  it holds 0
  not tested                 no pair of runs could test it
A claim "for every student" needs every pair held; a claim "on average" pools the pairs' differences.

A learning rate that each run picked by the same sweep (`lr_grid`) is part of the recipe, not a difference
between the variants: pairs may differ in it. A study that lacks the runs to test a claim says "not tested":
the studies that do test it are named in the README.
"""

from dataclasses import dataclass

from kdbench import stats
from kdbench.report.pareto import pareto_front
from kdbench.report.results import known
from kdbench.report.tables import POINTS, Table
from kdbench.stats import HELD, NO_DIFFERENCE, NOT_HELD

NOT_TESTED = "not tested"
SMALL = ("bilstm", "cnn")           # the students the paper found best per cost


@dataclass
class Claim:
    key: str                        # stable id, e.g. in report.json
    statement: str                  # the paper's claim
    rule: str                       # what "held" means here
    verdict: str                    # held | not held | no significant difference | not tested
    summary: str                    # the numbers behind the verdict
    details: Table | None = None
    seeds: int = 0                  # the most seeds a compared pair had (0: not a paired claim, or not tested)
    pairs: tuple = ()               # the pairs compared, "task/student: a - b"


def pairs(students, key, better, worse, free=()):
    """(a, b) pairs of runs of the same task and student whose settings differ in `key` (and at most in the
    keys of `free`, and in the learning rate when both swept the same grid for it), with
    `better(a.settings[key])` and `worse(b.settings[key])` true."""
    out = []
    for a in students:
        for b in students:
            if (a.task, a.model) != (b.task, b.model) or not (better(a.settings[key]) and worse(b.settings[key])):
                continue
            swept = a.settings.get("lr_grid") and a.settings.get("lr_grid") == b.settings.get("lr_grid")
            same = {k for k in a.settings if k not in (key, *free, *(("lr",) if swept else ()))}
            if all(a.settings[k] == b.settings.get(k) for k in same) and a.settings[key] != b.settings[key]:
                out.append((a, b))
    return out


def _is(value):
    return lambda v: v == value


def compare(task, a, b):
    """The paired bootstrap of run a minus run b over the seeds both have, or None without predictions."""
    seeds = [s for s in a.seeds if s in b.seeds]
    if task is None or not task.gold or not seeds:
        return None
    return stats.paired(task.kind, task.gold, [a.preds[a.seeds.index(s)] for s in seeds],
                        [b.preds[b.seeds.index(s)] for s in seeds])


def _points(x):
    return None if x is None else x * POINTS


def _interval_text(c):
    return f"[{c['low'] * POINTS:+.2f}, {c['high'] * POINTS:+.2f}]"


def _tested(results, groups):
    """Every pair of every group compared: ([(group, a, b, comparison)], table rows)."""
    tasks = {t.name: t for t in results.tasks}
    done, rows = [], []
    for label, ps in groups:
        for a, b in ps:
            c = compare(tasks.get(a.task), a, b)
            if c is None:
                continue
            done.append((label, a, b, c))
            mean = lambda f1s: sum(f1s) / len(f1s)  # noqa: E731  (the seed-averaged F1 of the seeds compared)
            seeds = [s for s in a.seeds if s in b.seeds]
            rows.append([label, a.task, a.model, a.variant, b.variant, len(seeds),
                         mean([a.seed_f1s[a.seeds.index(s)] for s in seeds]) * POINTS,
                         mean([b.seed_f1s[b.seeds.index(s)] for s in seeds]) * POINTS,
                         c["diff"] * POINTS, _interval_text(c), c["p"], stats.verdict(c)])
    return done, rows


def _table(name, rows):
    columns = ["comparison", "task", "student", "a", "b", "seeds", "F1 a", "F1 b", "a - b", "95% interval",
               "p", "verdict"]
    return Table(name, name, columns, rows, {"p": 3})


def _claim(key, statement, rule, needs, groups, results, every=False):
    """A claim judged on paired comparisons: every pair held (every=True), or the pooled difference."""
    claim = Claim(key, statement, rule, NOT_TESTED, needs)
    done, rows = _tested(results, groups)
    if not done:
        return claim
    verdicts = [stats.verdict(c) for *_, c in done]
    held = verdicts.count(HELD)
    counts = sorted({len([s for s in a.seeds if s in b.seeds]) for _, a, b, _ in done})
    seeds = f"{counts[0]}" if len(counts) == 1 else f"{counts[0]}-{counts[-1]}"
    claim.seeds = counts[-1]
    claim.pairs = tuple(f"{a.task}/{a.model}: {a.variant} - {b.variant}" for _, a, b, _ in done)
    if every:
        claim.verdict = HELD if held == len(done) else NOT_HELD if NOT_HELD in verdicts else NO_DIFFERENCE
        claim.summary = (f"{held} of {len(done)} task x student pairs held, {verdicts.count(NOT_HELD)} reversed, "
                         f"{verdicts.count(NO_DIFFERENCE)} without a significant difference; "
                         f"seeds per pair: {seeds}.")
    else:
        summaries, outcome = [], []
        for label in dict.fromkeys(label for label, *_ in done):
            pool = stats.pooled([c for g, _, _, c in done if g == label])
            outcome.append(stats.verdict(pool))
            summaries.append(f"{label}: {pool['diff'] * POINTS:+.2f} F1 points on average over {pool['pairs']} "
                             f"pairs, 95% interval {_interval_text(pool)}, p {pool['p']:.3f}")
        claim.verdict = (HELD if all(v == HELD for v in outcome) else NOT_HELD if NOT_HELD in outcome
                         else NO_DIFFERENCE)
        claim.summary = ("; ".join(summaries)
                         + f" ({held} of {len(done)} pairs held on their own; seeds per pair: {seeds}).")
    claim.details = _table(key.replace("_", " "), rows)
    return claim


def kd_beats_nokd(results):
    # each side keeps its own way of stopping: the teacher's loss for KD, validation macro F1 for no-KD (the defaults)
    ps = pairs(results.students, "loss", lambda v: v != "ce", _is("ce"), free=("transfer", "length_filter", "stop_on"))
    return _claim("kd_beats_nokd", "KD beats no-KD for every student.",
                  "held when every KD run beats the no-KD run (loss: ce) of its task and student, paired over "
                  "the same test examples and seeds; the KD run may also learn from a transfer set, and each "
                  "stops on its own validation score",
                  "needs a variant with loss: ce and one that differs from it only in the loss (its transfer set, "
                  "length filter and stopping score may differ too)",
                  [("KD - no-KD", ps)], results, every=True)


def mse_beats_kl(results):
    return _claim("mse_beats_kl", "MSE on logits beats KL divergence (the paper: by 1.66 F1 on average).",
                  "held when mse beats kl on average over the pairs that differ only in the loss",
                  "needs two variants that differ only in loss: mse vs kl",
                  [("mse - kl", pairs(results.students, "loss", _is("mse"), _is("kl")))], results)


def teacher_embeddings_best(results):
    groups = [(f"teacher - {other}", pairs(results.students, "embeddings", _is("teacher"), _is(other)))
              for other in ("fasttext", "random")]
    return _claim("teacher_embeddings_best",
                  "Initialising with the teacher's embeddings beats FastText and random.",
                  "held when embeddings: teacher beats each other init on average over the pairs",
                  "needs a variant with embeddings: teacher and one differing from it only there", groups, results)


def unlabeled_helps(results):
    ps = pairs(results.students, "transfer", lambda v: bool(v), lambda v: not v)
    return _claim("unlabeled_helps", "Adding teacher-labeled unlabeled text (a transfer set) helps.",
                  "held when learning from a transfer set beats learning from the labelled data alone, on average",
                  "needs two variants that differ only in transfer: some parts vs none",
                  [("transfer set - none", ps)], results)


def augmentation_helps(results):
    ps = pairs(results.students, "transfer", lambda v: "augment" in v, lambda v: bool(v) and "augment" not in v)
    return _claim("augmentation_helps", "Augmented sentences in the transfer set help (Tang et al. 2019).",
                  "held when adding augmented sentences to a transfer set helps on average",
                  "needs two variants whose transfer sets differ only in augment", [("with - without", ps)], results)


def small_students_best_trade_off(results):
    """BiLSTM and CNN give the best trade-off, judged on each task's Pareto frontiers of test macro F1 against
    p50 latency and against file size (every student x variant x runtime of the bench)."""
    claim = Claim("small_students_best_trade_off", "BiLSTM and CNN give the best score for their cost.",
                  "held when, in every task, both Pareto frontiers (score vs p50 latency, score vs size) hold a "
                  "BiLSTM or CNN and no BERT student on them scores significantly above the best BiLSTM/CNN "
                  "there (its 95% interval above that score); not held when a frontier has no BiLSTM/CNN",
                  NOT_TESTED, "needs bench rows of a BiLSTM or CNN and of a BERT student on the same task")
    intervals = {(s.task, s.model, s.variant): s.interval for s in results.students}
    rows, outcomes = [], []
    for task in results.tasks:
        points = [r for r in results.student_rows(task.name) if known(r["test_macro_f1"])
                  and r["model"] in results.student_order]
        if not ({r["model"] for r in points} & set(SMALL) and {r["model"] for r in points} - set(SMALL)):
            continue
        for cost in ("latency_p50_ms", "size_mb"):
            usable = [r for r in points if known(r[cost])]
            front = [usable[i] for i in pareto_front([(r[cost], r["test_macro_f1"]) for r in usable])]
            small = [r for r in front if r["model"] in SMALL]
            best_small = max((r["test_macro_f1"] for r in small), default=None)
            beyond = [r for r in front if r["model"] not in SMALL and best_small is not None
                      and (intervals.get((task.name, r["model"], r["variant"])) or {}).get("low", 0) > best_small]
            outcome = NOT_HELD if not small else NO_DIFFERENCE if beyond else HELD
            outcomes.append(outcome)
            rows.append([task.name, cost.removesuffix("_ms").removesuffix("_mb").replace("_p50", " p50"),
                         ", ".join(f"{r['model']}/{r['variant']}/{r['runtime']}" for r in front),
                         _points(best_small), ", ".join(r["model"] for r in beyond), outcome])
    if not outcomes:
        return claim
    claim.verdict = NOT_HELD if NOT_HELD in outcomes else NO_DIFFERENCE if NO_DIFFERENCE in outcomes else HELD
    claim.summary = (f"{outcomes.count(HELD)} of {len(outcomes)} frontiers led by BiLSTM/CNN with no BERT "
                     f"significantly better, {outcomes.count(NO_DIFFERENCE)} shared with a significantly better "
                     f"BERT, {outcomes.count(NOT_HELD)} without a BiLSTM/CNN.")
    claim.details = Table("pareto frontiers", "Pareto frontiers",
                          ["task", "cost", "frontier (cheapest first)", "best BiLSTM/CNN F1",
                           "BERTs significantly better", "verdict"], rows)
    return claim


def students_reach_teacher(results):
    """Each task's best student against the teacher, paired over its seeds on the test split; the best is the
    student x variant with the best seed-averaged validation F1 (the test split picks nothing). The table has
    every student x variant with its test spread over seeds (max - min), so that no figure goes without how
    much another seed moves it."""
    claim = Claim("students_reach_teacher", "The best student reaches its teacher's score.",
                  "held when, in every task, the student x variant with the best seed-averaged validation F1 is "
                  "not significantly below the teacher on test, paired over its seeds and the same test examples",
                  NOT_TESTED, "needs the teacher's test predictions and a student run")
    rows, outcomes, summaries = [], [], []
    for task in results.tasks:
        runs = [s for s in results.students if s.task == task.name and s.preds]
        if not runs or not task.teacher_pred:
            continue
        compared = []
        for s in runs:
            c = stats.paired(task.kind, task.gold, list(s.preds), [task.teacher_pred])
            mean = sum(s.seed_f1s) / len(s.seed_f1s)
            valid = sum(s.seed_valid_f1s) / len(s.seed_valid_f1s)
            compared.append((valid, mean, s, c))
            rows.append([task.name, s.model, s.variant, len(s.seeds), valid * POINTS, mean * POINTS,
                         (max(s.seed_f1s) - min(s.seed_f1s)) * POINTS, task.teacher_f1 * POINTS,
                         c["diff"] * POINTS, _interval_text(c), c["p"], stats.verdict(c)])
        _, mean, best, c = max(compared, key=lambda x: x[0])
        outcomes.append(NOT_HELD if c["high"] < 0 else HELD)
        summaries.append(f"{task.name}: {best.model}/{best.variant} (best on validation) {mean * POINTS:.2f} "
                         f"over {len(best.seeds)} seeds, {c['diff'] * POINTS:+.2f} against the teacher "
                         f"{_interval_text(c)}")
    if not outcomes:
        return claim
    claim.verdict = HELD if all(o == HELD for o in outcomes) else NOT_HELD
    claim.summary = "; ".join(summaries) + "."
    claim.seeds = max(row[3] for row in rows)
    claim.details = Table("students against the teacher", "Students against the teacher",
                          ["task", "student", "variant", "seeds", "valid F1 (seed mean)", "F1 (seed mean)",
                           "seed spread", "teacher F1",
                           "student - teacher", "95% interval", "p", "verdict"], rows, {"p": 3})
    return claim


def variant_beats(results, a, b):
    """A comparison the study declares (`report.compare`): variant a against variant b for each task and
    student that ran both, however many settings they differ in (a recipe against another)."""
    ps = [(x, y) for x in results.students for y in results.students
          if (x.task, x.model) == (y.task, y.model) and (x.variant, y.variant) == (a, b)]
    return _claim(f"{a}_beats_{b}".replace("-", "_"), f"Variant {a} beats variant {b}.",
                  f"held when {a} beats {b} on average over the task x student pairs that ran both",
                  f"needs runs of both {a} and {b}", [(f"{a} - {b}", ps)], results)


def check_claims(results):
    """Every claim of the paper that kdbench re-checks, in the paper's order of importance."""
    return [kd_beats_nokd(results), small_students_best_trade_off(results), mse_beats_kl(results),
            teacher_embeddings_best(results), unlabeled_helps(results), augmentation_helps(results)]


def check_findings(results, compare=()):
    """What the study itself asks: how close the students come to the teacher, and the comparisons it
    declares (`report.compare`)."""
    return [students_reach_teacher(results), *(variant_beats(results, a, b) for a, b in compare)]
