"""Errors that reach the user as one line instead of a traceback."""


class FerBenchError(Exception):
    """Reported as one line on stderr; the process exits with `exit_code`."""

    exit_code = 1


class UserError(FerBenchError):
    """A mistake in what the user gave (spec, data, flags, results): exit code 2."""

    exit_code = 2


class WriteError(FerBenchError):
    """Results could not be written (disk full, permissions): exit code 1, earlier records intact."""

    exit_code = 1
