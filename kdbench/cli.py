"""`kdbench <command>`: one subcommand per DVC stage, plus tasks, texts, predict, export, gate, profile, grid.
Thin: each subcommand is a module of kdbench/commands; it parses its arguments, loads the params of a study
or a setup and calls one module function. User mistakes print one line and exit 2."""

import argparse
import importlib
import os
import pkgutil
import sys

from kdbench import commands
from kdbench.errors import KdbenchError


def command_names():
    """The subcommands: the modules of kdbench/commands."""
    return sorted(m.name for m in pkgutil.iter_modules(commands.__path__))


def _summary():
    lines = [f"  {name:<11} {importlib.import_module(f'kdbench.commands.{name}').__doc__.splitlines()[0]}"
             for name in command_names()]
    return "commands:\n" + "\n".join(lines)


def main(argv=None):
    argv = sys.argv[1:] if argv is None else argv
    top = argparse.ArgumentParser(prog="kdbench", description=__doc__.splitlines()[0], epilog=_summary(),
                                  formatter_class=argparse.RawDescriptionHelpFormatter)
    which = top.add_mutually_exclusive_group()
    which.add_argument("--study", help="a study's name: its params are studies/NAME/params.yaml")
    which.add_argument("--params", default="params.yaml", help="the params file of a study or a setup (default: "
                       "params.yaml, as in a stage that DVC runs in the study's folder)")
    top.add_argument("command", choices=command_names(), metavar="command", help="see below")
    top.add_argument("args", nargs=argparse.REMAINDER, help="the command's arguments (kdbench <command> -h)")
    ns = top.parse_args(argv)
    module = importlib.import_module(f"kdbench.commands.{ns.command}")
    sub = argparse.ArgumentParser(prog=f"kdbench {ns.command}", description=module.__doc__.splitlines()[0])
    module.add_arguments(sub)
    args = sub.parse_args(ns.args)
    args.params = f"studies/{ns.study}/params.yaml" if ns.study else ns.params
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # no load reports for the e5 pooler we never use
    try:
        module.main(args)
    except KdbenchError as e:
        print(f"kdbench: error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
