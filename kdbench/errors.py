"""User-facing errors: the CLI prints these as one line, without a traceback."""


class KdbenchError(Exception):
    """A mistake in the user's input (data file, params.yaml, command line), not a bug in kdbench."""


class DataError(KdbenchError):
    """Malformed input data; the message names the file and line."""

    def __init__(self, path, line, problem):
        self.path, self.line = str(path), line
        where = f"{path}:{line}" if line else str(path)
        super().__init__(f"{where}: {problem}")
