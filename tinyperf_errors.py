"""The root of every error tinyperf reports to its user.

Every layer (platforms/, sim/, harness/, modelc) derives its errors from
TinyperfError, so the command line catches this one class: it prints str(err)
as one line (`tinyperf: error: ...`) and exits with err.exit_code.  A message
names the problem and, where there is one, the fix.  This module imports
nothing of tinyperf's, so the lowest layer can import it."""
from __future__ import annotations

EXIT_FAILURE = 1  # the run, build or check failed
EXIT_USAGE = 2  # the command line or an input the user named is wrong (click's code for usage errors)


class TinyperfError(Exception):
    """A one-line error for the user; `exit_code` is the status the CLI ends with."""

    exit_code: int = EXIT_FAILURE

    def __init__(self, message: str, exit_code: int | None = None):
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class UsageError(TinyperfError):
    """Something the user named does not exist or cannot be used as given (exit 2)."""

    exit_code = EXIT_USAGE
