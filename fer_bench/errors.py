"""Errors that reach the user as one line instead of a traceback."""


class UserError(Exception):
    """A mistake in what the user gave (spec, data, flags, results): exit code 2."""

    exit_code = 2
