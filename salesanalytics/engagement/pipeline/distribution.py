"""Per-recipient folders of the personal reports (cockpits, pay statements).

A rep's cockpit and pay statement are for that rep, a team's cockpit and its reps' pages for the
team lead: they are not handed out as one page of links a whole sales team can open.
:func:`build_distribution` sorts a run's per-entity pages into ``distribution/``:

* ``distribution/<Rep name>/`` -- every page of that rep (``Sales cockpit per rep.html``,
  ``Incentive statement (proposed plan).html``);
* ``distribution/<Lead name> - <Team>/`` -- the team's pages and every page of the lead's
  reps (``<Rep name> - <page>.html``): the manager's view;
* ``distribution/index.html`` -- for the project team: who receives which pages.

Pages are hard links to the run's client pages (copies where links are not possible): each is a
self-contained HTML file that can be mailed or uploaded on its own.
"""

from __future__ import annotations

import html
import os
import re
import shutil
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

__all__ = ["build_distribution", "folder_name"]

DISTRIBUTION = "distribution"

_TRANSLIT = str.maketrans(
    {"ä": "ae", "ö": "oe", "ü": "ue", "Ä": "Ae", "Ö": "Oe", "Ü": "Ue", "ß": "ss"}
)


def folder_name(text: str) -> str:
    """A readable, portable file or folder name.

    Umlauts written out, accents dropped, anything but letters, digits, spaces, ``()._-`` replaced
    (``Zürich / Ost`` -> ``Zuerich - Ost``).
    """
    t = unicodedata.normalize("NFKD", str(text).translate(_TRANSLIT))
    t = "".join(ch for ch in t if not unicodedata.combining(ch))
    t = re.sub(r"[^A-Za-z0-9 (),._-]+", "-", t)
    t = re.sub(r"\s*-\s*-+\s*|\s*-\s+|\s+-\s*", " - ", t)
    return re.sub(r"\s+", " ", t).strip(" .-")[:80] or "unnamed"


def _place(src: Path, dst: Path) -> None:
    dst.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def _stem_of(entity_id: str) -> str:
    from salesanalytics.engagement.pipeline.runner import _entity_file

    return _entity_file(entity_id)


def build_distribution(
    run_dir: str | Path, entities: Mapping[str, Sequence[Mapping[str, Any]]]
) -> dict[str, Any]:
    """Sort a run's per-entity pages into one folder per recipient (see the module docstring).

    Parameters
    ----------
    run_dir
        The run folder (``data/intake/reps.parquet`` gives names, teams and managers).
    entities
        Per phase, the per-entity groups of the manifest: ``title``, ``param`` (``rep_id`` or
        ``team_id``) and ``items`` (``label``, ``href``, ``error``).

    Returns
    -------
    dict
        ``recipients`` (number of folders) and ``pages`` (pages placed); empty counts when the
        run has no per-entity pages or no reps table.
    """
    run = Path(run_dir)
    out_dir = run / DISTRIBUTION
    shutil.rmtree(out_dir, ignore_errors=True)
    reps_path = run / "data" / "intake" / "reps.parquet"
    groups = [g for gs in entities.values() for g in gs]
    if not groups or not reps_path.is_file():
        return {"recipients": 0, "pages": 0}
    reps = pd.read_parquet(reps_path)
    reps["rep_id"] = reps["rep_id"].astype(str)
    rep_pages, team_pages = _pages_by_owner(run, groups, reps)
    placed = _place_rep_pages(out_dir, reps, rep_pages)
    placed += _place_lead_pages(out_dir, reps, rep_pages, team_pages)
    if not placed:
        return {"recipients": 0, "pages": 0}
    rows: dict[str, list[str]] = {}
    for folder, f in placed:
        rows.setdefault(folder, []).append(f)
    _write_index(out_dir, rows)
    return {"recipients": len(rows), "pages": len(placed)}


_Pages = dict[str, list[tuple[str, Path]]]


