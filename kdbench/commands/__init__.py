"""One module per `kdbench` subcommand (`kdbench fetch` runs fetch.py): its docstring's first line is the
help, `add_arguments(parser)` declares its arguments and `main(args)` runs it (args.params is the params
file). A DVC stage runs one of them and, through it, only the code it imports: adding a subcommand touches no
stage's dependencies. Heavy imports stay inside `main`, so `kdbench --help` is quick."""

import time

from kdbench.io import write_json


def add_task(parser):
    parser.add_argument("task", help="task name (see `kdbench tasks`)")


def add_timing(parser, what="the wall time"):
    parser.add_argument("--timing", default="", help=f"where to write {what} (kept apart from the metrics)")


def timed(path, fn, *args):
    """fn(*args), with its wall time written to `path` (apart from the metrics, which must be the same bytes
    on a rerun)."""
    t0 = time.time()
    result = fn(*args)
    seconds = round(time.time() - t0, 1)
    if path:
        write_json(path, {"seconds": seconds})
    print(f"took {seconds} s")
    return result
