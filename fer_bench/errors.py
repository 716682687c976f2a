"""Errors that reach the user as one line instead of a traceback, and the exit codes of every command."""

EXIT_OK = 0
EXIT_TRIALS = 3  # some trial failed, diverged or timed out (its record says why)


class FerBenchError(Exception):
    """Reported as one line on stderr; the process exits with `exit_code`."""

    exit_code = 1


class UserError(FerBenchError):
    """A mistake in what the user gave (spec, data, flags, results): exit code 2."""

    exit_code = 2


class WriteError(FerBenchError):
    """Results could not be written (disk full, permissions): exit code 1, earlier records intact."""

    exit_code = 1
