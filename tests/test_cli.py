"""The console script: every subcommand has --help, user errors print no traceback."""

from __future__ import annotations

import argparse
import subprocess
import sys

import pytest

from salesanalytics import cli
from salesanalytics.errors import UserError


def _subcommands() -> list[str]:
    parser = cli.build_parser()
    actions = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    return sorted(actions[0].choices) if actions else []


def test_expected_subcommands_exist() -> None:
    assert {"demo-data", "validate", "init", "run"} <= set(_subcommands())


@pytest.mark.parametrize("command", _subcommands())
def test_every_subcommand_has_help(command: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main([command, "--help"])
    assert exc.value.code == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: salesanalytics " + command)
    assert len(out.splitlines()) > 3


def test_user_error_is_printed_without_traceback(monkeypatch, capsys) -> None:
    def boom(args: argparse.Namespace) -> int:
        raise UserError(
            "file Account.csv, column Id, row 7: duplicate id '001'. Remove the duplicate."
        )

    parser = cli.build_parser()
    monkeypatch.setattr(cli, "build_parser", lambda command=None: parser)
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    sub.add_parser("boom").set_defaults(func=boom)
    assert cli.main(["boom"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: file Account.csv, column Id, row 7")
    assert "Traceback" not in err


def test_commands_map_names_every_registered_subcommand() -> None:
    assert set(cli.COMMANDS) == set(_subcommands())
    for command, module in cli.COMMANDS.items():
        parser = cli.build_parser(command)
        sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
        assert command in sub.choices, module


def test_running_a_command_imports_only_its_module() -> None:
    code = (
        "import sys; from salesanalytics import cli; cli.build_parser('run'); "
        "print(sorted(m for m in ('pandas', 'salesanalytics.ingest.demo', 'salesanalytics.ingest.intake') "
        "if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_console_script_entry_point_runs() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "salesanalytics.cli", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.startswith("salesanalytics ")
