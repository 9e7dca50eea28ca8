"""The UserError family: every problem the user can fix, shown without a traceback."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from salesanalytics import errors
from salesanalytics.ingest import intake, io, mapping
from salesanalytics.ingest.validation import ValidationReport


@pytest.mark.parametrize(
    ("cls", "second"),
    [
        (errors.InputFileError, ValueError),
        (errors.InputNotFoundError, FileNotFoundError),
        (errors.MappingError, ValueError),
        (errors.ParameterError, ValueError),
        (errors.MissingColumnsError, KeyError),
        (intake.IntakeError, ValueError),
    ],
)
def test_user_errors_keep_their_old_base(cls: type, second: type) -> None:
    assert issubclass(cls, errors.UserError) and issubclass(cls, second)


def test_errors_raised_by_the_intake_are_user_errors(tmp_path: Path) -> None:
    with pytest.raises(errors.InputNotFoundError, match="does not exist or is not a folder"):
        io.list_files(tmp_path / "nowhere")
    with pytest.raises(errors.InputNotFoundError, match="neither a built-in mapping"):
        mapping.load_mapping("no-such-mapping")
    (tmp_path / "empty.csv").write_text("")
    with pytest.raises(errors.InputFileError, match="is empty"):
        io.read_header(tmp_path / "empty.csv")


def test_intake_error_exits_with_status_one() -> None:
    report = ValidationReport()
    report.add_frame(
        intake.problem_frame(severity="error", check="no_files", message="no files", hint="")
    )
    err = intake.IntakeError(report)
    assert err.exit_code == 1 and "1 error(s)" in str(err)


def test_require_columns_names_every_missing_column() -> None:
    with pytest.raises(errors.MissingColumnsError, match="accounts lacks column.s. a, c"):
        errors.require_columns(pd.DataFrame({"b": [1]}), ["a", "b", "c"], "accounts")
