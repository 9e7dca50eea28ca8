"""Subcommands ``init``, ``run`` and ``clean``.

``init`` scaffolds a client project, ``run`` runs the engagement's phases and ``clean`` tidies up
after interrupted runs.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from salesanalytics.errors import UserError

__all__ = ["cmd_clean", "cmd_init", "cmd_run", "register_cli"]


def register_cli(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add the ``init``, ``run`` and ``clean`` subcommands."""
    _add_init(subparsers)
    _add_run(subparsers)
    _add_clean(subparsers)


def _add_init(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``init`` subcommand."""
    p = subparsers.add_parser(
        "init",
        help="scaffold a client project (project.yaml with every phase's parameters)",
        description="Create DIR/project.yaml for a client: client name and folder-safe slug, the CRM "
        "export and its mapping, and every phase's parameters with their defaults and a one-line "
        "help. Relative paths in the file are relative to it.",
    )
    p.add_argument("dir", metavar="DIR", help="project folder (created if needed)")
    p.add_argument("--source", required=True, metavar="DATA", help="folder with the CRM export")
    p.add_argument(
        "--mapping",
        default="salesforce",
        metavar="NAME",
        help="built-in mapping name (salesforce, hubspot, dynamics365, maven-crm, bank-churn, online-retail) or a YAML mapping file "
        "(default: salesforce)",
    )
    p.add_argument(
        "--client", metavar="NAME", help="client name for the reports (default: DIR's name)"
    )
    p.add_argument(
        "--slug", help="folder-safe name for the client's reports (default: from DIR's name)"
    )
    p.add_argument(
        "--reports", metavar="FOLDER", help="where runs are written (default: ./reports)"
    )
    p.add_argument(
        "--notebooks", metavar="FOLDER", help="phase notebooks folder (default: ./notebooks)"
    )
    p.add_argument(
        "--language",
        default="en",
        choices=["en", "de"],
        help="language of the client's reports (default: en)",
    )
    p.add_argument(
        "--locale",
        default="",
        metavar="LOCALE",
        help="number, money and date formats: en-CH, de-CH, de-DE, de-AT "
        "(default: the language's Swiss locale)",
    )
    p.add_argument("--force", action="store_true", help="overwrite an existing project.yaml")
    p.set_defaults(func=cmd_init)


def _add_run(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``run`` subcommand."""
    r = subparsers.add_parser(
        "run",
        help="run the engagement's phases and write the HTML reports",
        description="Run the whole engagement, or the named phases and what they need, into a new "
        "run folder <reports>/<slug>/<run-id>/ with index.html, client and analyst reports and "
        "manifest.json. Unchanged phases are reused from earlier runs. Parameters are validated "
        "before anything runs.",
    )
    r.add_argument(
        "--config",
        default="project.yaml",
        metavar="FILE",
        help="project file (default: ./project.yaml)",
    )
    r.add_argument(
        "--phase",
        action="extend",
        nargs="+",
        default=[],
        metavar="NAME",
        help="rerun these phases (and what they read, when changed) and the phases downstream "
        "of them; every other phase is reused, or carried over from the latest run and marked "
        "stale in the index when its parameters or inputs changed",
    )
    r.add_argument(
        "--only",
        action="store_true",
        help="with --phase: do not rerun the phases downstream either; they are carried over "
        "from the latest run and marked stale when their inputs changed",
    )
    r.add_argument(
        "--wait",
        action="store_true",
        help="if another run of this project is in progress, wait for it to finish instead of "
        "refusing (exit status 3)",
    )
    r.add_argument(
        "--set",
        dest="set_",
        action="append",
        default=[],
        metavar="PHASE.PARAM=VALUE",
        help="override a parameter for this run (value read as YAML: 40, 0.5, true, text); "
        "language=de and locale=de-DE set the project's language and locale",
    )
    r.add_argument(
        "--cell-timeout", type=int, metavar="SECONDS", help="seconds a single cell may run"
    )
    r.add_argument("--workers", type=int, metavar="N", help="phases run in parallel (0 = cores)")
    r.add_argument(
        "--fresh-kernels",
        action="store_true",
        help="start a new kernel for every phase instead of recycling the kernel of a phase "
        "that finished (slower; for isolating a problem)",
    )
    g = r.add_mutually_exclusive_group()
    g.add_argument("--quiet", "-q", action="store_true", help="no progress output (for CI)")
    g.add_argument("--verbose", "-v", action="store_true", help="also show cell progress")
    r.set_defaults(func=cmd_run)


def _add_clean(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The ``clean`` subcommand."""
    c = subparsers.add_parser(
        "clean",
        help="tidy up after interrupted runs (mark them, remove their staging folders)",
        description="Mark run folders left by killed runs as interrupted and remove their "
        "half-written staging folders and temporary files (the next run does this too). With "
        "--remove-interrupted, delete interrupted runs' folders altogether. Finished runs are "
        "never touched. Refuses while a run of the project is in progress.",
    )
    c.add_argument(
        "--config",
        default="project.yaml",
        metavar="FILE",
        help="project file (default: ./project.yaml)",
    )
    c.add_argument(
        "--remove-interrupted",
        action="store_true",
        help="also delete the folders of interrupted runs",
    )
    c.set_defaults(func=cmd_clean)


def cmd_init(args: argparse.Namespace) -> int:
    """Handler of ``salesanalytics init``."""
    from salesanalytics.engagement.phases import all_phases
    from salesanalytics.engagement.pipeline.config import init_project

    src = Path(args.source)
    if not src.exists() and not (Path(args.dir) / src).exists():
        print(
            f"warning: source {args.source} does not exist yet (relative paths are taken from "
            "the current folder)",
            file=sys.stderr,
        )
    path = init_project(
        args.dir,
        source=args.source,
        phases=all_phases(),
        mapping=args.mapping,
        client=args.client,
        slug=args.slug,
        reports=args.reports,
        notebooks=args.notebooks,
        force=args.force,
        language=args.language,
        locale=args.locale,
    )
    print(f"wrote {path}; edit the parameters, then: salesanalytics run --config {path}")
    return 0


def cmd_run(args: argparse.Namespace) -> int:
    """Handler of ``salesanalytics run``."""
    # jsonschema (imported by nbformat) loads rfc3987_syntax, when installed, only to check the
    # "iri" string formats, which notebooks do not use; building its grammar costs about a second
    # at every start of this command
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]
    from salesanalytics.engagement.phases import all_phases
    from salesanalytics.engagement.pipeline.config import load_project
    from salesanalytics.engagement.pipeline.runner import options_from_project, run_pipeline

    if args.cell_timeout is not None and args.cell_timeout < 1:
        raise UserError(f"--cell-timeout must be at least 1 second, not {args.cell_timeout}")
    if args.only and not args.phase:
        raise UserError("--only needs --phase NAME: the phases to run on their own")
    if args.workers is not None and args.workers < 0:
        raise UserError(f"--workers must be 0 (all cores) or more, not {args.workers}")
    phases = all_phases()
    cfg = load_project(args.config, phases, overrides=args.set_)
    opts = options_from_project(
        cfg,
        phases,
        selected=args.phase,
        quiet=args.quiet,
        verbose=args.verbose,
        cell_timeout=args.cell_timeout,
        workers=args.workers,
        recycle_kernels=not args.fresh_kernels,
        only=args.only,
        wait=args.wait,
    )
    try:
        result = run_pipeline(opts)
    except KeyError as exc:
        raise UserError(str(exc.args[0]) if exc.args else str(exc)) from None
    except (FileNotFoundError, ValueError) as exc:
        raise UserError(str(exc)) from None
    for r in result.phases.values():
        if r.status == "failed":
            print(f"error: {r.error}", file=sys.stderr)
    if result.error:
        print(f"error: {result.error}", file=sys.stderr)
    stale = [n for n, r in result.phases.items() if r.stale]
    if stale:
        print(
            f"note: {len(stale)} phase(s) out of date with the project file (marked stale in "
            f"the index): {', '.join(stale)}; run without --phase/--only to update them",
            file=sys.stderr,
        )
    return result.exit_code


def cmd_clean(args: argparse.Namespace) -> int:
    """Handler of ``salesanalytics clean``."""
    import json
    import shutil

    from salesanalytics.engagement.phases import all_phases
    from salesanalytics.engagement.pipeline.config import load_project
    from salesanalytics.engagement.pipeline.runlock import project_lock, recover_interrupted

    cfg = load_project(args.config, all_phases())
    base = cfg.reports_dir / cfg.slug
    if not base.is_dir():
        print(f"nothing to clean: {base} does not exist")
        return 0
    with project_lock(base, command="salesanalytics clean"):
        recovered = recover_interrupted(base)
        for rec in recovered:
            removed = f"; removed {', '.join(rec.removed)}" if rec.removed else ""
            print(f"run {rec.run_id}: was interrupted (killed), now marked so{removed}")
        latest = base / "latest"
        current = latest.resolve().name if latest.is_symlink() else ""
        deleted = 0
        if args.remove_interrupted:
            for d in sorted(base.iterdir()):
                man = d / "manifest.json"
                if d.is_symlink() or not man.is_file() or d.name == current:
                    continue
                try:
                    status = json.loads(man.read_text(encoding="utf-8")).get("status")
                except (OSError, ValueError):
                    continue
                if status == "interrupted":
                    shutil.rmtree(d)
                    deleted += 1
                    print(f"run {d.name}: interrupted run folder deleted")
    if not recovered and not deleted:
        print(f"nothing to clean in {base}: no interrupted runs left behind")
    return 0
