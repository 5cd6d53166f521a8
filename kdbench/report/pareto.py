"""The Pareto frontier of (cost, score) points: the models worth considering at some budget."""

from kdbench.report.results import known


def pareto_front(points):
    """Indices of the points that no other point beats, sorted by cost (then by input order).

    `points` are (cost, score) pairs: lower cost and higher score are better. A point is dominated when
    another has cost <= and score >= with at least one of them strict, so a point that only equals another
    exactly is kept with it: two runs with the same numbers are equally good answers. Points with a missing
    (None or NaN) cost or score are never on the front."""
    usable = [i for i, (cost, score) in enumerate(points) if known(cost, score)]
    # Cheapest first and, at equal cost, the best score first: a point is then on the front exactly when it
    # scores higher than everything before it, or ties the last front point on both cost and score.
    order = sorted(usable, key=lambda i: (points[i][0], -points[i][1], i))
    front = []
    for i in order:
        cost, score = points[i]
        if not front or score > points[front[-1]][1]:
            front.append(i)
        elif (cost, score) == tuple(points[front[-1]]):
            front.append(i)
    return front
