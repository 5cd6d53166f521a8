"""One small registry mechanism for every closed set kdbench names: tasks, students, losses, embedding
initialisations and runtimes. An entry is an object plus metadata (a loss knows whether it needs the
teacher; a runtime whether it needs torch), named once; config validation, the CLI, the harness and the
report read the names from here.

Names are also path parts and shell words (`models/<task>/<student>/<variant>`, DVC stage names), so every
name kdbench accepts, registered or user-chosen, matches NAME.
"""

import re

from kdbench.errors import KdbenchError

NAME = re.compile(r"[a-z0-9][a-z0-9_-]*")


def check_name(name, key):
    """`name` if it is a safe name, else one clear error naming the params key it came from."""
    if not isinstance(name, str) or not NAME.fullmatch(name):
        raise KdbenchError(f"params.yaml: {key}: {name!r} is not a valid name (lower-case letters, digits, "
                           "'_' and '-', starting with a letter or digit): names become paths and DVC stage names")
    return name


class Registry:
    """name -> (object, metadata). `register(name, **meta)` is a decorator; `add` registers a value."""

    def __init__(self, what, pattern=NAME):
        self.what = what  # "student", "loss", ...: used in error messages
        self.pattern = pattern  # names that never become paths may allow more (a loss is "mse+ce")
        self._entries = {}

    def add(self, name, obj, **meta):
        if not self.pattern.fullmatch(name):
            raise ValueError(f"{self.what} name {name!r} does not match {self.pattern.pattern}")
        if name in self._entries:
            raise ValueError(f"{self.what} {name!r} registered twice")
        self._entries[name] = (obj, meta)
        return obj

    def register(self, name, **meta):
        return lambda obj: self.add(name, obj, **meta)

    def names(self):
        return list(self._entries)

    def __contains__(self, name):
        return name in self._entries

    def __iter__(self):
        return iter(self._entries)

    def _entry(self, name):
        if name not in self._entries:
            raise KdbenchError(f"unknown {self.what} {name!r}; known: {', '.join(self._entries)}")
        return self._entries[name]

    def get(self, name):
        return self._entry(name)[0]

    def meta(self, name, key, default=None):
        return self._entry(name)[1].get(key, default)

    def check(self, name, key):
        """`name` if registered, else one error naming the params key."""
        if name not in self._entries:
            raise KdbenchError(f"params.yaml: {key}: unknown {self.what} {name!r} "
                               f"(known: {', '.join(self._entries)})")
        return name
