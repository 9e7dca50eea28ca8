"""Console script ``salesanalytics``: one subcommand per task, ``--help`` on each.

Subcommands are contributed by the modules listed in :data:`COMMAND_MODULES`; each has a
``register_cli(subparsers)`` function that adds its parser(s) and sets ``func`` to a handler
``handler(args) -> int`` returning the exit status. :data:`COMMANDS` names the module of each
subcommand, so that running one imports only its module (the analysis modules import pandas,
pandera and scipy, which would delay the start of every command by seconds).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from importlib import import_module

from salesanalytics import __version__
from salesanalytics.errors import UserError

__all__ = ["COMMANDS", "COMMAND_MODULES", "build_parser", "main"]

COMMANDS: dict[str, str] = {
    "demo-data": "salesanalytics.ingest.demo",
    "validate": "salesanalytics.engagement.intake",
    "init": "salesanalytics.engagement.pipeline.commands",
    "run": "salesanalytics.engagement.pipeline.commands",
    "clean": "salesanalytics.engagement.pipeline.commands",
    "compare": "salesanalytics.engagement.pipeline.compare",
    "mapping": "salesanalytics.ingest.mapping_draft",
}
"""Subcommand -> module registering it."""

COMMAND_MODULES: tuple[str, ...] = tuple(dict.fromkeys(COMMANDS.values()))


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """Build the argument parser: with every subcommand, or only the module of ``command``."""
    parser = argparse.ArgumentParser(
        prog="salesanalytics",
        description="CRM sales-strategy analyses: import and validate a CRM export, run the "
        "engagement's phases, and export client-ready HTML reports.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    modules = (COMMANDS[command],) if command in COMMANDS else COMMAND_MODULES
    for name in modules:
        try:
            mod = import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name == name:
                continue
            raise
        mod.register_cli(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    command = next((a for a in argv if not a.startswith("-")), None)
    parser = build_parser(command)
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