def _pages_by_owner(
    run: Path, groups: Sequence[Mapping[str, Any]], reps: pd.DataFrame
) -> tuple[_Pages, _Pages]:
    """The run's per-entity pages that exist, per rep id and per team: ``(title, file)`` each."""
    by_stem = {_stem_of(r): r for r in reps["rep_id"]}
    team_by_stem = {_stem_of(t): t for t in reps["team"].dropna().astype(str).unique()}
    rep_pages: _Pages = {}
    team_pages: _Pages = {}
    for g in groups:
        for item in g.get("items", []):
            href = item.get("href")
            if not href or not (run / href).is_file():
                continue
            stem = Path(href).stem
            if g.get("param") == "rep_id" and stem in by_stem:
                rep_pages.setdefault(by_stem[stem], []).append((g["title"], run / href))
            elif stem in team_by_stem:
                team_pages.setdefault(team_by_stem[stem], []).append((g["title"], run / href))
    return rep_pages, team_pages


def _place_rep_pages(out_dir: Path, reps: pd.DataFrame, rep_pages: _Pages) -> list[tuple[str, str]]:
    """Each rep's own pages into the rep's folder; ``(folder, file)`` per page placed."""
    name = reps.set_index("rep_id")["name"].astype(str)
    placed: list[tuple[str, str]] = []
    for rid, pages in sorted(rep_pages.items(), key=lambda kv: name.get(kv[0], kv[0])):
        folder = folder_name(name.get(rid, rid))
        for title, src in pages:
            dst = out_dir / folder / f"{folder_name(title)}.html"
            _place(src, dst)
            placed.append((folder, dst.name))
    return placed


def _place_lead_pages(
    out_dir: Path, reps: pd.DataFrame, rep_pages: _Pages, team_pages: _Pages
) -> list[tuple[str, str]]:
    """Each team lead's folder: their teams' pages and their reps' pages; ``(folder, file)``."""
    name = reps.set_index("rep_id")["name"].astype(str)
    team = reps.set_index("rep_id")["team"].astype("string")
    placed: list[tuple[str, str]] = []
    leads = reps[reps["role"].astype(str) == "team_lead"]
    for lead in leads.itertuples():
        members = reps[reps["manager_id"].astype("string") == lead.rep_id]["rep_id"]
        lead_team = team.get(lead.rep_id)
        teams = {str(t) for t in team.reindex(members).dropna()} | (
            {str(lead_team)} if lead_team is not None and not pd.isna(lead_team) else set()
        )
        folder = folder_name(f"{lead.name} - {', '.join(sorted(teams))}")
        for t in sorted(teams):
            for title, src in team_pages.get(t, []):
                dst = out_dir / folder / f"{folder_name(t)} - {folder_name(title)}.html"
                _place(src, dst)
                placed.append((folder, dst.name))
        for m in sorted(members, key=lambda r: name.get(r, r)):
            for title, src in rep_pages.get(m, []):
                dst = (
                    out_dir / folder / f"{folder_name(name.get(m, m))} - {folder_name(title)}.html"
                )
                _place(src, dst)
                placed.append((folder, dst.name))
    return placed


def _write_index(out_dir: Path, rows: Mapping[str, list[str]]) -> None:
    """``distribution/index.html``: every recipient folder with links to its pages."""
    items = "".join(
        f"<tr><th>{html.escape(folder)}</th><td>"
        + "<br>".join(
            f'<a href="{html.escape(folder, quote=True)}/{html.escape(f, quote=True)}">'
            f"{html.escape(f[:-5])}</a>"
            for f in files
        )
        + "</td></tr>"
        for folder, files in rows.items()
    )
    (out_dir / "index.html").write_text(
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<meta http-equiv='Content-Security-Policy' content=\"default-src 'none'; "
        "style-src 'unsafe-inline'\"><title>Personal reports: who receives what</title>"
        "<style>body{font:14px/1.5 Helvetica,Arial,sans-serif;margin:32px;color:#1c2430}"
        "th{text-align:left;vertical-align:top;padding:4px 16px 4px 0}td{padding:4px 0}"
        "tr{border-bottom:1px solid #d9e0e8}table{border-collapse:collapse}</style></head><body>"
        "<h1>Personal reports: who receives what</h1><p>One folder per recipient: each rep "
        "gets their own pages, each team lead the team's pages and those of their reps. Send "
        "each folder to its recipient only.</p><table>" + items + "</table></body></html>",
        encoding="utf-8",
    )
