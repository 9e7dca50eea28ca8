"""Exceptions for problems the user can fix (bad data, bad parameters): shown without a traceback."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    import pandas as pd

__all__ = [
    "InputFileError",
    "InputNotFoundError",
    "MappingError",
    "MissingColumnsError",
    "ParameterError",
    "UserError",
    "require_columns",
]


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


class MissingColumnsError(UserError, KeyError):
    """A table lacks columns that a step needs (also a ``KeyError``, as a missing column is)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class InputFileError(UserError, ValueError):
    """An input file cannot be read as it is; also a ``ValueError``.

    Empty, no recognisable delimiter, a header that names a column twice, a damaged workbook,
    an unsupported type.
    """


class InputNotFoundError(UserError, FileNotFoundError):
    """A folder, file or name the user gave does not exist; also a ``FileNotFoundError``."""


class MappingError(UserError, ValueError):
    """A column mapping (YAML) is invalid or does not fit the export; also a ``ValueError``."""


class ParameterError(UserError, ValueError):
    """A parameter or an upstream result has an impossible value; also a ``ValueError``."""


def require_columns(df: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    """Raise :class:`MissingColumnsError` naming every column ``df`` lacks, not only the first.

    Parameters
    ----------
    df
        The table to check; any columns.
    columns
        The columns the caller needs.
    what
        The table in the reader's words (``"accounts"``, ``"the deal credits"``), used in the message.

    Raises
    ------
    MissingColumnsError
        With the missing columns, the columns needed and the columns the table has.
    """
    needed = [str(c) for c in columns]
    have = [str(c) for c in df.columns]
    missing = [c for c in needed if c not in have]
    if missing:
        raise MissingColumnsError(
            f"{what} lacks column(s) {', '.join(missing)}; it needs {', '.join(needed)} "
            f"(has: {', '.join(have) or 'no columns'}). Check the mapping of this table, or run "
            "the phase that writes it."
        )
