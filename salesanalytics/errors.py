"""Exceptions for problems the user can fix (bad data, bad parameters): shown without a traceback."""

from __future__ import annotations

__all__ = ["UserError"]


class UserError(Exception):
    """A problem with the user's input (data, mapping, parameters, paths), not a bug.

    The message must say what is wrong, where (file, column, row, value or parameter) and what to do.
    The command line prints it without a traceback and exits with status ``exit_code``.
    """

    exit_code: int = 2

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code
